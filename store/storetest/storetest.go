// Package storetest is the conformance suite of event stores: the behavior
// that store.Store promises and the rest of Sightline relies on, checked the
// same way on every backend. Deduplication by project and UUID, spool
// checkpoints, bad input, identity merges and person properties, and the
// replay index. A backend's tests call Run with a Harness that opens its
// stores; what only one backend does (DuckDB's transactions, ClickHouse's
// sharding and partitions) stays in that backend's own tests.
//
// The suite reads events back through the query engine (the live_events
// and session_events kinds, whose SQL the query package compiles for each
// dialect) and the count through Store.Count, so that it checks what
// queries see, not how a backend lays out its tables. Person rows, which no
// query kind lists, come from the harness.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/query"
	"github.com/sightline-analytics/sightline/store"
)

// Harness describes a backend to the suite.
type Harness struct {
	// Open returns a new, empty store that logs to log (nil: the
	// backend's default); the harness closes it when the test ends.
	Open func(t testing.TB, log *slog.Logger) store.Store
	// Reopen returns another handle on the data of s: the same file after
	// closing s (an embedded store), or a second connection, as another
	// node has (a server). Nil skips the checks across handles.
	Reopen func(t testing.TB, s store.Store) store.Store
	// FailNextAppend makes the next Append on s fail with err at its last
	// step, after the events are written and before the checkpoint is
	// committed (for a transactional store: before COMMIT).
	FailNextAppend func(s store.Store, err error)
	// Persons lists a project's person rows by person id: only persons
	// with properties or an identity have one.
	Persons func(t testing.TB, s store.Store, project int64) []Person
	// AtomicAppends is set when readers see a batch whole or not at all.
	AtomicAppends bool
}

// Person is one person row as the harness reads it.
type Person struct {
	ID         string
	Identified bool
	// Properties is the JSON object of the person's properties, compact,
	// keys sorted.
	Properties string
	CreatedAt  time.Time
}

// Run runs the suite, one subtest per behavior.
func Run(t *testing.T, h Harness) {
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"AppendCountAndDedup", testAppendCountAndDedup},
		{"DedupRetriesAndStragglers", testDedupRetriesAndStragglers},
		{"CheckpointAndFailedBatch", testCheckpointAndFailedBatch},
		{"AppendBadInput", testAppendBadInput},
		{"EventColumns", testEventColumns},
		{"ConcurrentQueriesDuringAppends", testConcurrentQueriesDuringAppends},
		{"IdentifyMergesAnonymousHistory", testIdentifyMergesAnonymousHistory},
		{"PersonProperties", testPersonProperties},
		{"ReplaySummariesMerge", testReplaySummariesMerge},
		{"ReplayChunksConcurrently", testReplayChunksConcurrently},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, h) })
	}
}

// T0 is the suite's reference time: a Monday morning, UTC.
var T0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Event returns a minimal valid event; its session is "s-" + distinct.
func Event(project int64, uuid, name, distinct string, ts time.Time, props string) event.Event {
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

// MustAppend appends events without a checkpoint and fails t on error.
func MustAppend(t testing.TB, s store.Store, events []event.Event) {
	t.Helper()
	if err := s.Append(context.Background(), events, store.Checkpoint{}); err != nil {
		t.Fatalf("append %d events: %v", len(events), err)
	}
}

// Count returns a project's event count and fails t on error.
func Count(t testing.TB, s store.Store, project int64) int64 {
	t.Helper()
	n, err := s.Count(context.Background(), project)
	if err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

// engine runs the suite's queries: no cache, a fixed clock after T0.
var engine = query.New(query.Options{CacheEntries: -1, Now: func() time.Time { return T0.Add(30 * 24 * time.Hour) }})

// Events returns a project's events (up to query.MaxEventsListed) as the
// query engine lists them, ordered by UUID.
func Events(t testing.TB, s store.Store, project int64) []query.EventRow {
	t.Helper()
	res, err := engine.Run(context.Background(), query.Request{ProjectID: project, DB: s,
		Query: &query.LiveEvents{Limit: query.MaxEventsListed}, NoCache: true})
	if err != nil {
		t.Fatalf("list events of project %d: %v", project, err)
	}
	evs := res.(*query.EventsResult).Events
	slices.SortFunc(evs, func(a, b query.EventRow) int {
		switch {
		case a.UUID < b.UUID:
			return -1
		case a.UUID > b.UUID:
			return 1
		}
		return 0
	})
	return evs
}

// Traffic generates realistic events of a demo shop: pageviews with URL
// parts, UTM and device fields, and autocaptured clicks with element
// chains, coordinates and frustration flags. It is deterministic for a
// seed.
type Traffic struct {
	rng *rand.Rand
	n   int
}

// NewTraffic returns a generator seeded with (seed1, seed2).
func NewTraffic(seed1, seed2 uint64) *Traffic {
	return &Traffic{rng: rand.New(rand.NewPCG(seed1, seed2))}
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

// Batch returns n events starting at base, 2 ms apart.
func (g *Traffic) Batch(project int64, n int, base time.Time) []event.Event {
	out := make([]event.Event, n)
	for i := range out {
		out[i] = g.Next(project, base.Add(time.Duration(i)*2*time.Millisecond))
	}
	return out
}

// Next returns one event at ts.
func (g *Traffic) Next(project int64, ts time.Time) event.Event {
	g.n++
	r := g.rng
	visitor := r.IntN(5000)
	b := browsers[r.IntN(len(browsers))]
	path := paths[r.IntN(len(paths))]
	e := event.Event{
		ProjectID:      project,
		UUID:           UUIDAt(ts, uint64(g.n)),
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

// UUIDAt formats a UUIDv7-shaped string: time-ordered like the SDK's.
func UUIDAt(ts time.Time, n uint64) string {
	ms := uint64(ts.UnixMilli())
	return fmt.Sprintf("%08x-%04x-7%03x-%04x-%012x", ms>>16, ms&0xffff, n>>48&0xfff, 0x8000|(n>>32&0x3fff), n&0xffffffffffff)
}
