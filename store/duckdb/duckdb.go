// Package duckdb is Sightline's default event store: an embedded DuckDB
// database in one file (or in memory for tests) implementing store.Store.
//
// # Schema
//
// Events live in one wide table, events, with a typed column for every field
// of event.Event and the remaining properties as JSON (see schema.go for the
// exact columns). Timestamps are TIMESTAMPTZ and every connection runs with
// TimeZone = 'UTC', so that:
//
//   - a Go time.Time bound as a parameter (the driver binds it as
//     TIMESTAMPTZ) compares with the column without a cast, which keeps
//     filter pushdown and the row-group zone maps usable;
//   - date_trunc and friends without an explicit zone work in UTC;
//   - local time in a report zone is timezone('Europe/Paris', "timestamp"),
//     a plain TIMESTAMP holding the wall clock in that zone.
//
// Rows land in arrival order, which is close to time order, so each row
// group (122,880 rows) covers a narrow time range and its min/max zone map
// lets a date-range filter skip most of the table. (Sorting each batch would
// not narrow a row group's range: a batch is smaller than a row group, and
// late events from offline clients widen it either way.) No index is kept
// on events: deduplication is a semi-join bounded by the batch's time ranges
// (see Append), so appends stay cheap and memory stays flat as the table
// grows. Person-level queries (funnels, retention) should filter on
// "timestamp" first so that the same pruning applies before any ASOF join.
//
// # Persons
//
// A distinct id that was never identified is its own person: person_id =
// distinct_id, with no row anywhere. $identify adds rows to
// person_distinct_ids; persons holds properties ($set / $set_once) and the
// identified flag. The query engine resolves the person of every event with
// the view events_with_person (or the same join written inline):
//
//	SELECT e.*, coalesce(pd.person_id, e.distinct_id) AS person_id
//	FROM events e
//	LEFT JOIN person_distinct_ids pd
//	       ON pd.project_id = e.project_id AND pd.distinct_id = e.distinct_id
//
// Because resolution happens when a query runs, an identify applies to the
// anonymous history recorded before it. Person properties are a LEFT JOIN of
// persons on (project_id, person_id); a person without a row has none.
//
// # Concurrency
//
// One goroutine appends (Append is serialized internally anyway); any number
// of goroutines query. DuckDB's MVCC gives every query a consistent snapshot
// that includes only committed batches. Person and replay tables are small
// and keyed (PRIMARY KEY indexes); events is append-only.
package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/sightline-analytics/sightline/store"
)

var _ store.Store = (*Store)(nil)

// Options tune the embedded database. The zero value gives defaults that
// suit a 2-core machine that also runs capture and the API.
type Options struct {
	// MemoryLimit caps DuckDB's buffer pool ("2GB" by default). Larger
	// queries spill to TempDirectory instead of failing.
	MemoryLimit string
	// Threads used by DuckDB for one query (default: runtime.NumCPU()).
	Threads int
	// TempDirectory is where DuckDB spills; default "<path>.tmp" for an
	// on-disk store, none for an in-memory one.
	TempDirectory string
	// CheckpointThreshold is the WAL size that triggers an automatic
	// checkpoint (default "256MB"; DuckDB's own, 16MB, made checkpoints cost
	// more than the appends themselves). Each checkpoint compresses the new
	// rows and rewrites the partly filled last row group, so fewer
	// checkpoints cost less; the price is a longer WAL replay after a crash
	// and more uncompressed rows held in memory.
	CheckpointThreshold string
	// DedupSlack widens the time range searched for already stored UUIDs
	// (default 1 minute). A spool replay repeats an event exactly, but a
	// client retry is normalized again and its skew-corrected timestamp can
	// move by the difference in network delay; the slack must cover that.
	// Every stored event within the slack of a batch is scanned when the
	// batch is appended, so a wider slack costs ingest throughput.
	DedupSlack time.Duration
	// Logger receives warnings about events that cannot be stored
	// (default slog.Default()).
	Logger *slog.Logger
}

