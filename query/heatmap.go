package query

import (
	"cmp"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sightline-analytics/sightline/store"
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
	if vp == "all" {
		return "TRUE"
	}
	r := store.ViewportBuckets[vp]
	var w []string
	if r.Min > 0 {
		w = append(w, "e.viewport_width >= "+c.p(int64(r.Min)))
	}
	if r.Max > 0 {
		w = append(w, "e.viewport_width <= "+c.p(int64(r.Max)))
	}
	// Events sent without a viewport (the SDK's $pageleave) fall back to
	// the device type. (An OR costs the scan less than the equivalent CASE;
	// every range starts above 0.)
	return "(" + and(w...) + " OR (coalesce(e.viewport_width, 0) <= 0 AND e.device_type = " + c.p(vp) + "))"
}

// heatmap reads the page's events once: the cells, the elements, the
// scroll depths and the totals are four small aggregations over them. When
// the store keeps the heat rollup, the whole UTC days of the range come from
// it and only the partial days at the ends from the events (see heatRollupParts).
func (c *compiler) heatmap(q *Heatmap) (*compiled, error) {
	d := c.d
	global, err := c.globalPreds(&q.Common)
	if err != nil {
		return nil, err
	}
	// The rollup's days are UTC days: [d0, d1) are the range's whole ones.
	from, to := c.sp.From.UTC(), c.sp.To.UTC()
	d0, d1 := from.Truncate(24*time.Hour), to.Truncate(24*time.Hour)
	if d0.Before(from) {
		d0 = d0.Add(24 * time.Hour)
	}
	rollup := d.rollups() && global == "TRUE" && q.Grid%store.HeatCell == 0 && strings.HasPrefix(q.URL, "/") && d0.Before(d1)
	var st stmt
	// hv holds the events the rollup does not cover: all of them, or those
	// of the partial days.
	ranges := [][2]time.Time{{from, to}}
	if rollup {
		ranges = ranges[:0]
		if from.Before(d0) {
			ranges = append(ranges, [2]time.Time{from, d0})
		}
		if d1.Before(to) {
			ranges = append(ranges, [2]time.Time{d1, to})
		}
	}
	var hv string
	if len(ranges) > 0 {
		var scans []string
		for _, r := range ranges {
			// Each range is its own scan, so that its timestamp bounds
			// prune row groups.
			base := and(c.rangePred(r[0], r[1]), c.urlPred(q.URL), c.viewportPred(q.Viewport), global)
			scans = append(scans, "SELECT e.event AS event, e.x AS x, e.y AS y, e.selector AS selector, e.rage AS rage, e.dead AS dead, e.error_click AS error_click, "+
				"CASE WHEN e.event = '$pageleave' THEN "+d.scrollDepth()+" END AS depth FROM "+c.from()+
				" WHERE e.event IN ("+heatEvents+") AND "+base)
		}
		hv = st.withMaterialized("hv", strings.Join(scans, "\nUNION ALL\n"))
	}
	count := func(cond string) string {
		if cond == "" {
			return "CAST(count(*) AS BIGINT)"
		}
		return "CAST(" + d.countIf(cond) + " AS BIGINT)"
	}
	// Every branch has the columns kind, a, b, s, n1…n4 (counts as BIGINT:
	// ClickHouse's are unsigned).
	var parts []string
	if !rollup {
		g := c.p(int64(q.Grid))
		parts = []string{
			fmt.Sprintf("SELECT * FROM (SELECT 'c' AS kind, CAST(floor(x / %s) AS BIGINT) AS a, CAST(floor(y / %s) AS BIGINT) AS b, %s AS s, %s AS n1, %s AS n2, %s AS n3, %s AS n4 FROM %s AS h WHERE %s AND %s GROUP BY a, b ORDER BY n1 DESC, b, a LIMIT %d) AS cells",
				g, g, d.nullOf("VARCHAR"), count(""), zero, zero, zero, hv, heatLayers[q.Layer], placed, maxHeatPoints),
			// The aliases must not name columns (see sessionAgg).
			fmt.Sprintf("SELECT * FROM (SELECT 'e' AS kind, %s AS a, %s AS b, selector AS s, %s AS n1, %s AS n2, %s AS n3, %s AS n4 FROM %s AS h WHERE (event = '$click' OR rage OR dead OR error_click) AND selector <> '' GROUP BY selector ORDER BY n1 DESC, n2 DESC, s LIMIT %d) AS elements",
				d.nullOf("BIGINT"), d.nullOf("BIGINT"), count("event = '$click'"), count("rage"), count("dead"), count("error_click"), hv, q.Limit),
			// Page leaves by depth, in steps of 5 % (see read).
			fmt.Sprintf("SELECT 's' AS kind, CAST(floor(depth / 5) AS BIGINT) AS a, %s AS b, %s AS s, %s AS n1, %s AS n2, %s AS n3, %s AS n4 FROM %s AS h WHERE %s GROUP BY a",
				d.nullOf("BIGINT"), d.nullOf("VARCHAR"), count(""), zero, zero, zero, hv, measured),
			fmt.Sprintf("SELECT 't' AS kind, %s AS a, %s AS b, %s AS s, %s AS n1, %s AS n2, %s AS n3, %s AS n4 FROM %s AS h",
				d.nullOf("BIGINT"), d.nullOf("BIGINT"), d.nullOf("VARCHAR"), count("event = '$click'"), count("event = '$pageview'"), zero, zero, hv),
		}
	} else {
		parts = c.heatRollupParts(q, hv, d0, d1)
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
var heatEvents = "'" + strings.Join(store.HeatEvents, "', '") + "'"

// placed is true of the hv rows that have a place on the page: a click
// without a position (keyboard-activated: x and y are 0) has none, nor have
// coordinates beyond any page (see store.HeatCell's rollup, which leaves
// them out too). measured is true of the page leaves with a scroll depth.
const (
	placed   = "(x <> 0 OR y <> 0) AND abs(x) < 1e15 AND abs(y) < 1e15"
	measured = "depth IS NOT NULL AND abs(depth) < 1e15"
)

// zero is a count that a branch of a UNION does not have.
const zero = "CAST(0 AS BIGINT)"

// heatRollupCounts are the rollup's count columns of each layer (see
// heatLayers).
var heatRollupCounts = map[string]string{"clicks": "clicks", "rage": "rage", "dead": "dead", "error": "errors"}

// heatRollupParts are the heatmap's four branches over the rollup's days
// [d0, d1) and the events of hv (the partial days; "" when there are none).
func (c *compiler) heatRollupParts(q *Heatmap, hv string, d0, d1 time.Time) []string {
	pred := and("e.project_id = "+c.p(c.proj),
		"e.day >= CAST("+c.p(d0.Format(time.DateOnly))+" AS DATE)",
		"e.day < CAST("+c.p(d1.Format(time.DateOnly))+" AS DATE)",
		c.urlPred(q.URL))
	if q.Viewport != "all" {
		pred = and(pred, "e.vb = "+c.p(int64(store.ViewportBuckets[q.Viewport].Code)))
	}
	// union is the rollup's rows, plus the events' rows when there are any.
	union := func(rollup string, events func() string) string {
		if hv == "" {
			return rollup
		}
		return rollup + " UNION ALL " + events()
	}
	cell := func(col string) string { // a rollup cell's column in grid cells
		if q.Grid == store.HeatCell {
			return col
		}
		return "CAST(floor(" + col + " / " + c.p(int64(q.Grid/store.HeatCell)) + ") AS BIGINT)"
	}
	n := heatRollupCounts[q.Layer]
	one := "CAST(1 AS BIGINT)"
	flag := func(cond string) string { return "CAST(" + cond + " AS BIGINT)" }
	return []string{
		fmt.Sprintf("SELECT * FROM (SELECT 'c' AS kind, ca AS a, cb AS b, CAST(NULL AS VARCHAR) AS s, CAST(sum(cn) AS BIGINT) AS n1, %s AS n2, %s AS n3, %s AS n4 FROM (%s) AS h GROUP BY ca, cb ORDER BY n1 DESC, b, a LIMIT %d) AS cells",
			zero, zero, zero,
			union("SELECT "+cell("e.cx")+" AS ca, "+cell("e.cy")+" AS cb, e."+n+" AS cn FROM heat_cells e WHERE "+pred+" AND e."+n+" > 0",
				func() string {
					g := c.p(int64(q.Grid))
					return "SELECT CAST(floor(x / " + g + ") AS BIGINT), CAST(floor(y / " + g + ") AS BIGINT), " + one + " FROM " + hv + " AS h WHERE " + heatLayers[q.Layer] + " AND " + placed
				}),
			maxHeatPoints),
		fmt.Sprintf("SELECT * FROM (SELECT 'e' AS kind, CAST(NULL AS BIGINT) AS a, CAST(NULL AS BIGINT) AS b, sel AS s, CAST(sum(c1) AS BIGINT) AS n1, CAST(sum(c2) AS BIGINT) AS n2, CAST(sum(c3) AS BIGINT) AS n3, CAST(sum(c4) AS BIGINT) AS n4 FROM (%s) AS h GROUP BY sel ORDER BY n1 DESC, n2 DESC, s LIMIT %d) AS elements",
			union("SELECT e.selector AS sel, e.clicks AS c1, e.rage AS c2, e.dead AS c3, e.errors AS c4 FROM heat_elements e WHERE "+pred,
				func() string {
					return "SELECT selector, " + flag("event = '$click'") + ", " + flag("rage") + ", " + flag("dead") + ", " + flag("error_click") + " FROM " + hv + " AS h WHERE (event = '$click' OR rage OR dead OR error_click) AND selector <> ''"
				}),
			q.Limit),
		fmt.Sprintf("SELECT 's' AS kind, st AS a, CAST(NULL AS BIGINT) AS b, CAST(NULL AS VARCHAR) AS s, CAST(sum(sn) AS BIGINT) AS n1, %s AS n2, %s AS n3, %s AS n4 FROM (%s) AS h GROUP BY st",
			zero, zero, zero,
			union("SELECT e.step AS st, e.n AS sn FROM heat_steps e WHERE "+pred,
				func() string {
					return "SELECT CAST(floor(depth / 5) AS BIGINT), " + one + " FROM " + hv + " AS h WHERE " + measured
				})),
		fmt.Sprintf("SELECT 't' AS kind, CAST(NULL AS BIGINT) AS a, CAST(NULL AS BIGINT) AS b, CAST(NULL AS VARCHAR) AS s, CAST(coalesce(sum(pc), 0) AS BIGINT) AS n1, CAST(coalesce(sum(pv), 0) AS BIGINT) AS n2, %s AS n3, %s AS n4 FROM (%s) AS h",
			zero, zero,
			union("SELECT e.clicks AS pc, e.pageviews AS pv FROM heat_pages e WHERE "+pred,
				func() string {
					return "SELECT " + flag("event = '$click'") + ", " + flag("event = '$pageview'") + " FROM " + hv + " AS h"
				})),
	}
}
