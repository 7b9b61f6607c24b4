package sdk_test

// The harness for the browser tests: a real Sightline app, a "front" server
// on the SDK's host origin that records every request it forwards (and can
// go down and come back on the same port), a site server for the fixture
// pages on another origin, and headless Chromium driven through chromedp.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	sightline "github.com/sightline-analytics/sightline"
	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/replay"
	"github.com/sightline-analytics/sightline/sdk"
)

// browser starts a fresh headless Chromium (new profile) and returns a tab.
// A missing browser fails the test under CI=true and skips it elsewhere.
func browser(t testing.TB) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/chromium"); serr == nil {
			path = "/usr/bin/chromium"
		}
	}
	if path == "" {
		const msg = "chromium not found: the browser tests need Debian's chromium (apt-get install -y chromium)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING BROWSER TEST: " + msg)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	var mu sync.Mutex
	var logs []string
	chromedp.Listen(ctx, func(ev any) {
		var line string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			line = fmt.Sprintf("page exception: %s at %s:%d", d.Text, d.URL, d.LineNumber)
			if d.Exception != nil {
				line += " " + d.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value))
			}
			line = fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " "))
		default:
			return
		}
		mu.Lock()
		logs = append(logs, line)
		mu.Unlock()
	})
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			defer mu.Unlock()
			for _, l := range logs {
				t.Log(l)
			}
		}
	})
	return ctx
}

// request is one request the front server received, body decompressed.
type request struct {
	Method string
	Path   string
	Query  string
	Body   []byte
	Raw    int // body size as sent
}

// front serves the SDK's host origin: the app's whole HTTP surface
// (capture, replay, /sdk/, the API). It records each request, and can go
// down (connections refused) and come back on the same address.
type front struct {
	t       testing.TB
	handler http.Handler
	addr    string

	mu   sync.Mutex
	srv  *http.Server
	reqs []request
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	plain := body
	if len(body) > 2 && body[0] == 0x1f && body[1] == 0x8b {
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
			if b, err := io.ReadAll(zr); err == nil {
				plain = b
			}
		}
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, request{r.Method, r.URL.Path, r.URL.RawQuery, plain, len(body)})
	f.mu.Unlock()
	f.handler.ServeHTTP(w, r)
}

func (f *front) URL() string { return "http://" + f.addr }

func (f *front) up() {
	f.t.Helper()
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		f.t.Fatalf("front: listen on %s: %v", f.addr, err)
	}
	f.addr = ln.Addr().String()
	srv := &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	go srv.Serve(ln)
}

// down closes the listener and every open connection: the SDK sees
// connection refused until up.
func (f *front) down() {
	f.mu.Lock()
	srv := f.srv
	f.srv = nil
	f.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// requests returns the recorded requests whose path starts with prefix.
func (f *front) requests(prefix string) []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []request
	for _, r := range f.reqs {
		if strings.HasPrefix(r.Path, prefix) {
			out = append(out, r)
		}
	}
	return out
}

type harness struct {
	t       testing.TB
	ctx     context.Context
	app     *sightline.App
	project meta.Project
	apiKey  string
	blobs   *replay.FileStore
	front   *front
	site    *httptest.Server
	demo    atomic.Pointer[http.Handler] // serves /demo/ when set
}

