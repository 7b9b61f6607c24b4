package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
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
	return &insightServer{url: hs.URL, key: key, otherKey: otherKey, hookURL: recv.URL, project: p.ID, hooks: hooks}
}

func (s *insightServer) do(t *testing.T, method, path, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
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
		{"create rule", "POST", "/api/alerts", "k", rule, 201, []string{`"type":"anomaly"`, `"id":1`}},
		{"list rules", "GET", "/api/projects/1/alerts", "k", "", 200, []string{"Cart frustration"}},
		{"send test", "POST", "/api/alerts/1/test", "k", "", 200, []string{`"kind":"test"`, `"status":"sent"`}},
		{"test unknown rule", "POST", "/api/alerts/99/test", "k", "", 404, nil},
		{"run monitor", "POST", "/api/anomalies/run", "k", "", 200, []string{"Frustrated sessions on /cart"}},
		{"anomalies", "GET", "/api/anomalies?from=2026-01-12", "k", "", 200, []string{`"key":"frustration:page:/cart"`, `"replays":[{`}},
		{"feed", "GET", "/api/feed?limit=5", "k", "", 200, []string{`"kind":"anomaly"`, `"segment":{`, `"chart":[{`}},
		{"bad limit", "GET", "/api/feed?limit=0", "k", "", 400, []string{"limit"}},
		{"no clustering yet", "GET", "/api/clusters/latest", "k", "", 404, nil},
		{"cluster on demand", "POST", "/api/clusters", "k", `{"from":"2026-01-05","to":"2026-01-12","conversion":"purchase"}`, 200, []string{`"clusters":[{`, `"description":`, `"representatives":[{`}},
		{"cluster a filtered set", "POST", "/api/clusters", "k", `{"from":"2026-01-05","to":"2026-01-12","conditions":[{"column":"path","op":"eq","value":"/cart"}]}`, 200, []string{`"clusters":[{`}},
		{"cluster bad condition", "POST", "/api/clusters", "k", `{"conditions":[{"column":"password","op":"eq","value":"x"}]}`, 400, []string{"unknown column"}},
		{"latest clustering", "GET", "/api/clusters/latest", "k", "", 200, []string{`"k":`}},
		{"history", "GET", "/api/alerts/1/history", "k", "", 200, []string{`"kind":"test"`}},
		{"delete rule", "DELETE", "/api/alerts/1", "k", "", 204, nil},
		{"deleted rule", "GET", "/api/alerts/1", "k", "", 404, nil},
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
