package duckdb

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store"
)

// The writer hands each event to DuckDB's query appender as its typed
// non-string fields plus one string holding every string field, separated
// by NUL bytes: passing a value costs a cgo call, and 26 of them per event
// made the appender the most expensive part of an append. The INSERT splits
// the string again, in vectorized C++.

// stringColumns are the string fields, in packing order (see packStrings).
var stringColumns = []string{
	"uuid", "event", "distinct_id", "session_id", "window_id",
	"url", "host", "path", "query", "title", "referrer", "referring_domain",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"browser", "browser_version", "os", "os_version", "device_type", "ip",
	"elements_chain", "selector", "properties",
}

// appenderColumns are the query appender's columns, in fillRow order.
var appenderColumns = []struct {
	name string
	typ  duckdb.Type
}{
	{"project_id", duckdb.TYPE_BIGINT},
	{"timestamp", duckdb.TYPE_TIMESTAMP_TZ},
	{"received_at", duckdb.TYPE_TIMESTAMP_TZ},
	{"x", duckdb.TYPE_DOUBLE},
	{"y", duckdb.TYPE_DOUBLE},
	{"offset_x", duckdb.TYPE_DOUBLE},
	{"offset_y", duckdb.TYPE_DOUBLE},
	{"viewport_width", duckdb.TYPE_INTEGER},
	{"viewport_height", duckdb.TYPE_INTEGER},
	{"document_width", duckdb.TYPE_INTEGER},
	{"document_height", duckdb.TYPE_INTEGER},
	{"rage", duckdb.TYPE_BOOLEAN},
	{"dead", duckdb.TYPE_BOOLEAN},
	{"error_click", duckdb.TYPE_BOOLEAN},
	{"truncated", duckdb.TYPE_BOOLEAN},
	{"scroll_depth", duckdb.TYPE_DOUBLE},
	{"strs", duckdb.TYPE_VARCHAR},
}

// eventColumns are the columns of events, in table order.
var eventColumns = []string{
	"project_id", "uuid", "event", "distinct_id", "session_id", "window_id",
	"timestamp", "received_at",
	"url", "host", "path", "query", "title", "referrer", "referring_domain",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"browser", "browser_version", "os", "os_version", "device_type", "ip",
	"elements_chain", "selector", "x", "y", "offset_x", "offset_y",
	"viewport_width", "viewport_height", "document_width", "document_height",
	"rage", "dead", "error_click", "truncated", "properties", "scroll_depth",
}

var (
	keyNames      = []string{"project_id", "uuid"}
	keyTypes      []duckdb.TypeInfo
	appenderNames []string
	appenderTypes []duckdb.TypeInfo
	// insertSQL is the query appender's statement: it unpacks the strings.
	insertSQL string
)

func init() {
	for _, t := range []duckdb.Type{duckdb.TYPE_BIGINT, duckdb.TYPE_VARCHAR} {
		ti, err := duckdb.NewTypeInfo(t)
		if err != nil {
			panic(fmt.Sprintf("duckdb: key type: %v", err))
		}
		keyTypes = append(keyTypes, ti)
	}
	for _, c := range appenderColumns {
		ti, err := duckdb.NewTypeInfo(c.typ)
		if err != nil {
			panic(fmt.Sprintf("duckdb: type of appender column %s: %v", c.name, err))
		}
		appenderNames = append(appenderNames, c.name)
		appenderTypes = append(appenderTypes, ti)
	}
	expr := map[string]string{}
	for _, c := range appenderColumns {
		expr[c.name] = `a."` + c.name + `"`
	}
	for i, name := range stringColumns {
		expr[name] = fmt.Sprintf("a.l[%d]", i+1)
	}
	// A malformed document becomes '{}' rather than failing the batch.
	expr["properties"] = "coalesce(try_cast(" + expr["properties"] + " AS JSON), '{}')"
	var cols, sel []string
	for _, name := range eventColumns {
		e, ok := expr[name]
		if !ok {
			panic("duckdb: no value for events column " + name)
		}
		cols = append(cols, `"`+name+`"`)
		sel = append(sel, e)
	}
	insertSQL = "INSERT INTO events (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(sel, ", ") +
		" FROM (SELECT *, string_split(strs, chr(0)) AS l FROM appended_data) a"
}

const maxDedupRanges = store.MaxDedupRanges

