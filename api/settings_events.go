package api

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// eventJSON is one stored event as the live view and the replay player's
// event list show it.
type eventJSON struct {
	UUID       string          `json:"uuid"`
	Event      string          `json:"event"`
	DistinctID string          `json:"distinct_id"`
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

const maxEventsListed = 5000

// GET /api/projects/{project_id}/events lists stored events:
//
//   - ?session_id=S: one session's events in time order (the replay
//     player's event list and timeline markers), up to 5,000;
//   - otherwise the latest arrivals, newest first (the live view), with
//     ?after=<RFC 3339 time> to get only what arrived since the last poll,
//     and ?limit= (default 100).
func (s *Server) recentEvents(w http.ResponseWriter, r *http.Request, p Principal) {
	if s.d.Events == nil {
		WriteError(w, http.StatusServiceUnavailable, "no event store configured")
		return
	}
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxEventsListed {
			WriteJSON(w, http.StatusBadRequest, Error{Error: "limit must be between 1 and 5000", Field: "limit"})
			return
		}
		limit = n
	}
	var (
		where = []string{"project_id = ?"}
		args  = []any{p.ProjectID}
		order = "received_at DESC, uuid DESC"
	)
	if sid := q.Get("session_id"); sid != "" {
		where = append(where, "session_id = ?")
		args = append(args, sid)
		order = `"timestamp", uuid`
		if q.Get("limit") == "" {
			limit = maxEventsListed
		}
	}
	if v := q.Get("after"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			WriteJSON(w, http.StatusBadRequest, Error{Error: "after must be an RFC 3339 time", Field: "after"})
			return
		}
		where = append(where, "received_at > ?")
		args = append(args, t)
	}
	if v := q.Get("event"); v != "" {
		where = append(where, "event = ?")
		args = append(args, v)
	}
	args = append(args, limit)
	rows, err := s.d.Events.Query(r.Context(), `SELECT uuid, event, distinct_id, session_id, "timestamp", received_at,
		url, path, title, selector, x, y, browser, os, device_type, rage, dead, error_click, CAST(properties AS VARCHAR)
		FROM events WHERE `+strings.Join(where, " AND ")+` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	defer rows.Close()
	out := []eventJSON{}
	for rows.Next() {
		var (
			e     eventJSON
			props sql.NullString
		)
		if err := rows.Scan(&e.UUID, &e.Event, &e.DistinctID, &e.SessionID, &e.Timestamp, &e.ReceivedAt,
			&e.URL, &e.Path, &e.Title, &e.Selector, &e.X, &e.Y, &e.Browser, &e.OS, &e.DeviceType,
			&e.Rage, &e.Dead, &e.ErrorClick, &props); err != nil {
			s.internal(w, r, err)
			return
		}
		e.Timestamp, e.ReceivedAt = e.Timestamp.UTC(), e.ReceivedAt.UTC()
		if props.Valid && props.String != "" && props.String != "{}" && json.Valid([]byte(props.String)) {
			e.Properties = json.RawMessage(props.String)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		s.internal(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"events": out})
}
