package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/sdk"
)

// projectDetailJSON is one project as its settings page shows it.
type projectDetailJSON struct {
	ID        int64                `json:"id"`
	Name      string               `json:"name"`
	Token     string               `json:"token"`
	Settings  meta.ProjectSettings `json:"settings"`
	CreatedAt time.Time            `json:"created_at"`
	// Role is the caller's role in the project.
	Role meta.Role `json:"role"`
	// Snippet is the install snippet for this server as the caller reaches
	// it.
	Snippet string `json:"snippet"`
}

// origin is the scheme and host the caller used to reach this server.
func (s *Server) origin(r *http.Request) string {
	scheme := "http"
	if s.viaTLS(r) {
		scheme = "https"
	}
	host := r.Host
	if s.d.TrustProxy {
		if h := firstForwarded(r.Header.Get("X-Forwarded-Host")); h != "" {
			host = h
		}
	}
	return scheme + "://" + host
}

// viaTLS reports whether the client reached the server over TLS: directly,
// or, behind a trusted proxy that terminates TLS, as X-Forwarded-Proto
// says. It decides the Secure flag of the session cookie and the scheme of
// links the server hands out.
func (s *Server) viaTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return s.d.TrustProxy && strings.EqualFold(firstForwarded(r.Header.Get("X-Forwarded-Proto")), "https")
}

// firstForwarded is the first entry of a forwarding header: the value the
// outermost proxy saw.
func firstForwarded(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}

func projectDetail(origin string, p meta.Project, role meta.Role) projectDetailJSON {
	return projectDetailJSON{
		ID: p.ID, Name: p.Name, Token: p.Token, Settings: p.Settings, CreatedAt: p.CreatedAt,
		Role: role, Snippet: sdk.Snippet(origin, p.Token),
	}
}

func pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		WriteJSON(w, http.StatusBadRequest, Error{Error: name + " must be a positive integer", Field: name})
		return 0, false
	}
	return id, true
}

// GET /api/projects/{project_id}
func (s *Server) getProject(w http.ResponseWriter, r *http.Request, p Principal) {
	proj, err := s.d.Meta.Project(r.Context(), p.ProjectID)
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, projectDetail(s.origin(r), proj, p.Role))
}

type updateProjectRequest struct {
	Name *string `json:"name"`
	// Settings holds the settings to change; fields left out keep their
	// values.
	Settings json.RawMessage `json:"settings"`
}

// PATCH /api/projects/{project_id} renames a project and changes its
// settings (admins).
func (s *Server) updateProject(w http.ResponseWriter, r *http.Request, p Principal) {
	var req updateProjectRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	proj, err := s.d.Meta.Project(r.Context(), p.ProjectID)
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	if len(req.Settings) > 0 && string(req.Settings) != "null" {
		st := proj.Settings
		dec := json.NewDecoder(bytes.NewReader(req.Settings))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&st); err != nil {
			WriteJSON(w, http.StatusBadRequest, Error{Error: "settings: " + err.Error(), Field: "settings"})
			return
		}
		if err := st.Validate(); err != nil {
			s.metaError(w, r, err)
			return
		}
		if proj, err = s.d.Meta.UpdateProjectSettings(r.Context(), p.ProjectID, st); err != nil {
			s.metaError(w, r, err)
			return
		}
	}
	if req.Name != nil && strings.TrimSpace(*req.Name) != proj.Name {
		if proj, err = s.d.Meta.RenameProject(r.Context(), p.ProjectID, *req.Name); err != nil {
			s.metaError(w, r, err)
			return
		}
	}
	WriteJSON(w, http.StatusOK, projectDetail(s.origin(r), proj, p.Role))
}

// POST /api/projects/{project_id}/token gives the project a new public
// token (admins): for a token abused by someone sending junk events.
func (s *Server) rotateToken(w http.ResponseWriter, r *http.Request, p Principal) {
	proj, err := s.d.Meta.RotateProjectToken(r.Context(), p.ProjectID)
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, projectDetail(s.origin(r), proj, p.Role))
}

// GET /api/projects/{project_id}/status tells onboarding whether events
// have arrived.
func (s *Server) projectStatus(w http.ResponseWriter, r *http.Request, p Principal) {
	if s.d.Events == nil {
		WriteError(w, http.StatusServiceUnavailable, "no event store configured")
		return
	}
	n, err := s.d.Events.Count(r.Context(), p.ProjectID)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"events": n, "receiving": n > 0})
}

type apiKeyJSON struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedBy  int64      `json:"created_by,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	Active     bool       `json:"active"`
	// Key is the secret, present only in the answer that created it.
	Key string `json:"key,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toKeyJSON(k meta.APIKey) apiKeyJSON {
	return apiKeyJSON{
		ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt,
		LastUsedAt: timePtr(k.LastUsedAt), RevokedAt: timePtr(k.RevokedAt), Active: k.Active(),
	}
}

// GET /api/projects/{project_id}/keys lists API keys, revoked ones too.
func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, p Principal) {
	keys, err := s.d.Meta.ListAPIKeys(r.Context(), p.ProjectID)
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	out := make([]apiKeyJSON, 0, len(keys))
	for _, k := range keys {
		out = append(out, toKeyJSON(k))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"keys": out})
}

type createKeyRequest struct {
	Name string `json:"name"`
}

