package query

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ClickHouse funnels and paths. 18.16 has no window functions, no ASOF
// joins and no array fold, so each entity's (or session's) events are
// collected into one array, sorted once by (timestamp, uuid) — the
// engine's event order — and split into parallel arrays (ts_, sid_, bd_,
// pid_, s0_…, x0_…). Each plan then walks those arrays with element-wise
// array functions only, in time and memory linear in the entity's events:
//
//   - a lambda never reads a column it is not given as an argument: one
//     that captures an array (arr[i] inside arrayMap) copies the whole
//     array for every element it maps, which is quadratic and is what
//     made the earlier plan slow and memory-hungry on busy persons;
//   - "the first matching event after position i", for every i at once,
//     is a run-length fill (chNext): the matching positions repeated over
//     the runs of positions that precede them;
//   - looking values up at a non-decreasing list of positions (chGather)
//     is a histogram of the positions (chCounts) and the values repeated
//     that many times. The positions an ordered attempt visits only grow
//     with its start, so every lookup of the plan is of that kind.
//
// The results are DuckDB's exactly (the differential tests compare them on
// every fixture): the same attempts, dominance rule, window arithmetic
// ((ts / 1e6) - (t0 / 1e6) <= window, as epoch() is computed there) and
// best-attempt choice.

// chNone is the timestamp of "no event": later than any window reaches,
// so a window check on it fails without a test of its own.
const chNone = "toInt64(9000000000000000000)"

// chArrays adds to st the grouped, sorted arrays of p.ev and returns the
// CTE. uuid only orders the events: it is not carried further. Sessions
// are carried as hashes (sid_): copying numbers to the positions a plan
// looks up is cheap where copying strings is not, and chResolveSessions
// turns the few that end up in a result back into ids. e_ is one past the
// last position: "no such event".
func chArrays(st *stmt, p *funnelPlan) string {
	pid := "pid"
	if !p.withPid {
		pid = "''"
	}
	fields := []string{"ts", "uuid", "cityHash64(sid)", "bd", pid}
	for k := 0; k < p.n; k++ {
		fields = append(fields, fmt.Sprintf("s%d", k))
	}
	for j := range p.excl {
		fields = append(fields, fmt.Sprintf("x%d", j))
	}
	grp := st.with("grp", "SELECT entity, arraySort(groupArray(tuple("+strings.Join(fields, ", ")+"))) AS evs FROM "+p.ev+" AS ev GROUP BY entity")
	names := []string{"ts_", "", "sid_", "bd_", "pid_"}
	for k := 0; k < p.n; k++ {
		names = append(names, fmt.Sprintf("s%d_", k))
	}
	for j := range p.excl {
		names = append(names, fmt.Sprintf("x%d_", j))
	}
	cols := []string{"entity"}
	for i, name := range names {
		if name != "" {
			cols = append(cols, fmt.Sprintf("arrayMap(x -> tupleElement(x, %d), evs) AS %s", i+1, name))
		}
	}
	cols = append(cols, "arrayEnumerate(evs) AS idx_", "toUInt32(length(evs) + 1) AS e_")
	return st.with("arr", "SELECT "+strings.Join(cols, ", ")+" FROM "+grp+" AS g")
}

// chFlatten concatenates an array of arrays (arrayFlatten is newer than
// 18.16).
func chFlatten(arrs string) string { return "arrayReduce('groupArrayArray', " + arrs + ")" }

// chNext is, for every position i of the entity, the first position after
// i where mask (an array of 0/1) is 1, or e_: the matching positions p,
// each repeated over the run of positions from the previous one to p − 1.
func chNext(mask string) string {
	p := "arrayFilter((j, x) -> x = 1, idx_, " + mask + ")"
	return chFlatten("arrayMap((v, q) -> arrayResize([v], v - q, v), arrayPushBack(" + p + ", e_), arrayPushFront(" + p + ", toUInt32(1)))")
}

