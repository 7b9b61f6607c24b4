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
// the list of its array columns.
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
	names := []string{"ts_", "uuid_", "sid_", "bd_", "pid_"}
	for k := 0; k < p.n; k++ {
		names = append(names, fmt.Sprintf("s%d_", k))
	}
	for j := range p.excl {
		names = append(names, fmt.Sprintf("x%d_", j))
	}
	cols := []string{"entity"}
	for i, name := range names {
		cols = append(cols, fmt.Sprintf("arrayMap(x -> tupleElement(x, %d), evs) AS %s", i+1, name))
	}
	cols = append(cols, "arrayEnumerate(evs) AS idx_")
	arr := st.with("arr", "SELECT "+strings.Join(cols, ", ")+" FROM "+grp+" AS g")
	return arr, "entity, " + strings.Join(names, ", ") + ", idx_"
}

// chWithin: the event at index r (> 0) is within the window of the
// attempt that starts at index i, computed as DuckDB's within() is.
func chWithin(c *compiler, r, i string, window int64) string {
	return fmt.Sprintf("(ts_[%s] / 1000000) - (ts_[%s] / 1000000) <= %s", r, i, c.p(window))
}

// chInRange: the event at index j starts an attempt inside the date range.
func chInRange(c *compiler, p *funnelPlan, j string) string {
	return fmt.Sprintf("ts_[%s] >= %s AND ts_[%s] < %s", j, c.p(p.from), j, c.p(p.to))
}

// chStarts ARRAY JOINs the candidate start indexes (those where cond,
// over index j, holds) out of arr as rows with column i. The candidates
// are a column of their own first: 18.16 drops a subquery's columns that
// only an ARRAY JOIN expression uses.
func chStarts(st *stmt, name, arr, cols, cond, extra string) string {
	cand := st.with(name+"_cand", "SELECT "+cols+", arrayFilter(j -> "+cond+", idx_) AS cand_ FROM "+arr+" AS a")
	return "SELECT " + cols + ", i" + extra + " FROM " + cand + " AS c ARRAY JOIN cand_ AS i"
}

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

func chOrdered(c *compiler, st *stmt, p *funnelPlan, arr, cols string) string {
	to := c.p(p.to)
	// Candidates, less the attempts dominated by a later step-1 event that
	// comes before the first step-2 event after them (see duckOrdered).
	c0 := st.with("c0", chStarts(st, "c0", arr, cols, "s0_[j] = 1 AND "+chInRange(c, p, "j"),
		", arrayFirstIndex((x, t, j) -> j > i AND x = 1 AND t < "+to+", s0_, ts_, idx_) AS nx0, "+
			"arrayFirstIndex((x, j) -> j > i AND x = 1, s1_, idx_) AS nx1"))
	prev := st.with("r0", "SELECT "+cols+", i, i AS r0 FROM "+c0+" AS c WHERE nx0 = 0 OR (nx1 > 0 AND nx0 >= nx1)")
	rs := []string{"r0"}
	for k := 1; k < p.n; k++ {
		// Only an attempt whose previous step came in time goes on.
		next := fmt.Sprintf("if(r%d > 0, arrayFirstIndex((x, j) -> j > r%d AND x = 1, s%d_, idx_), 0)", k-1, k-1, k)
		raw := st.with(fmt.Sprintf("n%d", k), fmt.Sprintf("SELECT %s, i, %s, %s AS n%d FROM %s AS c", cols, strings.Join(rs, ", "), next, k, prev))
		prev = st.with(fmt.Sprintf("r%d", k), fmt.Sprintf("SELECT %s, i, %s, if(n%d > 0 AND %s, n%d, 0) AS r%d FROM %s AS c",
			cols, strings.Join(rs, ", "), k, chWithin(c, fmt.Sprintf("n%d", k), "i", p.window), k, k, raw))
		rs = append(rs, fmt.Sprintf("r%d", k))
	}
	var drops []string
	if len(p.excl) > 0 {
		var xcols []string
		for j, x := range p.excl {
			xr := fmt.Sprintf("if(r%d > 0, arrayFirstIndex((x, jj) -> jj > r%d AND x = 1, x%d_, idx_), 0)", x.from, x.from, j)
			xcols = append(xcols, xr+fmt.Sprintf(" AS xr%d", j))
			drops = append(drops, fmt.Sprintf("(r%d > 0 AND xr%d > 0 AND if(r%d > 0, xr%d < r%d, %s))",
				x.from, j, x.to, j, x.to, chWithin(c, fmt.Sprintf("xr%d", j), "i", p.window)))
		}
		prev = st.with("xr", fmt.Sprintf("SELECT %s, i, %s, %s FROM %s AS c", cols, strings.Join(rs, ", "), strings.Join(xcols, ", "), prev))
	}
	level := "toUInt32(1"
	for k := 1; k < p.n; k++ {
		level += fmt.Sprintf(" + (r%d > 0)", k)
	}
	level += ")"
	acols := []string{"entity", "bd_[i] AS bd", "pid_[i] AS pid", level + " AS level", "ts_[i] AS t0"}
	for k := 1; k < p.n; k++ {
		acols = append(acols, fmt.Sprintf("if(r%d > 0, toNullable(ts_[r%d]), NULL) AS t%d", k, k, k))
	}
	sid := "multiIf("
	for k := p.n - 1; k >= 1; k-- {
		sid += fmt.Sprintf("r%d > 0, sid_[r%d], ", k, k)
	}
	acols = append(acols, sid+"sid_[i]) AS sid")
	where := ""
	if len(drops) > 0 {
		where = " WHERE NOT " + or(drops...)
	}
	return st.with("att", "SELECT "+strings.Join(acols, ", ")+" FROM "+prev+" AS l"+where)
}

