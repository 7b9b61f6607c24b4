package api

// Authentication and authorization for the web app and for API clients.
//
// A caller is one of three kinds:
//
//   - a logged-in user: the sl_session cookie (HttpOnly, SameSite=Lax,
//     Secure under TLS) names a login session in the metadata store; the
//     user's role in a project comes from meta.ProjectRole (instance admins
//     are admins everywhere);
//   - a project API key (Authorization: Bearer sls_…): it acts in its own
//     project only, as a member (read, and edit definitions), never as an
//     admin, so a leaked key cannot mint more keys or change settings;
//   - the master admin key (SIGHTLINE_ADMIN_KEY): admin in every project.
//
// CSRF: a cookie is sent by the browser on its own, so every state-changing
// request authenticated by cookie must also carry X-CSRF-Token, a per-
// session token that GET /api/me returns to the app (it is a one-way hash
// of the session token, so it needs no storage and reveals nothing about
// the cookie). Cross-site requests are refused besides, by Fetch-Metadata
// and Origin (net/http's CrossOriginProtection). Bearer requests are exempt:
// a browser never attaches those credentials by itself.
//
// Resources of a project the caller may not see answer 404, never 403, so
// project ids are not confirmed to outsiders.

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sightline-analytics/sightline/meta"
)

// SessionCookie is the name of the login session cookie.
const SessionCookie = "sl_session"

// CSRFHeader carries the CSRF token on state-changing cookie requests.
const CSRFHeader = "X-CSRF-Token"

// sessionTTL is how long a login lasts without logging in again.
const sessionTTL = 14 * 24 * time.Hour

// AuthMethod says how a caller authenticated.
type AuthMethod string

const (
	AuthSession  AuthMethod = "session"
	AuthAPIKey   AuthMethod = "api_key"
	AuthAdminKey AuthMethod = "admin_key"
)

// Principal is an authenticated caller and, once authorized for a project,
// what it may do there.
type Principal struct {
	// User is the logged-in user; zero (ID 0) for API keys and the admin key.
	User meta.User
	Via  AuthMethod
	// ProjectID and Role are set by authorize: the project in scope and the
	// caller's role in it. For an API key without a project in the request,
	// ProjectID is the key's project.
	ProjectID int64
	Role      meta.Role
	// keyProject is the project an API key belongs to.
	keyProject int64
}

// InstanceAdmin reports whether the caller may manage the whole instance
// (create projects, see every user).
func (p Principal) InstanceAdmin() bool {
	return p.Via == AuthAdminKey || (p.Via == AuthSession && p.User.Role == meta.UserAdmin)
}

// UserID is the acting user's id, 0 for keys (for created_by columns).
func (p Principal) UserID() int64 { return p.User.ID }

var crossOrigin = http.NewCrossOriginProtection()

