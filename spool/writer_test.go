package spool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store"
)

// memSink is a small in-memory event store with the store.Writer contract:
// events and checkpoint commit together, and an event UUID is stored once.
type memSink struct {
	mu sync.Mutex
	// failFirst makes that many Append calls fail before storing anything;
	// lostAck makes the next Append store and then report an error, as a
	// store that crashed after its commit would.
	failFirst int
	lostAck   bool
	alwaysErr error

	calls   int
	stored  map[string]event.Event
	passed  map[string]int // times a UUID came in an Append that succeeded
	cp      store.Checkpoint
	cps     []store.Checkpoint
	batches []int
	maxCap  int // the largest capacity of an appended slice
}

func newMemSink() *memSink {
	return &memSink{stored: map[string]event.Event{}, passed: map[string]int{}}
}

func (m *memSink) Append(_ context.Context, events []event.Event, cp store.Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.alwaysErr != nil {
		return m.alwaysErr
	}
	if m.calls <= m.failFirst {
		return fmt.Errorf("store unavailable (call %d)", m.calls)
	}
	for _, e := range events {
		if _, ok := m.stored[e.UUID]; !ok {
			// A store copies what it keeps: the writer reuses the buffers.
			e.Properties = slices.Clone(e.Properties)
			e.Elements = slices.Clone(e.Elements)
			for i := range e.Elements {
				e.Elements[i].Classes = slices.Clone(e.Elements[i].Classes)
			}
			m.stored[e.UUID] = e
		}
		m.passed[e.UUID]++
	}
	m.cp = cp
	m.cps = append(m.cps, cp)
	m.batches = append(m.batches, len(events))
	m.maxCap = max(m.maxCap, cap(events))
	if m.lostAck {
		m.lostAck = false
		return errors.New("connection reset after commit")
	}
	return nil
}

func (m *memSink) Checkpoint(_ context.Context, spool string) (store.Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cp.Spool != "" && m.cp.Spool != spool {
		return store.Checkpoint{Spool: spool}, nil
	}
	cp := m.cp
	cp.Spool = spool
	return cp, nil
}

// checkStored verifies that every stored event kept its own properties.
func (m *memSink) checkStored(t *testing.T) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for uuid, e := range m.stored {
		if want := `{"id":"` + uuid + `"}`; string(e.Properties) != want {
			t.Fatalf("event %s stored with properties %s, want %s", uuid, e.Properties, want)
		}
	}
}

func (m *memSink) snapshot() (stored int, passed map[string]int, cps []store.Checkpoint, batches []int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := make(map[string]int, len(m.passed))
	for k, v := range m.passed {
		p[k] = v
	}
	return len(m.stored), p, append([]store.Checkpoint(nil), m.cps...), append([]int(nil), m.batches...)
}

// The test codec: a payload is a JSON array of events.
func encodeEvents(t testing.TB, evs []event.Event) []byte {
	t.Helper()
	b, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeJSON behaves like event.DecodeBatch: it fills dst[:0] and reuses
// the Properties buffers of the elements in dst's capacity, so a writer that
// let decoded events alias each other's buffers would store wrong data.
func decodeJSON(b []byte, dst []event.Event) ([]event.Event, error) {
	var evs []event.Event
	if err := json.Unmarshal(b, &evs); err != nil {
		return dst[:0], err
	}
	dst = dst[:0]
	for _, e := range evs {
		var buf json.RawMessage
		if len(dst) < cap(dst) {
			buf = dst[:len(dst)+1][len(dst)].Properties[:0]
		}
		e.Properties = append(buf, e.Properties...)
		dst = append(dst, e)
	}
	return dst, nil
}

// decodeAppend is a decoder that appends to dst instead.
func decodeAppend(b []byte, dst []event.Event) ([]event.Event, error) {
	var evs []event.Event
	if err := json.Unmarshal(b, &evs); err != nil {
		return dst, err
	}
	return append(dst, evs...), nil
}

func batchOf(g, i, n int) []event.Event {
	evs := make([]event.Event, n)
	for k := range evs {
		uuid := fmt.Sprintf("%03d-%05d-%02d", g, i, k)
		evs[k] = event.Event{ProjectID: 1, UUID: uuid, Event: "$pageview", DistinctID: "d", Properties: json.RawMessage(`{"id":"` + uuid + `"}`)}
	}
	return evs
}

func fastWriter(sp *Spool, sink Sink, opts WriterOptions) *Writer {
	opts.MinBackoff, opts.MaxBackoff = time.Millisecond, 4*time.Millisecond
	opts.Logger = quietLogger()
	return NewWriter(sp, sink, decodeJSON, opts)
}

// runWriter starts w.Run and returns a function that waits for it.
func runWriter(t *testing.T, w *Writer, ctx context.Context) func() error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	var once sync.Once
	var err error
	wait := func() error {
		once.Do(func() { err = <-errc })
		return err
	}
	t.Cleanup(func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		w.Drain(dctx)
		wait()
	})
	return wait
}

