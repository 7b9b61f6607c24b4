package clickhouse

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store/storetest"
)

// The tests need a real ClickHouse: scripts/services.sh starts two
// instances forming the cluster SIGHTLINE_TEST_CLICKHOUSE_CLUSTER and prints
// the environment. Without it the tests skip, loudly, except under
// CI=true, where they fail.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("SIGHTLINE_TEST_CLICKHOUSE")
	if dsn == "" {
		msg := "SIGHTLINE_TEST_CLICKHOUSE is not set: start ClickHouse with `eval \"$(scripts/services.sh)\"`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING ClickHouse tests: " + msg)
	}
	return dsn
}

func testCluster(t testing.TB) string {
	t.Helper()
	c := os.Getenv("SIGHTLINE_TEST_CLICKHOUSE_CLUSTER")
	if c == "" {
		msg := "SIGHTLINE_TEST_CLICKHOUSE_CLUSTER is not set: start the 2-shard cluster with `eval \"$(scripts/services.sh)\"`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING ClickHouse cluster tests: " + msg)
	}
	return c
}

// freshDSN returns the test server's DSN with a new, empty database (and
// with the cluster when cluster is set); the database is dropped (on every
// shard) when the test ends.
func freshDSN(t testing.TB, cluster bool) string {
	t.Helper()
	base := testDSN(t)
	cfg, err := ParseDSN(base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	crand.Read(b)
	cfg.Database = "sl_test_" + hex.EncodeToString(b)
	if cluster {
		cfg.Cluster = testCluster(t)
	}
	dsn := "clickhouse://" + cfg.Hosts[0] + "/" + cfg.Database
	if cluster {
		dsn += "?cluster=" + cfg.Cluster
	}
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := openAdmin(cfg)
		if err != nil {
			return
		}
		defer conn.Close()
		forEachShard(ctx, conn, cfg, func(ctx context.Context, c driverConn) error {
			return c.Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.Database)
		})
	})
	return dsn
}

type storeKind struct {
	name    string
	cluster bool
}

var storeKinds = []storeKind{{"single", false}, {"cluster", true}}

func openKind(t testing.TB, k storeKind) *Store {
	t.Helper()
	return openDSN(t, freshDSN(t, k.cluster), Options{})
}

// openDSN opens a store on dsn (migrating a cluster first, as `sightline
// migrate` does); it is closed when the test ends.
func openDSN(t testing.TB, dsn string, opts Options) *Store {
	t.Helper()
	ctx := context.Background()
	if cfg, _ := ParseDSN(dsn); cfg.Cluster != "" {
		if err := Migrate(ctx, dsn, opts); err != nil {
			t.Fatalf("migrate %s: %v", dsn, err)
		}
	}
	s, err := Open(ctx, dsn, opts)
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dsnOf(s *Store) string {
	dsn := "clickhouse://" + s.cfg.Hosts[0] + "/" + s.cfg.Database
	if s.cfg.Cluster != "" {
		dsn += "?cluster=" + s.cfg.Cluster
	}
	return dsn
}

var (
	t0 = storetest.T0
	ev = storetest.Event
)

func mustAppend(t testing.TB, s *Store, events []event.Event) {
	t.Helper()
	storetest.MustAppend(t, s, events)
}

// queryStrings runs a query and returns each row's columns joined by "|".
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
			if p, ok := v.(*string); ok && p != nil {
				v = *p
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
