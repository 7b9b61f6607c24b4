package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sightline-analytics/sightline/meta"
)

const testAdminKey = "test-admin-key-0123456789abcdef"

// authFixture is a real API server over a real SQLite metadata store, with
// users in two projects:
//
//	admin    instance admin (created through POST /api/setup)
//	member   member of A       viewer   viewer of A
//	outsider admin of B only
type authFixture struct {
	t      *testing.T
	srv    *httptest.Server
	meta   *meta.Store
	clock  *fakeClock
	a, b   meta.Project
	keyA   string
	keyB   string
	tokens map[string]string // who -> session token
	vars   *strings.Replacer
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newAuthFixture(t *testing.T, adminKey string) *authFixture {
	t.Helper()
	return newAuthFixtureProxy(t, adminKey, false)
}

// newAuthFixtureProxy is newAuthFixture behind a reverse proxy the server
// trusts (Deps.TrustProxy) or not.
func newAuthFixtureProxy(t *testing.T, adminKey string, trustProxy bool) *authFixture {
	t.Helper()
	ctx := context.Background()
	m, err := meta.Open(ctx, filepath.Join(t.TempDir(), "meta.db"), meta.WithBcryptCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	f := &authFixture{t: t, meta: m, clock: &fakeClock{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, tokens: map[string]string{}}
	s := New(Deps{Meta: m, Tokens: meta.NewCache(m, meta.CacheOptions{}), AdminKey: adminKey, TrustProxy: trustProxy,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/health", s.health)
	// The login routes with a clock the test controls.
	(&authRoutes{s: s, throttle: newLoginThrottle(f.clock.now)}).register(mux)
	f.srv = httptest.NewServer(Recover(s.d.Logger, mux))
	t.Cleanup(f.srv.Close)
	return f
}

// populate creates the admin through the setup endpoint and the rest
// directly in the store.
func (f *authFixture) populate() {
	t := f.t
	ctx := context.Background()
	res, body := f.do("anon", http.MethodPost, "/api/setup", `{"email":"admin@example.com","name":"Ada","password":"correct horse","admin_key":"`+testAdminKey+`"}`, nil)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("setup: %d %s", res.StatusCode, body)
	}
	f.tokens["admin"] = sessionFrom(t, res)
	var err error
	if f.a, f.keyA, err = f.meta.CreateProject(ctx, "Project A"); err != nil {
		t.Fatal(err)
	}
	if f.b, f.keyB, err = f.meta.CreateProject(ctx, "Project B"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		who  string
		proj int64
		role meta.Role
	}{{"member", f.a.ID, meta.RoleMember}, {"viewer", f.a.ID, meta.RoleViewer}, {"outsider", f.b.ID, meta.RoleAdmin}} {
		user, err := f.meta.CreateUser(ctx, meta.NewUser{Email: u.who + "@example.com", Name: u.who, Password: "password-" + u.who})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.meta.SetMembership(ctx, u.proj, user.ID, u.role); err != nil {
			t.Fatal(err)
		}
		tok, _, err := f.meta.CreateSession(ctx, user.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[u.who] = tok
	}
	f.vars = strings.NewReplacer("{A}", itoa(f.a.ID), "{B}", itoa(f.b.ID))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func sessionFrom(t *testing.T, res *http.Response) string {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == SessionCookie && c.Value != "" {
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
				t.Fatalf("session cookie attributes: %+v", c)
			}
			return c.Value
		}
	}
	t.Fatalf("no %s cookie in %v", SessionCookie, res.Header.Values("Set-Cookie"))
	return ""
}

// do sends a request as who: "anon", a user name from f.tokens (cookie +
// CSRF token), "nocsrf:<user>" (cookie only), "key:A" / "key:B" (API
// keys), or "adminkey".
func (f *authFixture) do(who, method, url, body string, hdr map[string]string) (*http.Response, string) {
	f.t.Helper()
	if f.vars != nil {
		url, body = f.vars.Replace(url), f.vars.Replace(body)
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.srv.URL+url, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	csrf := true
	if u, ok := strings.CutPrefix(who, "nocsrf:"); ok {
		who, csrf = u, false
	}
	switch who {
	case "anon":
	case "key:A":
		req.Header.Set("Authorization", "Bearer "+f.keyA)
	case "key:B":
		req.Header.Set("Authorization", "Bearer "+f.keyB)
	case "adminkey":
		req.Header.Set("Authorization", "Bearer "+testAdminKey)
	default:
		tok, ok := f.tokens[who]
		if !ok {
			f.t.Fatalf("unknown caller %q", who)
		}
		req.AddCookie(&http.Cookie{Name: SessionCookie, Value: tok})
		if csrf {
			req.Header.Set(CSRFHeader, csrfToken(tok))
		}
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// scenario is one API call and what it must answer.
type scenario struct {
	Name               string
	As                 string
	Method             string
	URL                string
	Body               string
	Headers            map[string]string
	ExpectedStatus     int
	ExpectedContent    []string
	NotExpectedContent []string
}

func (f *authFixture) run(scenarios []scenario) {
	for _, sc := range scenarios {
		f.t.Run(sc.Name, func(t *testing.T) {
			res, body := f.do(sc.As, sc.Method, sc.URL, sc.Body, sc.Headers)
			if res.StatusCode != sc.ExpectedStatus {
				t.Fatalf("%s %s as %s: status %d, want %d; body %s", sc.Method, sc.URL, sc.As, res.StatusCode, sc.ExpectedStatus, body)
			}
			for _, want := range sc.ExpectedContent {
				if !strings.Contains(body, f.vars.Replace(want)) {
					t.Errorf("body lacks %q: %s", want, body)
				}
			}
			for _, bad := range sc.NotExpectedContent {
				if strings.Contains(body, bad) {
					t.Errorf("body contains %q: %s", bad, body)
				}
			}
		})
	}
}

func TestSetup(t *testing.T) {
	f := newAuthFixture(t, "")
	f.vars = strings.NewReplacer()
	f.run([]scenario{
		{Name: "fresh server needs setup", As: "anon", Method: "GET", URL: "/api/setup",
			ExpectedStatus: 200, ExpectedContent: []string{`"needed":true`, `"admin_key_required":false`}},
		{Name: "form post refused", As: "anon", Method: "POST", URL: "/api/setup", Body: `{"email":"a@example.com","password":"long enough"}`,
			Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, ExpectedStatus: 415},
		{Name: "cross-site refused", As: "anon", Method: "POST", URL: "/api/setup", Body: `{"email":"a@example.com","password":"long enough"}`,
			Headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, ExpectedStatus: 403},
		{Name: "short password", As: "anon", Method: "POST", URL: "/api/setup", Body: `{"email":"a@example.com","password":"short"}`,
			ExpectedStatus: 400, ExpectedContent: []string{"at least 8 characters"}},
		{Name: "bad e-mail", As: "anon", Method: "POST", URL: "/api/setup", Body: `{"email":"nope","password":"long enough"}`,
			ExpectedStatus: 400, ExpectedContent: []string{"not an e-mail address"}},
		{Name: "unknown field", As: "anon", Method: "POST", URL: "/api/setup", Body: `{"email":"a@example.com","password":"long enough","role":"admin"}`,
			ExpectedStatus: 400, ExpectedContent: []string{"unknown field"}},
		{Name: "creates the admin", As: "anon", Method: "POST", URL: "/api/setup", Body: `{"email":"Admin@Example.com","name":"Ada","password":"long enough"}`,
			ExpectedStatus: 201, ExpectedContent: []string{`"email":"admin@example.com"`, `"role":"admin"`, `"csrf_token":"`}, NotExpectedContent: []string{"password"}},
		{Name: "refused once a user exists", As: "anon", Method: "POST", URL: "/api/setup", Body: `{"email":"b@example.com","password":"long enough"}`,
			ExpectedStatus: 409, ExpectedContent: []string{"log in instead"}},
		{Name: "no longer needed", As: "anon", Method: "GET", URL: "/api/setup", ExpectedStatus: 200, ExpectedContent: []string{`"needed":false`}},
		{Name: "login works", As: "anon", Method: "POST", URL: "/api/login", Body: `{"email":"admin@example.com","password":"long enough"}`,
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"Ada"`}},
	})
	if n, _ := f.meta.UserCount(context.Background()); n != 1 {
		t.Fatalf("users after setup: %d, want 1", n)
	}
}

func TestSetupWithAdminKey(t *testing.T) {
	f := newAuthFixture(t, testAdminKey)
	f.vars = strings.NewReplacer()
	f.run([]scenario{
		{Name: "says the key is required", As: "anon", Method: "GET", URL: "/api/setup", ExpectedStatus: 200, ExpectedContent: []string{`"admin_key_required":true`}},
		{Name: "without the key", As: "anon", Method: "POST", URL: "/api/setup", Body: `{"email":"a@example.com","password":"long enough"}`,
			ExpectedStatus: 401, ExpectedContent: []string{`"field":"admin_key"`}},
		{Name: "with a wrong key", As: "anon", Method: "POST", URL: "/api/setup", Body: `{"email":"a@example.com","password":"long enough","admin_key":"guess"}`,
			ExpectedStatus: 401},
		{Name: "with the key", As: "anon", Method: "POST", URL: "/api/setup", Body: `{"email":"a@example.com","password":"long enough","admin_key":"` + testAdminKey + `"}`,
			ExpectedStatus: 201},
	})
}

func TestLoginLogout(t *testing.T) {
	f := newAuthFixture(t, testAdminKey)
	f.populate()
	f.run([]scenario{
		{Name: "me without a session", As: "anon", Method: "GET", URL: "/api/me", ExpectedStatus: 401},
		{Name: "me with a forged cookie", As: "anon", Method: "GET", URL: "/api/me",
			Headers: map[string]string{"Cookie": SessionCookie + "=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, ExpectedStatus: 401},
		{Name: "wrong password", As: "anon", Method: "POST", URL: "/api/login", Body: `{"email":"member@example.com","password":"nope nope"}`,
			ExpectedStatus: 401, ExpectedContent: []string{"wrong e-mail or password"}},
		{Name: "unknown user says the same", As: "anon", Method: "POST", URL: "/api/login", Body: `{"email":"ghost@example.com","password":"nope nope"}`,
			ExpectedStatus: 401, ExpectedContent: []string{"wrong e-mail or password"}},
		{Name: "member logs in and sees project A only", As: "anon", Method: "POST", URL: "/api/login", Body: `{"email":"member@example.com","password":"password-member"}`,
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"Project A"`, `"role":"member"`}, NotExpectedContent: []string{"Project B"}},
		{Name: "admin sees every project", As: "admin", Method: "GET", URL: "/api/me",
			ExpectedStatus: 200, ExpectedContent: []string{"Project A", "Project B", `"role":"admin"`}},
		{Name: "me by API key is not a user", As: "key:A", Method: "GET", URL: "/api/me", ExpectedStatus: 400},
		{Name: "logout without CSRF token refused", As: "nocsrf:viewer", Method: "POST", URL: "/api/logout", ExpectedStatus: 403},
		{Name: "logout", As: "viewer", Method: "POST", URL: "/api/logout", ExpectedStatus: 204},
		{Name: "session gone after logout", As: "viewer", Method: "GET", URL: "/api/me", ExpectedStatus: 401},
		{Name: "logout twice is fine", As: "anon", Method: "POST", URL: "/api/logout", ExpectedStatus: 204},
	})
}

func TestLoginSetsCookieAndCSRF(t *testing.T) {
	f := newAuthFixture(t, "")
	f.populate()
	res, body := f.do("anon", "POST", "/api/login", `{"email":"member@example.com","password":"password-member"}`, nil)
	if res.StatusCode != 200 {
		t.Fatalf("login: %d %s", res.StatusCode, body)
	}
	tok := sessionFrom(t, res)
	var me meJSON
	if err := json.Unmarshal([]byte(body), &me); err != nil {
		t.Fatal(err)
	}
	if me.CSRFToken != csrfToken(tok) || me.CSRFToken == "" || strings.Contains(me.CSRFToken, tok) {
		t.Fatalf("csrf token %q does not derive from the session", me.CSRFToken)
	}
	for _, c := range res.Cookies() {
		if c.Name == SessionCookie && c.Secure {
			t.Fatal("cookie marked Secure on a plain HTTP request")
		}
	}
}

func TestLoginThrottle(t *testing.T) {
	f := newAuthFixture(t, "")
	f.populate()
	login := func(pw string, hdr map[string]string) *http.Response {
		res, _ := f.do("anon", "POST", "/api/login", `{"email":"member@example.com","password":"`+pw+`"}`, hdr)
		return res
	}
	for i := range 5 {
		if res := login("wrong password", nil); res.StatusCode != 401 {
			t.Fatalf("attempt %d: %d, want 401", i+1, res.StatusCode)
		}
	}
	// The account is now locked, even with the right password.
	res := login("password-member", nil)
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "900" {
		t.Fatalf("locked account: %d Retry-After %q, want 429 and 900", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// Another account from the same address is not locked by it.
	if res, body := f.do("anon", "POST", "/api/login", `{"email":"viewer@example.com","password":"password-viewer"}`, nil); res.StatusCode != 200 {
		t.Fatalf("other account: %d %s", res.StatusCode, body)
	}
	f.clock.t = f.clock.t.Add(10 * time.Minute)
	if res := login("password-member", nil); res.StatusCode != 429 || res.Header.Get("Retry-After") != "300" {
		t.Fatalf("after 10 min: %d Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	f.clock.t = f.clock.t.Add(5 * time.Minute)
	if res := login("password-member", nil); res.StatusCode != 200 {
		t.Fatalf("after the window: %d, want 200", res.StatusCode)
	}
}

func TestThrottleAddressLimit(t *testing.T) {
	clock := &fakeClock{time.Unix(0, 0)}
	l := newLoginThrottle(clock.now)
	for i := range 30 {
		if _, blocked := l.blocked("10.0.0.1", "user"+itoa(int64(i))); blocked {
			t.Fatalf("blocked after %d failures", i)
		}
		l.fail("10.0.0.1", "user"+itoa(int64(i)))
	}
	if _, blocked := l.blocked("10.0.0.1", "fresh"); !blocked {
		t.Fatal("31st attempt from one address not blocked")
	}
	if _, blocked := l.blocked("10.0.0.2", "fresh"); blocked {
		t.Fatal("another address blocked")
	}
}

func TestThrottleBounded(t *testing.T) {
	th := newThrottle(3, time.Minute, (&fakeClock{time.Unix(0, 0)}).now)
	th.max = 64
	for i := range 1000 {
		th.fail("k" + itoa(int64(i)))
	}
	if n := len(th.entries); n > 64 {
		t.Fatalf("%d entries, want at most 64", n)
	}
}

func TestClientKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		trust bool
		addr  string
		xff   string
		real  string
		want  string
	}{
		{name: "v4", addr: "192.0.2.7:5555", want: "192.0.2.7"},
		{name: "v6 /64", addr: "[2001:db8:1:2:3:4:5:6]:443", want: "2001:db8:1:2::/64"},
		{name: "v6 same /64", addr: "[2001:db8:1:2:ffff::1]:443", want: "2001:db8:1:2::/64"},
		{name: "garbage", addr: "garbage", want: "garbage"},
		{name: "untrusted ignores X-Forwarded-For", addr: "10.0.0.1:80", xff: "198.51.100.7", want: "10.0.0.1"},
		{name: "untrusted ignores X-Real-IP", addr: "10.0.0.1:80", real: "198.51.100.7", want: "10.0.0.1"},
		{name: "trusted X-Forwarded-For", trust: true, addr: "10.0.0.1:80", xff: "198.51.100.7", want: "198.51.100.7"},
		{name: "trusted takes the proxy's entry, not forged ones", trust: true, addr: "10.0.0.1:80", xff: "203.0.113.1, 198.51.100.7", want: "198.51.100.7"},
		{name: "trusted X-Real-IP", trust: true, addr: "10.0.0.1:80", real: "198.51.100.8", want: "198.51.100.8"},
		{name: "trusted v6 /64", trust: true, addr: "10.0.0.1:80", xff: "2001:db8:1:2:3:4:5:6", want: "2001:db8:1:2::/64"},
		{name: "trusted without headers", trust: true, addr: "10.0.0.1:80", want: "10.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.addr
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.real != "" {
				r.Header.Set("X-Real-IP", tc.real)
			}
			if got := clientKey(r, tc.trust); got != tc.want {
				t.Errorf("clientKey = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLoginThrottleBehindProxy runs the address limit through the login
// route: behind a trusted proxy each client has its own limit and forged
// X-Forwarded-For entries do not reset it; without trust the forwarding
// headers are ignored, so every client of one connection address shares
// one limit and rotating the headers escapes nothing.
func TestLoginThrottleBehindProxy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trust   bool
		failXFF func(i int) string // X-Forwarded-For of the i-th failed login
		probe   string             // X-Forwarded-For of the login that follows, with the right password
		want    int
	}{
		{name: "trusted: another client is not limited", trust: true, failXFF: fixedXFF("198.51.100.1"), probe: "198.51.100.2", want: 200},
		{name: "trusted: the guessing client is limited", trust: true, failXFF: fixedXFF("198.51.100.1"), probe: "198.51.100.1", want: 429},
		{name: "trusted: a forged entry does not escape", trust: true, failXFF: fixedXFF("198.51.100.1"), probe: "203.0.113.50, 198.51.100.1", want: 429},
		{name: "trusted: forged entries while guessing do not spread the limit", trust: true, failXFF: func(i int) string { return "203.0.113." + strconv.Itoa(i) + ", 198.51.100.1" }, probe: "198.51.100.1", want: 429},
		{name: "untrusted: headers ignored, one limit per connection address", failXFF: fixedXFF("198.51.100.1"), probe: "198.51.100.2", want: 429},
		{name: "untrusted: rotating headers do not escape", failXFF: func(i int) string { return "198.51.100." + strconv.Itoa(i) }, probe: "203.0.113.99", want: 429},
		{name: "untrusted: below the limit", failXFF: nil, probe: "198.51.100.1", want: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newAuthFixtureProxy(t, testAdminKey, tc.trust)
			f.populate()
			if tc.failXFF != nil {
				for i := range 30 {
					// Distinct accounts: only the address limit is reached.
					res, body := f.do("anon", "POST", "/api/login", `{"email":"nobody`+strconv.Itoa(i)+`@example.com","password":"guess"}`, map[string]string{"X-Forwarded-For": tc.failXFF(i)})
					if res.StatusCode != 401 {
						t.Fatalf("failed login %d: %d %s", i+1, res.StatusCode, body)
					}
				}
			}
			res, body := f.do("anon", "POST", "/api/login", `{"email":"member@example.com","password":"password-member"}`, map[string]string{"X-Forwarded-For": tc.probe})
			if res.StatusCode != tc.want {
				t.Fatalf("login from %q: %d, want %d: %s", tc.probe, res.StatusCode, tc.want, body)
			}
		})
	}
}

func fixedXFF(v string) func(int) string { return func(int) string { return v } }

// TestForwardedSchemeAndHost: behind a trusted proxy that terminates TLS
// the session cookie is Secure and links use the public scheme and host;
// without trust the same headers change nothing.
func TestForwardedSchemeAndHost(t *testing.T) {
	hdr := map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "analytics.example.com"}
	for _, tc := range []struct {
		name       string
		trust      bool
		wantSecure bool
		wantLink   string
	}{
		{name: "trusted", trust: true, wantSecure: true, wantLink: "https://analytics.example.com/invite/"},
		{name: "untrusted", trust: false, wantSecure: false, wantLink: "http://127.0.0.1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newAuthFixtureProxy(t, testAdminKey, tc.trust)
			f.populate()
			res, body := f.do("anon", "POST", "/api/login", `{"email":"member@example.com","password":"password-member"}`, hdr)
			if res.StatusCode != 200 {
				t.Fatalf("login: %d %s", res.StatusCode, body)
			}
			var secure, found bool
			for _, c := range res.Cookies() {
				if c.Name == SessionCookie {
					found, secure = true, c.Secure
				}
			}
			if !found || secure != tc.wantSecure {
				t.Fatalf("session cookie found %v, Secure %v; want Secure %v", found, secure, tc.wantSecure)
			}
			res, body = f.do("admin", "POST", "/api/projects/{A}/invites", `{"email":"new@example.com","role":"viewer"}`, hdr)
			if res.StatusCode != 201 {
				t.Fatalf("invite: %d %s", res.StatusCode, body)
			}
			var inv struct {
				URL string `json:"url"`
			}
			if err := json.Unmarshal([]byte(body), &inv); err != nil || !strings.HasPrefix(inv.URL, tc.wantLink) {
				t.Fatalf("invite link %q (%v), want prefix %q", inv.URL, err, tc.wantLink)
			}
		})
	}
}

func TestChangePassword(t *testing.T) {
	f := newAuthFixture(t, "")
	f.populate()
	old := f.tokens["member"]
	res, body := f.do("member", "POST", "/api/me/password", `{"current_password":"wrong one","new_password":"a new password"}`, nil)
	if res.StatusCode != 401 {
		t.Fatalf("wrong current: %d %s", res.StatusCode, body)
	}
	res, body = f.do("member", "POST", "/api/me/password", `{"current_password":"password-member","new_password":"short"}`, nil)
	if res.StatusCode != 400 {
		t.Fatalf("short new: %d %s", res.StatusCode, body)
	}
	res, body = f.do("member", "POST", "/api/me/password", `{"current_password":"password-member","new_password":"a new password"}`, nil)
	if res.StatusCode != 200 {
		t.Fatalf("change: %d %s", res.StatusCode, body)
	}
	f.tokens["member"] = sessionFrom(t, res)
	if f.tokens["member"] == old {
		t.Fatal("session token not renewed")
	}
	f.tokens["old"] = old
	f.run([]scenario{
		{Name: "old session ended", As: "old", Method: "GET", URL: "/api/me", ExpectedStatus: 401},
		{Name: "new session works", As: "member", Method: "GET", URL: "/api/me", ExpectedStatus: 200},
		{Name: "old password refused", As: "anon", Method: "POST", URL: "/api/login", Body: `{"email":"member@example.com","password":"password-member"}`, ExpectedStatus: 401},
		{Name: "new password accepted", As: "anon", Method: "POST", URL: "/api/login", Body: `{"email":"member@example.com","password":"a new password"}`, ExpectedStatus: 200},
	})
}
