package duckdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/sightline-analytics/sightline/store"
)

// The heat rollup (see store.HeatRollup) lives in four tables: heat_cells,
// heat_elements, heat_steps and heat_pages. The writer appends the rollup of
// every batch it stores, in the batch's transaction, so the rollup always
// sums exactly the stored events. Each batch adds its own rows, so a cell
// clicked in many batches has many rows until the writer compacts the
// tables (see compactHeat); readers sum either way.

// heatTable describes one rollup table: its key and count columns.
type heatTable struct {
	name   string
	keys   []string // after project_id, day, path, vb
	counts []string
}

var heatTables = []heatTable{
	{"heat_cells", []string{"cx", "cy"}, []string{"clicks", "rage", "dead", "errors"}},
	{"heat_elements", []string{"selector"}, []string{"clicks", "rage", "dead", "errors"}},
	{"heat_steps", []string{"step"}, []string{"n"}},
	{"heat_pages", nil, []string{"clicks", "pageviews"}},
}

func (t heatTable) columns() []string {
	c := append([]string{"project_id", "day", "path", "vb"}, t.keys...)
	return append(c, t.counts...)
}

// heatSchema creates the rollup tables and fills them from the stored
// events, with the rules of store.HeatRollup.Add written in SQL.
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

// heatWriter appends a batch's rollup and decides when to compact.
type heatWriter struct {
	rollup *store.HeatRollup
	types  [][]duckdb.TypeInfo
	insert []string
	// compacted is the number of rollup rows after the last compaction (or
	// at open); appended counts the rows added since.
	compacted, appended int64
}

// minCompact is the fewest appended rows that trigger a compaction.
const minCompact = 200_000

func newHeatWriter() (*heatWriter, error) {
	h := &heatWriter{rollup: store.NewHeatRollup()}
	for _, t := range heatTables {
		var types []duckdb.TypeInfo
		for _, c := range t.columns() {
			typ := duckdb.TYPE_BIGINT
			switch c {
			case "day":
				typ = duckdb.TYPE_DATE
			case "path", "selector":
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

// flush appends the rollup of the events inserted in this transaction.
func (h *heatWriter) flush(ctx context.Context, dc driver.Conn) error {
	r := h.rollup
	rows := r.Len()
	if rows == 0 {
		return nil
	}
	defer r.Reset()
	vals := make([]driver.Value, 0, 10)
	for i, t := range heatTables {
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

// due reports whether the rollup has grown enough since the last compaction
// to be compacted: when the appended rows outnumber the compacted ones, so
// that compaction costs a constant amount per appended row.
func (h *heatWriter) due() bool {
	return h.appended >= max(h.compacted, minCompact)
}

// compactHeat sums the rows of each rollup table that share a key, in one
// transaction of its own: a failure leaves the rollup as it was, which is
// just as correct, only larger.
func (w *writer) compactHeat(ctx context.Context) (err error) {
	if _, err := w.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("duckdb: compact heat rollup: begin: %w", err)
	}
	defer func() {
		if err != nil {
			if _, rbErr := w.conn.ExecContext(context.Background(), "ROLLBACK"); rbErr != nil {
				err = fmt.Errorf("%w (rollback: %v)", err, rbErr)
			}
		}
	}()
	var total int64
	for _, t := range heatTables {
		keys := append([]string{"project_id", "day", "path", "vb"}, t.keys...)
		sums := make([]string, len(t.counts))
		for i, c := range t.counts {
			sums[i] = "CAST(sum(" + c + ") AS BIGINT)"
		}
		stmts := []string{
			"CREATE TEMP TABLE heat_compact AS SELECT " + strings.Join(keys, ", ") + ", " + strings.Join(sums, ", ") +
				" FROM " + t.name + " GROUP BY " + strings.Join(keys, ", "),
			"DELETE FROM " + t.name,
			"INSERT INTO " + t.name + " SELECT * FROM heat_compact",
			"DROP TABLE heat_compact",
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
		return fmt.Errorf("duckdb: compact heat rollup: commit: %w", err)
	}
	w.heat.compacted, w.heat.appended = total, 0
	return nil
}

// countHeat sets the compacted size from the tables, at open.
func (w *writer) countHeat(ctx context.Context) error {
	parts := make([]string, len(heatTables))
	for i, t := range heatTables {
		parts[i] = "(SELECT count(*) FROM " + t.name + ")"
	}
	if err := w.conn.QueryRowContext(ctx, "SELECT "+strings.Join(parts, " + ")).Scan(&w.heat.compacted); err != nil {
		return fmt.Errorf("duckdb: count heat rollup: %w", err)
	}
	return nil
}
