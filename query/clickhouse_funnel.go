package query

import (
	"fmt"
	"strconv"
	"strings"
)

// ClickHouse funnels and paths. Without window functions or ASOF joins on
// 18.16, each entity's (or session's) events are collected into one array
// of tuples, sorted by (timestamp, uuid) — the engine's event order — and
// split into parallel arrays (ts_, sid_, bd_, pid_, s0_…, x0_…, idx_).
// Candidate attempts are ARRAY JOINed out as rows (i, their first event's
// index), and each later step is an arrayFirstIndex after the previous
// step's index: the same "earliest next matching event" chain that DuckDB
// builds with ASOF joins, with the same dominance rule and window checks,
// so both stores give identical results.

// chArrays adds to st the grouped arrays of p.ev and returns the CTE and
// the list of its array columns (uuid only orders the events: it is not
// carried further).
func chArrays(st *stmt, p *funnelPlan) (string, string) {
	pid := "pid"
	if !p.withPid {
		pid = "''"
	}
	fields := []string{"ts", "uuid", "sid", "bd", pid}
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
	var keep []string
	for i, name := range names {
		if name == "" {
			continue
		}
		cols = append(cols, fmt.Sprintf("arrayMap(x -> tupleElement(x, %d), evs) AS %s", i+1, name))
		keep = append(keep, name)
	}
	// Sessions as small numbers (sidn_) into the entity's distinct sessions
	// (sidd_): looking a string up per attempt would copy every string.
	cols = append(cols, "arrayEnumerate(evs) AS idx_", "arrayEnumerateDense(arrayMap(x -> tupleElement(x, 3), evs)) AS sidn_",
		"arrayDistinct(arrayMap(x -> tupleElement(x, 3), evs)) AS sidd_")
	arr := st.with("arr", "SELECT "+strings.Join(cols, ", ")+" FROM "+grp+" AS g")
	return arr, "entity, " + strings.Join(keep, ", ") + ", idx_, sidn_, sidd_"
}

// chGuard returns expr (an array) unchanged, with the named array columns
// referenced at its top level: 18.16 does not see columns used only inside
// a nested lambda and would prune them from the subquery below.
func chGuard(expr string, cols ...string) string {
	var l []string
	for _, c := range cols {
		l = append(l, "length("+c+")")
	}
	return "arraySlice(" + expr + ", 1 + 0 * (" + strings.Join(l, " + ") + "))"
}

// chWithin: the event at index r (> 0) is within the window of the
// attempt that starts at index i, computed as DuckDB's within() is.
func chWithin(c *compiler, r, i string, window int64) string {
	return fmt.Sprintf("(ts_[%s] / 1000000) - (ts_[%s] / 1000000) <= %s", r, i, c.p(window))
}

// Each entity's attempts are parallel arrays (r0_ the start indexes, rK_
// the index of step K or 0, …), computed with array functions over the
// entity's events; only at the end are the attempts' scalar attributes
// ARRAY JOINed out as rows, so that an entity's event arrays are never
// copied once per attempt.

func (chDialect) funnelAttempts(c *compiler, st *stmt, p *funnelPlan) (string, error) {
	arr, cols := chArrays(st, p)
	switch p.order {
	case "strict":
		return chStrict(c, st, p, arr, cols), nil
	case "unordered":
		return chUnordered(c, st, p, arr, cols), nil
	}
	return chOrdered(c, st, p, arr, cols), nil
}

