package web_test

// The end-to-end journey in a real browser (Debian's Chromium
// through chromedp) against a real Sightline: set up the admin, log in,
// create a project, copy the snippet, see demo data on the overview, build a
// 3-step funnel whose numbers equal the query API's, open a dropped-off
// session's replay and play it, open a page's heatmap, check that a replayed
// page's scripts never run, log out. Screenshots of every step go to a
// temporary directory whose path the test logs.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sightline-analytics/sightline"
	"github.com/sightline-analytics/sightline/synth"
)

// chromium finds Debian's Chromium. Under CI=true a missing browser fails
// the test; elsewhere the test is skipped with a loud message.
func chromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	const msg = "chromium not found: the dashboard's browser tests need Debian's chromium (apt-get install -y chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPING BROWSER TEST: " + msg)
	return ""
}

type browserTab struct {
	t    *testing.T
	ctx  context.Context
	dir  string
	n    int
	mu   sync.Mutex
	errs []string
}

func newBrowser(t *testing.T) *browserTab {
	path := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	dir, err := os.MkdirTemp("", "sightline-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of the journey: %s", dir)
	b := &browserTab{t: t, ctx: ctx, dir: dir}
	chromedp.Listen(ctx, func(ev any) {
		var line string
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			line = fmt.Sprintf("exception: %s at %s:%d", d.Text, d.URL, d.LineNumber)
			if d.Exception != nil {
				line += " " + d.Exception.Description
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type != "error" && e.Type != "assert" {
				return
			}
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			line = "console." + string(e.Type) + ": " + strings.Join(parts, " ")
		default:
			return
		}
		b.mu.Lock()
		b.errs = append(b.errs, line)
		b.mu.Unlock()
	})
	return b
}

func (b *browserTab) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.shot("failure")
		b.t.Fatalf("browser: %v", err)
	}
}

func eval[T any](b *browserTab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// wait polls a JavaScript predicate until it is truthy. It evaluates
// afresh every 200 ms, so a navigation in between (which destroys the page's
// JavaScript context) is no error.
func (b *browserTab) wait(what, predicate string, timeout time.Duration) {
	b.t.Helper()
	b.t.Logf("waiting for %s", what)
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+predicate+")"))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		time.Sleep(200 * time.Millisecond)
	}
	b.shot("failure")
	tctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	body, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`location.href + '\n' + (document.querySelector('main') || document.body).innerText.slice(-2500)`))
	b.mu.Lock()
	errs := strings.Join(b.errs, "\n")
	b.mu.Unlock()
	b.t.Fatalf("waiting for %s: timed out after %v (last error: %v)\npage:\n%s\nconsole errors:\n%s", what, timeout, lastErr, body, errs)
}

func (b *browserTab) shot(name string) {
	b.t.Helper()
	b.n++
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	f := filepath.Join(b.dir, fmt.Sprintf("%02d-%s.png", b.n, name))
	if err := os.WriteFile(f, buf, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// set gives a form control a value the way typing would (Preact listens to
// input and change events).
func set(sel, value string) chromedp.Action[chromedp.Void] {
	s, _ := json.Marshal(sel)
	v, _ := json.Marshal(value)
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const el = document.querySelector(%s);
		if (!el) throw new Error('no element ' + %s);
		const proto = el instanceof HTMLSelectElement ? HTMLSelectElement.prototype : el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
		Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, %s);
		el.dispatchEvent(new Event('input', {bubbles: true}));
		el.dispatchEvent(new Event('change', {bubbles: true}));
	})()`, s, s, v))
}

// clickText clicks the first button or link whose text contains text.
func clickText(text string) chromedp.Action[chromedp.Void] {
	t, _ := json.Marshal(text)
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const el = [...document.querySelectorAll('button, a')].find((e) => e.textContent.includes(%s) && !e.disabled);
		if (!el) throw new Error('nothing to click with text ' + %s);
		el.click();
	})()`, t, t))
}

func click(sel string) chromedp.Action[chromedp.Void] { return chromedp.Click(chromedp.CSS(sel)) }

