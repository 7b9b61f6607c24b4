// Package store declares what Sightline needs from an event store. Concrete
// stores live in subpackages: store/duckdb (embedded, the default) and
// store/clickhouse (scale-out). Capture, spool and query code depend only on
// these interfaces, so a backend can be swapped without touching them.
package store

import (
	"context"
	"database/sql"

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

// Store is a complete event store.
type Store interface {
	Writer
	Querier
	// Count returns the number of stored events of a project (for health
	// checks, onboarding and tests).
	Count(ctx context.Context, projectID int64) (int64, error)
	Close() error
}
