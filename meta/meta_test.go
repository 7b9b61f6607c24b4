package meta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// clock is a settable time source for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var quiet = WithLogger(slog.New(slog.DiscardHandler))

// openTest opens a store on a fresh database of the backend under test
// (see TestMain) with a cheap bcrypt cost, and returns it with its DSN.
func openTest(t testing.TB, opts ...Option) (*Store, string) {
	t.Helper()
	path := freshDSN(t)
	s, err := Open(context.Background(), path, append([]Option{WithBcryptCost(bcrypt.MinCost), quiet}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func mustProject(t testing.TB, s *Store, name string) (Project, string) {
	t.Helper()
	p, key, err := s.CreateProject(context.Background(), name)
	if err != nil {
		t.Fatalf("CreateProject(%q): %v", name, err)
	}
	return p, key
}

func countRows(t testing.TB, s *Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func TestMigrationsApplyOnceAndReopen(t *testing.T) {
	ctx := context.Background()
	ms, err := loadMigrations(sqliteDialect)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if strings.Contains(m.sql, "{{") {
			t.Errorf("migration %d has an unexpanded macro", m.version)
		}
	}

	s, path := openTest(t)
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(ms) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(ms))
	}
	p, _ := mustProject(t, s, "kept")
	s.Close()

	for range 3 {
		s2, err := Open(ctx, path, quiet)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if n := countRows(t, s2, `SELECT COUNT(*) FROM schema_migrations`); n != len(ms) {
			t.Fatalf("schema_migrations has %d rows after reopen, want %d", n, len(ms))
		}
		got, err := s2.Project(ctx, p.ID)
		if err != nil || got.Token != p.Token {
			t.Fatalf("project after reopen = %+v, %v", got, err)
		}
		s2.Close()
	}
}

func TestMigrationsRacingOpens(t *testing.T) {
	path := freshDSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(context.Background(), path, quiet)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	s, err := Open(context.Background(), path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := countRows(t, s, `SELECT COUNT(*) FROM schema_migrations`); n != 1 {
		t.Fatalf("schema_migrations has %d rows, want 1", n)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	s, path := openTest(t)
	if _, err := s.w.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(context.Background(), path, quiet)
	if err == nil || !strings.Contains(err.Error(), "newer Sightline") {
		t.Fatalf("Open of a newer schema: err = %v", err)
	}
}

func TestOpenPragmas(t *testing.T) {
	sqliteOnly(t)
	s, _ := openTest(t)
	check := func(pool, pragma, want string, q func(string) (string, error)) {
		t.Helper()
		got, err := q("PRAGMA " + pragma)
		if err != nil || !strings.EqualFold(got, want) {
			t.Errorf("%s pool: PRAGMA %s = %q, %v; want %q", pool, pragma, got, err, want)
		}
	}
	w := func(q string) (v string, err error) { err = s.w.QueryRow(q).Scan(&v); return }
	r := func(q string) (v string, err error) { err = s.r.QueryRow(q).Scan(&v); return }
	check("write", "journal_mode", "wal", w)
	check("write", "foreign_keys", "1", w)
	check("write", "busy_timeout", fmt.Sprint(sqliteBusyTimeoutMs), w)
	check("read", "journal_mode", "wal", r)
	check("read", "foreign_keys", "1", r)
	check("read", "query_only", "1", r)
	if _, err := s.r.Exec(`DELETE FROM projects`); err == nil {
		t.Error("the read pool accepted a write")
	}
}

func TestOpenBadPaths(t *testing.T) {
	for _, dsn := range []string{"", ":memory:", "a?b.db", "postgres://localhost/x"} {
		if s, err := Open(context.Background(), dsn); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", dsn)
		}
	}
}

func TestOpenCreatesDirectory(t *testing.T) {
	sqliteOnly(t)
	path := filepath.Join(t.TempDir(), "a", "b", "meta.db")
	s, err := Open(context.Background(), "sqlite:"+path, quiet)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentWrites writes from many goroutines through one Store and,
// at the same time, through a second Store on the same file (as a CLI
// command beside a running server would): no call may fail, SQLITE_BUSY
// included.
func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	s2, err := Open(ctx, path, WithBcryptCost(bcrypt.MinCost), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	base, _ := mustProject(t, s, "base")

	const workers, ops = 16, 20
	var wg sync.WaitGroup
	errc := make(chan error, workers*ops*4)
	for w := range workers {
		st := s
		if w%4 == 3 {
			st = s2
		}
		wg.Go(func() {
			for i := range ops {
				p, _, err := st.CreateProject(ctx, fmt.Sprintf("p-%d-%d", w, i))
				if err != nil {
					errc <- fmt.Errorf("create project: %w", err)
					continue
				}
				ps := p.Settings
				ps.ReplaySampleRate = float64(i) / ops
				if _, err := st.UpdateProjectSettings(ctx, base.ID, ps); err != nil {
					errc <- fmt.Errorf("update settings: %w", err)
				}
				if _, _, err := st.CreateAPIKey(ctx, p.ID, "k", 0); err != nil {
					errc <- fmt.Errorf("create key: %w", err)
				}
				if _, err := st.Actions().Create(ctx, Object{ProjectID: base.ID, Name: "a", Definition: []byte(`{"i":1}`)}); err != nil {
					errc <- fmt.Errorf("create action: %w", err)
				}
				if _, err := st.ProjectByToken(ctx, p.Token); err != nil {
					errc <- fmt.Errorf("read back: %w", err)
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM projects`); n != workers*ops+1 {
		t.Errorf("projects = %d, want %d", n, workers*ops+1)
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM api_keys`); n != 2*workers*ops+1 {
		t.Errorf("api keys = %d, want %d", n, 2*workers*ops+1)
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM actions`); n != workers*ops {
		t.Errorf("actions = %d, want %d", n, workers*ops)
	}
}

func TestWellFormed(t *testing.T) {
	tok := randomToken(projectTokenPrefix, projectTokenBytes)
	key := randomToken(apiKeyPrefix, apiKeyBytes)
	tests := []struct {
		in   string
		want bool
	}{
		{tok, true},
		{tok[:len(tok)-1], false},
		{tok + "A", false},
		{"slx_" + tok[4:], false},
		{tok[:10] + "!" + tok[11:], false},
		{tok[:10] + "=" + tok[11:], false},
		{"", false},
		{key, false}, // a secret key is not a project token
	}
	for _, tt := range tests {
		if got := ValidProjectToken(tt.in); got != tt.want {
			t.Errorf("ValidProjectToken(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if !ValidAPIKey(key) || ValidAPIKey(tok) {
		t.Errorf("ValidAPIKey misjudges %q / %q", key, tok)
	}
}