// serveUI returns the base URL of the dashboard, checking that the app
// mounts it and the project-scoped replay route the player reads.
// startUI starts an app on a fresh data directory, quiet, closed when the
// test ends, and returns it with the URL the browser opens (see serveUI).
func startUI(t *testing.T, configure ...func(*sightline.Config)) (*sightline.App, string) {
	t.Helper()
	cfg := sightline.Config{DataDir: t.TempDir(), Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, f := range configure {
		f(&cfg)
	}
	app, err := sightline.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	return app, serveUI(t, app)
}

func serveUI(t *testing.T, app *sightline.App) string {
	probe := func(path string) int {
		rec := httptest.NewRecorder()
		app.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code
	}
	if code := probe("/p/1/overview"); code != http.StatusOK {
		t.Fatalf("the app does not serve the dashboard: GET /p/1/overview answered %d", code)
	}
	if code := probe("/api/projects/1/replay/x"); code == http.StatusNotFound {
		t.Fatalf("the app does not mount the project-scoped replay route")
	}
	return app.URL()
}

// apiCall sends a JSON request with an API key and decodes the answer.
func apiCall(t *testing.T, method, u, key string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, u, err, b)
		}
	}
	if res.StatusCode >= 300 {
		t.Logf("%s %s: %d %s", method, u, res.StatusCode, b)
	}
	return res.StatusCode
}

