package web_test

// The insight pages (issue 7's UI, issue 5's overview panel) in a real
// browser against a real Sightline seeded with synth traffic whose planted
// incident (the coupon button breaks at a release) happened a few hours
// ago: behavior clusters with their descriptions and replays, the insight
// feed with the incident, acknowledged, dismissed and reopened there and on
// the overview's anomalies panel, release markers on a trend and a
// dashboard tile, and an alert created, edited, test-sent to a loopback
// webhook and deleted in the UI, which a viewer can read but not change.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/sightline-analytics/sightline"
	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/synth"
)

// webhookLog is a loopback receiver of alert notifications.
type webhookLog struct {
	mu    sync.Mutex
	notes []map[string]any
}

func (h *webhookLog) received() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.notes...)
}

// incidentAge is how long after the planted incident began the insight
// monitor looks at it.
const incidentAge = 4 * time.Hour

// incidentConfig returns a synth config whose incident release shipped at
// the latest 14:00 UTC at least incidentAge plus an hour before now, with
// eight days of normal traffic before it: enough history for the detector,
// and the incident's first hours for it to see.
func incidentConfig(now time.Time) synth.Config {
	inc := now.UTC().Truncate(24 * time.Hour).Add(14 * time.Hour)
	if now.Sub(inc) < incidentAge+time.Hour {
		inc = inc.Add(-24 * time.Hour)
	}
	// synth puts the incident at 14:00 five days before the end of its range.
	const days = 13
	end := inc.Truncate(24 * time.Hour).Add(5 * 24 * time.Hour)
	return synth.Config{Seed: 11, Start: end.Add(-days * 24 * time.Hour), Days: days, Events: 260_000}
}

// browserLogin logs in through the login page.
func browserLogin(b *browserTab, base, email, password string) {
	b.t.Helper()
	b.do(chromedp.Navigate(base + "/login"))
	b.wait("the login page", `location.pathname === '/login' && !!document.querySelector('input[name=password]')`, 20*time.Second)
	b.do(set("input[name=email]", email), set("input[name=password]", password), click("form button[type=submit]"))
	b.wait("the app after login", `location.pathname !== '/login' && !!document.querySelector('#side-nav a')`, 20*time.Second)
}

func TestInsightPagesInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	b := newBrowser(t)
	ctx := context.Background()
	// The monitor looks at the incident incidentAge after it began,
	// whatever the time of day: the planted button stays broken, but in
	// the night's thin traffic its signal fades and the anomaly ends.
	cfg := incidentConfig(time.Now())
	lag := time.Since(synth.IncidentStart(cfg).Add(incidentAge))
	app, base := startUI(t, func(c *sightline.Config) {
		c.Now = func() time.Time { return time.Now().Add(-lag) }
	})
	m := app.Meta()

	proj, key, err := app.CreateProject(ctx, "Ridgeline Supply")
	if err != nil {
		t.Fatal(err)
	}
	pid := proj.ID
	for _, u := range []struct {
		email string
		role  meta.Role
	}{{"ada@example.com", meta.RoleAdmin}, {"vic@example.com", meta.RoleViewer}} {
		user, err := m.CreateUser(ctx, meta.NewUser{Email: u.email, Password: "password of " + u.email})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetMembership(ctx, pid, user.ID, u.role); err != nil {
			t.Fatal(err)
		}
	}
	hooks := &webhookLog{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n map[string]any
		if json.NewDecoder(r.Body).Decode(&n) == nil {
			hooks.mu.Lock()
			hooks.notes = append(hooks.notes, n)
			hooks.mu.Unlock()
		}
	}))
	t.Cleanup(recv.Close)

	st, err := app.Seed(ctx, pid, cfg, nil)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	t.Logf("seeded %d events (%d sessions; %d in the future rejected), incident at %v", st.Events, st.Sessions, st.Rejected, synth.IncidentStart(cfg))

	browserLogin(b, base, "ada@example.com", "password of ada@example.com")
	for _, label := range []string{"Insight feed", "Behavior clusters", "Alerts"} {
		if !eval[bool](b, fmt.Sprintf(`[...document.querySelectorAll('#side-nav a')].some((a) => a.textContent === %q)`, label)) {
			t.Errorf("no %q in the navigation", label)
		}
	}

	// 1. The feed before the monitor ran is empty; "Check now" runs it and
	// the planted incident appears, linked to its release.
	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/feed", base, pid)))
	b.wait("the feed", `document.querySelector('main h1')?.textContent === 'Insight feed' && !document.querySelector('main .spinner')`, 30*time.Second)
	b.do(clickText("Check now"))
	// The anomaly of the /cart page, still going on incidentAge after the
	// release.
	cart := `[...document.querySelectorAll('[data-testid=finding][data-finding-id^="frustration:page:/cart@"]')].find((c) => c.textContent.includes('Ongoing'))`
	b.wait("the planted anomaly in the feed", cart, 90*time.Second)
	card := eval[string](b, cart+`.textContent`)
	for _, want := range []string{"Frustrated sessions on /cart is up", "after release " + synth.ReleaseVersion, "expected", "Ongoing", "Sessions affected"} {
		if !strings.Contains(card, want) {
			t.Errorf("the anomaly's card lacks %q:\n%s", want, card)
		}
	}
	links := eval[map[string]string](b, `Object.fromEntries([...`+cart+`.querySelectorAll('.links a')].map((a) => [a.textContent.replace(' →', ''), a.getAttribute('href')]))`)
	if q := links["Trend"]; !strings.Contains(q, "/insights/new?q=") || !strings.Contains(q, "%24rageclick") {
		t.Errorf("the anomaly's trend link %q does not chart the page's frustration", q)
	}
	if s := links["Affected sessions"]; !strings.Contains(s, "/sessions?") || !strings.Contains(s, "url=%2Fcart") {
		t.Errorf("the anomaly's sessions link %q does not select /cart", s)
	}
	if links["▶ Replay 1"] == "" || !strings.Contains(links["Heatmap"], "url=%2Fcart") {
		t.Errorf("the anomaly's links lack replays or the heatmap: %v", links)
	}
	b.shot("insight-feed")
	b.do(chromedp.Navigate(base + links["Trend"]))
	b.wait("the anomaly's trend in the builder", `!!document.querySelector('[data-testid=insight-result] .chart canvas')`, 30*time.Second)
	// The release the incident followed is marked on it.
	b.wait("the incident's release on the trend", fmt.Sprintf(`!!document.querySelector('[data-testid=insight-result] .chart-marker[data-version=%q]:not([hidden])')`, synth.ReleaseVersion), 30*time.Second)

	// 1b. Releases on charts: a $release event, as sightline.release()
	// sends it, becomes a marker at its time on the builder's trend and on
	// a dashboard's tile, its version shown on hover.
	checkReleaseMarkers(t, b, app, base, proj.Token, key, pid)

	// 2. The overview's panel lists it and links into the feed.
	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/overview", base, pid)))
	panelCart := `[...document.querySelectorAll('[data-testid=anomaly-panel] li a')].find((a) => a.textContent.includes('/cart'))`
	b.wait("the anomalies panel", panelCart, 30*time.Second)
	if !eval[bool](b, `document.querySelector('[data-testid=anomaly-panel]').innerText.includes('open')`) {
		t.Error("the anomalies panel does not count the open anomaly")
	}
	b.shot("overview-anomalies")
	focus := eval[string](b, `new URL(`+panelCart+`.href).searchParams.get('focus')`)
	if !strings.Contains(focus, "/cart") {
		t.Fatalf("the panel's /cart anomaly links to focus %q", focus)
	}
	b.do(chromedp.Evaluate[chromedp.Void](panelCart + `.click()`))
	focusJS, _ := json.Marshal(focus)
	b.wait("the feed focused on the anomaly", `location.pathname.endsWith('/feed') && !!document.querySelector('[data-testid=finding].focus[data-finding-id="' + CSS.escape(`+string(focusJS)+`) + '"]')`, 30*time.Second)

	// 2b. Acknowledge it on its card, dismiss it from the overview's panel,
	// find it among the dismissed and reopen it.
	checkFindingStatus(t, b, app, base, key, pid, focus)

	// 3. Behavior clusters: none yet; find the patterns of the last 7 days.
	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/clusters", base, pid)))
	b.wait("the clusters page", `document.querySelector('main h1')?.textContent === 'Behavior clusters' && !document.querySelector('main .spinner')`, 30*time.Second)
	b.do(set("form[aria-label='Find patterns'] input[aria-label='Conversion event']", "purchase"), click("form[aria-label='Find patterns'] button[type=submit]"))
	b.wait("the clusters", `location.search.includes('run=') && document.querySelectorAll('[data-testid=cluster]').length >= 2`, 120*time.Second)
	var latest struct {
		RunID    int64 `json:"run_id"`
		Clusters []struct {
			ID              int    `json:"id"`
			Size            int    `json:"size"`
			Description     string `json:"description"`
			Representatives []struct {
				SessionID string `json:"session_id"`
			} `json:"representatives"`
		} `json:"clusters"`
	}
	// The run the page shows (the URL names it: the scheduler may store
	// another run meanwhile).
	run := eval[string](b, `new URLSearchParams(location.search).get('run')`)
	if st := apiCall(t, "GET", app.URL()+"/api/clusters/"+run, key, nil, &latest); st != 200 {
		t.Fatalf("clustering %s: %d", run, st)
	}
	var want []string
	for _, c := range latest.Clusters {
		want = append(want, c.Description)
	}
	got := eval[[]string](b, `[...document.querySelectorAll('[data-testid=cluster-description]')].map((h) => h.textContent)`)
	if fmt.Sprint(got) != fmt.Sprint(want) || len(want) < 2 || want[0] == "" {
		t.Errorf("the page describes the clusters as\n%q\nthe API as\n%q", got, want)
	}
	if fmt.Sprint(latest.RunID) != run {
		t.Errorf("the URL names run %s, the API answers run %d", run, latest.RunID)
	}
	b.shot("behavior-clusters")

	// A representative session opens its replay.
	first := latest.Clusters[0]
	rep := first.Representatives[0].SessionID
	storeRecording(t, app, proj.Token, rep)
	b.do(click(fmt.Sprintf(`[data-testid=cluster][data-cluster-id="%d"] [data-testid=representative][data-session=%q]`, first.ID, rep)))
	b.wait("the representative's replay", fmt.Sprintf(`location.pathname.endsWith('/replay/' + %q) && !!document.querySelector('[data-testid=player-stage] iframe')`, rep), 30*time.Second)
	b.wait("the recorded page in the player", `(() => { const f = document.querySelector('[data-testid=player-stage] iframe'); return f && f.contentDocument && f.contentDocument.body && f.contentDocument.body.innerText.includes('Recorded cart'); })()`, 30*time.Second)
	b.shot("representative-replay")

	// The sessions of a cluster, the most typical first.
	b.do(chromedp.NavigateBack())
	b.wait("the clusters again", `document.querySelectorAll('[data-testid=cluster]').length >= 2`, 30*time.Second)
	b.do(click(fmt.Sprintf(`a[href="/p/%d/clusters/%d/%d"]`, pid, latest.RunID, first.ID)))
	b.wait("the cluster's sessions", `document.querySelectorAll('main tbody tr').length > 0`, 30*time.Second)
	if n := eval[int](b, `document.querySelectorAll('main tbody tr').length`); n != min(first.Size, 50) {
		t.Errorf("the cluster's first page lists %d sessions, want %d", n, min(first.Size, 50))
	}
	if href := eval[string](b, `document.querySelector('main tbody tr a').getAttribute('href')`); !strings.HasSuffix(href, "/replay/"+rep) {
		t.Errorf("the cluster's first session links to %q, want its representative %s", href, rep)
	}
	b.shot("cluster-sessions")

	// 4. An alert: create, edit, send a test to the loopback webhook.
	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/alerts", base, pid)))
	b.wait("the empty alerts page", `document.body.innerText.includes('No alerts yet')`, 30*time.Second)
	b.do(clickText("+ New alert"))
	b.wait("the alert editor", `!!document.querySelector('input[name=alert-name]')`, 20*time.Second)
	b.do(
		set("input[name=alert-name]", "Cart frustration"),
		set("select[name=alert-metric]", "page"),
	)
	b.wait("the page field", `!!document.querySelector('input[name=alert-page]')`, 5*time.Second)
	b.do(set("input[name=alert-page]", "/cart"), set("input[name=channel-url-0]", recv.URL+"/hook"))
	b.shot("alert-new")
	b.do(click("form[aria-label='New alert'] button[type=submit]"))
	b.wait("the new alert's page", `/\/alerts\/\d+$/.test(location.pathname) && !!document.querySelector('[data-testid=alert-rule]')`, 20*time.Second)
	alertPath := eval[string](b, `location.pathname`)
	alertID := alertPath[strings.LastIndex(alertPath, "/")+1:]
	if rule := eval[string](b, `document.querySelector('[data-testid=alert-rule]').innerText`); !strings.Contains(rule, "Frustrated sessions on /cart") || !strings.Contains(rule, "leaves its usual range") {
		t.Errorf("the new alert's rule reads %q", rule)
	}

	// The cart's frustration is anomalous: checking the rules now fires it,
	// and the notifier delivers the alert to the webhook.
	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/alerts", base, pid)))
	b.wait("the alert in the list", `!!document.querySelector('[data-testid=alert-list] tr[data-alert="Cart frustration"] [data-state=idle]')`, 20*time.Second)
	b.do(clickText("Check now"))
	b.wait("the alert firing", `!!document.querySelector('[data-testid=alert-list] tr[data-alert="Cart frustration"] [data-state=firing]')`, 60*time.Second)
	var fired map[string]any
	for deadline := time.Now().Add(30 * time.Second); fired == nil && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		for _, n := range hooks.received() {
			if n["kind"] == "firing" && n["key"] == "frustration:page:/cart" {
				fired = n
			}
		}
	}
	if fired == nil || !strings.Contains(fmt.Sprint(fired["text"]), "*Cart frustration*") || !strings.Contains(fmt.Sprint(fired["text"]), "/cart is up") {
		t.Errorf("the webhook did not receive the firing alert: %v", hooks.received())
	}
	b.wait("the delivery in the history", `!!document.querySelector('[data-testid=alert-event][data-kind=firing]')`, 10*time.Second)
	b.shot("alert-firing")
	b.do(chromedp.Navigate(base + alertPath))
	b.wait("the firing series on the alert's page", `document.querySelector('main').textContent.includes('Firing series') && document.querySelector('main').textContent.includes('Frustrated sessions on /cart')`, 20*time.Second)

	b.do(clickText("Edit"))
	b.wait("the edit form", `!!document.querySelector("form[aria-label='Edit alert'] input[name=alert-name]")`, 10*time.Second)
	b.do(set("input[name=alert-name]", "Cart frustration (checkout team)"), chromedp.Evaluate[chromedp.Void](`document.querySelector('input[name=alert-type][value=threshold]').click()`))
	b.wait("the threshold fields", `!!document.querySelector('input[name=alert-value]')`, 5*time.Second)
	b.do(set("input[name=alert-value]", "5"), click("form[aria-label='Edit alert'] button[type=submit]"))
	b.wait("the edited alert", `!location.search.includes('edit=1') && document.querySelector('main h1').textContent.includes('(checkout team)') && document.querySelector('[data-testid=alert-rule]').innerText.includes('is above 5% over the last hour')`, 20*time.Second)
	var stored struct {
		Name string `json:"name"`
		Rule struct {
			Type     string  `json:"type"`
			Op       string  `json:"op"`
			Value    float64 `json:"value"`
			Metric   struct{ Series string }
			Channels []struct{ Type, URL string }
		} `json:"rule"`
	}
	if st := apiCall(t, "GET", app.URL()+"/api/alerts/"+alertID, key, nil, &stored); st != 200 {
		t.Fatalf("the edited alert: %d", st)
	}
	if stored.Name != "Cart frustration (checkout team)" || stored.Rule.Type != "threshold" || stored.Rule.Op != "above" || stored.Rule.Value != 0.05 ||
		stored.Rule.Metric.Series != "frustration:page:/cart" || len(stored.Rule.Channels) != 1 || stored.Rule.Channels[0].URL != recv.URL+"/hook" {
		t.Errorf("the edited alert is stored as %+v", stored)
	}

	b.do(clickText("Send test"))
	b.wait("the test's delivery", `!!document.querySelector('[data-testid=test-result] [data-testid=delivery][data-status=sent]')`, 30*time.Second)
	b.wait("the test in the history", `!!document.querySelector('[data-testid=alert-history] [data-testid=alert-event][data-kind=test]')`, 10*time.Second)
	var test map[string]any
	for _, n := range hooks.received() {
		if n["kind"] == "test" {
			test = n
		}
	}
	if test == nil || test["rule_name"] != "Cart frustration (checkout team)" || !strings.Contains(fmt.Sprint(test["text"]), "Test of *Cart frustration (checkout team)*") {
		t.Errorf("the webhook received %v", hooks.received())
	}
	b.shot("alert-tested")
	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/alerts", base, pid)))
	b.wait("the alert in the list", `!!document.querySelector('[data-testid=alert-list] tr[data-alert="Cart frustration (checkout team)"] [data-state]')`, 20*time.Second)
	b.shot("alerts")

	// 5. A viewer reads alerts but cannot change them, in the UI or the API.
	b.do(clickText("Log out"))
	b.wait("the login page after logout", `location.pathname === '/login'`, 20*time.Second)
	browserLogin(b, base, "vic@example.com", "password of vic@example.com")
	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/alerts", base, pid)))
	b.wait("the alerts as a viewer", `!!document.querySelector('[data-testid=alert-list] tr[data-alert]') && !!document.querySelector('[data-testid=read-only]')`, 20*time.Second)
	if eval[bool](b, `[...document.querySelectorAll('main a, main button')].some((e) => /New alert|Edit|Delete|Send test/.test(e.textContent))`) {
		t.Error("a viewer is offered to change alerts on the list")
	}
	b.do(chromedp.Navigate(base + alertPath + "?edit=1"))
	b.wait("the alert as a viewer", `!!document.querySelector('[data-testid=alert-rule]')`, 20*time.Second)
	if eval[bool](b, `!!document.querySelector('main form') || [...document.querySelectorAll('main button')].some((e) => /Edit|Delete|Send test/.test(e.textContent))`) {
		t.Error("a viewer can edit, delete or test an alert on its page")
	}
	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/feed", base, pid)))
	b.wait("the feed as a viewer", `document.querySelectorAll('[data-testid=finding][data-kind=anomaly] [data-testid=status-controls]').length > 0`, 30*time.Second)
	if eval[bool](b, `!!document.querySelector('[data-testid=status-controls] button')`) {
		t.Error("a viewer is offered to acknowledge or dismiss anomalies")
	}
	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/alerts/new", base, pid)))
	b.wait("no editor for a viewer", `document.body.innerText.includes('Viewers cannot create alerts') && !document.querySelector('main form')`, 20*time.Second)
	viewerCtx, cancelViewer := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancelViewer()
	status, err := chromedp.Run(viewerCtx, chromedp.Evaluate[[]int](fmt.Sprintf(`(async () => {
		const me = await (await fetch('/api/me')).json();
		const h = {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token};
		const put = await fetch('/api/projects/%d/alerts/%s', {method: 'PUT', headers: h, body: JSON.stringify({name: 'x', rule: {type: 'anomaly', metric: {series: 'sessions'}, channels: []}})});
		const test = await fetch('/api/projects/%d/alerts/%s/test', {method: 'POST', headers: h});
		const gone = await fetch('/api/projects/%d/alerts/%s', {method: 'DELETE', headers: h});
		const dismiss = await fetch('/api/projects/%d/anomalies/' + encodeURIComponent(%q) + '/status', {method: 'POST', headers: h, body: JSON.stringify({status: 'dismissed'})});
		return [put.status, test.status, gone.status, dismiss.status];
	})()`, pid, alertID, pid, alertID, pid, alertID, pid, focus), chromedp.EvalAwaitPromise))
	if err != nil || fmt.Sprint(status) != "[403 403 403 403]" {
		t.Errorf("a viewer's PUT, test and DELETE of an alert and dismissal of an anomaly answered %v (%v), want 403s", status, err)
	}
	b.shot("alerts-viewer")

	// 6. The admin deletes the alert.
	b.do(clickText("Log out"))
	b.wait("the login page after logout", `location.pathname === '/login'`, 20*time.Second)
	browserLogin(b, base, "ada@example.com", "password of ada@example.com")
	b.do(chromedp.Navigate(base + alertPath))
	b.wait("the alert again", `!!document.querySelector('[data-testid=alert-rule]')`, 20*time.Second)
	b.do(chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`), clickText("Delete"))
	b.wait("the alerts page without it", `location.pathname.endsWith('/alerts') && document.body.innerText.includes('No alerts yet')`, 20*time.Second)
	if st := apiCall(t, "GET", app.URL()+"/api/alerts/"+alertID, key, nil, nil); st != http.StatusNotFound {
		t.Errorf("the deleted alert answers %d", st)
	}

	// 7. The new pages fit a phone.
	b.do(chromedp.EmulateViewport(390, 844))
	for _, page := range []string{"feed", "clusters", "alerts"} {
		b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/%s", base, pid, page)))
		b.wait("the "+page+" page on a phone", `document.querySelector('main h1') && !document.querySelector('main .spinner')`, 30*time.Second)
		if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
			wide := eval[[]string](b, `[...document.querySelectorAll('main *')].filter((e) => e.getBoundingClientRect().right > 391).slice(0, 8).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`)
			t.Errorf("the %s page is %d px wide on a 390 px phone; too wide: %v", page, w, wide)
		}
		b.shot("phone-" + page)
	}
	b.do(chromedp.EmulateViewport(1280, 900))

	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errs) > 0 {
		t.Fatalf("the dashboard logged errors:\n%s", strings.Join(b.errs, "\n"))
	}
}

// storeRecording stores a small recording for a session, the way the SDK
// stores replay chunks.
func storeRecording(t *testing.T, app *sightline.App, token, sessionID string) {
	t.Helper()
	t0 := time.Now().Add(-time.Hour).UnixMilli()
	chunk := fmt.Sprintf(`[{"type":4,"timestamp":%d,"data":{"href":"https://shop.example/cart","width":1000,"height":700}},
		{"type":2,"timestamp":%d,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"tagName":"html","attributes":{},"id":2,"childNodes":[
		{"type":2,"tagName":"body","attributes":{},"id":3,"childNodes":[{"type":2,"tagName":"h1","attributes":{},"id":4,"childNodes":[{"type":3,"textContent":"Recorded cart","id":5}]}]}]}]},
		"initialOffset":{"left":0,"top":0}}},
		{"type":3,"timestamp":%d,"data":{"source":1,"positions":[{"x":40,"y":40,"id":4,"timeOffset":0}]}}]`, t0, t0+10, t0+2000)
	u := fmt.Sprintf("%s/api/replay?token=%s&session_id=%s&window_id=w1&seq=0", app.URL(), token, sessionID)
	res, err := http.Post(u, "application/json", strings.NewReader(chunk))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("store a recording of %s: %d %s", sessionID, res.StatusCode, body)
	}
}

// checkReleaseMarkers sends a $release event, lets the monitor record it,
// and finds its marker on an hourly trend in the builder and on a
// dashboard tile: at the x of its time on the chart's scale, its version
// shown when the pointer rests on it.
func checkReleaseMarkers(t *testing.T, b *browserTab, app *sightline.App, base, token, key string, pid int64) {
	t.Helper()
	const version = "9.9.9-e2e"
	at := time.Now().UTC().Add(-30 * time.Hour).Truncate(time.Minute)
	ev := fmt.Sprintf(`{"token":%q,"events":[{"uuid":"0193a1b2-c3d4-7e5f-8a6b-0000000e2e99","event":"$release","distinct_id":"deployer","timestamp":%d,"properties":{"version":%q}}]}`,
		token, at.UnixMilli(), version)
	res, err := http.Post(app.URL()+"/api/capture", "application/json", strings.NewReader(ev))
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("capture the $release event: %v %v", res, err)
	}
	res.Body.Close()
	if err := app.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	// What the scheduler does at the next hour: scan the new $release events.
	if st := apiCall(t, "POST", app.URL()+"/api/anomalies/run", key, nil, nil); st != http.StatusOK {
		t.Fatalf("run the monitor: %d", st)
	}
	var rel struct {
		Releases []struct {
			Version string    `json:"version"`
			At      time.Time `json:"at"`
		} `json:"releases"`
	}
	apiCall(t, "GET", app.URL()+"/api/releases?from="+at.Add(-time.Hour).Format(time.RFC3339)+"&to="+at.Add(time.Hour).Format(time.RFC3339), key, nil, &rel)
	if len(rel.Releases) != 1 || rel.Releases[0].Version != version || !rel.Releases[0].At.Equal(at) {
		t.Fatalf("releases around %v: %+v", at, rel.Releases)
	}

	query := `{"kind":"trends","interval":"hour","display":"line","series":[{"event":"$pageview","math":"sessions"}]}`
	marker := fmt.Sprintf(`.chart-marker[data-version=%q]`, version)
	// where answers the marker's x from the plot's left edge, the x its time
	// has on the plot's scale, and the plot's width.
	where := func(scope string) (got, want, width float64) {
		t.Helper()
		v := eval[[]float64](b, fmt.Sprintf(`(() => {
			const m = document.querySelector(%q + ' ' + %q);
			const over = m.closest('.u-over').getBoundingClientRect();
			const root = m.closest('.uplot');
			const r = m.getBoundingClientRect();
			const min = Number(root.dataset.xMin), max = Number(root.dataset.xMax);
			return [r.left + r.width / 2 - over.left, (Number(m.dataset.t) / 1000 - min) / (max - min) * over.width, over.width, Number(m.dataset.t)];
		})()`, scope, marker))
		if int64(v[3]) != at.UnixMilli() {
			t.Errorf("the marker is at %v, the release at %v", time.UnixMilli(int64(v[3])), at)
		}
		return v[0], v[1], v[2]
	}

	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/insights/new?q=%s&from=-3d", base, pid, url.QueryEscape(query))))
	b.wait("the release marker on the trend", `!!document.querySelector('[data-testid=insight-result] `+marker+`:not([hidden])')`, 30*time.Second)
	got, want, width := where("[data-testid=insight-result]")
	if math.Abs(got-want) > 1.5 || got < 0 || got > width {
		t.Errorf("the release marker is %.1f px into a %.0f px plot, its time is at %.1f px", got, width, want)
	}
	// Hovering shows the version.
	xy := eval[[]float64](b, `(() => { const r = document.querySelector('[data-testid=insight-result] `+marker+`').getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`)
	b.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, xy[0], xy[1]))
	b.wait("the release's version on hover", `(() => { const tip = document.querySelector('[data-testid=insight-result] `+marker+` .tip'); return getComputedStyle(tip).display !== 'none' && tip.textContent.includes('Release `+version+`'); })()`, 10*time.Second)
	if legend := eval[string](b, `document.querySelector('[data-testid=insight-result] [data-testid=release-legend]')?.textContent ?? ''`); !strings.Contains(legend, "releases") && !strings.Contains(legend, version) {
		t.Errorf("the chart's legend does not mention its releases: %q", legend)
	}
	b.shot("release-marker-trend")

	// The same insight on a dashboard.
	var ins, board struct {
		ID int64 `json:"id"`
	}
	if st := apiCall(t, "POST", fmt.Sprintf("%s/api/projects/%d/insights", app.URL(), pid), key,
		map[string]any{"name": "Sessions by hour", "definition": json.RawMessage(strings.Replace(query, `"kind":"trends"`, `"kind":"trends","date_from":"-3d"`, 1))}, &ins); st != http.StatusCreated {
		t.Fatalf("save the insight: %d", st)
	}
	if st := apiCall(t, "POST", fmt.Sprintf("%s/api/projects/%d/dashboards", app.URL(), pid), key,
		map[string]any{"name": "Releases", "definition": map[string]any{"items": []map[string]int64{{"insight": ins.ID}}}}, &board); st != http.StatusCreated {
		t.Fatalf("create the dashboard: %d", st)
	}
	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/dashboards/%d", base, pid, board.ID)))
	b.wait("the release marker on the dashboard tile", `!!document.querySelector('section.card `+marker+`:not([hidden])')`, 30*time.Second)
	got, want, width = where("section.card")
	if math.Abs(got-want) > 1.5 || got < 0 || got > width {
		t.Errorf("on the tile, the release marker is %.1f px into a %.0f px plot, its time is at %.1f px", got, width, want)
	}
	b.shot("release-marker-dashboard")
}

// checkFindingStatus acknowledges the anomaly id on its feed card,
// dismisses it from the overview's panel, finds it among the dismissed in
// the feed and reopens it, checking the API agrees at each step.
func checkFindingStatus(t *testing.T, b *browserTab, app *sightline.App, base, key string, pid int64, id string) {
	t.Helper()
	idJS, _ := json.Marshal(id)
	card := `[...document.querySelectorAll('[data-testid=finding]')].find((c) => c.dataset.findingId === ` + string(idJS) + `)`
	apiStatus := func() string {
		t.Helper()
		var list struct {
			Anomalies []struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"anomalies"`
		}
		apiCall(t, "GET", fmt.Sprintf("%s/api/anomalies?status=all&from=%s", app.URL(), time.Now().UTC().Add(-8*24*time.Hour).Format("2006-01-02")), key, nil, &list)
		for _, a := range list.Anomalies {
			if a.ID == id {
				return a.Status
			}
		}
		return "missing"
	}

	b.do(chromedp.Evaluate[chromedp.Void](card + `.querySelector('button[data-action=acknowledged]').click()`))
	b.wait("the anomaly acknowledged", card+`?.dataset.status === 'acknowledged' && `+card+`.textContent.includes('Acknowledged by ada@example.com')`, 20*time.Second)
	if st := apiStatus(); st != "acknowledged" {
		t.Errorf("after acknowledging, the API says %q", st)
	}
	b.shot("finding-acknowledged")

	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/overview", base, pid)))
	item := `[...document.querySelectorAll('[data-testid=anomaly-panel] li')].find((li) => li.dataset.findingId === ` + string(idJS) + `)`
	b.wait("the acknowledged anomaly in the panel", item+`?.textContent.includes('Acknowledged')`, 30*time.Second)
	b.do(chromedp.Evaluate[chromedp.Void](item + `.querySelector('button[data-action=dismissed]').click()`))
	b.wait("the dismissed anomaly gone from the panel", `!!document.querySelector('[data-testid=anomaly-panel]') && !(`+item+`)`, 20*time.Second)
	if st := apiStatus(); st != "dismissed" {
		t.Errorf("after dismissing, the API says %q", st)
	}

	b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/feed", base, pid)))
	b.wait("the feed without the dismissed anomaly", `document.querySelectorAll('[data-testid=finding]').length > 0 && !(`+card+`)`, 30*time.Second)
	b.do(set("select[name=feed-status]", "dismissed"))
	b.wait("the dismissed anomaly on request", card+`?.dataset.status === 'dismissed'`, 30*time.Second)
	b.shot("finding-dismissed")
	b.do(chromedp.Evaluate[chromedp.Void](card + `.querySelector('button[data-action=open]').click()`))
	b.wait("the reopened anomaly gone from the dismissed", `!(`+card+`)`, 20*time.Second)
	b.do(set("select[name=feed-status]", ""))
	b.wait("the reopened anomaly in the feed", card+`?.dataset.status === 'open'`, 30*time.Second)
	if st := apiStatus(); st != "open" {
		t.Errorf("after reopening, the API says %q", st)
	}
}