func chStrict(c *compiler, st *stmt, p *funnelPlan, arr, cols string) string {
	// first_ (always 1) keeps s0_ in use at the ARRAY JOIN: otherwise
	// 18.16 prunes it from the subqueries below and fails to find it.
	starts := st.with("starts", chStarts(st, "starts", arr, cols, "s0_[j] = 1 AND "+chInRange(c, p, "j"), ", s0_[i] AS first_"))
	var oks []string
	var prefix []string
	for k := 1; k < p.n; k++ {
		at := fmt.Sprintf("i + %d", k)
		prefix = append(prefix, fmt.Sprintf("s%d_[%s] = 1", k, at))
		ok := "(" + strings.Join(prefix, " AND ") + fmt.Sprintf(" AND %s <= length(ts_) AND ", at) + chWithin(c, at, "i", p.window) + ")"
		oks = append(oks, ok)
	}
	scols := []string{cols, "i", "first_"}
	for k, ok := range oks {
		scols = append(scols, ok+fmt.Sprintf(" AS ok%d", k+1))
	}
	okd := st.with("oks", "SELECT "+strings.Join(scols, ", ")+" FROM "+starts+" AS s")
	level := "toUInt32(1"
	for k := 1; k < p.n; k++ {
		level += fmt.Sprintf(" + ok%d", k)
	}
	level += ")"
	acols := []string{"entity", "bd_[i] AS bd", "pid_[i] AS pid", level + " AS level", "ts_[i] AS t0"}
	for k := 1; k < p.n; k++ {
		acols = append(acols, fmt.Sprintf("if(ok%d, toNullable(ts_[i + %d]), NULL) AS t%d", k, k, k))
	}
	sid := "multiIf("
	for k := p.n - 1; k >= 1; k-- {
		sid += fmt.Sprintf("ok%d, sid_[i + %d], ", k, k)
	}
	acols = append(acols, sid+"sid_[i]) AS sid")
	return st.with("att", "SELECT "+strings.Join(acols, ", ")+" FROM "+okd+" AS o WHERE first_ = 1")
}

func chUnordered(c *compiler, st *stmt, p *funnelPlan, arr, cols string) string {
	var any []string
	for k := 0; k < p.n; k++ {
		any = append(any, fmt.Sprintf("s%d_[j] = 1", k))
	}
	anc := st.with("anc", chStarts(st, "anc", arr, cols, "("+strings.Join(any, " OR ")+") AND "+chInRange(c, p, "j"), ""))
	var fs, vs []string
	for k := 0; k < p.n; k++ {
		fs = append(fs, fmt.Sprintf("arrayFirstIndex((x, t) -> x = 1 AND t >= ts_[i], s%d_, ts_) AS f%d", k, k))
		vs = append(vs, fmt.Sprintf("if(f%d > 0 AND %s, ts_[f%d], 0)", k, chWithin(c, fmt.Sprintf("f%d", k), "i", p.window), k))
	}
	first := st.with("firsts", "SELECT "+cols+", i, "+strings.Join(fs, ", ")+" FROM "+anc+" AS a")
	reach := st.with("reach", "SELECT entity, bd_[i] AS bd, pid_[i] AS pid, sid_[i] AS sid, arraySort(arrayFilter(x -> x != 0, ["+
		strings.Join(vs, ", ")+"])) AS l FROM "+first+" AS f")
	acols := []string{"entity", "bd", "pid", "sid", "toUInt32(length(l)) AS level", "l[1] AS t0"}
	for k := 1; k < p.n; k++ {
		acols = append(acols, fmt.Sprintf("if(length(l) > %d, toNullable(l[%d]), NULL) AS t%d", k, k+1, k))
	}
	return st.with("att", "SELECT "+strings.Join(acols, ", ")+" FROM "+reach+" AS r")
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
