package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
)

func TestPropertiesFlattened(t *testing.T) {
	s := openKind(t, storeKinds[0])
	mustAppend(t, s, []event.Event{ev(1, "p", "e", "d", t0,
		`{"s":"a\"b","n":19.99,"i":3,"b":true,"z":null,"o":{"x": [1, 2]},"$set":{"plan":"pro"}}`)})
	got := queryStrings(t, s, `SELECT arrayStringConcat(arrayMap((k, v) -> concat(k, '=', v), prop_keys, prop_values), ' ') FROM events`)
	want := `s=a"b n=19.99 i=3 b=true o={"x":[1,2]} $set={"plan":"pro"}`
	if len(got) != 1 || got[0] != want {
		t.Fatalf("flattened = %q, want %q", got, want)
	}
}

// FuzzFlattenProps: the fast member scanner agrees with encoding/json on
// every input: the same validity, and for valid objects the same members
// (json.Unmarshal keeps a duplicated key's last value, the scanner its
// first, so duplicates are left out of the comparison).
func FuzzFlattenProps(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"s":"a\"b","n":19.99,"b":true,"z":null,"o":{"x": [1, 2]}}`,
		`{"a":1,"a":2}`, `[1]`, `{"a":}`, `{"a":1,}`, ` { "k" : "v" } `, `{"u":"\u00e9"}`, `{"n":-1e3}`, `{"n":01}`, `nul`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc, keys, vals := flattenProps(json.RawMessage(s))
		var m map[string]json.RawMessage
		valid := json.Unmarshal([]byte(clean(s)), &m) == nil && m != nil
		if !valid {
			if doc != "{}" || len(keys) != 0 {
				t.Fatalf("%q: invalid for encoding/json, scanned as %q %v", s, doc, keys)
			}
			return
		}
		if doc == "{}" && len(m) > 0 {
			t.Fatalf("%q: valid object refused", s)
		}
		wk, wv := flattenMap(m)
		want := map[string]string{}
		for i, k := range wk {
			want[k] = wv[i]
		}
		seen := map[string]int{}
		for _, k := range keys {
			seen[k]++
		}
		for i, k := range keys {
			if strings.Count(clean(s), `"`+k+`"`) > 1 {
				continue
			}
			if want[k] != vals[i] {
				t.Fatalf("%q: %s = %q, encoding/json says %q", s, k, vals[i], want[k])
			}
		}
	})
}

// Retention drops whole months that end before the cutoff, on every shard.
func TestDropExpired(t *testing.T) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			s := openKind(t, k)
			ctx := context.Background()
			var batch []event.Event
			for i, ts := range []time.Time{
				time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC),
				time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC),
			} {
				for j := range 20 {
					batch = append(batch, ev(1, fmt.Sprintf("e-%d-%d", i, j), "e", fmt.Sprintf("d%d", j), ts, ""))
				}
			}
			mustAppend(t, s, batch)
			// February 15: January has ended, February has not.
			if err := s.DropExpired(ctx, time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			got := queryStrings(t, s, "SELECT toString(toYYYYMM(toDateTime(intDiv(timestamp, 1000000), 'UTC'))) AS m, count() FROM events GROUP BY m ORDER BY m")
			if want := []string{"202602|20", "202603|20"}; !slices.Equal(got, want) {
				t.Fatalf("months left = %v, want %v", got, want)
			}
		})
	}
}
