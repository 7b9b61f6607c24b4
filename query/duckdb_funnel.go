package query

import (
	"fmt"
	"slices"
	"strings"
)

// DuckDB funnels. Ordered attempts are chains of ASOF joins (one per step)
// on the event's position in its entity's event order, as DESIGN.md
// suggests: the earliest next step after the previous one is always the
// best choice, and an ASOF join finds exactly that. Strict attempts read
// the next events with lead(); unordered attempts look up each step's first
// event at or after the anchor.

func (duckDialect) funnelAttempts(c *compiler, st *stmt, p *funnelPlan) (string, error) {
	switch p.order {
	case "strict":
		return duckStrict(c, st, p), nil
	case "unordered":
		return duckUnordered(c, st, p), nil
	}
	return duckOrdered(c, st, p), nil
}

func within(c *compiler, t, t0 string, window int64) string {
	return fmt.Sprintf("%s IS NOT NULL AND %s - %s <= %s", t, c.d.epoch(t), c.d.epoch(t0), c.p(window))
}

func duckOrdered(c *compiler, st *stmt, p *funnelPlan) string {
	tsCol := "ts"
	pid := "pid"
	if !p.withPid {
		pid = "'' AS pid"
	}
	seq := st.withMaterialized("seq", "SELECT *, row_number() OVER (PARTITION BY entity ORDER BY ts, uuid) AS rn FROM "+p.ev+" AS ev")
	// An attempt is dominated by the next step-1 event when that one comes
	// before the first step-2 event after it (and may start an attempt): the
	// later one reaches the same steps with a later deadline. Dropping
	// dominated attempts leaves few when step 1 is frequent (a pageview).
	heads := st.with("heads", fmt.Sprintf("SELECT *, min(CASE WHEN s0 AND ts < %s THEN rn END) OVER nxt AS nx0, min(CASE WHEN s1 THEN rn END) OVER nxt AS nx1 "+
		"FROM %s AS seq WHERE s0 OR s1 WINDOW nxt AS (PARTITION BY entity ORDER BY rn ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)", c.p(p.to), seq))
	var steps []string
	for k := 0; k < p.n; k++ {
		if k == 0 {
			steps = append(steps, st.with("st0", fmt.Sprintf("SELECT entity, ts, rn, sid, bd, %s FROM %s AS h WHERE s0 AND %s >= %s AND %s < %s AND (nx0 IS NULL OR (nx1 IS NOT NULL AND nx0 >= nx1))",
				pid, heads, tsCol, c.p(p.from), tsCol, c.p(p.to))))
			continue
		}
		steps = append(steps, st.with(fmt.Sprintf("st%d", k), fmt.Sprintf("SELECT entity, ts, rn, sid FROM %s AS seq WHERE s%d", seq, k)))
	}
	// Each link extends only the attempts whose previous step came in time;
	// the others end there, so later joins see fewer rows. A NULL key never
	// reaches an ASOF join (DuckDB would match it to the first row).
	prev := st.with("c0", "SELECT entity, bd, pid, ts AS t0, rn AS rn0, sid AS sid0 FROM "+steps[0]+" AS s0")
	var ended []string
	pad := func(level int) string {
		cols := []string{"entity", "bd", "pid", "t0", "rn0", "sid0"}
		for k := 1; k < p.n; k++ {
			if k < level {
				cols = append(cols, fmt.Sprintf("r%d", k), fmt.Sprintf("rn%d", k), fmt.Sprintf("sid%d", k))
			} else {
				cols = append(cols, fmt.Sprintf("CAST(NULL AS TIMESTAMPTZ) AS r%d", k), fmt.Sprintf("CAST(NULL AS BIGINT) AS rn%d", k), fmt.Sprintf("CAST(NULL AS VARCHAR) AS sid%d", k))
			}
		}
		return strings.Join(append(cols, fmt.Sprintf("%d AS level", level)), ", ")
	}
	for k := 1; k < p.n; k++ {
		ck := st.with(fmt.Sprintf("c%d", k), fmt.Sprintf("SELECT c.*, s.ts AS r%d, s.rn AS rn%d, s.sid AS sid%d FROM %s AS c ASOF LEFT JOIN %s AS s ON s.entity = c.entity AND c.rn%d < s.rn",
			k, k, k, prev, steps[k], k-1))
		ok := within(c, fmt.Sprintf("r%d", k), "t0", p.window)
		ended = append(ended, "SELECT "+pad(k)+" FROM "+ck+" AS c WHERE NOT ("+ok+")")
		prev = st.with(fmt.Sprintf("ok%d", k), "SELECT * FROM "+ck+" AS c WHERE "+ok)
	}
	ended = append(ended, "SELECT "+pad(p.n)+" FROM "+prev+" AS c")
	lv := st.with("lv", strings.Join(ended, "\nUNION ALL\n"))
	var drop []string
	for j, x := range p.excl {
		xs := st.with(fmt.Sprintf("xs%d", j), fmt.Sprintf("SELECT entity, ts, rn FROM %s AS seq WHERE x%d", seq, j))
		lv = st.with(fmt.Sprintf("lvx%d", j), fmt.Sprintf("SELECT l.*, x.ts AS xts%d, x.rn AS xrn%d FROM %s AS l ASOF LEFT JOIN %s AS x ON x.entity = l.entity AND l.rn%d < x.rn",
			j, j, lv, xs, x.from))
		drop = append(drop, fmt.Sprintf("(level >= %d AND xrn%d IS NOT NULL AND CASE WHEN level >= %d THEN xrn%d < rn%d ELSE %s END)",
			x.from+1, j, x.to+1, j, x.to, within(c, fmt.Sprintf("xts%d", j), "t0", p.window)))
	}
	acols := []string{"entity", "bd", "pid", "level", "t0"}
	sid := "CASE level"
	for k := 1; k < p.n; k++ {
		acols = append(acols, fmt.Sprintf("CASE WHEN level > %d THEN r%d END AS t%d", k, k, k))
	}
	for k := 0; k < p.n; k++ {
		sid += fmt.Sprintf(" WHEN %d THEN sid%d", k+1, k)
	}
	acols = append(acols, sid+" END AS sid")
	where := ""
	if len(drop) > 0 {
		where = " WHERE NOT " + or(drop...)
	}
	return st.with("att", "SELECT "+strings.Join(acols, ", ")+" FROM "+lv+" AS l"+where)
}

