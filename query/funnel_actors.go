package query

import (
	"database/sql"
	"fmt"
	"slices"
	"strconv"
)

// FunnelActors drills down into one step of a funnel: the persons (or
// sessions, when the funnel counts sessions) who converted at Step (reached
// it: their best attempt's level is at least Step) or dropped there
// (reached Step − 1 but not Step), a page at a time, the way a persons
// list opens from a funnel bar. The funnel's own fields define the funnel
// exactly as in a funnel query, so that Total equals the step's count
// (converted) or drop-off (dropped) in that query's result.
type FunnelActors struct {
	Funnel
	// Step is the 1-based step.
	Step int `json:"step"`
	// Status is converted or dropped (Step ≥ 2).
	Status string `json:"status"`
	// BreakdownValue drills into one value of the funnel's breakdown (a
	// "value" of its result's breakdowns: "$none", "$other", or a segment
	// id); without it the overall funnel's step is listed.
	BreakdownValue *string `json:"breakdown_value,omitempty"`
	// Offset skips that many actors; Limit is the page size (default 100,
	// at most 500).
	Offset int `json:"offset,omitempty"`
	Limit  int `json:"limit,omitempty"`
}

// FunnelActorsResult is one page of a funnel step's actors, most recent
// first (by the time of the listed step, then by id).
type FunnelActorsResult struct {
	Step           int     `json:"step"`
	Label          string  `json:"label"`
	Status         string  `json:"status"`
	CountBy        string  `json:"count_by"`
	BreakdownValue *string `json:"breakdown_value,omitempty"`
	// Total counts every actor of the step and status, over all pages.
	Total  int64 `json:"total"`
	Offset int   `json:"offset"`
	Limit  int   `json:"limit"`
	// NextOffset is the offset of the next page; absent on the last one.
	NextOffset *int          `json:"next_offset,omitempty"`
	Actors     []FunnelActor `json:"actors"`
}

// FunnelActor is a person (or session) of a funnel step.
type FunnelActor struct {
	// PersonID is set when the funnel counts persons.
	PersonID string `json:"person_id,omitempty"`
	// SessionID is the session of the step reached, to replay: for
	// converted actors the session in which they reached Step, for
	// dropped ones the session of the last step they reached (Step − 1).
	SessionID string `json:"session_id,omitempty"`
	// Timestamp is when that step happened (the query's time zone).
	Timestamp string `json:"timestamp"`
	// FurthestStep is the furthest step the actor's best attempt reached.
	FurthestStep int `json:"furthest_step"`
	// HasReplay tells whether the session has a recording.
	HasReplay bool `json:"has_replay"`
}

const maxActorsOffset = 10_000_000

