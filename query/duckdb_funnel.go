package query

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sightline-analytics/sightline/query/funnelwalk"
)

// DuckDB funnels: every order is walked per entity by the store's funnel
// function.

func (duckDialect) funnelAttempts(c *compiler, st *stmt, p *funnelPlan) (string, error) {
	return duckWalk(c, st, p), nil
}

// duckWalk walks each entity's events through the funnel in one pass,
// with the store's sightline_funnel function (query/funnelwalk), over
// parallel lists of the entity's events: DuckDB groups them (unsorted:
// ordering inside the aggregate costs more than the walk) and the function
// sorts them. Lists of strings cost DuckDB far more to build than lists of
// numbers, so sessions are looked up afterwards for the few samples shown
// (plan.sessions), and the UUIDs that order equal timestamps are listed
// only for the rare entity that has some: the function answers NULL for
// it, and a second pass over its events alone walks them again with their
// UUIDs.
func duckWalk(c *compiler, st *stmt, p *funnelPlan) string {
	var bits []string
	for k := 0; k < p.n; k++ {
		bits = append(bits, fmt.Sprintf("CASE WHEN s%d THEN %d ELSE 0 END", k, int64(1)<<k))
	}
	var excl []string
	for j, x := range p.excl {
		bits = append(bits, fmt.Sprintf("CASE WHEN x%d THEN %d ELSE 0 END", j, int64(1)<<(p.n+j)))
		excl = append(excl, strconv.Itoa(x.from), strconv.Itoa(x.to))
	}
	// One packed list when the time since date_from fits beside the mask
	// bits (see store/duckdb.FunnelFunction).
	nbits := p.n + len(p.excl)
	span := p.to.Add(time.Duration(p.window)*time.Second).Sub(p.from).Microseconds() + 1
	lists := []string{"list(epoch_us(ts)) AS ts_", "list(" + strings.Join(bits, " | ") + ") AS m_"}
	if nbits < 62 && span < int64(1)<<(62-nbits) {
		lists = []string{fmt.Sprintf("list(((epoch_us(ts) - %s) << %d) | %s) AS ts_", c.p(p.from.UnixMicro()), nbits, strings.Join(bits, " | ")),
			"CAST(NULL AS BIGINT[]) AS m_"}
	}
	keep := []string{"entity"}
	bdList, bd, pid := "CAST(NULL AS VARCHAR[])", "''", "''"
	if p.byBreakdown {
		lists = append(lists, "list(bd) AS bd_")
		keep = append(keep, "bd_")
		bdList, bd = "bd_", "bd_[a[2]]"
	}
	if p.withPid {
		lists = append(lists, "list(pid) AS pid_")
		keep = append(keep, "pid_")
		pid = "pid_[a[2]]"
	}
	call := func(uuids string) string {
		return fmt.Sprintf("%s(ts_, m_, %s, %s, %s, %s, %s, %s, CAST([%s] AS BIGINT[]), %s)", funnelwalk.FunctionName, bdList, uuids,
			c.p(int64(p.n)), c.p(p.window), c.p(p.from.UnixMicro()), c.p(p.to.UnixMicro()), strings.Join(excl, ", "), c.p(p.order))
	}
	grp := st.with("grp", "SELECT entity, "+strings.Join(lists, ", ")+" FROM "+p.ev+" AS ev GROUP BY entity")
	walk1 := st.withMaterialized("walk1", "SELECT "+strings.Join(keep, ", ")+", "+call("CAST(NULL AS VARCHAR[])")+" AS r FROM "+grp+" AS g")
	// The second pass reads the events of the entities with ties only,
	// selected in the scan itself: a condition above the person join
	// would leave ev's plan repeated, which DuckDB then stores whole to
	// share it.
	tied := "SELECT entity FROM " + walk1 + " AS w WHERE r IS NULL"
	scope := "e.session_id IN (" + tied + ")"
	if !p.bySession {
		scope = "e.distinct_id IN (" + tied + " UNION ALL SELECT distinct_id FROM person_distinct_ids WHERE project_id = " + c.p(c.proj) +
			" AND person_id IN (" + tied + "))"
	}
	ev2 := st.with("ev_tied", p.evScoped(scope))
	grp2 := st.with("grp2", "SELECT entity, "+strings.Join(lists, ", ")+", list(uuid) AS u_ FROM "+ev2+" AS ev GROUP BY entity")
	// The function's answer is its attempts' fields one after the other:
	// without a breakdown, one attempt or none.
	k := strings.Join(keep, ", ")
	both := st.with("walked", "SELECT "+k+", r FROM "+walk1+" AS w WHERE r IS NOT NULL\nUNION ALL\nSELECT "+k+", "+call("u_")+" AS r FROM "+grp2+" AS g")
	var walk string
	if p.byBreakdown {
		w := strconv.Itoa(3 + p.n)
		each := st.with("each", "SELECT "+k+", r, unnest(range(len(r) // "+w+")) AS i FROM "+both+" AS w")
		walk = st.with("walk", "SELECT "+k+", r[i * "+w+" + 1:(i + 1) * "+w+"] AS a FROM "+each+" AS e")
	} else {
		walk = st.with("walk", "SELECT "+k+", r AS a FROM "+both+" AS w WHERE len(r) > 0")
	}
	cols := []string{"entity", bd + " AS bd", pid + " AS pid", "a[1] AS level"}
	for k := 0; k < p.n; k++ {
		cols = append(cols, fmt.Sprintf("a[%d] AS t%d", 4+k, k))
	}
	cols = append(cols, "'' AS sid")
	p.microTimes, p.oneAttempt = true, true
	p.toTime = func(col string) string { return "make_timestamp(" + col + ") AT TIME ZONE 'UTC'" }
	p.sessions = func(rows string) string {
		// A row's session is that of its furthest step's event (of an
		// unordered attempt's first event): the entity's event at that
		// time (of several, the least session id, as in funnel_actors).
		last := "CASE r.level"
		for k := 0; k < p.n; k++ {
			last += fmt.Sprintf(" WHEN %d THEN r.t%d", k+1, k)
		}
		last += " END"
		if p.order == "unordered" {
			last = "r.t0"
		}
		proj := c.p(c.proj)
		entity := "e.session_id"
		from := "(" + rows + ") AS r JOIN events AS e ON e.project_id = " + proj + " AND e." + c.d.ident("timestamp") + " = " + p.toTime(last)
		if !p.bySession {
			entity = c.d.personID()
			from += " LEFT JOIN person_distinct_ids AS pd ON pd.project_id = " + proj + " AND pd.distinct_id = e.distinct_id"
		}
		return "SELECT r.bd AS bd, r.level AS level, r.entity AS entity, min(e.session_id) AS sid FROM " + from +
			" WHERE " + entity + " = r.entity GROUP BY r.bd, r.level, r.entity"
	}
	return st.with("att", "SELECT "+strings.Join(cols, ", ")+" FROM "+walk+" AS w")
}

// funnelBest keeps each entity's furthest attempt, then the latest started
// (duckWalk's times are microseconds).
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
	a := st.with(name+"_a", fmt.Sprintf("SELECT %s, %s, max(level) AS level, arg_max(struct_pack(%s), level * 10000000000000000 + t0) AS a FROM %s AS att GROUP BY %s",
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
