package duckdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"slices"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store"
)

// The store keeps two rollups of the events, which queries read instead of
// the events where they can:
//
//   - the heat rollup (store.HeatRollup) in four tables, heat_cells,
//     heat_elements, heat_steps and heat_pages, for heatmaps;
//   - event_days (store.EventDays), events per name, distinct id and UTC
//     day, for trends of unique persons and event counts.
//
// The writer appends the rollups of every batch it stores, in the batch's
// transaction, so they always sum exactly the stored events. Each batch adds
// its own rows, so a key counted in many batches has many rows until the
// writer compacts the tables (see compactRollups); readers sum either way.

// rollupTable describes one rollup table: its key and count columns.
type rollupTable struct {
	name   string
	keys   []string
	counts []string
}

var (
	heatKeys     = []string{"project_id", "day", "path", "vb"}
	rollupTables = []rollupTable{
		{"heat_cells", append(slices.Clip(heatKeys), "cx", "cy"), []string{"clicks", "rage", "dead", "errors"}},
		{"heat_elements", append(slices.Clip(heatKeys), "selector"), []string{"clicks", "rage", "dead", "errors"}},
		{"heat_steps", append(slices.Clip(heatKeys), "step"), []string{"n"}},
		{"heat_pages", heatKeys, []string{"clicks", "pageviews"}},
		{"event_days", []string{"project_id", "day", "event", "distinct_id"}, []string{"n"}},
	}
)

func (t rollupTable) columns() []string {
	return append(slices.Clip(t.keys), t.counts...)
}

// heatSchema creates the heat rollup's tables and fills them from the
// stored events, with the rules of store.HeatRollup.Add written in SQL.
const heatSchema = `
CREATE TABLE heat_cells (
	project_id BIGINT NOT NULL, day DATE NOT NULL, path VARCHAR NOT NULL, vb TINYINT NOT NULL,
	cx BIGINT NOT NULL, cy BIGINT NOT NULL,
	clicks BIGINT NOT NULL, rage BIGINT NOT NULL, dead BIGINT NOT NULL, errors BIGINT NOT NULL
);
CREATE TABLE heat_elements (
	project_id BIGINT NOT NULL, day DATE NOT NULL, path VARCHAR NOT NULL, vb TINYINT NOT NULL,
	selector VARCHAR NOT NULL,
	clicks BIGINT NOT NULL, rage BIGINT NOT NULL, dead BIGINT NOT NULL, errors BIGINT NOT NULL
);
CREATE TABLE heat_steps (
	project_id BIGINT NOT NULL, day DATE NOT NULL, path VARCHAR NOT NULL, vb TINYINT NOT NULL,
	step BIGINT NOT NULL,
	n BIGINT NOT NULL
);
CREATE TABLE heat_pages (
	project_id BIGINT NOT NULL, day DATE NOT NULL, path VARCHAR NOT NULL, vb TINYINT NOT NULL,
	clicks BIGINT NOT NULL, pageviews BIGINT NOT NULL
);
CREATE TEMP TABLE heat_src AS
SELECT project_id, CAST(timezone('UTC', "timestamp") AS DATE) AS day, path,
       CASE WHEN viewport_width > 0 THEN
                 CASE WHEN viewport_width <= 767 THEN 1 WHEN viewport_width <= 1023 THEN 2 ELSE 3 END
            WHEN device_type = 'mobile' THEN 1 WHEN device_type = 'tablet' THEN 2
            WHEN device_type = 'desktop' THEN 3 ELSE 0 END AS vb,
       event, x, y, selector, rage, dead, error_click,
       CASE WHEN event = '$pageleave' THEN scroll_depth END AS depth
FROM events
WHERE event IN ('$click', '$pageview', '$pageleave', '$rageclick', '$deadclick', '$errorclick');
INSERT INTO heat_cells
SELECT project_id, day, path, vb, CAST(floor(x / 10) AS BIGINT), CAST(floor(y / 10) AS BIGINT),
       count(*) FILTER (WHERE event = '$click'), count(*) FILTER (WHERE rage),
       count(*) FILTER (WHERE dead), count(*) FILTER (WHERE error_click)
FROM heat_src
WHERE (event = '$click' OR rage OR dead OR error_click) AND (x <> 0 OR y <> 0)
  AND abs(x) < 1e15 AND abs(y) < 1e15
GROUP BY ALL;
INSERT INTO heat_elements
SELECT project_id, day, path, vb, selector,
       count(*) FILTER (WHERE event = '$click'), count(*) FILTER (WHERE rage),
       count(*) FILTER (WHERE dead), count(*) FILTER (WHERE error_click)
FROM heat_src
WHERE (event = '$click' OR rage OR dead OR error_click) AND selector <> ''
GROUP BY ALL;
INSERT INTO heat_steps
SELECT project_id, day, path, vb, CAST(floor(depth / 5) AS BIGINT), count(*)
FROM heat_src
WHERE depth IS NOT NULL AND abs(depth) < 1e15
GROUP BY ALL;
INSERT INTO heat_pages
SELECT project_id, day, path, vb, count(*) FILTER (WHERE event = '$click'), count(*) FILTER (WHERE event = '$pageview')
FROM heat_src
WHERE event IN ('$click', '$pageview')
GROUP BY ALL;
DROP TABLE heat_src;
`

