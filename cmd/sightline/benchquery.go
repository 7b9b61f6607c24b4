package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sightline-analytics/sightline"
	"github.com/sightline-analytics/sightline/query"
	"github.com/sightline-analytics/sightline/synth"
)

// QueryBenchResult is what `sightline bench query` reports.
type QueryBenchResult struct {
	Date        string           `json:"date"`
	CPUs        int              `json:"cpus"`
	GOMAXPROCS  int              `json:"gomaxprocs"`
	Events      int64            `json:"events"`
	Days        int              `json:"days"`
	SeedSeconds float64          `json:"seed_seconds,omitempty"`
	Runs        int              `json:"runs"`
	Kinds       []QueryBenchKind `json:"kinds"`
}

// QueryBenchKind is one query's latency over the runs (cache disabled).
type QueryBenchKind struct {
	Name     string  `json:"name"`
	P50Ms    float64 `json:"p50_ms"`
	P95Ms    float64 `json:"p95_ms"`
	MaxMs    float64 `json:"max_ms"`
	TargetMs float64 `json:"target_ms,omitempty"`
	Query    string  `json:"query"`
}

const benchProject = "bench-query"

// queryBench is one query `sightline bench query` times, with its latency
// target in milliseconds (0: none).
type queryBench struct {
	name   string
	target float64
	q      string
}

// queryBenches are the timed queries over the seeded range (rng) and its
// last week (week), each a query's date members.
func queryBenches(rng, week string) []queryBench {
	product := `{"event": "$pageview", "where": [{"prop": "path", "op": "regex", "value": "^/product/"}]}`
	return []queryBench{
		{"trends", 300, `{"kind": "trends", ` + rng + `, "interval": "day", "series": [{"event": "$pageview", "math": "persons"}]}`},
		{"trends_events_breakdown", 0, `{"kind": "trends", ` + rng + `, "interval": "day", "series": [{"event": "$pageview"}, {"event": "purchase", "math": "sum", "property": "revenue"}], "breakdown": {"prop": "utm_source", "limit": 5}}`},
		{"sessions_page", 300, `{"kind": "sessions", ` + week + `, "limit": 50}`},
		{"sessions_page_30d", 0, `{"kind": "sessions", ` + rng + `, "limit": 50}`},
		{"heatmap", 300, `{"kind": "heatmap", ` + rng + `, "url": "/product/*", "viewport": "desktop"}`},
		{"funnel_3_steps", 0, `{"kind": "funnel", ` + rng + `, "window_seconds": 86400, "steps": [` + product + `, {"event": "add_to_cart"}, {"event": "purchase"}]}`},
		{"funnel_5_steps", 1500, `{"kind": "funnel", ` + rng + `, "window_seconds": 86400, "steps": [{"event": "$pageview"}, ` + product + `, {"event": "add_to_cart"}, {"event": "checkout_started"}, {"event": "purchase"}]}`},
		{"retention", 1500, `{"kind": "retention", ` + rng + `, "start": {"event": "$pageview"}, "period": "week", "periods": 5}`},
		{"paths", 1500, `{"kind": "paths", ` + rng + `, "start_point": "/", "depth": 5}`},
		{"frustration", 0, `{"kind": "frustration", ` + rng + `}`},
	}
}

