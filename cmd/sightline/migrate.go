package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/store/clickhouse"
)

// cmdMigrate is `sightline migrate`: it creates or upgrades the shared
// stores of a scaled-out deployment before the nodes start. On a ClickHouse
// cluster (?cluster=NAME) it connects to every server the cluster lists
// and creates the local and Distributed tables there (no ZooKeeper needed);
// a single ClickHouse server and the metadata store are also migrated by
// `serve` itself, so running it for them is optional.
func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	storeDSN := fs.String("store", env("SIGHTLINE_STORE", ""), "event store DSN: clickhouse://host:9000/db[?cluster=NAME]")
	metaDSN := fs.String("meta", env("SIGHTLINE_META", ""), "metadata store DSN: postgres://user@host:5432/db")
	retention := fs.Duration("retention", 0, "drop events older than this (e.g. 9000h); 0 keeps everything")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *storeDSN == "" && *metaDSN == "" {
		return errors.New("nothing to migrate: give --store clickhouse://… and/or --meta postgres://…")
	}
	if *storeDSN != "" {
		if !strings.HasPrefix(*storeDSN, "clickhouse://") {
			return fmt.Errorf("--store %q: only ClickHouse needs migrating (DuckDB migrates itself)", *storeDSN)
		}
		if err := clickhouse.Migrate(ctx, *storeDSN, clickhouse.Options{Retention: *retention}); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "event store schema is up to date")
	}
	if *metaDSN != "" {
		m, err := meta.Open(ctx, *metaDSN, meta.WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
		if err != nil {
			return err
		}
		v, err := m.SchemaVersion(ctx)
		m.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "metadata schema is at version %d\n", v)
	}
	return nil
}
