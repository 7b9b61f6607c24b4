package query_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/query"
	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/store/duckdb"
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

// replayedDuckDB is an in-memory DuckDB store holding 40,000 events of
// synthetic traffic over 14 days from start, whose last batch was appended
// twice: a replay must add nothing, to the events nor to the rollups. It
// returns the store, closed when the test ends, and that batch.
func replayedDuckDB(t *testing.T, seed int64, start time.Time) (*duckdb.Store, []event.Event) {
	t.Helper()
	duck, err := duckdb.Open("", duckdb.Options{Threads: 2, MemoryLimit: "1GB"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { duck.Close() })
	last := appendSynth(t, synth.Config{Seed: seed, Start: start, Days: 14, Events: 40_000, BatchSize: 4000}, duck)
	if err := duck.Append(context.Background(), last, store.Checkpoint{Spool: "synth"}); err != nil {
		t.Fatal(err)
	}
	return duck, last
}

// compile parses text and compiles it for project 1 of db, returning the
// request and the SQL of its first statement.
func compile(t *testing.T, eng *query.Engine, db query.Querier, text string) (query.Request, string) {
	t.Helper()
	q, err := query.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	req := query.Request{ProjectID: 1, DB: db, Query: q}
	st, err := eng.Compile(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return req, st[0].SQL
}

// sameAsEvents checks that rolled, a query that reads the rollup table, and
// raw, the same query forced onto the events, read what they should and
// answer alike. It returns rolled's answer.
func sameAsEvents(t *testing.T, eng *query.Engine, db query.Querier, rolled, raw, table string) query.Result {
	t.Helper()
	ctx := context.Background()
	rolledReq, s := compile(t, eng, db, rolled)
	if !strings.Contains(s, table) {
		t.Fatalf("the query does not read %s:\n%s", table, s)
	}
	rawReq, s := compile(t, eng, db, raw)
	if strings.Contains(s, table) {
		t.Fatalf("the filtered query reads %s:\n%s", table, s)
	}
	want, err := eng.Run(ctx, rawReq)
	if err != nil {
		t.Fatal(err)
	}
	got, err := eng.Run(ctx, rolledReq)
	if err != nil {
		t.Fatal(err)
	}
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		t.Errorf("rollup and events differ\nevents: %.2000s\nrollup: %.2000s", wj, gj)
	}
	return got
}