// eventDaysSchema creates event_days and fills it from the stored events,
// with the rules of store.EventDays.Add written in SQL.
const eventDaysSchema = `
CREATE TABLE event_days (
	project_id BIGINT NOT NULL, day DATE NOT NULL, event VARCHAR NOT NULL, distinct_id VARCHAR NOT NULL,
	n BIGINT NOT NULL
);
INSERT INTO event_days
SELECT project_id, CAST(timezone('UTC', "timestamp") AS DATE), event, distinct_id, count(*)
FROM events
GROUP BY ALL;
`

// rollupWriter appends a batch's rollups and decides when to compact.
type rollupWriter struct {
	heat   *store.HeatRollup
	days   store.EventDays
	types  [][]duckdb.TypeInfo
	insert []string
	// compacted is the number of rollup rows after the last compaction (or
	// at open); appended counts the rows added since.
	compacted, appended int64
}

// minCompact is the fewest appended rows that trigger a compaction: below
// it, the uncompacted rows cost a query less than compacting them often
// costs the writer (0.9 s of CPU per million events at 200,000).
const minCompact = 1_000_000

func newRollupWriter() (*rollupWriter, error) {
	h := &rollupWriter{heat: store.NewHeatRollup(), days: store.EventDays{}}
	for _, t := range rollupTables {
		var types []duckdb.TypeInfo
		for _, c := range t.columns() {
			typ := duckdb.TYPE_BIGINT
			switch c {
			case "day":
				typ = duckdb.TYPE_DATE
			case "path", "selector", "event", "distinct_id":
				typ = duckdb.TYPE_VARCHAR
			case "vb":
				typ = duckdb.TYPE_TINYINT
			}
			ti, err := duckdb.NewTypeInfo(typ)
			if err != nil {
				return nil, fmt.Errorf("duckdb: type of %s.%s: %w", t.name, c, err)
			}
			types = append(types, ti)
		}
		h.types = append(h.types, types)
		h.insert = append(h.insert, "INSERT INTO "+t.name+" SELECT * FROM appended_data")
	}
	return h, nil
}

// add counts an event the transaction stores.
func (h *rollupWriter) add(e *event.Event, ts time.Time) {
	h.heat.Add(e, ts)
	h.days.Add(e, ts)
}

// reset forgets what add counted. The writer calls it once per batch,
// whether the batch was stored or not (writer.forget).
func (h *rollupWriter) reset() {
	h.heat.Reset()
	clear(h.days)
}

