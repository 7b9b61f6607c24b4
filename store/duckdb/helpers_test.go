package duckdb

import (
	"context"
	"fmt"
	"testing"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store/storetest"
)

func openMemory(t testing.TB) *Store {
	t.Helper()
	return openWith(t, "", Options{})
}

func openDisk(t testing.TB, path string) *Store {
	t.Helper()
	return openWith(t, path, Options{})
}

// openWith opens a store at path ("": in memory), closed when the test
// ends.
func openWith(t testing.TB, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func reopenDisk(t testing.TB, s *Store) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return openDisk(t, s.path)
}

var (
	t0 = storetest.T0
	ev = storetest.Event
)

func mustAppend(t testing.TB, s *Store, events []event.Event) {
	t.Helper()
	storetest.MustAppend(t, s, events)
}

func count(t testing.TB, s *Store, project int64) int64 {
	t.Helper()
	return storetest.Count(t, s, project)
}

// queryStrings runs a query whose rows are one or more string columns and
// returns each row joined by "|".
func queryStrings(t testing.TB, s *Store, q string, args ...any) []string {
	t.Helper()
	rows, err := s.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("scan: %v", err)
		}
		line := ""
		for i, v := range vals {
			if i > 0 {
				line += "|"
			}
			line += fmt.Sprint(v)
		}
		out = append(out, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	return out
}
