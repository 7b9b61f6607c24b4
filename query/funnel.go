package query

import (
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Funnel semantics (DESIGN.md, Contracts): each person (or session) counts
// once, at the furthest step reached by any attempt. An attempt starts at a
// step-1 event inside the date range; each later step is a different event
// that comes after the previous step's event in event order (timestamp,
// then UUID) and no later than window_seconds after the attempt's start
// (the boundary itself is inside). Later steps may fall after date_to.
//
//   - ordered: other events may come between steps; the earliest next step
//     is always the best choice, so attempts are chains of "next matching
//     event" lookups.
//   - strict: step k+1 must be the very next event of the person (or
//     session) after step k, counting every event that passes the query's
//     filters.
//   - unordered: an attempt starts at any step's event; it reaches as many
//     steps as have a matching event in [start, start + window]. One event
//     may satisfy several steps when it matches them.
//
// Exclusions (ordered funnels): an attempt is dropped when an exclusion
// event comes after its from_step event and before its to_step event, or,
// when it never reached to_step, within its window. A person (or session)
// whose every attempt is dropped is not counted at all.
//
// The best attempt (furthest; then the latest start, as ClickHouse's
// windowFunnel keeps) gives the times between steps and the session that
// the person converted or dropped in. With a
// breakdown, the value comes from the attempt's first event (first touch),
// and a person counts once per value.

// FunnelResult answers a funnel query.
type FunnelResult struct {
	Steps         []FunnelStepResult `json:"steps"`
	Breakdowns    []FunnelBreakdown  `json:"breakdowns,omitempty"`
	Histogram     []HistogramBin     `json:"histogram"`
	CountBy       string             `json:"count_by"`
	Order         string             `json:"order"`
	WindowSeconds int64              `json:"window_seconds"`
	DateFrom      string             `json:"date_from"`
	DateTo        string             `json:"date_to"`
}

// FunnelStepResult is one step's outcome.
type FunnelStepResult struct {
	Step  int    `json:"step"`
	Label string `json:"label"`
	Count int64  `json:"count"`
	// Conversion is Count over the first step's count;
	// ConversionFromPrevious over the previous step's.
	Conversion             float64 `json:"conversion"`
	ConversionFromPrevious float64 `json:"conversion_from_previous"`
	DropOff                int64   `json:"drop_off"`
	// Times from the previous step, over those who reached this step.
	MedianSeconds float64 `json:"median_seconds"`
	P90Seconds    float64 `json:"p90_seconds"`
	AvgSeconds    float64 `json:"avg_seconds"`
	// Converted lists some who reached this step, Dropped some who reached
	// the previous step but not this one, with the session to replay.
	Converted []FunnelEntity `json:"converted"`
	Dropped   []FunnelEntity `json:"dropped"`
}

// FunnelEntity is a person or session in a funnel sample.
type FunnelEntity struct {
	PersonID  string `json:"person_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
}

// FunnelBreakdown is the funnel of one breakdown value.
type FunnelBreakdown struct {
	Value string             `json:"value"`
	Label string             `json:"label,omitempty"`
	Steps []FunnelStepResult `json:"steps"`
}

// HistogramBin counts conversions (first to last step) that took
// [FromSeconds, ToSeconds).
type HistogramBin struct {
	FromSeconds float64 `json:"from_seconds"`
	ToSeconds   float64 `json:"to_seconds"`
	Count       int64   `json:"count"`
}

// funnelPlan is what a dialect needs to list attempts. The ev CTE has
// columns entity, ts, uuid, sid (session id), bd (breakdown value), pid
// (person id, when withPid), s0…s{n-1} (step matches) and x0… (exclusion
// matches). Attempts have columns entity, bd, sid, pid, level (steps
// reached, ≥ 1) and t0…t{n-1} (the time of each reached step, NULL beyond
// level).
type funnelPlan struct {
	n        int
	order    string
	window   int64
	ev       string
	from, to time.Time
	excl     []exclPlan
	withPid  bool
	// byBreakdown: bd holds a property breakdown's value.
	byBreakdown bool
	// bySession: entities are sessions, else persons.
	bySession bool
	// evScoped is the SELECT of ev with one more condition.
	evScoped func(cond string) string
	// Set by the dialect: microTimes when the attempts' times are
	// microseconds since the epoch (BIGINT) rather than timestamps, and
	// toTime, which turns them into the event timestamps they are;
	// oneAttempt when there is already a single, best attempt per entity
	// and bd value.
	microTimes, oneAttempt bool
	toTime                 func(col string) string
	// sessions, when set, finds the sessions that the attempts leave out
	// (their sid is ''): it turns rows (a SELECT of bd, level, entity, sid
	// and t0…t{n-1}) into bd, level, entity and sid.
	sessions func(rows string) string
}

type exclPlan struct{ from, to int } // 0-based step indexes

const allValue = "$all"

// funnelCore is a funnel compiled up to each entity's best attempt: the
// statement so far, its plan, and best, the CTE of the best attempts with
// columns entity, bd, level, t0…t{n-1} and sid (see funnelPlan). The
// funnel's statistics and its drill-down (funnel_actors) both read best,
// so their counts agree.
type funnelCore struct {
	st   stmt
	p    *funnelPlan
	best string
	// segNames names the segments of a segment breakdown by id.
	segNames map[string]string
}

// epoch is the attempt time column col in seconds since the epoch.
func (core *funnelCore) epoch(d Dialect, col string) string {
	if core.p.microTimes {
		return "(" + col + " / 1000000)"
	}
	return d.epoch(col)
}

// time is the attempt time column col as an event timestamp.
func (core *funnelCore) time(col string) string {
	if core.p.microTimes {
		return core.p.toTime(col)
	}
	return col
}

func (c *compiler) funnel(q *Funnel) (*compiled, error) {
	core, err := c.funnelCore(q, q.Breakdown != nil)
	if err != nil {
		return nil, err
	}
	return c.funnelStats(q, core)
}

// funnelCore compiles q up to the best attempts. With overall (and a
// breakdown), best also holds the overall funnel's best attempts under the
// breakdown value allValue.
func (c *compiler) funnelCore(q *Funnel, overall bool) (*funnelCore, error) {
	d := c.d
	sp := c.sp
	n := len(q.Steps)
	ts := "e." + d.ident("timestamp")
	p := &funnelPlan{n: n, order: q.Order, window: q.WindowSeconds, from: sp.From, to: sp.To}
	bd := q.Breakdown
	segBreakdown := bd != nil && bd.Type == "segment"

	cols := []string{}
	if q.CountBy == "session" {
		cols = append(cols, "e.session_id AS entity")
	} else {
		c.needPerson = true
		cols = append(cols, d.personID()+" AS entity")
	}
	cols = append(cols, ts+" AS ts", "e.uuid AS uuid", "e.session_id AS sid")
	if bd != nil && !segBreakdown {
		p.byBreakdown = true
		text, _ := c.propExpr(bd.Type, bd.Prop)
		cols = append(cols, "coalesce("+text+", '') AS bd")
	} else {
		cols = append(cols, "'' AS bd")
	}
	if segBreakdown {
		p.withPid = true
		c.needPerson = true
		cols = append(cols, d.personID()+" AS pid")
	}
	var any []string
	for i, s := range q.Steps {
		m, err := c.eventMatch(s.EventRef)
		if err != nil {
			return nil, fieldErr(err, index("steps", i))
		}
		any = append(any, m)
		cols = append(cols, d.flag(m, i)+fmt.Sprintf(" AS s%d", i))
	}
	for i, x := range q.Exclusions {
		m, err := c.eventMatch(x.EventRef)
		if err != nil {
			return nil, fieldErr(err, index("exclusions", i))
		}
		any = append(any, m)
		cols = append(cols, d.flag(m, 1000+i)+fmt.Sprintf(" AS x%d", i))
		p.excl = append(p.excl, exclPlan{x.FromStep - 1, x.ToStep - 1})
	}
	global, err := c.globalPreds(&q.Common)
	if err != nil {
		return nil, err
	}
	to := sp.To.Add(time.Duration(q.WindowSeconds) * time.Second)
	conds := []string{c.rangePred(sp.From, to), global}
	if q.Order != "strict" {
		conds = append(conds, or(any...))
	}
	if q.CountBy == "session" {
		conds = append(conds, "e.session_id <> ''")
	}
	var st stmt
	from := c.from()
	p.evScoped = func(scope string) string {
		return "SELECT " + strings.Join(cols, ", ") + "\nFROM " + from + "\nWHERE " + and(append(slices.Clip(conds), scope)...)
	}
	p.bySession = q.CountBy == "session"
	p.ev = st.with("ev", "SELECT "+strings.Join(cols, ", ")+"\nFROM "+from+"\nWHERE "+and(conds...))
	att, err := d.funnelAttempts(c, &st, p)
	if err != nil {
		return nil, err
	}

	// Breakdown values outside the top N (by entities at step 1) are merged.
	if bd != nil && !segBreakdown {
		top := st.with("top", "SELECT bd FROM "+att+" AS a GROUP BY bd ORDER BY "+d.countDistinct("entity")+" DESC, bd LIMIT "+strconv.Itoa(bd.Limit))
		tcols := []string{"entity", "CASE WHEN bd IN (SELECT bd FROM " + top + " AS top) THEN bd ELSE '" + otherValue + "' END AS bd", "sid", "level"}
		for k := 0; k < n; k++ {
			tcols = append(tcols, fmt.Sprintf("t%d", k))
		}
		att = st.with("att_top", "SELECT "+strings.Join(tcols, ", ")+" FROM "+att+" AS a")
	}
	var best string
	if p.oneAttempt && (bd == nil || segBreakdown) {
		cols := []string{"entity", "bd", "level", "sid"}
		for k := 0; k < n; k++ {
			cols = append(cols, fmt.Sprintf("t%d", k))
		}
		if p.withPid {
			cols = append(cols, "pid")
		}
		best = st.withMaterialized("best", "SELECT "+strings.Join(cols, ", ")+" FROM "+att+" AS a")
	} else {
		best = d.funnelBest(c, &st, att, p, "best", true)
	}
	segNames := map[string]string{}
	if segBreakdown {
		var members []string
		for _, id := range bd.Segments {
			sub, err := c.segmentPersons(id)
			if err != nil {
				return nil, err
			}
			key := strconv.FormatInt(id, 10)
			segNames[key] = c.defs.segments[id].Name
			members = append(members, "SELECT person_id, "+c.p(key)+" AS sb FROM ("+sub+") s"+key)
		}
		mem := st.with("members", strings.Join(members, "\nUNION ALL\n"))
		bcols := []string{"b.entity AS entity", "members.sb AS bd", "b.sid AS sid", "b.level AS level"}
		for k := 0; k < n; k++ {
			bcols = append(bcols, fmt.Sprintf("b.t%d AS t%d", k, k))
		}
		best = st.withMaterialized("best_seg", "SELECT "+strings.Join(bcols, ", ")+" FROM "+best+" AS b JOIN "+mem+" AS members ON members.person_id = b.pid")
	}
	if bd != nil && overall {
		// The overall funnel counts each entity once across values.
		all := d.funnelBest(c, &st, att, p, "best_overall", false)
		bcols := []string{"entity", "'" + allValue + "' AS bd", "sid", "level"}
		for k := 0; k < n; k++ {
			bcols = append(bcols, fmt.Sprintf("t%d", k))
		}
		bcols2 := append([]string{}, bcols...)
		bcols2[1] = "bd"
		best = st.withMaterialized("best_all", "SELECT "+strings.Join(bcols2, ", ")+" FROM "+best+" AS b UNION ALL SELECT "+strings.Join(bcols, ", ")+" FROM "+all+" AS b")
	}
	return &funnelCore{st: st, p: p, best: best, segNames: segNames}, nil
}

// funnelStats reads the funnel's result from its best attempts.
func (c *compiler) funnelStats(q *Funnel, core *funnelCore) (*compiled, error) {
	d := c.d
	sp := c.sp
	n := len(q.Steps)
	bd := q.Breakdown
	st, best, segNames := core.st, core.best, core.segNames

	// Output rows: kind S (step stats), H (histogram), P (samples).
	nullS, nullX := d.nullOf("VARCHAR"), d.nullOf("DOUBLE")
	var parts []string
	for k := 1; k <= n; k++ {
		reached := fmt.Sprintf("level >= %d", k)
		med, p90, avg := nullX, nullX, nullX
		if k > 1 {
			dt := fmt.Sprintf("%s - %s", core.epoch(d, fmt.Sprintf("t%d", k-1)), core.epoch(d, fmt.Sprintf("t%d", k-2)))
			med, p90, avg = d.quantileIf(dt, 0.5, reached), d.quantileIf(dt, 0.9, reached), d.aggIf("avg", dt, reached)
		}
		parts = append(parts, fmt.Sprintf("SELECT 'S' AS kind, bd, %d AS i, %s AS s, %s AS s2, CAST(%s AS DOUBLE) AS x1, %s AS x2, %s AS x3, %s AS x4 FROM %s AS b GROUP BY bd",
			k, nullS, nullS, d.countIf(reached), med, p90, avg, best))
	}
	total := fmt.Sprintf("%s - %s", core.epoch(d, fmt.Sprintf("t%d", n-1)), core.epoch(d, "t0"))
	conv := st.with("conv", fmt.Sprintf("SELECT bd, %s AS total FROM %s AS b WHERE level = %d", total, best, n))
	bins := q.HistogramBins
	width := st.with("width", fmt.Sprintf("SELECT max(total) / %d AS w FROM %s AS conv", bins, conv))
	parts = append(parts, fmt.Sprintf("SELECT 'H' AS kind, bd, CAST(CASE WHEN w > 0 THEN least(floor(total / w), %d) ELSE 0 END AS BIGINT) AS i, %s AS s, %s AS s2, CAST(count(*) AS DOUBLE) AS x1, max(w) AS x2, %s AS x3, %s AS x4 FROM %s AS conv CROSS JOIN %s AS width GROUP BY bd, i",
		bins-1, nullS, nullS, nullX, nullX, conv, width))
	if q.Samples > 0 {
		cols := "bd, level, entity, sid"
		if core.p.sessions != nil {
			for k := 0; k < n; k++ {
				cols += fmt.Sprintf(", t%d", k)
			}
		}
		samples := d.topPerGroup(best+" AS b", cols, "bd, level", "entity", q.Samples)
		if core.p.sessions != nil {
			samples = core.p.sessions(samples)
		}
		parts = append(parts, "SELECT 'P' AS kind, bd, level AS i, entity AS s, sid AS s2, "+nullX+" AS x1, "+nullX+" AS x2, "+nullX+" AS x3, "+nullX+" AS x4 FROM ("+samples+") smp")
	}
	st.sel = strings.Join(parts, "\nUNION ALL\n") + "\nORDER BY kind, bd, i, s"

	type stepAcc struct {
		count         int64
		med, p90, avg float64
	}
	stats := map[string][]stepAcc{}
	samplesAt := map[string]map[int][]FunnelEntity{} // bd → level → entities
	hist := map[int64]int64{}
	var histWidth float64
	get := func(bv string) []stepAcc {
		s := stats[bv]
		if s == nil {
			s = make([]stepAcc, n)
			stats[bv] = s
		}
		return s
	}
	read := func(_ int, rows *sql.Rows) error {
		for rows.Next() {
			var kind, bv string
			var i int64
			var s, s2 sql.NullString
			var x1, x2, x3, x4 sql.NullFloat64
			if err := rows.Scan(&kind, &bv, &i, &s, &s2, &x1, &x2, &x3, &x4); err != nil {
				return fmt.Errorf("funnel: read row: %w", err)
			}
			switch kind {
			case "S":
				acc := get(bv)
				acc[i-1] = stepAcc{count: int64(x1.Float64), med: x2.Float64, p90: x3.Float64, avg: x4.Float64}
			case "H":
				if bd == nil || bv == allValue {
					hist[i] += int64(x1.Float64)
					histWidth = x2.Float64
				}
			case "P":
				m := samplesAt[bv]
				if m == nil {
					m = map[int][]FunnelEntity{}
					samplesAt[bv] = m
				}
				fe := FunnelEntity{SessionID: s2.String}
				if q.CountBy == "person" {
					fe.PersonID = s.String
				}
				m[int(i)] = append(m[int(i)], fe)
			}
		}
		return nil
	}
	labels := c.funnelLabels(q)
	stepsOf := func(bv string) []FunnelStepResult {
		acc := get(bv)
		out := make([]FunnelStepResult, n)
		for k := range out {
			a := acc[k]
			r := FunnelStepResult{Step: k + 1, Label: labels[k], Count: a.count, MedianSeconds: a.med, P90Seconds: a.p90, AvgSeconds: a.avg,
				Converted: []FunnelEntity{}, Dropped: []FunnelEntity{}}
			if first := acc[0].count; first > 0 {
				r.Conversion = float64(a.count) / float64(first)
			}
			if k == 0 {
				if a.count > 0 {
					r.ConversionFromPrevious = 1
				}
			} else {
				if prev := acc[k-1].count; prev > 0 {
					r.ConversionFromPrevious = float64(a.count) / float64(prev)
				}
				r.DropOff = acc[k-1].count - a.count
			}
			// Samples are listed per final level: converted at step k+1 are
			// those whose level ≥ k+1, dropped at k+1 those whose level is k.
			byLevel := samplesAt[bv]
			for lvl := k + 1; lvl <= n && len(r.Converted) < q.Samples; lvl++ {
				for _, e := range byLevel[lvl] {
					if len(r.Converted) == q.Samples {
						break
					}
					r.Converted = append(r.Converted, e)
				}
			}
			if k > 0 {
				r.Dropped = append(r.Dropped, byLevel[k]...)
			}
			out[k] = r
		}
		return out
	}
	done := func() (Result, error) {
		res := &FunnelResult{CountBy: q.CountBy, Order: q.Order, WindowSeconds: q.WindowSeconds,
			DateFrom: formatT(sp.From.In(sp.Loc)), DateTo: formatT(sp.To.In(sp.Loc)), Histogram: []HistogramBin{}}
		if bd == nil {
			res.Steps = stepsOf("")
		} else {
			res.Steps = stepsOf(allValue)
			var bvs []string
			for bv := range stats {
				if bv != allValue {
					bvs = append(bvs, bv)
				}
			}
			sort.Slice(bvs, func(i, j int) bool {
				a, b := bvs[i], bvs[j]
				if (a == otherValue) != (b == otherValue) {
					return b == otherValue
				}
				ca, cb := stats[a][0].count, stats[b][0].count
				if ca != cb {
					return ca > cb
				}
				return a < b
			})
			for _, bv := range bvs {
				v := bv
				if v == "" {
					v = noneValue
				}
				res.Breakdowns = append(res.Breakdowns, FunnelBreakdown{Value: v, Label: segNames[bv], Steps: stepsOf(bv)})
			}
		}
		if len(hist) > 0 {
			nb := int64(bins)
			if histWidth == 0 {
				nb = 1
			}
			for i := int64(0); i < nb; i++ {
				res.Histogram = append(res.Histogram, HistogramBin{FromSeconds: float64(i) * histWidth, ToSeconds: float64(i+1) * histWidth, Count: hist[i]})
			}
		}
		return res, nil
	}
	return &compiled{stmts: []Statement{{SQL: d.render(st), Args: c.b.args}}, read: read, done: done}, nil
}

// funnelLabels names the steps: their labels, else their events (in
// unordered funnels, the number of steps completed).
func (c *compiler) funnelLabels(q *Funnel) []string {
	labels := make([]string, len(q.Steps))
	for i, s := range q.Steps {
		labels[i] = s.Label
		if labels[i] == "" {
			labels[i] = c.eventLabel(s.EventRef)
		}
		if q.Order == "unordered" && s.Label == "" {
			labels[i] = fmt.Sprintf("Completed %d step", i+1)
			if i > 0 {
				labels[i] += "s"
			}
		}
	}
	return labels
}