// benchQuery is `sightline bench query`: it seeds a project with synthetic
// traffic (or reuses the one in --data) and reports p50 / p95 latency per
// query kind, with the result cache off.
func benchQuery(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	events := fs.Int("events", 10_000_000, "events to seed (synth makes one visitor per 100 events)")
	days := fs.Int("days", 30, "days of traffic")
	runs := fs.Int("runs", 10, "timed runs per query (after one warm-up run)")
	data := fs.String("data", "", "data directory; a bench-query project already seeded there is reused (default: a temporary directory)")
	only := fs.String("only", "", "comma-separated query names to run (default: all)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	storeDSN := fs.String("store", env("SIGHTLINE_STORE", ""), "event store DSN (clickhouse://host:9000/db[?cluster=NAME]; default: DuckDB in --data)")
	metaDSN := fs.String("meta", env("SIGHTLINE_META", ""), "metadata store DSN (default: SQLite in --data)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *events <= 0 || *days <= 0 || *runs <= 0 {
		return errors.New("--events, --days and --runs must be positive")
	}
	// Names are checked before seeding, which can take minutes.
	var keep map[string]bool
	if *only != "" {
		keep = map[string]bool{}
		var names []string
		for _, b := range queryBenches("", "") {
			names = append(names, b.name)
		}
		for _, k := range strings.Split(*only, ",") {
			k = strings.TrimSpace(k)
			if !slices.Contains(names, k) {
				return fmt.Errorf("--only: no query named %q (have: %s)", k, strings.Join(names, ", "))
			}
			keep[k] = true
		}
	}
	dir := *data
	if dir == "" {
		d, err := os.MkdirTemp("", "sightline-bench-query-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	app, err := sightline.New(sightline.Config{DataDir: dir, Store: *storeDSN, Meta: *metaDSN,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	defer app.Close()
	p, _, err := ensureProject(ctx, app, benchProject)
	if err != nil {
		return err
	}
	res := QueryBenchResult{Date: time.Now().UTC().Format(time.RFC3339), CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Days: *days, Runs: *runs}
	n, err := app.Store().Count(ctx, p.ID)
	if err != nil {
		return err
	}
	start := seedStart(*days)
	if n == 0 {
		prog := newProgress(stderr, "seeding", *events)
		st, err := app.Seed(ctx, p.ID, synth.Config{Seed: 1, Days: *days, Events: *events, Start: start}, prog.update)
		prog.done()
		if err != nil {
			return err
		}
		res.SeedSeconds = st.Elapsed.Seconds()
		fmt.Fprintf(stderr, "seeded %d events (%d sessions, %d persons) in %s\n", st.Events, st.Sessions, st.Persons, st.Elapsed.Round(time.Second))
		if n, err = app.Store().Count(ctx, p.ID); err != nil {
			return err
		}
	} else {
		// Reused data: its range is what the first and last events say.
		rows, err := app.Store().Query(ctx, `SELECT min("timestamp") FROM events WHERE project_id = $1`, p.ID)
		if err != nil {
			return err
		}
		if rows.Next() {
			var first any // a time, or Unix microseconds (ClickHouse)
			if err := rows.Scan(&first); err == nil {
				switch v := first.(type) {
				case time.Time:
					start = v.UTC().Truncate(24 * time.Hour)
				case int64:
					start = time.UnixMicro(v).UTC().Truncate(24 * time.Hour)
				}
			}
		}
		rows.Close()
		fmt.Fprintf(stderr, "reusing %d events of project %q in %s\n", n, benchProject, dir)
	}
	res.Events = n

	from := start.Format("2006-01-02")
	to := time.Now().UTC().Format("2006-01-02")
	last7 := time.Now().UTC().AddDate(0, 0, -6).Format("2006-01-02")
	benches := queryBenches(
		fmt.Sprintf(`"date_from": %q, "date_to": %q, "timezone": "UTC"`, from, to),
		fmt.Sprintf(`"date_from": %q, "date_to": %q, "timezone": "UTC"`, last7, to))
	eng := query.New(query.Options{CacheEntries: -1, Timeout: 10 * time.Minute})
	for _, b := range benches {
		if keep != nil && !keep[b.name] {
			continue
		}
		q, err := query.Parse([]byte(b.q))
		if err != nil {
			return fmt.Errorf("bench query %s: %w", b.name, err)
		}
		req := query.Request{ProjectID: p.ID, DB: app.Store(), Query: q, NoCache: true}
		var lat []time.Duration
		for i := 0; i <= *runs; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			t0 := time.Now()
			if _, err := eng.Run(ctx, req); err != nil {
				return fmt.Errorf("bench query %s: %w", b.name, err)
			}
			if i > 0 { // the first run warms caches
				lat = append(lat, time.Since(t0))
			}
		}
		slices.Sort(lat)
		k := QueryBenchKind{Name: b.name, P50Ms: ms(quantile(lat, 0.5)), P95Ms: ms(quantile(lat, 0.95)), MaxMs: ms(lat[len(lat)-1]), TargetMs: b.target, Query: b.q}
		res.Kinds = append(res.Kinds, k)
		fmt.Fprintf(stderr, "%-24s p50 %7.1f ms  p95 %7.1f ms\n", k.Name, k.P50Ms, k.P95Ms)
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%d events over %d days, %d CPUs (GOMAXPROCS %d), %s; %d runs per query, cache off\n",
		res.Events, res.Days, res.CPUs, res.GOMAXPROCS, res.Date, res.Runs)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "query\tp50 ms\tp95 ms\ttarget ms\t")
	for _, k := range res.Kinds {
		target := "-"
		if k.TargetMs > 0 {
			verdict := "ok"
			if k.P95Ms > k.TargetMs {
				verdict = "MISSED"
			}
			target = fmt.Sprintf("%.0f %s", k.TargetMs, verdict)
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%s\t\n", k.Name, k.P50Ms, k.P95Ms, target)
	}
	return tw.Flush()
}
