package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/sightline-analytics/sightline/query"
)

// eventLists runs the event-list kinds for this handler. The lists are
// polled and change with every append, so they skip the result cache.
var eventLists = query.New(query.Options{CacheEntries: -1})

// GET /api/projects/{project_id}/events lists stored events through the
// query engine (kinds session_events and live_events, which compile to the
// event store's dialect):
//
//   - ?session_id=S: one session's events in event order (the replay
//     player's event list and timeline markers), up to 5,000;
//   - otherwise the latest arrivals, newest first (the live view), with
//     ?after=<RFC 3339 time> to get only what arrived since the last poll,
//     and ?limit= (default 100).
//
// ?event=NAME keeps one event name. Each event carries the person its
// distinct id resolves to.
func (s *Server) recentEvents(w http.ResponseWriter, r *http.Request, p Principal) {
	if s.d.Events == nil {
		WriteError(w, http.StatusServiceUnavailable, "no event store configured")
		return
	}
	v := r.URL.Query()
	limit := 0
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > query.MaxEventsListed {
			WriteJSON(w, http.StatusBadRequest, Error{Error: "limit must be between 1 and 5000", Field: "limit"})
			return
		}
		limit = n
	}
	var q query.Query
	if sid := v.Get("session_id"); sid != "" {
		q = &query.SessionEvents{SessionID: sid, Event: v.Get("event"), Limit: limit}
	} else {
		q = &query.LiveEvents{After: v.Get("after"), Event: v.Get("event"), Limit: limit}
	}
	res, err := eventLists.Run(r.Context(), query.Request{ProjectID: p.ProjectID, DB: s.d.Events, Query: q, NoCache: true})
	if err != nil {
		switch field, ok := query.ErrorField(err); {
		case ok:
			WriteJSON(w, http.StatusBadRequest, Error{Error: err.Error(), Field: field})
		case errors.Is(err, query.ErrTimeout):
			WriteError(w, http.StatusGatewayTimeout, err.Error())
		default:
			s.internal(w, r, err)
		}
		return
	}
	WriteJSON(w, http.StatusOK, res)
}
