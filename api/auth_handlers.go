package api

import (
	"crypto/subtle"
	"errors"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sightline-analytics/sightline/meta"
)

// authRoutes holds the state of the login routes (the throttle); the
// handlers reach everything else through the Server.
type authRoutes struct {
	s        *Server
	throttle *loginThrottle
}

// registerAuth mounts the account, login and project settings routes. See
// docs/api.md (Accounts and settings) for the reference.
func (s *Server) registerAuth(mux *http.ServeMux) {
	a := &authRoutes{s: s, throttle: newLoginThrottle(nil)}
	a.register(mux)
}

func (a *authRoutes) register(mux *http.ServeMux) {
	s := a.s
	// Login and the current user.
	mux.HandleFunc("GET /api/setup", a.setupStatus)
	mux.HandleFunc("POST /api/setup", a.setup)
	mux.HandleFunc("POST /api/login", a.login)
	mux.HandleFunc("POST /api/logout", a.logout)
	mux.HandleFunc("GET /api/me", a.me)
	mux.HandleFunc("POST /api/me/password", a.changePassword)

	// Projects and invitations (account.go).
	mux.HandleFunc("POST /api/account/projects", a.createProject)
	mux.HandleFunc("GET /api/invites/{token}", a.inviteInfo)
	mux.HandleFunc("POST /api/invites/{token}/accept", a.acceptInvite)

	// One project's settings, keys and members (settings.go).
	mux.Handle("GET /api/projects/{project_id}", s.projectHandler(meta.RoleViewer, s.getProject))
	mux.Handle("PATCH /api/projects/{project_id}", s.projectHandler(meta.RoleAdmin, s.updateProject))
	mux.Handle("POST /api/projects/{project_id}/token", s.projectHandler(meta.RoleAdmin, s.rotateToken))
	mux.Handle("GET /api/projects/{project_id}/status", s.projectHandler(meta.RoleViewer, s.projectStatus))
	mux.Handle("GET /api/projects/{project_id}/keys", s.projectHandler(meta.RoleAdmin, s.listKeys))
	mux.Handle("POST /api/projects/{project_id}/keys", s.projectHandler(meta.RoleAdmin, s.createKey))
	mux.Handle("DELETE /api/projects/{project_id}/keys/{key_id}", s.projectHandler(meta.RoleAdmin, s.revokeKey))
	mux.Handle("GET /api/projects/{project_id}/members", s.projectHandler(meta.RoleViewer, s.listMembers))
	mux.Handle("PUT /api/projects/{project_id}/members/{user_id}", s.projectHandler(meta.RoleAdmin, s.setMember))
	mux.Handle("DELETE /api/projects/{project_id}/members/{user_id}", s.projectHandler(meta.RoleAdmin, s.removeMember))
	mux.Handle("GET /api/projects/{project_id}/invites", s.projectHandler(meta.RoleAdmin, s.listInvites))
	mux.Handle("POST /api/projects/{project_id}/invites", s.projectHandler(meta.RoleAdmin, s.createInvite))
	mux.Handle("DELETE /api/projects/{project_id}/invites/{invite_id}", s.projectHandler(meta.RoleAdmin, s.deleteInvite))

	// Saved insights and dashboards (settings_objects.go).
	s.registerObjects(mux, objectKind{name: "insights", coll: s.d.Meta.Insights})
	s.registerObjects(mux, objectKind{name: "dashboards", coll: s.d.Meta.Dashboards})

	// Events for the live view and the replay player (settings_events.go).
	mux.Handle("GET /api/projects/{project_id}/events", s.projectHandler(meta.RoleViewer, s.recentEvents))
}

// userJSON is a user as the API shows it.
type userJSON struct {
	ID    int64         `json:"id"`
	Email string        `json:"email"`
	Name  string        `json:"name"`
	Role  meta.UserRole `json:"role"`
}

func toUserJSON(u meta.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role}
}

type projectRef struct {
	ID   int64     `json:"id"`
	Name string    `json:"name"`
	Role meta.Role `json:"role"`
}

type meJSON struct {
	User      userJSON     `json:"user"`
	CSRFToken string       `json:"csrf_token"`
	Projects  []projectRef `json:"projects"`
}