// flush appends the rollups of the events inserted in this transaction.
func (h *rollupWriter) flush(ctx context.Context, dc driver.Conn) error {
	r := h.heat
	rows := r.Len() + len(h.days)
	if rows == 0 {
		return nil
	}
	vals := make([]driver.Value, 0, 10)
	for i, t := range rollupTables {
		app, err := duckdb.NewQueryAppender(dc, h.insert[i], "", h.types[i], t.columns())
		if err != nil {
			return fmt.Errorf("duckdb: append %s: %w", t.name, err)
		}
		var rowErr error
		row := func(page int32, rest ...driver.Value) {
			if rowErr == nil {
				p := &r.Pages[page]
				vals = append(append(vals[:0], p.Project, p.Day, p.Path, int8(p.Viewport)), rest...)
				rowErr = app.AppendRow(vals...)
			}
		}
		switch t.name {
		case "heat_cells":
			for k, n := range r.Cells {
				row(k.Page, k.X, k.Y, n[0], n[1], n[2], n[3])
			}
		case "heat_elements":
			for k, n := range r.Elements {
				row(k.Page, k.Selector, n[0], n[1], n[2], n[3])
			}
		case "heat_steps":
			for k, n := range r.Steps {
				row(k.Page, k.Step, n)
			}
		case "heat_pages":
			for p, n := range r.PageCounts {
				if n != ([2]int64{}) {
					row(int32(p), n[0], n[1])
				}
			}
		case "event_days":
			for k, n := range h.days {
				if rowErr == nil {
					rowErr = app.AppendRow(k.Project, time.Unix(k.Day*86400, 0).UTC(), clean(k.Event), clean(k.DistinctID), n)
				}
			}
		}
		if rowErr != nil {
			app.Close()
			return fmt.Errorf("duckdb: append %s: %w", t.name, rowErr)
		}
		if err := app.CloseWithCancel(ctx); err != nil {
			return fmt.Errorf("duckdb: append %s: %w", t.name, err)
		}
	}
	h.appended += int64(rows)
	return nil
}

// due reports whether the rollups have grown enough since the last
// compaction to be compacted: when the appended rows outnumber the compacted
// ones, so that compaction costs a constant amount per appended row.
func (h *rollupWriter) due() bool {
	return h.appended >= max(h.compacted, minCompact)
}

// compactRollups sums the rows of each rollup table that share a key, in
// one transaction of its own: a failure leaves the rollups as they were,
// which is just as correct, only larger.
func (w *writer) compactRollups(ctx context.Context) (err error) {
	if _, err := w.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("duckdb: compact rollups: begin: %w", err)
	}
	defer func() {
		if err != nil {
			if _, rbErr := w.conn.ExecContext(context.Background(), "ROLLBACK"); rbErr != nil {
				err = fmt.Errorf("%w (rollback: %v)", err, rbErr)
			}
		}
	}()
	var total int64
	for _, t := range rollupTables {
		sums := make([]string, len(t.counts))
		for i, c := range t.counts {
			sums[i] = "CAST(sum(" + c + ") AS BIGINT)"
		}
		keys := strings.Join(t.keys, ", ")
		stmts := []string{
			"CREATE TEMP TABLE rollup_compact AS SELECT " + keys + ", " + strings.Join(sums, ", ") +
				" FROM " + t.name + " GROUP BY " + keys,
			"DELETE FROM " + t.name,
			"INSERT INTO " + t.name + " SELECT * FROM rollup_compact",
			"DROP TABLE rollup_compact",
		}
		for _, s := range stmts {
			if _, err := w.conn.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("duckdb: compact %s: %w", t.name, err)
			}
		}
		var n int64
		if err := w.conn.QueryRowContext(ctx, "SELECT count(*) FROM "+t.name).Scan(&n); err != nil {
			return fmt.Errorf("duckdb: compact %s: count: %w", t.name, err)
		}
		total += n
	}
	if _, err := w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("duckdb: compact rollups: commit: %w", err)
	}
	w.rollups.compacted, w.rollups.appended = total, 0
	return nil
}

// countRollups sets the compacted size from the tables, at open.
func (w *writer) countRollups(ctx context.Context) error {
	parts := make([]string, len(rollupTables))
	for i, t := range rollupTables {
		parts[i] = "(SELECT count(*) FROM " + t.name + ")"
	}
	if err := w.conn.QueryRowContext(ctx, "SELECT "+strings.Join(parts, " + ")).Scan(&w.rollups.compacted); err != nil {
		return fmt.Errorf("duckdb: count rollups: %w", err)
	}
	return nil
}