// chCounts is the histogram of a non-decreasing array of positions b
// (values 1…e_) over the positions 1…e_: for each distinct value, the
// zeros of the gap before it and its multiplicity, then zeros up to e_.
// Distinct values are where b changes (arrayDistinct hashes, and costs
// more than the rest of the plan).
func chCounts(b string) string {
	changed := "arrayMap((v, w) -> toUInt8(v != w), " + b + ", " + chShiftRight(b, "0") + ")"
	d := "arrayFilter((v, f) -> f = 1, " + b + ", " + changed + ")"
	firsts := "arrayFilter((j, f) -> f = 1, arrayEnumerate(" + b + "), " + changed + ")"
	mult := "arrayMap((v, w) -> w - v, " + firsts + ", arrayPopFront(arrayPushBack(" + firsts + ", toUInt32(length(" + b + ") + 1))))"
	gaps := "arrayMap((v, w) -> v - w - 1, " + d + ", " + chShiftRight(d, "0") + ")"
	return "arrayConcat(" + chFlatten("arrayMap((g, m) -> arrayPushBack(arrayResize(emptyArrayUInt32(), g), toUInt32(m)), "+gaps+", "+mult+")") +
		", arrayResize(emptyArrayUInt32(), e_ - " + d + "[-1]))"
}

// chShiftRight is arr moved one position to the right, first, so that
// element i is arr[i − 1] (an empty array stays empty).
func chShiftRight(arr, first string) string {
	return "arraySlice(arrayPushFront(" + arr + ", " + first + "), 1, length(" + arr + "))"
}

// chGather looks the elements of a (length e_) up at the positions whose
// histogram is counts (chCounts): each element repeated that many times.
func chGather(a, counts string) string {
	return chFlatten("arrayMap((v, c) -> arrayResize([v], c, v), " + a + ", " + counts + ")")
}

// chTuple zips arrays of equal length into an array of tuples.
func chTuple(arrs ...string) string {
	var args []string
	for i := range arrs {
		args = append(args, fmt.Sprintf("a%d", i))
	}
	return "arrayMap((" + strings.Join(args, ", ") + ") -> tuple(" + strings.Join(args, ", ") + "), " + strings.Join(arrs, ", ") + ")"
}

// chWithinT: time t (epoch micros) is within the window of the attempt
// that started at t0, computed as DuckDB's within() is.
func chWithinT(c *compiler, t, t0 string, window int64) string {
	return fmt.Sprintf("(%s / 1000000) - (%s / 1000000) <= %s", t, t0, c.p(window))
}

func (chDialect) funnelAttempts(c *compiler, st *stmt, p *funnelPlan) (string, error) {
	arr := chArrays(st, p)
	switch p.order {
	case "strict":
		return chStrict(c, st, p, arr), nil
	case "unordered":
		return chUnordered(c, st, p, arr), nil
	}
	return chOrdered(c, st, p, arr), nil
}

// chExplode turns per-entity attempt attributes (name → array expression
// over src's columns) into one row per attempt, keeping those where keep
// (an array expression of 0/1, or "") is 1.
func chExplode(st *stmt, src, keep string, attrs [][2]string) string {
	var arrs, outs, names []string
	for _, a := range attrs {
		arrs = append(arrs, a[1]+" AS "+a[0]+"_a")
		outs = append(outs, a[0]+"_a AS "+a[0])
		names = append(names, a[0])
	}
	where, keepCol := "", ""
	if keep != "" {
		arrs = append(arrs, keep+" AS keep_a")
		outs = append(outs, "keep_a AS keep_")
		where, keepCol = " WHERE keep_ = 1", ", keep_"
	}
	attrsCTE := st.with("attrs", "SELECT entity, "+strings.Join(arrs, ", ")+" FROM "+src+" AS s")
	rows := st.with("att_rows", "SELECT entity, "+strings.Join(names, ", ")+keepCol+" FROM "+attrsCTE+" AS a ARRAY JOIN "+strings.Join(outs, ", "))
	return st.with("att", "SELECT entity, "+strings.Join(names, ", ")+" FROM "+rows+" AS r"+where)
}