// requireBrowserJSON guards the routes that work without a session (setup,
// login, accepting an invitation) against login CSRF: a cross-site form
// can neither send a JSON content type nor pass the Fetch-Metadata check.
func requireBrowserJSON(w http.ResponseWriter, r *http.Request) bool {
	if err := crossOrigin.Check(r); err != nil {
		WriteError(w, http.StatusForbidden, "cross-site request refused")
		return false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" {
		WriteError(w, http.StatusUnsupportedMediaType, "send the body as JSON with Content-Type: application/json")
		return false
	}
	return true
}

// metaError answers an error from the metadata store: validation problems
// as 400 with their message, conflicts as 409, missing rows as 404.
func (s *Server) metaError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, meta.ErrInvalid):
		msg := err.Error()
		if i := strings.LastIndex(msg, meta.ErrInvalid.Error()+": "); i >= 0 {
			msg = msg[i+len(meta.ErrInvalid.Error())+2:]
		}
		WriteError(w, http.StatusBadRequest, msg)
	case errors.Is(err, meta.ErrConflict):
		WriteError(w, http.StatusConflict, "already exists")
	case errors.Is(err, meta.ErrNotFound):
		WriteError(w, http.StatusNotFound, "not found")
	default:
		s.internal(w, r, err)
	}
}

// startSession logs u in: a new login session and its cookie.
func (a *authRoutes) startSession(w http.ResponseWriter, r *http.Request, u meta.User, status int) {
	tok, sess, err := a.s.d.Meta.CreateSession(r.Context(), u.ID, sessionTTL)
	if err != nil {
		a.s.internal(w, r, err)
		return
	}
	a.s.setSessionCookie(w, r, tok, sess.ExpiresAt)
	me, err := a.s.meFor(r, u, tok)
	if err != nil {
		a.s.internal(w, r, err)
		return
	}
	WriteJSON(w, status, me)
}

func (s *Server) meFor(r *http.Request, u meta.User, sessionToken string) (meJSON, error) {
	me := meJSON{User: toUserJSON(u), CSRFToken: csrfToken(sessionToken), Projects: []projectRef{}}
	if u.Role == meta.UserAdmin {
		ps, err := s.d.Meta.ListProjects(r.Context())
		if err != nil {
			return meJSON{}, err
		}
		for _, p := range ps {
			me.Projects = append(me.Projects, projectRef{ID: p.ID, Name: p.Name, Role: meta.RoleAdmin})
		}
		return me, nil
	}
	ms, err := s.d.Meta.Memberships(r.Context(), u.ID)
	if err != nil {
		return meJSON{}, err
	}
	for _, m := range ms {
		me.Projects = append(me.Projects, projectRef{ID: m.ProjectID, Name: m.ProjectName, Role: m.Role})
	}
	return me, nil
}

// GET /api/setup tells the app whether to show the first-run setup page.
func (a *authRoutes) setupStatus(w http.ResponseWriter, r *http.Request) {
	n, err := a.s.d.Meta.UserCount(r.Context())
	if err != nil {
		a.s.internal(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]bool{"needed": n == 0, "admin_key_required": a.s.d.AdminKey != ""})
}

type setupRequest struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
	// AdminKey must match SIGHTLINE_ADMIN_KEY when one is configured, so
	// that whoever reaches a fresh server first cannot claim it.
	AdminKey string `json:"admin_key"`
}

