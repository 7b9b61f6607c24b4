package event

import (
	"encoding/json"
	"testing"
	"time"
)

// The test corpus: realistic events as the SDK sends them, plus hostile
// ones. Table tests use them and the fuzz targets start from them.

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	uaChromeMac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaIPhone    = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1.1 Mobile/15E148 Safari/604.1"
)

const clickJSON = `{
  "uuid": "0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f70",
  "event": "$click",
  "distinct_id": "0195510a-0000-7000-8000-00000000abcd",
  "session_id": "0195510a-1111-7000-8000-000000000001",
  "window_id": "0195510a-2222-7000-8000-000000000002",
  "timestamp": "2026-03-01T11:59:58.123Z",
  "url": "https://shop.example.com/products/trail-runner-2?utm_source=newsletter&utm_medium=email&utm_campaign=spring%20sale&ref=home",
  "referrer": "https://www.google.com/search?q=trail+runners",
  "title": "Trail Runner 2 – Example Shop",
  "properties": {"$lib": "web", "$lib_version": "0.3.0", "$screen_width": 1512, "$screen_height": 982,
                 "$rage": false, "$dead": true, "price": 129.9, "currency": "EUR", "in_stock": true,
                 "tags": ["running", "trail", {"size": [42, 43]}], "$set_once": {"first_seen": "2026-02-01"}},
  "elements": [
    {"tag": "button", "id": "add-to-cart", "classes": ["btn", "btn-primary", "md:w-1/2"], "text": "Add to cart",
     "attrs": {"type": "submit", "data-sku": "TR2-42", "aria-label": "Add Trail Runner 2 to cart"}, "nth_child": 2, "nth_of_type": 1},
    {"tag": "form", "id": "buy", "classes": ["buy-form"], "attrs": {"action": "/cart"}, "nth_child": 1, "nth_of_type": 1},
    {"tag": "div", "classes": ["product-card", "card"], "nth_child": 3, "nth_of_type": 2},
    {"tag": "section", "classes": ["products"], "nth_child": 1, "nth_of_type": 1},
    {"tag": "main", "nth_child": 2, "nth_of_type": 1}
  ],
  "selector": "main > section.products > div.product-card > form#buy > button#add-to-cart",
  "x": 811.5, "y": 1204, "offset_x": 0.42, "offset_y": 0.5,
  "viewport_width": 1512, "viewport_height": 862, "document_width": 1512, "document_height": 4120
}`

const pageviewJSON = `{
  "uuid": "0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f71",
  "event": "$pageview",
  "distinct_id": "0195510a-0000-7000-8000-00000000abcd",
  "session_id": "0195510a-1111-7000-8000-000000000001",
  "window_id": "0195510a-2222-7000-8000-000000000002",
  "timestamp": 1772366390000,
  "url": "https://shop.example.com/?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=running+shoes&utm_content=ad1&gclid=abc",
  "referrer": "https://www.google.com/",
  "title": "Example Shop",
  "properties": {"$lib": "web", "$lib_version": "0.3.0", "$screen_width": 390, "$screen_height": 844, "$pathname": "/"},
  "viewport_width": 390, "viewport_height": 664, "document_width": 390, "document_height": 2900
}`

const identifyJSON = `{
  "uuid": "0195510A3C4E7B7E8F1A2B3C4D5E6F72",
  "event": "$identify",
  "distinct_id": "user-42",
  "timestamp": "2026-03-01T12:59:00+01:00",
  "properties": {"$anon_distinct_id": "0195510a-0000-7000-8000-00000000abcd",
                 "$set": {"email": "jane@example.com", "plan": "pro", "password": "hunter2"},
                 "$set_once": {"signup_date": "2026-03-01"}}
}`

// corpus holds raw events as JSON: valid ones first, then hostile ones.
var corpus = []string{
	clickJSON,
	pageviewJSON,
	identifyJSON,
	`{"uuid":"0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f73","event":"$rageclick","distinct_id":"d","timestamp":"2026-03-01T11:00:00Z","elements":[{"tag":"a","href":"mailto:jane@example.com","text":"Mail jane@example.com"}]}`,
	`{"uuid":"0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f74","event":"signup","distinct_id":"d","timestamp":"2026-03-01T11:00:00Z","properties":{"card_number":"4111 1111 1111 1111","note":"call 555-123-4567 or mail a@b.io","nested":{"ssn":"123-45-6789","ok":"123-45-6789"}}}`,
	`{"uuid":"0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f75","event":"x","distinct_id":"d","timestamp":1772366390,"properties":{}}`,
	`{"uuid":"0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f76","event":"x","distinct_id":"d","timestamp":"2026-03-01T11:00:00Z","properties":{"n":1e400}}`,
	`{"uuid":"0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f77","event":"x","distinct_id":"d","timestamp":"2026-03-01T11:00:00Z","properties":{"a":[[[[[[[[[[1]]]]]]]]]]}}`,
	`{"uuid":"0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f78","event":"x","distinct_id":"d","timestamp":"2026-03-01T11:00:00Z","properties":{"s":"\ud800 \u00e9 \"q\" \\ \n"}}`,
	`{"uuid":"nope","event":"x","distinct_id":"d","timestamp":"2026-03-01T11:00:00Z"}`,
}

func rawFromJSON(t testing.TB, s string) Raw {
	t.Helper()
	var r Raw
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("corpus event does not decode: %v", err)
	}
	return r
}

func testBatch() *Batch {
	return &Batch{ProjectID: 7, ReceivedAt: testNow, UserAgent: uaChromeMac, IP: "203.0.113.77"}
}