func (o Options) withDefaults(path string) Options {
	if o.MemoryLimit == "" {
		o.MemoryLimit = "2GB"
	}
	if o.Threads <= 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.TempDirectory == "" && path != "" {
		o.TempDirectory = path + ".tmp"
	}
	if o.CheckpointThreshold == "" {
		o.CheckpointThreshold = "256MB"
	}
	if o.DedupSlack <= 0 {
		o.DedupSlack = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Store is the DuckDB event store. It is safe for concurrent use.
type Store struct {
	db     *sql.DB
	opts   Options
	path   string
	log    *slog.Logger
	writer *writer

	// replayMu serializes replay upserts: two concurrent upserts of the same
	// session window would otherwise fail with a transaction conflict.
	replayMu sync.Mutex

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the store at path, or an in-memory store
// when path is "", and brings its schema up to date.
func Open(path string, opts Options) (*Store, error) {
	opts = opts.withDefaults(path)
	q := url.Values{}
	q.Set("memory_limit", opts.MemoryLimit)
	q.Set("threads", strconv.Itoa(opts.Threads))
	q.Set("checkpoint_threshold", opts.CheckpointThreshold)
	// No vacuum merges at checkpoints. A batch of at least a row group
	// (122,880 rows) is written compressed at commit, and its last row group
	// is partly filled. A checkpoint's vacuum merges such row groups with
	// their full neighbours, decompressing and compressing again every row
	// of the backlog: after eight 131,072-event batches it took 7 s of wall
	// time and 14 CPU-s for 1 M events and left the file at 180 MB instead
	// of 97 MB. Without it a backlog leaves one partly filled row group per
	// batch (about 6 % of its rows), which costs scans next to nothing.
	// Row groups whose rows are all deleted are still dropped.
	q.Set("max_vacuum_tasks", "0")
	if opts.TempDirectory != "" {
		q.Set("temp_directory", opts.TempDirectory)
	}
	dsn := path + "?" + q.Encode()

	// TimeZone is a per-connection setting (and the ICU extension that
	// implements it loads after the DSN's options are applied).
	connector, err := duckdb.NewConnector(dsn, func(ex driver.ExecerContext) error {
		_, err := ex.ExecContext(context.Background(), "SET TimeZone = 'UTC'", nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("duckdb: open %q: %w", path, err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxIdleConns(4)

	s := &Store{db: db, opts: opts, path: path, log: opts.Logger}
	ctx := context.Background()
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	if err := registerFunctions(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	w, err := newWriter(ctx, db, opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.writer = w
	return s, nil
}

// Dialect implements store.Querier.
func (s *Store) Dialect() string { return "duckdb" }

// Query implements store.Querier. The rows come from a pooled connection, so
// queries run concurrently with each other and with Append.
func (s *Store) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("duckdb: query: %w", err)
	}
	return rows, nil
}

// Count implements store.Store.
func (s *Store) Count(ctx context.Context, projectID int64) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE project_id = ?", projectID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("duckdb: count events of project %d: %w", projectID, err)
	}
	return n, nil
}

// Checkpoint implements store.Writer.
func (s *Store) Checkpoint(ctx context.Context, spool string) (store.Checkpoint, error) {
	cp := store.Checkpoint{Spool: spool}
	var seg int64
	err := s.db.QueryRowContext(ctx,
		`SELECT segment, "offset" FROM spool_checkpoints WHERE spool = ?`, spool).Scan(&seg, &cp.Offset)
	if errors.Is(err, sql.ErrNoRows) {
		return cp, nil
	}
	if err != nil {
		return cp, fmt.Errorf("duckdb: read checkpoint of spool %q: %w", spool, err)
	}
	cp.Segment = uint64(seg)
	return cp, nil
}

// Close checkpoints the WAL into the database file and closes the store.
// It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if err := s.writer.close(); err != nil {
			errs = append(errs, err)
		}
		if s.path != "" {
			if _, err := s.db.Exec("CHECKPOINT"); err != nil {
				errs = append(errs, fmt.Errorf("duckdb: checkpoint on close: %w", err))
			}
		}
		if err := s.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("duckdb: close: %w", err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// quoteLiteral quotes a string generated by this package (never user input)
// as a SQL literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
