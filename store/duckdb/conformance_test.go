package duckdb

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/store/storetest"
)

// TestConformance runs the shared store suite in memory and on disk; on
// disk, another handle is the same file reopened.
func TestConformance(t *testing.T) {
	for _, k := range []struct {
		name string
		disk bool
	}{{"memory", false}, {"disk", true}} {
		t.Run(k.name, func(t *testing.T) {
			h := storetest.Harness{
				Open: func(t testing.TB, log *slog.Logger) store.Store {
					path := ""
					if k.disk {
						path = filepath.Join(t.TempDir(), "events.duckdb")
					}
					return openWith(t, path, Options{Logger: log})
				},
				FailNextAppend: func(s store.Store, err error) {
					w := s.(*Store).writer
					w.beforeCommit = func() error { w.beforeCommit = nil; return err }
				},
				Persons:       persons,
				AtomicAppends: true,
			}
			if k.disk {
				h.Reopen = func(t testing.TB, s store.Store) store.Store { return reopenDisk(t, s.(*Store)) }
			}
			storetest.Run(t, h)
		})
	}
}

func persons(t testing.TB, s store.Store, project int64) []storetest.Person {
	t.Helper()
	rows, err := s.Query(context.Background(), `SELECT person_id, is_identified, properties::VARCHAR, created_at
		FROM persons WHERE project_id = ? ORDER BY person_id`, project)
	if err != nil {
		t.Fatalf("persons: %v", err)
	}
	defer rows.Close()
	var out []storetest.Person
	for rows.Next() {
		var p storetest.Person
		var created time.Time
		if err := rows.Scan(&p.ID, &p.Identified, &p.Properties, &created); err != nil {
			t.Fatalf("persons: %v", err)
		}
		p.CreatedAt = created.UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("persons: %v", err)
	}
	return out
}
