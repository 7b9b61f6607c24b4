package insight

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sightline-analytics/sightline/query"
)

// SessionFilter selects the sessions to cluster: those with an event in
// [From, To) that satisfy every condition. Each condition holds when some
// event of the session satisfies it (a session "visited /cart", "was on
// mobile", "did purchase").
type SessionFilter struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Conditions are ANDed.
	Conditions []Condition `json:"conditions,omitempty"`
	// Limit caps the number of sessions (default and maximum MaxSessions);
	// beyond it the most recent sessions are kept.
	Limit int `json:"limit,omitempty"`
}

// Condition is a test on one event column. Column is one of
// ConditionColumns; Op is eq, neq, contains, or prefix. The column
// "frustration" (op eq, value rage, dead, error or any) holds for a click
// classified as frustrated.
type Condition struct {
	Column string `json:"column"`
	Op     string `json:"op"`
	Value  string `json:"value"`
}

// ConditionColumns are the event columns a Condition may test.
var ConditionColumns = []string{"event", "path", "host", "url", "device_type", "browser", "os",
	"referring_domain", "utm_source", "utm_medium", "utm_campaign", "distinct_id", "selector", "frustration"}

// MaxSessions bounds one clustering run.
const MaxSessions = 200_000

func (f *SessionFilter) validate() error {
	if f.From.IsZero() || f.To.IsZero() || !f.From.Before(f.To) {
		return fmt.Errorf("from and to must be set, with from before to")
	}
	if f.Limit <= 0 || f.Limit > MaxSessions {
		f.Limit = MaxSessions
	}
	for i, c := range f.Conditions {
		known := false
		for _, col := range ConditionColumns {
			known = known || col == c.Column
		}
		if !known {
			return fmt.Errorf("conditions[%d]: unknown column %q (use one of %s)", i, c.Column, strings.Join(ConditionColumns, ", "))
		}
		if c.Column == "frustration" {
			if c.Op != "eq" || (c.Value != "rage" && c.Value != "dead" && c.Value != "error" && c.Value != "any") {
				return fmt.Errorf("conditions[%d]: frustration takes op eq and value rage, dead, error or any", i)
			}
			continue
		}
		switch c.Op {
		case "eq", "neq", "contains", "prefix":
		default:
			return fmt.Errorf("conditions[%d]: unknown op %q (use eq, neq, contains or prefix)", i, c.Op)
		}
	}
	return nil
}

// where renders the filter as predicates over events (alias-free), adding
// parameters to a.
func (f *SessionFilter) where(a *args, projectID int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "project_id = %s AND \"timestamp\" >= %s AND \"timestamp\" < %s AND session_id <> ''",
		a.add(projectID), a.add(f.From.UTC()), a.add(f.To.UTC()))
	for _, c := range f.Conditions {
		var pred string
		switch {
		case c.Column == "frustration":
			pred = map[string]string{"rage": "rage", "dead": "dead", "error": "error_click", "any": "(rage OR dead OR error_click)"}[c.Value]
		default:
			pred = c.predicate(a)
		}
		fmt.Fprintf(&b, " AND session_id IN (SELECT session_id FROM events WHERE project_id = %s AND \"timestamp\" >= %s AND \"timestamp\" < %s AND %s)",
			a.add(projectID), a.add(f.From.UTC()), a.add(f.To.UTC()), pred)
	}
	return b.String()
}

func (c Condition) predicate(a *args) string {
	var pred string
	switch c.Op {
	case "eq":
		pred = c.Column + " = " + a.add(c.Value)
	case "neq":
		pred = c.Column + " <> " + a.add(c.Value)
	case "contains":
		pred = a.d.contains(c.Column, a.add(c.Value))
	case "prefix":
		pred = "substr(" + c.Column + ", 1, " + fmt.Sprint(len(c.Value)) + ") = " + a.add(c.Value)
	}
	return pred
}

// sessionRow is one session as the feature query returns it.
type sessionRow struct {
	ID          string
	Person      string
	Start, End  time.Time
	Events      int
	Device      string
	ActiveSlots int
	MaxScroll   float64 // percent; -1 when no page was left with a depth
	Rage        int
	Dead        int
	ErrorClicks int
	Errors      int
	Clicks      int
	// EventSeq and PageSeq are the event names and pageview paths in time
	// order, joined by sepItem.
	EventSeq string
	PageSeq  string
	// Frustration lists "kind\x1fpath\x1ftarget" items joined by sepRecord,
	// one per frustrated click (kind is rage, dead or error).
	Frustration string
}

const (
	sepItem   = "\x1f"
	sepRecord = "\x1e"
)

// sessionsPerPart bounds the sessions one feature query aggregates: the
// ordered string aggregates buffer every event of their group, and a
// project's hundred thousand sessions at once would not fit the store's
// memory limit (2 GB by default) beside its data (measured: 100,000 at
// once ran out of memory; 50,000 fit).
const sessionsPerPart = 50_000

