package web_test

// User flows beyond the main journey, each in a real browser against a real
// Sightline: the rage-, dead- and error-click heat layers, an action made by picking
// an element on the heatmap (and in the action editor) that matches past
// clicks at once, a saved segment used as a filter, inviting a user, and a
// dashboard that refreshes itself when new events arrive.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sightline-analytics/sightline"
	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/synth"
)

const (
	flowAdmin    = "ada@example.com"
	flowPassword = "correct horse battery"
)

type flowApp struct {
	t    *testing.T
	app  *sightline.App
	base string
	proj meta.Project
	key  string // API key of proj
}

// startFlowApp starts Sightline with its first admin (set up through the
// API, as the setup page does) and one project.
func startFlowApp(t *testing.T) *flowApp {
	t.Helper()
	if testing.Short() {
		t.Skip("browser flows skipped in -short mode")
	}
	ctx := context.Background()
	app, base := startUI(t)
	res, err := http.Post(base+"/api/setup", "application/json", strings.NewReader(fmt.Sprintf(`{"name":"Ada","email":%q,"password":%q}`, flowAdmin, flowPassword)))
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("setup: %v %v", res, err)
	}
	res.Body.Close()
	proj, key, err := app.CreateProject(ctx, "Ridgeline Supply")
	if err != nil {
		t.Fatal(err)
	}
	return &flowApp{t: t, app: app, base: base, proj: proj, key: key}
}

func (f *flowApp) page(path string) string { return fmt.Sprintf("%s/p/%d/%s", f.base, f.proj.ID, path) }

// query runs an analytics query through the API with the project's key.
func (f *flowApp) query(q any, out any) {
	f.t.Helper()
	if st := apiCall(f.t, "POST", f.app.URL()+"/api/query", f.key, q, out); st != 200 {
		f.t.Fatalf("query API: %d for %v", st, q)
	}
}

func (f *flowApp) flush() {
	f.t.Helper()
	if err := f.app.Flush(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

// seed adds synthetic history on the demo shop's pages.
func (f *flowApp) seed(events int) {
	f.t.Helper()
	start := time.Now().UTC().Add(-10 * 24 * time.Hour).Truncate(24 * time.Hour)
	if _, err := f.app.Seed(context.Background(), f.proj.ID, synth.Config{Seed: 11, Start: start, Days: 9, Events: events, Host: f.base + "/demo"}, nil); err != nil {
		f.t.Fatalf("seed: %v", err)
	}
	f.flush()
}

// logIn logs in through the login page.
func logIn(b *browserTab, base, email, password string) {
	b.t.Helper()
	b.do(chromedp.Navigate(base + "/login"))
	b.wait("the login page", `!!document.querySelector('input[name=password]')`, 20*time.Second)
	b.do(set("input[name=email]", email), set("input[name=password]", password), click("form button[type=submit]"))
	b.wait("a project page after login", `location.pathname.startsWith('/p/') || location.pathname === '/projects/new'`, 20*time.Second)
}

// forgetErrors drops what the tab logged so far: the demo shop breaks on
// purpose, and only the dashboard's own errors count.
func (b *browserTab) forgetErrors() {
	b.mu.Lock()
	b.errs = nil
	b.mu.Unlock()
}

func (b *browserTab) noErrors() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errs) > 0 {
		b.t.Fatalf("the dashboard logged errors:\n%s", strings.Join(b.errs, "\n"))
	}
}

// clickAt clicks the centre of an element of the current page with a real
// mouse event.
func clickAt(b *browserTab, sel string) {
	b.t.Helper()
	s, _ := json.Marshal(sel)
	xy := eval[[]float64](b, fmt.Sprintf(`(() => { const e = document.querySelector(%s); e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`, s))
	b.do(chromedp.MouseClickXY(xy[0], xy[1]))
}

