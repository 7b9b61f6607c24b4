package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/query"
)

// metaDefinitions serves saved actions and segments to the query engine.
type metaDefinitions struct{ m *meta.Store }

func (d metaDefinitions) Action(ctx context.Context, projectID, id int64) (query.Action, error) {
	o, err := d.m.Actions().Get(ctx, projectID, id)
	if errors.Is(err, meta.ErrNotFound) {
		return query.Action{}, fmt.Errorf("action %d: %w", id, query.ErrNotFound)
	} else if err != nil {
		return query.Action{}, err
	}
	def, err := query.ParseActionDefinition(o.Definition)
	if err != nil {
		return query.Action{}, fmt.Errorf("action %d: stored definition: %w", id, err)
	}
	return query.Action{ID: o.ID, Name: o.Name, ActionDefinition: def}, nil
}

func (d metaDefinitions) Segment(ctx context.Context, projectID, id int64) (query.Segment, error) {
	o, err := d.m.Segments().Get(ctx, projectID, id)
	if errors.Is(err, meta.ErrNotFound) {
		return query.Segment{}, fmt.Errorf("segment %d: %w", id, query.ErrNotFound)
	} else if err != nil {
		return query.Segment{}, err
	}
	def, err := query.ParseSegmentDefinition(o.Definition)
	if err != nil {
		return query.Segment{}, fmt.Errorf("segment %d: stored definition: %w", id, err)
	}
	return query.Segment{ID: o.ID, Name: o.Name, SegmentDefinition: def}, nil
}

// registerDefinitions mounts CRUD for actions and segments, under
// /api/projects/{project_id}/… and, for API keys (whose project is known),
// under /api/actions and /api/segments. Definitions are validated before
// they are stored, so a query never meets a malformed one; a segment's
// actions must exist.
func (q *queryRoutes) registerDefinitions(mux *http.ServeMux) {
	s := q.s
	for _, kind := range []string{"actions", "segments"} {
		coll := s.d.Meta.Actions
		validate := q.validateAction
		if kind == "segments" {
			coll = s.d.Meta.Segments
			validate = q.validateSegment
		}
		for _, base := range []string{"/api/projects/{project_id}/" + kind, "/api/" + kind} {
			mux.Handle("GET "+base, s.projectHandler(meta.RoleViewer, func(w http.ResponseWriter, r *http.Request, p Principal) {
				objs, err := coll().List(r.Context(), p.ProjectID)
				if err != nil {
					s.metaError(w, r, err)
					return
				}
				out := make([]objectJSON, 0, len(objs))
				for _, o := range objs {
					out = append(out, toObjectJSON(o))
				}
				WriteJSON(w, http.StatusOK, map[string]any{kind: out})
			}))
			mux.Handle("POST "+base, s.projectHandler(meta.RoleMember, func(w http.ResponseWriter, r *http.Request, p Principal) {
				var req objectRequest
				if !decodeJSON(w, r, &req) {
					return
				}
				if !validate(w, r, p.ProjectID, req.Definition) {
					return
				}
				o, err := coll().Create(r.Context(), meta.Object{ProjectID: p.ProjectID, Name: req.Name, Description: req.Description,
					Definition: req.Definition, CreatedBy: p.UserID()})
				if err != nil {
					s.metaError(w, r, err)
					return
				}
				WriteJSON(w, http.StatusCreated, toObjectJSON(o))
			}))
			mux.Handle("GET "+base+"/{id}", s.projectHandler(meta.RoleViewer, func(w http.ResponseWriter, r *http.Request, p Principal) {
				id, ok := pathID(w, r, "id")
				if !ok {
					return
				}
				o, err := coll().Get(r.Context(), p.ProjectID, id)
				if err != nil {
					s.metaError(w, r, err)
					return
				}
				WriteJSON(w, http.StatusOK, toObjectJSON(o))
			}))
			mux.Handle("PUT "+base+"/{id}", s.projectHandler(meta.RoleMember, func(w http.ResponseWriter, r *http.Request, p Principal) {
				id, ok := pathID(w, r, "id")
				if !ok {
					return
				}
				var req objectRequest
				if !decodeJSON(w, r, &req) {
					return
				}
				if !validate(w, r, p.ProjectID, req.Definition) {
					return
				}
				o, err := coll().Update(r.Context(), meta.Object{ID: id, ProjectID: p.ProjectID, Name: req.Name,
					Description: req.Description, Definition: req.Definition})
				if err != nil {
					s.metaError(w, r, err)
					return
				}
				WriteJSON(w, http.StatusOK, toObjectJSON(o))
			}))
			mux.Handle("DELETE "+base+"/{id}", s.projectHandler(meta.RoleMember, func(w http.ResponseWriter, r *http.Request, p Principal) {
				id, ok := pathID(w, r, "id")
				if !ok {
					return
				}
				if err := coll().Delete(r.Context(), p.ProjectID, id); err != nil {
					s.metaError(w, r, err)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			}))
		}
	}
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
