package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store"
)

// Sink receives decoded events with the spool checkpoint after them. A
// store.Writer is a Sink: it commits the events and the checkpoint
// atomically and is idempotent by event UUID, which is what makes replay
// safe.
//
// Append must not keep events, or any slice in them, after it returns: the
// writer reuses their buffers for the next batch. It may be called with no
// events when every payload of a batch was undecodable; it must still record
// cp, so that the bad payloads are not read again and their segments can be
// released.
type Sink interface {
	Append(ctx context.Context, events []event.Event, cp store.Checkpoint) error
	Checkpoint(ctx context.Context, spool string) (store.Checkpoint, error)
}

var _ Sink = store.Writer(nil)

// DecodeFunc decodes one spooled payload (the event codec's
// event.DecodeBatch). The writer passes a dst of length 0 whose spare
// capacity, and the buffers held by the elements in it, the decoder may
// reuse; events in it have already been consumed by the sink. Decoders that
// append to dst work as well. Decoded events may alias payload.
type DecodeFunc func(payload []byte, dst []event.Event) ([]event.Event, error)

// minSpare is the room for decoded events the writer keeps at the end of a
// batch's slice (a request holds a few hundred events at most, usually).
const minSpare = 1024

// ErrWriterStopped is returned by Flush and Drain once the writer's Run has
// returned.
var ErrWriterStopped = errors.New("spool: writer stopped")