// chSteps are the per-attempt output attributes from the attempts' levels
// (lv_), the times of their steps (tK_: chNone where not reached) and the
// sessions of their steps (sK_): bd, pid, level, t0…, and the session of
// the furthest step reached.
func chSteps(p *funnelPlan, bd, pid string) [][2]string {
	attrs := [][2]string{{"bd", bd}, {"pid", pid}, {"level", "lv_"}, {"t0", "t0_"}}
	for k := 1; k < p.n; k++ {
		attrs = append(attrs, [2]string{fmt.Sprintf("t%d", k), fmt.Sprintf("arrayMap((l, t) -> if(l > %d, toNullable(t), NULL), lv_, t%d_)", k, k)})
	}
	args, pick := []string{"l"}, []string{}
	arrs := []string{"lv_"}
	for k := 0; k < p.n; k++ {
		args = append(args, fmt.Sprintf("s%d", k))
		arrs = append(arrs, fmt.Sprintf("sid%d_", k))
		if k < p.n-1 {
			pick = append(pick, fmt.Sprintf("l = %d, s%d", k+1, k))
		} else {
			pick = append(pick, fmt.Sprintf("s%d", k))
		}
	}
	return append(attrs, [2]string{"sid", "arrayMap((" + strings.Join(args, ", ") + ") -> multiIf(" + strings.Join(pick, ", ") + "), " + strings.Join(arrs, ", ") + ")"})
}

// chLevelOf is an attempt's level from the window checks of its steps
// 1…n−1 (each implies the previous: times only grow).
func chLevelOf(oks []string) string {
	var args, sum []string
	for k := range oks {
		args = append(args, fmt.Sprintf("o%d", k))
		sum = append(sum, fmt.Sprintf("o%d", k))
	}
	return "arrayMap((" + strings.Join(args, ", ") + ") -> toUInt32(1 + " + strings.Join(sum, " + ") + "), " + strings.Join(oks, ", ") + ")"
}

