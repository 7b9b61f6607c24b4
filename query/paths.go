package query

import (
	"database/sql"
	"fmt"
	"slices"
	"sort"
)

// PathsResult is a journey graph: nodes are (step, name), edges join a
// node to the next step's node.
type PathsResult struct {
	Nodes []PathNode `json:"nodes"`
	Edges []PathEdge `json:"edges"`
	// Sessions is the number of sessions with at least one step.
	Sessions int64 `json:"sessions"`
}

// PathNode counts the sessions at a name in a step (1-based). DropOff is
// how many of them had no next step.
type PathNode struct {
	Step    int    `json:"step"`
	Name    string `json:"name"`
	Count   int64  `json:"count"`
	DropOff int64  `json:"drop_off"`
}

// PathEdge counts the sessions that went from Source at Step to Target at
// Step+1. Edges beyond the query's edge_limit are merged into edges towards
// (and, when their source was merged too, from) "$other".
type PathEdge struct {
	Step   int    `json:"step"`
	Source string `json:"source"`
	Target string `json:"target"`
	Count  int64  `json:"count"`
}

// pathsPlan is what a dialect needs to number steps. The ev CTE has columns
// session_id, ts, uuid and name; the dialect collapses consecutive
// duplicates, numbers what remains per session in event order, and returns
// rows (session_id, step, name) for steps 1…depth, where step 1 is the
// start point (or the session's first step) or, with only an end point,
// the end point is step depth.
type pathsPlan struct {
	ev         string
	start, end string // bound parameters, or ""
	depth      int
	// visits is a SELECT of the sessions that visit pt (a bound
	// parameter), filtered in the scan like ev rather than read from ev:
	// a second read of ev would have DuckDB store all of ev to share it.
	visits func(pt string) string
}

// Paths semantics: sessions of the range (events in it); steps are page
// paths ($pageview) or event names; "exclude" removes names before
// consecutive duplicates collapse, so A B(excluded) A is one step A. A
// session with a start point contributes from its first visit of it, one
// with an end point up to its first visit of it (after the start point when
// both are given). Loops show as repeated names at later steps.
func (c *compiler) paths(q *Paths) (*compiled, error) {
	d := c.d
	ts := "e." + d.ident("timestamp")
	name := "e.event"
	conds := []string{c.rangePred(c.sp.From, c.sp.To), "e.session_id <> ''"}
	if q.PathType == "pageview" {
		name = "e.path"
		conds = append(conds, "e.event = '$pageview'")
	}
	for _, x := range q.Exclude {
		conds = append(conds, name+" <> "+c.p(x))
	}
	global, err := c.globalPreds(&q.Common)
	if err != nil {
		return nil, err
	}
	conds = append(conds, global)
	var st stmt
	from := c.from()
	p := &pathsPlan{depth: q.Depth}
	p.ev = st.with("ev", "SELECT e.session_id AS session_id, "+ts+" AS ts, e.uuid AS uuid, "+name+" AS name FROM "+from+" WHERE "+and(conds...))
	p.visits = func(pt string) string {
		return "SELECT e.session_id AS session_id FROM " + from + " WHERE " + and(append(slices.Clip(conds), name+" = "+pt)...)
	}
	if q.StartPoint != "" {
		p.start = c.p(q.StartPoint)
	}
	if q.EndPoint != "" {
		p.end = c.p(q.EndPoint)
	}
	steps, err := d.pathSteps(c, &st, p)
	if err != nil {
		return nil, err
	}
	st.sel = "SELECT 'E' AS kind, a.step AS step, a.name AS source, b.name AS target, count(*) AS n FROM " + steps + " AS a JOIN " + steps +
		" AS b ON b.session_id = a.session_id AND b.step = a.step + 1 GROUP BY a.step, a.name, b.name\nUNION ALL\n" +
		"SELECT 'N' AS kind, step, name AS source, '' AS target, count(*) AS n FROM " + steps + " AS s GROUP BY step, name\nUNION ALL\n" +
		"SELECT 'S' AS kind, 0 AS step, '' AS source, '' AS target, " + d.countDistinct("session_id") + " AS n FROM " + steps + " AS s"

	type key struct {
		step int
		name string
	}
	var edges []PathEdge
	nodes := map[key]int64{}
	res := &PathsResult{Nodes: []PathNode{}, Edges: []PathEdge{}}
	read := func(_ int, rows *sql.Rows) error {
		for rows.Next() {
			var kind, src, dst string
			var step, n int64
			if err := rows.Scan(&kind, &step, &src, &dst, &n); err != nil {
				return fmt.Errorf("paths: read row: %w", err)
			}
			switch kind {
			case "E":
				edges = append(edges, PathEdge{Step: int(step), Source: src, Target: dst, Count: n})
			case "N":
				nodes[key{int(step), src}] = n
			case "S":
				res.Sessions = n
			}
		}
		return nil
	}
	done := func() (Result, error) {
		sort.Slice(edges, func(i, j int) bool {
			a, b := edges[i], edges[j]
			if a.Count != b.Count {
				return a.Count > b.Count
			}
			if a.Step != b.Step {
				return a.Step < b.Step
			}
			if a.Source != b.Source {
				return a.Source < b.Source
			}
			return a.Target < b.Target
		})
		keep := edges
		var rest []PathEdge
		if len(edges) > q.EdgeLimit {
			keep, rest = edges[:q.EdgeLimit], edges[q.EdgeLimit:]
		}
		// Nodes shown: those on kept edges (and the first step's sources).
		shown := map[key]bool{}
		for _, e := range keep {
			shown[key{e.Step, e.Source}] = true
			shown[key{e.Step + 1, e.Target}] = true
		}
		merged := map[PathEdge]int64{}
		for _, e := range rest {
			src := e.Source
			if !shown[key{e.Step, src}] {
				src = otherValue
			}
			merged[PathEdge{Step: e.Step, Source: src, Target: otherValue}] += e.Count
		}
		out := append([]PathEdge{}, keep...)
		for e, n := range merged {
			e.Count = n
			out = append(out, e)
		}
		sort.SliceStable(out[len(keep):], func(i, j int) bool {
			a, b := out[len(keep)+i], out[len(keep)+j]
			if a.Step != b.Step {
				return a.Step < b.Step
			}
			return a.Source < b.Source
		})
		res.Edges = out
		// Node counts; names not shown are summed into "$other".
		outgoing := map[key]int64{}
		for _, e := range edges {
			outgoing[key{e.Step, e.Source}] += e.Count
		}
		agg := map[key]*PathNode{}
		for k, n := range nodes {
			name := k.name
			if !shown[k] && !(len(keep) == 0) {
				name = otherValue
			}
			nk := key{k.step, name}
			if agg[nk] == nil {
				agg[nk] = &PathNode{Step: k.step, Name: name}
			}
			agg[nk].Count += n
			agg[nk].DropOff += n - outgoing[k]
		}
		for _, n := range agg {
			res.Nodes = append(res.Nodes, *n)
		}
		sort.Slice(res.Nodes, func(i, j int) bool {
			a, b := res.Nodes[i], res.Nodes[j]
			if a.Step != b.Step {
				return a.Step < b.Step
			}
			if a.Count != b.Count {
				return a.Count > b.Count
			}
			return a.Name < b.Name
		})
		return res, nil
	}
	return &compiled{stmts: []Statement{{SQL: d.render(st), Args: c.b.args}}, read: read, done: done}, nil
}

