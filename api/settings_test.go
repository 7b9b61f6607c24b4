package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestProjectAuthorization(t *testing.T) {
	f := newAuthFixture(t, testAdminKey)
	f.populate()
	f.run([]scenario{
		// Reading a project.
		{Name: "anonymous", As: "anon", Method: "GET", URL: "/api/projects/{A}", ExpectedStatus: 401},
		{Name: "viewer reads A", As: "viewer", Method: "GET", URL: "/api/projects/{A}",
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"Project A"`, `"role":"viewer"`, `"snippet":"\u003cscript\u003e`, `/sdk/sightline.js`}},
		{Name: "instance admin reads B", As: "admin", Method: "GET", URL: "/api/projects/{B}", ExpectedStatus: 200, ExpectedContent: []string{`"role":"admin"`}},
		{Name: "user of B gets 404 on A", As: "outsider", Method: "GET", URL: "/api/projects/{A}", ExpectedStatus: 404, NotExpectedContent: []string{"Project A"}},
		{Name: "user of A gets 404 on B", As: "member", Method: "GET", URL: "/api/projects/{B}", ExpectedStatus: 404},
		{Name: "nonexistent project is the same 404", As: "member", Method: "GET", URL: "/api/projects/999999", ExpectedStatus: 404},
		{Name: "bad project id", As: "member", Method: "GET", URL: "/api/projects/abc", ExpectedStatus: 400},
		{Name: "API key of A reads A", As: "key:A", Method: "GET", URL: "/api/projects/{A}", ExpectedStatus: 200, ExpectedContent: []string{`"role":"member"`}},
		{Name: "API key of A gets 404 on B", As: "key:A", Method: "GET", URL: "/api/projects/{B}", ExpectedStatus: 404},
		{Name: "admin key reads any", As: "adminkey", Method: "GET", URL: "/api/projects/{B}", ExpectedStatus: 200},
		{Name: "admin key, unknown project", As: "adminkey", Method: "GET", URL: "/api/projects/999999", ExpectedStatus: 404},
		{Name: "bad API key", As: "anon", Method: "GET", URL: "/api/projects/{A}",
			Headers: map[string]string{"Authorization": "Bearer sls_nope"}, ExpectedStatus: 401},

		// Changing settings.
		{Name: "viewer cannot change settings", As: "viewer", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"settings":{"replay_enabled":false}}`, ExpectedStatus: 403},
		{Name: "member cannot change settings", As: "member", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"settings":{"replay_enabled":false}}`, ExpectedStatus: 403},
		{Name: "API key cannot change settings", As: "key:A", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"name":"x"}`,
			ExpectedStatus: 403, ExpectedContent: []string{"API keys cannot manage"}},
		{Name: "outsider gets 404 not 403", As: "outsider", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"name":"x"}`, ExpectedStatus: 404},
		{Name: "missing CSRF token refused", As: "nocsrf:admin", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"name":"Hacked"}`,
			ExpectedStatus: 403, ExpectedContent: []string{"X-CSRF-Token"}},
		{Name: "wrong CSRF token refused", As: "nocsrf:admin", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"name":"Hacked"}`,
			Headers: map[string]string{CSRFHeader: "AAAA"}, ExpectedStatus: 403},
		{Name: "another session's CSRF token refused", As: "nocsrf:admin", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"name":"Hacked"}`,
			Headers: map[string]string{CSRFHeader: csrfToken(f.tokens["member"])}, ExpectedStatus: 403},
		{Name: "cross-site with token refused", As: "admin", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"name":"Hacked"}`,
			Headers: map[string]string{"Sec-Fetch-Site": "cross-site"}, ExpectedStatus: 403},
		{Name: "admin changes settings", As: "admin", Method: "PATCH", URL: "/api/projects/{A}",
			Body:           `{"name":"Shop","settings":{"replay_sample_rate":0.5,"masking_mode":"strict","allowed_origins":["https://shop.example.com"],"timezone":"Europe/Paris"}}`,
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"Shop"`, `"replay_sample_rate":0.5`, `"masking_mode":"strict"`, `"timezone":"Europe/Paris"`, `"https://shop.example.com"`}},
		{Name: "settings kept when not sent", As: "admin", Method: "GET", URL: "/api/projects/{A}",
			ExpectedStatus: 200, ExpectedContent: []string{`"masking_mode":"strict"`, `"replay_sample_rate":0.5`}},
		{Name: "bearer needs no CSRF token", As: "adminkey", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"settings":{"replay_enabled":true}}`, ExpectedStatus: 200},
		{Name: "invalid masking mode", As: "admin", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"settings":{"masking_mode":"none"}}`,
			ExpectedStatus: 400, ExpectedContent: []string{"masking_mode"}},
		{Name: "invalid time zone", As: "admin", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"settings":{"timezone":"Mars/Olympus"}}`,
			ExpectedStatus: 400, ExpectedContent: []string{"timezone"}},
		{Name: "sample rate out of range", As: "admin", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"settings":{"replay_sample_rate":2}}`, ExpectedStatus: 400},
		{Name: "unknown setting", As: "admin", Method: "PATCH", URL: "/api/projects/{A}", Body: `{"settings":{"replay":true}}`,
			ExpectedStatus: 400, ExpectedContent: []string{"unknown field"}},
		{Name: "project admin of B changes B", As: "outsider", Method: "PATCH", URL: "/api/projects/{B}", Body: `{"settings":{"replay_enabled":false}}`,
			ExpectedStatus: 200, ExpectedContent: []string{`"replay_enabled":false`}},

		// Token rotation.
		{Name: "viewer cannot rotate", As: "viewer", Method: "POST", URL: "/api/projects/{A}/token", ExpectedStatus: 403},
		{Name: "admin rotates", As: "admin", Method: "POST", URL: "/api/projects/{A}/token", ExpectedStatus: 200, NotExpectedContent: []string{f.a.Token}},

		// Status needs an event store, which this fixture has not.
		{Name: "status without a store", As: "viewer", Method: "GET", URL: "/api/projects/{A}/status", ExpectedStatus: 503},
	})
}

func TestAPIKeys(t *testing.T) {
	f := newAuthFixture(t, testAdminKey)
	f.populate()
	f.run([]scenario{
		{Name: "viewer cannot list keys", As: "viewer", Method: "GET", URL: "/api/projects/{A}/keys", ExpectedStatus: 403},
		{Name: "member cannot create keys", As: "member", Method: "POST", URL: "/api/projects/{A}/keys", Body: `{"name":"ci"}`, ExpectedStatus: 403},
		{Name: "API key cannot mint keys", As: "key:A", Method: "POST", URL: "/api/projects/{A}/keys", Body: `{"name":"ci"}`, ExpectedStatus: 403},
		{Name: "outsider 404", As: "outsider", Method: "GET", URL: "/api/projects/{A}/keys", ExpectedStatus: 404},
		{Name: "unnamed key", As: "admin", Method: "POST", URL: "/api/projects/{A}/keys", Body: `{"name":" "}`, ExpectedStatus: 400},
		{Name: "admin lists the first key", As: "admin", Method: "GET", URL: "/api/projects/{A}/keys",
			ExpectedStatus: 200, ExpectedContent: []string{`"active":true`, `"prefix":"sls_`}, NotExpectedContent: []string{f.keyA}},
	})
	res, body := f.do("admin", "POST", "/api/projects/{A}/keys", `{"name":"dashboard export"}`, nil)
	if res.StatusCode != 201 {
		t.Fatalf("create key: %d %s", res.StatusCode, body)
	}
	var k apiKeyJSON
	if err := json.Unmarshal([]byte(body), &k); err != nil || !strings.HasPrefix(k.Key, "sls_") || k.Name != "dashboard export" {
		t.Fatalf("created key %+v (%v)", k, err)
	}
	call := func(key, url string) int {
		req, _ := http.NewRequest("GET", f.srv.URL+f.vars.Replace(url), nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := call(k.Key, "/api/projects/{A}"); got != 200 {
		t.Fatalf("new key reads A: %d", got)
	}
	if got := call(k.Key, "/api/projects/{B}"); got != 404 {
		t.Fatalf("new key reads B: %d, want 404", got)
	}
	f.run([]scenario{
		{Name: "B's admin cannot revoke A's key", As: "outsider", Method: "DELETE", URL: "/api/projects/{A}/keys/" + itoa(k.ID), ExpectedStatus: 404},
		{Name: "revoking through B does not find it", As: "admin", Method: "DELETE", URL: "/api/projects/{B}/keys/" + itoa(k.ID), ExpectedStatus: 404},
		{Name: "revoke", As: "admin", Method: "DELETE", URL: "/api/projects/{A}/keys/" + itoa(k.ID), ExpectedStatus: 204},
		{Name: "listed as revoked", As: "admin", Method: "GET", URL: "/api/projects/{A}/keys", ExpectedStatus: 200, ExpectedContent: []string{`"active":false`, `"revoked_at":"`}},
		{Name: "bad key id", As: "admin", Method: "DELETE", URL: "/api/projects/{A}/keys/x", ExpectedStatus: 400},
	})
	if got := call(k.Key, "/api/projects/{A}"); got != 401 {
		t.Fatalf("revoked key: %d, want 401", got)
	}
}

func TestMembersAndInvites(t *testing.T) {
	f := newAuthFixture(t, "")
	f.populate()
	f.run([]scenario{
		{Name: "viewer lists members", As: "viewer", Method: "GET", URL: "/api/projects/{A}/members", ExpectedStatus: 200,
			ExpectedContent: []string{"member@example.com", "viewer@example.com", "admin@example.com", `"instance_admin":true`}, NotExpectedContent: []string{"outsider@"}},
		{Name: "outsider cannot list", As: "outsider", Method: "GET", URL: "/api/projects/{A}/members", ExpectedStatus: 404},
		{Name: "member cannot invite", As: "member", Method: "POST", URL: "/api/projects/{A}/invites", Body: `{"email":"new@example.com","role":"viewer"}`, ExpectedStatus: 403},
		{Name: "viewer cannot change roles", As: "viewer", Method: "PUT", URL: "/api/projects/{A}/members/2", Body: `{"role":"admin"}`, ExpectedStatus: 403},
		{Name: "bad role", As: "admin", Method: "POST", URL: "/api/projects/{A}/invites", Body: `{"email":"new@example.com","role":"owner"}`, ExpectedStatus: 400},
		{Name: "bad e-mail", As: "admin", Method: "POST", URL: "/api/projects/{A}/invites", Body: `{"email":"new","role":"viewer"}`, ExpectedStatus: 400},
	})
	res, body := f.do("admin", "POST", "/api/projects/{A}/invites", `{"email":"New@Example.com","role":"member"}`, nil)
	if res.StatusCode != 201 {
		t.Fatalf("invite: %d %s", res.StatusCode, body)
	}
	var inv inviteJSON
	json.Unmarshal([]byte(body), &inv)
	if inv.Token == "" || !strings.HasSuffix(inv.URL, "/invite/"+inv.Token) || inv.Email != "new@example.com" {
		t.Fatalf("invite answer %+v", inv)
	}
	f.run([]scenario{
		{Name: "pending invite listed without its token", As: "admin", Method: "GET", URL: "/api/projects/{A}/invites",
			ExpectedStatus: 200, ExpectedContent: []string{"new@example.com"}, NotExpectedContent: []string{inv.Token}},
		{Name: "invite info", As: "anon", Method: "GET", URL: "/api/invites/" + inv.Token,
			ExpectedStatus: 200, ExpectedContent: []string{`"project_id":{A}`, `"project_name":"Project A"`, `"has_account":false`, `"role":"member"`}},
		{Name: "unknown invite", As: "anon", Method: "GET", URL: "/api/invites/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", ExpectedStatus: 404},
		{Name: "weak password refused", As: "anon", Method: "POST", URL: "/api/invites/" + inv.Token + "/accept", Body: `{"name":"Nia","password":"short"}`, ExpectedStatus: 400},
		{Name: "accept creates the account", As: "anon", Method: "POST", URL: "/api/invites/" + inv.Token + "/accept", Body: `{"name":"Nia","password":"nia's password"}`,
			ExpectedStatus: 200, ExpectedContent: []string{`"email":"new@example.com"`, `"name":"Project A"`, `"role":"member"`}},
		{Name: "used invite", As: "anon", Method: "POST", URL: "/api/invites/" + inv.Token + "/accept", Body: `{"name":"Eve","password":"eve's password"}`, ExpectedStatus: 404},
		{Name: "new user can log in", As: "anon", Method: "POST", URL: "/api/login", Body: `{"email":"new@example.com","password":"nia's password"}`, ExpectedStatus: 200},
	})

	// Inviting an existing user into B: they confirm with their password.
	_, body = f.do("outsider", "POST", "/api/projects/{B}/invites", `{"email":"viewer@example.com","role":"viewer"}`, nil)
	json.Unmarshal([]byte(body), &inv)
	f.run([]scenario{
		{Name: "existing account flagged", As: "anon", Method: "GET", URL: "/api/invites/" + inv.Token, ExpectedStatus: 200, ExpectedContent: []string{`"has_account":true`}},
		{Name: "wrong password", As: "anon", Method: "POST", URL: "/api/invites/" + inv.Token + "/accept", Body: `{"password":"not theirs"}`, ExpectedStatus: 401},
		{Name: "right password joins B", As: "anon", Method: "POST", URL: "/api/invites/" + inv.Token + "/accept", Body: `{"password":"password-viewer"}`,
			ExpectedStatus: 200, ExpectedContent: []string{"Project A", "Project B"}},
	})

	member, _ := f.meta.UserByEmail(context.Background(), "member@example.com")
	viewer, _ := f.meta.UserByEmail(context.Background(), "viewer@example.com")
	f.run([]scenario{
		{Name: "promote viewer", As: "admin", Method: "PUT", URL: "/api/projects/{A}/members/" + itoa(viewer.ID), Body: `{"role":"member"}`, ExpectedStatus: 204},
		{Name: "promoted viewer edits", As: "viewer", Method: "POST", URL: "/api/projects/{A}/insights", Body: `{"name":"x"}`, ExpectedStatus: 201},
		{Name: "unknown user", As: "admin", Method: "PUT", URL: "/api/projects/{A}/members/999999", Body: `{"role":"member"}`, ExpectedStatus: 404},
		{Name: "remove member", As: "admin", Method: "DELETE", URL: "/api/projects/{A}/members/" + itoa(member.ID), ExpectedStatus: 204},
		{Name: "removed member gets 404", As: "member", Method: "GET", URL: "/api/projects/{A}", ExpectedStatus: 404},
		{Name: "remove again", As: "admin", Method: "DELETE", URL: "/api/projects/{A}/members/" + itoa(member.ID), ExpectedStatus: 404},
	})
}

func TestCreateProjectAsUser(t *testing.T) {
	f := newAuthFixture(t, testAdminKey)
	f.populate()
	f.run([]scenario{
		{Name: "member cannot", As: "member", Method: "POST", URL: "/api/account/projects", Body: `{"name":"Mine"}`, ExpectedStatus: 403},
		{Name: "API key cannot", As: "key:A", Method: "POST", URL: "/api/account/projects", Body: `{"name":"Mine"}`, ExpectedStatus: 403},
		{Name: "without CSRF", As: "nocsrf:admin", Method: "POST", URL: "/api/account/projects", Body: `{"name":"Mine"}`, ExpectedStatus: 403},
		{Name: "empty name", As: "admin", Method: "POST", URL: "/api/account/projects", Body: `{"name":""}`, ExpectedStatus: 400},
		{Name: "instance admin creates", As: "admin", Method: "POST", URL: "/api/account/projects", Body: `{"name":"Docs site"}`,
			ExpectedStatus: 201, ExpectedContent: []string{`"name":"Docs site"`, `"token":"slp_`, `"api_key":"sls_`}},
		{Name: "admin key creates", As: "adminkey", Method: "POST", URL: "/api/account/projects", Body: `{"name":"Other"}`, ExpectedStatus: 201},
		{Name: "listed in me", As: "admin", Method: "GET", URL: "/api/me", ExpectedStatus: 200, ExpectedContent: []string{"Docs site", "Other"}},
	})
}

func TestSavedObjects(t *testing.T) {
	f := newAuthFixture(t, "")
	f.populate()
	def := `{"kind":"trends","series":[{"event":"$pageview"}]}`
	res, body := f.do("member", "POST", "/api/projects/{A}/insights", `{"name":"Pageviews","definition":`+def+`}`, nil)
	if res.StatusCode != 201 {
		t.Fatalf("create: %d %s", res.StatusCode, body)
	}
	var o objectJSON
	json.Unmarshal([]byte(body), &o)
	id := itoa(o.ID)
	f.run([]scenario{
		{Name: "viewer lists", As: "viewer", Method: "GET", URL: "/api/projects/{A}/insights", ExpectedStatus: 200, ExpectedContent: []string{`"name":"Pageviews"`, `"kind":"trends"`}},
		{Name: "viewer cannot create", As: "viewer", Method: "POST", URL: "/api/projects/{A}/insights", Body: `{"name":"x"}`, ExpectedStatus: 403},
		{Name: "viewer cannot edit", As: "viewer", Method: "PUT", URL: "/api/projects/{A}/insights/" + id, Body: `{"name":"x"}`, ExpectedStatus: 403},
		{Name: "viewer cannot delete", As: "viewer", Method: "DELETE", URL: "/api/projects/{A}/insights/" + id, ExpectedStatus: 403},
		{Name: "outsider gets 404", As: "outsider", Method: "GET", URL: "/api/projects/{A}/insights/" + id, ExpectedStatus: 404},
		{Name: "not reachable through B", As: "outsider", Method: "GET", URL: "/api/projects/{B}/insights/" + id, ExpectedStatus: 404},
		{Name: "invalid definition", As: "member", Method: "POST", URL: "/api/projects/{A}/dashboards", Body: `{"name":"d","definition":"not json`, ExpectedStatus: 400},
		{Name: "nameless", As: "member", Method: "POST", URL: "/api/projects/{A}/dashboards", Body: `{"name":""}`, ExpectedStatus: 400},
		{Name: "member edits", As: "member", Method: "PUT", URL: "/api/projects/{A}/insights/" + id, Body: `{"name":"Views","definition":` + def + `}`,
			ExpectedStatus: 200, ExpectedContent: []string{`"name":"Views"`}},
		{Name: "dashboard with the insight", As: "member", Method: "POST", URL: "/api/projects/{A}/dashboards",
			Body: `{"name":"Main","definition":{"items":[{"insight":` + id + `}]}}`, ExpectedStatus: 201},
		{Name: "API key reads", As: "key:A", Method: "GET", URL: "/api/projects/{A}/dashboards", ExpectedStatus: 200, ExpectedContent: []string{`"insight":` + id}},
		{Name: "member deletes", As: "member", Method: "DELETE", URL: "/api/projects/{A}/insights/" + id, ExpectedStatus: 204},
		{Name: "gone", As: "viewer", Method: "GET", URL: "/api/projects/{A}/insights/" + id, ExpectedStatus: 404},
	})
}