// chOrdered lists ordered attempts. Candidates are the step-1 events in
// the range, less those dominated by a later step-1 event that comes
// before the first step-2 event after them (see duckOrdered). r0_ are the
// candidates' positions; step k's position rK_ is the first step-k event
// after step k−1's, a lookup at non-decreasing positions (rK−1_ grows with
// the start), so one histogram of rK−1_ per step gives, from the
// per-position arrays, the next position, the time and the session there.
func chOrdered(c *compiler, st *stmt, p *funnelPlan, arr string) string {
	from, to := c.p(p.from), c.p(p.to)
	// Per position: the next step-k event (nxK_, with e_ appended so that
	// "none" stays none), the next event that may start an attempt (for
	// dominance) and the next exclusion event.
	cols := []string{"entity", "e_", "bd_", "pid_", "s0_", "ts_", "idx_",
		"arrayPushBack(ts_, " + chNone + ") AS tsx_", "arrayPushBack(sid_, toUInt64(0)) AS sidx_",
		chNext("arrayMap((x, t) -> toUInt8(x = 1 AND t < "+to+"), s0_, ts_)") + " AS nxs_"}
	for k := 1; k < p.n; k++ {
		cols = append(cols, "arrayPushBack("+chNext(fmt.Sprintf("s%d_", k))+fmt.Sprintf(", e_) AS nx%d_", k))
	}
	for j := range p.excl {
		cols = append(cols, "arrayPushBack("+chNext(fmt.Sprintf("x%d_", j))+fmt.Sprintf(", e_) AS nxx%d_", j))
	}
	nx := st.with("nx", "SELECT "+strings.Join(cols, ", ")+" FROM "+arr+" AS a")
	keepCols := []string{"entity", "e_", "tsx_", "sidx_"}
	for k := 1; k < p.n; k++ {
		keepCols = append(keepCols, fmt.Sprintf("nx%d_", k))
	}
	for j := range p.excl {
		keepCols = append(keepCols, fmt.Sprintf("nxx%d_", j))
	}
	mask := "arrayMap((x, t, a, b) -> toUInt8(x = 1 AND t >= " + from + " AND t < " + to + " AND a >= b), s0_, ts_, nxs_, arrayPopBack(nx1_))"
	pick := func(a string) string { return "arrayFilter((v, m) -> m = 1, " + a + ", m_)" }
	prev := st.with("cand", "SELECT "+strings.Join(keepCols, ", ")+", "+pick("idx_")+" AS r0_, "+pick("bd_")+" AS bd0_, "+pick("pid_")+" AS pid0_ FROM (SELECT *, "+mask+" AS m_ FROM "+nx+" AS n) AS m")
	carried := append(keepCols, "bd0_", "pid0_", "r0_")
	// Exclusion j's first event after its from-step's position, looked up
	// with that step's histogram.
	xAt := map[int][]int{}
	for j, x := range p.excl {
		xAt[x.from] = append(xAt[x.from], j)
	}
	for k := 1; k <= p.n; k++ {
		// At rK−1_: the next step-k position (when there is a step k), the
		// time and session of step k−1, the next exclusion events.
		parts := []string{"tsx_", "sidx_"}
		if k < p.n {
			parts = append(parts, fmt.Sprintf("nx%d_", k))
		}
		for _, j := range xAt[k-1] {
			parts = append(parts, fmt.Sprintf("nxx%d_", j))
		}
		g := chGather(chTuple(parts...), chCounts(fmt.Sprintf("r%d_", k-1)))
		out := []string{fmt.Sprintf("arrayMap(x -> tupleElement(x, 1), g_) AS t%d_", k-1), fmt.Sprintf("arrayMap(x -> tupleElement(x, 2), g_) AS sid%d_", k-1)}
		next := 3
		if k < p.n {
			out = append(out, fmt.Sprintf("arrayMap(x -> tupleElement(x, 3), g_) AS r%d_", k))
			next = 4
		}
		for i, j := range xAt[k-1] {
			out = append(out, fmt.Sprintf("arrayMap(x -> tupleElement(x, %d), g_) AS xr%d_", next+i, j))
		}
		lv := st.with(fmt.Sprintf("g%d", k), "SELECT "+strings.Join(carried, ", ")+", "+g+" AS g_ FROM "+prev+" AS p")
		prev = st.with(fmt.Sprintf("l%d", k), "SELECT "+strings.Join(carried, ", ")+", "+strings.Join(out, ", ")+" FROM "+lv+" AS p")
		carried = append(carried, fmt.Sprintf("t%d_", k-1), fmt.Sprintf("sid%d_", k-1))
		if k < p.n {
			carried = append(carried, fmt.Sprintf("r%d_", k))
		}
		for _, j := range xAt[k-1] {
			carried = append(carried, fmt.Sprintf("xr%d_", j))
		}
	}
	// Levels, and the time of each exclusion's event.
	var oks []string
	for k := 1; k < p.n; k++ {
		oks = append(oks, fmt.Sprintf("arrayMap((t, t0) -> toUInt8(%s), t%d_, t0_)", chWithinT(c, "t", "t0", p.window), k))
	}
	cols = append(append([]string{}, carried...), chLevelOf(oks)+" AS lv_")
	for j := range p.excl {
		cols = append(cols, chGather("tsx_", chCounts(fmt.Sprintf("xr%d_", j)))+fmt.Sprintf(" AS xt%d_", j))
	}
	prev = st.with("lv", "SELECT "+strings.Join(cols, ", ")+" FROM "+prev+" AS p")
	keep := ""
	if len(p.excl) > 0 {
		var drops []string
		for j, x := range p.excl {
			drops = append(drops, fmt.Sprintf("arrayMap((l, xr, rt, xt, t0) -> toUInt8(l >= %d AND if(l >= %d, xr < rt, %s)), lv_, xr%d_, r%d_, xt%d_, t0_)",
				x.from+1, x.to+1, chWithinT(c, "xt", "t0", p.window), j, x.to, j))
		}
		var args, any []string
		for j := range drops {
			args = append(args, fmt.Sprintf("d%d", j))
			any = append(any, fmt.Sprintf("d%d", j))
		}
		keep = "arrayMap((" + strings.Join(args, ", ") + ") -> toUInt8(NOT (" + strings.Join(any, " OR ") + ")), " + strings.Join(drops, ", ") + ")"
	}
	return chExplode(st, prev, keep, chSteps(p, "bd0_", "pid0_"))
}

// chShift is arr moved k positions to the left (element i is arr[i + k]),
// padded with pad: the k-th next event of every position, element-wise.
func chShift(arr string, k int, pad string) string {
	return fmt.Sprintf("arrayResize(arraySlice(%s, %d), length(%s), %s)", arr, k+1, arr, pad)
}

