package meta

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
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
	base := os.Getenv("SIGHTLINE_TEST_POSTGRES")
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "meta_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

var _ = context.Background
