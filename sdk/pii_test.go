package sdk_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sightline-analytics/sightline/meta"
)

// TestBrowserPII types secrets into a form and shows an email address in
// page text, in every masking mode, and searches every byte the server
// received (events and replay chunks, decompressed) for them.
func TestBrowserPII(t *testing.T) {
	// Typed into fields: never sent in any mode.
	typed := map[string]string{
		"#password": "hunter2-Secret!",
		"#card":     "4111 1111 1111 1111",
		"#email":    "typed.user@example.org",
		"#ssn":      "078-05-1120",
		"#comment":  "plain comment text",
		"#search":   "unmasked search words",
	}
	never := []string{
		"hunter2-Secret!", "4111 1111 1111 1111", "4111111111111111", "typed.user@example.org",
		"078-05-1120", "078051120", "plain comment text",
		"jane.doe%40example.com", // the email in the page's query string
		"NOCAPTURETEXT",          // inside data-sl-no-capture
		"CLOAKEDWORDS",           // inside data-sl-mask
	}
	const pageEmail = "jane.doe@example.com"
	tests := []struct {
		mode meta.MaskingMode
		// Whether these strings reach the replay (true) or must not (false).
		replay map[string]bool
	}{
		{meta.MaskingStrict, map[string]bool{
			pageEmail: false, "Welcome to the PII test page": false, "UNMASKEDTEXT": true, "unmasked search words": false,
		}},
		{meta.MaskingBalanced, map[string]bool{
			pageEmail: false, "Welcome to the PII test page": true, "UNMASKEDTEXT": true, "unmasked search words": true,
		}},
		{meta.MaskingRelaxed, map[string]bool{
			pageEmail: true, "Welcome to the PII test page": true, "UNMASKEDTEXT": true, "unmasked search words": true,
		}},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			ctx := browser(t)
			h := newHarness(t, func(s *meta.ProjectSettings) {
				s.MaskingMode = tc.mode
				s.ReplayEnabled = true
				s.ReplaySampleRate = 1
			})
			run(t, ctx,
				chromedp.Navigate(h.site.URL+"/pii.html?ref=mail&email=jane.doe%40example.com"),
				waitSDK(),
				chromedp.Poll[chromedp.Void](`performance.getEntriesByType('resource').some(e => e.name.endsWith('/sdk/recorder.js'))`,
					chromedp.WithPollingTimeout(20*time.Second)),
				chromedp.Sleep(500*time.Millisecond),
			)
			for _, sel := range []string{"#password", "#card", "#email", "#ssn", "#comment", "#search"} {
				run(t, ctx, typeInto(sel, typed[sel]))
			}
			run(t, ctx,
				js(`document.activeElement.blur()`),
				chromedp.Click(chromedp.CSS("#contact")),
				chromedp.Click(chromedp.CSS("#secret-btn")),
				chromedp.Click(chromedp.CSS("#masked")),
				chromedp.Sleep(500*time.Millisecond),
				chromedp.Navigate(h.site.URL+"/done.html"),
			)
			// Wait until the page's last events and replay chunk arrived.
			h.waitEvents(hasEvent("$pageleave", 1))
			for range 120 {
				if len(h.front.requests("/api/replay")) > 0 && strings.Contains(bodies(h, "/api/replay"), `"source":5`) {
					break
				}
				time.Sleep(250 * time.Millisecond)
			}

			events, replays := bodies(h, "/api/capture"), bodies(h, "/api/replay")
			if !strings.Contains(events, `"$click"`) || !strings.Contains(replays, `"type":2`) {
				t.Fatalf("the server did not receive clicks and a full snapshot (events %d bytes, replay %d bytes)", len(events), len(replays))
			}
			all := events + replays + queries(h)
			for _, s := range never {
				if strings.Contains(all, s) {
					t.Errorf("%q reached the server: %s", s, around(all, s))
				}
			}
			if strings.Contains(events, pageEmail) {
				t.Errorf("the page's email reached the events: %s", around(events, pageEmail))
			}
			for s, want := range tc.replay {
				if got := strings.Contains(replays, s); got != want {
					t.Errorf("replay contains %q: %v, want %v", s, got, want)
				}
			}
			// The click inside data-sl-no-capture produced no event.
			if strings.Contains(events, "secret-btn") {
				t.Error("a click inside data-sl-no-capture was captured")
			}
		})
	}
}

// bodies joins the decompressed bodies of the requests under prefix.
func bodies(h *harness, prefix string) string {
	var b strings.Builder
	for _, r := range h.front.requests(prefix) {
		b.Write(r.Body)
		b.WriteByte('\n')
	}
	return b.String()
}

func queries(h *harness) string {
	var b strings.Builder
	for _, r := range h.front.requests("/") {
		b.WriteString(r.Path + "?" + r.Query + "\n")
	}
	return b.String()
}

func around(s, sub string) string {
	i := strings.Index(s, sub)
	if i < 0 {
		return ""
	}
	lo, hi := max(0, i-120), min(len(s), i+len(sub)+120)
	return "…" + s[lo:hi] + "…"
}