// chExplode turns per-entity attempt attributes (name → array expression
// over the level's columns) into one row per attempt, keeping those where
// keep (an array expression of 0/1, or "") is 1.
func chExplode(st *stmt, src, keep string, attrs [][2]string, guard ...string) string {
	var arrs, outs, names []string
	for _, a := range attrs {
		arrs = append(arrs, chGuard(a[1], guard...)+" AS "+a[0]+"_a")
		outs = append(outs, a[0]+"_a AS "+a[0])
		names = append(names, a[0])
	}
	where := ""
	if keep != "" {
		arrs = append(arrs, keep+" AS keep_a")
		outs = append(outs, "keep_a AS keep_")
		where = " WHERE keep_ = 1"
	}
	attrsCTE := st.with("attrs", "SELECT entity, "+strings.Join(arrs, ", ")+" FROM "+src+" AS s")
	rows := st.with("att_rows", "SELECT entity, "+strings.Join(names, ", ")+func() string {
		if keep != "" {
			return ", keep_"
		}
		return ""
	}()+" FROM "+attrsCTE+" AS a ARRAY JOIN "+strings.Join(outs, ", "))
	return st.with("att", "SELECT entity, "+strings.Join(names, ", ")+" FROM "+rows+" AS r"+where)
}

func chLevel(p *funnelPlan, reached []string) string {
	if p.n < 2 {
		return "arrayMap(i -> toUInt32(1), r0_)"
	}
	var args, sum []string
	for k := 1; k < p.n; k++ {
		args = append(args, fmt.Sprintf("r%d", k))
		sum = append(sum, fmt.Sprintf("(r%d > 0)", k))
	}
	return "arrayMap((" + strings.Join(args, ", ") + ") -> toUInt32(1 + " + strings.Join(sum, " + ") + "), " + strings.Join(reached[1:], ", ") + ")"
}

// chNextFrom is, for every event index j of the entity, the index of the
// first event after j among the sorted indexes p (0 when none): p's values
// repeated over the runs of indexes that precede them. Built from
// element-wise array functions only, it costs linear memory, where a
// lambda capturing the entity's arrays would copy them per element.
func chNextFrom(p string) string {
	withOne := "arrayPushFront(" + p + ", toUInt32(1))"
	counts := "arrayPushBack(arrayMap(x -> toUInt32(x), arrayPopFront(arrayDifference(" + withOne + "))), toUInt32(length(idx_) - " +
		withOne + "[length(" + p + ") + 1] + 1))"
	return "arrayReduce('groupArrayArray', arrayMap((v, c) -> replicate(v, range(c)), arrayPushBack(" + p + ", toUInt32(0)), " + counts + "))"
}

// chPick keeps the elements of arr at the candidate mask m_ (0/1 per
// event).
func chPick(arr string) string { return "arrayFilter((v, m) -> m = 1, " + arr + ", m_)" }