// POST /api/setup creates the first user, an instance admin, and logs them
// in. It is refused (409) once any user exists.
func (a *authRoutes) setup(w http.ResponseWriter, r *http.Request) {
	if !requireBrowserJSON(w, r) {
		return
	}
	var req setupRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if key := a.s.d.AdminKey; key != "" && !adminOK(r, key) {
		addr := a.s.clientKey(r)
		if d, blocked := a.throttle.blocked(addr, ""); blocked {
			tooMany(w, d)
			return
		}
		if req.AdminKey == "" || !constantEqual(req.AdminKey, key) {
			a.throttle.fail(addr, "")
			WriteJSON(w, http.StatusUnauthorized, Error{Error: "this server has an admin key (SIGHTLINE_ADMIN_KEY): enter it to create the first account", Field: "admin_key"})
			return
		}
	}
	u, err := a.s.d.Meta.SetupAdmin(r.Context(), meta.NewUser{Email: req.Email, Name: req.Name, Password: req.Password})
	if errors.Is(err, meta.ErrConflict) {
		WriteError(w, http.StatusConflict, "setup is done already: log in instead")
		return
	} else if err != nil {
		a.s.metaError(w, r, err)
		return
	}
	a.s.d.Logger.Info("first admin created", "user", u.ID)
	a.startSession(w, r, u, http.StatusCreated)
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func tooMany(w http.ResponseWriter, d time.Duration) {
	secs := int(math.Ceil(d.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	WriteError(w, http.StatusTooManyRequests, "too many failed logins: try again in "+(time.Duration(secs)*time.Second).String())
}

// POST /api/login checks an e-mail and password and starts a session.
func (a *authRoutes) login(w http.ResponseWriter, r *http.Request) {
	if !requireBrowserJSON(w, r) {
		return
	}
	var req loginRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	addr, acct := a.s.clientKey(r), accountKey(req.Email)
	// Checked before bcrypt, so a flood of guesses costs no hashing.
	if d, blocked := a.throttle.blocked(addr, acct); blocked {
		tooMany(w, d)
		return
	}
	u, err := a.s.d.Meta.CheckPassword(r.Context(), req.Email, req.Password)
	if errors.Is(err, meta.ErrInvalidCredentials) {
		a.throttle.fail(addr, acct)
		WriteError(w, http.StatusUnauthorized, "wrong e-mail or password")
		return
	} else if err != nil {
		a.s.internal(w, r, err)
		return
	}
	a.throttle.byAccount.reset(acct)
	a.startSession(w, r, u, http.StatusOK)
}

// POST /api/logout ends the session. Without a session it still clears the
// cookie and answers 204: logging out twice is fine.
func (a *authRoutes) logout(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		a.s.clearSessionCookie(w, r)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if _, ok := a.s.authenticate(w, r); !ok {
		return
	}
	if err := a.s.d.Meta.DeleteSession(r.Context(), c.Value); err != nil {
		a.s.internal(w, r, err)
		return
	}
	a.s.clearSessionCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

// GET /api/me returns the logged-in user, their projects and the CSRF token.
func (a *authRoutes) me(w http.ResponseWriter, r *http.Request) {
	p, ok := a.s.authenticate(w, r)
	if !ok {
		return
	}
	if p.Via != AuthSession {
		WriteError(w, http.StatusBadRequest, "/api/me describes a logged-in user; API keys have none")
		return
	}
	c, _ := r.Cookie(SessionCookie)
	me, err := a.s.meFor(r, p.User, c.Value)
	if err != nil {
		a.s.internal(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, me)
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// POST /api/me/password changes the password, which ends every session of
// the user (other devices too) and starts a new one here.
func (a *authRoutes) changePassword(w http.ResponseWriter, r *http.Request) {
	p, ok := a.s.authenticate(w, r)
	if !ok {
		return
	}
	if p.Via != AuthSession {
		WriteError(w, http.StatusBadRequest, "only a logged-in user has a password")
		return
	}
	var req passwordRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	addr, acct := a.s.clientKey(r), accountKey(p.User.Email)
	if d, blocked := a.throttle.blocked(addr, acct); blocked {
		tooMany(w, d)
		return
	}
	if _, err := a.s.d.Meta.CheckPassword(r.Context(), p.User.Email, req.CurrentPassword); errors.Is(err, meta.ErrInvalidCredentials) {
		a.throttle.fail(addr, acct)
		WriteJSON(w, http.StatusUnauthorized, Error{Error: "the current password is wrong", Field: "current_password"})
		return
	} else if err != nil {
		a.s.internal(w, r, err)
		return
	}
	if err := a.s.d.Meta.SetPassword(r.Context(), p.User.ID, req.NewPassword); err != nil {
		a.s.metaError(w, r, err)
		return
	}
	a.startSession(w, r, p.User, http.StatusOK)
}

func constantEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
