package sdk_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/replay"
	"github.com/sightline-analytics/sightline/store"
)

// rrEvent is an rrweb event as far as these tests read it.
type rrEvent struct {
	Type      int             `json:"type"`
	Timestamp int64           `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

type rrData struct {
	Source *int            `json:"source"`
	Type   *int            `json:"type"`
	ID     int             `json:"id"`
	Text   string          `json:"text"`
	Tag    string          `json:"tag"`
	Href   string          `json:"href"`
	Node   json.RawMessage `json:"node"`
}

// nodeID finds the rrweb id of the element with the given id attribute in a
// serialized snapshot tree.
func nodeID(tree json.RawMessage, id string) int {
	var n struct {
		ID         int               `json:"id"`
		Attributes map[string]any    `json:"attributes"`
		ChildNodes []json.RawMessage `json:"childNodes"`
	}
	if json.Unmarshal(tree, &n) != nil {
		return 0
	}
	if n.Attributes["id"] == id {
		return n.ID
	}
	for _, c := range n.ChildNodes {
		if got := nodeID(c, id); got != 0 {
			return got
		}
	}
	return 0
}

// TestBrowserReplay records a short journey and checks what the server
// stored: chunks that decode as rrweb events, starting with Meta and a full
// snapshot, and holding the journey's clicks, masked input and error; and
// the session's replay summary in the event store.
func TestBrowserReplay(t *testing.T) {
	ctx := browser(t)
	h := newHarness(t, nil)
	run(t, ctx,
		chromedp.Navigate(h.site.URL+"/shop/"),
		waitSDK(),
		chromedp.Poll[chromedp.Void](`performance.getEntriesByType('resource').some(e => e.name.endsWith('/sdk/recorder.js'))`,
			chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Sleep(300*time.Millisecond),
		click(150, 210), // add to cart
		chromedp.Sleep(200*time.Millisecond),
		typeInto(`#signup input[name=name]`, "Grace"),
		js(`document.activeElement.blur()`),
		click(500, 470), // pay: throws
		// Long enough for at least one timed (5 s) chunk before the beacon.
		chromedp.Sleep(5500*time.Millisecond),
		click(150, 210),
	)
	sessionID := eval[string](t, ctx, `sightline.getSessionId()`)
	run(t, ctx, chromedp.Navigate(h.site.URL+"/done.html"))

	// Wait for the beacon'd last chunk: three clicks in the stored chunks.
	var res struct {
		SessionID string `json:"session_id"`
		Windows   []struct {
			WindowID string    `json:"window_id"`
			Events   []rrEvent `json:"events"`
		} `json:"windows"`
		Summary struct {
			Clicks     int64 `json:"clicks"`
			Keypresses int64 `json:"keypresses"`
			Errors     int64 `json:"errors"`
			Chunks     int64 `json:"chunks"`
			Bytes      int64 `json:"bytes"`
			URL        string
		} `json:"summary"`
	}
	for range 120 {
		req, _ := http.NewRequest("GET", h.front.URL()+"/api/replay/"+sessionID, nil)
		req.Header.Set("Authorization", "Bearer "+h.apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(body, &res); err != nil {
				t.Fatalf("GET /api/replay: %v", err)
			}
			if res.Summary.Clicks >= 3 {
				break
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(res.Windows) != 1 {
		t.Fatalf("windows: %d, want 1", len(res.Windows))
	}
	evs := res.Windows[0].Events
	if len(evs) < 3 || evs[0].Type != 4 || evs[1].Type != 2 {
		t.Fatalf("replay does not begin with Meta and FullSnapshot: %d events, types %v", len(evs), types(evs, 5))
	}
	var meta, snap rrData
	json.Unmarshal(evs[0].Data, &meta)
	json.Unmarshal(evs[1].Data, &snap)
	if !strings.HasSuffix(meta.Href, "/shop/") {
		t.Errorf("Meta href %q", meta.Href)
	}
	addID, payID := nodeID(snap.Node, "add-to-cart"), nodeID(snap.Node, "pay")
	nameID := nodeID(snap.Node, "signup") // the form; the input is found below
	if addID == 0 || payID == 0 || nameID == 0 {
		t.Fatalf("snapshot lacks the shop's elements (add %d, pay %d, form %d)", addID, payID, nameID)
	}
	clicks := map[int]int{}
	var inputs []string
	errorsSeen := 0
	for i, e := range evs {
		if i > 0 && e.Timestamp < evs[i-1].Timestamp-1000 {
			t.Errorf("event %d goes back in time", i)
		}
		var d rrData
		json.Unmarshal(e.Data, &d)
		switch {
		case e.Type == 3 && d.Source != nil && *d.Source == 2 && d.Type != nil && *d.Type == 2:
			clicks[d.ID]++
		case e.Type == 3 && d.Source != nil && *d.Source == 5:
			inputs = append(inputs, d.Text)
		case e.Type == 5 && d.Tag == "$error":
			errorsSeen++
		}
	}
	if clicks[addID] != 2 || clicks[payID] != 1 {
		t.Errorf("recorded clicks by node %v; want 2 on add-to-cart (%d) and 1 on pay (%d)", clicks, addID, payID)
	}
	if len(inputs) == 0 {
		t.Error("no input events recorded")
	}
	for _, in := range inputs {
		if strings.Trim(in, "*") != "" {
			t.Errorf("input recorded unmasked: %q", in)
		}
	}
	if errorsSeen != 1 {
		t.Errorf("$error custom events: %d, want 1", errorsSeen)
	}
	if s := res.Summary; s.Clicks != 3 || s.Errors != 1 || s.Keypresses == 0 || s.Chunks < 2 || s.Bytes == 0 {
		t.Errorf("summary %+v", s)
	}

	// Every stored blob decodes as rrweb events.
	keys, err := h.blobs.List(context.Background(), "")
	if err != nil || len(keys) < 2 {
		t.Fatalf("stored chunks: %v, %v", keys, err)
	}
	for _, k := range keys {
		blob, err := h.blobs.Get(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(blob))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if _, err := replay.DecodeChunk(zr, nil); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}

	// The event store's replay index has the session. A chunk is indexed
	// just after it is stored, so the index may trail the blobs briefly.
	var sums []store.ReplaySummary
	for range 40 {
		if sums, err = h.app.Store().Replays(context.Background(), h.project.ID, sessionID); err != nil {
			t.Fatal(err)
		}
		if len(sums) == 1 && sums[0].Chunks == res.Summary.Chunks {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(sums) != 1 || sums[0].Clicks != 3 || sums[0].Errors != 1 || sums[0].Chunks != res.Summary.Chunks ||
		sums[0].DistinctID == "" || !strings.HasSuffix(sums[0].URL, "/shop/") {
		t.Errorf("replay index: %+v", sums)
	}
}

func types(evs []rrEvent, n int) []int {
	var out []int
	for i := 0; i < len(evs) && i < n; i++ {
		out = append(out, evs[i].Type)
	}
	return out
}

// TestReplayReadAuth reads a stored recording through the app's
// GET /api/replay/{session_id} with every kind of credential the read API
// accepts, and checks the refusals: no or unknown credentials 401, another
// project's key or member 404 (project ids are not confirmed to
// outsiders), the admin key without a project 400.
func TestReplayReadAuth(t *testing.T) {
	h := newHarness(t, func(s *meta.ProjectSettings) { s.ReplayEnabled = true })
	ctx := context.Background()
	other, otherKey, err := h.app.CreateProject(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	chunk := `[{"type":4,"data":{"href":"https://shop.test/","width":800,"height":600},"timestamp":1767225600000},` +
		`{"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[]},"initialOffset":{"left":0,"top":0}},"timestamp":1767225600001}]`
	resp, err := http.Post(h.front.URL()+"/api/replay?token="+h.project.Token+"&session_id=S1&window_id=W1&seq=0",
		"text/plain", strings.NewReader(chunk))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	// A viewer of the project, and a member of the other project only.
	session := func(email string, project int64) string {
		u, err := h.app.Meta().CreateUser(ctx, meta.NewUser{Email: email, Password: "correct horse"})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.app.Meta().SetMembership(ctx, project, u.ID, meta.RoleViewer); err != nil {
			t.Fatal(err)
		}
		tok, _, err := h.app.Meta().CreateSession(ctx, u.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	viewer, outsider := session("viewer@shop.test", h.project.ID), session("outsider@shop.test", other.ID)
	pid := fmt.Sprint(h.project.ID)

	tests := []struct {
		name, query, bearer, cookie string
		status                      int
		body                        string
	}{
		{"project API key", "", h.apiKey, "", 200, `"window_id":"W1"`},
		{"project API key naming its project", "?project_id=" + pid, h.apiKey, "", 200, `"window_id":"W1"`},
		{"admin key with the project", "?project_id=" + pid, "test-admin", "", 200, `"window_id":"W1"`},
		{"viewer's login session", "?project_id=" + pid, "", viewer, 200, `"window_id":"W1"`},
		{"HEAD with the API key", "", h.apiKey, "", 200, ""},
		{"no credentials", "", "", "", 401, "log in"},
		{"unknown key", "", "sls_nope", "", 401, "invalid"},
		{"wrong admin key", "?project_id=" + pid, "test-admin-2", "", 401, "invalid"},
		{"expired or unknown login", "?project_id=" + pid, "", "not-a-session", 401, "expired"},
		{"other project's key, this project", "?project_id=" + pid, otherKey, "", 404, "project not found"},
		{"other project's key, its own project", "", otherKey, "", 404, "no replay"},
		{"outsider's login session", "?project_id=" + pid, "", outsider, 404, "project not found"},
		{"admin key without a project", "", "test-admin", "", 400, "project_id"},
		{"admin key, no such project", "?project_id=999999", "test-admin", "", 404, "project not found"},
		{"login session without a project", "", "", viewer, 400, "project_id"},
		{"bad project id", "?project_id=x", h.apiKey, "", 400, "project_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := "GET"
			if strings.HasPrefix(tc.name, "HEAD") {
				method = "HEAD"
			}
			req, _ := http.NewRequest(method, h.front.URL()+"/api/replay/S1"+tc.query, nil)
			if tc.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tc.bearer)
			}
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: "sl_session", Value: tc.cookie})
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
				t.Errorf("%d %s, want %d with %q", resp.StatusCode, body, tc.status, tc.body)
			}
		})
	}
}