// writer owns the one connection that appends.
type writer struct {
	mu   sync.Mutex
	conn *sql.Conn
	opts Options
	log  *slog.Logger

	// Buffers reused from batch to batch.
	sel  store.Selection
	vals []driver.Value
	strs []byte

	rollups *rollupWriter

	// beforeCommit, when set by a test, runs just before COMMIT; an error
	// from it aborts the batch like any other failure would.
	beforeCommit func() error
}

func newWriter(ctx context.Context, db *sql.DB, opts Options) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("duckdb: writer connection: %w", err)
	}
	rollups, err := newRollupWriter()
	if err != nil {
		conn.Close()
		return nil, err
	}
	w := &writer{
		conn:    conn,
		opts:    opts,
		log:     opts.Logger,
		vals:    make([]driver.Value, len(appenderColumns)),
		rollups: rollups,
	}
	if err := w.countRollups(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return w, nil
}

func (w *writer) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.conn.Close(); err != nil {
		return fmt.Errorf("duckdb: close writer connection: %w", err)
	}
	return nil
}

// Append implements store.Writer.
//
// Everything happens in one transaction on the writer's connection:
//
//  1. In Go: drop events without a UUID or a usable time, and duplicates
//     inside the batch (the first occurrence wins).
//  2. The batch's (project_id, uuid) keys go through a query appender whose
//     statement semi-joins them with the stored events of the batch's time
//     ranges (widened by Options.DedupSlack): the scan touches only the row
//     groups whose timestamp zone maps overlap the batch. The keys found
//     come back to Go; normally there are none.
//  3. The remaining events go through a second query appender into events.
//     Its buffered rows are an in-memory staging relation that is never
//     written to storage, and its INSERT needs no join.
//  4. The rollups of the newly stored events are appended (see rollup.go).
//  5. Identity mappings and person properties are updated from the newly
//     stored events only, and the checkpoint is upserted.
//
// A batch that fails leaves nothing behind, and a batch appended again adds
// nothing. Events that cannot be placed in time (no valid timestamp nor
// received_at) or deduplicated (no UUID) are skipped with a warning rather
// than failing the batch, which would stall the spool writer on it forever.
func (s *Store) Append(ctx context.Context, events []event.Event, cp store.Checkpoint) error {
	return s.writer.append(ctx, events, cp)
}

func (w *writer) append(ctx context.Context, events []event.Event, cp store.Checkpoint) (err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// The caller reuses the events' buffers after Append returns (see
	// spool.Sink): keep no reference to them.
	defer w.forget()

	if _, err := w.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("duckdb: append: begin: %w", err)
	}
	defer func() {
		if err == nil {
			return
		}
		// The caller's context may be what failed; the rollback must still run.
		if _, rbErr := w.conn.ExecContext(context.Background(), "ROLLBACK"); rbErr != nil {
			err = errors.Join(err, fmt.Errorf("duckdb: append: rollback: %w", rbErr))
		}
	}()

	w.prepare(events)
	if len(w.sel.Keep) > 0 {
		dups, err := w.findStored(ctx, events)
		if err != nil {
			return err
		}
		if err := w.insert(ctx, events, dups); err != nil {
			return err
		}
		if err := w.applyIdentity(ctx, dups); err != nil {
			return err
		}
	}
	if cp.Spool != "" {
		if _, err := w.conn.ExecContext(ctx, `INSERT INTO spool_checkpoints (spool, segment, "offset") VALUES (?, ?, ?)
			ON CONFLICT (spool) DO UPDATE SET segment = excluded.segment, "offset" = excluded."offset"`,
			cp.Spool, int64(cp.Segment), cp.Offset); err != nil {
			return fmt.Errorf("duckdb: append: record checkpoint %s/%d/%d: %w", cp.Spool, cp.Segment, cp.Offset, err)
		}
	}
	if w.beforeCommit != nil {
		if err := w.beforeCommit(); err != nil {
			return err
		}
	}
	if _, err := w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("duckdb: append: commit: %w", err)
	}
	if w.rollups.due() {
		// The batch is stored; a compaction that fails only leaves the
		// rollups larger than they need to be.
		if err := w.compactRollups(ctx); err != nil {
			// Try again once as many rows again have been appended.
			w.rollups.appended = 0
			w.log.Warn("duckdb: rollup compaction failed", "err", err)
		}
	}
	return nil
}