func chOrdered(c *compiler, st *stmt, p *funnelPlan, arr, cols string) string {
	to := c.p(p.to)
	// Positions of each step's events (of step 1: those that may start an
	// attempt, before date_to), of each exclusion's, and the "next such
	// event after j" arrays.
	pcols := []string{"arrayFilter((j, x, t) -> x = 1 AND t < " + to + ", idx_, s0_, ts_) AS p0_"}
	for k := 1; k < p.n; k++ {
		pcols = append(pcols, fmt.Sprintf("arrayFilter((j, x) -> x = 1, idx_, s%d_) AS p%d_", k, k))
	}
	for j := range p.excl {
		pcols = append(pcols, fmt.Sprintf("arrayFilter((j, x) -> x = 1, idx_, x%d_) AS px%d_", j, j))
	}
	pos := st.with("pos", "SELECT "+cols+", "+strings.Join(pcols, ", ")+" FROM "+arr+" AS a")
	var ncols, nxs []string
	for k := 0; k < p.n; k++ {
		ncols = append(ncols, chNextFrom(fmt.Sprintf("p%d_", k))+fmt.Sprintf(" AS nx%d_", k))
		nxs = append(nxs, fmt.Sprintf("nx%d_", k))
	}
	for j := range p.excl {
		ncols = append(ncols, chNextFrom(fmt.Sprintf("px%d_", j))+fmt.Sprintf(" AS nxx%d_", j))
		nxs = append(nxs, fmt.Sprintf("nxx%d_", j))
	}
	nx := st.with("nx", "SELECT "+cols+", "+strings.Join(ncols, ", ")+" FROM "+pos+" AS p")
	// Candidates: step-1 events in the range, less the attempts dominated
	// by a later step-1 event that comes before the first step-2 event
	// after them (see duckOrdered).
	mask := "arrayMap((x, t, a, b) -> toUInt8(x = 1 AND t >= " + c.p(p.from) + " AND t < " + to + " AND (a = 0 OR (b > 0 AND a >= b))), s0_, ts_, nx0_, nx1_) AS m_"
	mcte := st.with("m", "SELECT "+cols+", "+strings.Join(nxs, ", ")+", "+mask+" FROM "+nx+" AS n")
	base := []string{chPick("idx_") + " AS r0_", chPick("ts_") + " AS t0_", chPick("sid_") + " AS sid0_", chPick("bd_") + " AS bd0_",
		chPick("pid_") + " AS pid0_", chPick("nx1_") + " AS n1_"}
	keepCols := append([]string{"entity", "ts_", "sidn_", "sidd_", "idx_"}, nxs...)
	prev := st.with("r0", "SELECT "+strings.Join(keepCols, ", ")+", "+strings.Join(base, ", ")+" FROM "+mcte+" AS m")
	carried := append(keepCols, "r0_", "t0_", "sid0_", "bd0_", "pid0_")
	rs := []string{"r0_"}
	for k := 1; k < p.n; k++ {
		// Step k is the next step-k event after step k−1, kept when within
		// the window (and so are the steps before it: times only grow).
		nk := fmt.Sprintf("n%d_", k)
		if k > 1 {
			nk = chGuard(fmt.Sprintf("arrayMap(r -> if(r > 0, nx%d_[r], 0), r%d_)", k, k-1), fmt.Sprintf("nx%d_", k))
		}
		// One lookup of ts_ per step gives both the index and the time.
		ok := chGuard(fmt.Sprintf("arrayMap((nn, t0) -> if(nn > 0 AND (ts_[nn] / 1000000) - (t0 / 1000000) <= %s, tuple(nn, ts_[nn]), tuple(toUInt32(0), toInt64(0))), %s, t0_)",
			c.p(p.window), nk), "ts_")
		rt := st.with(fmt.Sprintf("rt%d", k), fmt.Sprintf("SELECT %s, %s AS rt%d_ FROM %s AS c", strings.Join(carried, ", "), ok, k, prev))
		prev = st.with(fmt.Sprintf("r%d", k), fmt.Sprintf("SELECT %s, arrayMap(x -> tupleElement(x, 1), rt%d_) AS r%d_, arrayMap(x -> tupleElement(x, 2), rt%d_) AS t%d_ FROM %s AS c",
			strings.Join(carried, ", "), k, k, k, k, rt))
		carried = append(carried, fmt.Sprintf("r%d_", k), fmt.Sprintf("t%d_", k))
		rs = append(rs, fmt.Sprintf("r%d_", k))
	}
	keep := ""
	if len(p.excl) > 0 {
		var drops, dargs []string
		for j, x := range p.excl {
			xr := chGuard(fmt.Sprintf("arrayMap(rf -> if(rf > 0, nxx%d_[rf], 0), r%d_)", j, x.from), fmt.Sprintf("nxx%d_", j))
			within := chGuard(fmt.Sprintf("arrayMap((rf, xr, rt, t0) -> rf > 0 AND xr > 0 AND if(rt > 0, xr < rt, (ts_[xr] / 1000000) - (t0 / 1000000) <= %s), r%d_, %s, r%d_, t0_)",
				c.p(p.window), x.from, xr, x.to), "ts_")
			drops = append(drops, within)
			dargs = append(dargs, fmt.Sprintf("d%d", j))
		}
		keep = "arrayMap((" + strings.Join(dargs, ", ") + ") -> toUInt8(NOT (" + strings.Join(dargs, " OR ") + ")), " + strings.Join(drops, ", ") + ")"
	}
	attrs := [][2]string{{"bd", "bd0_"}, {"pid", "pid0_"}, {"level", chLevel(p, rs)}, {"t0", "t0_"}}
	for k := 1; k < p.n; k++ {
		attrs = append(attrs, [2]string{fmt.Sprintf("t%d", k), fmt.Sprintf("arrayMap((r, t) -> if(r > 0, toNullable(t), NULL), r%d_, t%d_)", k, k)})
	}
	// The session of the furthest step reached: one lookup of sid_.
	last := "r0_"
	for k := 1; k < p.n; k++ {
		last = fmt.Sprintf("arrayMap((a, b) -> if(b > 0, b, a), %s, r%d_)", last, k)
	}
	attrs = append(attrs, [2]string{"sid", "arrayMap(j -> sidd_[j], arrayMap(j -> sidn_[j], " + last + "))"})
	return chExplode(st, prev, keep, attrs, "ts_", "sidn_", "sidd_")
}

