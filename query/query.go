// Package query is Sightline's analytics engine: the query model (trends,
// funnels, retention, paths, sessions, heatmaps, frustration, segment size),
// its validation, its compilation to SQL through a Dialect, and execution
// against an event store that the caller hands in per query, the way
// Prometheus hands a Queryable to its engine.
//
// The package is pure: no HTTP, no concrete store. The API parses a body
// with Parse, loads nothing itself, and calls Engine.Run with the project's
// store.Querier and a Definitions source (saved actions and segments).
//
// # Semantics shared by every kind
//
//   - Persons: an event belongs to the person its distinct id resolves to
//     when the query runs, so an identify applies to the anonymous history
//     before it, in every kind.
//   - Time: date ranges and intervals are in the query's time zone (default:
//     the project's); a bare date_to is inclusive (the whole day).
//   - Event order: events are ordered by timestamp, ties broken by UUID (the
//     SDK's UUIDv7 orders events created in the same millisecond).
//   - Every user-supplied value is a bound parameter; property names are
//     validated (checkPropName) and only ever appear inside a JSON path
//     literal.
package query

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Querier runs SQL on an event store (store.Querier satisfies it).
type Querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	Dialect() string
}

// Definitions loads a project's saved actions and segments. It returns an
// error wrapping ErrNotFound for an unknown id.
type Definitions interface {
	Action(ctx context.Context, projectID, id int64) (Action, error)
	Segment(ctx context.Context, projectID, id int64) (Segment, error)
}

// ErrNotFound is what Definitions return for unknown ids.
var ErrNotFound = errors.New("not found")

// ErrTimeout is returned (wrapped) when a query runs longer than
// Options.Timeout.
var ErrTimeout = errors.New("query timed out")

// Options configure an Engine. Zero values take the defaults.
type Options struct {
	// Timeout bounds one query (default 30 s).
	Timeout time.Duration
	// InternalFilters define internal and test traffic, excluded by queries
	// with exclude_internal. Default: DefaultInternalFilters.
	InternalFilters []Filter
	// CacheEntries is the size of the result cache (default 512; negative
	// disables it). Results are keyed by the compiled SQL, its arguments and
	// the project's data watermark, so new events invalidate them.
	CacheEntries int
	// Now is the clock (default time.Now); relative dates resolve with it.
	Now func() time.Time
}

// DefaultInternalFilters exclude traffic from local development hosts and
// events or persons flagged "$internal": true.
func DefaultInternalFilters() []Filter {
	return []Filter{
		{Prop: "host", Op: OpNeq, Value: []any{"localhost", "127.0.0.1", "[::1]", "0.0.0.0"}},
		{Prop: "$internal", Op: OpNeq, Value: true},
		{Type: "person", Prop: "$internal", Op: OpNeq, Value: true},
	}
}

// Engine compiles and runs queries. It is safe for concurrent use.
type Engine struct {
	opts  Options
	cache *resultCache
}