// shopVisit browses the demo shop in the tab (real SDK, real recording)
// and, on a product page, runs do. It returns the product page's path once
// the visit's recording is stored.
func (f *flowApp) shopVisit(b *browserTab, do func()) (productPath string) {
	t := f.t
	t.Helper()
	f.app.EnableDemo(f.proj.Token)
	b.do(chromedp.Navigate(f.base + "/demo/"))
	b.wait("the shop's SDK", `window.sightline && typeof window.sightline.getSessionId === 'function' && window.sightline.getSessionId() !== ''`, 20*time.Second)
	b.do(chromedp.Sleep(1200*time.Millisecond), click("a.product-card"))
	b.wait("a product page", `location.pathname.includes('/product/') && !!document.querySelector('#add-to-cart')`, 20*time.Second)
	productPath = eval[string](b, `location.pathname`)
	sessionID := eval[string](b, `window.sightline.getSessionId()`)
	b.do(chromedp.Sleep(1200 * time.Millisecond))
	do()
	b.do(chromedp.Navigate("about:blank"), chromedp.Sleep(1500*time.Millisecond))
	b.forgetErrors()
	deadline := time.Now().Add(30 * time.Second)
	for {
		f.flush()
		var rep struct {
			Windows []json.RawMessage `json:"windows"`
		}
		if apiCall(t, "GET", f.app.URL()+"/api/replay/"+sessionID, f.key, nil, &rep) == 200 && len(rep.Windows) > 0 {
			return productPath
		}
		if time.Now().After(deadline) {
			t.Fatalf("no replay stored for the shop session %s", sessionID)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// stageReady: the rebuilt page is measured and the stage's canvases cover
// it, so positions on the stage map to the page.
const stageReady = `(() => { const s = document.querySelector('[data-testid=heat-stage]'); const f = s && s.querySelector('iframe'); const c = s && s.querySelector('canvas.overlay');
	return !!(f && c && f.getAttribute('width') && c.width === Number(f.getAttribute('width'))); })()`

type heatAnswer struct {
	Clicks   int64 `json:"clicks"`
	Elements []struct {
		Selector    string `json:"selector"`
		Clicks      int64  `json:"clicks"`
		RageClicks  int64  `json:"rage_clicks"`
		DeadClicks  int64  `json:"dead_clicks"`
		ErrorClicks int64  `json:"error_clicks"`
	} `json:"elements"`
}

func (f *flowApp) heatmap(path string) heatAnswer {
	var h heatAnswer
	f.query(map[string]any{"kind": "heatmap", "url": path, "viewport": "desktop", "grid": 10, "limit": 500, "date_from": "-30d", "date_to": "today"}, &h)
	return h
}

// heatPoints asks the query API for a heatmap layer's points.
func (f *flowApp) heatPoints(path, layer string) []heatPoint {
	var h struct {
		Layer  string      `json:"layer"`
		Points []heatPoint `json:"points"`
	}
	f.query(map[string]any{"kind": "heatmap", "url": path, "viewport": "desktop", "grid": 10, "limit": 500, "date_from": "-30d", "date_to": "today", "layer": layer}, &h)
	if h.Layer != layer {
		f.t.Fatalf("heatmap layer %q answered layer %q", layer, h.Layer)
	}
	return h.Points
}

type heatPoint struct {
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	Count int64   `json:"count"`
}

// clickAtFrac clicks a point of an element of the current page, at a
// fraction of its width and height (0.5, 0.5 is the centre), with a real
// mouse event, and returns the point in page coordinates (what the SDK
// records as x, y). The element is scrolled into view first, and the
// scroll settles before the click, so that it does not count as the
// page's reaction to it.
func clickAtFrac(b *browserTab, sel string, fx, fy float64) [2]float64 {
	b.t.Helper()
	s, _ := json.Marshal(sel)
	b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const e = document.querySelector(%s); const r = e.getBoundingClientRect();
		if (r.top < 0 || r.bottom > innerHeight) e.scrollIntoView({block: 'center'}); })()`, s)), chromedp.Sleep(200*time.Millisecond))
	xy := eval[[]float64](b, fmt.Sprintf(`(() => { const r = document.querySelector(%s).getBoundingClientRect();
		const x = r.left + r.width * %g, y = r.top + r.height * %g; return [x, y, x + scrollX, y + scrollY]; })()`, s, fx, fy))
	b.do(chromedp.MouseClickXY(xy[0], xy[1]))
	return [2]float64{xy[2], xy[3]}
}

// heatSpotJS finds the hottest spot of the heat canvas: the centre of the
// pixels of the highest alpha, in page coordinates, and that alpha; then
// the alpha at 8, 16 and 24 px to its right, the colour at the spot, and
// the box of the rebuilt page's element sel.
const heatSpotJS = `((sel) => {
	const c = document.querySelector('[data-testid=heat-canvas]');
	if (!c || !c.width) return null;
	const ctx = c.getContext('2d');
	const d = ctx.getImageData(0, 0, c.width, c.height).data;
	let max = 0;
	for (let i = 3; i < d.length; i += 4) if (d[i] > max) max = d[i];
	if (!max) return null;
	let sx = 0, sy = 0, n = 0;
	for (let i = 3; i < d.length; i += 4) if (d[i] === max) { const p = (i - 3) / 4; sx += p %% c.width; sy += Math.floor(p / c.width); n++; }
	const x = sx / n + 0.5, y = sy / n + 0.5;
	const px = (dx) => Array.from(ctx.getImageData(Math.floor(x) + dx, Math.floor(y), 1, 1).data);
	const f = document.querySelector('[data-testid=heat-stage] iframe');
	const el = f && f.contentDocument.querySelector(sel);
	const r = el && el.getBoundingClientRect();
	return {x, y, colour: px(0), alpha: [0, 8, 16, 24].map((dx) => px(dx)[3]), box: r ? [r.left, r.top, r.width, r.height] : null};
})(%s)`

type heatSpot struct {
	X, Y   float64
	Colour []int     `json:"colour"`
	Alpha  []int     `json:"alpha"`
	Box    []float64 `json:"box"`
}

// alphaAtJS is the heat canvas's alpha at the centre of the rebuilt page's
// element sel (-1 when the element is not there).
const alphaAtJS = `((sel) => {
	const f = document.querySelector('[data-testid=heat-stage] iframe');
	const el = f && f.contentDocument.querySelector(sel);
	const c = document.querySelector('[data-testid=heat-canvas]');
	if (!el || !c || !c.width) return -1;
	const r = el.getBoundingClientRect();
	return c.getContext('2d').getImageData(Math.round(r.left + r.width / 2), Math.round(r.top + r.height / 2), 1, 1).data[3];
})(%s)`

// TestBrowserHeatmapLayers: rage, dead and error clicks made in the shop,
// each off the middle of its element, are drawn as heat (a dense, hot
// centre fading outwards) over the rebuilt page where they were clicked,
// not at the middle of the element; the query API places each layer's
// points at the clicked positions; the legend counts what the API counts;
// switching layers redraws.
func TestBrowserHeatmapLayers(t *testing.T) {
	f := startFlowApp(t)
	b := newBrowser(t)
	var rageAt, deadAt, errorAt [2]float64
	product := f.shopVisit(b, func() {
		// Three quick clicks on the product photo, up and left of its
		// middle: a rage click, reported where the streak started.
		rageAt = clickAtFrac(b, "img.product-image", 0.25, 0.3)
		clickAtFrac(b, "img.product-image", 0.25, 0.3)
		clickAtFrac(b, "img.product-image", 0.25, 0.3)
		// The size guide does nothing: a dead click after 2.5 s of calm.
		b.do(chromedp.Sleep(1500 * time.Millisecond))
		deadAt = clickAtFrac(b, "a.size-guide", 0.2, 0.5)
		b.do(chromedp.Sleep(3500 * time.Millisecond))
		// "Add to wishlist" throws: an error click.
		errorAt = clickAtFrac(b, "button.wishlist", 0.15, 0.5)
		b.do(chromedp.Sleep(1500 * time.Millisecond))
	})
	want := f.heatmap(product)
	var rage, dead, errs int64
	var rageSel, deadSel, errSel string
	for _, e := range want.Elements {
		rage += e.RageClicks
		dead += e.DeadClicks
		errs += e.ErrorClicks
		if e.RageClicks > 0 && rageSel == "" {
			rageSel = e.Selector
		}
		if e.DeadClicks > 0 && deadSel == "" {
			deadSel = e.Selector
		}
		if e.ErrorClicks > 0 && errSel == "" {
			errSel = e.Selector
		}
	}
	if rage == 0 || dead == 0 || errs == 0 || !strings.Contains(rageSel, "product-image") || !strings.Contains(deadSel, "size-guide") || !strings.Contains(errSel, "wishlist") {
		t.Fatalf("the shop visit left rage %d on %q, dead %d on %q, error %d on %q; want all three", rage, rageSel, dead, deadSel, errs, errSel)
	}
	// The engine places each layer's one point in the grid cell of the click.
	cellOf := func(layer string, at [2]float64) heatPoint {
		t.Helper()
		pts := f.heatPoints(product, layer)
		if len(pts) != 1 || pts[0].Count != 1 {
			t.Fatalf("%s layer points %+v; want the one click", layer, pts)
		}
		p := pts[0]
		if math.Abs(p.X+5-at[0]) > 6 || math.Abs(p.Y+5-at[1]) > 6 {
			t.Fatalf("%s layer point %+v (a 10 px cell); the click was at %v", layer, p, at)
		}
		return p
	}
	rageCell, deadCell, errorCell := cellOf("rage", rageAt), cellOf("dead", deadAt), cellOf("error", errorAt)

	logIn(b, f.base, flowAdmin, flowPassword)
	b.do(chromedp.Navigate(f.page("heatmaps?from=-30d&layer=rage&url=" + url.QueryEscape(product))))
	b.wait("the rebuilt page", `(() => { const f = document.querySelector('[data-testid=heat-stage] iframe'); return f && f.contentDocument && f.contentDocument.querySelector('img.product-image'); })()`, 40*time.Second)

	check := func(layer, hot, cold, first string, total int64, cell heatPoint) {
		t.Helper()
		b.wait(layer+" legend", fmt.Sprintf(`(() => { const l = document.querySelector('[data-testid=heat-legend]'); return l && l.dataset.layer === %q; })()`, layer), 20*time.Second)
		if got := eval[int64](b, `Number(document.querySelector('[data-testid=heat-legend]').dataset.total)`); got != total {
			t.Fatalf("%s legend counts %d, the query API %d", layer, got, total)
		}
		b.wait(layer+" heat drawn", fmt.Sprintf(`document.querySelector('[data-testid=heat-canvas]')?.dataset.layer === %q`, layer), 20*time.Second)
		hs, _ := json.Marshal(hot)
		spot := eval[*heatSpot](b, fmt.Sprintf(heatSpotJS, hs))
		if spot == nil || spot.Box == nil {
			t.Fatalf("%s: no heat drawn, or %q is not on the rebuilt page: %+v", layer, hot, spot)
		}
		t.Logf("%s: hottest spot (%.1f, %.1f), API cell %+v, %s box %v", layer, spot.X, spot.Y, cell, hot, spot.Box)
		// Heat at the clicked position: the centre of the API's cell.
		if math.Abs(spot.X-(cell.X+5)) > 2 || math.Abs(spot.Y-(cell.Y+5)) > 2 {
			t.Fatalf("%s: the hottest heat is at (%.1f, %.1f), the click's cell centre at (%v, %v)", layer, spot.X, spot.Y, cell.X+5, cell.Y+5)
		}
		// On the element clicked, and not at its middle: where it was
		// clicked on it.
		bx, by, bw, bh := spot.Box[0], spot.Box[1], spot.Box[2], spot.Box[3]
		if spot.X < bx || spot.X > bx+bw || spot.Y < by || spot.Y > by+bh {
			t.Fatalf("%s: the heat at (%.1f, %.1f) is off %s on the rebuilt page (box %v)", layer, spot.X, spot.Y, hot, spot.Box)
		}
		if math.Hypot(spot.X-(bx+bw/2), spot.Y-(by+bh/2)) < 12 {
			t.Fatalf("%s: the heat sits at the middle of %s (%.1f, %.1f), not where it was clicked", layer, hot, spot.X, spot.Y)
		}
		// Heat, not an outline: opaque and hot (red) at the centre of the
		// only spot, fading outwards.
		if p := spot.Colour; p[3] < 200 || p[0] < 200 || p[2] > 60 {
			t.Fatalf("%s: the heat's centre is %v, want hot and opaque", layer, p)
		}
		if a := spot.Alpha; !(a[0] > a[1] && a[1] > a[2] && a[2] >= a[3]) {
			t.Fatalf("%s: heat does not fade from its centre: alpha %v", layer, a)
		}
		cs, _ := json.Marshal(cold)
		if a := eval[int](b, fmt.Sprintf(alphaAtJS, cs)); a != 0 {
			t.Fatalf("%s: heat (alpha %d) over %s, which had none", layer, a, cold)
		}
		if top := eval[string](b, `document.querySelector('[data-testid=heat-elements] tbody tr').dataset.selector`); top != first {
			t.Fatalf("%s: the ranking starts with %q, want %q, the element with the most %s clicks", layer, top, first, layer)
		}
	}
	check("rage", "img.product-image", "a.size-guide", rageSel, rage, rageCell)
	b.shot("heat-rage")
	// The layer switcher redraws the heat over the dead-click element.
	pick := func(layer string) {
		b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`[...document.querySelectorAll('input[name=layer]')].find((i) => i.value === %q).click()`, layer)))
		b.wait("the layer in the URL", fmt.Sprintf(`location.search.includes('layer=%s')`, layer), 5*time.Second)
	}
	pick("dead")
	check("dead", "a.size-guide", "img.product-image", deadSel, dead, deadCell)
	b.shot("heat-dead")
	pick("error")
	check("error", "button.wishlist", "a.size-guide", errSel, errs, errorCell)
	b.shot("heat-error")
	b.do(chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('input[name=layer]')].find((i) => i.value === 'clicks').click()`))
	b.wait("the click layer", `document.querySelector('[data-testid=heat-legend]').dataset.layer === 'clicks'`, 10*time.Second)
	if got := eval[int64](b, `Number(document.querySelector('[data-testid=heat-legend]').dataset.total)`); got != want.Clicks {
		t.Fatalf("click legend counts %d, the query API %d", got, want.Clicks)
	}
	b.noErrors()
}

