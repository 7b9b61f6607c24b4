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
// it and only the partial days at the ends from the events.
func (c *compiler) heatmap(q *Heatmap) (*compiled, error) {
	d := c.d
	global, err := c.globalPreds(&q.Common)
	if err != nil {
		return nil, err
	}
	// ranges are the spans read from the events; days, when set, the UTC
	// days read from the rollup.
	ranges := [][2]time.Time{{c.sp.From, c.sp.To}}
	var days *[2]time.Time
	if d.rollups() && global == "TRUE" && q.Grid%store.HeatCell == 0 && strings.HasPrefix(q.URL, "/") {
		if d0, d1, edges, ok := utcDays(c.sp.From, c.sp.To); ok {
			days, ranges = &[2]time.Time{d0, d1}, edges
		}
	}
	var st stmt
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
	st.sel = strings.Join(c.heatParts(q, hv, days), "\nUNION ALL\n")

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

// heatParts are the heatmap's four branches: the cells, the elements, the
// scroll steps and the totals. Each sums rows from the rollup's days (when
// days is set) and from the events of hv (when hv is not ""), every branch
// with the columns kind, a, b, s, n1…n4 (counts as BIGINT: ClickHouse's
// are unsigned). The aliases of the sums must not name columns (see
// sessionAgg).
func (c *compiler) heatParts(q *Heatmap, hv string, days *[2]time.Time) []string {
	d := c.d
	var pred string
	if days != nil {
		pred = and("e.project_id = "+c.p(c.proj),
			"e.day >= CAST("+c.p(days[0].Format(time.DateOnly))+" AS DATE)",
			"e.day < CAST("+c.p(days[1].Format(time.DateOnly))+" AS DATE)",
			c.urlPred(q.URL))
		if q.Viewport != "all" {
			pred = and(pred, "e.vb = "+c.p(int64(store.ViewportBuckets[q.Viewport].Code)))
		}
	}
	// from is the rows of a branch: the rollup's (rollup(pred)) and the
	// events' (events(hv)), whichever there are.
	from := func(rollup func(pred string) string, events func(hv string) string) string {
		var srcs []string
		if days != nil {
			srcs = append(srcs, rollup(pred))
		}
		if hv != "" {
			srcs = append(srcs, events(hv))
		}
		return "(" + strings.Join(srcs, " UNION ALL ") + ") AS h"
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
	sum := func(col string) string { return "CAST(coalesce(sum(" + col + "), 0) AS BIGINT)" }
	nullInt, nullText := d.nullOf("BIGINT"), d.nullOf("VARCHAR")
	return []string{
		fmt.Sprintf("SELECT * FROM (SELECT 'c' AS kind, ca AS a, cb AS b, %s AS s, %s AS n1, %s AS n2, %s AS n3, %s AS n4 FROM %s GROUP BY ca, cb ORDER BY n1 DESC, b, a LIMIT %d) AS cells",
			nullText, sum("cn"), zero, zero, zero,
			from(func(pred string) string {
				return "SELECT " + cell("e.cx") + " AS ca, " + cell("e.cy") + " AS cb, e." + n + " AS cn FROM heat_cells e WHERE " + pred + " AND e." + n + " > 0"
			}, func(hv string) string {
				g := c.p(int64(q.Grid))
				return "SELECT CAST(floor(x / " + g + ") AS BIGINT) AS ca, CAST(floor(y / " + g + ") AS BIGINT) AS cb, " + one + " AS cn FROM " + hv + " AS h WHERE " + heatLayers[q.Layer] + " AND " + placed
			}),
			maxHeatPoints),
		fmt.Sprintf("SELECT * FROM (SELECT 'e' AS kind, %s AS a, %s AS b, sel AS s, %s AS n1, %s AS n2, %s AS n3, %s AS n4 FROM %s GROUP BY sel ORDER BY n1 DESC, n2 DESC, s LIMIT %d) AS elements",
			nullInt, nullInt, sum("c1"), sum("c2"), sum("c3"), sum("c4"),
			from(func(pred string) string {
				return "SELECT e.selector AS sel, e.clicks AS c1, e.rage AS c2, e.dead AS c3, e.errors AS c4 FROM heat_elements e WHERE " + pred
			}, func(hv string) string {
				return "SELECT selector AS sel, " + flag("event = '$click'") + " AS c1, " + flag("rage") + " AS c2, " + flag("dead") + " AS c3, " + flag("error_click") + " AS c4 FROM " + hv + " AS h WHERE (event = '$click' OR rage OR dead OR error_click) AND selector <> ''"
			}),
			q.Limit),
		// Page leaves by depth, in steps of 5 % (see read).
		fmt.Sprintf("SELECT 's' AS kind, st AS a, %s AS b, %s AS s, %s AS n1, %s AS n2, %s AS n3, %s AS n4 FROM %s GROUP BY st",
			nullInt, nullText, sum("sn"), zero, zero, zero,
			from(func(pred string) string {
				return "SELECT e.step AS st, e.n AS sn FROM heat_steps e WHERE " + pred
			}, func(hv string) string {
				return "SELECT CAST(floor(depth / 5) AS BIGINT) AS st, " + one + " AS sn FROM " + hv + " AS h WHERE " + measured
			})),
		fmt.Sprintf("SELECT 't' AS kind, %s AS a, %s AS b, %s AS s, %s AS n1, %s AS n2, %s AS n3, %s AS n4 FROM %s",
			nullInt, nullInt, nullText, sum("pc"), sum("pv"), zero, zero,
			from(func(pred string) string {
				return "SELECT e.clicks AS pc, e.pageviews AS pv FROM heat_pages e WHERE " + pred
			}, func(hv string) string {
				return "SELECT " + flag("event = '$click'") + " AS pc, " + flag("event = '$pageview'") + " AS pv FROM " + hv + " AS h"
			})),
	}
}

// utcDays splits [from, to) into its whole UTC days [d0, d1), which a
// rollup can answer, and the partial days around them, edges, which only
// the events can; ok is false when there is no whole day.
func utcDays(from, to time.Time) (d0, d1 time.Time, edges [][2]time.Time, ok bool) {
	const day = 24 * time.Hour
	from, to = from.UTC(), to.UTC()
	d0, d1 = from.Truncate(day), to.Truncate(day)
	if d0.Before(from) {
		d0 = d0.Add(day)
	}
	if !d0.Before(d1) {
		return d0, d1, nil, false
	}
	if from.Before(d0) {
		edges = append(edges, [2]time.Time{from, d0})
	}
	if d1.Before(to) {
		edges = append(edges, [2]time.Time{d1, to})
	}
	return d0, d1, edges, true
}
