package duckdb

import (
	"context"
	"strings"
	"testing"
)

// TestFunnelFunction calls sightline_funnel through SQL, as the query
// package's DuckDB funnels do.
func TestFunnelFunction(t *testing.T) {
	s := openMemory(t)
	ctx := context.Background()
	call := func(args string) (string, error) {
		var out *string
		err := s.db.QueryRowContext(ctx, "SELECT CAST("+FunnelFunction+"("+args+") AS VARCHAR)").Scan(&out)
		if out == nil {
			return "NULL", err
		}
		return *out, err
	}
	tests := []struct{ name, args, want string }{
		{"separate lists", "[10000000, 20000000, 90000000], [1, 2, 2], NULL, NULL, 2, 60, 0, 100000000, [], 'ordered'",
			"[2, 1, 2, 10000000, 20000000]"},
		// Packed: (ts − from) << 2 | mask with two bits (two steps).
		{"packed", "[(10000000 << 2) | 1, (20000000 << 2) | 2], NULL, NULL, NULL, 2, 60, 0, 100000000, [], 'ordered'",
			"[2, 1, 2, 10000000, 20000000]"},
		{"unreached steps are NULL", "[10000000], [1], NULL, NULL, 3, 60, 0, 100000000, [], 'ordered'",
			"[1, 1, 1, 10000000, NULL, NULL]"},
		{"attempt per breakdown value", "[10000000, 20000000, 200000000], [1, 2, 1], ['a', 'b', 'b'], NULL, 2, 60, 0, 1000000000, [], 'ordered'",
			"[2, 1, 2, 10000000, 20000000, 1, 3, 3, 200000000, NULL]"},
		{"exclusion", "[10000000, 15000000, 20000000], [1, 4, 2], NULL, NULL, 2, 60, 0, 100000000, [0, 1], 'ordered'", "[]"},
		{"ties need UUIDs", "[10000000, 10000000], [2, 1], NULL, NULL, 2, 60, 0, 100000000, [], 'ordered'", "NULL"},
		{"strict", "[10000000, 20000000, 30000000], [1, 0, 2], NULL, NULL, 2, 60, 0, 100000000, [], 'strict'",
			"[1, 1, 1, 10000000, NULL]"},
		{"unordered", "[10000000, 20000000], [2, 1], NULL, NULL, 2, 60, 0, 100000000, [], 'unordered'",
			"[2, 1, 1, 10000000, 20000000]"},
		{"UUIDs order ties", "[10000000, 10000000], [2, 1], NULL, ['02', '01'], 2, 60, 0, 100000000, [], 'ordered'",
			"[2, 2, 1, 10000000, 10000000]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := call(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	for _, bad := range []string{
		"[1, 2], [1], NULL, NULL, 2, 60, 0, 100, [], 'ordered'",               // lists of different lengths
		"[1], [1], NULL, NULL, 0, 60, 0, 100, [], 'ordered'",                  // no steps
		"[1], [1], NULL, NULL, 2, 60, 0, 100, [0], 'ordered'",                 // half an exclusion
		"[1], [1], NULL, NULL, 61, 60, 0, 100, [0, 1, 0, 1, 0, 1], 'ordered'", // too many bits
		"[NULL], [1], NULL, NULL, 2, 60, 0, 100, [], 'ordered'",
		"[1], [1], NULL, NULL, 2, 60, 0, 100, [], 'sideways'", // no timestamp
	} {
		if _, err := call(bad); err == nil || !strings.Contains(err.Error(), FunnelFunction) {
			t.Errorf("%s: got %v, want an error naming %s", bad, err, FunnelFunction)
		}
	}
}
