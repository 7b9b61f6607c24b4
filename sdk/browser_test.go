package sdk_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// exp is an expected stored event. Selector and coordinates must match
// exactly (coordinates are page pixels; offsets are fractions of the
// target's box) unless AnyXY; Props lists properties that must be present
// with these values (JSON numbers compare as float64).
type exp struct {
	Event, Path, Selector string
	X, Y, OX, OY          float64
	AnyXY                 bool
	Props                 map[string]any
	check                 func(r row) error
}

func (e exp) key() string { return e.Event + " " + e.Path + " " + e.Selector }

func (e exp) match(r row) error {
	if r.Event != e.Event || r.Path != e.Path || r.Selector != e.Selector {
		return fmt.Errorf("is %s %s %q", r.Event, r.Path, r.Selector)
	}
	if !e.AnyXY && (r.X != e.X || r.Y != e.Y || r.OffsetX != e.OX || r.OffsetY != e.OY) {
		return fmt.Errorf("at (%v,%v) offset (%v,%v), want (%v,%v) offset (%v,%v)", r.X, r.Y, r.OffsetX, r.OffsetY, e.X, e.Y, e.OX, e.OY)
	}
	for k, v := range e.Props {
		if got := r.Props[k]; fmt.Sprint(got) != fmt.Sprint(v) {
			return fmt.Errorf("property %s = %v, want %v", k, got, v)
		}
	}
	if e.check != nil {
		return e.check(r)
	}
	return nil
}

// thrash moves the pointer back and forth n times between x1 and x2.
func thrash(x1, x2, y float64, n int) chromedp.Action[chromedp.Void] {
	var steps []chromedp.Action[chromedp.Void]
	for i := range n {
		x := x1
		if i%2 == 1 {
			x = x2
		}
		steps = append(steps, move(x, y))
	}
	return chromedp.Steps(steps...)
}

func click_(path, sel string, x, y, ox, oy float64, interactive bool) exp {
	return exp{Event: "$click", Path: path, Selector: sel, X: x, Y: y, OX: ox, OY: oy, Props: map[string]any{"$interactive": interactive}}
}

