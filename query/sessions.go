package query

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// SessionsResult is one page of sessions.
type SessionsResult struct {
	Sessions []SessionRow `json:"sessions"`
	// NextCursor continues the listing (absent on the last page).
	NextCursor string `json:"next_cursor,omitempty"`
}

// SessionRow summarizes one session. A session belongs to the time range
// when it starts in it.
type SessionRow struct {
	SessionID       string  `json:"session_id"`
	PersonID        string  `json:"person_id"`
	DistinctID      string  `json:"distinct_id"`
	Start           string  `json:"start"`
	End             string  `json:"end"`
	DurationSeconds float64 `json:"duration_seconds"`
	// ActiveSeconds comes from the replay when there is one (time with
	// input); otherwise it is estimated as 10 s per 10-second slot with an
	// event, at most the duration.
	ActiveSeconds float64 `json:"active_seconds"`
	Pages         int64   `json:"pages"`
	Events        int64   `json:"events"`
	EntryURL      string  `json:"entry_url"`
	ExitURL       string  `json:"exit_url"`
	Clicks        int64   `json:"clicks"`
	RageClicks    int64   `json:"rage_clicks"`
	DeadClicks    int64   `json:"dead_clicks"`
	ErrorClicks   int64   `json:"error_clicks"`
	DeviceType    string  `json:"device_type"`
	Browser       string  `json:"browser"`
	OS            string  `json:"os"`
	HasReplay     bool    `json:"has_replay"`
}

type sessionCursor struct {
	Order string  `json:"o"`
	Asc   bool    `json:"a,omitempty"`
	Num   float64 `json:"n,omitempty"`
	Time  string  `json:"t,omitempty"`
	ID    string  `json:"id"`
}

func encodeCursor(c sessionCursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, order string) (sessionCursor, error) {
	var c sessionCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" {
		return c, errors.New("is not a cursor from a previous page")
	}
	if c.Order != order {
		return c, fmt.Errorf("belongs to a listing ordered by %q, not %q", c.Order, order)
	}
	if order == "start" {
		if _, err := time.Parse(time.RFC3339Nano, c.Time); err != nil {
			return c, errors.New("is not a cursor from a previous page")
		}
	}
	return c, nil
}

var sessionSortCol = map[string]string{
	"start": "start_time", "duration": "duration", "active_time": "active", "pages": "pageviews",
	"clicks": "clicks", "frustration": "frustration",
}