// chStartCols are the per-attempt start columns picked by the mask m_:
// start index, time, breakdown, person, session number.
func chStartCols() string {
	return chPick("idx_") + " AS r0_, " + chPick("ts_") + " AS t0_, " + chPick("bd_") + " AS bd0_, " + chPick("pid_") + " AS pid0_, " +
		chPick("sidn_") + " AS sidn0_"
}

func chStrict(c *compiler, st *stmt, p *funnelPlan, arr, cols string) string {
	mask := "arrayMap((x, t) -> toUInt8(x = 1 AND t >= " + c.p(p.from) + " AND t < " + c.p(p.to) + "), s0_, ts_) AS m_"
	mcte := st.with("m", "SELECT "+cols+", "+mask+" FROM "+arr+" AS a")
	starts := st.with("starts", "SELECT "+cols+", "+chStartCols()+" FROM "+mcte+" AS m")
	// Step k is the k-th next event after the start, when every event in
	// between matched its step and it is within the window.
	var prefix, rcols, used []string
	rs := []string{"r0_"}
	for k := 1; k < p.n; k++ {
		at := fmt.Sprintf("i + %d", k)
		prefix = append(prefix, fmt.Sprintf("s%d_[%s] = 1", k, at))
		used = append(used, fmt.Sprintf("s%d_", k))
		ok := strings.Join(prefix, " AND ") + fmt.Sprintf(" AND %s <= length(ts_) AND ", at) + chWithin(c, at, "i", p.window)
		rcols = append(rcols, chGuard(fmt.Sprintf("arrayMap(i -> if(%s, %s, 0), r0_)", ok, at), append(used, "ts_")...)+fmt.Sprintf(" AS r%d_", k))
		rs = append(rs, fmt.Sprintf("r%d_", k))
	}
	prev := st.with("oks", "SELECT "+cols+", r0_, t0_, bd0_, pid0_, sidn0_, "+strings.Join(rcols, ", ")+" FROM "+starts+" AS s")
	attrs := [][2]string{{"bd", "bd0_"}, {"pid", "pid0_"}, {"level", chLevel(p, rs)}, {"t0", "t0_"}}
	for k := 1; k < p.n; k++ {
		attrs = append(attrs, [2]string{fmt.Sprintf("t%d", k), fmt.Sprintf("arrayMap(r -> if(r > 0, toNullable(ts_[r]), NULL), r%d_)", k)})
	}
	last := "r0_"
	for k := 1; k < p.n; k++ {
		last = fmt.Sprintf("arrayMap((a, b) -> if(b > 0, b, a), %s, r%d_)", last, k)
	}
	attrs = append(attrs, [2]string{"sid", "arrayMap(j -> sidd_[j], arrayMap(j -> sidn_[j], " + last + "))"})
	return chExplode(st, prev, "", attrs, "ts_", "sidn_", "sidd_")
}

