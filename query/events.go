package query

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Event lists: the raw events behind the aggregates. Two kinds share one
// compiler:
//
//   - live_events: the latest arrivals, newest first by receive time (the
//     dashboard's live view polls it with After);
//   - session_events: one session's events in event order (timestamp, then
//     UUID), for the replay player's event list and timeline.
//
// Both read no time range unless the query names one (date_from / date_to
// bound the event timestamp): a live view shows what arrives, whatever its
// clock said, and a session is listed whole.

// LiveEvents lists the latest arrivals, newest first.
type LiveEvents struct {
	Common
	// After keeps events received after this RFC 3339 time (the newest
	// received_at of the previous poll).
	After string `json:"after,omitempty"`
	// Event keeps events of this name.
	Event string `json:"event,omitempty"`
	// Limit bounds the events listed (default 100, at most MaxEventsListed).
	Limit int `json:"limit,omitempty"`
}

// SessionEvents lists one session's events in event order.
type SessionEvents struct {
	Common
	SessionID string `json:"session_id"`
	// Event keeps events of this name.
	Event string `json:"event,omitempty"`
	// Limit bounds the events listed (default and maximum MaxEventsListed).
	Limit int `json:"limit,omitempty"`
}

// MaxEventsListed bounds an event list.
const MaxEventsListed = 5000

// EventsResult answers live_events and session_events.
type EventsResult struct {
	Events []EventRow `json:"events"`
}