// TestBrowserActionFromPickedElement: clicks are made first; then an
// element is picked on the heatmap's rebuilt page, saved as an action, and
// the action counts the earlier clicks; a second step picked in the action
// editor adds the clicks on another element.
func TestBrowserActionFromPickedElement(t *testing.T) {
	f := startFlowApp(t)
	b := newBrowser(t)
	product := f.shopVisit(b, func() {
		for _, sel := range []string{"#add-to-cart", "button.qty-plus", "#add-to-cart", "button.qty-plus", "button.qty-plus"} {
			clickAt(b, sel)
			b.do(chromedp.Sleep(1200 * time.Millisecond))
		}
	})
	clicksOn := func(part string) int64 {
		var n int64
		for _, e := range f.heatmap(product).Elements {
			if strings.Contains(e.Selector, part) {
				n += e.Clicks
			}
		}
		return n
	}
	addClicks, plusClicks := clicksOn("add-to-cart"), clicksOn("qty-plus")
	if addClicks != 2 || plusClicks != 3 {
		t.Fatalf("stored clicks: add to cart %d, quantity plus %d; want 2 and 3", addClicks, plusClicks)
	}

	logIn(b, f.base, flowAdmin, flowPassword)
	b.do(chromedp.Navigate(f.page("heatmaps?from=-30d&url=" + url.QueryEscape(product))))
	b.wait("the rebuilt page", `(() => { const f = document.querySelector('[data-testid=heat-stage] iframe'); return f && f.contentDocument && f.contentDocument.querySelector('#add-to-cart'); })()`, 40*time.Second)
	b.wait("the measured stage", stageReady, 20*time.Second)
	b.do(clickText("Pick an element"))
	b.wait("picking mode", `!!document.querySelector('.heat-stage.picking')`, 5*time.Second)
	// A real pointer over the rebuilt button, through the scaled stage.
	xy := eval[[]float64](b, `(() => {
		const stage = document.querySelector('[data-testid=heat-stage]');
		const f = stage.querySelector('iframe');
		const el = f.contentDocument.querySelector('#add-to-cart');
		const c = stage.querySelector('canvas.overlay');
		const r = el.getBoundingClientRect();
		const scale = c.getBoundingClientRect().width / c.width;
		stage.scrollTop = Math.max(0, (r.top + r.height / 2) * scale - stage.clientHeight / 2);
		const cr = c.getBoundingClientRect();
		return [cr.left + (r.left + r.width / 2) * scale, cr.top + (r.top + r.height / 2) * scale];
	})()`)
	b.do(chromedp.MouseEvent("mouseMoved", xy[0], xy[1]))
	b.wait("the hovered selector", `document.querySelector('[data-testid=pick-hint] code')?.textContent === '#add-to-cart'`, 10*time.Second)
	b.shot("pick-on-heatmap")
	b.do(chromedp.MouseClickXY(xy[0], xy[1]))
	b.wait("the action editor with the picked element", `location.pathname.endsWith('/actions/new') && document.querySelector('input[placeholder="button.checkout"]')?.value === '#add-to-cart'`, 20*time.Second)
	if u := eval[string](b, `document.querySelector('select[aria-label="url match"]').value + ' ' + [...document.querySelectorAll('fieldset fieldset input')].map((i) => i.value).join('|')`); !strings.Contains(u, product) || !strings.HasPrefix(u, "exact") {
		t.Fatalf("the picked action's page condition: %q, want exact %s", u, product)
	}
	b.do(set("form input[required]", "Add to cart"), click("form button[type=submit].primary"))
	b.wait("the saved action", `/\/actions\/\d+$/.test(location.pathname)`, 20*time.Second)
	actionID := eval[int64](b, `Number(location.pathname.split('/').pop())`)
	matches := func() int64 {
		b.t.Helper()
		b.wait("the action's matches", `!!document.querySelector('[data-testid=action-matches]')`, 30*time.Second)
		return eval[int64](b, `Number(document.querySelector('[data-testid=action-matches]').dataset.count)`)
	}
	apiMatches := func() int64 {
		var res struct {
			Series []struct {
				Points []struct {
					V int64 `json:"v"`
				} `json:"points"`
			} `json:"series"`
		}
		f.query(map[string]any{"kind": "trends", "date_from": "-30d", "date_to": "today", "series": []map[string]any{{"action": actionID, "math": "events"}}}, &res)
		var n int64
		for _, s := range res.Series {
			for _, p := range s.Points {
				n += p.V
			}
		}
		return n
	}
	if got, api := matches(), apiMatches(); got != addClicks || api != addClicks {
		t.Fatalf("the new action matches %d past clicks (API %d), want the %d made before it existed", got, api, addClicks)
	}
	b.shot("action-matches")

	// A second step, picked in the action editor's own picker.
	b.do(clickText("+ Add step (or)"))
	b.wait("the second step", `document.querySelectorAll('fieldset fieldset').length === 2`, 5*time.Second)
	b.do(chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('fieldset fieldset')][1].querySelector('button[aria-pressed]').click()`))
	b.wait("the editor's picker", `!!document.querySelector('input[placeholder="/cart or /product/*"]')`, 5*time.Second)
	b.do(set(`input[placeholder="/cart or /product/*"]`, product), clickText("Load page"))
	b.wait("the page in the editor's picker", `(() => { const f = document.querySelector('[data-testid=heat-stage] iframe'); return f && f.contentDocument && f.contentDocument.querySelector('button.qty-plus'); })()`, 40*time.Second)
	b.wait("the measured stage", stageReady, 20*time.Second)
	xy = eval[[]float64](b, `(() => {
		const stage = document.querySelector('[data-testid=heat-stage]');
		stage.scrollIntoView({block: 'start'});
		const el = stage.querySelector('iframe').contentDocument.querySelector('button.qty-plus');
		const c = stage.querySelector('canvas.overlay');
		const r = el.getBoundingClientRect();
		const scale = c.getBoundingClientRect().width / c.width;
		stage.scrollTop = Math.max(0, (r.top + r.height / 2) * scale - stage.clientHeight / 2);
		const cr = c.getBoundingClientRect();
		return [cr.left + (r.left + r.width / 2) * scale, cr.top + (r.top + r.height / 2) * scale];
	})()`)
	b.do(chromedp.MouseEvent("mouseMoved", xy[0], xy[1]), chromedp.MouseClickXY(xy[0], xy[1]))
	b.wait("the second step's selector", `(() => { const i = [...document.querySelectorAll('input[placeholder="button.checkout"]')][1]; return i && i.value.includes('qty-plus'); })()`, 10*time.Second)
	t.Logf("picked selector: %s", eval[string](b, `[...document.querySelectorAll('input[placeholder="button.checkout"]')][1].value`))
	b.do(click("form button[type=submit].primary"))
	b.wait("the saved second step", `document.body.innerText.includes('Saved')`, 10*time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		b.do(chromedp.Reload())
		got := matches()
		if got == addClicks+plusClicks && apiMatches() == got {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("with the picked quantity button the action matches %d (API %d), want %d", got, apiMatches(), addClicks+plusClicks)
		}
		time.Sleep(300 * time.Millisecond)
	}
	b.shot("action-two-steps")
	b.noErrors()
}

// TestBrowserSegmentAsFilter: a segment saved in the editor narrows an
// insight (through the filter bar) and the session list, to the numbers
// the query API gives for the same filter.
func TestBrowserSegmentAsFilter(t *testing.T) {
	f := startFlowApp(t)
	f.seed(8000)
	b := newBrowser(t)
	logIn(b, f.base, flowAdmin, flowPassword)

	b.do(chromedp.Navigate(f.page("segments/new")))
	b.wait("the segment editor", `!!document.querySelector('input[aria-label=Event]')`, 20*time.Second)
	b.do(
		set("form input[required]", "Frustrated shoppers"),
		set("input[aria-label=Event]", "$rageclick"),
		click("form button[type=submit].primary"),
	)
	b.wait("the saved segment", `/\/segments\/\d+$/.test(location.pathname) && !!document.querySelector('[data-testid=segment-uses]')`, 20*time.Second)
	segID := eval[int64](b, `Number(location.pathname.split('/').pop())`)
	b.shot("segment-saved")

	// An insight filtered by the segment through the filter bar.
	q := `{"kind":"trends","series":[{"event":"$pageview","math":"persons"}],"interval":"day"}`
	b.do(chromedp.Navigate(f.page("insights/new?from=-14d&q=" + url.QueryEscape(q))))
	b.wait("the unfiltered result", `!!document.querySelector('[data-testid=insight-result] tbody td.num')`, 30*time.Second)
	b.do(clickText("+ Segment filter"))
	b.wait("the segment filter", `(() => { const s = document.querySelector('select[aria-label="Filter 1 segment"]'); return s && s.selectedOptions[0] && s.selectedOptions[0].textContent === 'Frustrated shoppers'; })()`, 10*time.Second)
	b.wait("the filter in the URL", `JSON.parse(new URLSearchParams(location.search).get('q')).filters?.[0]?.type === 'segment'`, 10*time.Second)
	total := func(filters any) int64 {
		var res struct {
			Series []struct {
				Total int64 `json:"total"`
			} `json:"series"`
		}
		body := map[string]any{"kind": "trends", "date_from": "-14d", "date_to": "today", "interval": "day", "series": []map[string]any{{"event": "$pageview", "math": "persons"}}}
		if filters != nil {
			body["filters"] = filters
		}
		f.query(body, &res)
		if len(res.Series) != 1 {
			t.Fatalf("trends answer: %+v", res)
		}
		return res.Series[0].Total
	}
	all := total(nil)
	inSeg := total([]map[string]any{{"type": "segment", "op": "in", "value": segID}})
	if inSeg == 0 || inSeg >= all {
		t.Fatalf("the segment holds %d of %d persons: the seeded data should make it a proper subset", inSeg, all)
	}
	shown := func() int64 {
		return eval[int64](b, `Number(document.querySelector('[data-testid=insight-result] tbody td.num').textContent.replace(/\D/g, ''))`)
	}
	var got int64
	for range 100 {
		got = shown()
		if got == inSeg && !eval[bool](b, `!!document.querySelector('[data-testid=insight-result] .progress')`) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got != inSeg {
		t.Fatalf("filtered by the segment the insight shows %d persons; the API says %d (unfiltered %d)", got, inSeg, all)
	}
	if legend := eval[int64](b, `Number(document.querySelector('[data-testid=insight-result] .legend [data-total]').dataset.total)`); legend != inSeg {
		t.Fatalf("the chart legend says %d persons, the API %d", legend, inSeg)
	}
	b.shot("insight-segment-filter")

	// The session list of the segment's persons, from the segment page.
	b.do(chromedp.Navigate(f.page(fmt.Sprintf("segments/%d", segID))))
	b.wait("the segment's links", `!!document.querySelector('[data-testid=segment-uses] a')`, 20*time.Second)
	b.do(clickText("Their sessions and replays"))
	b.wait("the filtered session list", fmt.Sprintf(`location.pathname.endsWith('/sessions') && location.search.includes('segment=%d') && document.querySelectorAll('main tbody tr').length > 0`, segID), 30*time.Second)
	var sess struct {
		Sessions []struct {
			SessionID string `json:"session_id"`
		} `json:"sessions"`
	}
	f.query(map[string]any{"kind": "sessions", "date_from": "-7d", "date_to": "today", "order_by": "start", "limit": 50,
		"filters": []map[string]any{{"type": "segment", "op": "in", "value": segID}}}, &sess)
	for range 50 {
		if eval[int](b, `document.querySelectorAll('main tbody tr').length`) == len(sess.Sessions) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := eval[int](b, `document.querySelectorAll('main tbody tr').length`); n != len(sess.Sessions) || n == 0 {
		t.Fatalf("the segment's session list shows %d rows, the API %d", n, len(sess.Sessions))
	}
	if sel := eval[string](b, `[...document.querySelectorAll('main form label')].find((l) => l.textContent.includes('Persons in segment')).querySelector('select').selectedOptions[0].textContent`); sel != "Frustrated shoppers" {
		t.Fatalf("the session filter shows segment %q", sel)
	}
	b.shot("sessions-segment-filter")
	b.noErrors()
}

// TestBrowserInvite: an admin invites someone as a viewer; the invitee
// opens the link, sets a password and lands in the project as a viewer;
// invited to a second project with the same address, they enter their
// password and land in that project.
func TestBrowserInvite(t *testing.T) {
	f := startFlowApp(t)
	beta, _, err := f.app.CreateProject(context.Background(), "Beta")
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	logIn(b, f.base, flowAdmin, flowPassword)

	invite := func(pid int64, email, role string) string {
		t.Helper()
		b.do(chromedp.Navigate(fmt.Sprintf("%s/p/%d/settings?tab=members", f.base, pid)))
		b.wait("the invite form", `!!document.querySelector('input[type=email][placeholder="name@example.com"]')`, 20*time.Second)
		b.do(set(`input[type=email][placeholder="name@example.com"]`, email))
		b.do(chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const s = [...document.querySelectorAll('form select')].find((s) => [...s.options].some((o) => o.value === 'viewer')); const set = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, 'value').set; set.call(s, %q); s.dispatchEvent(new Event('change', {bubbles: true})); })()`, role)))
		b.do(clickText("Invite"))
		b.wait("the invitation link", `!!document.querySelector('form [role=status] code')`, 10*time.Second)
		link := eval[string](b, `document.querySelector('form [role=status] code').textContent`)
		if !strings.HasPrefix(link, f.base+"/invite/") {
			t.Fatalf("invitation link %q", link)
		}
		b.wait("the pending invitation", fmt.Sprintf(`document.body.innerText.includes('Pending invitations') && document.body.innerText.includes(%q)`, email), 10*time.Second)
		return link
	}
	link := invite(f.proj.ID, "nia@example.com", "viewer")
	b.shot("invite-created")
	b.do(clickText("Log out"))
	b.wait("the login page", `location.pathname === '/login'`, 20*time.Second)

	// The invitee opens the link.
	b.do(chromedp.Navigate(link))
	b.wait("the invitation page", `document.body.innerText.includes('Join Ridgeline Supply') && document.body.innerText.includes('nia@example.com') && !!document.querySelector('input[name=password]')`, 20*time.Second)
	if !eval[bool](b, `document.body.innerText.includes('viewer')`) {
		t.Fatal("the invitation page does not name the role")
	}
	b.shot("invite-page")
	b.do(set("input[name=name]", "Nia"), set("input[name=password]", "nia's own password"), click("form button[type=submit]"))
	b.wait("the project's overview", fmt.Sprintf(`location.pathname === '/p/%d/overview'`, f.proj.ID), 20*time.Second)
	type meAnswer struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
		Projects []struct {
			ID   int64  `json:"id"`
			Role string `json:"role"`
		} `json:"projects"`
	}
	me := func() meAnswer {
		ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
		defer cancel()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch('/api/me').then((r) => r.text())`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		var m meAnswer
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("/api/me: %v in %s", err, s)
		}
		return m
	}
	if m := me(); m.User.Email != "nia@example.com" || len(m.Projects) != 1 || m.Projects[0].ID != f.proj.ID || m.Projects[0].Role != "viewer" {
		t.Fatalf("after accepting: %+v", m)
	}
	// A viewer sees no editing controls.
	b.do(chromedp.Navigate(f.page("actions")))
	b.wait("the actions page", `document.querySelector('main h1')?.textContent === 'Actions' && !document.querySelector('main [role=status] .spinner')`, 20*time.Second)
	if eval[bool](b, `document.body.innerText.includes('+ New action')`) {
		t.Fatal("a viewer is offered to create actions")
	}
	b.shot("invitee-viewer")

	// A second invitation for the same address, to another project: the
	// existing password, and the landing is in that project.
	b.do(clickText("Log out"))
	logIn(b, f.base, flowAdmin, flowPassword)
	link = invite(beta.ID, "nia@example.com", "member")
	b.do(clickText("Log out"))
	b.wait("the login page", `location.pathname === '/login'`, 20*time.Second)
	b.do(chromedp.Navigate(link))
	b.wait("the invitation for an existing account", `document.body.innerText.includes('Join Beta') && document.body.innerText.includes('Enter your password') && !document.querySelector('input[name=name]')`, 20*time.Second)
	b.do(set("input[name=password]", "nia's own password"), click("form button[type=submit]"))
	b.wait("Beta's overview", fmt.Sprintf(`location.pathname === '/p/%d/overview'`, beta.ID), 20*time.Second)
	m := me()
	roles := map[int64]string{}
	for _, p := range m.Projects {
		roles[p.ID] = p.Role
	}
	if roles[f.proj.ID] != "viewer" || roles[beta.ID] != "member" {
		t.Fatalf("after the second invitation: %+v", m)
	}
	b.noErrors()
}

// TestBrowserDashboardAutoRefresh: an insight saved to a new dashboard from
// the builder; with auto-refresh on, the tile shows new events without a
// reload of the page.
func TestBrowserDashboardAutoRefresh(t *testing.T) {
	f := startFlowApp(t)
	b := newBrowser(t)
	send := func(n int, from int) {
		t.Helper()
		var evs []string
		now := time.Now().UnixMilli()
		for i := range n {
			evs = append(evs, fmt.Sprintf(`{"uuid":"0193a1b2-c3d4-7e5f-8a6b-%012d","event":"signup","distinct_id":"p%d","url":"https://shop.example/signup","timestamp":%d}`, from+i, from+i, now-int64(i)))
		}
		res, err := http.Post(f.app.URL()+"/api/capture", "application/json", strings.NewReader(fmt.Sprintf(`{"token":%q,"events":[%s]}`, f.proj.Token, strings.Join(evs, ","))))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("capture: %v %v", res, err)
		}
		res.Body.Close()
		f.flush()
	}
	send(3, 1)
	logIn(b, f.base, flowAdmin, flowPassword)

	q := `{"kind":"trends","series":[{"event":"signup","math":"events"}],"interval":"day"}`
	b.do(chromedp.Navigate(f.page("insights/new?q=" + url.QueryEscape(q))))
	b.wait("the insight", `!!document.querySelector('[data-testid=insight-result] .legend [data-total]')`, 30*time.Second)
	b.do(clickText("Save insight"))
	b.wait("the save dialog", `!!document.querySelector('dialog[open] input[name=insight-name]')`, 5*time.Second)
	b.do(set("dialog input[name=insight-name]", "Signups"), set("dialog select[name=dashboard]", "new"))
	b.wait("the dashboard name field", `!!document.querySelector('dialog input[name=dashboard-name]')`, 5*time.Second)
	b.do(set("dialog input[name=dashboard-name]", "Growth"), click("dialog button[type=submit]"))
	b.wait("the new dashboard", `/\/dashboards\/\d+/.test(location.pathname) && document.querySelector('main h1')?.textContent === 'Growth'`, 20*time.Second)
	tile := `document.querySelector('section[aria-label="Signups"] .legend [data-total]')`
	b.wait("the tile", tile, 30*time.Second)
	if n := eval[int](b, `Number(`+tile+`.dataset.total)`); n != 3 {
		t.Fatalf("the tile shows %d signups, want 3", n)
	}
	b.do(set(`select:has(option[value="10"])`, "10"))
	b.wait("auto-refresh in the URL", `location.search.includes('refresh=10')`, 5*time.Second)
	b.do(chromedp.Evaluate[chromedp.Void](`window.__notReloaded = true`))
	updated := eval[string](b, `document.querySelector('[data-testid=refreshed-at]').textContent`)
	b.shot("dashboard-before")

	send(4, 100)
	b.wait("the tile to count the new signups", `Number(`+tile+`?.dataset.total) === 7`, 45*time.Second)
	if !eval[bool](b, `window.__notReloaded === true`) {
		t.Fatal("the page was reloaded")
	}
	if now := eval[string](b, `document.querySelector('[data-testid=refreshed-at]').textContent`); now == updated {
		t.Fatalf("the refresh time still says %q", now)
	}
	b.shot("dashboard-after")
	b.noErrors()
}

// TestBrowserHeatmapWithoutRecording: a page with clicks but no recording
// (seeded traffic has none; so do projects with replays off) still shows
// its click heat, on a blank page, with the API's count.
func TestBrowserHeatmapWithoutRecording(t *testing.T) {
	f := startFlowApp(t)
	f.seed(4000)
	h := f.heatmap("/demo/search")
	if h.Clicks == 0 {
		t.Fatal("the seeded traffic has no clicks on /demo/search")
	}
	b := newBrowser(t)
	logIn(b, f.base, flowAdmin, flowPassword)
	b.do(chromedp.Navigate(f.page("heatmaps?from=-30d&url=" + url.QueryEscape("/demo/search"))))
	b.wait("heat on a blank page", `(() => { const c = document.querySelector('[data-testid=heat-blank] canvas'); if (!c || !c.width) return false;
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
		for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n > 100; })()`, 40*time.Second)
	if !eval[bool](b, `document.body.innerText.includes('No recording of this page yet')`) {
		t.Fatal("the page does not say that it has no recording")
	}
	if got := eval[int64](b, `Number(document.querySelector('[data-testid=heat-legend]').dataset.total)`); got != h.Clicks {
		t.Fatalf("the legend counts %d clicks, the query API %d", got, h.Clicks)
	}
	b.shot("heat-blank")
	b.noErrors()
}