func (q *FunnelActors) validate(v *validator) {
	q.Funnel.validate(v)
	if !v.ok() {
		return
	}
	n := len(q.Steps)
	switch q.Status {
	case "converted", "dropped":
	case "":
		v.fail("status", `required: "converted" or "dropped"`)
	default:
		v.fail("status", `must be "converted" or "dropped", not %q`, q.Status)
	}
	switch {
	case q.Step < 1 || q.Step > n:
		v.fail("step", "must be a step number from 1 to %d", n)
	case q.Status == "dropped" && q.Step == 1:
		v.fail("step", "nobody drops off at step 1: dropped lists those who reached the previous step but not this one, so use a step from 2 to %d", n)
	}
	if q.Offset < 0 || q.Offset > maxActorsOffset {
		v.fail("offset", "must be between 0 and %d", maxActorsOffset)
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	if q.Limit < 1 || q.Limit > 500 {
		v.fail("limit", "must be between 1 and 500")
	}
	if bv := q.BreakdownValue; bv != nil {
		switch {
		case q.Breakdown == nil:
			v.fail("breakdown_value", "only used with a breakdown")
		case len(*bv) > maxValueLen:
			v.fail("breakdown_value", "is longer than %d bytes", maxValueLen)
		case q.Breakdown.Type == "segment":
			id, err := strconv.ParseInt(*bv, 10, 64)
			if err != nil || !slices.Contains(q.Breakdown.Segments, id) {
				v.fail("breakdown_value", "must be one of the breakdown's segment ids, as a string (the \"value\" of a breakdown in the funnel's result)")
			}
		}
	}
}

func (c *compiler) funnelActors(q *FunnelActors) (*compiled, error) {
	f := q.Funnel
	if q.BreakdownValue == nil {
		// The overall funnel of a breakdown is the funnel without it.
		f.Breakdown = nil
	}
	core, err := c.funnelCore(&f, false)
	if err != nil {
		return nil, err
	}
	st, best := core.st, core.best
	// k is the step whose time and session are listed: the step reached.
	k := q.Step - 1
	conds := []string{fmt.Sprintf("level >= %d", q.Step)}
	if q.Status == "dropped" {
		k = q.Step - 2
		conds = []string{fmt.Sprintf("level = %d", q.Step-1)}
	}
	if bv := q.BreakdownValue; bv != nil {
		v := *bv
		if v == noneValue && f.Breakdown.Type != "segment" {
			v = ""
		}
		conds = append(conds, "bd = "+c.p(v))
	}
	act := st.with("act", fmt.Sprintf("SELECT entity, level, %s AS step_at FROM %s AS b WHERE %s", core.time(fmt.Sprintf("t%d", k)), best, and(conds...)))
	page := st.with("page", fmt.Sprintf("SELECT entity AS p_entity, level AS p_level, step_at AS p_at FROM %s AS a ORDER BY step_at DESC, entity LIMIT %d OFFSET %d",
		act, q.Limit, q.Offset))
	// Joins are USING joins on columns named alike: ClickHouse 18.16 mixes
	// up the rows of an ON join whose right-hand columns the query reads.
	var joined string
	if f.CountBy == "session" {
		joined = st.with("pj", "SELECT p_entity AS a_entity, p_level AS a_level, p_at AS a_at, p_entity AS a_sid FROM "+page+" AS pg")
	} else {
		// The session of a person's step is that of the step's event: the
		// entity's event at the step's time that matches the step (any step
		// in unordered funnels, whose steps are counts). Events of equal
		// time in different sessions resolve to the least session id.
		flag := fmt.Sprintf("s%d", k)
		if f.Order == "unordered" {
			var anyStep []string
			for i := range f.Steps {
				anyStep = append(anyStep, fmt.Sprintf("s%d", i))
			}
			flag = or(anyStep...)
		}
		look := st.with("look", "SELECT entity AS p_entity, min(sid) AS l_sid FROM "+core.p.ev+" AS ev JOIN (SELECT p_entity AS entity, p_at FROM "+page+
			" AS pg) AS pg USING (entity) WHERE "+flag+" AND ts = p_at GROUP BY entity")
		joined = st.with("pj", "SELECT p_entity AS a_entity, p_level AS a_level, p_at AS a_at, l_sid AS a_sid FROM "+page+
			" AS pg LEFT JOIN "+look+" AS l USING (p_entity)")
	}
	// has_r marks a match (see sessions).
	rep := st.with("rep", "SELECT session_id AS a_sid, 1 AS has_r FROM replays WHERE project_id = "+c.p(c.proj)+" GROUP BY session_id")
	st.sel = "SELECT 'A' AS kind, a_entity AS entity, coalesce(a_sid, '') AS sid, CAST(a_level AS BIGINT) AS n, a_at AS step_at, coalesce(has_r, 0) = 1 AS has_replay FROM " +
		joined + " AS a LEFT JOIN " + rep + " AS r USING (a_sid)" +
		"\nUNION ALL\nSELECT 'T' AS kind, '' AS entity, '' AS sid, CAST(count(*) AS BIGINT) AS n, min(step_at) AS step_at, FALSE AS has_replay FROM " + act + " AS a" +
		"\nORDER BY kind, step_at DESC, entity"

	res := &FunnelActorsResult{Step: q.Step, Label: c.funnelLabels(&f)[q.Step-1], Status: q.Status, CountBy: f.CountBy,
		BreakdownValue: q.BreakdownValue, Offset: q.Offset, Limit: q.Limit, Actors: []FunnelActor{}}
	read := func(_ int, rows *sql.Rows) error {
		for rows.Next() {
			var kind, entity, sid string
			var n int64
			var at TimeColumn
			var hasReplay bool
			if err := rows.Scan(&kind, &entity, &sid, &n, &at, &hasReplay); err != nil {
				return fmt.Errorf("funnel actors: read row: %w", err)
			}
			if kind == "T" {
				res.Total = n
				continue
			}
			a := FunnelActor{SessionID: sid, Timestamp: formatT(at.T.In(c.sp.Loc)), FurthestStep: int(n), HasReplay: hasReplay}
			if f.CountBy == "person" {
				a.PersonID = entity
			}
			res.Actors = append(res.Actors, a)
		}
		return nil
	}
	done := func() (Result, error) {
		if next := q.Offset + len(res.Actors); len(res.Actors) == q.Limit && int64(next) < res.Total {
			res.NextOffset = &next
		}
		return res, nil
	}
	return &compiled{stmts: []Statement{{SQL: c.d.render(st), Args: c.b.args}}, read: read, done: done}, nil
}