func TestBrowserJourney(t *testing.T) {
	if testing.Short() {
		t.Skip("browser journey skipped in -short mode")
	}
	b := newBrowser(t)
	ctx := context.Background()
	app, base := startUI(t)

	// 1. First run: the setup page creates the admin.
	b.do(chromedp.Navigate(base + "/"))
	b.wait("the setup page", `location.pathname === '/setup' && !!document.querySelector('input[name=confirm]')`, 20*time.Second)
	b.do(
		set("input[name=name]", "Ada Admin"),
		set("input[name=email]", "ada@example.com"),
		set("input[name=password]", "correct horse battery"),
		set("input[name=confirm]", "correct horse battery"),
	)
	b.shot("setup")
	b.do(click("form button[type=submit]"))
	b.wait("the new-project page after setup", `!!document.querySelector('input[name=project-name]')`, 20*time.Second)

	// 2. Log out and back in.
	b.do(clickText("Log out"))
	b.wait("the login page", `location.pathname === '/login' && !!document.querySelector('input[name=password]')`, 20*time.Second)
	b.do(set("input[name=email]", "ada@example.com"), set("input[name=password]", "wrong password"), click("form button[type=submit]"))
	b.wait("the wrong-password message", `document.body.innerText.includes('wrong e-mail or password')`, 10*time.Second)
	b.do(set("input[name=password]", "correct horse battery"))
	b.shot("login")
	b.do(click("form button[type=submit]"))
	b.wait("the new-project page after login", `!!document.querySelector('input[name=project-name]')`, 20*time.Second)

	// 3. Create a project: its overview is the onboarding with the snippet.
	b.do(set("input[name=project-name]", "Ridgeline Supply"), click("form button[type=submit]"))
	b.wait("the onboarding", `!!document.querySelector('[data-testid=snippet]') && document.body.innerText.includes('Waiting for the first event')`, 20*time.Second)
	pid := eval[int64](b, `Number(location.pathname.split('/')[2])`)
	proj, err := app.Meta().Project(ctx, pid)
	if err != nil {
		t.Fatalf("project %d from the URL: %v", pid, err)
	}
	b.shot("onboarding")

	// 4. Copy the snippet.
	b.do(chromedp.Evaluate[chromedp.Void](`window.__copied = null; navigator.clipboard.writeText = async (t) => { window.__copied = t; }`))
	b.do(click(".snippet button"))
	b.wait("the copy confirmation", `document.querySelector('.snippet button').textContent.includes('Copied')`, 5*time.Second)
	copied := eval[string](b, `window.__copied`)
	if !strings.Contains(copied, proj.Token) || !strings.Contains(copied, "/sdk/sightline.js") || copied != eval[string](b, `document.querySelector('[data-testid=snippet]').textContent`) {
		t.Fatalf("copied snippet %q does not match the project (token %s)", copied, proj.Token)
	}

	// 5. The first event turns the onboarding live by itself.
	first := fmt.Sprintf(`{"token":%q,"events":[{"uuid":"0193a1b2-c3d4-7e5f-8a6b-00000000e2e1","event":"$pageview","distinct_id":"installer","url":%q,"timestamp":%d}]}`,
		proj.Token, base+"/demo/installed", time.Now().UnixMilli())
	if res, err := http.Post(app.URL()+"/api/capture", "application/json", strings.NewReader(first)); err != nil || res.StatusCode != 200 {
		t.Fatalf("capture the first event: %v %v", res, err)
	}
	if err := app.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	b.wait("the onboarding to see the first event", `document.body.innerText.includes('Events are arriving')`, 20*time.Second)
	b.shot("onboarding-live")

	// 6. Demo data: a visit to the demo shop (real events and a replay),
	// and seeded synthetic history on the same pages.
	app.EnableDemo(proj.Token)
	key, _, err := app.Meta().CreateAPIKey(ctx, pid, "e2e", 0)
	if err != nil {
		t.Fatal(err)
	}
	b.do(chromedp.Navigate(base + "/demo/"))
	b.wait("the shop's SDK", `window.sightline && typeof window.sightline.getSessionId === 'function' && window.sightline.getSessionId() !== ''`, 20*time.Second)
	b.do(chromedp.Sleep(1500*time.Millisecond), click("a.product-card"))
	b.wait("a product page", `location.pathname.includes('/product/') && !!document.querySelector('.qty-minus')`, 20*time.Second)
	productPath := eval[string](b, `location.pathname`)
	sessionID := eval[string](b, `window.sightline.getSessionId()`)
	b.do(chromedp.Sleep(1200*time.Millisecond), click("button.thumb"), chromedp.Sleep(800*time.Millisecond), click(".qty-minus"), chromedp.Sleep(2500*time.Millisecond))
	b.shot("demo-shop")
	b.do(chromedp.Navigate("about:blank"), chromedp.Sleep(1500*time.Millisecond))

	start := time.Now().UTC().Add(-15 * 24 * time.Hour).Truncate(24 * time.Hour)
	if _, err := app.Seed(ctx, pid, synth.Config{Seed: 7, Start: start, Days: 14, Events: 30000, Host: base + "/demo"}, nil); err != nil {
		t.Fatalf("seed: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := app.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Windows []json.RawMessage `json:"windows"`
		}
		if apiCall(t, "GET", app.URL()+"/api/replay/"+sessionID, key, nil, &rep) == 200 && len(rep.Windows) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no replay stored for the shop session %s", sessionID)
		}
		time.Sleep(500 * time.Millisecond)
	}

	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/overview", base, pid)))
	b.wait("the overview's numbers", `(() => { const v = [...document.querySelectorAll('.stat')].find((s) => s.textContent.includes('Visitors')); return v && /\d/.test(v.querySelector('.value').textContent); })()`, 30*time.Second)
	b.wait("the traffic chart", `!!document.querySelector('.chart canvas')`, 20*time.Second)
	b.shot("overview")

	// 7. A 3-step funnel, built in the insight builder.
	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/insights/new", base, pid)))
	b.wait("the insight builder", `!!document.querySelector('[role=tab]')`, 20*time.Second)
	b.do(clickText("Funnel"))
	b.wait("the funnel editor", `document.querySelectorAll('[data-testid=funnel-step]').length === 2`, 10*time.Second)
	b.do(clickText("+ Add step"))
	b.wait("a third step", `document.querySelectorAll('[data-testid=funnel-step]').length === 3`, 10*time.Second)
	b.do(
		set(`input[aria-label="Event of step 2"]`, "$pageview"),
		set(`input[aria-label="Page path of step 1"]`, "/demo/"),
		set(`input[aria-label="Page path of step 2"]`, "/demo/product/*"),
		set(`input[aria-label="Page path of step 3"]`, "/demo/cart"),
	)
	funnelCounts := func() []int64 {
		return eval[[]int64](b, `[...document.querySelectorAll('.funnel .step')].map((s) => Number(s.dataset.count))`)
	}
	apiFunnel := func() []int64 {
		q := eval[string](b, `new URLSearchParams(location.search).get('q')`)
		var def map[string]any
		if err := json.Unmarshal([]byte(q), &def); err != nil {
			t.Fatalf("insight in the URL: %v (%q)", err, q)
		}
		sp := eval[map[string]string](b, `Object.fromEntries(new URLSearchParams(location.search))`)
		def["date_from"], def["date_to"] = "-7d", "today"
		if sp["from"] != "" {
			def["date_from"] = sp["from"]
		}
		if sp["to"] != "" {
			def["date_to"] = sp["to"]
		}
		var res struct {
			Steps []struct {
				Count int64 `json:"count"`
			} `json:"steps"`
		}
		if st := apiCall(t, "POST", app.URL()+"/api/query", key, def, &res); st != 200 {
			t.Fatalf("query API: %d", st)
		}
		var out []int64
		for _, s := range res.Steps {
			out = append(out, s.Count)
		}
		return out
	}
	equalFunnel := func(label string) []int64 {
		t.Helper()
		var ui, want []int64
		for range 40 {
			b.wait("the funnel result", `document.querySelectorAll('.funnel .step').length === 3 && !document.querySelector('[data-testid=insight-result] .progress')`, 30*time.Second)
			ui, want = funnelCounts(), apiFunnel()
			if fmt.Sprint(ui) == fmt.Sprint(want) {
				return ui
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Fatalf("%s: the funnel shows %v, the query API answers %v", label, ui, want)
		return nil
	}
	counts := equalFunnel("last 7 days")
	if counts[0] == 0 || counts[2] > counts[1] || counts[1] > counts[0] {
		t.Fatalf("implausible funnel %v", counts)
	}
	t.Logf("funnel over 7 days: %v", counts)
	b.shot("funnel")

	// 8. The last 24 hours hold only the shop visit, which dropped off
	// before the cart: open it from the funnel and play it.
	b.do(set(`[aria-label="Date range"] select`, "-24h"))
	b.wait("the range in the URL", `location.search.includes('from=-24h')`, 5*time.Second)
	counts = equalFunnel("last 24 hours")
	if fmt.Sprint(counts) != "[1 1 0]" {
		t.Fatalf("funnel of the shop visit: %v, want [1 1 0]", counts)
	}
	b.do(click(`.funnel .step[data-step="3"] button.col`))
	b.wait("the dropped-off list", `document.body.innerText.includes('Dropped off before step 3') && !!document.querySelector('a[href*="/replay/"]')`, 10*time.Second)
	b.shot("funnel-dropped")
	b.do(click(`a[href*="/replay/` + sessionID + `"]`))
	b.wait("the player", `!!document.querySelector('[data-testid=play]:not([disabled])') && !!document.querySelector('[data-testid=player-stage] iframe')`, 30*time.Second)
	b.wait("timeline markers", `document.querySelectorAll('.timeline .marker[data-kind=pageview]').length >= 2 && document.querySelectorAll('.timeline .marker[data-kind=click]').length >= 1`, 20*time.Second)
	clock := func() float64 {
		txt := eval[string](b, `document.querySelector('[data-testid=clock]').textContent`)
		m := regexp.MustCompile(`^(\d+):(\d\d)`).FindStringSubmatch(strings.TrimSpace(txt))
		if m == nil {
			t.Fatalf("clock %q", txt)
		}
		mm, _ := strconv.Atoi(m[1])
		ss, _ := strconv.Atoi(m[2])
		return float64(mm*60 + ss)
	}
	before := clock()
	b.do(click(`[data-testid=play]`))
	b.wait("playback to advance", `(() => { const [m, s] = document.querySelector('[data-testid=clock]').textContent.split('/')[0].trim().split(':').map(Number); return m * 60 + s >= 2; })()`, 20*time.Second)
	if after := clock(); after <= before {
		t.Fatalf("time did not advance: %v -> %v", before, after)
	}
	sandbox := eval[string](b, `document.querySelector('[data-testid=player-stage] iframe').getAttribute('sandbox')`)
	if strings.Contains(sandbox, "allow-scripts") || !strings.Contains(sandbox, "allow-same-origin") {
		t.Fatalf("replay iframe sandbox %q", sandbox)
	}
	if n := eval[int](b, `document.querySelector('[data-testid=player-stage] iframe').contentDocument.querySelectorAll('*').length`); n < 20 {
		t.Fatalf("the rebuilt page has %d elements", n)
	}
	b.shot("replay")

	// 9. The heatmap of the product page: heat drawn over the rebuilt page.
	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/heatmaps?url=%s&from=-30d", base, pid, url.QueryEscape(productPath))))
	b.wait("the rebuilt page", `(() => { const f = document.querySelector('[data-testid=heat-stage] iframe'); return f && f.contentDocument && f.contentDocument.body && f.contentDocument.body.innerText.length > 50; })()`, 40*time.Second)
	heatPixels := `(() => { const c = document.querySelector('[data-testid=heat-canvas]'); if (!c || !c.width) return 0;
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
		for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; })()`
	b.wait("heat pixels", heatPixels+` > 100`, 30*time.Second)
	t.Logf("heat pixels over %s: %d", productPath, eval[int](b, heatPixels))
	b.wait("the element ranking", `document.querySelectorAll('.heat-layout aside tbody tr').length > 0`, 10*time.Second)
	b.shot("heatmap")

	// 10. A replayed page's scripts never run in the dashboard's origin.
	evilReplay(t, b, app, base, proj.Token, pid)

	// 11. Every page renders without errors, at 1280 px and on a phone.
	pages := []struct{ path, want string }{
		{"sessions", "Started"},
		{"frustration", "Rage clicks"},
		{"dashboards", "Dashboards"},
		{"insights", "Insights"},
		{"actions", "Actions"},
		{"actions/new", "Pick on a page"},
		{"segments", "Segments"},
		{"segments/new", "Persons matching"},
		{"live", "Received"},
		{"settings", "Install"},
		{"settings?tab=capture", "Masking mode"},
		{"settings?tab=keys", "New API key"},
		{"settings?tab=members", "Invite someone"},
		{"insights/new?q=" + url.QueryEscape(`{"kind":"retention","start":{"event":"$pageview"},"period":"day","periods":7}`) + "&from=-14d", "Cohort"},
		{"insights/new?q=" + url.QueryEscape(`{"kind":"paths","path_type":"pageview","depth":4}`) + "&from=-14d", "Journeys"},
	}
	for _, pg := range pages {
		b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/%s", base, pid, pg.path)))
		want, _ := json.Marshal(pg.want)
		b.wait("page "+pg.path, `document.querySelector('main h1') && document.querySelector('main').innerText.toLowerCase().includes(`+string(want)+`.toLowerCase()) && !document.querySelector('main .state.error') && !document.querySelector('main [role=status] .spinner')`, 30*time.Second)
		b.shot(strings.NewReplacer("/", "-", "?", "-", "=", "-").Replace(strings.SplitN(pg.path, "&", 2)[0])[:min(len(pg.path), 24)])
	}
	b.do(chromedp.EmulateViewport(390, 844), chromedp.Navigate(fmt.Sprintf("%s/p/%d/overview", base, pid)))
	b.wait("the overview on a phone", `(() => { const v = [...document.querySelectorAll('.stat')].find((s) => s.textContent.includes('Visitors')); return v && /\d/.test(v.textContent); })()`, 30*time.Second)
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
		wide := eval[[]string](b, `[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 391).slice(0, 8).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`)
		t.Errorf("the overview is %d px wide on a 390 px phone: it scrolls sideways; too wide: %v", w, wide)
	}
	b.shot("phone-overview")
	b.do(chromedp.EmulateViewport(1280, 900))

	// 12. Log out: the session is gone.
	b.do(clickText("Log out"))
	b.wait("the login page after logout", `location.pathname === '/login' && !!document.querySelector('input[name=password]')`, 20*time.Second)
	ctxMe, cancelMe := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancelMe()
	if st, err := chromedp.Run(ctxMe, chromedp.Evaluate[int](`fetch('/api/me').then((r) => r.status)`, chromedp.EvalAwaitPromise)); err != nil || st != 401 {
		t.Fatalf("GET /api/me after logout: %d %v", st, err)
	}
	b.shot("logout")

	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errs) > 0 {
		t.Fatalf("the dashboard logged errors:\n%s", strings.Join(b.errs, "\n"))
	}
}

