// Package store declares what Sightline needs from an event store. Concrete
// stores live in subpackages: store/duckdb (embedded, the default) and
// store/clickhouse (scale-out). Capture, spool and query code depend only on
// these interfaces, so a backend can be swapped without touching them.
package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/sightline-analytics/sightline/event"
)

// Checkpoint records how far one spool has been applied to the store. The
// writer hands it to Append together with the batch so that a store can
// commit both at once: after a crash, replay restarts exactly after the last
// batch the store confirmed.
type Checkpoint struct {
	Spool   string // spool identity (one per node)
	Segment uint64 // spool segment number
	Offset  int64  // byte offset just past the last applied record
}

// Writer appends batches of normalized events.
type Writer interface {
	// Append stores events and records cp. It is idempotent by event UUID
	// within a project: appending an event whose UUID is already stored for
	// that project is a no-op, so spool replays and client retries never
	// duplicate. Events with event name "$identify" also update the person
	// mapping (see event.IdentifyAnonID).
	Append(ctx context.Context, events []event.Event, cp Checkpoint) error
	// Checkpoint returns the last checkpoint recorded for spool, or the zero
	// Checkpoint (with Spool set) when none is.
	Checkpoint(ctx context.Context, spool string) (Checkpoint, error)
}

// Querier runs analytics SQL written in the store's dialect. Every user value
// is passed in args as a bound parameter.
type Querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	// Dialect names the SQL dialect ("duckdb", "clickhouse").
	Dialect() string
}

// ReplaySummary describes the recording of one session window, or (as an
// argument to AddReplayChunk) the contribution of one replay chunk to it.
type ReplaySummary struct {
	ProjectID  int64
	SessionID  string
	WindowID   string
	DistinctID string
	URL        string // first URL recorded
	Start      time.Time
	End        time.Time
	ActiveMs   int64 // time with user input, in milliseconds
	Clicks     int64
	Keypresses int64
	Errors     int64
	Bytes      int64 // compressed bytes stored
	Chunks     int64
}

// ReplayIndex keeps per-session replay summaries next to the events, so that
// session queries can filter on "has replay" and show replay facts without a
// second store.
type ReplayIndex interface {
	// AddReplayChunk merges a new chunk's summary into its session window's
	// row: earliest Start, latest End, counters summed; URL and DistinctID
	// are kept from the first chunk that had them. Callers call it once per
	// newly stored chunk (the blob store tells them whether it was new).
	AddReplayChunk(ctx context.Context, chunk ReplaySummary) error
	// Replays returns the summaries of a session's windows, by Start.
	Replays(ctx context.Context, projectID int64, sessionID string) ([]ReplaySummary, error)
}

// Store is a complete event store.
type Store interface {
	Writer
	Querier
	ReplayIndex
	// Count returns the number of stored events of a project (for health
	// checks, onboarding and tests).
	Count(ctx context.Context, projectID int64) (int64, error)
	Close() error
}
