package query

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, body, field, msg string
	}{
		{"no kind", `{}`, "kind", "required"},
		{"unknown kind", `{"kind": "pie"}`, "kind", "unknown kind"},
		{"not json", `{"kind": "trends",`, "", "not valid JSON"},
		{"unknown field", `{"kind": "trends", "series": [{"event": "a"}], "serie": 1}`, "serie", "unknown field"},
		{"wrong type", `{"kind": "trends", "series": [{"event": 3}]}`, "series.event", "must be a string"},
		{"no series", `{"kind": "trends"}`, "series", "at least one"},
		{"p90 without property", `{"kind": "trends", "series": [{"event": "a"}, {"event": "b", "math": "p90"}]}`, "series[1].property", `required when math is "p90"`},
		{"property with count", `{"kind": "trends", "series": [{"event": "a", "property": "x"}]}`, "series[0].property", "only used"},
		{"bad math", `{"kind": "trends", "series": [{"event": "a", "math": "mode"}]}`, "series[0].math", "unknown math"},
		{"event and action", `{"kind": "trends", "series": [{"event": "a", "action": 2}]}`, "series[0].action", "either"},
		{"no event", `{"kind": "trends", "series": [{}]}`, "series[0].event", "required"},
		{"bad interval", `{"kind": "trends", "interval": "minute", "series": [{"event": "a"}]}`, "interval", "must be"},
		{"bad timezone", `{"kind": "trends", "timezone": "Mars/Olympus", "series": [{"event": "a"}]}`, "timezone", "IANA"},
		{"local timezone", `{"kind": "trends", "timezone": "Local", "series": [{"event": "a"}]}`, "timezone", "IANA"},
		{"bad date", `{"kind": "trends", "date_from": "yesterday-ish", "series": [{"event": "a"}]}`, "date_from", "not a date"},
		{"quote in property", `{"kind": "trends", "series": [{"event": "a", "where": [{"prop": "x'); DROP TABLE events; --", "op": "eq", "value": 1}]}]}`, "series[0].where[0].prop", "not allowed"},
		{"backslash in property", `{"kind": "trends", "series": [{"event": "a"}], "breakdown": {"prop": "a\\b"}}`, "breakdown.prop", "not allowed"},
		{"newline in property", `{"kind": "trends", "series": [{"event": "a", "math": "sum", "property": "a\nb"}]}`, "series[0].property", "not allowed"},
		{"bad op", `{"kind": "trends", "series": [{"event": "a"}], "filters": [{"prop": "x", "op": "like", "value": "a"}]}`, "filters[0].op", "unknown operator"},
		{"gt needs number", `{"kind": "trends", "series": [{"event": "a"}], "filters": [{"prop": "x", "op": "gt", "value": "a"}]}`, "filters[0].value", "number"},
		{"bad regex", `{"kind": "trends", "series": [{"event": "a"}], "filters": [{"prop": "x", "op": "regex", "value": "(a"}]}`, "filters[0].value", "RE2"},
		{"is_set with value", `{"kind": "trends", "series": [{"event": "a"}], "filters": [{"prop": "x", "op": "is_set", "value": 1}]}`, "filters[0].value", "absent"},
		{"bad selector", `{"kind": "trends", "series": [{"event": "a"}], "filters": [{"type": "element", "prop": "selector", "op": "eq", "value": "a:hover"}]}`, "filters[0].value", "pseudo-class"},
		{"bad element prop", `{"kind": "trends", "series": [{"event": "a"}], "filters": [{"type": "element", "prop": "color", "op": "eq", "value": "red"}]}`, "filters[0].prop", "element filters"},
		{"bad session prop", `{"kind": "trends", "series": [{"event": "a"}], "filters": [{"type": "session", "prop": "mood", "op": "eq", "value": "ok"}]}`, "filters[0].prop", "unknown session property"},
		{"segment op", `{"kind": "trends", "series": [{"event": "a"}], "filters": [{"type": "segment", "op": "eq", "value": 1}]}`, "filters[0].op", "in"},
		{"bad formula", `{"kind": "trends", "series": [{"event": "a"}], "formula": "A / C"}`, "formula", "refers to series 3"},
		{"formula syntax", `{"kind": "trends", "series": [{"event": "a"}], "formula": "A +"}`, "formula", "ends early"},
		{"breakdown limit", `{"kind": "trends", "series": [{"event": "a"}], "breakdown": {"prop": "x", "limit": 1000}}`, "breakdown.limit", "between"},
		{"one step", `{"kind": "funnel", "steps": [{"event": "a"}]}`, "steps", "2 to 20"},
		{"step error", `{"kind": "funnel", "steps": [{"event": "a"}, {"action": -1}]}`, "steps[1].action", "positive"},
		{"window", `{"kind": "funnel", "steps": [{"event": "a"}, {"event": "b"}], "window_seconds": -5}`, "window_seconds", "between"},
		{"count by", `{"kind": "funnel", "steps": [{"event": "a"}, {"event": "b"}], "count_by": "device"}`, "count_by", "person"},
		{"exclusion steps", `{"kind": "funnel", "steps": [{"event": "a"}, {"event": "b"}], "exclusions": [{"event": "x", "from_step": 2, "to_step": 2}]}`, "exclusions[0].from_step", "1 to 1"},
		{"exclusion unordered", `{"kind": "funnel", "order": "unordered", "steps": [{"event": "a"}, {"event": "b"}], "exclusions": [{"event": "x"}]}`, "exclusions", "ordered"},
		{"retention period", `{"kind": "retention", "start": {"event": "a"}, "period": "hour"}`, "period", "must be"},
		{"retention start", `{"kind": "retention"}`, "start.event", "required"},
		{"paths depth", `{"kind": "paths", "depth": 11}`, "depth", "between 2 and 10"},
		{"sessions order", `{"kind": "sessions", "order_by": "mood"}`, "order_by", "must be"},
		{"sessions limit", `{"kind": "sessions", "limit": 5000}`, "limit", "between"},
		{"heatmap url", `{"kind": "heatmap"}`, "url", "required"},
		{"segment size", `{"kind": "segment_size"}`, "segment", "required"},
		{"heatmap layer", `{"kind": "heatmap", "url": "/", "layer": "hover"}`, "layer", `"clicks", "rage", "dead" or "error"`},
		{"action_def and event", `{"kind": "trends", "series": [{"event": "a", "action_def": {"steps": [{"event": "a"}]}}]}`, "series[0].action_def", "either"},
		{"action_def selector", `{"kind": "funnel", "steps": [{"event": "a"}, {"action_def": {"steps": [{"selector": "a:hover"}]}}]}`, "steps[1].action_def.steps[0].selector", "pseudo-class"},
		{"action_def no steps", `{"kind": "retention", "start": {"action_def": {"steps": []}}}`, "start.action_def.steps", "1 to 50"},
		{"action_def empty step", `{"kind": "sessions", "performed": {"action_def": {"steps": [{}]}}}`, "performed.action_def.steps[0]", "at least one condition"},
		{"actors status", `{"kind": "funnel_actors", "steps": [{"event": "a"}, {"event": "b"}], "step": 1}`, "status", "required"},
		{"actors dropped at 1", `{"kind": "funnel_actors", "steps": [{"event": "a"}, {"event": "b"}], "step": 1, "status": "dropped"}`, "step", "from 2 to 2"},
		{"actors step", `{"kind": "funnel_actors", "steps": [{"event": "a"}, {"event": "b"}], "status": "converted"}`, "step", "from 1 to 2"},
		{"actors limit", `{"kind": "funnel_actors", "steps": [{"event": "a"}, {"event": "b"}], "step": 1, "status": "converted", "limit": 600}`, "limit", "between 1 and 500"},
		{"actors funnel field", `{"kind": "funnel_actors", "steps": [{"event": "a"}, {"event": "b"}], "step": 1, "status": "converted", "count_by": "device"}`, "count_by", "person"},
		{"actors value type", `{"kind": "funnel_actors", "steps": [{"event": "a"}, {"event": "b"}], "step": 1, "status": "converted", "breakdown": {"prop": "x"}, "breakdown_value": 3}`, "breakdown_value", "must be a string"},
		{"actors value without breakdown", `{"kind": "funnel_actors", "steps": [{"event": "a"}, {"event": "b"}], "step": 1, "status": "converted", "breakdown_value": "x"}`, "breakdown_value", "only used with a breakdown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body))
			if err == nil {
				t.Fatalf("Parse(%s) succeeded", tt.body)
			}
			field, ok := ErrorField(err)
			if !ok {
				t.Fatalf("error %v is not a query *Error", err)
			}
			if field != tt.field {
				t.Errorf("field = %q, want %q (%v)", field, tt.field, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	q, err := Parse([]byte(`{"kind": "funnel", "steps": [{"event": "a"}, {"event": "b"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	f := q.(*Funnel)
	if f.Order != "ordered" || f.CountBy != "person" || f.WindowSeconds != 14*86400 || f.HistogramBins != 10 {
		t.Errorf("defaults: %+v", f)
	}
}

func TestParseDate(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	now := time.Date(2026, 3, 29, 12, 30, 0, 0, time.UTC) // 14:30 in Paris, after the DST change
	tests := []struct {
		spec  string
		end   bool
		want  time.Time
		isErr bool
	}{
		{"2026-01-31", false, time.Date(2026, 1, 31, 0, 0, 0, 0, paris), false},
		{"2026-01-31", true, time.Date(2026, 2, 1, 0, 0, 0, 0, paris), false},
		{"2026-01-31T10:00:00Z", true, time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC), false},
		{"2026-01-31T10:00", false, time.Date(2026, 1, 31, 10, 0, 0, 0, paris), false},
		{"-1d", false, time.Date(2026, 3, 28, 0, 0, 0, 0, paris), false},
		{"-2h", false, time.Date(2026, 3, 29, 12, 0, 0, 0, paris), false},
		{"-1w", false, time.Date(2026, 3, 22, 0, 0, 0, 0, paris), false},
		{"-1m", false, time.Date(2026, 2, 29, 0, 0, 0, 0, paris), false},
		{"today", true, time.Date(2026, 3, 30, 0, 0, 0, 0, paris), false},
		{"now", true, now, false},
		{"-1x", false, time.Time{}, true},
		{"31/01/2026", false, time.Time{}, true},
	}
	for _, tt := range tests {
		got, _, err := parseDate(tt.spec, paris, now, tt.end)
		if (err != nil) != tt.isErr {
			t.Errorf("parseDate(%q): err %v", tt.spec, err)
			continue
		}
		if !tt.isErr && !got.Equal(tt.want) {
			t.Errorf("parseDate(%q, end=%v) = %v, want %v", tt.spec, tt.end, got, tt.want)
		}
	}
}

func TestFormula(t *testing.T) {
	vals := []float64{10, 4, 0}
	get := func(i int) float64 { return vals[i] }
	tests := []struct {
		f    string
		want float64
	}{
		{"A", 10}, {"B / A", 0.4}, {"(A + B) * 2", 28}, {"A - B - 1", 5}, {"-A + 1", -9},
		{"A / C", 0}, {"b / a * 100", 40}, {"2 * (A - (B + 1))", 10}, {"1.5 * B", 6},
	}
	for _, tt := range tests {
		n, err := parseFormula(tt.f, 3)
		if err != nil {
			t.Errorf("%s: %v", tt.f, err)
			continue
		}
		if got := n.eval(get); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.f, got, tt.want)
		}
	}
	for _, bad := range []string{"", "A +", "(A", "A B", "D", "A % B", "1..2"} {
		if _, err := parseFormula(bad, 3); err == nil {
			t.Errorf("parseFormula(%q) succeeded", bad)
		}
	}
}

// TestSelectorRegex checks the selector translation against chains written
// by event.AppendChain, with Go's regexp (RE2, as DuckDB's).
func TestSelectorRegex(t *testing.T) {
	el := func(tag, id string, classes []string, text, href string, attrs map[string]string) event.Element {
		return event.Element{Tag: tag, ID: id, Classes: classes, Text: text, Href: href, Attrs: attrs, NthChild: 2, NthOfType: 1}
	}
	buy := el("button", "buy-1", []string{"btn", "primary", "buy"}, "Buy now", "", map[string]string{"data-x": "y z"})
	card := el("div", "", []string{"card"}, "", "", nil)
	section := el("section", "", []string{"card", "wide"}, "", "", nil)
	link := el("a", "", nil, "Docs", "https://x.test/docs?a=1", nil)
	chains := map[string]string{
		"buy in card":         event.ChainString([]event.Element{buy, card, section}),
		"buy in span in card": event.ChainString([]event.Element{buy, el("span", "", nil, "", "", nil), card}),
		"link in card":        event.ChainString([]event.Element{link, card}),
		"tailwind":            event.ChainString([]event.Element{el("button", "", []string{"md:flex", "w-1/2"}, "Go", "", nil)}),
	}
	tests := []struct {
		sel   string
		match []string
	}{
		{"button", []string{"buy in card", "buy in span in card", "tailwind"}},
		{"button.buy", []string{"buy in card", "buy in span in card"}},
		{".primary.btn", []string{"buy in card", "buy in span in card"}},
		{"button.bu", nil},
		{"#buy-1", []string{"buy in card", "buy in span in card"}},
		{"button#buy-1.buy", []string{"buy in card", "buy in span in card"}},
		{"div.card > button.buy", []string{"buy in card"}},
		{"div.card button.buy", []string{"buy in card", "buy in span in card"}},
		{"section.wide div > button", []string{"buy in card"}},
		{"section.wide > button", nil},
		{"div.card > a", []string{"link in card"}},
		{"a[href='https://x.test/docs?a=1']", []string{"link in card"}},
		{"[data-x=\"y z\"]", []string{"buy in card", "buy in span in card"}},
		{"[data-x]", []string{"buy in card", "buy in span in card"}},
		{"button:nth-child(2)", []string{"buy in card", "buy in span in card", "tailwind"}},
		{"button:nth-child(3)", nil},
		{`.md\:flex.w-1\/2`, []string{"tailwind"}},
		{"*", []string{"buy in card", "buy in span in card", "link in card", "tailwind"}},
		{"card", nil},
	}
	for _, tt := range tests {
		parts, err := parseSelector(tt.sel)
		if err != nil {
			t.Errorf("%s: %v", tt.sel, err)
			continue
		}
		re := regexp.MustCompile(selectorRegex(parts))
		for name, chain := range chains {
			want := false
			for _, m := range tt.match {
				want = want || m == name
			}
			if got := re.MatchString(chain); got != want {
				t.Errorf("%q on %s (%s): match = %v, want %v (regex %s)", tt.sel, name, chain, got, want, re)
			}
		}
	}
	for _, bad := range []string{"", "a >", "> a", "a:hover", "a[x~=y]", "a.b.c.d.e.f", "a[x"} {
		if _, err := parseSelector(bad); err == nil {
			t.Errorf("parseSelector(%q) succeeded", bad)
		}
	}
	text := regexp.MustCompile(chainValueRegex("text", "Buy now", false))
	if !text.MatchString(chains["buy in card"]) || text.MatchString(chains["link in card"]) {
		t.Error("text regex")
	}
	contains := regexp.MustCompile(chainValueRegex("href", "/DOCS", true))
	if !contains.MatchString(chains["link in card"]) || contains.MatchString(chains["buy in card"]) {
		t.Error("href contains regex")
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := sessionCursor{Order: "duration", Asc: true, Num: 12.5, ID: "s'1"}
	got, err := decodeCursor(encodeCursor(c), "duration")
	if err != nil || got != c {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if _, err := decodeCursor(encodeCursor(c), "start"); err == nil {
		t.Error("a cursor of another order was accepted")
	}
}

// FuzzParse checks that no query body makes Parse panic, and that whatever
// it accepts compiles. Seeds are the fixture and golden queries.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/golden/*.json"} {
		files, _ := filepath.Glob(pattern)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	fixtures, _ := filepath.Glob("testdata/fixtures/*.txt")
	for _, p := range fixtures {
		b, _ := os.ReadFile(p)
		for _, block := range strings.Split(string(b), "\nquery\n")[1:] {
			q, _, _ := strings.Cut(block, "\nexpect\n")
			q, _, _ = strings.Cut(q, "\nerror ")
			f.Add([]byte(q))
		}
	}
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	eng := New(Options{Now: func() time.Time { return now }})
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := Parse(data)
		if err != nil {
			if _, ok := ErrorField(err); !ok {
				t.Fatalf("Parse error is not a query *Error: %v", err)
			}
			return
		}
		_, err = eng.Compile(t.Context(), Request{ProjectID: 1, DB: dialectOnly{"duckdb"}, Defs: goldenDefs, Query: q})
		if err != nil {
			if _, ok := ErrorField(err); !ok {
				t.Fatalf("Compile error is not a query *Error: %v", err)
			}
		}
	})
}