// POST /api/projects/{project_id}/keys creates an API key; the answer is
// the only place its secret ever appears.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request, p Principal) {
	var req createKeyRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" {
		WriteJSON(w, http.StatusBadRequest, Error{Error: "name the key after what uses it", Field: "name"})
		return
	}
	secret, k, err := s.d.Meta.CreateAPIKey(r.Context(), p.ProjectID, req.Name, p.UserID())
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	out := toKeyJSON(k)
	out.Key = secret
	WriteJSON(w, http.StatusCreated, out)
}

// DELETE /api/projects/{project_id}/keys/{key_id} revokes a key at once.
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, p Principal) {
	id, ok := pathID(w, r, "key_id")
	if !ok {
		return
	}
	if err := s.d.Meta.RevokeAPIKey(r.Context(), p.ProjectID, id); err != nil {
		s.metaError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type memberJSON struct {
	UserID int64     `json:"user_id"`
	Email  string    `json:"email"`
	Name   string    `json:"name"`
	Role   meta.Role `json:"role"`
	// InstanceAdmin members are admins of every project whatever their
	// membership says.
	InstanceAdmin bool      `json:"instance_admin"`
	Since         time.Time `json:"since"`
}

// GET /api/projects/{project_id}/members lists who has access: members,
// and instance admins (who have it everywhere).
func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, p Principal) {
	ms, err := s.d.Meta.ProjectMembers(r.Context(), p.ProjectID)
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	users, err := s.d.Meta.ListUsers(r.Context())
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	byID := make(map[int64]meta.User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	out := []memberJSON{}
	seen := map[int64]bool{}
	for _, m := range ms {
		u := byID[m.UserID]
		out = append(out, memberJSON{UserID: m.UserID, Email: u.Email, Name: u.Name, Role: m.Role, InstanceAdmin: u.Role == meta.UserAdmin, Since: m.CreatedAt})
		seen[m.UserID] = true
	}
	for _, u := range users {
		if u.Role == meta.UserAdmin && !seen[u.ID] {
			out = append(out, memberJSON{UserID: u.ID, Email: u.Email, Name: u.Name, Role: meta.RoleAdmin, InstanceAdmin: true, Since: u.CreatedAt})
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"members": out})
}

type setMemberRequest struct {
	Role meta.Role `json:"role"`
}

// PUT /api/projects/{project_id}/members/{user_id} sets a member's role.
func (s *Server) setMember(w http.ResponseWriter, r *http.Request, p Principal) {
	uid, ok := pathID(w, r, "user_id")
	if !ok {
		return
	}
	var req setMemberRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if !req.Role.Valid() {
		WriteJSON(w, http.StatusBadRequest, Error{Error: "role must be admin, member or viewer", Field: "role"})
		return
	}
	if uid == p.User.ID && req.Role != meta.RoleAdmin && !p.InstanceAdmin() {
		WriteError(w, http.StatusBadRequest, "you cannot lower your own role; ask another admin")
		return
	}
	if _, err := s.d.Meta.User(r.Context(), uid); err != nil {
		s.metaError(w, r, err)
		return
	}
	if err := s.d.Meta.SetMembership(r.Context(), p.ProjectID, uid, req.Role); err != nil {
		s.metaError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DELETE /api/projects/{project_id}/members/{user_id} removes a member.
func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, p Principal) {
	uid, ok := pathID(w, r, "user_id")
	if !ok {
		return
	}
	if uid == p.User.ID && !p.InstanceAdmin() {
		WriteError(w, http.StatusBadRequest, "you cannot remove yourself; ask another admin")
		return
	}
	if err := s.d.Meta.RemoveMembership(r.Context(), p.ProjectID, uid); err != nil {
		s.metaError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type inviteJSON struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Role      meta.Role `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Token and URL are in the answer that created the invite only.
	Token string `json:"token,omitempty"`
	URL   string `json:"url,omitempty"`
}

func toInviteJSON(inv meta.Invite) inviteJSON {
	return inviteJSON{ID: inv.ID, Email: inv.Email, Role: inv.Role, CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt}
}

// GET /api/projects/{project_id}/invites lists pending invitations.
func (s *Server) listInvites(w http.ResponseWriter, r *http.Request, p Principal) {
	invs, err := s.d.Meta.ListInvites(r.Context(), p.ProjectID)
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	out := make([]inviteJSON, 0, len(invs))
	for _, inv := range invs {
		out = append(out, toInviteJSON(inv))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"invites": out})
}

type createInviteRequest struct {
	Email string    `json:"email"`
	Role  meta.Role `json:"role"`
}

// POST /api/projects/{project_id}/invites invites an e-mail address; the
// answer holds the link to send them (Sightline sends no mail itself).
func (s *Server) createInvite(w http.ResponseWriter, r *http.Request, p Principal) {
	var req createInviteRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.Role == "" {
		req.Role = meta.RoleMember
	}
	tok, inv, err := s.d.Meta.CreateInvite(r.Context(), p.ProjectID, req.Email, req.Role, p.UserID(), inviteTTL)
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	out := toInviteJSON(inv)
	out.Token = tok
	out.URL = s.origin(r) + "/invite/" + tok
	WriteJSON(w, http.StatusCreated, out)
}

// DELETE /api/projects/{project_id}/invites/{invite_id} withdraws one.
func (s *Server) deleteInvite(w http.ResponseWriter, r *http.Request, p Principal) {
	id, ok := pathID(w, r, "invite_id")
	if !ok {
		return
	}
	if err := s.d.Meta.DeleteInvite(r.Context(), p.ProjectID, id); err != nil {
		s.metaError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
