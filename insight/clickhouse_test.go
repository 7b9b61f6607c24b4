package insight

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/internal/servicetest"
	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/store/clickhouse"
	"github.com/sightline-analytics/sightline/store/duckdb"
	"github.com/sightline-analytics/sightline/synth"
)

// openClickHouseCluster opens a fresh database on the 2-shard test cluster
// of scripts/services.sh (Distributed tables), dropped when the test ends.
// Without the servers the test skips loudly, or fails under CI=true.
func openClickHouseCluster(t *testing.T) *clickhouse.Store {
	t.Helper()
	dsn := servicetest.ClickHouse(t, "SIGHTLINE_TEST_CLICKHOUSE_CLUSTER")
	ctx := context.Background()
	if err := clickhouse.Migrate(ctx, dsn, clickhouse.Options{}); err != nil {
		t.Fatal(err)
	}
	s, err := clickhouse.Open(ctx, dsn, clickhouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// loadInto normalizes cfg's traffic once and appends the same batches to
// every store.
func loadInto(t testing.TB, cfg synth.Config, pid int64, stores ...store.Store) {
	t.Helper()
	ctx := context.Background()
	b := event.Batch{ProjectID: pid, ReceivedAt: synth.End(cfg).Add(time.Hour)}
	var buf []event.Event
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		for _, s := range stores {
			if err := s.Append(ctx, buf, store.Checkpoint{Spool: "test"}); err != nil {
				return err
			}
		}
		buf = buf[:0]
		return nil
	}
	_, err := synth.Generate(cfg, func(raw []event.Raw) error {
		for i := range raw {
			buf = append(buf, event.Event{})
			if err := event.Normalize(&raw[i], &b, &buf[len(buf)-1]); err != nil {
				buf = buf[:len(buf)-1]
			}
		}
		if len(buf) >= 20_000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		t.Fatalf("load synth: %v", err)
	}
}

// sortedItems puts a session's frustration records, which the stores
// aggregate in no particular order, in order.
func sortedItems(rows []sessionRow) []sessionRow {
	out := slices.Clone(rows)
	for i := range out {
		items := strings.Split(out[i].Frustration, sepRecord)
		sort.Strings(items)
		out[i].Frustration = strings.Join(items, sepRecord)
	}
	return out
}

// TestClickHouseMatchesDuckDB loads the same synth traffic (with its
// planted behavior groups, releases and incident) into DuckDB and into the
// ClickHouse cluster and runs insight on both: the session rows and the
// feature matrix are identical, so are the monitored series, the session
// counts and samples behind findings, the conversions and the release
// annotations; the clusters are equal up to the numbering of their labels.
func TestClickHouseMatchesDuckDB(t *testing.T) {
	if testing.Short() {
		t.Skip("synthetic dataset")
	}
	ctx := context.Background()
	cfg := synth.Config{Seed: 7, Days: 8, Events: 60_000, IncidentFix: 5 * time.Hour}
	ch := openClickHouseCluster(t)
	duck, err := duckdb.Open("", duckdb.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { duck.Close() })
	loadInto(t, cfg, testProject, duck, ch)
	from, to := synth.DefaultStart, synth.End(cfg)
	stores := []struct {
		name string
		db   Querier
	}{{"duckdb", duck}, {"clickhouse", ch}}

	t.Run("sessions and features", func(t *testing.T) {
		filters := []SessionFilter{
			{From: from, To: to},
			{From: from, To: to, Conditions: []Condition{{Column: "path", Op: "prefix", Value: "/product/"}, {Column: "device_type", Op: "neq", Value: "mobile"}}},
			{From: from, To: to, Conditions: []Condition{{Column: "url", Op: "contains", Value: "cart"}, {Column: "frustration", Op: "eq", Value: "any"}}},
			{From: from.Add(48 * time.Hour), To: to, Conditions: []Condition{{Column: "event", Op: "eq", Value: "purchase"}}, Limit: 300},
		}
		for i, f := range filters {
			if err := f.validate(); err != nil {
				t.Fatal(err)
			}
			var got [2][]sessionRow
			for j, s := range stores {
				rows, err := fetchSessions(ctx, s.db, testProject, f)
				if err != nil {
					t.Fatalf("filter %d on %s: %v", i, s.name, err)
				}
				got[j] = sortedItems(rows)
			}
			if len(got[0]) < 20 {
				t.Fatalf("filter %d: %d sessions: the comparison proves little", i, len(got[0]))
			}
			if !reflect.DeepEqual(got[0], got[1]) {
				for k := range min(len(got[0]), len(got[1])) {
					if !reflect.DeepEqual(got[0][k], got[1][k]) {
						t.Fatalf("filter %d: %d/%d sessions; first difference at %d:\nduckdb     %+v\nclickhouse %+v", i, len(got[0]), len(got[1]), k, got[0][k], got[1][k])
					}
				}
				t.Fatalf("filter %d: DuckDB lists %d sessions, ClickHouse %d", i, len(got[0]), len(got[1]))
			}
			if i == 0 {
				// The session summaries of the insight views.
				var ids []string
				for _, r := range got[0][:50] {
					ids = append(ids, r.ID)
				}
				var sums [2]map[string]SessionSummary
				for j, s := range stores {
					if sums[j], err = summarizeSessions(ctx, s.db, testProject, from, to, ids); err != nil {
						t.Fatalf("summaries on %s: %v", s.name, err)
					}
				}
				if len(sums[0]) != 50 || !reflect.DeepEqual(sums[0], sums[1]) {
					t.Fatalf("session summaries differ: %d on DuckDB, %d on ClickHouse", len(sums[0]), len(sums[1]))
				}
				fd, fc := buildFeatures(got[0], blockWeight), buildFeatures(got[1], blockWeight)
				if !reflect.DeepEqual(fd.cols, fc.cols) || !slices.Equal(fd.raw, fc.raw) || !slices.Equal(fd.x, fc.x) {
					t.Fatal("the feature matrices differ")
				}
			}
			var counts, samples [2]any
			for j, s := range stores {
				n, err := countSessions(ctx, s.db, testProject, f)
				if err != nil {
					t.Fatalf("count on %s: %v", s.name, err)
				}
				reps, err := sampleSessions(ctx, s.db, testProject, f, 3)
				if err != nil {
					t.Fatalf("sample on %s: %v", s.name, err)
				}
				counts[j], samples[j] = n, reps
			}
			if counts[0] != counts[1] || !reflect.DeepEqual(samples[0], samples[1]) {
				t.Fatalf("filter %d: counts %v, samples\n%+v\n%+v", i, counts, samples[0], samples[1])
			}
		}
	})

	t.Run("clusters", func(t *testing.T) {
		req := ClusterRequest{SessionFilter: SessionFilter{From: from, To: to}, Conversion: "purchase"}
		var runs [2]*clustering
		for j, s := range stores {
			c, err := clusterSessions(ctx, s.db, testProject, req, func() time.Time { return to })
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			runs[j] = c
		}
		d, c := runs[0], runs[1]
		if len(d.rows) < 500 || len(d.rows) != len(c.rows) || d.result.K != c.result.K {
			t.Fatalf("%d sessions and k=%d on DuckDB, %d and k=%d on ClickHouse", len(d.rows), d.result.K, len(c.rows), c.result.K)
		}
		perm := map[int]int{}
		for i := range d.rows {
			if d.rows[i].ID != c.rows[i].ID {
				t.Fatalf("session %d is %s on DuckDB, %s on ClickHouse", i, d.rows[i].ID, c.rows[i].ID)
			}
			if p, ok := perm[d.labels[i]]; ok && p != c.labels[i] {
				t.Fatalf("session %s: label %d on DuckDB maps to both %d and %d on ClickHouse", d.rows[i].ID, d.labels[i], p, c.labels[i])
			}
			perm[d.labels[i]] = c.labels[i]
		}
		if len(perm) != d.result.K {
			t.Fatalf("%d labels on DuckDB for k=%d", len(perm), d.result.K)
		}
		describe := func(r *ClusterResult) []string {
			var out []string
			for _, cl := range r.Clusters {
				out = append(out, fmt.Sprintf("%d %.3f %v %s", cl.Size, cl.Share, deref(cl.Conversion), cl.Description))
			}
			sort.Strings(out)
			return out
		}
		if dd, cd := describe(d.result), describe(c.result); !slices.Equal(dd, cd) {
			t.Fatalf("clusters differ:\n%s\n--\n%s", strings.Join(dd, "\n"), strings.Join(cd, "\n"))
		}
	})

	t.Run("series", func(t *testing.T) {
		for _, step := range []time.Duration{time.Hour, 24 * time.Hour} {
			var got [2][]Series
			for j, s := range stores {
				series, err := builtinSeries(ctx, s.db, testProject, from, to, step, SeriesLimits{})
				if err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				got[j] = series
			}
			if len(got[0]) < 10 {
				t.Fatalf("%d series: the comparison proves little", len(got[0]))
			}
			if !reflect.DeepEqual(got[0], got[1]) {
				for k := range min(len(got[0]), len(got[1])) {
					if !reflect.DeepEqual(got[0][k], got[1][k]) {
						t.Fatalf("step %v: series %d differs:\nduckdb     %+v\nclickhouse %+v", step, k, got[0][k], got[1][k])
					}
				}
				t.Fatalf("step %v: %d series on DuckDB, %d on ClickHouse", step, len(got[0]), len(got[1]))
			}
		}
	})

	t.Run("conversions and releases", func(t *testing.T) {
		f := SessionFilter{From: from, To: to, Conditions: []Condition{{Column: "path", Op: "eq", Value: "/cart"}}, Limit: MaxSessions}
		var conv [2]map[string]bool
		var rels [2][]string
		for j, s := range stores {
			c, err := fetchConverted(ctx, s.db, testProject, f, "purchase")
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			conv[j] = c
			rels[j] = scanReleasesOf(t, s.db)
		}
		if len(conv[0]) == 0 || !reflect.DeepEqual(conv[0], conv[1]) {
			t.Fatalf("converted sessions: %d on DuckDB, %d on ClickHouse", len(conv[0]), len(conv[1]))
		}
		if len(rels[0]) < 2 || !slices.Equal(rels[0], rels[1]) {
			t.Fatalf("releases:\n%v\n%v", rels[0], rels[1])
		}
	})
}

// scanReleasesOf runs ScanReleases over db into a fresh metadata store and
// lists the release annotations it made.
func scanReleasesOf(t *testing.T, db Querier) []string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	m, err := meta.Open(ctx, filepath.Join(dir, "meta.db"), meta.WithBcryptCost(4))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p, _, err := m.CreateProject(ctx, "shop")
	if err != nil || p.ID != testProject {
		t.Fatalf("project %d, %v; want %d", p.ID, err, testProject)
	}
	st, err := OpenState(ctx, filepath.Join(dir, "insight.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := New(Config{Events: db, Meta: m, State: st, ClusterEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.ScanReleases(ctx, testProject); err != nil {
		t.Fatal(err)
	}
	as, err := m.Annotations(ctx, testProject, time.Time{}, time.Now().AddDate(10, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		out = append(out, a.Kind+" "+a.Version+" "+a.At.UTC().Format(time.RFC3339Nano))
	}
	sort.Strings(out)
	return out
}