// csrfToken derives a session's CSRF token from its secret token. Knowing
// the CSRF token (it sits in the page's memory) gives nothing towards the
// session token; forging it needs the session token, which only the
// HttpOnly cookie holds.
func csrfToken(sessionToken string) string {
	sum := sha256.Sum256([]byte("sightline csrf v1\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func stateChanging(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// ProjectIDParam returns the project a request names: the {project_id} path
// wildcard, else the project_id query parameter; 0 when it names none.
func ProjectIDParam(r *http.Request) (int64, error) {
	v := r.PathValue("project_id")
	if v == "" {
		v = r.URL.Query().Get("project_id")
	}
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, errors.New("project_id must be a positive integer")
	}
	return id, nil
}

// authenticate resolves who is calling, without a project in view. It
// writes the error answer and returns false when the caller is unknown, and
// enforces CSRF on cookie requests that change state.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (Principal, bool) {
	if key := bearer(r); key != "" {
		if adminOK(r, s.d.AdminKey) {
			return Principal{Via: AuthAdminKey}, true
		}
		p, err := s.d.Meta.ProjectByAPIKey(r.Context(), key)
		if errors.Is(err, meta.ErrNotFound) {
			WriteError(w, http.StatusUnauthorized, "invalid or revoked API key")
			return Principal{}, false
		} else if err != nil {
			s.internal(w, r, err)
			return Principal{}, false
		}
		return Principal{Via: AuthAPIKey, keyProject: p.ID}, true
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		WriteError(w, http.StatusUnauthorized, "not logged in: log in, or send Authorization: Bearer <api key>")
		return Principal{}, false
	}
	u, _, err := s.d.Meta.SessionUser(r.Context(), c.Value)
	if errors.Is(err, meta.ErrNotFound) {
		s.clearSessionCookie(w, r)
		WriteError(w, http.StatusUnauthorized, "your session has expired: log in again")
		return Principal{}, false
	} else if err != nil {
		s.internal(w, r, err)
		return Principal{}, false
	}
	if stateChanging(r) {
		if err := crossOrigin.Check(r); err != nil {
			WriteError(w, http.StatusForbidden, "cross-site request refused")
			return Principal{}, false
		}
		got := r.Header.Get(CSRFHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(csrfToken(c.Value))) != 1 {
			WriteError(w, http.StatusForbidden, "missing or invalid "+CSRFHeader+" header: send the csrf_token from GET /api/me")
			return Principal{}, false
		}
	}
	return Principal{User: u, Via: AuthSession}, true
}

// authorize authenticates the caller and checks that it holds at least
// need in projectID. projectID 0 means "the project of the API key" (an
// error for users and the admin key, who must name one: pass the result of
// ProjectIDParam). A project the caller cannot see, or that does not exist,
// answers 404; a role below need answers 403. Query, replay and definition
// routes use it as:
//
//	pid, err := ProjectIDParam(r) // {project_id} or ?project_id=
//	…
//	p, ok := s.authorize(w, r, pid, meta.RoleViewer)
//	if !ok {
//		return
//	}
//	// p.ProjectID is the project to read.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, projectID int64, need meta.Role) (Principal, bool) {
	p, ok := s.authenticate(w, r)
	if !ok {
		return Principal{}, false
	}
	notFound := func() (Principal, bool) {
		WriteError(w, http.StatusNotFound, "project not found")
		return Principal{}, false
	}
	switch p.Via {
	case AuthAPIKey:
		if projectID == 0 {
			projectID = p.keyProject
		}
		if projectID != p.keyProject {
			return notFound()
		}
		p.Role = meta.RoleMember
	case AuthAdminKey:
		if projectID == 0 {
			WriteJSON(w, http.StatusBadRequest, Error{Error: "say which project: add ?project_id=<id>", Field: "project_id"})
			return Principal{}, false
		}
		if _, err := s.d.Meta.Project(r.Context(), projectID); errors.Is(err, meta.ErrNotFound) {
			return notFound()
		} else if err != nil {
			s.internal(w, r, err)
			return Principal{}, false
		}
		p.Role = meta.RoleAdmin
	case AuthSession:
		if projectID == 0 {
			WriteJSON(w, http.StatusBadRequest, Error{Error: "say which project: add ?project_id=<id>", Field: "project_id"})
			return Principal{}, false
		}
		role, err := s.d.Meta.ProjectRole(r.Context(), p.User.ID, projectID)
		if errors.Is(err, meta.ErrNotFound) {
			return notFound()
		} else if err != nil {
			s.internal(w, r, err)
			return Principal{}, false
		}
		p.Role = role
	}
	p.ProjectID = projectID
	if !p.Role.AtLeast(need) {
		msg := "your role in this project (" + string(p.Role) + ") cannot do this; it needs " + string(need)
		if p.Via == AuthAPIKey && need == meta.RoleAdmin {
			msg = "API keys cannot manage a project's settings, keys or members: log in as a project admin or use the admin key"
		}
		WriteError(w, http.StatusForbidden, msg)
		return Principal{}, false
	}
	return p, true
}

// projectHandler adapts a handler that works on one project: it reads the
// project id from the request, authorizes the caller for need, and calls h
// with the principal.
func (s *Server) projectHandler(need meta.Role, h func(w http.ResponseWriter, r *http.Request, p Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		pid, err := ProjectIDParam(r)
		if err != nil {
			WriteJSON(w, http.StatusBadRequest, Error{Error: err.Error(), Field: "project_id"})
			return
		}
		p, ok := s.authorize(w, r, pid, need)
		if !ok {
			return
		}
		h(w, r, p)
	}
}

// RequireProject is projectHandler for handlers outside this package (the
// replay reader, for one): mount it on a pattern with a {project_id}
// wildcard, or let clients pass ?project_id=.
func (s *Server) RequireProject(need meta.Role, h func(w http.ResponseWriter, r *http.Request, p Principal)) http.Handler {
	return s.projectHandler(need, h)
}

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    token,
		Path:     "/",
		Expires:  expires,
		MaxAge:   int(time.Until(expires).Seconds()),
		HttpOnly: true,
		Secure:   s.viaTLS(r),
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   s.viaTLS(r),
		SameSite: http.SameSiteLaxMode,
	})
}