func (w *writer) forget() {
	w.sel.Reset()
	clear(w.vals)
	// The rollups' keys hold the events' strings.
	w.rollups.reset()
}

// prepare selects the events to store (store.Selection: in-batch duplicates
// and events that cannot be stored are dropped) and their identity facts.
func (w *writer) prepare(events []event.Event) {
	w.sel.Select(events)
	if w.sel.Skipped > 0 {
		w.log.Warn("duckdb: skipped events without uuid or timestamp", "skipped", w.sel.Skipped, "batch", len(events))
	}
}

// insert stores the kept events that are not dups.
func (w *writer) insert(ctx context.Context, events []event.Event, dups map[store.EventKey]bool) error {
	err := w.conn.Raw(func(dc any) error {
		app, err := duckdb.NewQueryAppender(dc.(driver.Conn), insertSQL, "", appenderTypes, appenderNames)
		if err != nil {
			return fmt.Errorf("duckdb: append: create appender: %w", err)
		}
		for _, i := range w.sel.Keep {
			e := &events[i]
			if dups != nil && dups[store.EventKey{Project: e.ProjectID, UUID: clean(e.UUID)}] {
				continue
			}
			ts, recv, _ := store.EventTimes(e)
			w.fillRow(e, ts, recv)
			if err := app.AppendRow(w.vals...); err != nil {
				app.Close()
				return fmt.Errorf("duckdb: append: event %q: %w", e.UUID, err)
			}
			w.rollups.add(e, ts)
		}
		if err := app.CloseWithCancel(ctx); err != nil {
			return fmt.Errorf("duckdb: append: insert %d events: %w", len(w.sel.Keep)-len(dups), err)
		}
		return w.rollups.flush(ctx, dc.(driver.Conn))
	})
	return err
}

func (w *writer) fillRow(e *event.Event, ts, recv time.Time) {
	v := w.vals
	v[0] = e.ProjectID
	v[1] = ts
	v[2] = recv
	v[3] = boxFloat(e.X)
	v[4] = boxFloat(e.Y)
	v[5] = boxFloat(e.OffsetX)
	v[6] = boxFloat(e.OffsetY)
	v[7] = boxInt32(e.ViewportWidth)
	v[8] = boxInt32(e.ViewportHeight)
	v[9] = boxInt32(e.DocumentWidth)
	v[10] = boxInt32(e.DocumentHeight)
	v[11] = e.Rage
	v[12] = e.Dead
	v[13] = e.Error
	v[14] = e.Truncated
	v[15] = nil
	if d, ok := event.ScrollDepth(e); ok {
		v[15] = boxFloat(d)
	}
	// The appender copies the bytes at once, so the buffer is reused.
	w.strs = packStrings(w.strs[:0], e)
	v[16] = w.strs
}

// Boxing a number into a driver.Value allocates; sizes and pixel
// coordinates are mostly small whole numbers, boxed once here instead.
var (
	smallInt32s   [4096]driver.Value
	smallFloat64s [4096]driver.Value
)

func init() {
	for i := range smallInt32s {
		smallInt32s[i] = int32(i)
		smallFloat64s[i] = float64(i)
	}
}

func boxInt32(n int) driver.Value {
	if n >= 0 && n < len(smallInt32s) {
		return smallInt32s[n]
	}
	return int32(n)
}

func boxFloat(f float64) driver.Value {
	// f > 0 leaves out -0, which the table would turn into +0.
	if i := int(f); f > 0 && f < float64(len(smallFloat64s)) && float64(i) == f {
		return smallFloat64s[i]
	}
	return f
}

// packStrings appends the event's string fields in stringColumns order,
// each followed by a NUL.
//
// The fields are copied as they are and the packed bytes validated in one
// pass: events from capture are clean (Normalize makes every string valid
// UTF-8), and a per-field check cost more than the copy. Only when the pass
// finds invalid UTF-8 or a NUL inside a field is the event packed again,
// field by field, with the bad bytes replaced.
func packStrings(b []byte, e *event.Event) []byte {
	start := len(b)
	fields := [...]string{
		e.UUID, e.Event, e.DistinctID, e.SessionID, e.WindowID,
		e.URL, e.Host, e.Path, e.Query, e.Title, e.Referrer, e.RefDomain,
		e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent,
		e.Browser, e.BrowserVersion, e.OS, e.OSVersion, e.DeviceType, e.IP,
		e.ElementsChain, e.Selector,
		"{}",
	}
	if len(e.Properties) > 0 {
		// Read-only view: the bytes are copied below and not kept.
		fields[len(fields)-1] = unsafe.String(unsafe.SliceData(e.Properties), len(e.Properties))
	}
	for _, s := range fields {
		b = append(b, s...)
		b = append(b, 0)
	}
	if packed := b[start:]; bytes.Count(packed, nul) == len(fields) && utf8.Valid(packed) {
		return b
	}
	b = b[:start]
	for _, s := range fields {
		b = store.AppendClean(b, s)
		b = append(b, 0)
	}
	return b
}

