package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/sightline-analytics/sightline/meta"
)

// objectJSON is a saved definition (insight, dashboard, …) as the API
// shows it. Definition is the document the web app or the engine wrote.
type objectJSON struct {
	ID          int64           `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Definition  json.RawMessage `json:"definition"`
	CreatedBy   int64           `json:"created_by,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

func toObjectJSON(o meta.Object) objectJSON {
	return objectJSON{ID: o.ID, Name: o.Name, Description: o.Description, Definition: o.Definition,
		CreatedBy: o.CreatedBy, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

type objectRequest struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Definition  json.RawMessage `json:"definition"`
}

// registerObjects mounts list / create / get / replace / delete of one kind
// of saved definition under /api/projects/{project_id}/{kind}. Viewers
// read; members and admins write.
func (s *Server) registerObjects(mux *http.ServeMux, kind string, coll func() *meta.Objects) {
	base := "/api/projects/{project_id}/" + kind
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
