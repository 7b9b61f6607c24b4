// Command sightline runs Sightline: serve, demo, seed, bench and version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"

	"github.com/sightline-analytics/sightline"
	"github.com/sightline-analytics/sightline/insight"
)

const usage = `Sightline: self-hosted behavioral analytics.

Usage:
  sightline serve  [--addr 127.0.0.1:8080] [--data ./sightline-data] [--admin-key KEY]
  sightline demo   [--addr 127.0.0.1:8080] [--data ./sightline-demo] [--days 30] [--events N]
  sightline seed   --events N [--days D] [--seed S] [--data DIR] [--project NAME] [--json]
  sightline bench  ingest [--events N] [--clients C] [--batch B] [--phases] [--json]
  sightline bench  query  [--events N] [--days D] [--runs R] [--only NAMES] [--data DIR] [--store DSN] [--json]
  sightline migrate --store clickhouse://host:9000/db?cluster=NAME [--meta postgres://…]
  sightline version

serve and demo also take --store DSN (clickhouse://host:9000/db[?cluster=NAME];
default: DuckDB in the data directory) and --meta DSN (postgres://user@host/db;
default: SQLite in the data directory): see docs/deploy.md.

Environment: SIGHTLINE_ADDR, SIGHTLINE_DATA, SIGHTLINE_ADMIN_KEY,
SIGHTLINE_STORE, SIGHTLINE_META and SIGHTLINE_TRUST_PROXY (true or false) set
the defaults of --addr, --data, --admin-key, --store, --meta and
--trust-proxy.
`

// gcPercent is the collector's default heap growth (GOGC), unless GOGC is
// set. Capture allocates fast and keeps little; a larger heap goal means
// fewer collections, whose pauses and assists held acknowledgements back:
// at 1 M events the slowest acknowledgement took 190–350 ms with Go's
// default of 100 and 105–125 ms with 400, for about 200 MB more memory
// (BENCHMARKS.md, Ingest).
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "sightline:", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "seed":
		return cmdSeed(ctx, rest, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "sightline", sightline.Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
	return flag.ErrHelp
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// serverFlags are the flags serve and demo share.
type serverFlags struct {
	addr, data, adminKey, logLevel string
	store, meta                    string
	trustProxy                     bool
}

func (f *serverFlags) register(fs *flag.FlagSet, defaultData string) {
	fs.StringVar(&f.addr, "addr", env("SIGHTLINE_ADDR", "127.0.0.1:8080"), "listen address")
	fs.StringVar(&f.data, "data", env("SIGHTLINE_DATA", defaultData), "data directory")
	fs.StringVar(&f.adminKey, "admin-key", env("SIGHTLINE_ADMIN_KEY", ""), "master API key (creates projects, queries any project)")
	fs.StringVar(&f.logLevel, "log-level", env("SIGHTLINE_LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	trust, _ := strconv.ParseBool(env("SIGHTLINE_TRUST_PROXY", "false"))
	fs.BoolVar(&f.trustProxy, "trust-proxy", trust, "behind a reverse proxy you control: take client addresses, scheme and host from its forwarding headers")
	fs.StringVar(&f.store, "store", env("SIGHTLINE_STORE", ""), "event store DSN: clickhouse://host:9000/db[?cluster=NAME] (default: DuckDB in the data directory)")
	fs.StringVar(&f.meta, "meta", env("SIGHTLINE_META", ""), "metadata store DSN: postgres://user@host:5432/db (default: SQLite in the data directory)")
}

func (f *serverFlags) config(stderr io.Writer) (sightline.Config, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.logLevel)); err != nil {
		return sightline.Config{}, fmt.Errorf("--log-level: %w", err)
	}
	if v := os.Getenv("SIGHTLINE_TRUST_PROXY"); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return sightline.Config{}, fmt.Errorf("SIGHTLINE_TRUST_PROXY=%q: want true or false", v)
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	slog.SetDefault(log)
	return sightline.Config{
		Addr:       f.addr,
		DataDir:    f.data,
		AdminKey:   f.adminKey,
		TrustProxy: f.trustProxy,
		Store:      f.store,
		Meta:       f.meta,
		BaseURL:    os.Getenv("SIGHTLINE_BASE_URL"),
		ReplayDir:  os.Getenv("SIGHTLINE_REPLAY_DIR"),
		SMTP: insight.SMTPConfig{
			Addr:     os.Getenv("SIGHTLINE_SMTP_ADDR"),
			From:     env("SIGHTLINE_SMTP_FROM", "sightline@localhost"),
			Username: os.Getenv("SIGHTLINE_SMTP_USER"),
			Password: os.Getenv("SIGHTLINE_SMTP_PASSWORD"),
		},
		Logger: log,
	}, nil
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf serverFlags
	sf.register(fs, "sightline-data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := sf.config(stderr)
	if err != nil {
		return err
	}
	app, err := sightline.New(cfg)
	if err != nil {
		return err
	}
	if err := app.Start(ctx); err != nil {
		app.Close()
		return err
	}
	fmt.Fprintf(stdout, "Sightline %s listening on %s (data in %s)\n", sightline.Version, app.URL(), cfg.DataDir)
	if cfg.AdminKey == "" {
		fmt.Fprintln(stdout, "No admin key set: set SIGHTLINE_ADMIN_KEY (or --admin-key) to create projects through the API.")
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "Shutting down: draining the spool into the event store…")
	return app.Close()
}