func chUnordered(c *compiler, st *stmt, p *funnelPlan, arr, cols string) string {
	var any, args []string
	for k := 0; k < p.n; k++ {
		any = append(any, fmt.Sprintf("x%d = 1", k))
		args = append(args, fmt.Sprintf("x%d", k))
	}
	var sk []string
	for k := 0; k < p.n; k++ {
		sk = append(sk, fmt.Sprintf("s%d_", k))
	}
	mask := "arrayMap((" + strings.Join(args, ", ") + ", t) -> toUInt8((" + strings.Join(any, " OR ") + ") AND t >= " + c.p(p.from) + " AND t < " + c.p(p.to) + "), " +
		strings.Join(sk, ", ") + ", ts_) AS m_"
	mcte := st.with("m", "SELECT "+cols+", "+mask+" FROM "+arr+" AS a")
	anc := st.with("anc", "SELECT "+cols+", "+chStartCols()+" FROM "+mcte+" AS m")
	// For each step, its first event at or after the anchor, when within
	// the window; the reached times, sorted, are the attempt's steps.
	var vs []string
	for k := 0; k < p.n; k++ {
		f := fmt.Sprintf("arrayFirstIndex((x, t) -> x = 1 AND t >= ts_[i], s%d_, ts_)", k)
		vs = append(vs, fmt.Sprintf("if(%s > 0 AND (ts_[%s] / 1000000) - (ts_[i] / 1000000) <= %s, ts_[%s], 0)", f, f, c.p(p.window), f))
	}
	reach := chGuard("arrayMap(i -> arraySort(arrayFilter(x -> x != 0, ["+strings.Join(vs, ", ")+"])), r0_)", append(sk, "ts_")...)
	prev := st.with("reach", "SELECT "+cols+", r0_, bd0_, pid0_, sidn0_, "+reach+" AS l_ FROM "+anc+" AS a")
	attrs := [][2]string{
		{"bd", "bd0_"},
		{"pid", "pid0_"},
		{"sid", "arrayMap(j -> sidd_[j], sidn0_)"},
		{"level", "arrayMap(l -> toUInt32(length(l)), l_)"},
		{"t0", "arrayMap(l -> l[1], l_)"},
	}
	for k := 1; k < p.n; k++ {
		attrs = append(attrs, [2]string{fmt.Sprintf("t%d", k), fmt.Sprintf("arrayMap(l -> if(length(l) > %d, toNullable(l[%d]), NULL), l_)", k, k+1)})
	}
	return chExplode(st, prev, "", attrs, "sidd_")
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
	a := st.with(name+"_a", fmt.Sprintf("SELECT entity, %s, max(level) AS lv, argMax(tuple(%s), toInt64(level) * 10000000000000 + intDiv(t0, 1000)) AS a FROM %s AS att GROUP BY %s",
		bd, strings.Join(fields, ", "), att, group))
	cols := []string{"entity", "bd", "lv AS level"}
	for i, f := range fields {
		cols = append(cols, fmt.Sprintf("tupleElement(a, %d) AS %s", i+1, f))
	}
	return st.withMaterialized(name, "SELECT "+strings.Join(cols, ", ")+" FROM "+a+" AS b")
}

func (chDialect) pathSteps(c *compiler, st *stmt, p *pathsPlan) (string, error) {
	src := p.ev + " AS ev"
	for _, pt := range []string{p.start, p.end} {
		if pt != "" {
			src += " WHERE session_id IN (SELECT session_id FROM " + p.ev + " AS e2 WHERE name = " + pt + ")"
			break
		}
	}
	grp := st.with("pgrp", "SELECT session_id, arrayMap(x -> tupleElement(x, 3), arraySort(groupArray(tuple(ts, uuid, name)))) AS names_ FROM "+src+" GROUP BY session_id")
	// Consecutive duplicates collapse; what remains is numbered from 1.
	kept := st.with("pkept", "SELECT session_id, arrayFilter((x, j) -> j = 1 OR x != names_[j - 1], names_, arrayEnumerate(names_)) AS kept FROM "+grp+" AS g")
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
