package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"

	"github.com/sightline-analytics/sightline"
	"github.com/sightline-analytics/sightline/synth"
)

const demoProject = "Demo shop"

// cmdDemo is serve plus a seeded demo project and the instrumented demo shop,
// so that a newcomer sees the whole product with one command.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf serverFlags
	sf.register(fs, "sightline-demo")
	days := fs.Int("days", 30, "days of seeded traffic")
	events := fs.Int("events", 300_000, "approximate number of seeded events")
	seed := fs.Int64("seed", 1, "random seed of the seeded traffic")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := sf.config(stderr)
	if err != nil {
		return err
	}
	if cfg.AdminKey == "" {
		cfg.AdminKey = "sla_" + rand.Text()
	}
	app, err := sightline.New(cfg)
	if err != nil {
		return err
	}
	defer app.Close()
	p, _, err := ensureProject(ctx, app, demoProject)
	if err != nil {
		return err
	}
	key, _, err := app.Meta().CreateAPIKey(ctx, p.ID, "demo", 0)
	if err != nil {
		return err
	}
	if err := app.Start(ctx); err != nil {
		return err
	}
	app.EnableDemo(p.Token)
	n, err := app.Store().Count(ctx, p.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		prog := newProgress(stderr, "seeding demo traffic", *events)
		st, err := app.Seed(ctx, p.ID, synth.Config{Seed: *seed, Days: *days, Events: *events, Start: seedStart(*days)}, prog.update)
		prog.done()
		if err != nil {
			return fmt.Errorf("seeding the demo: %w", err)
		}
		fmt.Fprintf(stdout, "Seeded %d events (%d sessions) in %s.\n", st.Events, st.Sessions, st.Elapsed.Round(1e6))
	}
	u := app.URL()
	fmt.Fprintf(stdout, `
Sightline demo is running.

  Dashboard   %s/
  Demo shop   %s/demo/   (instrumented: click around, then look for your session)
  Metrics     %s/metrics
  Data        %s

  Project token  %s
  API key        %s
  Admin key      %s

Query the API, for example:
  curl -s %s/api/query -H 'Authorization: Bearer %s' \
    -d '{"kind":"trends","series":[{"event":"$pageview","math":"persons"}],"interval":"day"}'

Press Ctrl-C to stop.
`, u, u, u, cfg.DataDir, p.Token, key, cfg.AdminKey, u, key)
	<-ctx.Done()
	fmt.Fprintln(stdout, "Shutting down…")
	return app.Close()
}
