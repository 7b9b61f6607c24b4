package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/api"
	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store"
)

const hostile = `x'); DROP TABLE events; --`

// appendEvents stores hand-made events in the app's project.
func (a *testApp) appendEvents(t *testing.T, evs ...event.Event) {
	t.Helper()
	for i := range evs {
		evs[i].ProjectID = a.project
		if evs[i].UUID == "" {
			evs[i].UUID = fmt.Sprintf("00000000-0000-7000-8000-%012d", time.Now().UnixNano()%1e12+int64(i))
		}
		if evs[i].ReceivedAt.IsZero() {
			evs[i].ReceivedAt = evs[i].Timestamp
		}
		if evs[i].Properties == nil {
			evs[i].Properties = json.RawMessage(`{}`)
		}
		// Stored properties are compact, as event.Normalize writes them.
		var buf bytes.Buffer
		if err := json.Compact(&buf, evs[i].Properties); err != nil {
			t.Fatal(err)
		}
		evs[i].Properties = buf.Bytes()
	}
	if err := a.app.Store().Append(context.Background(), evs, store.Checkpoint{Spool: "test"}); err != nil {
		t.Fatal(err)
	}
}

func (a *testApp) count(t *testing.T) int64 {
	n, err := a.app.Store().Count(context.Background(), a.project)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func day(h int) time.Time { return time.Date(2026, 1, 10, h, 0, 0, 0, time.UTC) }

func trendsTotal(t *testing.T, body []byte) float64 {
	t.Helper()
	var res struct {
		Series []struct {
			Total float64 `json:"total"`
		} `json:"series"`
	}
	if err := json.Unmarshal(body, &res); err != nil || len(res.Series) == 0 {
		t.Fatalf("not a trends answer: %s", body)
	}
	return res.Series[0].Total
}

func seedHostile(t *testing.T, a *testApp) {
	a.appendEvents(t,
		event.Event{Event: "$pageview", DistinctID: "alice", SessionID: "s1", Timestamp: day(10), Path: "/o'brien", URL: "https://x.test/o'brien",
			Properties: json.RawMessage(`{"note": "x'); DROP TABLE events; --", "$set": {"plan": "pro'--"}}`)},
		event.Event{Event: "$click", DistinctID: "alice", SessionID: "s1", Timestamp: day(11), Selector: "button.buy",
			ElementsChain: event.ChainString([]event.Element{{Tag: "button", Classes: []string{"buy"}, Text: `it's "free"`}, {Tag: "div", Classes: []string{"card"}}})},
		event.Event{Event: "$pageview", DistinctID: "bob", SessionID: "s2", Timestamp: day(12), Path: "/"},
	)
}

// TestQueryInjection sends hostile values and names through the API: values
// must come back as data (bound parameters), names must be refused (400
// with the field), and the store must be intact afterwards.
func TestQueryInjection(t *testing.T) {
	a := startApp(t)
	seedHostile(t, a)
	before := a.count(t)
	rng := `"date_from": "2026-01-10", "date_to": "2026-01-10", "timezone": "UTC"`
	badCursor := base64.RawURLEncoding.EncodeToString([]byte(`{"o":"start","t":"2026-01-01' OR 1=1 --","id":"s1"}`))
	oddCursor := base64.RawURLEncoding.EncodeToString([]byte(`{"o":"duration","n":1e9,"id":"' OR 1=1 --"}`))
	tests := []struct {
		name   string
		body   string
		status int
		field  string
		total  float64 // for 200 trends answers: the expected total (-1: not checked)
	}{
		{"value equal to a hostile property", `{"kind": "trends", ` + rng + `, "series": [{"event": "$pageview", "where": [{"prop": "note", "op": "eq", "value": "x'); DROP TABLE events; --"}]}]}`, 200, "", 1},
		{"hostile value contains", `{"kind": "trends", ` + rng + `, "series": [{"event": "$pageview"}], "filters": [{"prop": "note", "op": "contains", "value": "'); drop"}]}`, 200, "", 1},
		{"hostile path value", `{"kind": "trends", ` + rng + `, "series": [{"event": "$pageview"}], "filters": [{"prop": "path", "op": "eq", "value": "/o'brien"}]}`, 200, "", 1},
		{"hostile event name", `{"kind": "trends", ` + rng + `, "series": [{"event": "$pageview' OR '1'='1"}]}`, 200, "", 0},
		{"hostile list", `{"kind": "trends", ` + rng + `, "series": [{"event": "$pageview"}], "filters": [{"prop": "path", "op": "neq", "value": ["') OR 1=1 --", "/"]}]}`, 200, "", 1},
		{"hostile regex value", `{"kind": "trends", ` + rng + `, "series": [{"event": "$pageview"}], "filters": [{"prop": "path", "op": "regex", "value": "'.*"}]}`, 200, "", 1},
		{"hostile person value", `{"kind": "trends", ` + rng + `, "series": [{"event": "$pageview"}], "filters": [{"type": "person", "prop": "plan", "op": "eq", "value": "pro'--"}]}`, 200, "", 1},
		{"hostile element text", `{"kind": "trends", ` + rng + `, "series": [{"event": "$click", "where": [{"type": "element", "prop": "text", "op": "eq", "value": "it's \"free\""}]}]}`, 200, "", 1},
		{"hostile selector", `{"kind": "trends", ` + rng + `, "series": [{"event": "$click", "where": [{"type": "element", "prop": "selector", "op": "eq", "value": "a[href=\"x'); DROP TABLE events; --\"]"}]}]}`, 200, "", 0},
		{"hostile property name", `{"kind": "trends", "series": [{"event": "$pageview"}], "filters": [{"prop": "` + hostile + `", "op": "eq", "value": 1}]}`, 400, "filters[0].prop", -1},
		{"double quote in name", `{"kind": "trends", "series": [{"event": "$pageview", "where": [{"prop": "a\"]') --", "op": "is_set"}]}]}`, 400, "series[0].where[0].prop", -1},
		{"hostile breakdown", `{"kind": "trends", "series": [{"event": "$pageview"}], "breakdown": {"prop": "') OR 1=1 --"}}`, 400, "breakdown.prop", -1},
		{"hostile math property", `{"kind": "trends", "series": [{"event": "$pageview", "math": "sum", "property": "a'); --"}]}`, 400, "series[0].property", -1},
		{"hostile person property", `{"kind": "trends", "series": [{"event": "$pageview"}], "filters": [{"type": "person", "prop": "p\\'--", "op": "is_set"}]}`, 400, "filters[0].prop", -1},
		{"hostile timezone", `{"kind": "trends", "timezone": "UTC'); DROP TABLE events; --", "series": [{"event": "$pageview"}]}`, 400, "timezone", -1},
		{"hostile interval", `{"kind": "trends", "interval": "day'); DROP TABLE events; --", "series": [{"event": "$pageview"}]}`, 400, "interval", -1},
		{"hostile date", `{"kind": "trends", "date_from": "2026-01-01'); --", "series": [{"event": "$pageview"}]}`, 400, "date_from", -1},
		{"hostile session prop", `{"kind": "trends", "series": [{"event": "$pageview"}], "filters": [{"type": "session", "prop": "duration); --", "op": "gt", "value": 1}]}`, 400, "filters[0].prop", -1},
		{"hostile cursor", `{"kind": "sessions", "cursor": "` + badCursor + `"}`, 400, "cursor", -1},
		{"cursor with a hostile id", `{"kind": "sessions", ` + rng + `, "order_by": "duration", "cursor": "` + oddCursor + `"}`, 200, "", -1},
		{"hostile heatmap url", `{"kind": "heatmap", ` + rng + `, "url": "/x' OR '1'='1"}`, 200, "", -1},
		{"hostile path points", `{"kind": "paths", ` + rng + `, "start_point": "/o'brien", "exclude": ["'); DROP TABLE events; --"]}`, 200, "", -1},
		{"hostile funnel", `{"kind": "funnel", ` + rng + `, "steps": [{"event": "$pageview"}, {"event": "` + hostile + `"}], "breakdown": {"prop": "path"}}`, 200, "", -1},
		{"hostile order", `{"kind": "sessions", "order_by": "start; DROP TABLE events"}`, 400, "order_by", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := a.do(t, "POST", "/api/query", a.key, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			if tt.status == 400 {
				var e api.Error
				json.Unmarshal(body, &e)
				if e.Field != tt.field {
					t.Errorf("field %q, want %q (%s)", e.Field, tt.field, e.Error)
				}
			}
			if tt.status == 200 && tt.total >= 0 {
				if got := trendsTotal(t, body); got != tt.total {
					t.Errorf("total %v, want %v", got, tt.total)
				}
			}
		})
	}
	// A hostile action definition is stored as data and used as data.
	status, body := a.do(t, "POST", "/api/actions", a.key,
		`{"name": "x'); DROP TABLE actions; --", "definition": {"steps": [{"event": "$click", "text": "it's \"free\"", "url": "'); --"}, {"event": "$pageview", "url": "/o'brien", "url_match": "exact"}]}}`)
	if status != http.StatusCreated {
		t.Fatalf("create action: %d %s", status, body)
	}
	var act struct{ ID int64 }
	json.Unmarshal(body, &act)
	status, body = a.do(t, "POST", "/api/query", a.key, fmt.Sprintf(`{"kind": "trends", %s, "series": [{"action": %d}]}`, rng, act.ID))
	if status != 200 || trendsTotal(t, body) != 1 {
		t.Fatalf("query with the action: %d %s", status, body)
	}
	if after := a.count(t); after != before {
		t.Fatalf("events: %d before, %d after", before, after)
	}
	status, body = a.do(t, "POST", "/api/query", a.key, `{"kind": "trends", `+rng+`, "series": [{"event": "$pageview", "math": "persons"}]}`)
	if status != 200 || trendsTotal(t, body) != 2 {
		t.Fatalf("store not intact: %d %s", status, body)
	}
}

// TestQueryAPI covers authentication, project isolation, the cache's
// invalidation by new events, and CRUD of actions and segments.
func TestQueryAPI(t *testing.T) {
	a := startApp(t)
	seedHostile(t, a)
	q := `{"kind": "trends", "date_from": "2026-01-10", "date_to": "2026-01-10", "timezone": "UTC", "series": [{"event": "$pageview"}]}`

	if status, _ := a.do(t, "POST", "/api/query", "", q); status != 401 {
		t.Errorf("no key: %d", status)
	}
	if status, _ := a.do(t, "POST", "/api/query", "sls_not-a-key", q); status != 401 {
		t.Errorf("bad key: %d", status)
	}
	if status, body := a.do(t, "POST", "/api/query", testAdminKey, q); status != 400 || !strings.Contains(string(body), "project_id") {
		t.Errorf("admin key without a project: %d %s", status, body)
	}
	withProject := strings.Replace(q, `{"kind"`, fmt.Sprintf(`{"project_id": %d, "kind"`, a.project), 1)
	if status, body := a.do(t, "POST", "/api/query", testAdminKey, withProject); status != 200 || trendsTotal(t, body) != 2 {
		t.Errorf("admin key with project_id: %d %s", status, body)
	}
	if status, _ := a.do(t, "POST", "/api/query?project_id=999", testAdminKey, q); status != 404 {
		t.Errorf("admin key, unknown project: %d", status)
	}
	// Another project's key sees none of this project's events.
	_, key2, err := a.app.CreateProject(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	if status, body := a.do(t, "POST", "/api/query", key2, q); status != 200 || trendsTotal(t, body) != 0 {
		t.Errorf("other project: %d %s", status, body)
	}
	if status, _ := a.do(t, "POST", fmt.Sprintf("/api/query?project_id=%d", a.project), key2, q); status != 404 {
		t.Errorf("other project's key naming this project: %d", status)
	}
	if status, body := a.do(t, "POST", fmt.Sprintf("/api/projects/%d/query", a.project), a.key, q); status != 200 || trendsTotal(t, body) != 2 {
		t.Errorf("project route: %d %s", status, body)
	}

	// Cached answers follow new data.
	_, body := a.do(t, "POST", "/api/query", a.key, q)
	_, again := a.do(t, "POST", "/api/query", a.key, q)
	if string(body) != string(again) {
		t.Errorf("repeated query differs:\n%s\n%s", body, again)
	}
	a.appendEvents(t, event.Event{Event: "$pageview", DistinctID: "carol", SessionID: "s9", Timestamp: day(13)})
	if _, body := a.do(t, "POST", "/api/query", a.key, q); trendsTotal(t, body) != 3 {
		t.Errorf("after a new event the answer is stale: %s", body)
	}

	// Actions: create, read, use, update (retroactive), delete.
	status, body := a.do(t, "POST", "/api/actions", a.key, `{"name": "Home", "definition": {"steps": [{"event": "$pageview", "url": "/", "url_match": "exact"}]}}`)
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	var obj struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	json.Unmarshal(body, &obj)
	byAction := fmt.Sprintf(`{"kind": "trends", "date_from": "2026-01-10", "date_to": "2026-01-10", "timezone": "UTC", "series": [{"action": %d}]}`, obj.ID)
	if _, body := a.do(t, "POST", "/api/query", a.key, byAction); trendsTotal(t, body) != 1 {
		t.Errorf("action query: %s", body)
	}
	status, body = a.do(t, "PUT", fmt.Sprintf("/api/actions/%d", obj.ID), a.key, `{"name": "Any page", "definition": {"steps": [{"event": "$pageview"}]}}`)
	if status != 200 {
		t.Fatalf("update: %d %s", status, body)
	}
	if _, body := a.do(t, "POST", "/api/query", a.key, byAction); trendsTotal(t, body) != 3 {
		t.Errorf("an updated action must apply to all history: %s", body)
	}
	if status, body := a.do(t, "GET", fmt.Sprintf("/api/projects/%d/actions/%d", a.project, obj.ID), testAdminKey, ""); status != 200 || !strings.Contains(string(body), "Any page") {
		t.Errorf("get as admin: %d %s", status, body)
	}
	if status, body := a.do(t, "GET", "/api/actions", key2, ""); status != 200 || strings.Contains(string(body), "Any page") {
		t.Errorf("another project lists this project's action: %d %s", status, body)
	}
	if status, _ := a.do(t, "GET", fmt.Sprintf("/api/actions/%d", obj.ID), key2, ""); status != 404 {
		t.Errorf("another project reads this project's action: %d", status)
	}
	for _, bad := range []struct{ body, field string }{
		{`{"name": "x", "definition": {"steps": []}}`, "definition.steps"},
		{`{"name": "x", "definition": {"steps": [{"selector": "a::before"}]}}`, "definition.steps[0].selector"},
		{`{"name": "x", "definition": {"steps": [{"event": "a", "where": [{"prop": "a'b", "op": "is_set"}]}]}}`, "definition.steps[0].where[0].prop"},
		{`{"name": "x", "definition": {"stepz": []}}`, "definition.stepz"},
		{`{"name": "x"}`, "definition"},
	} {
		status, body := a.do(t, "POST", "/api/actions", a.key, bad.body)
		var e api.Error
		json.Unmarshal(body, &e)
		if status != 400 || e.Field != bad.field {
			t.Errorf("%s: %d %s, want 400 at %s", bad.body, status, body, bad.field)
		}
	}
	if status, _ := a.do(t, "DELETE", fmt.Sprintf("/api/actions/%d", obj.ID), a.key, ""); status != 204 {
		t.Errorf("delete: %d", status)
	}
	if status, body := a.do(t, "POST", "/api/query", a.key, byAction); status != 400 || !strings.Contains(string(body), "series[0].action") {
		t.Errorf("query of a deleted action: %d %s", status, body)
	}

	// Segments.
	status, body = a.do(t, "POST", "/api/segments", a.key, `{"name": "Pro", "definition": {"conditions": [{"type": "person", "prop": "plan", "op": "eq", "value": "pro'--"}]}}`)
	if status != 201 {
		t.Fatalf("create segment: %d %s", status, body)
	}
	json.Unmarshal(body, &obj)
	seg := fmt.Sprintf(`{"kind": "trends", "date_from": "2026-01-10", "date_to": "2026-01-10", "timezone": "UTC", "series": [{"event": "$pageview"}], "filters": [{"type": "segment", "op": "in", "value": %d}]}`, obj.ID)
	if status, body := a.do(t, "POST", "/api/query", a.key, seg); status != 200 || trendsTotal(t, body) != 1 {
		t.Errorf("segment filter: %d %s", status, body)
	}
	status, body = a.do(t, "POST", "/api/segments", a.key, `{"name": "x", "definition": {"conditions": [{"type": "group", "conditions": [{"type": "performed", "action": 4242}]}]}}`)
	var e api.Error
	json.Unmarshal(body, &e)
	if status != 400 || e.Field != "definition.conditions[0].conditions[0].action" {
		t.Errorf("segment with an unknown action: %d %s", status, body)
	}
}

// TestQueryTimeout: a query that outlives the configured timeout answers
// 504 with a message saying so.
func TestQueryTimeout(t *testing.T) {
	t.Setenv(api.QueryTimeoutEnv, "1ns")
	a := startApp(t)
	seedHostile(t, a)
	status, body := a.do(t, "POST", "/api/query", a.key, `{"kind": "trends", "series": [{"event": "$pageview"}]}`)
	if status != http.StatusGatewayTimeout || !strings.Contains(string(body), "timed out") {
		t.Fatalf("status %d: %s", status, body)
	}
}
