package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/api"
	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/store/duckdb"
)

// TestRecentEvents drives GET /api/projects/{id}/events (the live view and
// a session's event list) against a real store: orders, polling, the event
// filter, identities, project isolation and bad parameters.
func TestRecentEvents(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	m, err := meta.Open(ctx, filepath.Join(t.TempDir(), "meta.db"), meta.WithBcryptCost(4), meta.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	a, keyA, err := m.CreateProject(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	b, keyB, err := m.CreateProject(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	db, err := duckdb.Open("", duckdb.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	ev := func(project int64, n int, name, distinct, session, props string) event.Event {
		ts := t0.Add(time.Duration(n) * time.Second)
		return event.Event{ProjectID: project, UUID: fmt.Sprintf("0193a1b2-c3d4-7e5f-8a6b-%012d", n), Event: name,
			DistinctID: distinct, SessionID: session, Timestamp: ts, ReceivedAt: ts.Add(time.Second),
			URL: "https://shop.example/p", Path: "/p", Properties: json.RawMessage(props)}
	}
	if err := db.Append(ctx, []event.Event{
		ev(a.ID, 1, "$pageview", "anon", "s1", `{}`),
		ev(a.ID, 2, "$click", "anon", "s1", `{"sku":"42"}`),
		ev(a.ID, 3, "$identify", "ann@example.com", "s1", `{"$anon_distinct_id":"anon"}`),
		ev(a.ID, 4, "$pageview", "bob", "s2", `{}`),
		ev(b.ID, 5, "$pageview", "eve", "s1", `{}`),
	}, store.Checkpoint{Spool: "t"}); err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Deps{Meta: m, Tokens: meta.NewCache(m, meta.CacheOptions{}), Events: db, Logger: quiet})
	mux := http.NewServeMux()
	srv.Register(mux)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)

	pathA := fmt.Sprintf("/api/projects/%d/events", a.ID)
	tests := []struct {
		name, key, url string
		status         int
		// want lists "event/distinct_id/person_id" of the events in order.
		want []string
		body string
	}{
		{"live view, newest first", keyA, pathA, 200,
			[]string{"$pageview/bob/bob", "$identify/ann@example.com/ann@example.com", "$click/anon/ann@example.com", "$pageview/anon/ann@example.com"}, ""},
		{"polling after the second arrival", keyA, pathA + "?after=2026-03-02T09:00:03Z", 200,
			[]string{"$pageview/bob/bob", "$identify/ann@example.com/ann@example.com"}, ""},
		{"limit", keyA, pathA + "?limit=1", 200, []string{"$pageview/bob/bob"}, ""},
		{"a session in event order", keyA, pathA + "?session_id=s1", 200,
			[]string{"$pageview/anon/ann@example.com", "$click/anon/ann@example.com", "$identify/ann@example.com/ann@example.com"}, `"properties":{"sku":"42"}`},
		{"a session's pageviews", keyA, pathA + "?session_id=s1&event=%24pageview", 200, []string{"$pageview/anon/ann@example.com"}, ""},
		{"another project's key", keyB, pathA, 404, nil, ""},
		{"project B sees its own only", keyB, fmt.Sprintf("/api/projects/%d/events?session_id=s1", b.ID), 200, []string{"$pageview/eve/eve"}, ""},
		{"bad limit", keyA, pathA + "?limit=0", 400, nil, `"field":"limit"`},
		{"limit over the cap", keyA, pathA + "?limit=5001", 400, nil, `"field":"limit"`},
		{"bad after", keyA, pathA + "?after=yesterday", 400, nil, `"field":"after"`},
		{"no key", "", pathA, 401, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", hs.URL+tt.url, nil)
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, raw)
			}
			if tt.body != "" && !strings.Contains(string(raw), tt.body) {
				t.Fatalf("body %s does not contain %s", raw, tt.body)
			}
			if tt.status != 200 {
				return
			}
			var out struct {
				Events []struct {
					Event      string    `json:"event"`
					DistinctID string    `json:"distinct_id"`
					PersonID   string    `json:"person_id"`
					Timestamp  time.Time `json:"timestamp"`
				} `json:"events"`
			}
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range out.Events {
				got = append(got, e.Event+"/"+e.DistinctID+"/"+e.PersonID)
				if e.Timestamp.Before(t0) {
					t.Errorf("event %s has timestamp %v", e.Event, e.Timestamp)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("events = %v, want %v", got, tt.want)
			}
		})
	}
}