// newHarness starts the app with one project (settings changed by
// settings, when given), the front and the site.
func newHarness(t testing.TB, settings func(*meta.ProjectSettings)) *harness {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app, err := sightline.New(sightline.Config{DataDir: filepath.Join(dir, "data"), Addr: "127.0.0.1:0", AdminKey: "test-admin", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	p, key, err := app.CreateProject(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	if settings != nil {
		s := p.Settings
		settings(&s)
		if p, err = app.Meta().UpdateProjectSettings(ctx, p.ID, s); err != nil {
			t.Fatal(err)
		}
	}
	blobs, err := replay.NewFileStore(filepath.Join(dir, "data", "replay"))
	if err != nil {
		t.Fatal(err)
	}
	f := &front{t: t, handler: app.Handler(), addr: "127.0.0.1:0"}
	f.up()
	t.Cleanup(f.down)

	h := &harness{t: t, ctx: ctx, app: app, project: p, apiKey: key, blobs: blobs, front: f}
	h.site = httptest.NewServer(http.HandlerFunc(h.serveSite))
	t.Cleanup(h.site.Close)
	return h
}

// serveSite serves the fixture pages with the install snippet in place of
// the <!-- sightline:snippet --> marker.
func (h *harness) serveSite(w http.ResponseWriter, r *http.Request) {
	if d := h.demo.Load(); d != nil && strings.HasPrefix(r.URL.Path, "/demo/") {
		(*d).ServeHTTP(w, r)
		return
	}
	name := ""
	switch p := r.URL.Path; {
	case p == "/shop/" || strings.HasPrefix(p, "/shop/"):
		name = "shop.html"
	case strings.HasSuffix(p, ".html"):
		name = filepath.Base(p)
	}
	page, err := os.ReadFile(filepath.Join("testdata", name))
	if name == "" || err != nil {
		http.NotFound(w, r)
		return
	}
	page = bytes.Replace(page, []byte("<!-- sightline:snippet -->"), []byte(sdk.Snippet(h.front.URL(), h.project.Token)), 1)
	page = bytes.ReplaceAll(page, []byte("{{host}}"), []byte(h.front.URL()))
	page = bytes.ReplaceAll(page, []byte("{{token}}"), []byte(h.project.Token))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(page)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// row is a stored event as the tests look at it.
type row struct {
	UUID, Event, URL, Path, Selector, Chain, DistinctID, SessionID string
	X, Y, OffsetX, OffsetY                                         float64
	Rage, Dead, ErrorClick                                         bool
	Props                                                          map[string]any
	TS                                                             time.Time
}

func (h *harness) events() []row {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
	defer cancel()
	if err := h.app.Flush(ctx); err != nil {
		h.t.Fatalf("flush: %v", err)
	}
	rows, err := h.app.Store().Query(ctx, `SELECT uuid, event, url, path, selector, elements_chain, distinct_id, session_id,
		x, y, offset_x, offset_y, rage, dead, error_click, CAST(properties AS VARCHAR), "timestamp"
		FROM events WHERE project_id = ? ORDER BY "timestamp", uuid`, h.project.ID)
	if err != nil {
		h.t.Fatalf("query events: %v", err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		var props string
		if err := rows.Scan(&r.UUID, &r.Event, &r.URL, &r.Path, &r.Selector, &r.Chain, &r.DistinctID, &r.SessionID,
			&r.X, &r.Y, &r.OffsetX, &r.OffsetY, &r.Rage, &r.Dead, &r.ErrorClick, &props, &r.TS); err != nil {
			h.t.Fatalf("scan: %v", err)
		}
		if err := json.Unmarshal([]byte(props), &r.Props); err != nil {
			h.t.Fatalf("properties %q: %v", props, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		h.t.Fatal(err)
	}
	return out
}

// waitEvents polls the store until done says the events are all there
// (bounded: about a minute), and returns them.
func (h *harness) waitEvents(done func([]row) bool) []row {
	h.t.Helper()
	var rows []row
	for range 240 {
		rows = h.events()
		if done(rows) {
			return rows
		}
		time.Sleep(250 * time.Millisecond)
	}
	h.t.Errorf("gave up waiting for events; %d stored:", len(rows))
	for _, r := range rows {
		h.t.Logf("  %s %s %s", r.Event, r.Path, r.Selector)
	}
	return rows
}

func hasEvent(name string, n int) func([]row) bool {
	return func(rows []row) bool {
		c := 0
		for _, r := range rows {
			if r.Event == name {
				c++
			}
		}
		return c >= n
	}
}

// run runs chromedp actions on the tab, failing the test on error.
func run(t testing.TB, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates JavaScript in the page and decodes its value.
func eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %q: %v", expr, err)
	}
	return v
}

// js is a step that runs a script for its effect.
func js(expr string) chromedp.Action[chromedp.Void] { return chromedp.Evaluate[chromedp.Void](expr) }

// move puts the pointer at viewport coordinates; click moves there first,
// as a person's pointer would.
func move(x, y float64) chromedp.Action[chromedp.Void] {
	return chromedp.MouseEvent(chromedp.MouseMoved, x, y)
}

func click(x, y float64) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(move(x, y), chromedp.MouseClickXY(x, y))
}

func typeInto(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.SendKeys(chromedp.CSS(sel), text)
}

// waitSDK waits until the SDK replaced the snippet's stub and started.
func waitSDK() chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](`window.sightline && window.sightline.__sl === 1 && window.sightline.getSessionId() !== ''`,
		chromedp.WithPollingTimeout(20*time.Second))
}
