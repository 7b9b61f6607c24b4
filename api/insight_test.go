package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/api"
	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/insight"
	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/store/duckdb"
	"github.com/sightline-analytics/sightline/synth"
)

// insightServer is an API server over a synth project with the insight
// service wired in, its clock at two hours into the planted incident.
type insightServer struct {
	url, key, otherKey string
	hookURL            string
	project            int64
	hooks              *hookLog
	svc                *insight.Service
	// sessions are the logged-in member's and viewer's cookie and CSRF
	// token, by name.
	sessions map[string][2]string
}

type hookLog struct {
	mu    sync.Mutex
	texts []string
}

func startInsightServer(t *testing.T) *insightServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	m, err := meta.Open(ctx, filepath.Join(dir, "meta.db"), meta.WithBcryptCost(4), meta.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	p, key, err := m.CreateProject(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := m.CreateProject(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	db, err := duckdb.Open("", duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cfg := synth.Config{Seed: 1, Days: 12, Events: 200_000}
	b := event.Batch{ProjectID: p.ID, ReceivedAt: synth.End(cfg).Add(time.Hour)}
	var evs []event.Event
	if _, err := synth.Generate(cfg, func(batch []event.Raw) error {
		for i := range batch {
			var e event.Event
			if event.Normalize(&batch[i], &b, &e) == nil {
				evs = append(evs, e)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Append(ctx, evs, store.Checkpoint{Spool: "test"}); err != nil {
		t.Fatal(err)
	}
	st, err := insight.OpenState(ctx, filepath.Join(dir, "insight.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := synth.IncidentStart(cfg).Add(2*time.Hour + time.Minute)
	svc, err := insight.New(insight.Config{Events: db, Meta: m, State: st, Now: func() time.Time { return now }, ClusterEvery: -1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Deps{Meta: m, Tokens: meta.NewCache(m, meta.CacheOptions{}), Events: db, Insights: svc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	mux := http.NewServeMux()
	srv.Register(mux)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	hooks := &hookLog{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n insight.Notification
		if json.NewDecoder(r.Body).Decode(&n) == nil {
			hooks.mu.Lock()
			hooks.texts = append(hooks.texts, n.Text)
			hooks.mu.Unlock()
		}
	}))
	t.Cleanup(recv.Close)
	s := &insightServer{url: hs.URL, key: key, otherKey: otherKey, hookURL: recv.URL, project: p.ID, hooks: hooks, svc: svc, sessions: map[string][2]string{}}
	for _, u := range []struct {
		name string
		role meta.Role
	}{{"member", meta.RoleMember}, {"viewer", meta.RoleViewer}} {
		user, err := m.CreateUser(ctx, meta.NewUser{Email: u.name + "@example.com", Password: "password of " + u.name})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetMembership(ctx, p.ID, user.ID, u.role); err != nil {
			t.Fatal(err)
		}
		s.sessions[u.name] = s.login(t, u.name+"@example.com", "password of "+u.name)
	}
	return s
}

// login logs a user in and returns the session cookie and CSRF token.
func (s *insightServer) login(t *testing.T, email, password string) [2]string {
	t.Helper()
	res, err := http.Post(s.url+"/api/login", "application/json", strings.NewReader(`{"email":"`+email+`","password":"`+password+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie string
	for _, c := range res.Cookies() {
		if c.Name == api.SessionCookie {
			cookie = c.Value
		}
	}
	if res.StatusCode != http.StatusOK || cookie == "" {
		t.Fatalf("login %s: %d", email, res.StatusCode)
	}
	req, _ := http.NewRequest("GET", s.url+"/api/me", nil)
	req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: cookie})
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&me); err != nil || me.CSRF == "" {
		t.Fatalf("me of %s: %v", email, err)
	}
	return [2]string{cookie, me.CSRF}
}

func (s *insightServer) do(t *testing.T, method, path, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if sess, ok := s.sessions[key]; ok {
		req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: sess[0]})
		req.Header.Set(api.CSRFHeader, sess[1])
	} else if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestInsightAPI runs the insight routes as scenarios, in order: each may
// depend on what the ones before it created.
func TestInsightAPI(t *testing.T) {
	s := startInsightServer(t)
	rule := `{"name":"Cart frustration","rule":{"type":"anomaly","metric":{"series":"frustration:page:/cart"},"channels":[{"type":"webhook","url":"` + s.hookURL + `"}]}}`
	scenarios := []struct {
		name, method, path string
		key                string // "k" project key, "o" other project's key, "" none
		body               string
		status             int
		contains           []string
	}{
		{"no key", "GET", "/api/feed", "", "", 401, nil},
		{"other project", "GET", "/api/projects/1/feed", "o", "", 404, nil},
		{"empty feed", "GET", "/api/feed", "k", "", 200, []string{`"items":[]`}},
		{"record release", "POST", "/api/releases", "k", `{"version":"9.9.9","at":"2026-01-10T09:00:00Z"}`, 201, []string{`"version":"9.9.9"`}},
		{"record release again", "POST", "/api/releases", "k", `{"version":"9.9.9"}`, 200, []string{`"at":"2026-01-10T09:00:00Z"`}},
		{"release without version", "POST", "/api/releases", "k", `{}`, 400, []string{"version"}},
		{"list releases", "GET", "/api/releases?from=2026-01-01", "k", "", 200, []string{`"9.9.9"`}},
		{"invalid rule", "POST", "/api/alerts", "k", `{"name":"x","rule":{"type":"threshold","metric":{"series":"sessions"}}}`, 400, []string{"op"}},
		{"create rule", "POST", "/api/alerts", "k", rule, 201, []string{`"type":"anomaly"`, `"id":1`, `"state":{"status":"idle","firing":[]}`}},
		{"list rules", "GET", "/api/projects/1/alerts", "k", "", 200, []string{"Cart frustration", `"status":"idle"`}},
		{"send test", "POST", "/api/alerts/1/test", "k", "", 200, []string{`"kind":"test"`, `"status":"sent"`}},
		{"test unknown rule", "POST", "/api/alerts/99/test", "k", "", 404, nil},
		// The run scans the SDK's $release events first, so the incident
		// links to the release that caused it.
		{"run monitor", "POST", "/api/anomalies/run", "k", "", 200, []string{"Frustrated sessions on /cart", `"version":"` + synth.ReleaseVersion + `"`}},
		{"anomalies", "GET", "/api/anomalies?from=2026-01-12", "k", "", 200, []string{`"key":"frustration:page:/cart"`, `"replays":[{`,
			`"id":"frustration:page:/cart@`, `"severity":"`}},
		{"feed", "GET", "/api/feed?limit=5", "k", "", 200, []string{`"kind":"anomaly"`, `"segment":{`, `"chart":[{`, `"severity":"`, `"id":"`}},
		{"bad limit", "GET", "/api/feed?limit=0", "k", "", 400, []string{"limit"}},
		{"no clustering yet", "GET", "/api/clusters/latest", "k", "", 404, nil},
		{"cluster on demand", "POST", "/api/clusters", "k", `{"from":"2026-01-05","to":"2026-01-12","conversion":"purchase"}`, 200, []string{`"clusters":[{`, `"description":`, `"representatives":[{`}},
		{"cluster a filtered set", "POST", "/api/clusters", "k", `{"from":"2026-01-05","to":"2026-01-12","conditions":[{"column":"path","op":"eq","value":"/cart"}]}`, 200, []string{`"clusters":[{`}},
		{"cluster bad condition", "POST", "/api/clusters", "k", `{"conditions":[{"column":"password","op":"eq","value":"x"}]}`, 400, []string{"unknown column"}},
		{"latest clustering", "GET", "/api/clusters/latest", "k", "", 200, []string{`"k":`, `"run_id":2`}},
		{"cluster runs", "GET", "/api/clusters/runs", "k", "", 200, []string{`"runs":[{"run_id":2,`, `{"run_id":1,`}},
		{"cluster run", "GET", "/api/clusters/1", "k", "", 200, []string{`"run_id":1`, `"clusters":[{`}},
		{"cluster run of another project", "GET", "/api/clusters/1", "o", "", 404, nil},
		{"unknown cluster run", "GET", "/api/clusters/99", "k", "", 404, nil},
		{"cluster sessions", "GET", "/api/clusters/1/0/sessions?limit=2", "k", "", 200, []string{`"total":`, `"sessions":[{"session_id":`}},
		{"cluster sessions of another project", "GET", "/api/clusters/1/0/sessions", "o", "", 404, nil},
		{"unknown cluster", "GET", "/api/clusters/1/99/sessions", "k", "", 404, nil},
		{"bad cluster", "GET", "/api/clusters/1/x/sessions", "k", "", 400, []string{"cluster"}},
		{"bad page size", "GET", "/api/clusters/1/0/sessions?limit=1000", "k", "", 400, []string{"limit"}},
		{"cluster with path bigrams", "POST", "/api/clusters", "k", `{"from":"2026-01-05","to":"2026-01-12","weights":{"paths":0.3}}`, 200, []string{`"clusters":[{`, `"explained":{`}},
		{"cluster bad weight", "POST", "/api/clusters", "k", `{"weights":{"colour":1}}`, 400, []string{"weights"}},
		{"history", "GET", "/api/alerts/1/history", "k", "", 200, []string{`"kind":"test"`}},
		// The cart's frustration is anomalous now: the rule fires, once.
		{"evaluate rules", "POST", "/api/alerts/evaluate", "k", "", 200, []string{`"kind":"firing"`, `"key":"frustration:page:/cart"`, `"status":"pending"`}},
		{"evaluate rules again", "POST", "/api/alerts/evaluate", "k", "", 200, []string{`{"events":[]}`}},
		{"firing rule", "GET", "/api/alerts/1", "k", "", 200, []string{`"status":"firing"`, `"firing":[{"rule_id":1,"key":"frustration:page:/cart"`}},
		{"evaluate without a key", "POST", "/api/alerts/evaluate", "", "", 401, nil},
		{"delete rule", "DELETE", "/api/alerts/1", "k", "", 204, nil},
		{"deleted rule", "GET", "/api/alerts/1", "k", "", 404, nil},
		// Its history and state go with it: ids are reused.
		{"deleted rule's history", "GET", "/api/alerts/history", "k", "", 200, []string{`{"events":[]}`}},
	}
	for _, sc := range scenarios {
		key := map[string]string{"k": s.key, "o": s.otherKey}[sc.key]
		status, body := s.do(t, sc.method, sc.path, key, sc.body)
		if status != sc.status {
			t.Errorf("%s: %s %s = %d, want %d: %s", sc.name, sc.method, sc.path, status, sc.status, trim(body))
			continue
		}
		for _, c := range sc.contains {
			if !strings.Contains(body, c) {
				t.Errorf("%s: body lacks %q: %s", sc.name, c, trim(body))
			}
		}
	}
	t.Run("cluster sessions", func(t *testing.T) { checkClusterSessions(t, s) })
	t.Run("alert states", func(t *testing.T) { checkAlertStates(t, s) })
	t.Run("anomaly status", func(t *testing.T) { checkAnomalyStatus(t, s) })
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	if len(s.hooks.texts) != 1 || !strings.Contains(s.hooks.texts[0], "Test of *Cart frustration*") {
		t.Errorf("webhook receiver got %q", s.hooks.texts)
	}
}

func trim(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}

func (s *insightServer) getJSON(t *testing.T, path string, out any) {
	t.Helper()
	status, body := s.do(t, "GET", path, s.key, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s = %d: %s", path, status, trim(body))
	}
	if err := json.Unmarshal([]byte(body), out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// checkClusterSessions checks the sessions listed for each cluster of a
// stored run against the run itself: every session in exactly one
// cluster, each cluster's list as long as the cluster, its representatives
// first, and summaries that agree with them.
func checkClusterSessions(t *testing.T, s *insightServer) {
	var run insight.ClusterResult
	s.getJSON(t, "/api/clusters/1", &run)
	if run.RunID != 1 || len(run.Clusters) < 2 {
		t.Fatalf("run 1: id %d, %d clusters", run.RunID, len(run.Clusters))
	}
	seen := map[string]int{}
	total := 0
	for _, c := range run.Clusters {
		var all []insight.SessionSummary
		for offset := 0; ; offset += insight.MaxClusterSessionsPage {
			var page insight.ClusterSessionsPage
			s.getJSON(t, fmt.Sprintf("/api/clusters/1/%d/sessions?offset=%d&limit=%d", c.ID, offset, insight.MaxClusterSessionsPage), &page)
			if page.Total != c.Size || page.Offset != offset {
				t.Fatalf("cluster %d page at %d: total %d offset %d, want %d and %d", c.ID, offset, page.Total, page.Offset, c.Size, offset)
			}
			all = append(all, page.Sessions...)
			if len(page.Sessions) == 0 || offset+len(page.Sessions) >= page.Total {
				break
			}
		}
		if len(all) != c.Size {
			t.Errorf("cluster %d lists %d sessions, its size is %d", c.ID, len(all), c.Size)
		}
		total += len(all)
		for i, rep := range c.Representatives {
			got := all[i]
			if got.SessionID != rep.SessionID || !got.Start.Equal(rep.Start) || got.DurationSeconds != rep.DurationSeconds || got.DistinctID != rep.DistinctID {
				t.Errorf("cluster %d session %d is %+v, want representative %+v", c.ID, i, got, rep)
			}
		}
		for _, ss := range all {
			seen[ss.SessionID]++
			if ss.Events < 1 || ss.Start.Before(run.From) || !ss.Start.Before(run.To) {
				t.Errorf("cluster %d: implausible summary %+v (run %v to %v)", c.ID, ss, run.From, run.To)
				break
			}
		}
	}
	if total != run.Sessions || len(seen) != run.Sessions {
		t.Errorf("clusters list %d sessions (%d distinct), the run has %d", total, len(seen), run.Sessions)
	}
	var past insight.ClusterSessionsPage
	s.getJSON(t, fmt.Sprintf("/api/clusters/1/0/sessions?offset=%d", run.Clusters[0].Size), &past)
	if len(past.Sessions) != 0 || past.Total != run.Clusters[0].Size {
		t.Errorf("a page past the end: %+v", past)
	}
}

// checkAlertStates follows a rule through firing, resolved and disabled.
func checkAlertStates(t *testing.T, s *insightServer) {
	ctx := context.Background()
	type state struct {
		Status string    `json:"status"`
		Since  time.Time `json:"since"`
		Firing []struct {
			Key   string  `json:"key"`
			Value float64 `json:"value"`
		} `json:"firing"`
	}
	type alert struct {
		ID    int64 `json:"id"`
		State state `json:"state"`
	}
	def := func(value float64, disabled bool) string {
		return fmt.Sprintf(`{"name":"Busy hour","rule":{"type":"threshold","metric":{"series":"sessions"},"op":"above","value":%g,"disabled":%t,"channels":[]}}`, value, disabled)
	}
	status, body := s.do(t, "POST", "/api/alerts", s.key, def(0, false))
	var a alert
	if status != http.StatusCreated || json.Unmarshal([]byte(body), &a) != nil {
		t.Fatalf("create rule: %d %s", status, trim(body))
	}
	path := fmt.Sprintf("/api/alerts/%d", a.ID)
	steps := []struct {
		name   string
		def    string
		want   string
		firing int
	}{
		{"fires", "", "firing", 1},
		{"resolves", def(1e9, false), "resolved", 0},
		{"fires again", def(0, false), "firing", 1},
		{"paused", def(0, true), "disabled", 1},
	}
	for _, st := range steps {
		if st.def != "" {
			if status, body := s.do(t, "PUT", path, s.key, st.def); status != http.StatusOK {
				t.Fatalf("%s: update: %d %s", st.name, status, trim(body))
			}
		}
		if _, err := s.svc.EvaluateAlerts(ctx, s.project); err != nil {
			t.Fatal(err)
		}
		var got alert
		s.getJSON(t, path, &got)
		if got.State.Status != st.want || len(got.State.Firing) != st.firing {
			t.Errorf("%s: state %+v, want %s with %d firing", st.name, got.State, st.want, st.firing)
		}
		if st.firing > 0 && (got.State.Firing[0].Key != "sessions" || got.State.Firing[0].Value <= 0 || got.State.Since.IsZero()) {
			t.Errorf("%s: firing %+v since %v", st.name, got.State.Firing, got.State.Since)
		}
	}
	var list struct {
		Alerts []alert `json:"alerts"`
	}
	s.getJSON(t, "/api/alerts", &list)
	if len(list.Alerts) != 1 || list.Alerts[0].State.Status != "disabled" {
		t.Errorf("list: %+v", list.Alerts)
	}
}

// checkAnomalyStatus acknowledges, dismisses and reopens the incident's
// anomaly: members and API keys may, viewers may not; the feed and the
// anomaly list hide it while dismissed unless asked for.
func checkAnomalyStatus(t *testing.T, s *insightServer) {
	var list struct {
		Anomalies []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"anomalies"`
	}
	s.getJSON(t, "/api/anomalies?from=2026-01-12", &list)
	var id string
	for _, a := range list.Anomalies {
		if strings.HasPrefix(a.ID, "frustration:page:/cart@") {
			id = a.ID
			if a.Status != "open" {
				t.Errorf("a new anomaly is %q, want open", a.Status)
			}
		}
	}
	if id == "" {
		t.Fatalf("no anomaly of /cart in %+v", list.Anomalies)
	}
	path := "/api/projects/" + strconv.FormatInt(s.project, 10) + "/anomalies/" + url.PathEscape(id) + "/status"
	idJSON := `"id":"` + id + `"`
	steps := []struct {
		name, who, method, path, body string
		status                        int
		contains, lacks               []string
	}{
		{"viewer refused", "viewer", "POST", path, `{"status":"dismissed"}`, 403, nil, nil},
		{"member acknowledges", "member", "POST", path, `{"status":"acknowledged"}`, 200,
			[]string{idJSON, `"status":"acknowledged"`, `"status_by":"member@example.com"`, `"status_at":"`, `"severity":"`}, nil},
		{"acknowledged in the feed", "k", "GET", "/api/feed", "", 200, []string{idJSON, `"status":"acknowledged"`}, nil},
		{"key dismisses", "k", "POST", path, `{"status":"dismissed"}`, 200, []string{`"status":"dismissed"`, `"status_by":"API key"`}, nil},
		{"dismissed leaves the feed", "k", "GET", "/api/feed", "", 200, nil, []string{idJSON}},
		{"dismissed leaves the list", "k", "GET", "/api/anomalies?from=2026-01-12", "", 200, nil, []string{idJSON}},
		{"dismissed on request", "k", "GET", "/api/feed?status=dismissed", "", 200, []string{idJSON, `"status":"dismissed"`}, []string{`"kind":"cluster"`}},
		{"every status", "viewer", "GET", "/api/projects/1/anomalies?from=2026-01-12&status=all", "", 200, []string{idJSON}, nil},
		{"unknown status filter", "k", "GET", "/api/feed?status=closed", "", 400, []string{"status"}, nil},
		{"unknown status", "member", "POST", path, `{"status":"closed"}`, 400, []string{"status"}, nil},
		{"not an id", "member", "POST", "/api/projects/1/anomalies/nope/status", `{"status":"open"}`, 400, []string{"id"}, nil},
		{"unknown anomaly", "member", "POST", "/api/projects/1/anomalies/sessions@1/status", `{"status":"open"}`, 404, nil, nil},
		{"another project's key", "o", "POST", path, `{"status":"open"}`, 404, nil, nil},
		{"member reopens", "member", "POST", path, `{"status":"open"}`, 200, []string{`"status":"open"`}, []string{`"status_by"`}},
		{"open again in the feed", "k", "GET", "/api/feed", "", 200, []string{idJSON}, nil},
	}
	for _, st := range steps {
		key := map[string]string{"k": s.key, "o": s.otherKey}[st.who]
		if key == "" {
			key = st.who
		}
		status, body := s.do(t, st.method, st.path, key, st.body)
		if status != st.status {
			t.Errorf("%s: %s %s = %d, want %d: %s", st.name, st.method, st.path, status, st.status, trim(body))
			continue
		}
		for _, c := range st.contains {
			if !strings.Contains(body, c) {
				t.Errorf("%s: body lacks %q: %s", st.name, c, trim(body))
			}
		}
		for _, c := range st.lacks {
			if strings.Contains(body, c) {
				t.Errorf("%s: body has %q: %s", st.name, c, trim(body))
			}
		}
	}
}
