package sdk_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAPI checks the consent and identity options end to end:
// cookieless mode stores nothing, opting out persists across reloads,
// Global Privacy Control is honored when asked, and the ESM build works
// without any global.
func TestBrowserAPI(t *testing.T) {
	ctx := browser(t)
	h := newHarness(t, nil)
	page := func(opts string, extra string) string {
		return h.site.URL + "/api.html?o=" + url.QueryEscape(opts) + extra
	}
	count := func(name string) int {
		n := 0
		for _, r := range h.events() {
			if r.Event == name {
				n++
			}
		}
		return n
	}

	// Cookieless: events flow, storage stays empty, every load is a new visitor.
	run(t, ctx, chromedp.Navigate(page(`{"cookieless":true}`, "")), waitSDK(), js(`sightline.track('cl-1')`))
	id1 := eval[string](t, ctx, `sightline.getDistinctId()`)
	keys := eval[[]string](t, ctx, `Object.keys(localStorage).concat(Object.keys(sessionStorage))`)
	run(t, ctx, chromedp.Navigate(page(`{"cookieless":true}`, "")), waitSDK(), js(`sightline.track('cl-2')`))
	id2 := eval[string](t, ctx, `sightline.getDistinctId()`)
	if len(keys) != 0 {
		t.Errorf("cookieless mode wrote storage keys %q", keys)
	}
	if id1 == id2 {
		t.Errorf("cookieless mode kept distinct id %s across page loads", id1)
	}
	run(t, ctx, js(`sightline.flush()`))
	h.waitEvents(hasEvent("cl-2", 1))

	// Opt out, persisted across a reload; opt in again.
	run(t, ctx, chromedp.Navigate(page(`{}`, "")), waitSDK(),
		js(`sightline.optOut(); sightline.track('opted-out')`))
	run(t, ctx, chromedp.Navigate(page(`{}`, "&reload=1")), waitSDK())
	if !eval[bool](t, ctx, `sightline.hasOptedOut()`) {
		t.Error("opt-out not remembered across page loads")
	}
	run(t, ctx, js(`sightline.track('still-out'); sightline.optIn(); sightline.track('opted-in'); sightline.flush()`))
	h.waitEvents(hasEvent("opted-in", 1))

	// Global Privacy Control, honored only when asked.
	run(t, ctx, chromedp.Navigate(page(`{"respectDoNotTrack":true}`, "&gpc=1")), waitSDK(),
		js(`sightline.track('gpc-respected'); sightline.flush()`))
	run(t, ctx, chromedp.Navigate(page(`{}`, "&gpc=1")), waitSDK(),
		js(`sightline.track('gpc-ignored'); sightline.flush()`))
	h.waitEvents(hasEvent("gpc-ignored", 1))

	// A quick back across full page loads (a back/forward load or a page
	// restored from the back/forward cache, whichever Chromium does).
	run(t, ctx, chromedp.Navigate(page(`{}`, "&step=a")), waitSDK(),
		chromedp.Navigate(page(`{}`, "&step=b")), waitSDK(),
		chromedp.Sleep(500*time.Millisecond),
		chromedp.NavigateBack(), waitSDK(), js(`sightline.flush()`))
	back := h.waitEvents(hasEvent("$quickback", 1))
	for _, r := range back {
		if r.Event == "$quickback" && (!strings.Contains(r.URL, "step=b") || !strings.Contains(fmt.Sprint(r.Props["$back_to"]), "step=a")) {
			t.Errorf("quick back from %s to %v, want from step b to step a", r.URL, r.Props["$back_to"])
		}
	}

	// The ESM build: no global, same events.
	run(t, ctx, chromedp.Navigate(h.site.URL+"/esm.html"),
		chromedp.Poll[chromedp.Void](`document.documentElement.dataset.ready === '1'`, chromedp.WithPollingTimeout(20*time.Second)),
		js(`document.getElementById('b').click()`),
		chromedp.Navigate(h.site.URL+"/done.html"))
	rows := h.waitEvents(hasEvent("esm-loaded", 1))

	for name, want := range map[string]int{"cl-1": 1, "cl-2": 1, "opted-out": 0, "still-out": 0, "opted-in": 1, "gpc-respected": 0, "gpc-ignored": 1} {
		if got := count(name); got != want {
			t.Errorf("%s stored %d times, want %d", name, got, want)
		}
	}
	for _, r := range rows {
		if r.Event == "esm-loaded" && r.Props["global"] != "undefined" {
			t.Errorf("the ESM build set window.sightline (%v)", r.Props["global"])
		}
		if strings.HasSuffix(r.Path, "/esm.html") && r.Event == "$click" && r.Selector != "#b" {
			t.Errorf("ESM click selector %q", r.Selector)
		}
	}
}
