package query

import (
	"database/sql"
	"fmt"
	"strings"
)

// HeatmapResult answers a heatmap query.
type HeatmapResult struct {
	URL      string `json:"url"`
	Viewport string `json:"viewport"`
	Grid     int    `json:"grid"`
	// Layer is what Points place: clicks, rage, dead or error.
	Layer string `json:"layer"`
	// Clicks counts the $click events on the page.
	Clicks int64 `json:"clicks"`
	// Points are grid cells in page coordinates (top-left corner of the
	// cell), busiest first (at most 5,000), of the layer's events that
	// have a position.
	Points []HeatPoint `json:"points"`
	// Elements are clicked elements by selector, busiest first.
	Elements []HeatElement `json:"elements"`
	// Scroll is the share of page views (those with a measured scroll
	// depth, from $pageleave) that reached each 5 % of the page.
	Scroll     []ScrollDepth `json:"scroll"`
	PageViews  int64         `json:"pageviews"`
	ScrollSeen int64         `json:"scroll_measured"`
}

// HeatPoint is one grid cell.
type HeatPoint struct {
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	Count int64   `json:"count"`
}

// HeatElement is one clicked element.
type HeatElement struct {
	Selector    string `json:"selector"`
	Clicks      int64  `json:"clicks"`
	RageClicks  int64  `json:"rage_clicks"`
	DeadClicks  int64  `json:"dead_clicks"`
	ErrorClicks int64  `json:"error_clicks"`
}

// ScrollDepth is the share of page views that reached Percent of the page.
type ScrollDepth struct {
	Percent int     `json:"percent"`
	Share   float64 `json:"share"`
	Count   int64   `json:"count"`
}

// viewportRanges are viewport-width buckets in CSS pixels (0: unbounded).
var viewportRanges = map[string][2]int{"all": {0, 0}, "mobile": {1, 767}, "tablet": {768, 1023}, "desktop": {1024, 0}}

const maxHeatPoints = 5000

// heatLayers are the events each layer of points places (events as e).
// A rage, dead or error click carries the position of the click it
// classifies (the SDK's $rageclick reports where its streak started).
var heatLayers = map[string]string{
	"clicks": "e.event = '$click'",
	"rage":   "e.rage",
	"dead":   "e.dead",
	"error":  "e.error_click",
}

func (c *compiler) viewportPred(vp string) string {
	r := viewportRanges[vp]
	if vp == "all" {
		return "TRUE"
	}
	var w []string
	if r[0] > 0 {
		w = append(w, "e.viewport_width >= "+c.p(int64(r[0])))
	}
	if r[1] > 0 {
		w = append(w, "e.viewport_width <= "+c.p(int64(r[1])))
	}
	// Events sent without a viewport (the SDK's $pageleave) fall back to
	// the device type.
	return "CASE WHEN e.viewport_width > 0 THEN " + and(w...) + " ELSE e.device_type = " + c.p(vp) + " END"
}

func (c *compiler) heatmap(q *Heatmap) (*compiled, error) {
	d := c.d
	// Each statement gets its own parameters (a statement must bind exactly
	// the parameters it uses).
	var stmts []Statement
	build := func(f func(base, from string) string) error {
		c.b = newSQLB(d)
		global, err := c.globalPreds(&q.Common)
		if err != nil {
			return err
		}
		base := and(c.rangePred(c.sp.From, c.sp.To), c.urlPred(q.URL), c.viewportPred(q.Viewport), global)
		sql := f(base, c.from())
		stmts = append(stmts, Statement{SQL: sql, Args: c.b.args})
		return nil
	}
	err := build(func(base, from string) string {
		g := c.p(int64(q.Grid))
		// A click without a position (keyboard-activated: x and y are 0)
		// has no place on the page.
		return fmt.Sprintf("SELECT CAST(floor(e.x / %s) AS BIGINT) AS gx, CAST(floor(e.y / %s) AS BIGINT) AS gy, count(*) AS n FROM %s WHERE %s AND (e.x <> 0 OR e.y <> 0) AND %s GROUP BY gx, gy ORDER BY n DESC, gy, gx LIMIT %d",
			g, g, from, heatLayers[q.Layer], base, maxHeatPoints)
	})
	if err != nil {
		return nil, err
	}
	_ = build(func(base, from string) string {
		// The aliases must not name columns (see sessionAgg).
		return fmt.Sprintf("SELECT e.selector, %s AS clicks, %s AS rage_n, %s AS dead_n, %s AS err_n FROM %s WHERE (e.event = '$click' OR e.rage OR e.dead OR e.error_click) AND e.selector <> '' AND %s GROUP BY e.selector ORDER BY clicks DESC, rage_n DESC, e.selector LIMIT %d",
			d.countIf("e.event = '$click'"), d.countIf("e.rage"), d.countIf("e.dead"), d.countIf("e.error_click"), from, base, q.Limit)
	})
	// The depth is read once per page leave, then compared 21 times.
	depth := "CASE WHEN e.event = '$pageleave' THEN " + d.scrollDepth() + " END"
	scols := []string{d.countIf("event = '$click'"), d.countIf("event = '$pageview'"), d.countIf("depth IS NOT NULL")}
	// coalesce: ClickHouse's countIf over a nullable condition that is
	// NULL on every row (a page without page leaves) is NULL, not 0.
	for pct := 0; pct <= 100; pct += 5 {
		scols = append(scols, d.countIf(fmt.Sprintf("coalesce(depth, -1) >= %d", pct)))
	}
	_ = build(func(base, from string) string {
		return fmt.Sprintf("SELECT %s FROM (SELECT e.event AS event, %s AS depth FROM %s WHERE e.event IN ('$click', '$pageview', '$pageleave') AND %s) s",
			strings.Join(scols, ", "), depth, from, base)
	})
	res := &HeatmapResult{URL: q.URL, Viewport: q.Viewport, Grid: q.Grid, Layer: q.Layer, Points: []HeatPoint{}, Elements: []HeatElement{}, Scroll: []ScrollDepth{}}
	read := func(i int, rows *sql.Rows) error {
		for rows.Next() {
			switch i {
			case 0:
				var gx, gy, n int64
				if err := rows.Scan(&gx, &gy, &n); err != nil {
					return fmt.Errorf("heatmap: read cell: %w", err)
				}
				res.Points = append(res.Points, HeatPoint{X: float64(gx * int64(q.Grid)), Y: float64(gy * int64(q.Grid)), Count: n})
			case 1:
				var el HeatElement
				if err := rows.Scan(&el.Selector, &el.Clicks, &el.RageClicks, &el.DeadClicks, &el.ErrorClicks); err != nil {
					return fmt.Errorf("heatmap: read element: %w", err)
				}
				res.Elements = append(res.Elements, el)
			case 2:
				vals := make([]int64, len(scols))
				dest := make([]any, len(vals))
				for j := range vals {
					dest[j] = &vals[j]
				}
				if err := rows.Scan(dest...); err != nil {
					return fmt.Errorf("heatmap: read scroll: %w", err)
				}
				res.Clicks, res.PageViews, res.ScrollSeen = vals[0], vals[1], vals[2]
				for j, pct := 3, 0; j < len(vals); j, pct = j+1, pct+5 {
					sd := ScrollDepth{Percent: pct, Count: vals[j]}
					if res.ScrollSeen > 0 {
						sd.Share = float64(vals[j]) / float64(res.ScrollSeen)
					}
					res.Scroll = append(res.Scroll, sd)
				}
			}
		}
		return nil
	}
	done := func() (Result, error) { return res, nil }
	return &compiled{stmts: stmts, read: read, done: done}, nil
}
