// Package servicetest gives tests fresh databases on the ClickHouse and
// PostgreSQL servers that scripts/services.sh starts on loopback.
//
// Without the servers a test skips loudly, or fails under CI=true, where
// every component must be present.
package servicetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver

	"github.com/sightline-analytics/sightline/store/clickhouse"
)

// require returns the named environment variables, or stops the test when
// one is unset.
func require(t testing.TB, names ...string) []string {
	t.Helper()
	vals := make([]string, len(names))
	for i, n := range names {
		vals[i] = os.Getenv(n)
		if vals[i] != "" {
			continue
		}
		msg := n + " is not set: start the servers with `eval \"$(scripts/services.sh)\"`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING a test that needs ClickHouse or PostgreSQL: " + msg)
	}
	return vals
}

// freshName is a database name no other test uses.
func freshName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "sl_test_" + hex.EncodeToString(b)
}

// ClickHouse returns the DSN of a database that does not exist yet, and
// drops it when the test ends. With clusterVar (for example
// SIGHTLINE_TEST_CLICKHOUSE_CLUSTER), the DSN names the cluster that
// environment variable names; without, the first server alone. Creating
// the database is the caller's part (clickhouse.Migrate, or Open on a
// single server).
func ClickHouse(t testing.TB, clusterVar string) string {
	t.Helper()
	vars := []string{"SIGHTLINE_TEST_CLICKHOUSE"}
	if clusterVar != "" {
		vars = append(vars, clusterVar)
	}
	env := require(t, vars...)
	cfg, err := clickhouse.ParseDSN(env[0])
	if err != nil {
		t.Fatal(err)
	}
	dsn := "clickhouse://" + cfg.Hosts[0] + "/" + freshName()
	if clusterVar != "" {
		dsn += "?cluster=" + env[1]
	}
	t.Cleanup(func() { clickhouse.DropDatabase(context.Background(), dsn) })
	return dsn
}

// Postgres creates an empty database and returns its DSN; it is dropped
// when the test ends.
func Postgres(t testing.TB) string {
	t.Helper()
	base := require(t, "SIGHTLINE_TEST_POSTGRES")[0]
	name := freshName()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open("pgx", base); err == nil {
			db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