// chStrict lists strict attempts: step k is the k-th next event after the
// start, when every event in between matched its step and it is within the
// window. Shifted copies of the arrays line those events up with the start.
func chStrict(c *compiler, st *stmt, p *funnelPlan, arr string) string {
	cols := []string{"entity", "ts_ AS ta0_", "sid_ AS sa0_", "bd_", "pid_",
		"arrayMap((x, t) -> toUInt8(x = 1 AND t >= " + c.p(p.from) + " AND t < " + c.p(p.to) + "), s0_, ts_) AS m_"}
	var oks []string
	for k := 1; k < p.n; k++ {
		cols = append(cols, chShift("ts_", k, chNone)+fmt.Sprintf(" AS ta%d_", k), chShift("sid_", k, "toUInt64(0)")+fmt.Sprintf(" AS sa%d_", k))
		// Step k holds when the k events after the start matched steps
		// 1…k in turn and the k-th is within the window.
		args, conds := []string{"t", "t0"}, []string{chWithinT(c, "t", "t0", p.window)}
		arrs := []string{fmt.Sprintf("ta%d_", k), "ta0_"}
		for j := 1; j <= k; j++ {
			args = append(args, fmt.Sprintf("x%d", j))
			conds = append(conds, fmt.Sprintf("x%d = 1", j))
			arrs = append(arrs, chShift(fmt.Sprintf("s%d_", j), j, "toUInt8(0)"))
		}
		oks = append(oks, fmt.Sprintf("arrayMap((%s) -> toUInt8(%s), %s)", strings.Join(args, ", "), strings.Join(conds, " AND "), strings.Join(arrs, ", ")))
	}
	cols = append(cols, chLevelOf(oks)+" AS lva_")
	all := st.with("strict", "SELECT "+strings.Join(cols, ", ")+" FROM "+arr+" AS a")
	pick := func(a, as string) string { return "arrayFilter((v, m) -> m = 1, " + a + ", m_) AS " + as }
	picked := []string{"entity", pick("lva_", "lv_"), pick("ta0_", "t0_"), pick("sa0_", "sid0_"), pick("bd_", "bd0_"), pick("pid_", "pid0_")}
	for k := 1; k < p.n; k++ {
		picked = append(picked, pick(fmt.Sprintf("ta%d_", k), fmt.Sprintf("t%d_", k)), pick(fmt.Sprintf("sa%d_", k), fmt.Sprintf("sid%d_", k)))
	}
	starts := st.with("starts", "SELECT "+strings.Join(picked, ", ")+" FROM "+all+" AS s")
	return chExplode(st, starts, "", chSteps(p, "bd0_", "pid0_"))
}