func (c *compiler) sessions(q *Sessions) (*compiled, error) {
	d := c.d
	sp := c.sp
	ts := "e." + d.ident("timestamp")
	// Extra per-session aggregates for the filters.
	var having []string
	var extra []string
	if q.VisitedURL != "" {
		extra = append(extra, d.countIf(and("e.event = '$pageview'", c.urlPred(q.VisitedURL)))+" AS visited")
		having = append(having, "visited > 0")
	}
	if q.Performed != nil {
		m, err := c.eventMatch(*q.Performed)
		if err != nil {
			return nil, fieldErr(err, "performed")
		}
		extra = append(extra, d.countIf(m)+" AS performed")
		having = append(having, "performed > 0")
	}
	global, err := c.globalPreds(&q.Common)
	if err != nil {
		return nil, err
	}
	if global != "TRUE" {
		extra = append(extra, d.countIf(global)+" AS matched")
		having = append(having, "matched > 0")
	}
	// Sessions that start in the range may run past its end, and start
	// time is the minimum over all their events: read a day around it.
	extra = append(extra, d.countDistinct("floor("+d.epoch(ts)+" / 10)")+" AS slots")
	sortCol := sessionSortCol[q.OrderBy]
	dir, cmp := "DESC", "<"
	if q.Ascending {
		dir, cmp = "ASC", ">"
	}
	cursorCond := ""
	if q.Cursor != "" {
		cur, err := decodeCursor(q.Cursor, q.OrderBy)
		if err != nil {
			return nil, &Error{Field: "cursor", Msg: err.Error()}
		}
		if cur.Asc != q.Ascending {
			return nil, &Error{Field: "cursor", Msg: "belongs to a listing in the other direction"}
		}
		var v string
		if q.OrderBy == "start" {
			t, _ := time.Parse(time.RFC3339Nano, cur.Time)
			v = c.p(t)
		} else {
			v = c.p(cur.Num)
		}
		cursorCond = "(" + sortCol + " " + cmp + " " + v + " OR (" + sortCol + " = " + v + " AND session_id " + cmp + " " + c.p(cur.ID) + "))"
	}
	var st stmt
	where := "TRUE"
	// The default listing (newest first, no filter) picks its page from
	// session start times alone, and summarizes only the sessions shown:
	// summarizing every session of the range costs ten times more.
	if q.OrderBy == "start" && len(having) == 0 && q.MinFrustration == 0 && q.MinDuration == 0 && q.MaxDuration == 0 &&
		q.DeviceType == "" && q.HasReplay == nil {
		pc := []string{"start_time >= " + c.p(sp.From), "start_time < " + c.p(sp.To)}
		if cursorCond != "" {
			pc = append(pc, cursorCond)
		}
		starts := "SELECT e.session_id AS session_id, min(" + ts + ") AS start_time FROM events e WHERE " +
			and(c.rangePred(sp.From.Add(-24*time.Hour), sp.To.Add(24*time.Hour)), "e.session_id <> ''") + " GROUP BY e.session_id"
		page := st.with("page", "SELECT session_id FROM ("+starts+") st WHERE "+and(pc...)+
			" ORDER BY start_time "+dir+", session_id "+dir+" LIMIT "+fmt.Sprint(q.Limit+1))
		where = "e.session_id IN (SELECT session_id FROM " + page + " AS page)"
	}
	agg := c.sessionAgg(sp.From.Add(-24*time.Hour), sp.To.Add(24*time.Hour), where, extra...)
	s := st.with("s", agg)
	// has_r marks a match: a store whose LEFT JOIN fills defaults instead
	// of NULLs (ClickHouse) reads 0 there too.
	rep := st.with("r", "SELECT session_id, sum(active_ms) AS active_ms, 1 AS has_r FROM replays WHERE project_id = "+c.p(c.proj)+" GROUP BY session_id")
	cols := "s.*, coalesce(r.has_r, 0) = 1 AS has_replay, " +
		"CASE WHEN coalesce(r.has_r, 0) = 1 THEN r.active_ms / 1000.0 ELSE least(s.duration, s.slots * 10.0) END AS active, " +
		"s.rage_clicks + s.dead_clicks + s.error_clicks AS frustration"
	full := st.with("f", "SELECT "+cols+" FROM "+s+" AS s LEFT JOIN "+rep+" AS r ON r.session_id = s.session_id")

	conds := []string{"start_time >= " + c.p(sp.From), "start_time < " + c.p(sp.To)}
	conds = append(conds, having...)
	if q.MinFrustration > 0 {
		conds = append(conds, "frustration >= "+c.p(int64(q.MinFrustration)))
	}
	if q.MinDuration > 0 {
		conds = append(conds, "duration >= "+c.p(q.MinDuration))
	}
	if q.MaxDuration > 0 {
		conds = append(conds, "duration <= "+c.p(q.MaxDuration))
	}
	if q.DeviceType != "" {
		conds = append(conds, "device_type = "+c.p(q.DeviceType))
	}
	if q.HasReplay != nil {
		if *q.HasReplay {
			conds = append(conds, "has_replay")
		} else {
			conds = append(conds, "NOT has_replay")
		}
	}
	if cursorCond != "" {
		conds = append(conds, cursorCond)
	}
	st.sel = "SELECT session_id, person_id, distinct_id, start_time, end_time, duration, active, pageviews, events, " +
		"coalesce(entry_url, ''), coalesce(exit_url, ''), clicks, rage_clicks, dead_clicks, error_clicks, " +
		"device_type, browser, os, has_replay, " + sortCol + " AS sort_key FROM " + full + " AS f WHERE " + and(conds...) +
		"\nORDER BY " + sortCol + " " + dir + ", session_id " + dir + "\nLIMIT " + fmt.Sprint(q.Limit+1)

	res := &SessionsResult{Sessions: []SessionRow{}}
	var lastSort any
	var lastStart time.Time
	read := func(_ int, rows *sql.Rows) error {
		for rows.Next() {
			var r SessionRow
			var start, end TimeColumn
			var sortVal any
			if err := rows.Scan(&r.SessionID, &r.PersonID, &r.DistinctID, &start, &end, &r.DurationSeconds, &r.ActiveSeconds,
				&r.Pages, &r.Events, &r.EntryURL, &r.ExitURL, &r.Clicks, &r.RageClicks, &r.DeadClicks, &r.ErrorClicks,
				&r.DeviceType, &r.Browser, &r.OS, &r.HasReplay, &sortVal); err != nil {
				return fmt.Errorf("sessions: read row: %w", err)
			}
			if len(res.Sessions) == q.Limit {
				// One row past the page: there is a next page, which starts
				// after the last row shown.
				last := res.Sessions[len(res.Sessions)-1]
				cur := sessionCursor{Order: q.OrderBy, Asc: q.Ascending, ID: last.SessionID}
				if q.OrderBy == "start" {
					cur.Time = lastStart.UTC().Format(time.RFC3339Nano)
				} else {
					cur.Num = toFloat(lastSort)
				}
				res.NextCursor = encodeCursor(cur)
				continue
			}
			r.Start = formatT(start.T.In(sp.Loc))
			r.End = formatT(end.T.In(sp.Loc))
			lastSort, lastStart = sortVal, start.T
			res.Sessions = append(res.Sessions, r)
		}
		return nil
	}
	done := func() (Result, error) { return res, nil }
	return &compiled{stmts: []Statement{{SQL: d.render(st), Args: c.b.args}}, read: read, done: done}, nil
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case int:
		return float64(x)
	case uint64:
		return float64(x)
	case uint32:
		return float64(x)
	case uint8:
		return float64(x)
	}
	return 0
}
