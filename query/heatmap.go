package query

import (
	"cmp"
	"database/sql"
	"fmt"
	"slices"
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

// heatLayers are the events each layer of points places (columns of the
// heatmap's events, hv). A rage, dead or error click carries the position
// of the click it classifies (the SDK's $rageclick reports where its
// streak started).
var heatLayers = map[string]string{
	"clicks": "event = '$click'",
	"rage":   "rage",
	"dead":   "dead",
	"error":  "error_click",
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
	// the device type. (An OR costs the scan less than the equivalent CASE;
	// every range starts above 0.)
	return "(" + and(w...) + " OR (coalesce(e.viewport_width, 0) <= 0 AND e.device_type = " + c.p(vp) + "))"
}

// heatmap reads the page's events once: the cells, the elements, the
// scroll depths and the totals are four small aggregations over them.
func (c *compiler) heatmap(q *Heatmap) (*compiled, error) {
	d := c.d
	global, err := c.globalPreds(&q.Common)
	if err != nil {
		return nil, err
	}
	base := and(c.rangePred(c.sp.From, c.sp.To), c.urlPred(q.URL), c.viewportPred(q.Viewport), global)
	var st stmt
	hv := st.withMaterialized("hv", "SELECT e.event AS event, e.x AS x, e.y AS y, e.selector AS selector, e.rage AS rage, e.dead AS dead, e.error_click AS error_click, "+
		"CASE WHEN e.event = '$pageleave' THEN "+d.scrollDepth()+" END AS depth FROM "+c.from()+
		" WHERE e.event IN ("+heatEvents+") AND "+base)
	g := c.p(int64(q.Grid))
	count := func(cond string) string {
		if cond == "" {
			return "CAST(count(*) AS BIGINT)"
		}
		return "CAST(" + d.countIf(cond) + " AS BIGINT)"
	}
	// Every branch has the columns kind, a, b, s, n1…n4 (counts as BIGINT:
	// ClickHouse's are unsigned).
	parts := []string{
		// A click without a position (keyboard-activated: x and y are 0)
		// has no place on the page.
		fmt.Sprintf("SELECT * FROM (SELECT 'c' AS kind, CAST(floor(x / %s) AS BIGINT) AS a, CAST(floor(y / %s) AS BIGINT) AS b, %s AS s, %s AS n1, %s AS n2, %s AS n3, %s AS n4 FROM %s AS h WHERE %s AND (x <> 0 OR y <> 0) GROUP BY a, b ORDER BY n1 DESC, b, a LIMIT %d) AS cells",
			g, g, d.nullOf("VARCHAR"), count(""), zero, zero, zero, hv, heatLayers[q.Layer], maxHeatPoints),
		// The aliases must not name columns (see sessionAgg).
		fmt.Sprintf("SELECT * FROM (SELECT 'e' AS kind, %s AS a, %s AS b, selector AS s, %s AS n1, %s AS n2, %s AS n3, %s AS n4 FROM %s AS h WHERE (event = '$click' OR rage OR dead OR error_click) AND selector <> '' GROUP BY selector ORDER BY n1 DESC, n2 DESC, s LIMIT %d) AS elements",
			d.nullOf("BIGINT"), d.nullOf("BIGINT"), count("event = '$click'"), count("rage"), count("dead"), count("error_click"), hv, q.Limit),
		// Page leaves by depth, in steps of 5 % (see read).
		fmt.Sprintf("SELECT 's' AS kind, CAST(floor(depth / 5) AS BIGINT) AS a, %s AS b, %s AS s, %s AS n1, %s AS n2, %s AS n3, %s AS n4 FROM %s AS h WHERE depth IS NOT NULL GROUP BY a",
			d.nullOf("BIGINT"), d.nullOf("VARCHAR"), count(""), zero, zero, zero, hv),
		fmt.Sprintf("SELECT 't' AS kind, %s AS a, %s AS b, %s AS s, %s AS n1, %s AS n2, %s AS n3, %s AS n4 FROM %s AS h",
			d.nullOf("BIGINT"), d.nullOf("BIGINT"), d.nullOf("VARCHAR"), count("event = '$click'"), count("event = '$pageview'"), zero, zero, hv),
	}
	st.sel = strings.Join(parts, "\nUNION ALL\n")

	res := &HeatmapResult{URL: q.URL, Viewport: q.Viewport, Grid: q.Grid, Layer: q.Layer, Points: []HeatPoint{}, Elements: []HeatElement{}, Scroll: []ScrollDepth{}}
	depths := map[int64]int64{} // page leaves by floor(depth / 5)
	read := func(_ int, rows *sql.Rows) error {
		for rows.Next() {
			var kind string
			var a, b sql.NullInt64
			var sel sql.NullString
			var n [4]int64
			if err := rows.Scan(&kind, &a, &b, &sel, &n[0], &n[1], &n[2], &n[3]); err != nil {
				return fmt.Errorf("heatmap: read row: %w", err)
			}
			switch kind {
			case "c":
				res.Points = append(res.Points, HeatPoint{X: float64(a.Int64 * int64(q.Grid)), Y: float64(b.Int64 * int64(q.Grid)), Count: n[0]})
			case "e":
				res.Elements = append(res.Elements, HeatElement{Selector: sel.String, Clicks: n[0], RageClicks: n[1], DeadClicks: n[2], ErrorClicks: n[3]})
			case "s":
				depths[a.Int64] += n[0]
				res.ScrollSeen += n[0]
			case "t":
				res.Clicks, res.PageViews = n[0], n[1]
			}
		}
		return nil
	}
	done := func() (Result, error) {
		slices.SortFunc(res.Points, func(p, o HeatPoint) int {
			return cmp.Or(cmp.Compare(o.Count, p.Count), cmp.Compare(p.Y, o.Y), cmp.Compare(p.X, o.X))
		})
		slices.SortFunc(res.Elements, func(e, o HeatElement) int {
			return cmp.Or(cmp.Compare(o.Clicks, e.Clicks), cmp.Compare(o.RageClicks, e.RageClicks), cmp.Compare(e.Selector, o.Selector))
		})
		// A page leave reached pct % when its depth is at least pct: when
		// its step, floor(depth / 5), is at least pct / 5.
		for pct := 0; pct <= 100; pct += 5 {
			sd := ScrollDepth{Percent: pct}
			for step, n := range depths {
				if step >= int64(pct/5) {
					sd.Count += n
				}
			}
			if res.ScrollSeen > 0 {
				sd.Share = float64(sd.Count) / float64(res.ScrollSeen)
			}
			res.Scroll = append(res.Scroll, sd)
		}
		return res, nil
	}
	return &compiled{stmts: []Statement{{SQL: d.render(st), Args: c.b.args}}, read: read, done: done}, nil
}

// heatEvents are the events a heatmap reads. Only clicks and the
// frustration events carry the rage, dead and error flags (event.Normalize
// sets them), so the list stands for "clicks, page views, page leaves and
// flagged events": an IN list costs the scan much less than an OR of it
// and the flags.
const heatEvents = "'$click', '$pageview', '$pageleave', '$rageclick', '$deadclick', '$errorclick'"

// zero is a count that a branch of a UNION does not have.
const zero = "CAST(0 AS BIGINT)"