// chUnordered lists unordered attempts: an attempt starts at any step's
// event in the range (an anchor) and reaches the steps that have an event
// at or after the anchor's time, within the window. Per position, the time
// of step k's first event at or after it (qK_) is a run-length fill of the
// step's event times; events of equal time share the value of the first
// of them (time, not position, decides).
func chUnordered(c *compiler, st *stmt, p *funnelPlan, arr string) string {
	var anyStep, args, sk []string
	for k := 0; k < p.n; k++ {
		anyStep = append(anyStep, fmt.Sprintf("x%d = 1", k))
		args = append(args, fmt.Sprintf("x%d", k))
		sk = append(sk, fmt.Sprintf("s%d_", k))
	}
	// Runs of equal times: their first positions, and their lengths.
	first := "arrayMap((t, u) -> toUInt8(t != u), ts_, " + chShiftRight("ts_", "toInt64(-9000000000000000000)") + ")"
	cols := []string{"entity", "ts_", "sid_", "bd_", "pid_",
		"arrayMap((" + strings.Join(args, ", ") + ", t) -> toUInt8((" + strings.Join(anyStep, " OR ") + ") AND t >= " + c.p(p.from) + " AND t < " + c.p(p.to) + "), " +
			strings.Join(sk, ", ") + ", ts_) AS m_",
		first + " AS g_",
	}
	for k := 0; k < p.n; k++ {
		pos := fmt.Sprintf("arrayFilter((j, x) -> x = 1, idx_, s%d_)", k)
		times := fmt.Sprintf("arrayFilter((t, x) -> x = 1, ts_, s%d_)", k)
		counts := "arrayMap((v, w) -> v - w, arrayPushBack(" + pos + ", toUInt32(length(ts_))), arrayPushFront(" + pos + ", toUInt32(0)))"
		cols = append(cols, chFlatten("arrayMap((v, n) -> arrayResize([v], n, v), arrayPushBack("+times+", "+chNone+"), "+counts+")")+fmt.Sprintf(" AS q%d_", k))
	}
	fill := st.with("fill", "SELECT "+strings.Join(cols, ", ")+" FROM "+arr+" AS a")
	// The value at the first position of each run of equal times, for the
	// whole run.
	starts := "arrayFilter((j, f) -> f = 1, arrayEnumerate(g_), g_)"
	runLen := "arrayMap((v, w) -> w - v, " + starts + ", arrayPopFront(arrayPushBack(" + starts + ", toUInt32(length(g_) + 1))))"
	var fcols []string
	for k := 0; k < p.n; k++ {
		fcols = append(fcols, chFlatten(fmt.Sprintf("arrayMap((v, n) -> arrayResize([v], n, v), arrayFilter((v, f) -> f = 1, q%d_, g_), %s)", k, runLen))+fmt.Sprintf(" AS f%d_", k))
	}
	runs := st.with("runs", "SELECT entity, ts_, sid_, bd_, pid_, m_, "+strings.Join(fcols, ", ")+" FROM "+fill+" AS f")
	var fargs, vs, fs []string
	for k := 0; k < p.n; k++ {
		fargs = append(fargs, fmt.Sprintf("f%d", k))
		fs = append(fs, fmt.Sprintf("f%d_", k))
		vs = append(vs, fmt.Sprintf("if(%s, f%d, 0)", chWithinT(c, fmt.Sprintf("f%d", k), "t", p.window), k))
	}
	reach := "arrayMap((t, " + strings.Join(fargs, ", ") + ") -> arraySort(arrayFilter(x -> x != 0, [" + strings.Join(vs, ", ") + "])), ts_, " + strings.Join(fs, ", ") + ")"
	pick := func(a string) string { return "arrayFilter((v, m) -> m = 1, " + a + ", m_)" }
	anc := st.with("reach", "SELECT entity, "+pick("sid_")+" AS sid0_, "+pick("bd_")+" AS bd0_, "+pick("pid_")+" AS pid0_, "+pick(reach)+" AS l_ FROM "+runs+" AS r")
	attrs := [][2]string{
		{"bd", "bd0_"},
		{"pid", "pid0_"},
		{"sid", "sid0_"},
		{"level", "arrayMap(l -> toUInt32(length(l)), l_)"},
		{"t0", "arrayMap(l -> l[1], l_)"},
	}
	for k := 1; k < p.n; k++ {
		attrs = append(attrs, [2]string{fmt.Sprintf("t%d", k), fmt.Sprintf("arrayMap(l -> if(length(l) > %d, toNullable(l[%d]), NULL), l_)", k, k+1)})
	}
	return chExplode(st, anc, "", attrs)
}

func (chDialect) funnelBest(c *compiler, st *stmt, att string, p *funnelPlan, name string, byBreakdown bool) string {
	var fields []string
	for k := 0; k < p.n; k++ {
		fields = append(fields, fmt.Sprintf("t%d", k))
	}
	fields = append(fields, "sid")
	if p.withPid {
		fields = append(fields, "pid")
	}
	group := "entity"
	bd := "'' AS bd"
	if byBreakdown {
		group = "entity, bd"
		bd = "bd"
	}
	// The furthest attempt, then the latest start (as DuckDB's arg_max key).
	a := st.with(name+"_a", fmt.Sprintf("SELECT entity, %s, max(level) AS lv, argMax(tuple(%s), toInt64(level) * 10000000000000000 + t0) AS a FROM %s AS att GROUP BY %s",
		bd, strings.Join(fields, ", "), att, group))
	cols := []string{"entity", "bd", "lv AS level"}
	for i, f := range fields {
		if f == "sid" {
			f = "sidh"
		}
		cols = append(cols, fmt.Sprintf("tupleElement(a, %d) AS %s", i+1, f))
	}
	hashed := st.withMaterialized(name+"_h", "SELECT "+strings.Join(cols, ", ")+" FROM "+a+" AS b")
	return chResolveSessions(c, st, p, hashed, name, fields)
}

