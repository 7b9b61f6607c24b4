package sightline

import (
	"context"
	"fmt"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/synth"
)

// SeedStats summarizes a Seed run.
type SeedStats struct {
	Events   int           `json:"events"`
	Rejected int           `json:"rejected"`
	Sessions int           `json:"sessions"`
	Persons  int           `json:"persons"`
	Elapsed  time.Duration `json:"elapsed_ns"`
}

// seedBatch is how many events Seed hands the store per append: large
// appends are what columnar stores are fast at.
const seedBatch = 50_000

// Seed fills a project with synthetic traffic from synth. Events are
// validated and normalized exactly as captured ones are, then appended to
// the event store directly (not through the spool: seeding is a bulk load,
// and a failed seed is simply run again; event UUIDs make that idempotent).
// progress, if set, is called after each append with the events done so far.
func (a *App) Seed(ctx context.Context, projectID int64, cfg synth.Config, progress func(done int)) (SeedStats, error) {
	start := time.Now()
	var st SeedStats
	b := event.Batch{ProjectID: projectID, ReceivedAt: time.Now(), AnonymizeIP: true}
	buf := make([]event.Event, 0, seedBatch)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if err := a.events.Append(ctx, buf, store.Checkpoint{Spool: "seed"}); err != nil {
			return fmt.Errorf("seed: append: %w", err)
		}
		st.Events += len(buf)
		buf = buf[:0]
		if progress != nil {
			progress(st.Events)
		}
		return nil
	}
	gs, err := synth.Generate(cfg, func(batch []event.Raw) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.ReceivedAt = time.Now()
		for i := range batch {
			buf = append(buf, event.Event{})
			if err := event.Normalize(&batch[i], &b, &buf[len(buf)-1]); err != nil {
				buf = buf[:len(buf)-1]
				st.Rejected++
			}
		}
		if len(buf) >= seedBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	if err := flush(); err != nil {
		return st, err
	}
	st.Sessions = gs.Sessions
	st.Persons = gs.Persons
	st.Elapsed = time.Since(start)
	return st, nil
}
