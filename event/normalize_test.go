package event

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func baseRaw() Raw {
	return Raw{
		UUID:       "0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f70",
		Event:      "$pageview",
		DistinctID: "u1",
		Timestamp:  json.RawMessage(`"2026-03-01T11:59:00Z"`),
	}
}

func TestNormalizeCorpus(t *testing.T) {
	var e Event
	if err := Normalize(ptr(rawFromJSON(t, clickJSON)), testBatch(), &e); err != nil {
		t.Fatal(err)
	}
	want := Event{
		ProjectID:  7,
		UUID:       "0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f70",
		Event:      "$click",
		DistinctID: "0195510a-0000-7000-8000-00000000abcd",
		SessionID:  "0195510a-1111-7000-8000-000000000001",
		WindowID:   "0195510a-2222-7000-8000-000000000002",
		Timestamp:  time.Date(2026, 3, 1, 11, 59, 58, 123e6, time.UTC),
		ReceivedAt: testNow,
		URL:        "https://shop.example.com/products/trail-runner-2?utm_source=newsletter&utm_medium=email&utm_campaign=spring%20sale&ref=home",
		Host:       "shop.example.com",
		Path:       "/products/trail-runner-2",
		Query:      "utm_source=newsletter&utm_medium=email&utm_campaign=spring%20sale&ref=home",
		Title:      "Trail Runner 2 – Example Shop",
		Referrer:   "https://www.google.com/search?q=trail+runners",
		RefDomain:  "www.google.com",
		UTMSource:  "newsletter", UTMMedium: "email", UTMCampaign: "spring sale",
		Browser: "Chrome", BrowserVersion: "131.0", OS: "macOS", OSVersion: "10.15", DeviceType: "desktop",
		IP:            "203.0.113.77",
		ElementsChain: `button.btn.btn-primary.md%3Aw-1/2:attr__aria-label="Add Trail Runner 2 to cart"attr__data-sku="TR2-42"attr__type="submit"attr_id="add-to-cart"nth-child="2"nth-of-type="1"text="Add to cart";form.buy-form:attr__action="/cart"attr_id="buy"nth-child="1"nth-of-type="1";div.product-card.card:nth-child="3"nth-of-type="2";section.products:nth-child="1"nth-of-type="1";main:nth-child="2"nth-of-type="1"`,
		Selector:      "main > section.products > div.product-card > form#buy > button#add-to-cart",
		X:             811.5, Y: 1204, OffsetX: 0.42, OffsetY: 0.5,
		ViewportWidth: 1512, ViewportHeight: 862, DocumentWidth: 1512, DocumentHeight: 4120,
		Dead:       true,
		Properties: json.RawMessage(`{"$lib":"web","$lib_version":"0.3.0","$screen_width":1512,"$screen_height":982,"$rage":false,"$dead":true,"price":129.9,"currency":"EUR","in_stock":true,"tags":["running","trail",{"size":[42,43]}],"$set_once":{"first_seen":"2026-02-01"}}`),
	}
	got := e
	got.Elements = nil
	if d := diffEvents(&want, &got); d != "" {
		t.Errorf("normalized click differs:\n%s", d)
	}
	if len(e.Elements) != 5 || e.Elements[0].ID != "add-to-cart" || e.Elements[4].Tag != "main" {
		t.Errorf("elements = %+v", e.Elements)
	}
}

