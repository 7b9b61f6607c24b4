package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/query"
	"github.com/sightline-analytics/sightline/store"
)

func testAppendCountAndDedup(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	g := NewTraffic(1, 2)
	a := g.Batch(1, 1000, T0)
	b := g.Batch(2, 50, T0.Add(time.Hour))

	MustAppend(t, s, a)
	MustAppend(t, s, b)
	if n := Count(t, s, 1); n != 1000 {
		t.Fatalf("project 1: %d events, want 1000", n)
	}
	if n := Count(t, s, 2); n != 50 {
		t.Fatalf("project 2: %d events, want 50", n)
	}

	// The same batch again, and a batch mixing old and new events.
	MustAppend(t, s, a)
	mixed := append(slices.Clone(a[500:]), g.Batch(1, 10, T0.Add(2*time.Hour))...)
	MustAppend(t, s, mixed)
	if n := Count(t, s, 1); n != 1010 {
		t.Fatalf("after replays: %d events, want 1010", n)
	}

	// Within one batch the first occurrence wins.
	first := Event(3, "u-1", "first", "d", T0, "")
	second := Event(3, "u-1", "second", "d", T0, "")
	MustAppend(t, s, []event.Event{first, second, first, Event(3, "u-2", "other", "d", T0, "")})
	var got []string
	for _, e := range Events(t, s, 3) {
		got = append(got, e.UUID+"|"+e.Event)
	}
	if want := []string{"u-1|first", "u-2|other"}; !slices.Equal(got, want) {
		t.Fatalf("project 3 rows = %v, want %v", got, want)
	}

	// A UUID is unique per project, not globally.
	MustAppend(t, s, []event.Event{Event(4, "u-1", "first", "d", T0, "")})
	if n := Count(t, s, 4); n != 1 {
		t.Fatalf("project 4: %d events, want 1", n)
	}

	if h.Reopen != nil {
		s = h.Reopen(t, s)
		MustAppend(t, s, a)
		if n := Count(t, s, 1); n != 1010 {
			t.Fatalf("through another handle, after a replay: %d events, want 1010", n)
		}
	}
}

// A client retry is normalized again: its skew-corrected timestamp can move
// by a few seconds, within the stores' deduplication slack, also for an
// event days older than the rest of its batch.
func testDedupRetriesAndStragglers(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	live := Event(1, "live", "$pageview", "d", T0, "")
	straggler := Event(1, "old", "$pageview", "d", T0.Add(-72*time.Hour), "")
	MustAppend(t, s, []event.Event{live, straggler})

	retry := live
	retry.Timestamp = live.Timestamp.Add(3 * time.Second)
	oldRetry := straggler
	oldRetry.Timestamp = straggler.Timestamp.Add(-4 * time.Second)
	MustAppend(t, s, []event.Event{oldRetry, Event(1, "new", "$pageview", "d", T0.Add(time.Minute), ""), retry})

	var got []string
	for _, e := range Events(t, s, 1) {
		got = append(got, e.UUID+"|"+e.Timestamp.Format(time.DateTime))
	}
	want := []string{"live|2026-03-02 09:00:00", "new|2026-03-02 09:01:00", "old|2026-02-27 09:00:00"}
	if !slices.Equal(got, want) {
		t.Fatalf("rows = %v, want %v", got, want)
	}
}

// A batch that fails before its checkpoint is recorded is replayed by the
// spool writer from the old checkpoint: it lands exactly once, identity
// included. Checkpoints are per spool, move with checkpoint-only batches
// and are seen by other handles.
func testCheckpointAndFailedBatch(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	ctx := context.Background()
	if cp, err := s.Checkpoint(ctx, "node-a"); err != nil || cp != (store.Checkpoint{Spool: "node-a"}) {
		t.Fatalf("fresh checkpoint = %+v, %v; want zero with spool set", cp, err)
	}
	g := NewTraffic(5, 6)
	if err := s.Append(ctx, g.Batch(1, 100, T0), store.Checkpoint{Spool: "node-a", Segment: 3, Offset: 4096}); err != nil {
		t.Fatal(err)
	}
	failed := g.Batch(1, 100, T0.Add(time.Minute))
	failed = append(failed, Event(1, "id-1", "$identify", "user@example.com", T0.Add(time.Minute), `{"$anon_distinct_id":"anon-1","$set":{"plan":"pro"}}`))
	if h.FailNextAppend != nil {
		h.FailNextAppend(s, errors.New("simulated crash"))
		err := s.Append(ctx, failed, store.Checkpoint{Spool: "node-a", Segment: 3, Offset: 9999})
		if err == nil || !strings.Contains(err.Error(), "simulated crash") {
			t.Fatalf("append with a failing last step: err = %v", err)
		}
		if cp, _ := s.Checkpoint(ctx, "node-a"); cp.Offset != 4096 {
			t.Fatalf("checkpoint moved on a failed batch: %+v", cp)
		}
	}
	if err := s.Append(ctx, failed, store.Checkpoint{Spool: "node-a", Segment: 5, Offset: 1}); err != nil {
		t.Fatal(err)
	}
	if n := Count(t, s, 1); n != 201 {
		t.Fatalf("after replay: %d events, want 201", n)
	}
	if got := h.Persons(t, s, 1); len(got) != 1 || got[0].ID != "user@example.com" || !got[0].Identified || got[0].Properties != `{"plan":"pro"}` {
		t.Fatalf("persons after replay = %+v", got)
	}
	// A checkpoint-only batch (every record of a segment rejected) moves on.
	if err := s.Append(ctx, nil, store.Checkpoint{Spool: "node-a", Segment: 6, Offset: 12}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, g.Batch(1, 10, T0.Add(2*time.Minute)), store.Checkpoint{Spool: "node-b", Segment: 1, Offset: 7}); err != nil {
		t.Fatal(err)
	}
	want := map[string]store.Checkpoint{
		"node-a": {Spool: "node-a", Segment: 6, Offset: 12},
		"node-b": {Spool: "node-b", Segment: 1, Offset: 7},
	}
	check := func(s store.Store, when string) {
		t.Helper()
		for spool, w := range want {
			if cp, err := s.Checkpoint(ctx, spool); err != nil || cp != w {
				t.Fatalf("%s: checkpoint %s = %+v, %v; want %+v", when, spool, cp, err, w)
			}
		}
	}
	check(s, "same handle")
	if h.Reopen != nil {
		s = h.Reopen(t, s)
		check(s, "another handle")
		if n := Count(t, s, 1); n != 211 {
			t.Fatalf("another handle: %d events, want 211", n)
		}
	}
}