// evilReplay stores a recording whose page carries a script, an inline
// event handler and a javascript: link, opens it in the player, and checks
// that none of it ran.
func evilReplay(t *testing.T, b *browserTab, app *sightline.App, base, token string, pid int64) {
	t.Helper()
	t0 := time.Now().Add(-time.Hour).UnixMilli()
	payload := `window.top.__pwned = (window.top.__pwned || []).concat(%q)`
	el := func(id int, tag string, attrs map[string]string, kids ...map[string]any) map[string]any {
		if kids == nil {
			kids = []map[string]any{}
		}
		return map[string]any{"type": 2, "tagName": tag, "attributes": attrs, "childNodes": kids, "id": id}
	}
	text := func(id int, s string) map[string]any { return map[string]any{"type": 3, "textContent": s, "id": id} }
	doc := map[string]any{"type": 0, "id": 1, "childNodes": []map[string]any{
		el(2, "html", map[string]string{},
			el(3, "head", map[string]string{}, el(4, "script", map[string]string{}, text(5, fmt.Sprintf(payload, "script")))),
			el(6, "body", map[string]string{"onload": fmt.Sprintf(payload, "onload")},
				el(7, "img", map[string]string{"src": "data:image/png;base64,AAAA", "onerror": fmt.Sprintf(payload, "onerror")}),
				el(8, "p", map[string]string{"id": "evil"}, text(9, "A hostile recorded page")),
				el(10, "a", map[string]string{"href": "javascript:" + fmt.Sprintf(payload, "link")}, text(11, "link")),
				el(12, "iframe", map[string]string{"srcdoc": "<script>" + fmt.Sprintf(payload, "srcdoc") + "</script>"}),
			)),
	}}
	events := []map[string]any{
		{"type": 4, "timestamp": t0, "data": map[string]any{"href": base + "/demo/evil", "width": 1000, "height": 700}},
		{"type": 2, "timestamp": t0 + 10, "data": map[string]any{"node": doc, "initialOffset": map[string]int{"left": 0, "top": 0}}},
		{"type": 3, "timestamp": t0 + 1000, "data": map[string]any{"source": 2, "type": 2, "id": 10, "x": 20, "y": 20}},
		{"type": 3, "timestamp": t0 + 3000, "data": map[string]any{"source": 1, "positions": []map[string]int{{"x": 40, "y": 40, "id": 8, "timeOffset": 0}}}},
	}
	body, _ := json.Marshal(events)
	u := fmt.Sprintf("%s/api/replay?token=%s&session_id=evil-session&window_id=evil-window&seq=0", app.URL(), token)
	res, err := http.Post(u, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("store the hostile recording: %d %s", res.StatusCode, rb)
	}
	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/replay/evil-session", base, pid)))
	b.wait("the hostile page rebuilt", `(() => { const f = document.querySelector('[data-testid=player-stage] iframe'); return f && f.contentDocument && !!f.contentDocument.getElementById('evil'); })()`, 30*time.Second)
	b.do(click(`[data-testid=play]`), chromedp.Sleep(3500*time.Millisecond))
	b.shot("hostile-replay")
	ran := eval[[]string](b, `window.__pwned || []`)
	if len(ran) > 0 {
		t.Fatalf("scripts of a replayed page ran in the dashboard: %v", ran)
	}
	if sb := eval[string](b, `document.querySelector('[data-testid=player-stage] iframe').getAttribute('sandbox')`); strings.Contains(sb, "allow-scripts") {
		t.Fatalf("replay iframe sandbox %q allows scripts", sb)
	}
}
