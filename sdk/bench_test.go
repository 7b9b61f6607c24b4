package sdk_test

// Browser benchmarks on the demo shop (package demo), run on demand:
//
//	go test ./sdk -run '^$' -bench Browser -benchtime 1x
//
// They report the SDK's main-thread cost per click and the replay bytes
// per minute of a scripted visit; BENCHMARKS.md keeps the figures.

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"

	"github.com/sightline-analytics/sightline/demo"
	"github.com/sightline-analytics/sightline/sdk"
)

// demoSite serves the demo shop at /demo/ on the harness's site server,
// with the snippet (withSDK) or without.
func demoSite(h *harness, withSDK bool) string {
	snippet := ""
	if withSDK {
		snippet = sdk.Snippet(h.front.URL(), h.project.Token)
	}
	var handler http.Handler = http.StripPrefix("/demo", demo.HandlerWithSnippet(snippet))
	h.demo.Store(&handler)
	return h.site.URL + "/demo/"
}

// metrics reads the renderer's cumulative timing metrics (seconds).
func metrics(b *testing.B, ctx context.Context) map[string]float64 {
	m, err := chromedp.Call(ctx, performance.GetMetrics, cdp.Empty{})
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]float64{}
	for _, x := range m.Metrics {
		out[x.Name] = x.Value
	}
	return out
}

// syncClick times the click handlers alone: synthetic clicks dispatched on
// the page's non-navigating elements, in microseconds per click.
const syncClick = `(() => {
  const els = [...document.querySelectorAll('h1, h2, .hero p, .price, .name, .site-footer p, .cta')];
  const t0 = performance.now();
  for (let i = 0; i < 500; i++) {
    const el = els[i % els.length], r = el.getBoundingClientRect();
    el.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, detail: 1,
      clientX: r.left + 5 + (i % 7) * 40, clientY: r.top + 5}));
  }
  return (performance.now() - t0) / 500 * 1000;
})()`

// clickCost clicks (real input events, 20 ms apart) over the demo home
// page's non-navigating elements and returns the main-thread JavaScript
// time per click, including what the clicks cause afterwards (timers,
// observers, batching, uploads) within 3 s; and the synchronous handler
// time per click.
func clickCost(b *testing.B, ctx context.Context, url string, clicks int) (script, sync float64) {
	run(b, ctx, chromedp.Navigate(url), chromedp.Sleep(3*time.Second),
		// Keep clicks from following links or submitting forms.
		js(`window.addEventListener('click', e => e.preventDefault(), true)`))
	if _, err := chromedp.Call(ctx, performance.Enable, performance.EnableParams{}); err != nil {
		b.Fatal(err)
	}
	points := eval[[][2]float64](b, ctx, `[...document.querySelectorAll('h1, h2, .hero p, .price, .name, .site-footer p, #newsletter-email, .cta')]
		.map(e => e.getBoundingClientRect()).filter(r => r.top > 0 && r.bottom < innerHeight)
		.map(r => [Math.round(r.left + r.width / 2), Math.round(r.top + r.height / 2)])`)
	if len(points) < 4 {
		b.Fatalf("too few click targets on the page: %v", points)
	}
	before := metrics(b, ctx)
	for i := range clicks {
		p := points[i%len(points)]
		run(b, ctx, chromedp.MouseClickXY(p[0], p[1]), chromedp.Sleep(20*time.Millisecond))
	}
	run(b, ctx, chromedp.Sleep(3*time.Second))
	after := metrics(b, ctx)
	script = (after["ScriptDuration"] - before["ScriptDuration"]) / float64(clicks)
	return script, eval[float64](b, ctx, syncClick) / 1e6
}

// BenchmarkBrowserClick reports the SDK's main-thread time per click on
// the demo shop, replay recording on: JavaScript time with the SDK minus
// the same clicks without it ("sdk-script"), and the synchronous click
// handler time alone ("sdk-sync").
func BenchmarkBrowserClick(b *testing.B) {
	ctx := browser(b)
	h := newHarness(b, nil)
	const clicks = 200
	var script, sync float64
	n := 0
	for b.Loop() {
		s0, y0 := clickCost(b, ctx, demoSite(h, false), clicks)
		s1, y1 := clickCost(b, ctx, demoSite(h, true), clicks)
		script += s1 - s0
		sync += y1 - y0
		n++
	}
	b.ReportMetric(script/float64(n)*1e6, "sdk-script-µs/click")
	b.ReportMetric(sync/float64(n)*1e6, "sdk-sync-µs/click")
}

// BenchmarkBrowserReplay scripts one minute of a visit to the demo shop
// (pointer moving, clicks, scrolling, typing, three page loads) and reports
// the replay bytes the server received (as sent: gzip'd chunks, plus the
// uncompressed chunk a page sends by beacon when it unloads) and stored.
func BenchmarkBrowserReplay(b *testing.B) {
	ctx := browser(b)
	h := newHarness(b, nil)
	base := demoSite(h, true)
	var wire, stored int64
	var minutes float64
	for b.Loop() {
		h.front.mu.Lock()
		h.front.reqs = nil
		h.front.mu.Unlock()
		start := time.Now()
		pages := []string{"", "product/alpine-shell-jacket", "cart"}
		for i, p := range pages {
			run(b, ctx, chromedp.Navigate(base+p), waitSDK())
			deadline := start.Add(time.Duration(i+1) * 20 * time.Second)
			for step := 0; time.Now().Before(deadline); step++ {
				x, y := 200+float64((step*37)%800), 150+float64((step*53)%500)
				actions := []chromedp.Action[chromedp.Void]{move(x, y), chromedp.Sleep(50 * time.Millisecond)}
				switch {
				case step%60 == 30:
					actions = append(actions, js(`window.scrollBy(0, 300)`))
				case step%40 == 20:
					actions = append(actions, js(`window.addEventListener('click', e => e.preventDefault(), true)`), chromedp.MouseClickXY(x, y))
				case step%100 == 50:
					actions = append(actions, typeInto(`#q`, "rain jacket"))
				}
				run(b, ctx, actions...)
			}
		}
		run(b, ctx, chromedp.Navigate(h.site.URL+"/done.html"), chromedp.Sleep(2*time.Second))
		minutes += time.Since(start).Minutes()
		for _, r := range h.front.requests("/api/replay") {
			wire += int64(r.Raw)
		}
	}
	keys, err := h.blobs.List(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range keys {
		blob, _ := h.blobs.Get(context.Background(), k)
		stored += int64(len(blob))
	}
	b.ReportMetric(float64(wire)/minutes, "wire-B/min")
	b.ReportMetric(float64(stored)/minutes, "stored-B/min")
	b.Logf("%d chunks stored over %.1f minutes", len(keys), minutes)
}
