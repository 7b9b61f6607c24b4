package web_test

// Authorization against the whole application (real stores, real routes):
// what a viewer, a user of another project and a request without its CSRF
// token may do with settings, queries and replays.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/meta"
)

type caller struct {
	cookie string // session token
	csrf   string
}

func login(t *testing.T, base, email, password string) caller {
	t.Helper()
	res, err := http.Post(base+"/api/login", "application/json", strings.NewReader(fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&me); err != nil || res.StatusCode != 200 {
		t.Fatalf("login %s: %d %v", email, res.StatusCode, err)
	}
	for _, c := range res.Cookies() {
		if c.Name == "sl_session" {
			return caller{cookie: c.Value, csrf: me.CSRF}
		}
	}
	t.Fatalf("login %s: no session cookie", email)
	return caller{}
}

type authzScenario struct {
	Name            string
	As              string // a caller name; "anon" for none
	NoCSRF          bool
	Method          string
	URL             string
	Body            string
	ExpectedStatus  int
	ExpectedContent []string
}

func TestAuthorizationAgainstTheApp(t *testing.T) {
	ctx := context.Background()
	app, base := startUI(t)
	m := app.Meta()

	a, keyA, err := app.CreateProject(ctx, "Project A")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := app.CreateProject(ctx, "Project B")
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]struct {
		proj int64
		role meta.Role
	}{
		"viewerA": {a.ID, meta.RoleViewer},
		"memberA": {a.ID, meta.RoleMember},
		"adminA":  {a.ID, meta.RoleAdmin},
		"adminB":  {b.ID, meta.RoleAdmin},
	}
	callers := map[string]caller{}
	for name, u := range users {
		user, err := m.CreateUser(ctx, meta.NewUser{Email: strings.ToLower(name) + "@example.com", Password: "password of " + name})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetMembership(ctx, u.proj, user.ID, u.role); err != nil {
			t.Fatal(err)
		}
		callers[name] = login(t, base, strings.ToLower(name)+"@example.com", "password of "+name)
	}

	// A recording in each project, stored the way the SDK stores it.
	for _, p := range []meta.Project{a, b} {
		t0 := time.Now().Add(-time.Hour).UnixMilli()
		chunk := fmt.Sprintf(`[{"type":4,"timestamp":%d,"data":{"href":"https://x.example/","width":800,"height":600}},{"type":2,"timestamp":%d,"data":{"node":{"type":0,"id":1,"childNodes":[]},"initialOffset":{"left":0,"top":0}}}]`, t0, t0+5)
		u := fmt.Sprintf("%s/api/replay?token=%s&session_id=sess-%d&window_id=w1&seq=0", app.URL(), p.Token, p.ID)
		res, err := http.Post(u, "application/json", strings.NewReader(chunk))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("store replay of project %d: %v %v", p.ID, res, err)
		}
		res.Body.Close()
	}

	vars := strings.NewReplacer("{A}", fmt.Sprint(a.ID), "{B}", fmt.Sprint(b.ID))
	trends := `{"kind":"trends","date_from":"-7d","series":[{"event":"$pageview"}]}`
	scenarios := []authzScenario{
		{Name: "viewer reads settings", As: "viewerA", Method: "GET", URL: "/api/projects/{A}", ExpectedStatus: 200, ExpectedContent: []string{`"role":"viewer"`}},
		{Name: "viewer cannot change settings", As: "viewerA", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"settings":{"replay_enabled":false}}`, ExpectedStatus: 403},
		{Name: "member cannot change settings", As: "memberA", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"settings":{"replay_enabled":false}}`, ExpectedStatus: 403},
		{Name: "viewer cannot create keys", As: "viewerA", Method: "POST", URL: "/api/projects/{A}/keys", Body: `{"name":"x"}`, ExpectedStatus: 403},
		{Name: "viewer cannot save insights", As: "viewerA", Method: "POST", URL: "/api/projects/{A}/insights", Body: `{"name":"x"}`, ExpectedStatus: 403},
		{Name: "member saves insights", As: "memberA", Method: "POST", URL: "/api/projects/{A}/insights", Body: `{"name":"x","definition":` + trends + `}`, ExpectedStatus: 201},
		{Name: "admin changes settings", As: "adminA", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"settings":{"masking_mode":"strict"}}`, ExpectedStatus: 200, ExpectedContent: []string{`"masking_mode":"strict"`}},
		{Name: "missing CSRF token refused", As: "adminA", NoCSRF: true, Method: "PATCH", URL: "/api/projects/{A}", Body: `{"settings":{"masking_mode":"relaxed"}}`, ExpectedStatus: 403, ExpectedContent: []string{"X-CSRF-Token"}},
		{Name: "missing CSRF token refused on a query route", As: "memberA", NoCSRF: true, Method: "POST", URL: "/api/projects/{A}/insights", Body: `{"name":"y"}`, ExpectedStatus: 403},
		{Name: "viewer queries A", As: "viewerA", Method: "POST", URL: "/api/query?project_id={A}", Body: trends, ExpectedStatus: 200, ExpectedContent: []string{`"series"`}},
		{Name: "user of A gets 404 for B's queries", As: "viewerA", Method: "POST", URL: "/api/query?project_id={B}", Body: trends, ExpectedStatus: 404},
		{Name: "user of B gets 404 for A's queries", As: "adminB", Method: "POST", URL: "/api/query?project_id={A}", Body: trends, ExpectedStatus: 404},
		{Name: "user of A gets 404 for B's settings", As: "adminA", Method: "GET", URL: "/api/projects/{B}", ExpectedStatus: 404},
		{Name: "user of A plays A's replay", As: "viewerA", Method: "GET", URL: "/api/projects/{A}/replay/sess-{A}", ExpectedStatus: 200, ExpectedContent: []string{`"windows"`}},
		{Name: "user of A gets 404 for B's replays", As: "viewerA", Method: "GET", URL: "/api/projects/{B}/replay/sess-{B}", ExpectedStatus: 404},
		{Name: "B's replay is not reachable through A", As: "viewerA", Method: "GET", URL: "/api/projects/{A}/replay/sess-{B}", ExpectedStatus: 404},
		{Name: "user of A gets 404 for B's events", As: "viewerA", Method: "GET", URL: "/api/projects/{B}/events", ExpectedStatus: 404},
		{Name: "anonymous replay", As: "anon", Method: "GET", URL: "/api/projects/{A}/replay/sess-{A}", ExpectedStatus: 401},
		{Name: "API key of A gets 404 for B", As: "keyA", Method: "POST", URL: "/api/query?project_id={B}", Body: trends, ExpectedStatus: 404},
	}
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			var body io.Reader
			if sc.Body != "" {
				body = strings.NewReader(vars.Replace(sc.Body))
			}
			req := httptest.NewRequest(sc.Method, base+vars.Replace(sc.URL), body)
			req.RequestURI = ""
			req.Header.Set("Content-Type", "application/json")
			switch sc.As {
			case "anon":
			case "keyA":
				req.Header.Set("Authorization", "Bearer "+keyA)
			default:
				c, ok := callers[sc.As]
				if !ok {
					t.Fatalf("unknown caller %s", sc.As)
				}
				req.AddCookie(&http.Cookie{Name: "sl_session", Value: c.cookie})
				if !sc.NoCSRF {
					req.Header.Set("X-CSRF-Token", c.csrf)
				}
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			got, _ := io.ReadAll(res.Body)
			if res.StatusCode != sc.ExpectedStatus {
				t.Fatalf("%s %s as %s: %d, want %d: %s", sc.Method, sc.URL, sc.As, res.StatusCode, sc.ExpectedStatus, got)
			}
			for _, want := range sc.ExpectedContent {
				if !strings.Contains(string(got), want) {
					t.Errorf("answer lacks %q: %s", want, got)
				}
			}
		})
	}
}
