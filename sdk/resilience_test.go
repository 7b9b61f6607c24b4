package sdk_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sightline-analytics/sightline/meta"
)

// provoke makes the SDK fail inside in every way a page can cause: values
// JSON cannot carry, arguments that throw when read, a DOM method that
// throws under the click handler, and storage that refuses writes. It
// returns the calls that threw into the page (none should).
const provoke = `(() => {
  const thrown = [];
  const attempt = (name, f) => { try { f(); } catch (e) { thrown.push(name + ': ' + e); } };
  const circular = {}; circular.self = circular;
  const evil = { toString() { throw new Error('evil toString'); } };
  attempt('track circular', () => sightline.track('circular', circular));
  attempt('track evil name', () => sightline.track(evil));
  attempt('identify evil', () => sightline.identify(evil));
  attempt('register circular', () => sightline.register(circular));
  attempt('track bigint', () => sightline.track('bigint', { n: 10n }));
  const rect = Element.prototype.getBoundingClientRect;
  Element.prototype.getBoundingClientRect = () => { throw new Error('broken layout'); };
  attempt('click with broken layout', () => document.getElementById('promo').dispatchEvent(
    new MouseEvent('click', { bubbles: true, detail: 1, clientX: 300, clientY: 350 })));
  Element.prototype.getBoundingClientRect = rect;
  const setItem = Storage.prototype.setItem;
  Storage.prototype.setItem = () => { throw new DOMException('full', 'QuotaExceededError'); };
  attempt('track with full storage', () => sightline.track('storage-full'));
  Storage.prototype.setItem = setItem;
  return thrown;
})()`

// TestBrowserResilience takes the server away for 10 s mid-journey, with a
// reload in between, and checks that every event arrives exactly once; and
// that failures inside the SDK never reach the page.
func TestBrowserResilience(t *testing.T) {
	ctx := browser(t)
	h := newHarness(t, func(s *meta.ProjectSettings) { s.ReplayEnabled = false })

	run(t, ctx, chromedp.Navigate(h.site.URL+"/shop/"), waitSDK())
	if thrown := eval[[]string](t, ctx, provoke); len(thrown) > 0 {
		t.Errorf("SDK calls threw into the page: %q", thrown)
	}
	run(t, ctx, js(`sightline.track('up-1')`), js(`sightline.flush()`))
	h.waitEvents(hasEvent("up-1", 1))

	h.front.down()
	downAt := time.Now()
	run(t, ctx,
		js(`sightline.track('down-1')`),
		click(150, 210),
		js(`sightline.track('down-2')`),
		js(`sightline.flush()`),
		chromedp.Sleep(3*time.Second),
	)
	if errs := eval[[]string](t, ctx, `__errors`); len(errs) > 0 {
		t.Errorf("errors reached window.onerror: %q", errs)
	}
	extra := eval[[]string](t, ctx, `Object.getOwnPropertyNames(window).filter(n => !__globals.includes(n))`)
	if strings.Join(extra, ",") != "sightline" {
		t.Errorf("globals added to window: %q, want only sightline", extra)
	}
	// A reload while the server is away: the SDK comes from the browser's
	// cache and queues the new page's events behind the last page's, all in
	// localStorage, until the server is back.
	run(t, ctx, chromedp.Reload())
	time.Sleep(10*time.Second - time.Since(downAt))
	h.front.up()

	run(t, ctx,
		chromedp.Reload(),
		waitSDK(),
		js(`sightline.track('after-up')`),
		js(`sightline.flush()`),
		chromedp.Sleep(500*time.Millisecond),
	)
	if errs := eval[[]string](t, ctx, `__errors`); len(errs) > 0 {
		t.Errorf("errors reached window.onerror: %q", errs)
	}
	run(t, ctx, chromedp.Navigate(h.site.URL+"/done.html"))

	want := []exp{
		{Event: "$pageview", Path: "/shop/", AnyXY: true, Props: map[string]any{"$nav": "load"}},
		{Event: "storage-full", Path: "/shop/", AnyXY: true},
		{Event: "up-1", Path: "/shop/", AnyXY: true},
		{Event: "down-1", Path: "/shop/", AnyXY: true},
		click_("/shop/", "#add-to-cart", 150, 210, 0.25, 0.25, true),
		{Event: "down-2", Path: "/shop/", AnyXY: true},
		{Event: "$pageleave", Path: "/shop/", AnyXY: true},
		{Event: "$pageview", Path: "/shop/", AnyXY: true, Props: map[string]any{"$nav": "load"}}, // reloaded while down
		{Event: "$pageleave", Path: "/shop/", AnyXY: true},
		{Event: "$pageview", Path: "/shop/", AnyXY: true, Props: map[string]any{"$nav": "load"}},
		{Event: "after-up", Path: "/shop/", AnyXY: true},
		{Event: "$pageleave", Path: "/shop/", AnyXY: true},
	}
	h.waitEvents(func(rows []row) bool { return len(rows) >= len(want) && hasEvent("$pageleave", 3)(rows) })
	time.Sleep(time.Second)
	rows := h.events()
	matchEvents(t, rows, want)
	seen := map[string]bool{}
	for _, r := range rows {
		if seen[r.UUID] {
			t.Errorf("event %s stored twice", r.UUID)
		}
		seen[r.UUID] = true
	}
	if n := len(h.front.requests("/api/capture")); n < 3 {
		t.Errorf("only %d capture requests reached the server", n)
	}
}
