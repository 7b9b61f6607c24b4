// Package meta is Sightline's metadata store: projects and their public
// tokens and settings, hashed API keys, users, project memberships and login
// sessions, and the saved definitions the analytics engine and the web app
// work with (actions, segments, insights, dashboards, alerts, annotations).
//
// The embedded backend is SQLite through the pure-Go driver modernc.org/sqlite,
// so the binary links no second C library besides DuckDB. The SQL is written
// to run on PostgreSQL too (issue 6): every query uses $N placeholders (which
// SQLite accepts as numbered parameters), RETURNING, ON CONFLICT and partial
// indexes, all of which both engines share; times are BIGINT Unix
// milliseconds and JSON is TEXT, so no type differs between the two. The few
// spots that cannot be shared (the auto-increment primary key, the
// connection setup, the error codes for constraint violations) live behind the
// dialect type in dialect.go.
//
// Errors: ErrNotFound, ErrConflict, ErrInvalid and ErrInvalidCredentials are
// sentinels wrapped with context; callers test them with errors.Is and map
// them to 404, 409, 400 and 401.
package meta

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

var (
	// ErrNotFound: no such row, or one the caller may not see (another
	// project's), or an expired or revoked credential.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a uniqueness rule was violated (an e-mail already used).
	ErrConflict = errors.New("already exists")
	// ErrInvalid: an argument failed validation; the wrapping message names it.
	ErrInvalid = errors.New("invalid")
	// ErrInvalidCredentials: unknown e-mail or wrong password (deliberately
	// not saying which).
	ErrInvalidCredentials = errors.New("invalid e-mail or password")
)

// Store is the metadata store. It is safe for concurrent use.
type Store struct {
	// w is the write pool and r the read pool. On SQLite, w holds a single
	// connection: SQLite admits one writer at a time anyway, and queueing
	// writers in database/sql instead of in SQLite's busy handler means
	// concurrent writes in this process never see SQLITE_BUSY (the busy
	// timeout still covers other processes on the same file). Readers run
	// in parallel beside the writer thanks to WAL.
	w, r    *sql.DB
	dialect *dialect
	now     func() time.Time
	log     *slog.Logger
	cost    int // bcrypt cost

	dummyOnce sync.Once
	dummyHash []byte

	mu    sync.Mutex
	hooks []func(token string)
}

// Option configures Open.
type Option func(*Store)

// WithClock replaces time.Now, for tests of expiry.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// WithBcryptCost sets the bcrypt cost for new password hashes (default
// bcrypt.DefaultCost). Tests lower it; production should not.
func WithBcryptCost(cost int) Option { return func(s *Store) { s.cost = cost } }

// Open opens (creating if needed) the metadata store at dsn and applies
// pending migrations. dsn is a SQLite file path, optionally prefixed with
// "sqlite:", or a PostgreSQL URL ("postgres://user@host:5432/db?…"), which
// several Sightline nodes can share.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	s := &Store{now: time.Now, log: slog.Default(), cost: bcrypt.DefaultCost}
	for _, o := range opts {
		o(s)
	}
	var err error
	switch {
	case isPostgresDSN(dsn):
		s.dialect = postgresDialect
		s.w, err = openPostgres(ctx, dsn)
		s.r = s.w
	default:
		s.dialect = sqliteDialect
		s.w, s.r, err = openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the store's connections.
func (s *Store) Close() error {
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.w.Close(), s.r.Close())
}

// onTokenChange registers f to be called with a project's public token after
// a local change to that project (settings, name, token rotation, deletion).
// The token Cache uses it to drop stale entries.
func (s *Store) onTokenChange(f func(token string)) {
	s.mu.Lock()
	s.hooks = append(s.hooks, f)
	s.mu.Unlock()
}

func (s *Store) tokenChanged(token string) {
	s.mu.Lock()
	hooks := s.hooks
	s.mu.Unlock()
	for _, f := range hooks {
		f(token)
	}
}

// write runs fn in a write transaction. On SQLite it begins with
// BEGIN IMMEDIATE (see _txlock in openSQLite), so a transaction that reads
// before it writes cannot fail half-way with SQLITE_BUSY on lock upgrade.
// On PostgreSQL it runs SERIALIZABLE and is retried (fn included) when it
// loses a serialization conflict, so fn must not have effects outside tx.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if !s.dialect.serializable {
		return s.writeOnce(ctx, nil, fn)
	}
	opts := &sql.TxOptions{Isolation: sql.LevelSerializable}
	for attempt := 1; ; attempt++ {
		err := s.writeOnce(ctx, opts, fn)
		if err == nil || !isRetryable(err) || attempt == 20 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(retryBackoff(attempt)):
		}
	}
}

func (s *Store) writeOnce(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// classify turns constraint violations into ErrConflict / ErrNotFound so that
// callers need not know the backend's error codes.
func (s *Store) classify(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("meta: %s: %w", what, ErrNotFound)
	case s.dialect.isUnique(err):
		return fmt.Errorf("meta: %s: %w", what, ErrConflict)
	case s.dialect.isForeignKey(err):
		return fmt.Errorf("meta: %s: referenced row: %w", what, ErrNotFound)
	}
	return fmt.Errorf("meta: %s: %w", what, err)
}

func (s *Store) nowMs() int64 { return s.now().UnixMilli() }

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullMsTime(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return msTime(v.Int64)
}

// nullID maps the zero ID to NULL for optional references (created_by).
func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// randomToken returns prefix followed by n random bytes in unpadded base64url.
func randomToken(prefix string, n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails: since Go 1.24 a broken entropy source crashes the program
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// wellFormed reports whether tok is prefix followed by the base64url text of
// n bytes. Checking the shape first lets lookups of garbage skip the database
// and keeps junk out of the negative cache.
func wellFormed(tok, prefix string, n int) bool {
	if len(tok) != len(prefix)+base64.RawURLEncoding.EncodedLen(n) || !strings.HasPrefix(tok, prefix) {
		return false
	}
	for i := len(prefix); i < len(tok); i++ {
		c := tok[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// secretHash is how API keys, session tokens and invite tokens are stored.
//
// A fast, unsalted hash is right here, unlike for passwords: bcrypt and
// argon2 exist to make guessing low-entropy, human-chosen secrets expensive,
// but these secrets are 256 bits from crypto/rand. Nobody can enumerate 2^256
// candidates at any hash speed, and precomputed tables are useless against a
// space that large, so salt and work factor buy nothing, while a
// deterministic hash lets the store find the row by an indexed equality
// lookup and keeps each authenticated request cheap (a slow hash would cost
// ~50 ms of CPU per API call). A leaked database therefore reveals no usable
// key.
func secretHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func checkName(what, name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", fmt.Errorf("meta: %s: %w: name is empty", what, ErrInvalid)
	}
	if len(name) > 200 {
		return "", fmt.Errorf("meta: %s: %w: name is longer than 200 bytes", what, ErrInvalid)
	}
	return name, nil
}
