package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sightline-analytics/sightline/insight"
	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/store"
)

// Deps are what the API serves from.
type Deps struct {
	Meta   *meta.Store
	Tokens *meta.Cache
	Events store.Store
	// Insights serves clusters, anomalies, the feed, releases and alerts;
	// nil answers 503 on those routes.
	Insights *insight.Service
	AdminKey string
	// TrustProxy reads client addresses (for login throttling) and the
	// request's scheme and host (for cookies and links) from the
	// forwarding headers of a reverse proxy; see capture.ClientIP.
	TrustProxy bool
	Logger     *slog.Logger
	Version    string
}

// Server is the JSON API.
type Server struct {
	d Deps
}

// New returns the API server.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Server{d: d}
}

// Register mounts the API routes on mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/health", s.health)
	mux.HandleFunc("POST /api/projects", s.createProject)
	mux.HandleFunc("GET /api/projects", s.listProjects)
	mux.HandleFunc("GET /api/sdk/config", s.sdkConfig)
	mux.HandleFunc("OPTIONS /api/sdk/config", s.sdkConfig)
	s.registerAuth(mux) // accounts, login, project settings, insights, dashboards (auth_handlers.go)
	// Analytics queries, actions and segments (query.go, definitions.go).
	s.registerQuery(mux)
	s.registerInsight(mux) // clusters, anomalies, feed, releases, alert rules (insight.go)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.d.Version})
}

type createProjectRequest struct {
	Name string `json:"name"`
}

type createProjectResponse struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Token  string `json:"token"`
	APIKey string `json:"api_key"`
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request) {
	if !adminOK(r, s.d.AdminKey) {
		WriteError(w, http.StatusUnauthorized, "creating projects needs the admin key: send Authorization: Bearer <SIGHTLINE_ADMIN_KEY>")
		return
	}
	var req createProjectRequest
	if r.ContentLength != 0 {
		if !decodeJSON(w, r, &req) {
			return
		}
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" {
		req.Name = "Default project"
	}
	if len(req.Name) > 200 {
		WriteJSON(w, http.StatusBadRequest, Error{Error: "name is longer than 200 characters", Field: "name"})
		return
	}
	p, key, err := s.d.Meta.CreateProject(r.Context(), req.Name)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, createProjectResponse{ID: p.ID, Name: p.Name, Token: p.Token, APIKey: key})
}

type projectJSON struct {
	ID       int64                `json:"id"`
	Name     string               `json:"name"`
	Token    string               `json:"token"`
	Settings meta.ProjectSettings `json:"settings"`
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) {
	if !adminOK(r, s.d.AdminKey) {
		p, ok := s.projectFromKey(w, r)
		if !ok {
			return
		}
		WriteJSON(w, http.StatusOK, map[string]any{"projects": []projectJSON{{p.ID, p.Name, p.Token, p.Settings}}})
		return
	}
	ps, err := s.d.Meta.ListProjects(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	out := make([]projectJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, projectJSON{p.ID, p.Name, p.Token, p.Settings})
	}
	WriteJSON(w, http.StatusOK, map[string]any{"projects": out})
}

// sdkConfig tells the browser SDK the project's capture settings. The token
// is public, so this route is open to any origin.
func (s *Server) sdkConfig(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	token := r.URL.Query().Get("token")
	if token == "" {
		WriteError(w, http.StatusBadRequest, "missing token query parameter")
		return
	}
	p, err := s.d.Tokens.ProjectByToken(r.Context(), token)
	if errors.Is(err, meta.ErrNotFound) {
		WriteError(w, http.StatusUnauthorized, "unknown token")
		return
	} else if err != nil {
		s.internal(w, r, err)
		return
	}
	st := p.Settings
	w.Header().Set("Cache-Control", "public, max-age=300")
	WriteJSON(w, http.StatusOK, map[string]any{
		"capture": !st.CaptureDisabled,
		"replay": map[string]any{
			"enabled":         st.ReplayEnabled,
			"sample_rate":     st.ReplaySampleRate,
			"min_duration_ms": st.ReplayMinDurationMs,
		},
		"masking": st.MaskingMode,
	})
}

// projectFromKey authenticates a request by project API key.
func (s *Server) projectFromKey(w http.ResponseWriter, r *http.Request) (meta.Project, bool) {
	key := bearer(r)
	if key == "" {
		WriteError(w, http.StatusUnauthorized, "missing API key: send Authorization: Bearer <api key>")
		return meta.Project{}, false
	}
	p, err := s.d.Meta.ProjectByAPIKey(r.Context(), key)
	if errors.Is(err, meta.ErrNotFound) {
		WriteError(w, http.StatusUnauthorized, "invalid or revoked API key")
		return meta.Project{}, false
	} else if err != nil {
		s.internal(w, r, err)
		return meta.Project{}, false
	}
	return p, true
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.d.Logger.Error("api error", "path", r.URL.Path, "err", err)
	WriteError(w, http.StatusInternalServerError, "internal error")
}