func TestNormalizeRules(t *testing.T) {
	type tc struct {
		name    string
		raw     func(r *Raw)
		batch   func(b *Batch)
		code    Reason // expected rejection; "" for success
		field   string
		check   func(t *testing.T, e *Event)
		message string // expected Error() text, when set
	}
	tsIs := func(want time.Time) func(t *testing.T, e *Event) {
		return func(t *testing.T, e *Event) {
			if !e.Timestamp.Equal(want) || e.Timestamp.Location() != time.UTC {
				t.Errorf("timestamp = %v, want %v UTC", e.Timestamp, want)
			}
		}
	}
	props := func(p string) func(r *Raw) { return func(r *Raw) { r.Properties = json.RawMessage(p) } }
	propsAre := func(want string) func(t *testing.T, e *Event) {
		return func(t *testing.T, e *Event) {
			if string(e.Properties) != want {
				t.Errorf("properties = %s\nwant         %s", e.Properties, want)
			}
		}
	}
	ts := func(s string) func(r *Raw) { return func(r *Raw) { r.Timestamp = json.RawMessage(s) } }
	nested := func(depth int) string {
		return strings.Repeat(`{"a":`, depth-1) + `{}` + strings.Repeat(`}`, depth-1)
	}
	huge := strings.Repeat("x", 10<<20)

	cases := []tc{
		{name: "minimal event", check: func(t *testing.T, e *Event) {
			if string(e.Properties) != "{}" || e.RefDomain != Direct || e.ProjectID != 7 || !e.ReceivedAt.Equal(testNow) {
				t.Errorf("got %+v", e)
			}
		}},

		// uuid
		{name: "uuid missing", raw: func(r *Raw) { r.UUID = "" }, code: ReasonMissingUUID, field: "uuid", message: "uuid: missing"},
		{name: "uuid not a uuid", raw: func(r *Raw) { r.UUID = "hello" }, code: ReasonInvalidUUID, field: "uuid"},
		{name: "uuid bad hex", raw: func(r *Raw) { r.UUID = "0195510a-3c4e-7b7e-8f1a-2b3c4d5e6g70" }, code: ReasonInvalidUUID},
		{name: "uuid hyphen misplaced", raw: func(r *Raw) { r.UUID = "0195510a3-c4e-7b7e-8f1a-2b3c4d5e6f70" }, code: ReasonInvalidUUID},
		{name: "uuid nil", raw: func(r *Raw) { r.UUID = "00000000-0000-0000-0000-000000000000" }, code: ReasonInvalidUUID},
		{name: "uuid uppercase", raw: func(r *Raw) { r.UUID = "0195510A-3C4E-7B7E-8F1A-2B3C4D5E6F70" }, check: uuidIs("0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f70")},
		{name: "uuid no hyphens", raw: func(r *Raw) { r.UUID = "0195510a3c4e7b7e8f1a2b3c4d5e6f70" }, check: uuidIs("0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f70")},
		{name: "uuid braces", raw: func(r *Raw) { r.UUID = "{0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f70}" }, check: uuidIs("0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f70")},
		{name: "uuid urn", raw: func(r *Raw) { r.UUID = "urn:uuid:0195510A-3c4e-7b7e-8f1a-2b3c4d5e6f70" }, check: uuidIs("0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f70")},

		// names
		{name: "event missing", raw: func(r *Raw) { r.Event = "" }, code: ReasonMissingEvent, field: "event"},
		{name: "event 200 characters of 2 bytes", raw: func(r *Raw) { r.Event = strings.Repeat("é", 200) }},
		{name: "event 201 characters", raw: func(r *Raw) { r.Event = strings.Repeat("e", 201) }, code: ReasonEventTooLong, field: "event"},
		{name: "distinct_id missing", raw: func(r *Raw) { r.DistinctID = "" }, code: ReasonMissingDistinctID, field: "distinct_id"},
		{name: "distinct_id 201", raw: func(r *Raw) { r.DistinctID = strings.Repeat("d", 201) }, code: ReasonDistinctIDTooLong},
		{name: "session_id 201", raw: func(r *Raw) { r.SessionID = strings.Repeat("s", 201) }, code: ReasonIDTooLong, field: "session_id"},
		{name: "window_id 201", raw: func(r *Raw) { r.WindowID = strings.Repeat("w", 201) }, code: ReasonIDTooLong, field: "window_id"},
		{name: "event invalid utf-8 repaired", raw: func(r *Raw) { r.Event = "buy\xff" }, check: func(t *testing.T, e *Event) {
			if e.Event != "buy\uFFFD" {
				t.Errorf("event = %q", e.Event)
			}
		}},

		// timestamps
		{name: "timestamp absent", raw: ts(``), code: ReasonMissingTimestamp, field: "timestamp"},
		{name: "timestamp null", raw: ts(`null`), code: ReasonMissingTimestamp},
		{name: "timestamp empty string", raw: ts(`""`), code: ReasonInvalidTimestamp},
		{name: "timestamp words", raw: ts(`"yesterday"`), code: ReasonInvalidTimestamp},
		{name: "timestamp bad month", raw: ts(`"2026-13-01T00:00:00Z"`), code: ReasonInvalidTimestamp},
		{name: "timestamp without zone", raw: ts(`"2026-03-01T11:00:00"`), code: ReasonInvalidTimestamp},
		{name: "timestamp bool", raw: ts(`true`), code: ReasonInvalidTimestamp},
		{name: "timestamp object", raw: ts(`{"t":1}`), code: ReasonInvalidTimestamp},
		{name: "timestamp 1e30", raw: ts(`1e30`), code: ReasonInvalidTimestamp},
		{name: "timestamp offset to UTC", raw: ts(`"2026-03-01T12:30:00+01:00"`), check: tsIs(time.Date(2026, 3, 1, 11, 30, 0, 0, time.UTC))},
		{name: "timestamp fractional", raw: ts(`"2026-03-01T11:30:00.123456789Z"`), check: tsIs(time.Date(2026, 3, 1, 11, 30, 0, 123456789, time.UTC))},
		{name: "timestamp epoch ms", raw: ts(`1772366390000`), check: tsIs(time.Date(2026, 3, 1, 11, 59, 50, 0, time.UTC))},
		{name: "timestamp epoch ms fraction", raw: ts(`1772366390000.5`), check: tsIs(time.Date(2026, 3, 1, 11, 59, 50, 500000, time.UTC))},
		{name: "timestamp epoch seconds rejected as old", raw: ts(`1772366390`), code: ReasonTimestampOld,
			message: "timestamp: more than 1 year old (epoch seconds sent where milliseconds are expected?)"},
		{name: "timestamp 23h ahead", raw: ts(`"2026-03-02T11:00:00Z"`)},
		{name: "timestamp 25h ahead", raw: ts(`"2026-03-02T13:00:00Z"`), code: ReasonTimestampFuture, message: "timestamp: more than 24h in the future"},
		{name: "timestamp 364 days old", raw: ts(`"2025-03-02T12:00:00Z"`)},
		{name: "timestamp 366 days old", raw: ts(`"2025-02-28T12:00:00Z"`), code: ReasonTimestampOld, message: "timestamp: more than 1 year old"},
		{name: "timestamp negative ms", raw: ts(`-5`), code: ReasonTimestampOld},
		{name: "skew: client clock 1h behind", raw: ts(`"2026-03-01T10:59:00Z"`),
			batch: func(b *Batch) { b.SentAt = testNow.Add(-time.Hour) }, check: tsIs(testNow.Add(-time.Minute))},
		{name: "skew: client clock 2 days ahead is corrected, not rejected", raw: ts(`"2026-03-03T11:59:00Z"`),
			batch: func(b *Batch) { b.SentAt = testNow.Add(48 * time.Hour) }, check: tsIs(testNow.Add(-time.Minute))},
		{name: "skew: without sent_at a far-ahead clock is rejected", raw: ts(`"2026-03-03T11:59:00Z"`), code: ReasonTimestampFuture},

		// properties
		{name: "properties null", raw: props(`null`), check: propsAre(`{}`)},
		{name: "properties array", raw: props(`[1,2]`), code: ReasonPropsNotObject, message: "properties: must be a JSON object"},
		{name: "properties string", raw: props(`"a"`), code: ReasonPropsNotObject},
		{name: "properties number", raw: props(`42`), code: ReasonPropsNotObject},
		{name: "properties invalid JSON", raw: props(`{"a":}`), code: ReasonPropsInvalid},
		{name: "properties trailing comma", raw: props(`{"a":1,}`), code: ReasonPropsInvalid},
		{name: "properties trailing garbage", raw: props(`{} x`), code: ReasonPropsInvalid},
		{name: "properties unterminated", raw: props(`{"a":"b`), code: ReasonPropsInvalid},
		{name: "properties raw control character", raw: props("{\"a\":\"b\x01\"}"), code: ReasonPropsInvalid},
		{name: "properties bad escape", raw: props(`{"a":"\q"}`), code: ReasonPropsInvalid},
		{name: "properties bad literal", raw: props(`{"a":tru}`), code: ReasonPropsInvalid},
		{name: "properties bad number", raw: props(`{"a":01}`), code: ReasonPropsInvalid},
		{name: "properties compacted", raw: props("{ \"a\" : [ 1 , 2.5e3 , -0 ] ,\n\t\"b\" : { } , \"c\":null }"), check: propsAre(`{"a":[1,2.5e3,-0],"b":{},"c":null}`)},
		{name: "depth 10 accepted", raw: props(nested(10)), check: propsAre(nested(10))},
		{name: "depth 11 rejected", raw: props(nested(11)), code: ReasonPropsTooDeep, field: "properties"},
		{name: "depth 11 by arrays", raw: props(`{"a":` + strings.Repeat("[", 10) + strings.Repeat("]", 10) + `}`), code: ReasonPropsTooDeep},
		{name: "depth 11 under a sensitive key", raw: props(`{"password":` + nested(10) + `}`), code: ReasonPropsTooDeep},
		{name: "key 200 characters", raw: props(`{"` + strings.Repeat("ü", 200) + `":1}`)},
		{name: "key 201 characters", raw: props(`{"` + strings.Repeat("k", 201) + `":1}`), code: ReasonPropKeyTooLong},
		{name: "escaped key 201 characters", raw: props(`{"` + strings.Repeat(`\u006b`, 201) + `":1}`), code: ReasonPropKeyTooLong},
		{name: "1e400", raw: props(`{"n":1e400}`), code: ReasonNumberOutOfRange, message: "properties: a number is out of the float64 range"},
		{name: "-1e400 nested", raw: props(`{"a":[{"n":-1e400}]}`), code: ReasonNumberOutOfRange},
		{name: "400-digit integer", raw: props(`{"n":` + strings.Repeat("9", 400) + `}`), code: ReasonNumberOutOfRange},
		{name: "NaN is not JSON", raw: props(`{"n":NaN}`), code: ReasonPropsInvalid},
		{name: "Infinity is not JSON", raw: props(`{"n":-Infinity}`), code: ReasonPropsInvalid},
		{name: "1e-400 underflows to 0", raw: props(`{"n":1e-400,"m":1.5E+300}`), check: propsAre(`{"n":0,"m":1.5E+300}`)},
		{name: "big integer kept verbatim", raw: props(`{"n":123456789012345678901234567890}`), check: propsAre(`{"n":123456789012345678901234567890}`)},
		{name: "10 MB string truncated", raw: props(`{"s":"` + huge + `"}`), check: func(t *testing.T, e *Event) {
			if !e.Truncated || len(e.Properties) != len(`{"s":""}`)+MaxStringBytes {
				t.Errorf("truncated=%v len=%d", e.Truncated, len(e.Properties))
			}
		}},
		{name: "truncation on a character boundary", raw: props(`{"s":"` + strings.Repeat("€", 30000) + `"}`), check: func(t *testing.T, e *Event) {
			var p struct{ S string }
			if err := json.Unmarshal(e.Properties, &p); err != nil {
				t.Fatal(err)
			}
			if !e.Truncated || !utf8.ValidString(p.S) || len(p.S) != 65535 || strings.Trim(p.S, "€") != "" {
				t.Errorf("truncated=%v len=%d", e.Truncated, len(p.S))
			}
		}},
		{name: "64 KiB exactly is not truncated", raw: props(`{"s":"` + strings.Repeat("y", MaxStringBytes) + `"}`), check: func(t *testing.T, e *Event) {
			if e.Truncated {
				t.Error("truncated")
			}
		}},
		{name: "escaped 10 MB string truncated", raw: props(`{"s":"` + strings.Repeat(`\n`, 5<<20) + `"}`), check: func(t *testing.T, e *Event) {
			if !e.Truncated || len(e.Properties) != len(`{"s":""}`)+2*MaxStringBytes {
				t.Errorf("truncated=%v len=%d", e.Truncated, len(e.Properties))
			}
		}},
		{name: "invalid UTF-8 replaced", raw: props("{\"s\":\"a\xffb\xc3\",\"k\xfe\":1}"), check: propsAre(`{"s":"a` + "\uFFFD" + `b` + "\uFFFD" + `","k` + "\uFFFD" + `":1}`)},
		{name: "escapes decoded and re-encoded", raw: props(`{"s":"\u00e9\/\"\\\t\u0001\ud83d\ude00\ud800x"}`), check: propsAre(`{"s":"é/\"\\\t\u0001😀` + "\uFFFD" + `x"}`)},
		{name: "sensitive keys dropped at any depth", raw: props(`{"password":"x","a":1,"user":{"cardNumber":"4111","name":"n","api_key":"k"},"cvv":123}`), check: propsAre(`{"a":1,"user":{"name":"n"}}`)},
		{name: "only sensitive keys", raw: props(`{"password":"x"}`), check: propsAre(`{}`)},
		{name: "string values scrubbed recursively", raw: props(`{"note":"mail jane@example.com","list":["4111 1111 1111 1111",{"remark":"id 123-45-6789"}],"ssn_text":"x"}`),
			check: propsAre(`{"note":"mail [email]","list":["[card]",{"remark":"id [number]"}]}`)},
		{name: "$set and ids are not scrubbed", raw: props(`{"$set":{"email":"jane@example.com","pin":"1234"},"$anon_distinct_id":"123456789012","other":"123456789012"}`),
			check: propsAre(`{"$set":{"email":"jane@example.com"},"$anon_distinct_id":"123456789012","other":"[number]"}`)},

		// URL, referrer, title
		{name: "url split", raw: func(r *Raw) {
			r.URL = "https://Shop.Example.com:8443/a/b?utm_source=Google&utm_medium=cpc&utm_campaign=spring%20sale&utm_term=shoes+red&utm_content=v2&q=1#top"
		}, check: func(t *testing.T, e *Event) {
			want := [...]string{"shop.example.com:8443", "/a/b", "utm_source=Google&utm_medium=cpc&utm_campaign=spring%20sale&utm_term=shoes+red&utm_content=v2&q=1", "Google", "cpc", "spring sale", "shoes red", "v2"}
			got := [...]string{e.Host, e.Path, e.Query, e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent}
			if want != got {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		}},
		{name: "url without path", raw: func(r *Raw) { r.URL = "https://example.com" }, check: func(t *testing.T, e *Event) {
			if e.Host != "example.com" || e.Path != "/" || e.Query != "" {
				t.Errorf("host=%q path=%q query=%q", e.Host, e.Path, e.Query)
			}
		}},
		{name: "url query scrubbed", raw: func(r *Raw) {
			r.URL = "https://user:pw@example.com/reset/jane@example.com?email=jane%40example.com&token=abc&page=2#access_token=xyz&state=1"
		}, check: func(t *testing.T, e *Event) {
			if e.URL != "https://example.com/reset/[email]?email=[email]&page=2#state=1" || e.Query != "email=[email]&page=2" || e.Path != "/reset/[email]" {
				t.Errorf("url=%q query=%q path=%q", e.URL, e.Query, e.Path)
			}
		}},
		{name: "referrer domain", raw: func(r *Raw) { r.Referrer = "https://www.Google.com/search?q=x" }, check: refIs("www.google.com")},
		{name: "same-host referrer keeps the host", raw: func(r *Raw) {
			r.URL, r.Referrer = "https://shop.example.com/cart", "https://shop.example.com/products/1"
		}, check: refIs("shop.example.com")},
		{name: "app referrer", raw: func(r *Raw) { r.Referrer = "android-app://com.google.android.gm/" }, check: refIs("com.google.android.gm")},
		{name: "referrer without scheme", raw: func(r *Raw) { r.Referrer = "news.ycombinator.com/item?id=1" }, check: refIs("news.ycombinator.com")},
		{name: "referrer about:blank", raw: func(r *Raw) { r.Referrer = "about:blank" }, check: refIs(Direct)},
		{name: "title scrubbed", raw: func(r *Raw) { r.Title = "Orders of jane@example.com" }, check: func(t *testing.T, e *Event) {
			if e.Title != "Orders of [email]" {
				t.Errorf("title = %q", e.Title)
			}
		}},
		{name: "huge url truncated", raw: func(r *Raw) { r.URL = "https://example.com/" + huge }, check: func(t *testing.T, e *Event) {
			if !e.Truncated || len(e.URL) != MaxStringBytes || e.Host != "example.com" {
				t.Errorf("truncated=%v len=%d host=%q", e.Truncated, len(e.URL), e.Host)
			}
		}},

		// user agent
		{name: "event user agent wins over the header", raw: func(r *Raw) { r.UserAgent = uaIPhone }, check: func(t *testing.T, e *Event) {
			if e.Browser != "Safari" || e.OS != "iOS" || e.OSVersion != "18.1" || e.DeviceType != DeviceMobile {
				t.Errorf("got %q %q %q %q", e.Browser, e.OS, e.OSVersion, e.DeviceType)
			}
		}},
		{name: "header user agent", check: func(t *testing.T, e *Event) {
			if e.Browser != "Chrome" || e.BrowserVersion != "131.0" || e.OS != "macOS" || e.DeviceType != DeviceDesktop {
				t.Errorf("got %q %q %q %q", e.Browser, e.BrowserVersion, e.OS, e.DeviceType)
			}
		}},

		// frustration flags
		{name: "$rageclick", raw: func(r *Raw) { r.Event = "$rageclick" }, check: flagsAre(true, false, false)},
		{name: "$deadclick", raw: func(r *Raw) { r.Event = "$deadclick" }, check: flagsAre(false, true, false)},
		{name: "$errorclick", raw: func(r *Raw) { r.Event = "$errorclick" }, check: flagsAre(false, false, true)},
		{name: "$click with flags", raw: func(r *Raw) {
			r.Event, r.Properties = "$click", json.RawMessage(`{"$rage":true,"$dead":false,"$error_click":true}`)
		}, check: flagsAre(true, false, true)},
		{name: "$click with string flag", raw: func(r *Raw) {
			r.Event, r.Properties = "$click", json.RawMessage(`{"$rage":"true","x":{"$dead":true}}`)
		}, check: flagsAre(false, false, false)},
		{name: "flags on a non-click are ignored", raw: props(`{"$rage":true}`), check: flagsAre(false, false, false)},

		// elements
		{name: "elements capped at 50", raw: func(r *Raw) {
			r.Event = "$click"
			for range 60 {
				r.Elements = append(r.Elements, Element{Tag: "div"})
			}
		}, check: func(t *testing.T, e *Event) {
			if len(e.Elements) != MaxElements || strings.Count(e.ElementsChain, ";") != MaxElements-1 {
				t.Errorf("%d elements, chain %q", len(e.Elements), e.ElementsChain)
			}
		}},
		{name: "element text cut at 400 characters and scrubbed", raw: func(r *Raw) {
			r.Elements = []Element{{Tag: "P", Text: "card 4111-1111-1111-1111 " + strings.Repeat("ä", 500), Href: "/u?email=a%40b.co",
				Attrs: map[string]string{"value": "secret input", "data-password": "x", "title": "mail a@b.co"}}}
		}, check: func(t *testing.T, e *Event) {
			el := e.Elements[0]
			if el.Tag != "p" || !strings.HasPrefix(el.Text, "card [card] ä") || utf8.RuneCountInString(el.Text) != 400-len("4111-1111-1111-1111")+len("[card]") {
				t.Errorf("tag %q text %q (%d runes)", el.Tag, el.Text, utf8.RuneCountInString(el.Text))
			}
			if el.Href != "/u?email=[email]" || len(el.Attrs) != 1 || el.Attrs["title"] != "mail [email]" {
				t.Errorf("href %q attrs %v", el.Href, el.Attrs)
			}
		}},
		{name: "element positions clamped", raw: func(r *Raw) {
			r.Elements = []Element{{Tag: "a", NthChild: -3, Classes: []string{"ok", "bad\xff"}}}
		}, check: func(t *testing.T, e *Event) {
			if e.Elements[0].NthChild != 0 || e.Elements[0].Classes[1] != "bad\uFFFD" {
				t.Errorf("got %+v", e.Elements[0])
			}
		}},

		// coordinates
		{name: "non-finite coordinates zeroed", raw: func(r *Raw) {
			inf, nan := math.Inf(1), math.NaN()
			r.X, r.Y, r.ViewportWidth = &inf, &nan, -5
		}, check: func(t *testing.T, e *Event) {
			if e.X != 0 || e.Y != 0 || e.ViewportWidth != 0 {
				t.Errorf("x=%v y=%v vw=%d", e.X, e.Y, e.ViewportWidth)
			}
		}},

		// IP
		{name: "ip kept", check: ipIs("203.0.113.77")},
		{name: "ip anonymized v4", batch: func(b *Batch) { b.AnonymizeIP = true }, check: ipIs("203.0.113.0")},
		{name: "ip anonymized v6", batch: func(b *Batch) { b.IP, b.AnonymizeIP = "2001:db8:85a3:1234:5678::1", true }, check: ipIs("2001:db8:85a3::")},
		{name: "ip anonymized v4-mapped", batch: func(b *Batch) { b.IP, b.AnonymizeIP = "::ffff:198.51.100.9", true }, check: ipIs("198.51.100.0")},
		{name: "ip with port", batch: func(b *Batch) { b.IP = "198.51.100.9:5555" }, check: ipIs("198.51.100.9")},
		{name: "ip dropped", batch: func(b *Batch) { b.DropIP, b.AnonymizeIP = true, true }, check: ipIs("")},
		{name: "ip invalid", batch: func(b *Batch) { b.IP = "not-an-ip" }, check: ipIs("")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := baseRaw()
			if c.raw != nil {
				c.raw(&r)
			}
			b := testBatch()
			if c.batch != nil {
				c.batch(b)
			}
			var e Event
			err := Normalize(&r, b, &e)
			if c.code != "" {
				var ee *Error
				if !errors.As(err, &ee) {
					t.Fatalf("err = %v, want an *Error with code %q", err, c.code)
				}
				if ee.Code != c.code || (c.field != "" && ee.Field != c.field) || ReasonOf(err) != c.code {
					t.Errorf("err = %+v, want code %q field %q", ee, c.code, c.field)
				}
				if c.message != "" && err.Error() != c.message {
					t.Errorf("message = %q, want %q", err.Error(), c.message)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !json.Valid(e.Properties) {
				t.Errorf("properties are not valid JSON: %.200s", e.Properties)
			}
			if c.check != nil {
				c.check(t, &e)
			}
		})
	}
}

func TestNormalizeReusesDst(t *testing.T) {
	var e Event
	b := testBatch()
	if err := Normalize(ptr(rawFromJSON(t, clickJSON)), b, &e); err != nil {
		t.Fatal(err)
	}
	r := baseRaw()
	if err := Normalize(&r, b, &e); err != nil {
		t.Fatal(err)
	}
	var fresh Event
	if err := Normalize(&r, testBatch(), &fresh); err != nil {
		t.Fatal(err)
	}
	if d := diffEvents(&fresh, &e); d != "" {
		t.Errorf("a reused dst keeps leftovers:\n%s", d)
	}
	// A rejected event leaves no half-filled event behind for the next one.
	bad := baseRaw()
	bad.Properties = json.RawMessage(`{"a":1e400}`)
	if err := Normalize(&bad, b, &e); err == nil {
		t.Fatal("1e400 accepted")
	}
	if err := Normalize(&r, b, &e); err != nil {
		t.Fatal(err)
	}
	if d := diffEvents(&fresh, &e); d != "" {
		t.Errorf("after a rejection:\n%s", d)
	}
}

func TestNormalizeAllocs(t *testing.T) {
	pv := rawFromJSON(t, pageviewJSON)
	b := testBatch()
	var e Event
	if err := Normalize(&pv, b, &e); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := Normalize(&pv, b, &e); err != nil {
			t.Fatal(err)
		}
	})
	// The one allocation is the decoded utm_term ("running+shoes").
	if allocs > 1 {
		t.Errorf("a $pageview with a reused dst allocates %.1f times, want at most 1", allocs)
	}
}

func uuidIs(want string) func(t *testing.T, e *Event) {
	return func(t *testing.T, e *Event) {
		if e.UUID != want {
			t.Errorf("uuid = %q, want %q", e.UUID, want)
		}
	}
}

func refIs(want string) func(t *testing.T, e *Event) {
	return func(t *testing.T, e *Event) {
		if e.RefDomain != want {
			t.Errorf("referring domain = %q, want %q", e.RefDomain, want)
		}
	}
}

func ipIs(want string) func(t *testing.T, e *Event) {
	return func(t *testing.T, e *Event) {
		if e.IP != want {
			t.Errorf("ip = %q, want %q", e.IP, want)
		}
	}
}

func flagsAre(rage, dead, errClick bool) func(t *testing.T, e *Event) {
	return func(t *testing.T, e *Event) {
		if e.Rage != rage || e.Dead != dead || e.Error != errClick {
			t.Errorf("rage/dead/error = %v/%v/%v, want %v/%v/%v", e.Rage, e.Dead, e.Error, rage, dead, errClick)
		}
	}
}

func ptr[T any](v T) *T { return &v }