// chResolveSessions replaces the session hashes (sidh) of the best
// attempts with the session ids: one pass over the range's events, for the
// hashes that occur (GLOBAL: the hashes are in this connection's temporary
// table, which the shards do not have).
func chResolveSessions(c *compiler, st *stmt, p *funnelPlan, hashed, name string, fields []string) string {
	to := p.to.Add(time.Duration(p.window) * time.Second)
	ids := "SELECT cityHash64(session_id) AS sidh, any(session_id) AS sid FROM events WHERE project_id = " + c.p(c.proj) +
		" AND " + c.d.ident("timestamp") + " >= " + c.p(p.from) + " AND " + c.d.ident("timestamp") + " < " + c.p(to) +
		" AND cityHash64(session_id) GLOBAL IN (SELECT sidh FROM " + hashed + " AS h) GROUP BY sidh"
	cols := []string{"entity", "bd", "level"}
	cols = append(cols, fields...)
	return st.withMaterialized(name, "SELECT "+strings.Join(cols, ", ")+" FROM "+hashed+" AS h ANY LEFT JOIN ("+ids+") AS s USING (sidh)")
}

func (chDialect) pathSteps(c *compiler, st *stmt, p *pathsPlan) (string, error) {
	src := p.ev + " AS ev"
	for _, pt := range []string{p.start, p.end} {
		if pt != "" {
			src += " WHERE session_id IN (" + p.visits(pt) + ")"
			break
		}
	}
	grp := st.with("pgrp", "SELECT session_id, arrayMap(x -> tupleElement(x, 3), arraySort(groupArray(tuple(ts, uuid, name)))) AS names_ FROM "+src+" GROUP BY session_id")
	// Consecutive duplicates collapse; what remains is numbered from 1.
	kept := st.with("pkept", "SELECT session_id, arrayFilter((x, y, j) -> j = 1 OR x != y, names_, "+chShiftRight("names_", "''")+", arrayEnumerate(names_)) AS kept FROM "+grp+" AS g")
	num := st.withMaterialized("num", "SELECT session_id, name, idx FROM "+kept+" AS k ARRAY JOIN kept AS name, arrayEnumerate(kept) AS idx")
	depth := strconv.Itoa(p.depth)
	var sel string
	switch {
	case p.start == "" && p.end == "":
		sel = "SELECT session_id, toInt64(idx) AS step, name FROM " + num + " AS n WHERE idx <= " + depth
	case p.end == "":
		sp := st.with("sp", "SELECT session_id, min(idx) AS s FROM "+num+" AS n WHERE name = "+p.start+" GROUP BY session_id")
		sel = "SELECT session_id, toInt64(idx) - s + 1 AS step, name FROM " + num + " AS n ALL INNER JOIN " + sp + " AS sp USING (session_id) WHERE idx >= s AND idx < s + " + depth
	case p.start == "":
		ep := st.with("ep", "SELECT session_id, min(idx) AS e FROM "+num+" AS n WHERE name = "+p.end+" GROUP BY session_id")
		sel = "SELECT session_id, toInt64(idx) - e + " + depth + " AS step, name FROM " + num + " AS n ALL INNER JOIN " + ep + " AS ep USING (session_id) WHERE idx <= e AND idx > e - " + depth
	default:
		sp := st.with("sp", "SELECT session_id, min(idx) AS s FROM "+num+" AS n WHERE name = "+p.start+" GROUP BY session_id")
		ep := st.with("ep", "SELECT session_id, s, min(idx) AS e FROM "+num+" AS n ALL INNER JOIN "+sp+" AS sp USING (session_id) WHERE name = "+p.end+" AND idx > s GROUP BY session_id, s")
		sel = "SELECT session_id, toInt64(idx) - s + 1 AS step, name FROM " + num + " AS n ALL INNER JOIN " + ep + " AS ep USING (session_id) WHERE idx >= s AND idx <= e AND idx < s + " + depth
	}
	return st.withMaterialized("steps", sel), nil
}