// EventRow is one stored event as the live view and the replay player show
// it. PersonID is the person the distinct id resolves to now.
type EventRow struct {
	UUID       string          `json:"uuid"`
	Event      string          `json:"event"`
	DistinctID string          `json:"distinct_id"`
	PersonID   string          `json:"person_id"`
	SessionID  string          `json:"session_id"`
	Timestamp  time.Time       `json:"timestamp"`
	ReceivedAt time.Time       `json:"received_at"`
	URL        string          `json:"url"`
	Path       string          `json:"path"`
	Title      string          `json:"title,omitempty"`
	Selector   string          `json:"selector,omitempty"`
	X          float64         `json:"x,omitempty"`
	Y          float64         `json:"y,omitempty"`
	Browser    string          `json:"browser,omitempty"`
	OS         string          `json:"os,omitempty"`
	DeviceType string          `json:"device_type,omitempty"`
	Rage       bool            `json:"rage,omitempty"`
	Dead       bool            `json:"dead,omitempty"`
	ErrorClick bool            `json:"error_click,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
}

func (q *LiveEvents) validate(v *validator) {
	if q.After != "" {
		if _, err := time.Parse(time.RFC3339Nano, q.After); err != nil {
			v.fail("after", "%q is not an RFC 3339 time (e.g. 2026-01-31T10:00:00.123Z)", q.After)
		}
	}
	validateEventName(v, q.Event)
	if q.Limit == 0 {
		q.Limit = 100
	}
	if q.Limit < 1 || q.Limit > MaxEventsListed {
		v.fail("limit", "must be between 1 and %d", MaxEventsListed)
	}
}

func (q *SessionEvents) validate(v *validator) {
	switch {
	case q.SessionID == "":
		v.fail("session_id", "required: the session to list")
	case len(q.SessionID) > 200:
		v.fail("session_id", "at most 200 bytes")
	}
	validateEventName(v, q.Event)
	if q.Limit == 0 {
		q.Limit = MaxEventsListed
	}
	if q.Limit < 1 || q.Limit > MaxEventsListed {
		v.fail("limit", "must be between 1 and %d", MaxEventsListed)
	}
}

func validateEventName(v *validator, name string) {
	if len(name) > 200 {
		v.fail("event", "at most 200 bytes")
	}
}

func (c *compiler) liveEvents(q *LiveEvents) (*compiled, error) {
	var conds []string
	if q.After != "" {
		t, _ := time.Parse(time.RFC3339Nano, q.After)
		conds = append(conds, "e.received_at > "+c.p(t.UTC()))
	}
	return c.eventList(&q.Common, q.Event, conds, "received_at DESC, uuid DESC", q.Limit)
}

func (c *compiler) sessionEvents(q *SessionEvents) (*compiled, error) {
	return c.eventList(&q.Common, q.Event, []string{"e.session_id = " + c.p(q.SessionID)},
		c.d.ident("timestamp")+", uuid", q.Limit)
}

// eventList selects a page of events in order, then resolves their
// persons: the join runs over the page only, not over every event the
// ORDER BY reads (unless a filter needs persons, when it runs first).
func (c *compiler) eventList(cm *Common, name string, conds []string, order string, limit int) (*compiled, error) {
	d := c.d
	ts := "e." + d.ident("timestamp")
	where := []string{"e.project_id = " + c.p(c.proj)}
	if cm.DateFrom != "" {
		where = append(where, ts+" >= "+c.p(c.sp.From))
	}
	if cm.DateTo != "" {
		where = append(where, ts+" < "+c.p(c.sp.To))
	}
	if name != "" {
		where = append(where, "e.event = "+c.p(name))
	}
	where = append(where, conds...)
	global, err := c.globalPreds(cm)
	if err != nil {
		return nil, err
	}
	where = append(where, global)
	cols := []string{"e.uuid AS uuid", "e.event AS event", "e.distinct_id AS distinct_id", "e.session_id AS session_id",
		ts + " AS " + d.ident("timestamp"), "e.received_at AS received_at", "e.url AS url", "e.path AS path", "e.title AS title",
		"e.selector AS selector", "e.x AS x", "e.y AS y", "e.browser AS browser", "e.os AS os", "e.device_type AS device_type",
		"e.rage AS rage", "e.dead AS dead", "e.error_click AS error_click", d.toText("e.properties") + " AS props"}
	person := c.needPerson || c.needPersonProps
	if person {
		cols = append(cols, d.personID()+" AS person_id")
	}
	page := "SELECT " + strings.Join(cols, ", ") + " FROM " + c.from() + " WHERE " + and(where...) +
		" ORDER BY " + order + " LIMIT " + fmt.Sprint(limit)
	out := []string{"uuid", "event", "distinct_id", "person_id", "session_id", d.ident("timestamp"), "received_at", "url", "path",
		"title", "selector", "x", "y", "browser", "os", "device_type", "rage", "dead", "error_click", "props"}
	src := "(" + page + ") AS e"
	if !person {
		out[3] = d.personID() + " AS person_id"
		for i, col := range out {
			if i != 3 {
				out[i] = "e." + col
			}
		}
		src = d.personJoin(c, src)
	}
	stmt := "SELECT " + strings.Join(out, ", ") + " FROM " + src + "\nORDER BY " + order

	res := &EventsResult{Events: []EventRow{}}
	read := func(_ int, rows *sql.Rows) error {
		for rows.Next() {
			var e EventRow
			var at, recv TimeColumn
			var props sql.NullString
			if err := rows.Scan(&e.UUID, &e.Event, &e.DistinctID, &e.PersonID, &e.SessionID, &at, &recv,
				&e.URL, &e.Path, &e.Title, &e.Selector, &e.X, &e.Y, &e.Browser, &e.OS, &e.DeviceType,
				&e.Rage, &e.Dead, &e.ErrorClick, &props); err != nil {
				return fmt.Errorf("events: read row: %w", err)
			}
			e.Timestamp, e.ReceivedAt = at.T, recv.T
			if p := props.String; props.Valid && p != "" && p != "{}" && json.Valid([]byte(p)) {
				e.Properties = json.RawMessage(p)
			}
			res.Events = append(res.Events, e)
		}
		return nil
	}
	done := func() (Result, error) { return res, nil }
	return &compiled{stmts: []Statement{{SQL: stmt, Args: c.b.args}}, read: read, done: done}, nil
}
