package sightline

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/store/clickhouse"
	"github.com/sightline-analytics/sightline/store/duckdb"
)

// openMeta opens the metadata store: PostgreSQL when cfg.Meta is a
// postgres:// DSN (several nodes share it), otherwise SQLite, at cfg.Meta
// when it names a file or in the data directory.
func openMeta(ctx context.Context, cfg Config) (*meta.Store, error) {
	dsn := cfg.Meta
	if dsn == "" {
		dsn = filepath.Join(cfg.DataDir, "meta.db")
	}
	return meta.Open(ctx, dsn, meta.WithLogger(cfg.Logger))
}

// openEventStore opens the event store: ClickHouse when cfg.Store is a
// clickhouse:// DSN, otherwise embedded DuckDB, at cfg.Store when it names
// a file (optionally as duckdb://PATH) or in the data directory.
func openEventStore(ctx context.Context, cfg Config) (store.Store, error) {
	switch {
	case strings.HasPrefix(cfg.Store, "clickhouse://"):
		s, err := clickhouse.Open(ctx, cfg.Store, clickhouse.Options{Logger: cfg.Logger})
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return s, nil
	case strings.Contains(cfg.Store, "://") && !strings.HasPrefix(cfg.Store, "duckdb://"):
		return nil, fmt.Errorf("unknown event store %q: use clickhouse://host:9000/db or a DuckDB file path", cfg.Store)
	}
	path := strings.TrimPrefix(cfg.Store, "duckdb://")
	if path == "" {
		path = filepath.Join(cfg.DataDir, "events.duckdb")
	}
	s, err := duckdb.Open(path, duckdb.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	return s, nil
}