// Events the spool holds may be damaged in every field: the store keeps
// what it can (invalid UTF-8 and NUL replaced by U+FFFD, an invalid
// properties document as {}), substitutes the receive time for a missing
// or absurd timestamp, skips (and logs) events without a UUID or any time,
// and never fails the batch, which would stall the spool.
func testAppendBadInput(t *testing.T, h Harness) {
	var logs syncBuffer
	s := h.Open(t, slog.New(slog.NewTextHandler(&logs, nil)))
	ctx := context.Background()
	if err := s.Append(ctx, nil, store.Checkpoint{}); err != nil {
		t.Fatalf("nil batch: %v", err)
	}
	if err := s.Append(ctx, []event.Event{}, store.Checkpoint{}); err != nil {
		t.Fatalf("empty batch: %v", err)
	}

	zeroTS := Event(1, "zero-ts", "e", "d", time.Time{}, "")
	zeroTS.ReceivedAt = T0
	noTimes := Event(1, "no-times", "e", "d", time.Time{}, "")
	noTimes.ReceivedAt = time.Time{}
	farFuture := Event(1, "far-future", "e", "d", time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC), "")
	farFuture.ReceivedAt = T0
	noUUID := Event(1, "", "e", "d", T0, "")
	badUTF8 := Event(1, "bad-utf8", "e\xff", "d\xfe", T0, "")
	badUTF8.URL = "https://x.example/\xc3\x28"
	badJSON := Event(1, "bad-json", "e", "d", T0, `{"a":`)
	nilProps := Event(1, "nil-props", "e", "d", T0, "")
	nilProps.Properties = nil
	badPropsUTF8 := Event(1, "bad-props-utf8", "e", "d", T0, "{\"a\":\"\xff\"}")
	nul := Event(1, "nul", "e\x00x", "d", T0, "")
	badSet := Event(1, "bad-set", "e", "d", T0, `{"$set":"not an object","$set_once":[1,2]}`)
	local := Event(1, "local-zone", "e", "d", time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CET", 3600)), "")

	batch := []event.Event{zeroTS, noTimes, farFuture, noUUID, badUTF8, badJSON, nilProps, badPropsUTF8, nul, badSet, local}
	if err := s.Append(ctx, batch, store.Checkpoint{Spool: "x", Segment: 1, Offset: 1}); err != nil {
		t.Fatalf("bad batch: %v", err)
	}
	want := []string{
		"bad-json|e|d||{}|2026-03-02 09:00:00",
		"bad-props-utf8|e|d||{\"a\":\"\uFFFD\"}|2026-03-02 09:00:00",
		"bad-set|e|d||{\"$set\":\"not an object\",\"$set_once\":[1,2]}|2026-03-02 09:00:00",
		"bad-utf8|e\uFFFD|d\uFFFD|https://x.example/\uFFFD(|{}|2026-03-02 09:00:00",
		"far-future|e|d||{}|2026-03-02 09:00:00",
		"local-zone|e|d||{}|2026-03-02 09:00:00",
		"nil-props|e|d||{}|2026-03-02 09:00:00",
		"nul|e\uFFFDx|d||{}|2026-03-02 09:00:00",
		"zero-ts|e|d||{}|2026-03-02 09:00:00",
	}
	rows := func() []string {
		var out []string
		for _, e := range Events(t, s, 1) {
			props := string(e.Properties)
			if props == "" {
				props = "{}"
			}
			out = append(out, strings.Join([]string{e.UUID, e.Event, e.DistinctID, e.URL, props, e.Timestamp.Format(time.DateTime)}, "|"))
		}
		return out
	}
	if got := rows(); !slices.Equal(got, want) {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := h.Persons(t, s, 1); len(got) != 0 {
		t.Fatalf("a non-object $set created persons: %+v", got)
	}
	if !strings.Contains(logs.String(), "skipped=2") {
		t.Fatalf("skipped events not logged: %q", logs.String())
	}

	// The store still takes good batches, and the same bad batch is a no-op.
	if err := s.Append(ctx, batch, store.Checkpoint{}); err != nil {
		t.Fatalf("bad batch again: %v", err)
	}
	MustAppend(t, s, []event.Event{Event(1, "good", "e", "d", T0, "")})
	if n := Count(t, s, 1); n != 10 {
		t.Fatalf("%d events, want 10", n)
	}
}

// Every field the event lists show comes back as it was appended, through
// the query engine's reading of the backend's columns (times in UTC to the
// microsecond, flags, numbers, properties).
func testEventColumns(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	paris := time.FixedZone("CET", 3600)
	e := event.Event{
		ProjectID: 9, UUID: "u", Event: "$autocapture", DistinctID: "d", SessionID: "s", WindowID: "w",
		Timestamp: time.Date(2026, 3, 2, 10, 0, 0, 123456000, paris), ReceivedAt: T0.Add(time.Second),
		URL: "https://h.example/p?q=1", Host: "h.example", Path: "/p", Query: "q=1", Title: "T",
		Browser: "Chrome", OS: "Linux", DeviceType: "desktop",
		ElementsChain: `button.b:text="Buy"`, Selector: "button.b", X: 10.5, Y: -20.25,
		Rage: true, Dead: false, Error: true,
		Properties: json.RawMessage(`{"plan":"pro","n":3}`),
	}
	MustAppend(t, s, []event.Event{e})
	got := Events(t, s, 9)
	want := query.EventRow{UUID: "u", Event: "$autocapture", DistinctID: "d", PersonID: "d", SessionID: "s",
		Timestamp: time.Date(2026, 3, 2, 9, 0, 0, 123456000, time.UTC), ReceivedAt: T0.Add(time.Second),
		URL: e.URL, Path: "/p", Title: "T", Selector: "button.b", X: 10.5, Y: -20.25, Browser: "Chrome", OS: "Linux",
		DeviceType: "desktop", Rage: true, ErrorClick: true, Properties: json.RawMessage(`{"plan":"pro","n":3}`)}
	if len(got) != 1 || fmt.Sprintf("%+v", got[0]) != fmt.Sprintf("%+v", want) {
		t.Fatalf("event =\n%+v\nwant\n%+v", got, want)
	}
	if loc := got[0].Timestamp.Location(); loc != time.UTC {
		t.Fatalf("timestamp in %v, want UTC", loc)
	}
}

// Readers never see a shrinking count while batches are appended (nor a
// partial batch, when the store's appends are atomic), and the final count
// is exact. Half the readers run a heavier query: a trend that resolves
// persons and their properties.
func testConcurrentQueriesDuringAppends(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	const batches, size = 20, 500
	g := NewTraffic(7, 8)
	data := make([][]event.Event, batches)
	for i := range data {
		data[i] = g.Batch(1, size, T0.Add(time.Duration(i)*time.Minute))
	}
	trend := &query.Trends{Common: query.Common{DateFrom: "2026-03-02", DateTo: "2026-03-02", Timezone: "UTC",
		Filters: []query.Filter{{Type: "person", Prop: "plan", Op: query.OpIsNotSet}}},
		Interval: "day", Series: []query.Series{{EventRef: query.EventRef{Event: "$pageview"}}, {EventRef: query.EventRef{Event: "$autocapture"}}}}
	ctx := context.Background()
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last int64
			for i := 0; i < 10_000; i++ { // bounded; normally ends with the writer
				select {
				case <-done:
					return
				default:
				}
				var n int64
				var err error
				if r%2 == 0 {
					n, err = s.Count(ctx, 1)
				} else {
					var res query.Result
					res, err = engine.Run(ctx, query.Request{ProjectID: 1, DB: s, Query: trend, NoCache: true})
					if err == nil {
						for _, ser := range res.(*query.TrendsResult).Series {
							n += int64(ser.Total)
						}
					}
				}
				if err != nil {
					errs <- err
					return
				}
				if n < last || h.AtomicAppends && n%size != 0 {
					errs <- fmt.Errorf("reader %d saw %d events after %d: a partial or shrinking table", r, n, last)
					return
				}
				last = n
			}
		}()
	}
	for i, b := range data {
		if err := s.Append(ctx, b, store.Checkpoint{Spool: "n", Segment: 1, Offset: int64(i)}); err != nil {
			t.Fatalf("append during queries: %v", err)
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := Count(t, s, 1); n != batches*size {
		t.Fatalf("%d events, want %d", n, batches*size)
	}
}

// syncBuffer is a bytes.Buffer for a logger that other goroutines use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
