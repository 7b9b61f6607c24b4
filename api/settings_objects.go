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

// objectKind is one kind of saved definition served by registerObjects.
type objectKind struct {
	// name is the path segment ("insights") and the key of the list.
	name string
	coll func() *meta.Objects
	// validate, when set, checks a definition before it is stored and
	// answers 400 itself when it refuses.
	validate func(w http.ResponseWriter, r *http.Request, projectID int64, def json.RawMessage) bool
	// apiKeyRoutes also mounts the routes under /api/{name}, for API keys,
	// whose project is known without a path.
	apiKeyRoutes bool
}

// registerObjects mounts list / create / get / replace / delete of one kind
// of saved definition under /api/projects/{project_id}/{kind}. Viewers
// read; members and admins write.
func (s *Server) registerObjects(mux *http.ServeMux, k objectKind) {
	bases := []string{"/api/projects/{project_id}/" + k.name}
	if k.apiKeyRoutes {
		bases = append(bases, "/api/"+k.name)
	}
	valid := func(w http.ResponseWriter, r *http.Request, projectID int64, def json.RawMessage) bool {
		return k.validate == nil || k.validate(w, r, projectID, def)
	}
	for _, base := range bases {
		mux.Handle("GET "+base, s.projectHandler(meta.RoleViewer, func(w http.ResponseWriter, r *http.Request, p Principal) {
			objs, err := k.coll().List(r.Context(), p.ProjectID)
			if err != nil {
				s.metaError(w, r, err)
				return
			}
			out := make([]objectJSON, 0, len(objs))
			for _, o := range objs {
				out = append(out, toObjectJSON(o))
			}
			WriteJSON(w, http.StatusOK, map[string]any{k.name: out})
		}))
		mux.Handle("POST "+base, s.projectHandler(meta.RoleMember, func(w http.ResponseWriter, r *http.Request, p Principal) {
			var req objectRequest
			if !decodeJSON(w, r, &req) || !valid(w, r, p.ProjectID, req.Definition) {
				return
			}
			o, err := k.coll().Create(r.Context(), meta.Object{ProjectID: p.ProjectID, Name: req.Name, Description: req.Description,
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
			o, err := k.coll().Get(r.Context(), p.ProjectID, id)
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
			if !decodeJSON(w, r, &req) || !valid(w, r, p.ProjectID, req.Definition) {
				return
			}
			o, err := k.coll().Update(r.Context(), meta.Object{ID: id, ProjectID: p.ProjectID, Name: req.Name,
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
			if err := k.coll().Delete(r.Context(), p.ProjectID, id); err != nil {
				s.metaError(w, r, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}))
	}
}
