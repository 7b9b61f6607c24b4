package sdk_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sightline-analytics/sightline/meta"
)

// TestBrowserPII types secrets into a form, shows an email address in page
// text and plants secrets in attributes (in the page, and changed or added
// after recording began), in every masking mode, and searches every byte
// the server received (events and replay chunks, decompressed) for them.
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
		// Attributes, in the page and set or added after recording began.
		"attr.mailto@example.com", "added.mailto@example.com", // mailto: links
		"202-555-0147", "2025550147", // a tel: link
		"SRCTOKENVALUE", "SRCSETTOKENVALUE", "SRCSETSIGVALUE", "MUTATEDAUTHVALUE", "ADDEDTOKENVALUE", // credentials in src and srcset
		"4242 4242 4242 4242", "4000 0566 5566 5556", "5555 5555 5555 4444", // card numbers in aria-label and data-*
		"PREFILLEDVALUE", "MUTATEDVALUE", "HIDDENCSRFVALUE", // value attributes of fields
		"MASKEDATTRWORD", "MASKEDMUTATEDWORD", // attributes inside data-sl-mask
	}
	// Attribute text and emails in attributes follow the mode, as page text
	// does; events scrub emails from attributes in every mode.
	attrWords := []string{"ATTRTITLEWORD", "MUTATEDATTRWORD", "ADDEDARIAWORD"}
	attrEmails := []string{
		"title.owner@example.com", "alt.photo@example.com", "data.user@example.com", "placeholder.hint@example.com",
		"mutated.title@example.com", "added.title@example.com", "added.alt@example.com",
	}
	// What replays need to render stays as it is in every mode.
	rendering := []string{
		`"class":"keep-class"`, `"role":"note"`, "border-top: 2px solid red", `"type":"email"`,
		`"viewBox":"0 0 1024 768"`, `"d":"M10 20 30 40 50 60 70 80 90 100"`,
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
	for i := range tests {
		tc := &tests[i]
		for _, w := range attrWords {
			tc.replay[w] = tc.mode != meta.MaskingStrict
		}
		for _, e := range attrEmails {
			tc.replay[e] = tc.mode == meta.MaskingRelaxed
		}
		for _, r := range rendering {
			tc.replay[r] = true
		}
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
				js(mutateAttributes),
			)
			for _, sel := range []string{"#password", "#card", "#email", "#ssn", "#comment", "#search"} {
				run(t, ctx, typeInto(sel, typed[sel]))
			}
			run(t, ctx,
				js(`document.activeElement.blur()`),
				chromedp.Click(chromedp.CSS("#contact")),
				chromedp.Click(chromedp.CSS("#secret-btn")),
				chromedp.Click(chromedp.CSS("#masked")),
				chromedp.Click(chromedp.CSS("#mail-link")),
				chromedp.Click(chromedp.CSS("#tel-link")),
				chromedp.Click(chromedp.CSS("#card-label")),
				chromedp.Click(chromedp.CSS("#added-mail")),
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
			for _, e := range append([]string{pageEmail}, attrEmails...) {
				if strings.Contains(events, e) {
					t.Errorf("%q reached the events: %s", e, around(events, e))
				}
			}
			// The attributes changed after the snapshot were recorded (masked).
			if !strings.Contains(replays, `"id":"added-mail"`) || !strings.Contains(replays, "/photo.png?auth=") {
				t.Error("the replay lacks the attribute mutations")
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

// mutateAttributes plants secrets in attributes after recording began:
// changed attributes and added elements reach replays as mutations.
const mutateAttributes = `(() => {
  const $ = (id) => document.getElementById(id);
  $('headline').setAttribute('title', 'Changed MUTATEDATTRWORD by mutated.title@example.com');
  $('masked-attr').setAttribute('title', 'MASKEDMUTATEDWORD');
  $('prefilled').setAttribute('value', 'MUTATEDVALUE');
  $('photo').setAttribute('src', '/photo.png?auth=MUTATEDAUTHVALUE');
  const d = document.createElement('div');
  d.innerHTML = '<a id="added-mail" href="mailto:added.mailto@example.com" title="Write to added.title@example.com" onclick="event.preventDefault()">Write</a>' +
    '<img alt="Added added.alt@example.com" src="/added.png?token=ADDEDTOKENVALUE">' +
    '<span data-account="5555 5555 5555 4444" aria-label="ADDEDARIAWORD">added</span>';
  $('attrs').appendChild(d);
})()`

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
