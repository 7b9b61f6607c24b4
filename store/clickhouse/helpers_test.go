package clickhouse

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store"
)

// The tests need a real ClickHouse: scripts/services.sh starts two
// instances forming the cluster SIGHTLINE_TEST_CLICKHOUSE_CLUSTER and prints
// the environment. Without it the tests skip, loudly, except under
// CI=true, where they fail.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("SIGHTLINE_TEST_CLICKHOUSE")
	if dsn == "" {
		msg := "SIGHTLINE_TEST_CLICKHOUSE is not set: start ClickHouse with `eval \"$(scripts/services.sh)\"`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING ClickHouse tests: " + msg)
	}
	return dsn
}

func testCluster(t testing.TB) string {
	t.Helper()
	c := os.Getenv("SIGHTLINE_TEST_CLICKHOUSE_CLUSTER")
	if c == "" {
		msg := "SIGHTLINE_TEST_CLICKHOUSE_CLUSTER is not set: start the 2-shard cluster with `eval \"$(scripts/services.sh)\"`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip("SKIPPING ClickHouse cluster tests: " + msg)
	}
	return c
}

// freshDSN returns the test server's DSN with a new, empty database (and
// with the cluster when cluster is set); the database is dropped (on every
// shard) when the test ends.
func freshDSN(t testing.TB, cluster bool) string {
	t.Helper()
	base := testDSN(t)
	cfg, err := ParseDSN(base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	crand.Read(b)
	cfg.Database = "sl_test_" + hex.EncodeToString(b)
	if cluster {
		cfg.Cluster = testCluster(t)
	}
	dsn := "clickhouse://" + cfg.Hosts[0] + "/" + cfg.Database
	if cluster {
		dsn += "?cluster=" + cfg.Cluster
	}
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := openAdmin(cfg)
		if err != nil {
			return
		}
		defer conn.Close()
		forEachShard(ctx, conn, cfg, func(ctx context.Context, c driverConn) error {
			return c.Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.Database)
		})
	})
	return dsn
}

type storeKind struct {
	name    string
	cluster bool
}

var storeKinds = []storeKind{{"single", false}, {"cluster", true}}

func openKind(t testing.TB, k storeKind) *Store {
	t.Helper()
	dsn := freshDSN(t, k.cluster)
	return openDSN(t, dsn)
}