func (duckDialect) pathSteps(c *compiler, st *stmt, p *pathsPlan) (string, error) {
	src := p.ev + " AS ev"
	sid := "session_id"
	// Sessions that never visit the start (or end) point contribute
	// nothing: drop them before the window functions sort what remains,
	// and number those that do, so that the windows partition by an
	// integer rather than a string (a sixth less CPU).
	for _, pt := range []string{p.start, p.end} {
		if pt != "" {
			vs := st.with("vs", "SELECT session_id, row_number() OVER () AS sid FROM (SELECT DISTINCT session_id FROM ("+p.visits(pt)+") AS v) AS d")
			src += " JOIN " + vs + " AS vs ON vs.session_id = ev.session_id"
			sid = "vs.sid"
			break
		}
	}
	dd := st.with("dd", "SELECT "+sid+" AS session_id, ts, uuid, name, lag(name) OVER (PARTITION BY "+sid+" ORDER BY ts, uuid) AS prev FROM "+src)
	num := st.withMaterialized("num", "SELECT session_id, name, row_number() OVER (PARTITION BY session_id ORDER BY ts, uuid) AS idx FROM "+dd+" AS dd WHERE prev IS NULL OR prev <> name")
	depth := fmt.Sprint(p.depth)
	var sel string
	switch {
	case p.start == "" && p.end == "":
		sel = "SELECT session_id, idx AS step, name FROM " + num + " AS n WHERE idx <= " + depth
	case p.end == "":
		sp := st.with("sp", "SELECT session_id, min(idx) AS s FROM "+num+" AS n WHERE name = "+p.start+" GROUP BY session_id")
		sel = "SELECT n.session_id, n.idx - sp.s + 1 AS step, n.name FROM " + num + " AS n JOIN " + sp + " AS sp ON sp.session_id = n.session_id WHERE n.idx >= sp.s AND n.idx < sp.s + " + depth
	case p.start == "":
		ep := st.with("ep", "SELECT session_id, min(idx) AS e FROM "+num+" AS n WHERE name = "+p.end+" GROUP BY session_id")
		sel = "SELECT n.session_id, n.idx - ep.e + " + depth + " AS step, n.name FROM " + num + " AS n JOIN " + ep + " AS ep ON ep.session_id = n.session_id WHERE n.idx <= ep.e AND n.idx > ep.e - " + depth
	default:
		sp := st.with("sp", "SELECT session_id, min(idx) AS s FROM "+num+" AS n WHERE name = "+p.start+" GROUP BY session_id")
		ep := st.with("ep", "SELECT n.session_id, min(n.idx) AS e FROM "+num+" AS n JOIN "+sp+" AS sp ON sp.session_id = n.session_id WHERE n.name = "+p.end+" AND n.idx > sp.s GROUP BY n.session_id")
		sel = "SELECT n.session_id, n.idx - sp.s + 1 AS step, n.name FROM " + num + " AS n JOIN " + sp + " AS sp ON sp.session_id = n.session_id JOIN " + ep +
			" AS ep ON ep.session_id = n.session_id WHERE n.idx >= sp.s AND n.idx <= ep.e AND n.idx < sp.s + " + depth
	}
	return st.withMaterialized("steps", sel), nil
}
