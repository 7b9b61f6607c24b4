package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/query"
)

// QueryTimeoutEnv overrides the query timeout (a Go duration, default 30s).
const QueryTimeoutEnv = "SIGHTLINE_QUERY_TIMEOUT"

// queryRoutes serves analytics queries and the definitions they use
// (actions and segments). It owns the query engine and its result cache.
type queryRoutes struct {
	s   *Server
	eng *query.Engine
}

// registerQuery mounts POST /api/query and the action and segment routes.
func (s *Server) registerQuery(mux *http.ServeMux) {
	timeout := 30 * time.Second
	if v := os.Getenv(QueryTimeoutEnv); v != "" {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			timeout = d
		} else {
			s.d.Logger.Warn("ignoring invalid query timeout", "env", QueryTimeoutEnv, "value", v)
		}
	}
	q := &queryRoutes{s: s, eng: query.New(query.Options{Timeout: timeout})}
	mux.HandleFunc("POST /api/query", q.query)
	mux.HandleFunc("POST /api/projects/{project_id}/query", q.query)
	q.registerDefinitions(mux)
}

// POST /api/query: a JSON query (see docs/api.md) for the project of the
// API key, or for the project named by ?project_id= or a "project_id" field
// (admin key, logged-in users).
func (q *queryRoutes) query(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			WriteError(w, http.StatusRequestEntityTooLarge, "request body is over 1 MiB")
			return
		}
		WriteError(w, http.StatusBadRequest, "cannot read the request body")
		return
	}
	pid, err := ProjectIDParam(r)
	if err != nil {
		WriteJSON(w, http.StatusBadRequest, Error{Error: err.Error(), Field: "project_id"})
		return
	}
	body, bodyPID, err := takeProjectID(body)
	if err != nil {
		WriteJSON(w, http.StatusBadRequest, Error{Error: err.Error(), Field: "project_id"})
		return
	}
	if pid == 0 {
		pid = bodyPID
	} else if bodyPID != 0 && bodyPID != pid {
		WriteJSON(w, http.StatusBadRequest, Error{Error: "project_id in the body differs from the one in the URL", Field: "project_id"})
		return
	}
	p, ok := q.s.authorize(w, r, pid, meta.RoleViewer)
	if !ok {
		return
	}
	parsed, err := query.Parse(body)
	if err != nil {
		writeQueryError(w, err)
		return
	}
	proj, err := q.s.d.Meta.Project(r.Context(), p.ProjectID)
	if err != nil {
		q.s.metaError(w, r, err)
		return
	}
	res, err := q.eng.Run(r.Context(), query.Request{
		ProjectID: p.ProjectID,
		Timezone:  proj.Settings.Timezone,
		DB:        q.s.d.Events,
		Defs:      q.s.d.Meta.Definitions(),
		Query:     parsed,
		NoCache:   r.Header.Get("Cache-Control") == "no-cache",
	})
	if err != nil {
		switch {
		case errors.Is(err, query.ErrTimeout):
			WriteError(w, http.StatusGatewayTimeout, err.Error())
		default:
			if _, ok := query.ErrorField(err); ok {
				writeQueryError(w, err)
				return
			}
			q.s.internal(w, r, err)
		}
		return
	}
	WriteJSON(w, http.StatusOK, res)
}

// takeProjectID removes a top-level "project_id" member from a query body
// (it selects the project; the query model does not know it).
func takeProjectID(body []byte) ([]byte, int64, error) {
	if !bytes.Contains(body, []byte(`"project_id"`)) {
		return body, 0, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return body, 0, nil // Parse reports the syntax error
	}
	raw, ok := m["project_id"]
	if !ok {
		return body, 0, nil
	}
	id, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || id <= 0 {
		return nil, 0, errors.New("project_id must be a positive integer")
	}
	delete(m, "project_id")
	out, err := json.Marshal(m)
	return out, id, err
}

func writeQueryError(w http.ResponseWriter, err error) {
	field, _ := query.ErrorField(err)
	var qe *query.Error
	msg := err.Error()
	if errors.As(err, &qe) {
		msg = qe.Msg
	}
	WriteJSON(w, http.StatusBadRequest, Error{Error: msg, Field: field})
}
