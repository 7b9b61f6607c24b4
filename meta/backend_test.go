package meta

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sightline-analytics/sightline/internal/servicetest"
)

// The whole suite runs once per backend: on SQLite, then, when
// SIGHTLINE_TEST_POSTGRES names a server (scripts/services.sh starts one),
// again on PostgreSQL, each test on a database of its own. Without the
// server the PostgreSQL pass is skipped with a loud message, except under
// CI=true where that fails the package.
var testBackend = "sqlite"

func TestMain(m *testing.M) {
	code := m.Run()
	if code != 0 {
		os.Exit(code)
	}
	if os.Getenv("SIGHTLINE_TEST_POSTGRES") == "" {
		msg := "meta: SIGHTLINE_TEST_POSTGRES is not set: the suite ran on SQLite only; start PostgreSQL with `eval \"$(scripts/services.sh)\"`"
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "FAIL: "+msg)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "SKIPPING the PostgreSQL pass: "+msg)
		os.Exit(0)
	}
	fmt.Fprintln(os.Stderr, "meta: running the suite again on PostgreSQL")
	testBackend = "postgres"
	os.Exit(m.Run())
}

func sqliteOnly(t testing.TB) {
	t.Helper()
	if testBackend != "sqlite" {
		t.Skip("SQLite-specific")
	}
}

// freshDSN returns the DSN of a new, empty database of the backend under
// test: a file in a temporary directory, or a PostgreSQL database dropped
// when the test ends.
func freshDSN(t testing.TB) string {
	t.Helper()
	if testBackend == "sqlite" {
		return filepath.Join(t.TempDir(), "meta.db")
	}
	return servicetest.Postgres(t)
}