func openDSN(t testing.TB, dsn string) *Store {
	t.Helper()
	ctx := context.Background()
	if cfg, _ := ParseDSN(dsn); cfg.Cluster != "" {
		if err := Migrate(ctx, dsn, Options{}); err != nil {
			t.Fatalf("migrate %s: %v", dsn, err)
		}
	}
	s, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

var zeroCP store.Checkpoint

// ev is a minimal valid event.
func ev(project int64, uuid, name, distinct string, ts time.Time, props string) event.Event {
	if props == "" {
		props = "{}"
	}
	return event.Event{
		ProjectID:  project,
		UUID:       uuid,
		Event:      name,
		DistinctID: distinct,
		SessionID:  "s-" + distinct,
		Timestamp:  ts,
		ReceivedAt: ts.Add(time.Second),
		Properties: json.RawMessage(props),
	}
}

func mustAppend(t testing.TB, s *Store, events []event.Event) {
	t.Helper()
	if err := s.Append(context.Background(), events, zeroCP); err != nil {
		t.Fatalf("append %d events: %v", len(events), err)
	}
}

func count(t testing.TB, s *Store, project int64) int64 {
	t.Helper()
	n, err := s.Count(context.Background(), project)
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

// queryStrings runs a query and returns each row's columns joined by "|".
func queryStrings(t testing.TB, s *Store, q string, args ...any) []string {
	t.Helper()
	rows, err := s.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("scan: %v", err)
		}
		line := ""
		for i, v := range vals {
			if i > 0 {
				line += "|"
			}
			if p, ok := v.(*string); ok && p != nil {
				v = *p
			}
			line += fmt.Sprint(v)
		}
		out = append(out, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	return out
}

// traffic generates realistic events of a demo shop: pageviews with URL
// parts, UTM and device fields, and autocaptured clicks with element chains,
// coordinates and frustration flags. It is deterministic for a seed.
type traffic struct {
	rng *rand.Rand
	n   int
}

var (
	paths    = []string{"/", "/search", "/product/42", "/product/7", "/cart", "/checkout", "/signup", "/pricing", "/blog/launch", "/account"}
	browsers = []struct{ name, version, os, osv, device string }{
		{"Chrome", "134.0", "Windows", "11", "desktop"},
		{"Safari", "18.3", "iOS", "18.3", "mobile"},
		{"Firefox", "136.0", "Linux", "", "desktop"},
		{"Chrome", "134.0", "Android", "15", "mobile"},
		{"Edge", "134.0", "Windows", "10", "desktop"},
		{"Safari", "18.3", "macOS", "15.3", "desktop"},
	}
	chains = []struct{ chain, selector string }{
		{`button.btn.btn-primary:nth-child="2"nth-of-type="1"text="Add to cart"attr__data-sku="42";div.product-actions;main#content`, "main#content > div.product-actions > button.btn.btn-primary"},
		{`a.nav-link:href="/pricing"nth-child="3"nth-of-type="3"text="Pricing";nav.navbar;header`, "header > nav.navbar > a.nav-link"},
		{`button#checkout:nth-child="1"nth-of-type="1"text="Checkout";form.cart`, "form.cart > button#checkout"},
		{`span.icon:nth-child="1"nth-of-type="1";button.close;div.modal`, "div.modal > button.close > span.icon"},
	}
)

// batch returns n events starting at base, about 2 ms apart.
func (g *traffic) batch(project int64, n int, base time.Time) []event.Event {
	out := make([]event.Event, n)
	for i := range out {
		out[i] = g.next(project, base.Add(time.Duration(i)*2*time.Millisecond))
	}
	return out
}

func (g *traffic) next(project int64, ts time.Time) event.Event {
	g.n++
	r := g.rng
	visitor := r.IntN(5000)
	b := browsers[r.IntN(len(browsers))]
	path := paths[r.IntN(len(paths))]
	e := event.Event{
		ProjectID:      project,
		UUID:           uuidAt(ts, uint64(g.n)),
		DistinctID:     fmt.Sprintf("anon-%06d", visitor),
		SessionID:      fmt.Sprintf("sess-%06d-%d", visitor, r.IntN(3)),
		WindowID:       fmt.Sprintf("win-%d", r.IntN(2)),
		Timestamp:      ts,
		ReceivedAt:     ts.Add(150 * time.Millisecond),
		URL:            "https://shop.example.com" + path,
		Host:           "shop.example.com",
		Path:           path,
		Title:          "Demo shop " + path,
		Browser:        b.name,
		BrowserVersion: b.version,
		OS:             b.os,
		OSVersion:      b.osv,
		DeviceType:     b.device,
		IP:             fmt.Sprintf("203.0.113.%d", visitor%250),
		ViewportWidth:  1280 + 40*r.IntN(10),
		ViewportHeight: 720 + 20*r.IntN(10),
		DocumentWidth:  1280,
		DocumentHeight: 3000 + r.IntN(2000),
	}
	if r.IntN(4) == 0 {
		e.Query = "utm_source=newsletter&utm_medium=email&utm_campaign=spring"
		e.URL += "?" + e.Query
		e.UTMSource, e.UTMMedium, e.UTMCampaign = "newsletter", "email", "spring"
		e.Referrer = "https://mail.example.org/inbox"
		e.RefDomain = "mail.example.org"
	}
	if r.IntN(2) == 0 {
		e.Event = "$pageview"
		e.Properties = json.RawMessage(fmt.Sprintf(`{"$lib":"sightline-js","$lib_version":"0.4.1","$screen_width":%d,"$screen_height":%d,"$pageview_id":"pv-%d","$prev_pageview_duration":%d,"$initial_referrer":"$direct"}`,
			e.ViewportWidth, e.ViewportHeight, g.n, r.IntN(60000)))
		return e
	}
	c := chains[r.IntN(len(chains))]
	e.Event = "$autocapture"
	e.ElementsChain = c.chain
	e.Selector = c.selector
	e.X = float64(r.IntN(e.ViewportWidth))
	e.Y = float64(r.IntN(e.DocumentHeight))
	e.OffsetX = r.Float64()
	e.OffsetY = r.Float64()
	e.Rage = r.IntN(50) == 0
	e.Dead = r.IntN(30) == 0
	e.Error = r.IntN(200) == 0
	e.Properties = json.RawMessage(fmt.Sprintf(`{"$lib":"sightline-js","$lib_version":"0.4.1","$event_type":"click","$el_text":"Add to cart","$pageview_id":"pv-%d","sku":"42","price":19.99}`, g.n))
	return e
}

// uuidAt formats a UUIDv7-shaped string: time-ordered like the SDK's.
func uuidAt(ts time.Time, n uint64) string {
	ms := uint64(ts.UnixMilli())
	return fmt.Sprintf("%08x-%04x-7%03x-%04x-%012x", ms>>16, ms&0xffff, n>>48&0xfff, 0x8000|(n>>32&0x3fff), n&0xffffffffffff)
}
