package insight

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzParseRule: any body either parses into a rule that validates and
// survives a JSON round trip, or is refused with an InputError.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{
		`{"type":"anomaly","metric":{"series":"*"},"channels":[]}`,
		`{"type":"threshold","metric":{"series":"error_rate"},"op":"above","value":0.05,"channels":[{"type":"email","to":["x@y.z"]}]}`,
		`{"type":"change","metric":{"insight":3},"op":"decrease","value":20,"period":"day","channels":[{"type":"webhook","url":"https://h/x"}]}`,
		`{"type":"anomaly","metric":{"series":"sessions"},"detect":{"threshold":4,"intervals":3}}`,
		`{}`, `null`, `[]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(json.RawMessage(s))
		if err != nil {
			if _, ok := err.(*InputError); !ok {
				t.Fatalf("error %T %v is not an InputError", err, err)
			}
			return
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseRule(b); err != nil {
			t.Fatalf("re-encoded rule %s does not parse: %v", b, err)
		}
	})
}

// FuzzSequences: whatever the store returns, sequences keeps only
// well-formed items and never yields more pages than events.
func FuzzSequences(f *testing.F) {
	f.Add("2\x1d$click\x1f1\x1d$pageview\x1d/a\x1f3\x1d$pageview\x1d/b")
	f.Add("")
	f.Add("x\x1d\x1f\x1d\x1d")
	f.Fuzz(func(t *testing.T, items string) {
		ev, pg := sequences(items)
		ne, np := 0, 0
		if ev != "" {
			ne = len(strings.Split(ev, sepItem))
		}
		if pg != "" {
			np = len(strings.Split(pg, sepItem))
		}
		if np > ne {
			t.Fatalf("%d pages from %d events", np, ne)
		}
	})
}

func TestSequencesOrder(t *testing.T) {
	ev, pg := sequences("20\x1d$click\x1f10\x1d$pageview\x1d/a\x1f30\x1d$pageview\x1d/b\x1fbad")
	if ev != "$pageview\x1f$click\x1f$pageview" || pg != "/a\x1f/b" {
		t.Errorf("sequences = %q, %q", ev, pg)
	}
}
