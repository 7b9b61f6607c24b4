package duckdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
)

// heatSnapshot is every rollup table summed by key, one sorted line per key.
func heatSnapshot(t *testing.T, s *Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tb := range rollupTables {
		keys := slices.Clone(tb.keys)
		keys[slices.Index(keys, "day")] = "CAST(day AS VARCHAR)"
		sums := make([]string, len(tb.counts))
		for i, c := range tb.counts {
			sums[i] = "sum(" + c + ")"
		}
		q := "SELECT " + strings.Join(keys, ", ") + ", " + strings.Join(sums, ", ") + " FROM " + tb.name +
			" GROUP BY ALL ORDER BY ALL"
		out[tb.name] = queryStrings(t, s, q)
	}
	return out
}

func heatRows(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	for _, tb := range rollupTables {
		var c int64
		if err := s.db.QueryRow("SELECT count(*) FROM " + tb.name).Scan(&c); err != nil {
			t.Fatal(err)
		}
		n += c
	}
	return n
}

// heatEvents are events that exercise every rule of the rollups: heat and
// other events, viewport widths at the bucket edges and missing, device
// fallbacks, positions at 0, negative, fractional and absurd, selectors,
// flags, scroll depths as numbers and strings, and UTC midnights.
func heatEvents(n int, seed uint64) []event.Event {
	r := rand.New(rand.NewPCG(seed, 1))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	widths := []int{0, 0, 1, 767, 768, 1023, 1024, 1920, 375}
	coords := []float64{0, 0, 5, 9.99, 10, 19.5, -3, -10, 1234, 1e300}
	var out []event.Event
	for i := range n {
		e := ev(int64(1+r.IntN(2)), fmt.Sprintf("h-%d-%d", seed, i),
			pick("$click", "$click", "$pageview", "$pageleave", "$rageclick", "$deadclick", "$errorclick", "signup", "$autocapture"),
			pick("a", "b", "c\xff"), t0.Add(time.Duration(r.IntN(4*24*60))*time.Minute), "")
		e.Path = pick("/", "/cart", "/product/1", "/product/2", "/p\xffx")
		e.ViewportWidth = widths[r.IntN(len(widths))]
		e.DeviceType = pick("", "mobile", "tablet", "desktop", "bot")
		e.X, e.Y = coords[r.IntN(len(coords))], coords[r.IntN(len(coords))]
		e.Selector = pick("", "button.buy", "a.plan")
		e.Rage, e.Dead, e.Error = r.IntN(4) == 0, r.IntN(5) == 0, r.IntN(6) == 0
		switch r.IntN(4) {
		case 0:
			e.Properties = []byte(`{"$max_scroll_pct":` + pick("0", "4.9", "5", "62.5", "100", "-7", "1e20") + `}`)
		case 1:
			e.Properties = []byte(`{"$max_scroll_pct":"55"}`)
		}
		out = append(out, e)
	}
	return out
}

// TestRollups checks the rollups the writer appends batch by batch
// against those the migrations compute from the stored events, before and
// after a compaction, and that replayed events are not counted twice.
func TestRollups(t *testing.T) {
	s := openMemory(t)
	ctx := context.Background()
	evs := heatEvents(3000, 1)
	for i := 0; i < len(evs); i += 500 {
		mustAppend(t, s, evs[i:i+500])
	}
	mustAppend(t, s, evs[1000:1700]) // a replay across two batches
	got := heatSnapshot(t, s)
	if len(got["heat_cells"]) < 50 || len(got["heat_elements"]) < 20 || len(got["heat_steps"]) < 20 || len(got["heat_pages"]) < 20 || len(got["event_days"]) < 50 {
		t.Fatalf("the events left too small a rollup to compare: %d cells, %d elements, %d steps, %d pages, %d event days",
			len(got["heat_cells"]), len(got["heat_elements"]), len(got["heat_steps"]), len(got["heat_pages"]), len(got["event_days"]))
	}

	before := heatRows(t, s)
	s.writer.mu.Lock()
	err := s.writer.compactRollups(ctx)
	s.writer.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if after := heatRows(t, s); after >= before || after != s.writer.rollups.compacted {
		t.Errorf("compaction left %d rows of %d (writer counts %d)", after, before, s.writer.rollups.compacted)
	}
	if compacted := heatSnapshot(t, s); !equalSnapshots(t, "compacted", got, compacted) {
		return
	}

	// The migration's SQL, run again over the same events.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range rollupTables {
		if _, err := tx.Exec("DROP TABLE " + tb.name); err != nil {
			t.Fatal(err)
		}
	}
	for _, schema := range []string{heatSchema, eventDaysSchema} {
		if _, err := tx.Exec(schema); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	equalSnapshots(t, "recomputed from the events", got, heatSnapshot(t, s))
}

func equalSnapshots(t *testing.T, what string, want, got map[string][]string) bool {
	t.Helper()
	ok := true
	for _, tb := range rollupTables {
		w, g := want[tb.name], got[tb.name]
		if !slices.Equal(w, g) {
			ok = false
			for i := range max(len(w), len(g)) {
				var a, b string
				if i < len(w) {
					a = w[i]
				}
				if i < len(g) {
					b = g[i]
				}
				if a != b {
					t.Errorf("%s %s differs (%d rows against %d) at row %d:\nappended: %s\n%s: %s", tb.name, what, len(w), len(g), i, a, what, b)
					break
				}
			}
		}
	}
	return ok
}

// TestRollupsCompactAsTheyGrow checks that the writer compacts the rollup
// once the rows appended since the last compaction outnumber the compacted
// ones.
func TestRollupsCompactAsTheyGrow(t *testing.T) {
	s := openMemory(t)
	s.writer.rollups.compacted = 0
	evs := heatEvents(2000, 2)
	mustAppend(t, s, evs[:1000])
	if s.writer.rollups.appended == 0 {
		t.Fatal("the writer counted no rollup rows")
	}
	// Below the threshold nothing happens; at it, the next batch compacts.
	s.writer.rollups.appended = minCompact
	mustAppend(t, s, evs[1000:])
	if s.writer.rollups.appended != 0 || s.writer.rollups.compacted != heatRows(t, s) {
		t.Errorf("after compaction: %d appended, %d compacted, %d rows", s.writer.rollups.appended, s.writer.rollups.compacted, heatRows(t, s))
	}
}
