package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/sightline-analytics/sightline/meta"
)

// inviteTTL is how long an invitation link works.
const inviteTTL = 7 * 24 * time.Hour

type accountProjectRequest struct {
	Name string `json:"name"`
}

// POST /api/account/projects creates a project for a logged-in instance
// admin (or the admin key): the web app's "New project". It answers like
// POST /api/projects, with the project's first API key shown once.
func (a *authRoutes) createProject(w http.ResponseWriter, r *http.Request) {
	p, ok := a.s.authenticate(w, r)
	if !ok {
		return
	}
	if !p.InstanceAdmin() {
		WriteError(w, http.StatusForbidden, "only instance admins create projects; ask one to create it and invite you")
		return
	}
	var req accountProjectRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" {
		WriteJSON(w, http.StatusBadRequest, Error{Error: "give the project a name", Field: "name"})
		return
	}
	if len(req.Name) > 200 {
		WriteJSON(w, http.StatusBadRequest, Error{Error: "name is longer than 200 characters", Field: "name"})
		return
	}
	proj, key, err := a.s.d.Meta.CreateProject(r.Context(), req.Name)
	if err != nil {
		a.s.metaError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusCreated, createProjectResponse{ID: proj.ID, Name: proj.Name, Token: proj.Token, APIKey: key})
}

type inviteInfoJSON struct {
	Email       string    `json:"email"`
	Role        meta.Role `json:"role"`
	ProjectID   int64     `json:"project_id"`
	ProjectName string    `json:"project_name"`
	// HasAccount tells the app to ask for the existing password rather
	// than a new one.
	HasAccount bool      `json:"has_account"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// GET /api/invites/{token} describes a pending invitation for the page
// that accepts it. Anyone holding the link may read this.
func (a *authRoutes) inviteInfo(w http.ResponseWriter, r *http.Request) {
	inv, err := a.s.d.Meta.InviteByToken(r.Context(), r.PathValue("token"))
	if errors.Is(err, meta.ErrNotFound) {
		WriteError(w, http.StatusNotFound, "this invitation is unknown, used or expired: ask for a new one")
		return
	} else if err != nil {
		a.s.internal(w, r, err)
		return
	}
	proj, err := a.s.d.Meta.Project(r.Context(), inv.ProjectID)
	if err != nil {
		a.s.metaError(w, r, err)
		return
	}
	_, err = a.s.d.Meta.UserByEmail(r.Context(), inv.Email)
	if err != nil && !errors.Is(err, meta.ErrNotFound) {
		a.s.internal(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, inviteInfoJSON{Email: inv.Email, Role: inv.Role, ProjectID: proj.ID, ProjectName: proj.Name, HasAccount: err == nil, ExpiresAt: inv.ExpiresAt})
}

type acceptInviteRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// POST /api/invites/{token}/accept joins the invitation's project: it
// creates the account of the invited e-mail with the given password, or,
// when that account exists, checks its password; then it logs the user in.
// The invited address is the account's: the link cannot be redeemed for
// another one.
func (a *authRoutes) acceptInvite(w http.ResponseWriter, r *http.Request) {
	if !requireBrowserJSON(w, r) {
		return
	}
	var req acceptInviteRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	token := r.PathValue("token")
	inv, err := a.s.d.Meta.InviteByToken(r.Context(), token)
	if errors.Is(err, meta.ErrNotFound) {
		WriteError(w, http.StatusNotFound, "this invitation is unknown, used or expired: ask for a new one")
		return
	} else if err != nil {
		a.s.internal(w, r, err)
		return
	}
	addr, acct := a.s.clientKey(r), accountKey(inv.Email)
	if d, blocked := a.throttle.blocked(addr, acct); blocked {
		tooMany(w, d)
		return
	}
	u, err := a.s.d.Meta.UserByEmail(r.Context(), inv.Email)
	switch {
	case err == nil:
		if _, err := a.s.d.Meta.CheckPassword(r.Context(), inv.Email, req.Password); errors.Is(err, meta.ErrInvalidCredentials) {
			a.throttle.fail(addr, acct)
			WriteJSON(w, http.StatusUnauthorized, Error{Error: "wrong password for " + inv.Email, Field: "password"})
			return
		} else if err != nil {
			a.s.internal(w, r, err)
			return
		}
	case errors.Is(err, meta.ErrNotFound):
		u, err = a.s.d.Meta.CreateUser(r.Context(), meta.NewUser{Email: inv.Email, Name: req.Name, Password: req.Password})
		if err != nil {
			a.s.metaError(w, r, err)
			return
		}
	default:
		a.s.internal(w, r, err)
		return
	}
	if _, err := a.s.d.Meta.AcceptInvite(r.Context(), token, u.ID); errors.Is(err, meta.ErrNotFound) {
		WriteError(w, http.StatusNotFound, "this invitation was used or withdrawn meanwhile")
		return
	} else if err != nil {
		a.s.internal(w, r, err)
		return
	}
	a.throttle.byAccount.reset(acct)
	a.startSession(w, r, u, http.StatusOK)
}