func checkIncreasing(t *testing.T, cps []store.Checkpoint) {
	t.Helper()
	for i := 1; i < len(cps); i++ {
		if !before(cps[i-1], cps[i]) {
			t.Fatalf("checkpoint %d (%v) does not follow %v", i, cps[i], cps[i-1])
		}
	}
}

func flush(t *testing.T, w *Writer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func TestWriterRetriesFailedAppendsWithoutLoss(t *testing.T) {
	sp := openSpool(t, t.TempDir(), Options{SegmentBytes: 32 << 10})
	sink := newMemSink()
	sink.failFirst = 3
	w := fastWriter(sp, sink, WriterOptions{MaxEvents: 500, MaxDelay: 5 * time.Millisecond})
	wait := runWriter(t, w, context.Background())

	const appenders, perAppender, perBatch = 10, 30, 10
	var wg sync.WaitGroup
	for g := range appenders {
		wg.Go(func() {
			for i := range perAppender {
				if err := sp.Append(context.Background(), encodeEvents(t, batchOf(g, i, perBatch))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	flush(t, w)

	stored, passed, cps, _ := sink.snapshot()
	if want := appenders * perAppender * perBatch; stored != want || len(passed) != want {
		t.Fatalf("stored %d events, want %d", stored, want)
	}
	for uuid, n := range passed {
		if n != 1 {
			t.Fatalf("event %s was appended %d times", uuid, n)
		}
	}
	checkIncreasing(t, cps)
	sink.checkStored(t)
	st := w.Stats()
	if st.AppendErrors != 3 || st.EventsWritten != appenders*perAppender*perBatch || st.Batches != uint64(len(cps)) {
		t.Fatalf("writer stats %+v", st)
	}
	if st.LagBytes != 0 || st.LagAge != 0 || st.Checkpoint != sp.End() {
		t.Fatalf("after Flush: lag %d bytes, %v; checkpoint %v, spool end %v", st.LagBytes, st.LagAge, st.Checkpoint, sp.End())
	}
	if sst := sp.Stats(); sst.UnreleasedBytes != 0 || sst.Segments > 2 {
		t.Fatalf("after Flush the spool holds %d unreleased bytes in %d segments", sst.UnreleasedBytes, sst.Segments)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Drain(ctx); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if err := wait(); err != nil {
		t.Fatalf("Run after Drain = %v, want nil", err)
	}
	if err := w.Flush(ctx); !errors.Is(err, ErrWriterStopped) {
		t.Fatalf("Flush after Drain = %v, want ErrWriterStopped", err)
	}
}

func TestWriterRestartsFromCheckpoint(t *testing.T) {
	dir := t.TempDir()
	sink := newMemSink()
	sp, err := Open(dir, Options{SegmentBytes: 16 << 10, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		appendAll(t, sp, encodeEvents(t, batchOf(0, i, 5)))
	}
	w := fastWriter(sp, sink, WriterOptions{})
	runWriter(t, w, context.Background())
	flush(t, w)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	_, _, cps1, _ := sink.snapshot()
	firstLife := cps1[len(cps1)-1]

	// More data arrives with no writer running, and the process stops.
	for i := range 40 {
		appendAll(t, sp, encodeEvents(t, batchOf(1, i, 5)))
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}

	sp2 := openSpool(t, dir, Options{SegmentBytes: 16 << 10})
	w2 := fastWriter(sp2, sink, WriterOptions{})
	runWriter(t, w2, context.Background())
	flush(t, w2)
	stored, passed, cps, _ := sink.snapshot()
	if stored != 400 {
		t.Fatalf("stored %d events after restart, want 400", stored)
	}
	sink.checkStored(t)
	for uuid, n := range passed {
		if n != 1 {
			t.Fatalf("event %s appended %d times: confirmed data was replayed", uuid, n)
		}
	}
	checkIncreasing(t, cps)
	if !before(firstLife, cps[len(cps1)]) {
		t.Fatalf("second life started at %v, first ended at %v", cps[len(cps1)], firstLife)
	}
}

// TestWriterReplaysAfterLostAcknowledgement: the store committed but the
// writer did not hear it; the retry repeats the batch, and the store's
// idempotence keeps one copy.
func TestWriterReplaysAfterLostAcknowledgement(t *testing.T) {
	sp := openSpool(t, t.TempDir(), Options{})
	sink := newMemSink()
	sink.lostAck = true
	for i := range 10 {
		appendAll(t, sp, encodeEvents(t, batchOf(0, i, 3)))
	}
	w := fastWriter(sp, sink, WriterOptions{})
	runWriter(t, w, context.Background())
	flush(t, w)
	stored, _, cps, _ := sink.snapshot()
	if stored != 30 {
		t.Fatalf("stored %d, want 30", stored)
	}
	for i := 1; i < len(cps); i++ {
		if before(cps[i], cps[i-1]) {
			t.Fatalf("checkpoint went backwards: %v after %v", cps[i], cps[i-1])
		}
	}
	if cps[len(cps)-1] != sp.End() {
		t.Fatalf("final checkpoint %v, spool end %v", cps[len(cps)-1], sp.End())
	}
}

func TestWriterSkipsUndecodablePayloads(t *testing.T) {
	sp := openSpool(t, t.TempDir(), Options{})
	sink := newMemSink()
	appendAll(t, sp, encodeEvents(t, batchOf(0, 0, 4)), []byte("not json"), encodeEvents(t, batchOf(0, 1, 4)))
	w := fastWriter(sp, sink, WriterOptions{})
	runWriter(t, w, context.Background())
	flush(t, w)
	stored, _, cps, _ := sink.snapshot()
	if stored != 8 || w.Stats().DecodeErrors != 1 {
		t.Fatalf("stored %d events with %d decode errors, want 8 and 1", stored, w.Stats().DecodeErrors)
	}
	// The checkpoint passes the bad payload like any other.
	if got := cps[len(cps)-1]; got != sp.End() {
		t.Fatalf("checkpoint %v after a bad payload, spool end %v", got, sp.End())
	}
	// A batch of nothing but bad payloads still moves the checkpoint, so
	// they are neither read again nor kept on disk.
	appendAll(t, sp, []byte("garbage"), []byte("more garbage"))
	flush(t, w)
	_, _, cps, batches := sink.snapshot()
	if got := cps[len(cps)-1]; got != sp.End() || batches[len(batches)-1] != 0 {
		t.Fatalf("after bad payloads: checkpoint %v (spool end %v), last batch %d events", got, sp.End(), batches[len(batches)-1])
	}
	if n := w.Stats().DecodeErrors; n != 3 {
		t.Fatalf("DecodeErrors = %d, want 3", n)
	}
}

// A backlog goes out in full batches, however short MaxDelay is: the delay
// only ends a batch once the writer has read everything the spool holds.
// When the delay also cut batches the writer was still reading, appends of
// up to 262,144 events came out at 57,000–191,000 during an ingest burst.
func TestWriterBatchesUpToMaxEvents(t *testing.T) {
	for _, delay := range []time.Duration{time.Hour, time.Nanosecond} {
		t.Run(delay.String(), func(t *testing.T) {
			sp := openSpool(t, t.TempDir(), Options{})
			sink := newMemSink()
			for i := range 100 {
				appendAll(t, sp, encodeEvents(t, batchOf(0, i, 10)))
			}
			w := fastWriter(sp, sink, WriterOptions{MaxEvents: 120, MaxDelay: delay})
			runWriter(t, w, context.Background())
			flush(t, w)
			stored, _, _, batches := sink.snapshot()
			if stored != 1000 {
				t.Fatalf("stored %d", stored)
			}
			// 1000 events in payloads of 10: eight appends of 120, one of 40.
			want := []int{120, 120, 120, 120, 120, 120, 120, 120, 40}
			if fmt.Sprint(batches) != fmt.Sprint(want) {
				t.Fatalf("append sizes %v, want %v", batches, want)
			}
			sink.checkStored(t)
		})
	}
}

// The writer's slice of decoded events grows fourfold at a time, but never
// past a batch and its spare room.
func TestWriterBatchSliceStaysNearMaxEvents(t *testing.T) {
	sp := openSpool(t, t.TempDir(), Options{})
	sink := newMemSink()
	const maxEvents, payload = 5000, 10
	for i := range 1200 {
		appendAll(t, sp, encodeEvents(t, batchOf(0, i, payload)))
	}
	w := fastWriter(sp, sink, WriterOptions{MaxEvents: maxEvents, MaxDelay: time.Hour})
	runWriter(t, w, context.Background())
	flush(t, w)
	if stored, _, _, _ := sink.snapshot(); stored != 12000 {
		t.Fatalf("stored %d", stored)
	}
	sink.mu.Lock()
	got := sink.maxCap
	sink.mu.Unlock()
	// Growing fourfold without that bound, it reached 11,334.
	if limit := maxEvents + minSpare + payload; got > limit {
		t.Errorf("the batch slice grew to %d events, want at most %d", got, limit)
	}
	sink.checkStored(t)
}

func TestWriterFlushesAfterMaxDelay(t *testing.T) {
	sp := openSpool(t, t.TempDir(), Options{})
	sink := newMemSink()
	w := fastWriter(sp, sink, WriterOptions{MaxEvents: 1_000_000, MaxDelay: 5 * time.Millisecond})
	runWriter(t, w, context.Background())
	appendAll(t, sp, encodeEvents(t, batchOf(0, 0, 7)))
	// No Flush: the batch must go out on its own. Bounded wait, no timing
	// assertion.
	for range 6000 {
		if stored, _, _, _ := sink.snapshot(); stored == 7 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("a small batch was never appended without Flush")
}

func TestWriterDrainTimesOutAndKeepsData(t *testing.T) {
	dir := t.TempDir()
	sp, err := Open(dir, Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		appendAll(t, sp, encodeEvents(t, batchOf(0, i, 2)))
	}
	broken := newMemSink()
	broken.alwaysErr = errors.New("disk full")
	w := fastWriter(sp, broken, WriterOptions{MaxDelay: time.Millisecond})
	wait := runWriter(t, w, context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = w.Drain(ctx)
	if err == nil || !strings.Contains(err.Error(), "not yet in the store") {
		t.Fatalf("Drain against a failing store = %v", err)
	}
	if err := wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after a timed-out Drain = %v", err)
	}
	if b, _ := sp.Lag(w.Checkpoint()); b == 0 {
		t.Fatal("unwritten data vanished from the spool")
	}
	sp.Close()

	sp2 := openSpool(t, dir, Options{})
	healthy := newMemSink()
	w2 := fastWriter(sp2, healthy, WriterOptions{})
	runWriter(t, w2, context.Background())
	dctx, dcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer dcancel()
	if err := w2.Drain(dctx); err != nil {
		t.Fatal(err)
	}
	if stored, _, _, _ := healthy.snapshot(); stored != 10 {
		t.Fatalf("after restart stored %d, want 10", stored)
	}
}

func TestWriterStopsWhenSpoolCloses(t *testing.T) {
	sp, err := Open(t.TempDir(), Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	sink := newMemSink()
	w := fastWriter(sp, sink, WriterOptions{MaxDelay: time.Hour})
	wait := runWriter(t, w, context.Background())
	appendAll(t, sp, encodeEvents(t, batchOf(0, 0, 3)))
	sp.Close()
	if err := wait(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after the spool closed = %v, want ErrClosed", err)
	}
	// What was committed before Close still reached the sink.
	if stored, _, _, _ := sink.snapshot(); stored != 3 {
		t.Fatalf("stored %d, want 3", stored)
	}
}

func TestWriterWorksWithAnAppendingDecoder(t *testing.T) {
	sp := openSpool(t, t.TempDir(), Options{})
	sink := newMemSink()
	for i := range 30 {
		appendAll(t, sp, encodeEvents(t, batchOf(0, i, 7)))
	}
	w := NewWriter(sp, sink, decodeAppend, WriterOptions{MaxEvents: 50, Logger: quietLogger()})
	runWriter(t, w, context.Background())
	flush(t, w)
	stored, passed, _, _ := sink.snapshot()
	if stored != 210 || len(passed) != 210 {
		t.Fatalf("stored %d, want 210", stored)
	}
	sink.checkStored(t)
}