func duckStrict(c *compiler, st *stmt, p *funnelPlan) string {
	cols := []string{"entity", "bd", "pid", "s0", "ts AS t0", "sid AS sid0"}
	if !p.withPid {
		cols[2] = "'' AS pid"
	}
	for k := 1; k < p.n; k++ {
		cols = append(cols, fmt.Sprintf("lead(s%d, %d) OVER win AS n%d", k, k, k),
			fmt.Sprintf("lead(ts, %d) OVER win AS r%d", k, k),
			fmt.Sprintf("lead(sid, %d) OVER win AS sid%d", k, k))
	}
	w := st.with("nxt", "SELECT "+strings.Join(cols, ", ")+" FROM "+p.ev+" AS ev WINDOW win AS (PARTITION BY entity ORDER BY ts, uuid)")
	level := "1"
	prefix := []string{}
	for k := 1; k < p.n; k++ {
		prefix = append(prefix, fmt.Sprintf("coalesce(n%d, false)", k))
		ok := and(slices.Concat(prefix, []string{within(c, fmt.Sprintf("r%d", k), "t0", p.window)})...)
		level += fmt.Sprintf(" + CASE WHEN %s THEN 1 ELSE 0 END", ok)
	}
	lv := st.with("lv", fmt.Sprintf("SELECT *, %s AS level FROM %s AS w WHERE s0 AND t0 >= %s AND t0 < %s", level, w, c.p(p.from), c.p(p.to)))
	sid := "CASE level"
	for k := 0; k < p.n; k++ {
		sid += fmt.Sprintf(" WHEN %d THEN sid%d", k+1, k)
	}
	acols := []string{"entity", "bd", "pid", "level", "t0"}
	for k := 1; k < p.n; k++ {
		acols = append(acols, fmt.Sprintf("CASE WHEN level > %d THEN r%d END AS t%d", k, k, k))
	}
	acols = append(acols, sid+" END AS sid")
	return st.with("att", "SELECT "+strings.Join(acols, ", ")+" FROM "+lv+" AS l")
}

func duckUnordered(c *compiler, st *stmt, p *funnelPlan) string {
	var anyStep []string
	for k := 0; k < p.n; k++ {
		anyStep = append(anyStep, fmt.Sprintf("s%d", k))
	}
	pid := "pid"
	if !p.withPid {
		pid = "'' AS pid"
	}
	anc := st.with("anc", fmt.Sprintf("SELECT entity, ts, sid, bd, %s FROM %s AS ev WHERE %s AND ts >= %s AND ts < %s",
		pid, p.ev, or(anyStep...), c.p(p.from), c.p(p.to)))
	from := anc + " AS a"
	var us []string
	for k := 0; k < p.n; k++ {
		sk := st.with(fmt.Sprintf("st%d", k), fmt.Sprintf("SELECT entity, ts FROM %s AS ev WHERE s%d", p.ev, k))
		from += fmt.Sprintf("\nASOF LEFT JOIN %s AS s%d ON s%d.entity = a.entity AND a.ts <= s%d.ts", sk, k, k, k)
		us = append(us, fmt.Sprintf("CASE WHEN %s THEN s%d.ts END", within(c, fmt.Sprintf("s%d.ts", k), "a.ts", p.window), k))
	}
	j := st.with("reach", "SELECT a.entity AS entity, a.bd AS bd, a.pid AS pid, a.sid AS sid, list_sort(list_filter(["+
		strings.Join(us, ", ")+"], x -> x IS NOT NULL)) AS l\nFROM "+from)
	acols := []string{"entity", "bd", "pid", "sid", "len(l) AS level"}
	for k := 0; k < p.n; k++ {
		acols = append(acols, fmt.Sprintf("l[%d] AS t%d", k+1, k))
	}
	return st.with("att", "SELECT "+strings.Join(acols, ", ")+" FROM "+j+" AS r")
}

func (duckDialect) funnelBest(c *compiler, st *stmt, att string, p *funnelPlan, name string, byBreakdown bool) string {
	var fields []string
	for k := 0; k < p.n; k++ {
		fields = append(fields, fmt.Sprintf("t%d := t%d", k, k))
	}
	fields = append(fields, "sid := sid")
	if p.withPid {
		fields = append(fields, "pid := pid")
	}
	group := "entity"
	bd := "'' AS bd"
	if byBreakdown {
		group = "entity, bd"
		bd = "bd"
	}
	a := st.with(name+"_a", fmt.Sprintf("SELECT %s, %s, max(level) AS level, arg_max(struct_pack(%s), level * 10000000000000 + epoch_ms(t0)) AS a FROM %s AS att GROUP BY %s",
		"entity", bd, strings.Join(fields, ", "), att, group))
	cols := []string{"entity", "bd", "level"}
	for k := 0; k < p.n; k++ {
		cols = append(cols, fmt.Sprintf("a.t%d AS t%d", k, k))
	}
	cols = append(cols, "a.sid AS sid")
	if p.withPid {
		cols = append(cols, "a.pid AS pid")
	}
	return st.withMaterialized(name, "SELECT "+strings.Join(cols, ", ")+" FROM "+a+" AS b")
}