// fetchSessions runs the feature query: one row per session, oldest first,
// at most f.Limit (the most recent).
func fetchSessions(ctx context.Context, db Querier, projectID int64, f SessionFilter) ([]sessionRow, error) {
	d, err := dialectFor(db.Dialect())
	if err != nil {
		return nil, err
	}
	n, err := countSessions(ctx, db, projectID, f)
	if err != nil {
		return nil, err
	}
	parts := max(1, int((n+sessionsPerPart-1)/sessionsPerPart))
	var out []sessionRow
	for part := 0; part < parts; part++ {
		rows, err := fetchSessionPart(ctx, db, d, projectID, f, part, parts)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out, nil
}

// sequences orders "ms\x1devent[\x1dpath]" items joined by sepItem by
// time and returns the event names and the pageview paths, each joined by
// sepItem.
func sequences(items string) (events, pages string) {
	type item struct {
		ms    int64
		event string
		path  string
		page  bool
	}
	parts := strings.Split(items, sepItem)
	its := make([]item, 0, len(parts))
	for _, p := range parts {
		f := strings.SplitN(p, "\x1d", 3)
		if len(f) < 2 || f[1] == "" {
			continue
		}
		ms, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		it := item{ms: ms, event: f[1]}
		if len(f) == 3 {
			it.path, it.page = f[2], true
		}
		its = append(its, it)
	}
	sort.Slice(its, func(i, j int) bool {
		if its[i].ms != its[j].ms {
			return its[i].ms < its[j].ms
		}
		if its[i].event != its[j].event {
			return its[i].event < its[j].event
		}
		return its[i].path < its[j].path
	})
	var eb, pb strings.Builder
	for _, it := range its {
		if eb.Len() > 0 {
			eb.WriteString(sepItem)
		}
		eb.WriteString(it.event)
		if it.page {
			if pb.Len() > 0 {
				pb.WriteString(sepItem)
			}
			pb.WriteString(it.path)
		}
	}
	return eb.String(), pb.String()
}

func fetchSessionPart(ctx context.Context, db Querier, d *dialect, projectID int64, f SessionFilter, part, parts int) ([]sessionRow, error) {
	a := &args{d: d}
	where := f.where(a, projectID)
	if parts > 1 {
		where += " AND " + d.bucketOf("session_id", parts) + " = " + strconv.Itoa(part)
	}
	ts := `"timestamp"`
	sepI, sepR, sepF := "'\x1f'", "'\x1e'", "'\x1d'"
	frustKind := "CASE WHEN rage THEN 'rage' WHEN dead THEN 'dead' ELSE 'error' END"
	// Events come tagged with their time and sorted in Go: an ordered
	// string aggregate costs DuckDB a sort per group, ten times the rest
	// of the query.
	item := d.epochMsText(ts) + " || " + sepF + " || event || CASE WHEN event = '$pageview' THEN " + sepF + " || path ELSE '' END"
	q := `SELECT session_id, min(distinct_id), min(` + ts + `), max(` + ts + `), count(*), max(device_type),
	` + d.activeSlots(ts) + `,
	coalesce(max(CASE WHEN event = '$pageleave' THEN ` + d.jsonNum("$max_scroll_pct") + ` END), -1),
	` + d.countIf("rage") + `, ` + d.countIf("dead") + `, ` + d.countIf("error_click") + `,
	` + d.countIf("event = '$error'") + `, ` + d.countIf("event = '$click'") + `,
	` + d.concat(item, sepI) + `,
	` + d.concat("CASE WHEN rage OR dead OR error_click THEN "+frustKind+" || "+sepI+" || path || "+sepI+" || "+d.target("elements_chain")+" END", sepR) + `
FROM events WHERE ` + where + `
GROUP BY session_id`
	rows, err := db.Query(ctx, q, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("insight: session features: %w", err)
	}
	defer rows.Close()
	var out []sessionRow
	for rows.Next() {
		var r sessionRow
		var start, end query.TimeColumn
		var device sql.NullString
		var items string
		if err := rows.Scan(&r.ID, &r.Person, &start, &end, &r.Events, &device, &r.ActiveSlots, &r.MaxScroll,
			&r.Rage, &r.Dead, &r.ErrorClicks, &r.Errors, &r.Clicks, &items, &r.Frustration); err != nil {
			return nil, fmt.Errorf("insight: session features: %w", err)
		}
		r.Start, r.End, r.Device = start.T, end.T, device.String
		r.EventSeq, r.PageSeq = sequences(items)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("insight: session features: %w", err)
	}
	return out, nil
}

// fetchConverted returns the sessions (of the filter) that did the
// conversion event.
func fetchConverted(ctx context.Context, db Querier, projectID int64, f SessionFilter, conv string) (map[string]bool, error) {
	d, err := dialectFor(db.Dialect())
	if err != nil {
		return nil, err
	}
	a := &args{d: d}
	where := f.where(a, projectID)
	q := "SELECT DISTINCT session_id FROM events WHERE " + where + " AND event = " + a.add(conv)
	rows, err := db.Query(ctx, q, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("insight: conversions: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("insight: conversions: %w", err)
		}
		out[id] = true
	}
	return out, rows.Err()
}
