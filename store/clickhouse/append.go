package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store"
)

// eventColumns are the columns the writer fills, in batch order.
var eventColumns = []string{
	"project_id", "uuid", "event", "distinct_id", "session_id", "window_id",
	"timestamp", "received_at",
	"url", "host", "path", "query", "title", "referrer", "referring_domain",
	"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"browser", "browser_version", "os", "os_version", "device_type", "ip",
	"elements_chain", "selector", "x", "y", "offset_x", "offset_y",
	"viewport_width", "viewport_height", "document_width", "document_height",
	"rage", "dead", "error_click", "truncated", "properties", "prop_keys", "prop_values",
}

var insertEventsSQL = "INSERT INTO events (" + strings.Join(eventColumns, ", ") + ")"

// writer serializes appends (one spool writer per node calls Append).
type writer struct {
	s   *Store
	mu  sync.Mutex
	log *slog.Logger

	sel  store.Selection
	cols columns

	// beforeCheckpoint, when set by a test, runs after the events are
	// inserted and before the checkpoint is; an error aborts the append.
	beforeCheckpoint func() error
}

// columns are the batch's column buffers, reused from batch to batch.
type columns struct {
	i64   [3][]int64 // project_id, timestamp, received_at
	str   [25][]string
	f64   [4][]float64
	i32   [4][]int32
	u8    [4][]uint8
	props []string
	keys  [][]string
	vals  [][]string
}

func newWriter(s *Store) *writer {
	return &writer{s: s, log: s.log}
}

// Append implements store.Writer; see the package documentation for the
// order of its steps and why a crash between them is harmless.
func (s *Store) Append(ctx context.Context, events []event.Event, cp store.Checkpoint) error {
	return s.writer.append(ctx, events, cp)
}

func (w *writer) append(ctx context.Context, events []event.Event, cp store.Checkpoint) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.forget()

	w.prepare(events)
	if len(w.sel.Keep) > 0 {
		dups, err := w.findStored(ctx, events)
		if err != nil {
			return err
		}
		if err := w.applyIdentity(ctx, dups); err != nil {
			return err
		}
		if err := w.insert(ctx, events, dups); err != nil {
			return err
		}
	}
	if w.beforeCheckpoint != nil {
		if err := w.beforeCheckpoint(); err != nil {
			return err
		}
	}
	if cp.Spool != "" {
		if err := insertRow(ctx, w.s.conn, "INSERT INTO spool_checkpoints (spool, segment, offset, version)",
			cp.Spool, cp.Segment, cp.Offset, w.s.version()); err != nil {
			return fmt.Errorf("clickhouse: append: record checkpoint %s/%d/%d: %w", cp.Spool, cp.Segment, cp.Offset, err)
		}
	}
	return nil
}

func (w *writer) forget() { w.sel.Reset() }

// prepare selects the events to store (store.Selection: in-batch duplicates
// and events without a UUID or a usable time are dropped) and their
// identity facts.
func (w *writer) prepare(events []event.Event) {
	w.sel.Select(events)
	if w.sel.Skipped > 0 {
		w.log.Warn("clickhouse: skipped events without uuid or timestamp", "skipped", w.sel.Skipped, "batch", len(events))
	}
}

// findStored returns the keys of the kept events that are already stored.
// The keys travel as an external table (no size limit on the query text);
// GLOBAL IN ships them to every shard when events is Distributed.
func (w *writer) findStored(ctx context.Context, events []event.Event) (map[store.EventKey]bool, error) {
	keys, err := ext.NewTable("batch_keys", ext.Column("project_id", "Int64"), ext.Column("uuid", "String"))
	if err != nil {
		return nil, fmt.Errorf("clickhouse: append: key table: %w", err)
	}
	projects := map[int64]bool{}
	for _, i := range w.sel.Keep {
		e := &events[i]
		projects[e.ProjectID] = true
		if err := keys.Append(e.ProjectID, clean(e.UUID)); err != nil {
			return nil, fmt.Errorf("clickhouse: append: key of event %q: %w", e.UUID, err)
		}
	}
	var plist []string
	for p := range projects {
		plist = append(plist, strconv.FormatInt(p, 10))
	}
	slices.Sort(plist)
	query := "SELECT project_id, uuid FROM events WHERE project_id IN (" + strings.Join(plist, ", ") + ") AND (" + w.rangeFilter() +
		") AND (project_id, uuid) GLOBAL IN (SELECT project_id, uuid FROM batch_keys)"
	rows, err := w.s.conn.Query(ch.Context(ctx, ch.WithExternalTable(keys)), query)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: append: look up %d stored keys: %w", len(w.sel.Keep), err)
	}
	defer rows.Close()
	var dups map[store.EventKey]bool
	for rows.Next() {
		var k store.EventKey
		if err := rows.Scan(&k.Project, &k.UUID); err != nil {
			return nil, fmt.Errorf("clickhouse: append: read stored key: %w", err)
		}
		if dups == nil {
			dups = make(map[store.EventKey]bool)
		}
		dups[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: append: read stored keys: %w", err)
	}
	return dups, nil
}

