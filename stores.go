package sightline

import (
	"context"
	"path/filepath"

	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/store/duckdb"
)

// openMeta opens the metadata store: SQLite in the data directory.
func openMeta(ctx context.Context, cfg Config) (*meta.Store, error) {
	return meta.Open(ctx, filepath.Join(cfg.DataDir, "meta.db"), meta.WithLogger(cfg.Logger))
}

// openEventStore opens the event store: embedded DuckDB in the data
// directory.
func openEventStore(ctx context.Context, cfg Config) (store.Store, error) {
	return duckdb.Open(filepath.Join(cfg.DataDir, "events.duckdb"), duckdb.Options{Logger: cfg.Logger})
}
