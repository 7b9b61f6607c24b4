package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/sightline-analytics/sightline/query"
)

// registerDefinitions mounts CRUD for actions and segments, under
// /api/projects/{project_id}/… and, for API keys (whose project is known),
// under /api/actions and /api/segments. Definitions are validated before
// they are stored, so a query never meets a malformed one; a segment's
// actions must exist.
func (q *queryRoutes) registerDefinitions(mux *http.ServeMux) {
	m := q.s.d.Meta
	q.s.registerObjects(mux, objectKind{name: "actions", coll: m.Actions, validate: q.validateAction, apiKeyRoutes: true})
	q.s.registerObjects(mux, objectKind{name: "segments", coll: m.Segments, validate: q.validateSegment, apiKeyRoutes: true})
}

func definitionError(w http.ResponseWriter, err error) {
	field, _ := query.ErrorField(err)
	msg := err.Error()
	var qe *query.Error
	if errors.As(err, &qe) {
		msg = qe.Msg
	}
	if field == "" {
		field = "definition"
	} else {
		field = "definition." + field
	}
	WriteJSON(w, http.StatusBadRequest, Error{Error: msg, Field: field})
}

func (q *queryRoutes) validateAction(w http.ResponseWriter, _ *http.Request, _ int64, def json.RawMessage) bool {
	if len(def) == 0 {
		WriteJSON(w, http.StatusBadRequest, Error{Error: `required: {"steps": [...]}`, Field: "definition"})
		return false
	}
	if _, err := query.ParseActionDefinition(def); err != nil {
		definitionError(w, err)
		return false
	}
	return true
}

func (q *queryRoutes) validateSegment(w http.ResponseWriter, r *http.Request, projectID int64, def json.RawMessage) bool {
	if len(def) == 0 {
		WriteJSON(w, http.StatusBadRequest, Error{Error: `required: {"conditions": [...]}`, Field: "definition"})
		return false
	}
	d, err := query.ParseSegmentDefinition(def)
	if err != nil {
		definitionError(w, err)
		return false
	}
	var missing error
	var check func(path string, conds []query.SegmentCondition)
	check = func(path string, conds []query.SegmentCondition) {
		for i, c := range conds {
			p := fmt.Sprintf("%sconditions[%d]", path, i)
			if c.Action != 0 && missing == nil {
				if _, err := q.s.d.Meta.Actions().Get(r.Context(), projectID, c.Action); err != nil {
					missing = &query.Error{Field: p + ".action", Msg: fmt.Sprintf("no action %d in this project", c.Action)}
				}
			}
			check(p+".", c.Conditions)
		}
	}
	check("", d.Conditions)
	if missing != nil {
		definitionError(w, missing)
		return false
	}
	return true
}