// New returns an engine.
func New(opts Options) *Engine {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.InternalFilters == nil {
		opts.InternalFilters = DefaultInternalFilters()
	}
	for i := range opts.InternalFilters {
		opts.InternalFilters[i].Value = normalizeValue(opts.InternalFilters[i].Value)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CacheEntries == 0 {
		opts.CacheEntries = 512
	}
	e := &Engine{opts: opts}
	if opts.CacheEntries > 0 {
		e.cache = newResultCache(opts.CacheEntries)
	}
	return e
}

// Request is one query for one project.
type Request struct {
	ProjectID int64
	// Timezone is the default zone for queries that name none (the
	// project's setting).
	Timezone string
	DB       Querier
	Defs     Definitions
	Query    Query
	// NoCache skips the result cache (read and write).
	NoCache bool
}

// Result is a query's answer; its concrete type depends on the kind
// (*TrendsResult, *FunnelResult, …). Results may be shared through the
// cache: treat them as read-only.
type Result any

// Statement is one compiled SQL statement.
type Statement struct {
	SQL  string
	Args []any
}

// compiled is a query ready to run: its statements, and how to read their
// rows into a result.
type compiled struct {
	stmts []Statement
	// read consumes the rows of statement i.
	read func(i int, rows *sql.Rows) error
	done func() (Result, error)
}

// Compile returns the SQL a request would run, without running it.
func (e *Engine) Compile(ctx context.Context, r Request) ([]Statement, error) {
	cp, err := e.compile(ctx, r)
	if err != nil {
		return nil, err
	}
	return cp.stmts, nil
}

func (e *Engine) compile(ctx context.Context, r Request) (*compiled, error) {
	if r.Query == nil {
		return nil, &Error{Msg: "no query"}
	}
	if err := Validate(r.Query); err != nil {
		return nil, err
	}
	name := "duckdb"
	if r.DB != nil {
		name = r.DB.Dialect()
	}
	d, err := DialectFor(name)
	if err != nil {
		return nil, err
	}
	defs, err := loadDefs(ctx, r.Defs, r.ProjectID, r.Query)
	if err != nil {
		return nil, err
	}
	sp, err := resolveSpan(r.Query.base(), r.Timezone, e.opts.Now())
	if err != nil {
		return nil, err
	}
	c := &compiler{d: d, b: newSQLB(d), proj: r.ProjectID, sp: sp, defs: defs, opts: &e.opts}
	var cp *compiled
	switch q := r.Query.(type) {
	case *Trends:
		cp, err = c.trends(q)
	case *Funnel:
		cp, err = c.funnel(q)
	case *FunnelActors:
		cp, err = c.funnelActors(q)
	case *Retention:
		cp, err = c.retention(q)
	case *Paths:
		cp, err = c.paths(q)
	case *Sessions:
		cp, err = c.sessions(q)
	case *Heatmap:
		cp, err = c.heatmap(q)
	case *Frustration:
		cp, err = c.frustration(q)
	case *SegmentSize:
		cp, err = c.segmentSize(q)
	case *LiveEvents:
		cp, err = c.liveEvents(q)
	case *SessionEvents:
		cp, err = c.sessionEvents(q)
	default:
		return nil, &Error{Field: "kind", Msg: "unknown kind"}
	}
	if err != nil {
		return nil, err
	}
	for i := range cp.stmts {
		cp.stmts[i].SQL = d.finish(cp.stmts[i].SQL)
	}
	return cp, nil
}

// Run compiles and runs a query. Errors are *Error for queries that cannot
// run as written (the API answers 400), wrap ErrTimeout when the query ran
// out of time, and are internal otherwise.
func (e *Engine) Run(ctx context.Context, r Request) (Result, error) {
	if r.DB == nil {
		return nil, errors.New("query: no store")
	}
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	cp, err := e.compile(ctx, r)
	if err != nil {
		return nil, err
	}
	var key string
	useCache := e.cache != nil && !r.NoCache
	if useCache {
		wm, err := e.watermark(ctx, r)
		if err != nil {
			return nil, e.runErr(ctx, err)
		}
		key = cacheKey(r.DB.Dialect(), r.ProjectID, wm, cp.stmts)
		if res, ok := e.cache.get(key); ok {
			return res, nil
		}
	}
	for i, st := range cp.stmts {
		rows, err := r.DB.Query(ctx, st.SQL, st.Args...)
		if err != nil {
			return nil, e.runErr(ctx, err)
		}
		err = cp.read(i, rows)
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return nil, e.runErr(ctx, err)
		}
	}
	res, err := cp.done()
	if err != nil {
		return nil, err
	}
	if useCache {
		e.cache.put(key, res)
	}
	return res, nil
}

func (e *Engine) runErr(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("query: %w after %s: narrow the date range or add filters", ErrTimeout, e.opts.Timeout)
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return fmt.Errorf("query: %w", err)
}

// watermark identifies the state of a project's data: the count of its
// events and the latest receive time. Appends (which are the only way
// events, identities and person properties change) move it.
func (e *Engine) watermark(ctx context.Context, r Request) (string, error) {
	rows, err := r.DB.Query(ctx, "SELECT count(*), max(received_at) FROM events WHERE project_id = $1", r.ProjectID)
	if err != nil {
		return "", fmt.Errorf("watermark: %w", err)
	}
	defer rows.Close()
	var n int64
	var last TimeColumn
	if rows.Next() {
		if err := rows.Scan(&n, &last); err != nil {
			return "", fmt.Errorf("watermark: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("watermark: %w", err)
	}
	return fmt.Sprintf("%d/%d", n, last.T.UnixNano()), nil
}

// TimeColumn reads a timestamp column: a time.Time, or Unix microseconds
// from stores that keep timestamps as integers (ClickHouse); NULL is the
// zero time. T is in UTC.
type TimeColumn struct{ T time.Time }

// Scan implements sql.Scanner.
func (s *TimeColumn) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		s.T = time.Time{}
	case time.Time:
		s.T = x.UTC()
	case int64:
		s.T = time.UnixMicro(x).UTC()
	default:
		return fmt.Errorf("cannot read %T as a timestamp", v)
	}
	return nil
}
