package query_test

import (
	"context"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/synth"
)

// appendSynth normalizes cfg's synthetic traffic for project 1, received the
// day after its last day, and appends each batch to every store in turn. It
// returns a copy of the last batch.
func appendSynth(t *testing.T, cfg synth.Config, stores ...store.Store) []event.Event {
	t.Helper()
	ctx := context.Background()
	b := event.Batch{ProjectID: 1, ReceivedAt: cfg.Start.Add(time.Duration(cfg.Days+1) * 24 * time.Hour)}
	var buf []event.Event
	_, err := synth.Generate(cfg, func(raw []event.Raw) error {
		buf = buf[:0]
		for i := range raw {
			buf = append(buf, event.Event{})
			if err := event.Normalize(&raw[i], &b, &buf[len(buf)-1]); err != nil {
				buf = buf[:len(buf)-1]
			}
		}
		for _, st := range stores {
			if err := st.Append(ctx, buf, store.Checkpoint{Spool: "synth"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return append([]event.Event(nil), buf...)
}