// TestBrowserJourney drives the fixture shop like a person would and checks
// that exactly the expected events are stored, with their selectors and
// coordinates.
func TestBrowserJourney(t *testing.T) {
	ctx := browser(t)
	h := newHarness(t, nil)

	run(t, ctx,
		chromedp.Navigate(h.site.URL+"/shop/"),
		waitSDK(),
		js(`sightline.identify('user-42', {plan: 'pro'}); sightline.release('1.2.3')`),
		// Scroll to 80 % of the page and back, for $pageleave's depth.
		js(`window.scrollTo(0, 3000 * 0.8 - innerHeight)`),
		chromedp.Sleep(300*time.Millisecond),
		js(`window.scrollTo(0, 0)`),
		chromedp.Sleep(300*time.Millisecond),
		// A working button: it adds to the cart (a DOM change), so not dead.
		click(150, 210),
		chromedp.Sleep(300*time.Millisecond),
		// Three quick clicks on the promo banner, which does nothing.
		click(300, 350), chromedp.MouseClickXY(300, 350), chromedp.MouseClickXY(300, 350),
		chromedp.Sleep(1500*time.Millisecond),
		// The dead button: no reaction within 2.5 s.
		click(200, 470),
		chromedp.Sleep(3500*time.Millisecond),
		// The button that throws.
		click(500, 470),
		chromedp.Sleep(300*time.Millisecond),
		// A form filled in part, one field re-edited, then left.
		typeInto(`#signup input[name=name]`, "Ada"),
		typeInto(`#signup input[name=email]`, "ada@example.com"),
		typeInto(`#signup input[name=name]`, " Lovelace"),
		js(`document.activeElement.blur()`),
		// Hovering Help without clicking, then moving away.
		move(750, 470),
		chromedp.Sleep(2000*time.Millisecond),
		move(1000, 700),
		// A thrashed cursor over empty space.
		thrash(900, 1000, 700, 12),
		js(`sightline.track('coupon_viewed', {code: 'SUMMER'})`),
		// SPA navigation to the product page, and straight back: a quick back.
		click(190, 25),
		chromedp.Sleep(700*time.Millisecond),
		js(`history.back()`),
		chromedp.Sleep(700*time.Millisecond),
	)
	sessionID := eval[string](t, ctx, `sightline.getSessionId()`)
	pageErrors := eval[[]string](t, ctx, `__errors`)
	// Leaving the site: $pageleave goes out by beacon.
	run(t, ctx, chromedp.Navigate(h.site.URL+"/done.html"))
	if len(pageErrors) != 1 || !strings.Contains(pageErrors[0], "payment failed") {
		t.Errorf("page errors %q, want only the planted payment error", pageErrors)
	}

	want := []exp{
		{Event: "$pageview", Path: "/shop/", AnyXY: true, Props: map[string]any{"$nav": "load"}},
		{Event: "$identify", Path: "/shop/", AnyXY: true, check: func(r row) error {
			if r.DistinctID != "user-42" || r.Props["$anon_distinct_id"] == nil {
				return fmt.Errorf("identify: distinct_id %q, props %v", r.DistinctID, r.Props)
			}
			return nil
		}},
		{Event: "$release", Path: "/shop/", AnyXY: true, Props: map[string]any{"version": "1.2.3"}},
		click_("/shop/", "#add-to-cart", 150, 210, 0.25, 0.25, true),
		click_("/shop/", "#promo", 300, 350, 0.5, 0.5, false),
		click_("/shop/", "#promo", 300, 350, 0.5, 0.5, false),
		click_("/shop/", "#promo", 300, 350, 0.5, 0.5, false),
		{Event: "$rageclick", Path: "/shop/", Selector: "#promo", X: 300, Y: 350, OX: 0.5, OY: 0.5, Props: map[string]any{"$clicks": 3},
			check: func(r row) error {
				if !r.Rage {
					return fmt.Errorf("rage flag not set")
				}
				return nil
			}},
		click_("/shop/", "#apply-coupon", 200, 470, 0.5, 0.5, true),
		{Event: "$deadclick", Path: "/shop/", Selector: "#apply-coupon", X: 200, Y: 470, OX: 0.5, OY: 0.5, check: func(r row) error {
			if !r.Dead {
				return fmt.Errorf("dead flag not set")
			}
			return nil
		}},
		click_("/shop/", "#pay", 500, 470, 0.5, 0.5, true),
		{Event: "$errorclick", Path: "/shop/", Selector: "#pay", X: 500, Y: 470, OX: 0.5, OY: 0.5, check: func(r row) error {
			if !r.ErrorClick || !strings.Contains(fmt.Sprint(r.Props["$error_message"]), "payment failed") {
				return fmt.Errorf("error click: flag %v, props %v", r.ErrorClick, r.Props)
			}
			return nil
		}},
		{Event: "$error", Path: "/shop/", AnyXY: true, Props: map[string]any{"$kind": "error"}, check: func(r row) error {
			m := fmt.Sprint(r.Props["$message"])
			if !strings.Contains(m, "payment failed for card *") || strings.Contains(m, "4111") {
				return fmt.Errorf("error message %q: want the card number masked", m)
			}
			return nil
		}},
		{Event: "$change", Path: "/shop/", Selector: "#signup > input:nth-of-type(1)", AnyXY: true, Props: map[string]any{"$field_name": "name", "$form_id": "signup"}},
		{Event: "$change", Path: "/shop/", Selector: "#signup > input:nth-of-type(1)", AnyXY: true, Props: map[string]any{"$field_name": "name"}},
		{Event: "$change", Path: "/shop/", Selector: "#signup > input:nth-of-type(3)", AnyXY: true, Props: map[string]any{"$field_name": "email", "$field_type": "email"}},
		{Event: "$hesitation", Path: "/shop/", Selector: "#help", X: 750, Y: 470, OX: 0.5, OY: 0.5, Props: map[string]any{"$clicked": false},
			check: func(r row) error {
				if ms, _ := r.Props["$hover_ms"].(float64); ms < 1500 {
					return fmt.Errorf("hover %v ms", r.Props["$hover_ms"])
				}
				return nil
			}},
		{Event: "$thrash", Path: "/shop/", AnyXY: true, check: func(r row) error {
			if (r.X != 900 && r.X != 1000) || r.Y != 700 {
				return fmt.Errorf("thrash at (%v,%v)", r.X, r.Y)
			}
			if n, _ := r.Props["$direction_changes"].(float64); n < 10 {
				return fmt.Errorf("direction changes %v", r.Props["$direction_changes"])
			}
			return nil
		}},
		{Event: "coupon_viewed", Path: "/shop/", AnyXY: true, Props: map[string]any{"code": "SUMMER"}},
		click_("/shop/", "#nav-product", 190, 25, 0.5, 0.5, true),
		{Event: "$formabandon", Path: "/shop/", Selector: "#signup", AnyXY: true, Props: map[string]any{
			"$form_id": "signup", "$fields": 3, "$touched": []any{"name", "email"}, "$skipped": []any{"phone"},
			"$reedited": []any{"name"}, "$last_field": "email",
		}},
		{Event: "$pageleave", Path: "/shop/", AnyXY: true, check: func(r row) error {
			if pct, _ := r.Props["$max_scroll_pct"].(float64); pct < 80 {
				return fmt.Errorf("max scroll %v%%, want >= 80", r.Props["$max_scroll_pct"])
			}
			return nil
		}},
		{Event: "$pageview", Path: "/shop/product", AnyXY: true, Props: map[string]any{"$nav": "push"}},
		{Event: "$quickback", Path: "/shop/product", AnyXY: true, check: func(r row) error {
			if !strings.HasSuffix(fmt.Sprint(r.Props["$back_to"]), "/shop/") {
				return fmt.Errorf("$back_to %v", r.Props["$back_to"])
			}
			return nil
		}},
		{Event: "$pageleave", Path: "/shop/product", AnyXY: true},
		{Event: "$pageview", Path: "/shop/", AnyXY: true, Props: map[string]any{"$nav": "pop"}},
		{Event: "$pageleave", Path: "/shop/", AnyXY: true},
	}

	h.waitEvents(func(rows []row) bool { return len(rows) >= len(want) && hasEvent("$pageleave", 3)(rows) })
	// Give stragglers (duplicates, unexpected extras) a moment to show up.
	time.Sleep(time.Second)
	rows := h.events()
	matchEvents(t, rows, want)

	for _, r := range rows {
		if r.SessionID != sessionID {
			t.Errorf("%s: session %q, want %q", r.Event, r.SessionID, sessionID)
		}
		if r.Event == "$click" && r.Selector == "#add-to-cart" && (!strings.Contains(r.Chain, "add-to-cart") || !strings.Contains(r.Chain, "Add to cart")) {
			t.Errorf("element chain %q lacks the button's id and text", r.Chain)
		}
		if r.Event == "$click" && r.Selector == "#promo" && strings.Contains(r.Chain, "sales@shop.test") {
			t.Errorf("element chain %q carries an email address", r.Chain)
		}
	}
	// Page views in order: load, push, pop.
	var views []string
	for _, r := range rows {
		if r.Event == "$pageview" {
			views = append(views, fmt.Sprint(r.Path, " ", r.Props["$nav"]))
		}
	}
	if got := strings.Join(views, ", "); got != "/shop/ load, /shop/product push, /shop/ pop" {
		t.Errorf("page views in order: %s", got)
	}
	for _, req := range h.front.requests("/api/capture") {
		if strings.Contains(string(req.Body), "ada@example.com") || strings.Contains(string(req.Body), "Lovelace") {
			t.Errorf("a typed value reached the server: %.200s", req.Body)
		}
	}
}

// matchEvents checks that rows are exactly want, as multisets: every
// expected event matched by one stored event, and nothing else stored.
func matchEvents(t *testing.T, rows []row, want []exp) {
	t.Helper()
	used := make([]bool, len(rows))
	var missing []string
	for _, w := range want {
		found := false
		var why []string
		for i, r := range rows {
			if used[i] || r.Event != w.Event || r.Path != w.Path || r.Selector != w.Selector {
				continue
			}
			if err := w.match(r); err != nil {
				why = append(why, err.Error())
				continue
			}
			used[i], found = true, true
			break
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%s (%s)", w.key(), strings.Join(why, "; ")))
		}
	}
	var extra []string
	for i, r := range rows {
		if !used[i] {
			extra = append(extra, fmt.Sprintf("%s %s %q (%v,%v) %v", r.Event, r.Path, r.Selector, r.X, r.Y, r.Props))
		}
	}
	sort.Strings(extra)
	for _, m := range missing {
		t.Errorf("missing: %s", m)
	}
	for _, e := range extra {
		t.Errorf("unexpected: %s", e)
	}
}
