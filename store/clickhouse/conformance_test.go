package clickhouse

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/store/storetest"
)

// TestConformance runs the shared store suite on one server and on the
// 2-shard cluster (Distributed tables). Another handle is a second store
// on the same database, as another node would open.
func TestConformance(t *testing.T) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			storetest.Run(t, storetest.Harness{
				Open: func(t testing.TB, log *slog.Logger) store.Store {
					return openDSN(t, freshDSN(t, k.cluster), Options{Logger: log})
				},
				Reopen: func(t testing.TB, s store.Store) store.Store { return openDSN(t, dsnOf(s.(*Store)), Options{}) },
				FailNextAppend: func(s store.Store, err error) {
					w := s.(*Store).writer
					w.beforeCheckpoint = func() error { w.beforeCheckpoint = nil; return err }
				},
				Persons: persons,
			})
		})
	}
}

// persons reads the latest version of each person row.
func persons(t testing.TB, s store.Store, project int64) []storetest.Person {
	t.Helper()
	rows, err := s.Query(context.Background(), `SELECT person_id, i, p, c FROM (
		SELECT person_id, argMax(is_identified, version) AS i, argMax(properties, version) AS p,
			argMax(created_at, version) AS c, argMax(is_deleted, version) AS del
		FROM persons WHERE project_id = $1 GROUP BY person_id) WHERE del = 0 ORDER BY person_id`, project)
	if err != nil {
		t.Fatalf("persons: %v", err)
	}
	defer rows.Close()
	var out []storetest.Person
	for rows.Next() {
		var p storetest.Person
		var ident uint8
		var created int64
		if err := rows.Scan(&p.ID, &ident, &p.Properties, &created); err != nil {
			t.Fatalf("persons: %v", err)
		}
		p.Identified, p.CreatedAt = ident == 1, time.UnixMicro(created).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("persons: %v", err)
	}
	return out
}

// The sharding key spreads events over both shards.
func TestClusterShardsEvents(t *testing.T) {
	s := openKind(t, storeKinds[1])
	mustAppend(t, s, storetest.NewTraffic(1, 2).Batch(1, 1000, t0))
	if n := storetest.Count(t, s, 1); n != 1000 {
		t.Fatalf("%d events, want 1000", n)
	}
	got := queryStrings(t, s, "SELECT count() FROM events_local")
	if n, _ := strconv.Atoi(got[0]); n < 100 || n > 900 {
		t.Fatalf("the local shard holds %s of 1000 events: not sharded", got[0])
	}
}