// WriterOptions configures a Writer. Zero values take the defaults.
type WriterOptions struct {
	// MaxEvents is the number of events that triggers a store append
	// (default 50,000). A payload is never split, so an append can exceed
	// it by one payload's events.
	MaxEvents int
	// MaxDelay bounds how long the writer waits for more events, once it
	// has read everything the spool holds, before it appends a smaller
	// batch (default 500 ms). A backlog is appended in batches of
	// MaxEvents, however long reading them takes.
	MaxDelay time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries of a failed
	// store append (defaults 100 ms and 10 s).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// Writer moves spooled batches into a Sink in large appends and releases
// what the sink has confirmed. It never drops data: a failed append is
// retried with capped exponential backoff until it succeeds or Run's
// context ends, and whatever is unconfirmed then is replayed on the next
// start. Only payloads that cannot be decoded are skipped (logged and
// counted).
type Writer struct {
	sp     *Spool
	sink   Sink
	decode DecodeFunc
	opts   WriterOptions
	log    *slog.Logger

	started  atomic.Bool
	draining atomic.Bool
	wake     chan struct{} // capacity 1
	done     chan struct{}

	mu        sync.Mutex
	waiters   []chan error // Flush calls not yet served
	cancel    context.CancelFunc
	exited    bool
	runErr    error
	confirmed store.Checkpoint

	events       atomic.Uint64
	batches      atomic.Uint64
	appendErrors atomic.Uint64
	decodeErrors atomic.Uint64
	lastLatency  atomic.Int64
	lastEvents   atomic.Int64
}

// NewWriter returns a writer from sp to sink; start it with Run.
func NewWriter(sp *Spool, sink Sink, decode DecodeFunc, opts WriterOptions) *Writer {
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = 50_000
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 500 * time.Millisecond
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 100 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 10 * time.Second
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Writer{
		sp:     sp,
		sink:   sink,
		decode: decode,
		opts:   opts,
		log:    opts.Logger.With("component", "spool-writer"),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
}

// Run reads the spool from the sink's checkpoint and appends to the sink
// until ctx ends (returning ctx's error) or a Drain completes (returning
// nil). It may be called once.
func (w *Writer) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("spool: writer: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	w.mu.Lock()
	w.cancel = cancel
	w.mu.Unlock()
	err := w.run(ctx)
	cancel()
	w.mu.Lock()
	w.exited, w.runErr = true, err
	waiters := w.waiters
	w.waiters = nil
	w.mu.Unlock()
	for _, ch := range waiters {
		ch <- fmt.Errorf("%w: %w", ErrWriterStopped, errOrNil(err))
	}
	close(w.done)
	return err
}

func errOrNil(err error) error {
	if err == nil {
		return errors.New("drained")
	}
	return err
}

// Flush returns once every record committed to the spool before the call is
// in the sink (or ctx ends). It does not wait for MaxDelay.
func (w *Writer) Flush(ctx context.Context) error {
	ch := make(chan error, 1)
	w.mu.Lock()
	if w.exited {
		err := w.runErr
		w.mu.Unlock()
		return fmt.Errorf("%w: %w", ErrWriterStopped, errOrNil(err))
	}
	w.waiters = append(w.waiters, ch)
	w.mu.Unlock()
	w.signal()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Drain appends everything committed to the spool to the sink and then
// stops Run, for graceful shutdown: stop the appenders (the HTTP server)
// first. If ctx ends first, Run is stopped anyway and the rest stays in
// the spool, to be replayed on the next start.
func (w *Writer) Drain(ctx context.Context) error {
	w.draining.Store(true)
	w.signal()
	select {
	case <-w.done:
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.runErr
	case <-ctx.Done():
		w.mu.Lock()
		cancel := w.cancel
		w.mu.Unlock()
		if cancel != nil {
			cancel()
			<-w.done
		}
		bytes, _ := w.sp.Lag(w.Checkpoint())
		return fmt.Errorf("spool: drain stopped with %d bytes not yet in the store (kept for the next start): %w", bytes, ctx.Err())
	}
}

func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Checkpoint is the last checkpoint the sink confirmed.
func (w *Writer) Checkpoint() store.Checkpoint {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.confirmed
}

func (w *Writer) run(ctx context.Context) error {
	id := w.sp.ID()
	var cp store.Checkpoint
	err := w.retry(ctx, "read the store checkpoint", func() error {
		var err error
		cp, err = w.sink.Checkpoint(ctx, id)
		return err
	})
	if err != nil {
		return err
	}
	if cp.Spool != "" && cp.Spool != id {
		return fmt.Errorf("spool: writer: store returned a checkpoint of spool %q for spool %q", cp.Spool, id)
	}
	cp.Spool = id
	w.setConfirmed(cp)
	// Data the store confirmed before a restart no longer counts as full.
	if err := w.sp.Release(cp); err != nil {
		w.log.Error("spool writer: release", "err", err)
	}
	w.log.Info("spool writer: starting", "segment", cp.Segment, "offset", cp.Offset)

	r := w.sp.NewReader(cp)
	defer r.Close()
	var (
		events  []event.Event
		records int // records read since the last append
		end     store.Checkpoint
		waiters []chan error
	)
	timer := time.NewTimer(time.Hour)
	timer.Stop()

	flush := func() error {
		if records == 0 {
			return nil
		}
		if err := w.appendBatch(ctx, events, end); err != nil {
			return err
		}
		// The events are kept (not cleared) so that the decoder can reuse
		// their buffers for the next batch.
		events, records = events[:0], 0
		timer.Stop()
		return nil
	}

	for {
		// Flush requests made before this poll are served once the reader
		// catches up after it.
		w.mu.Lock()
		waiters = append(waiters, w.waiters...)
		clear(w.waiters)
		w.waiters = w.waiters[:0]
		w.mu.Unlock()
		draining := w.draining.Load()
		changed, stopped := w.sp.watch()

		payload, cpAfter, err := r.poll()
		switch {
		case err == nil:
			// Decoding into the spare tail keeps the batch's events intact
			// whether the decoder fills dst[:0] or appends to it. The slice
			// grows fourfold (append's growth of large slices, a quarter,
			// copied a batch some twenty times on its way to full size, a
			// tenth of the CPU of a million-event ingest), but never past a
			// full batch and its spare: three batches' worth of unused
			// events held hundreds of megabytes.
			if cap(events)-len(events) < minSpare {
				n := max(len(events)+minSpare, min(4*cap(events), w.opts.MaxEvents+minSpare))
				events = append(make([]event.Event, 0, n), events...)
			}
			dec, derr := w.decode(payload, events[len(events):])
			switch {
			case derr != nil:
				w.decodeErrors.Add(1)
				w.log.Error("spool writer: skipping a payload that cannot be decoded",
					"segment", cpAfter.Segment, "end_offset", cpAfter.Offset, "bytes", len(payload), "err", derr)
			case len(dec) <= cap(events)-len(events) && len(dec) > 0 && &events[:len(events)+1][len(events)] == &dec[0]:
				events = events[:len(events)+len(dec)] // decoded in place
			default:
				events = append(events, dec...)
			}
			records++
			end = cpAfter
			if records == 1 { // the batch's first record
				timer.Reset(w.opts.MaxDelay)
			}
			// A backlog is appended in full batches: the timer only ends a
			// batch once the writer has caught up with the spool.
			if len(events) >= w.opts.MaxEvents {
				if err := flush(); err != nil {
					return err
				}
			}
			continue
		case !errors.Is(err, errNoData):
			return fmt.Errorf("spool writer: %w", err)
		}

		// Caught up with the spool.
		if len(waiters) > 0 || draining || stopped {
			if err := flush(); err != nil {
				return err
			}
			for _, ch := range waiters {
				ch <- nil
			}
			clear(waiters)
			waiters = waiters[:0]
		}
		if draining {
			w.log.Info("spool writer: drained", "checkpoint_segment", end.Segment, "checkpoint_offset", end.Offset)
			return nil
		}
		if stopped {
			return fmt.Errorf("spool writer: %w", ErrClosed)
		}
		select {
		case <-changed:
		case <-w.wake:
		case <-timer.C:
			if err := flush(); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// appendBatch appends one batch, retrying until the sink takes it, then
// releases the spool up to cp.
func (w *Writer) appendBatch(ctx context.Context, events []event.Event, cp store.Checkpoint) error {
	start := time.Now()
	err := w.retry(ctx, "store append", func() error {
		return w.sink.Append(ctx, events, cp)
	})
	if err != nil {
		return err
	}
	w.lastLatency.Store(int64(time.Since(start)))
	w.lastEvents.Store(int64(len(events)))
	w.events.Add(uint64(len(events)))
	w.batches.Add(1)
	w.setConfirmed(cp)
	if err := w.sp.Release(cp); err != nil {
		// The data is in the store; the files are retried at the next
		// release.
		w.log.Error("spool writer: release", "err", err)
	}
	return nil
}

func (w *Writer) setConfirmed(cp store.Checkpoint) {
	w.mu.Lock()
	w.confirmed = cp
	w.mu.Unlock()
}

// retry calls f until it succeeds or ctx ends, backing off exponentially
// between MinBackoff and MaxBackoff.
func (w *Writer) retry(ctx context.Context, what string, f func() error) error {
	backoff := w.opts.MinBackoff
	for attempt := 1; ; attempt++ {
		err := f()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.appendErrors.Add(1)
		w.log.Warn("spool writer: "+what+" failed; will retry", "attempt", attempt, "backoff", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
		backoff = min(backoff*2, w.opts.MaxBackoff)
	}
}

// WriterStats is a snapshot of the writer's progress, for /metrics.
type WriterStats struct {
	EventsWritten     uint64        // events the sink confirmed
	Batches           uint64        // successful sink appends
	AppendErrors      uint64        // failed sink calls (each retried)
	DecodeErrors      uint64        // payloads skipped as undecodable
	LastAppendLatency time.Duration // of the latest successful append, retries included
	LastAppendEvents  int
	Checkpoint        store.Checkpoint // last one the sink confirmed
	// LagBytes is the committed spool data not yet in the sink; LagAge is
	// the age of its oldest record (0 when caught up).
	LagBytes int64
	LagAge   time.Duration
}

// Stats returns a snapshot of the writer's counters and lag.
func (w *Writer) Stats() WriterStats {
	cp := w.Checkpoint()
	bytes, age := w.sp.Lag(cp)
	return WriterStats{
		EventsWritten:     w.events.Load(),
		Batches:           w.batches.Load(),
		AppendErrors:      w.appendErrors.Load(),
		DecodeErrors:      w.decodeErrors.Load(),
		LastAppendLatency: time.Duration(w.lastLatency.Load()),
		LastAppendEvents:  int(w.lastEvents.Load()),
		Checkpoint:        cp,
		LagBytes:          bytes,
		LagAge:            age,
	}
}
