package query_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/internal/servicetest"
	"github.com/sightline-analytics/sightline/query"
	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/store/clickhouse"
	"github.com/sightline-analytics/sightline/store/duckdb"
)

// clickHouseDSN returns a DSN for a new database on the test ClickHouse
// (with the 2-shard cluster when cluster is set), dropped when the test
// ends. Without a server the test skips loudly, or fails under CI=true.
func clickHouseDSN(t testing.TB, cluster bool) string {
	t.Helper()
	if cluster {
		return servicetest.ClickHouse(t, "SIGHTLINE_TEST_CLICKHOUSE_CLUSTER")
	}
	return servicetest.ClickHouse(t, "")
}

func openClickHouse(t testing.TB, cluster bool) *clickhouse.Store {
	t.Helper()
	ctx := context.Background()
	dsn := clickHouseDSN(t, cluster)
	if cluster {
		if err := clickhouse.Migrate(ctx, dsn, clickhouse.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := clickhouse.Open(ctx, dsn, clickhouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// loadFixture appends a fixture's events as runFixture does: in file
// order, one batch per $identify.
func loadFixture(t testing.TB, st store.Store, fx *fixture) {
	t.Helper()
	ctx := context.Background()
	var batch []event.Event
	for _, e := range fx.events {
		batch = append(batch, e)
		if e.Event == "$identify" {
			if err := st.Append(ctx, batch, store.Checkpoint{Spool: "x"}); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	if err := st.Append(ctx, batch, store.Checkpoint{Spool: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, r := range fx.replays {
		if err := st.AddReplayChunk(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

// TestClickHouseFixtures is the differential test: every fixture of
// testdata/fixtures runs on ClickHouse (one server, and the 2-shard
// cluster through Distributed tables) and must give the hand-computed
// answer and exactly DuckDB's result.
func TestClickHouseFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/fixtures/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, mode := range []string{"single", "cluster"} {
		t.Run(mode, func(t *testing.T) {
			for _, f := range files {
				t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
					fx := parseFixture(t, f)
					ch := openClickHouse(t, mode == "cluster")
					duck, err := duckdb.Open("", duckdb.Options{Threads: 1, MemoryLimit: "512MB"})
					if err != nil {
						t.Fatal(err)
					}
					defer duck.Close()
					loadFixture(t, ch, fx)
					loadFixture(t, duck, fx)
					diffFixture(t, fx, duck, ch)
				})
			}
		})
	}
}

func diffFixture(t *testing.T, fx *fixture, duck, ch query.Querier) {
	ctx := context.Background()
	now := fx.now
	if now.IsZero() {
		now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	}
	eng := query.New(query.Options{Now: func() time.Time { return now }, CacheEntries: -1})
	for _, c := range fx.cases {
		if c.errAt != nil {
			continue // validation does not depend on the store
		}
		q, err := query.Parse([]byte(c.query))
		if err != nil {
			t.Fatalf("%s:%d: parse: %v", fx.name, c.line, err)
		}
		req := query.Request{ProjectID: fx.project, Timezone: fx.timezone, Defs: fx.defs, Query: q}
		req.DB = ch
		got, err := eng.Run(ctx, req)
		if err != nil {
			stmts, _ := eng.Compile(ctx, req)
			var sqls []string
			for _, s := range stmts {
				sqls = append(sqls, s.SQL)
			}
			t.Errorf("%s:%d: ClickHouse: %v\n%s", fx.name, c.line, err, strings.Join(sqls, "\n;\n"))
			continue
		}
		req.DB = duck
		want, err := eng.Run(ctx, req)
		if err != nil {
			t.Fatalf("%s:%d: DuckDB: %v", fx.name, c.line, err)
		}
		gj, wj := normJSON(t, got), normJSON(t, want)
		if d := sameJSON("", wj, gj); d != "" {
			pretty, _ := json.MarshalIndent(got, "", "  ")
			t.Errorf("%s:%d: ClickHouse differs from DuckDB: %s\nClickHouse:\n%s", fx.name, c.line, d, pretty)
			continue
		}
		var expect any
		if err := json.Unmarshal([]byte(c.expect), &expect); err != nil {
			t.Fatalf("%s:%d: expect: %v", fx.name, c.line, err)
		}
		if d := subset("", expect, gj); d != "" {
			t.Errorf("%s:%d: ClickHouse: %s", fx.name, c.line, d)
		}
	}
}

func normJSON(t testing.TB, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameJSON reports the first difference between two decoded JSON values;
// numbers compare with a relative tolerance of 1e-9 (the engines may round
// the last bit of an average differently).
func sameJSON(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want an object, got %v", path, got)
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		var ks []string
		for k := range keys {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			if d := sameJSON(path+"."+k, w[k], g[k]); d != "" {
				return d
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: want %d items, got %v", path, len(w), got)
		}
		for i := range w {
			if d := sameJSON(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
				return d
			}
		}
	case float64:
		g, ok := got.(float64)
		if !ok || math.Abs(g-w) > 1e-9*math.Max(1, math.Abs(w)) {
			return fmt.Sprintf("%s: want %v, got %v", path, w, got)
		}
	default:
		if want != got {
			return fmt.Sprintf("%s: want %v, got %v", path, want, got)
		}
	}
	return ""
}