// insert stores the kept events that are not dups, in one INSERT.
func (w *writer) insert(ctx context.Context, events []event.Event, dups map[store.EventKey]bool) error {
	c := &w.cols
	c.reset()
	n := 0
	for _, i := range w.sel.Keep {
		e := &events[i]
		if dups != nil && dups[store.EventKey{Project: e.ProjectID, UUID: clean(e.UUID)}] {
			continue
		}
		ts, recv, _ := store.EventTimes(e)
		c.add(e, ts, recv)
		n++
	}
	if n == 0 {
		return nil
	}
	batch, err := w.s.conn.PrepareBatch(ctx, insertEventsSQL)
	if err != nil {
		return fmt.Errorf("clickhouse: append: prepare insert: %w", err)
	}
	col := 0
	appendCol := func(v any) error {
		err := batch.Column(col).Append(v)
		if err != nil {
			err = fmt.Errorf("column %s: %w", eventColumns[col], err)
		}
		col++
		return err
	}
	var errs []error
	errs = append(errs, appendCol(c.i64[0]))
	for j := 0; j < 5; j++ {
		errs = append(errs, appendCol(c.str[j]))
	}
	errs = append(errs, appendCol(c.i64[1]), appendCol(c.i64[2]))
	for j := 5; j < len(c.str); j++ {
		errs = append(errs, appendCol(c.str[j]))
	}
	for j := range c.f64 {
		errs = append(errs, appendCol(c.f64[j]))
	}
	for j := range c.i32 {
		errs = append(errs, appendCol(c.i32[j]))
	}
	for j := range c.u8 {
		errs = append(errs, appendCol(c.u8[j]))
	}
	errs = append(errs, appendCol(c.props), appendCol(c.keys), appendCol(c.vals))
	for _, err := range errs {
		if err != nil {
			batch.Abort()
			return fmt.Errorf("clickhouse: append: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("clickhouse: append: insert %d events: %w", n, err)
	}
	return nil
}

func (c *columns) reset() {
	for i := range c.i64 {
		c.i64[i] = c.i64[i][:0]
	}
	for i := range c.str {
		clear(c.str[i])
		c.str[i] = c.str[i][:0]
	}
	for i := range c.f64 {
		c.f64[i] = c.f64[i][:0]
	}
	for i := range c.i32 {
		c.i32[i] = c.i32[i][:0]
	}
	for i := range c.u8 {
		c.u8[i] = c.u8[i][:0]
	}
	clear(c.props)
	c.props = c.props[:0]
	clear(c.keys)
	c.keys = c.keys[:0]
	clear(c.vals)
	c.vals = c.vals[:0]
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// add appends one event's values. The strings may alias the caller's
// buffers: the batch is sent before Append returns and reset clears them.
func (c *columns) add(e *event.Event, ts, recv time.Time) {
	c.i64[0] = append(c.i64[0], e.ProjectID)
	c.i64[1] = append(c.i64[1], ts.UnixMicro())
	c.i64[2] = append(c.i64[2], recv.UnixMicro())
	for j, s := range [...]string{
		e.UUID, e.Event, e.DistinctID, e.SessionID, e.WindowID,
		e.URL, e.Host, e.Path, e.Query, e.Title, e.Referrer, e.RefDomain,
		e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent,
		e.Browser, e.BrowserVersion, e.OS, e.OSVersion, e.DeviceType, e.IP,
		e.ElementsChain, e.Selector,
	} {
		c.str[j] = append(c.str[j], clean(s))
	}
	c.f64[0] = append(c.f64[0], e.X)
	c.f64[1] = append(c.f64[1], e.Y)
	c.f64[2] = append(c.f64[2], e.OffsetX)
	c.f64[3] = append(c.f64[3], e.OffsetY)
	c.i32[0] = append(c.i32[0], int32(e.ViewportWidth))
	c.i32[1] = append(c.i32[1], int32(e.ViewportHeight))
	c.i32[2] = append(c.i32[2], int32(e.DocumentWidth))
	c.i32[3] = append(c.i32[3], int32(e.DocumentHeight))
	c.u8[0] = append(c.u8[0], b2u(e.Rage))
	c.u8[1] = append(c.u8[1], b2u(e.Dead))
	c.u8[2] = append(c.u8[2], b2u(e.Error))
	c.u8[3] = append(c.u8[3], b2u(e.Truncated))
	doc, keys, vals := flattenProps(e.Properties)
	c.props = append(c.props, doc)
	c.keys = append(c.keys, keys)
	c.vals = append(c.vals, vals)
}

// flattenProps returns a properties document as stored (cleaned; "{}" when
// absent, malformed or not an object) and its top-level keys with their
// values as text, the way DuckDB's json_extract_string reads them: strings
// unquoted, numbers and booleans as written, objects and arrays as compact
// JSON, null as absent. A duplicated key keeps its first value, which is
// the one indexOf finds.
func flattenProps(raw json.RawMessage) (doc string, keys, vals []string) {
	if len(raw) == 0 {
		return "{}", nil, nil
	}
	text := clean(unsafe.String(unsafe.SliceData(raw), len(raw)))
	keys, vals, ok := scanObject(text)
	if !ok {
		return "{}", nil, nil
	}
	return text, keys, vals
}

// flattenMap is flattenProps for a decoded object (person properties).
func flattenMap(m map[string]json.RawMessage) (keys, vals []string) {
	keys = make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := keys[:0]
	for _, k := range keys {
		v, ok := valueText(string(bytes.TrimSpace(m[k])))
		if ok {
			out = append(out, k)
			vals = append(vals, v)
		}
	}
	return out, vals
}

// scanObject splits a JSON object into its members without building a
// map: the writer does this for every event, so it must be cheap. It
// reports false for anything that is not a valid JSON object.
func scanObject(s string) (keys, vals []string, ok bool) {
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '{' {
		return nil, nil, false
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return nil, nil, skipWS(s, i+1) == len(s)
	}
	for {
		if i >= len(s) || s[i] != '"' {
			return nil, nil, false
		}
		end, ok := skipString(s, i)
		if !ok {
			return nil, nil, false
		}
		key, ok := unquote(s[i:end])
		if !ok {
			return nil, nil, false
		}
		i = skipWS(s, end)
		if i >= len(s) || s[i] != ':' {
			return nil, nil, false
		}
		i = skipWS(s, i+1)
		end, ok = skipValue(s, i)
		if !ok {
			return nil, nil, false
		}
		if v, present := valueText(s[i:end]); present && !slices.Contains(keys, key) {
			keys = append(keys, key)
			vals = append(vals, v)
		} else if !present && s[i:end] != "null" {
			return nil, nil, false
		}
		i = skipWS(s, end)
		if i >= len(s) {
			return nil, nil, false
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
		case '}':
			return keys, vals, skipWS(s, i+1) == len(s)
		default:
			return nil, nil, false
		}
	}
}

// valueText is a raw JSON value as json_extract_string returns it; false
// for null and for invalid JSON.
func valueText(v string) (string, bool) {
	if v == "" {
		return "", false
	}
	switch v[0] {
	case '"':
		return unquote(v)
	case '{', '[':
		if !strings.ContainsAny(v, " \t\r\n") {
			return v, json.Valid([]byte(v))
		}
		var b bytes.Buffer
		if json.Compact(&b, []byte(v)) != nil {
			return "", false
		}
		return b.String(), true
	case 'n':
		return "", false
	case 't', 'f':
		return v, v == "true" || v == "false"
	}
	return v, validNumber(v)
}

// validNumber reports whether v is a JSON number.
func validNumber(v string) bool {
	i := 0
	digits := func() bool {
		start := i
		for i < len(v) && '0' <= v[i] && v[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(v) && v[i] == '-' {
		i++
	}
	switch {
	case i < len(v) && v[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(v) && v[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(v)
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string literal at s[i].
func skipString(s string, i int) (int, bool) {
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '\\':
			j++
		case c == '"':
			return j + 1, true
		case c < 0x20:
			return 0, false
		}
	}
	return 0, false
}

// skipValue returns the index just past the JSON value at s[i]; nested
// values are checked by valueText.
func skipValue(s string, i int) (int, bool) {
	if i >= len(s) {
		return 0, false
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				end, ok := skipString(s, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i
	for j < len(s) && (s[j] == '-' || s[j] == '+' || s[j] == '.' || '0' <= s[j] && s[j] <= '9' || 'a' <= s[j] && s[j] <= 'z' || 'A' <= s[j] && s[j] <= 'Z') {
		j++
	}
	return j, j > i
}

// unquote decodes a JSON string literal.
func unquote(lit string) (string, bool) {
	if len(lit) < 2 {
		return "", false
	}
	if strings.IndexByte(lit, '\\') < 0 {
		return lit[1 : len(lit)-1], true
	}
	var out string
	if json.Unmarshal([]byte(lit), &out) != nil {
		return "", false
	}
	return out, true
}

// clean is text as every store keeps it (store.Clean).
func clean(s string) string { return store.Clean(s) }

func (w *writer) dedupRanges() [][2]int64 {
	return store.DedupRanges(w.sel.Micros, w.s.opts.DedupSlack.Microseconds())
}

func (w *writer) rangeFilter() string {
	var b strings.Builder
	for i, r := range w.dedupRanges() {
		if i > 0 {
			b.WriteString(" OR ")
		}
		fmt.Fprintf(&b, "timestamp BETWEEN %d AND %d", r[0], r[1])
	}
	return b.String()
}
