package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/sightline-analytics/sightline"
	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/synth"
)

func cmdSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	events := fs.Int("events", 100_000, "approximate number of events to generate")
	days := fs.Int("days", 30, "days of traffic, ending now")
	seed := fs.Int64("seed", 1, "random seed (the same seed gives the same traffic)")
	data := fs.String("data", env("SIGHTLINE_DATA", "sightline-data"), "data directory (the server must not be running on it)")
	project := fs.String("project", "Demo shop", "project to seed (created if missing)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *events <= 0 || *days <= 0 {
		return fmt.Errorf("--events and --days must be positive")
	}
	app, err := sightline.New(sightline.Config{DataDir: *data, Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	defer app.Close()
	p, key, err := ensureProject(ctx, app, *project)
	if err != nil {
		return err
	}
	cfg := synth.Config{Seed: *seed, Days: *days, Events: *events, Start: seedStart(*days)}
	prog := newProgress(stderr, "seeding", *events)
	st, err := app.Seed(ctx, p.ID, cfg, prog.update)
	prog.done()
	if err != nil {
		return err
	}
	res := seedResult{Project: p.Name, ProjectID: p.ID, Token: p.Token, APIKey: key, SeedStats: st,
		EventsPerSecond: float64(st.Events) / st.Elapsed.Seconds()}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "project\t%s (id %d)\n", p.Name, p.ID)
	fmt.Fprintf(tw, "token\t%s\n", p.Token)
	if key != "" {
		fmt.Fprintf(tw, "api key\t%s\n", key)
	}
	fmt.Fprintf(tw, "events\t%d\n", st.Events)
	fmt.Fprintf(tw, "rejected\t%d\n", st.Rejected)
	fmt.Fprintf(tw, "sessions\t%d\n", st.Sessions)
	fmt.Fprintf(tw, "persons\t%d\n", st.Persons)
	fmt.Fprintf(tw, "elapsed\t%s\n", st.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(tw, "events/s\t%.0f\n", res.EventsPerSecond)
	return tw.Flush()
}

type seedResult struct {
	Project   string `json:"project"`
	ProjectID int64  `json:"project_id"`
	Token     string `json:"token"`
	APIKey    string `json:"api_key,omitempty"`
	sightline.SeedStats
	EventsPerSecond float64 `json:"events_per_second"`
}

// seedStart is where seeded traffic begins: days ago, at midnight UTC, so
// that the traffic ends today.
func seedStart(days int) time.Time {
	return time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -days+1)
}

// ensureProject finds the project by name or creates it. The API key is
// returned only for a project created now (keys are stored hashed).
func ensureProject(ctx context.Context, app *sightline.App, name string) (meta.Project, string, error) {
	ps, err := app.Meta().ListProjects(ctx)
	if err != nil {
		return meta.Project{}, "", err
	}
	for _, p := range ps {
		if p.Name == name {
			return p, "", nil
		}
	}
	return app.CreateProject(ctx, name)
}

// progress prints a single updating line for long CLI work.
type progress struct {
	w     io.Writer
	what  string
	total int
	start time.Time
	last  time.Time
}

func newProgress(w io.Writer, what string, total int) *progress {
	return &progress{w: w, what: what, total: total, start: time.Now()}
}

func (p *progress) update(n int) {
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	pct := 0
	if p.total > 0 {
		pct = min(100, n*100/p.total)
	}
	fmt.Fprintf(p.w, "\r%s: %d / ~%d events (%d%%), %s", p.what, n, p.total, pct, now.Sub(p.start).Round(time.Second))
}

func (p *progress) done() {
	if !p.last.IsZero() {
		fmt.Fprintln(p.w)
	}
}