var nul = []byte{0}

// clean is text as every store keeps it (store.Clean): invalid UTF-8
// would become NULL in DuckDB, failing the batch's NOT NULL columns, and
// NUL separates packStrings' fields.
func clean(s string) string { return store.Clean(s) }

func (w *writer) dedupRanges() [][2]int64 {
	return store.DedupRanges(w.sel.Micros, w.opts.DedupSlack.Microseconds())
}

// rangeFilter returns the batch's time ranges as a condition on
// e."timestamp", with literal bounds so that the planner prunes row groups by
// their zone maps.
func (w *writer) rangeFilter() string {
	var b strings.Builder
	for i, r := range w.dedupRanges() {
		if i > 0 {
			b.WriteString(" OR ")
		}
		fmt.Fprintf(&b, `e."timestamp" BETWEEN %s AND %s`, tsLiteral(r[0]), tsLiteral(r[1]))
	}
	return b.String()
}

// storedSQL creates the table that receives the keys of a batch's events
// that are already stored. It is created anew for each batch: deleted rows
// of a temporary table are never reclaimed, and a failed batch must not
// leave its keys behind for the next one.
const storedSQL = `CREATE OR REPLACE TEMP TABLE stored (project_id BIGINT, uuid VARCHAR)`

// findStored returns the keys of the kept events that are already stored.
// Only the keys go through a second query appender, whose statement
// semi-joins them with the events of the batch's time ranges; the full rows
// then need no join at all.
func (w *writer) findStored(ctx context.Context, events []event.Event) (map[store.EventKey]bool, error) {
	if _, err := w.conn.ExecContext(ctx, storedSQL); err != nil {
		return nil, fmt.Errorf("duckdb: append: create dedup table: %w", err)
	}
	query := `INSERT INTO temp.main.stored SELECT a.project_id, a.uuid FROM appended_data a
		SEMI JOIN (SELECT project_id, uuid FROM events e WHERE ` + w.rangeFilter() + `) e
		ON e.project_id = a.project_id AND e.uuid = a.uuid`
	err := w.conn.Raw(func(dc any) error {
		app, err := duckdb.NewQueryAppender(dc.(driver.Conn), query, "", keyTypes, keyNames)
		if err != nil {
			return fmt.Errorf("duckdb: append: create dedup appender: %w", err)
		}
		for _, i := range w.sel.Keep {
			e := &events[i]
			if err := app.AppendRow(e.ProjectID, clean(e.UUID)); err != nil {
				app.Close()
				return fmt.Errorf("duckdb: append: key of event %q: %w", e.UUID, err)
			}
		}
		if err := app.CloseWithCancel(ctx); err != nil {
			return fmt.Errorf("duckdb: append: look up %d stored keys: %w", len(w.sel.Keep), err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err := w.conn.QueryContext(ctx, `SELECT project_id, uuid FROM temp.main.stored`)
	if err != nil {
		return nil, fmt.Errorf("duckdb: append: read stored keys: %w", err)
	}
	defer rows.Close()
	var dups map[store.EventKey]bool
	for rows.Next() {
		var k store.EventKey
		if err := rows.Scan(&k.Project, &k.UUID); err != nil {
			return nil, fmt.Errorf("duckdb: append: read stored key: %w", err)
		}
		if dups == nil {
			dups = make(map[store.EventKey]bool)
		}
		dups[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duckdb: append: read stored keys: %w", err)
	}
	return dups, nil
}

func tsLiteral(micros int64) string {
	return "TIMESTAMPTZ " + quoteLiteral(time.UnixMicro(micros).UTC().Format("2006-01-02 15:04:05.999999+00"))
}
