package meta

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrations are embedded files named NNNN_what.sql, applied in order, each
// in its own transaction together with its row in schema_migrations, so a
// crash leaves either all of a migration or none of it. The text is shared
// by the dialects; {{id}} expands to the dialect's auto-increment primary
// key (see dialect). A migration that cannot be shared would be written
// twice as NNNN_what.sqlite.sql and NNNN_what.postgres.sql (none so far).
//
// Never edit a migration once released: add a new one.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations(d *dialect) ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, e := range entries {
		file := e.Name()
		base := strings.TrimSuffix(file, ".sql")
		if other, ok := strings.CutSuffix(base, "."+d.name); ok {
			base = other
		} else if strings.Contains(base, ".") {
			continue // another dialect's variant
		}
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || len(num) != 4 {
			return nil, fmt.Errorf("migration file %q: want NNNN_name.sql", file)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migration %d defined twice (%s, %s)", v, prev, file)
		}
		seen[v] = file
		text, err := migrationFiles.ReadFile(path.Join("migrations", file))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: d.macros.Replace(string(text))})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations are not numbered 1..n: %d is at position %d", m.version, i+1)
		}
	}
	return ms, nil
}

func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.dialect)
	if err != nil {
		return fmt.Errorf("meta: migrate: %w", err)
	}
	// Migrations run at the default isolation (READ COMMITTED on
	// PostgreSQL), not SERIALIZABLE: each statement must see what another
	// process committed while this one waited for the migration lock.
	if err := s.writeOnce(ctx, nil, func(tx *sql.Tx) error {
		if s.dialect.migrationLock != "" {
			if _, err := tx.ExecContext(ctx, s.dialect.migrationLock); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at BIGINT NOT NULL
	)`)
		return err
	}); err != nil {
		return fmt.Errorf("meta: migrate: create schema_migrations: %w", err)
	}
	current, err := s.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("meta: migrate: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("meta: migrate: the database is at schema version %d but this binary knows only %d: run a newer Sightline", current, len(ms))
	}
	for _, m := range ms {
		applied := false
		err := s.writeOnce(ctx, nil, func(tx *sql.Tx) error {
			// Checked again inside the write lock: another process may
			// have applied it since we looked.
			if s.dialect.migrationLock != "" {
				if _, err := tx.ExecContext(ctx, s.dialect.migrationLock); err != nil {
					return err
				}
			}
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, s.nowMs()); err != nil {
				return err
			}
			applied = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("meta: migrate: %04d_%s: %w", m.version, m.name, err)
		}
		if applied {
			s.log.Info("meta: applied migration", "version", m.version, "name", m.name, "dialect", s.dialect.name)
		}
	}
	return nil
}

// SchemaVersion returns the highest applied migration (0 for a new database).
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := s.w.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("meta: schema version: %w", err)
	}
	return int(v.Int64), nil
}
