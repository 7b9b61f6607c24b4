package sightline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline"
)

func startApp(t *testing.T) *sightline.App {
	t.Helper()
	app, err := sightline.New(sightline.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AdminKey: "admin-secret"})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return app
}

type call struct {
	method, path, auth, body string
}

func (c call) do(t *testing.T, app *sightline.App) (int, string) {
	t.Helper()
	req, err := http.NewRequest(c.method, app.URL()+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", "Bearer "+c.auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAppEndToEnd(t *testing.T) {
	app := startApp(t)
	status, body := call{"GET", "/api/health", "", ""}.do(t, app)
	if status != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Fatalf("health: %d %s", status, body)
	}

	// Projects need the admin key.
	if status, _ := (call{"POST", "/api/projects", "", `{"name":"Shop"}`}).do(t, app); status != 401 {
		t.Fatalf("create project without admin key: %d, want 401", status)
	}
	if status, _ := (call{"POST", "/api/projects", "wrong", `{"name":"Shop"}`}).do(t, app); status != 401 {
		t.Fatalf("create project with a wrong key: %d, want 401", status)
	}
	status, body = call{"POST", "/api/projects", "admin-secret", `{"name":"Shop"}`}.do(t, app)
	if status != 201 {
		t.Fatalf("create project: %d %s", status, body)
	}
	var p struct {
		ID     int64  `json:"id"`
		Token  string `json:"token"`
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil || p.Token == "" || p.APIKey == "" || p.ID == 0 {
		t.Fatalf("create project answer %s (%v)", body, err)
	}

	// The SDK's settings are public by token.
	status, body = call{"GET", "/api/sdk/config?token=" + p.Token, "", ""}.do(t, app)
	if status != 200 || !strings.Contains(body, `"masking":"balanced"`) || !strings.Contains(body, `"replay"`) {
		t.Fatalf("sdk config: %d %s", status, body)
	}
	if status, _ := (call{"GET", "/api/sdk/config?token=slp_unknown", "", ""}).do(t, app); status != 401 {
		t.Fatalf("sdk config for an unknown token: %d", status)
	}

	// Capture, then find the events in the store.
	now := time.Now()
	var evs []string
	for i := range 25 {
		evs = append(evs, fmt.Sprintf(`{"uuid":"0193a1b2-c3d4-7e5f-8a6b-%012d","event":"$pageview","distinct_id":"v1","timestamp":%d,"url":"https://shop.example/p/%d"}`,
			i, now.Add(-time.Duration(i)*time.Second).UnixMilli(), i))
	}
	batch := fmt.Sprintf(`{"token":%q,"events":[%s]}`, p.Token, strings.Join(evs, ","))
	status, body = call{"POST", "/api/capture", "", batch}.do(t, app)
	if status != 200 || !strings.Contains(body, `"accepted":25`) {
		t.Fatalf("capture: %d %s", status, body)
	}
	// A retry of the same batch (the client never saw the answer) is
	// accepted and stored once.
	if status, body := (call{"POST", "/api/capture", "", batch}).do(t, app); status != 200 {
		t.Fatalf("capture retry: %d %s", status, body)
	}
	ctx := context.Background()
	if err := app.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	n, err := app.Store().Count(ctx, p.ID)
	if err != nil || n != 25 {
		t.Fatalf("stored %d events (%v), want 25", n, err)
	}

	// Metrics cover capture, the spool and HTTP routes.
	status, body = call{"GET", "/metrics", "", ""}.do(t, app)
	if status != 200 {
		t.Fatalf("metrics: %d", status)
	}
	for _, want := range []string{
		"sightline_capture_events_accepted_total 50",
		"sightline_spool_bytes",
		"sightline_writer_events_total",
		`sightline_http_request_duration_seconds_count{code="200",route="/api/capture"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestCloseDrains: events acknowledged right before Close are in the store
// once the app is reopened.
func TestCloseDrains(t *testing.T) {
	dir := t.TempDir()
	app, err := sightline.New(sightline.Config{Addr: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, _, err := app.CreateProject(ctx, "drain")
	if err != nil {
		t.Fatal(err)
	}
	ev := fmt.Sprintf(`{"token":%q,"events":[{"uuid":"0193a1b2-c3d4-7e5f-8a6b-000000000001","event":"signup","distinct_id":"v","timestamp":%d}]}`,
		p.Token, time.Now().UnixMilli())
	resp, err := http.Post(app.URL()+"/api/capture", "application/json", bytes.NewBufferString(ev))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("capture: %v %v", err, resp)
	}
	resp.Body.Close()
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if n := storedAfterRestart(t, dir, p.ID); n != 1 {
		t.Fatalf("after a graceful stop the store has %d events, want 1", n)
	}
}

// storedAfterRestart opens the data directory of a closed app again and
// counts the project's stored events.
func storedAfterRestart(t *testing.T, dir string, project int64) int64 {
	t.Helper()
	app, err := sightline.New(sightline.Config{Addr: "127.0.0.1:0", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	n, err := app.Store().Count(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A held writer stores nothing until it is released, while capture goes on
// acknowledging; a writer still held when the app closes drains the spool.
func TestHoldWriter(t *testing.T) {
	ctx := context.Background()
	for _, release := range []bool{true, false} {
		t.Run(fmt.Sprintf("release=%v", release), func(t *testing.T) {
			dir := t.TempDir()
			app, err := sightline.New(sightline.Config{Addr: "127.0.0.1:0", DataDir: dir, HoldWriter: true})
			if err != nil {
				t.Fatal(err)
			}
			defer app.Close()
			if err := app.Start(ctx); err != nil {
				t.Fatal(err)
			}
			p, _, err := app.CreateProject(ctx, "held")
			if err != nil {
				t.Fatal(err)
			}
			const n = 3
			for i := range n {
				ev := fmt.Sprintf(`{"token":%q,"events":[{"uuid":"0193a1b2-c3d4-7e5f-8a6b-00000000000%d","event":"signup","distinct_id":"v","timestamp":%d}]}`,
					p.Token, i, time.Now().UnixMilli())
				resp, err := http.Post(app.URL()+"/api/capture", "application/json", bytes.NewBufferString(ev))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("capture while the writer is held: %s", resp.Status)
				}
			}
			short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			err = app.Flush(short)
			cancel()
			if err == nil {
				t.Fatal("Flush returned while the writer was held")
			}
			if got, err := app.Store().Count(ctx, p.ID); err != nil || got != 0 {
				t.Fatalf("held writer: the store has %d events (%v), want 0", got, err)
			}
			if release {
				app.ReleaseWriter()
				app.ReleaseWriter() // a second call does nothing
				if err := app.Flush(ctx); err != nil {
					t.Fatal(err)
				}
				if got, err := app.Store().Count(ctx, p.ID); err != nil || got != n {
					t.Fatalf("released writer: the store has %d events (%v), want %d", got, err, n)
				}
			}
			if err := app.Close(); err != nil {
				t.Fatal(err)
			}
			if got := storedAfterRestart(t, dir, p.ID); got != n {
				t.Fatalf("after close the store has %d events, want %d", got, n)
			}
		})
	}
}
