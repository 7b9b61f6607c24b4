package synth

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sightline-analytics/sightline/event"
)

// run generates cfg and keeps every event and session label.
type run struct {
	cfg    Config
	stats  Stats
	events []event.Raw
	groups map[string]string // session id → group
	order  []string          // session ids in OnSession order
}

var emailLike = regexp.MustCompile(`[\w.+-]+@[\w-]+\.[\w.]+`)

func generate(t testing.TB, cfg Config) *run {
	t.Helper()
	r := &run{cfg: cfg, groups: map[string]string{}}
	cfg.OnSession = func(id, g string) {
		if _, dup := r.groups[id]; dup {
			t.Errorf("OnSession called twice for %s", id)
		}
		r.groups[id] = g
		r.order = append(r.order, id)
	}
	st, err := Generate(cfg, func(b []event.Raw) error {
		r.events = append(r.events, b...)
		return nil
	})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	r.stats = st
	return r
}

// Shared runs: generation is deterministic, so tests can share them.
var (
	baseOnce sync.Once
	baseRun  *run
)

// base is 21 days of traffic with the incident 5 days before the end.
func base(t *testing.T) *run {
	baseOnce.Do(func() {
		baseRun = generate(t, Config{Seed: 42, Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Days: 21, Events: 150_000})
	})
	if baseRun == nil {
		t.Fatal("base run failed")
	}
	return baseRun
}

func ms(r *event.Raw) int64 {
	n, err := strconv.ParseInt(string(r.Timestamp), 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}

func props(t testing.TB, r *event.Raw) map[string]any {
	t.Helper()
	if len(r.Properties) == 0 {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(r.Properties, &m); err != nil {
		t.Fatalf("%s %s: properties %s: %v", r.Event, r.UUID, r.Properties, err)
	}
	return m
}

func hashEvents(evs []event.Raw) string {
	h := sha256.New()
	var buf []byte
	for i := range evs {
		buf = AppendEvent(buf[:0], &evs[i])
		h.Write(buf)
		h.Write([]byte{'\n'})
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Seed: 3, Days: 3, Events: 15_000}
	bodies := func(cfg Config) (string, []string) {
		h := sha256.New()
		var labels []string
		cfg.OnSession = func(id, g string) { labels = append(labels, id+"="+g) }
		sent := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var buf []byte
		if _, err := Generate(cfg, func(b []event.Raw) error {
			buf = CaptureBody(buf[:0], "tok", sent, b)
			h.Write(buf)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%x", h.Sum(nil)), labels
	}
	h1, l1 := bodies(cfg)
	h2, l2 := bodies(cfg)
	if h1 != h2 {
		t.Errorf("same config, different output: %s vs %s", h1, h2)
	}
	if strings.Join(l1, ",") != strings.Join(l2, ",") {
		t.Error("same config, different session labels")
	}
	cfg.Seed = 4
	if h3, _ := bodies(cfg); h3 == h1 {
		t.Error("different seeds gave identical output")
	}
}

func TestBatchSizeKeepsTheStream(t *testing.T) {
	cfg := Config{Seed: 9, Days: 2, Events: 8_000}
	whole := generate(t, cfg)
	cfg.BatchSize = 100
	var got []event.Raw
	batches := 0
	st, err := Generate(cfg, func(b []event.Raw) error {
		if len(b) > 100 || len(b) == 0 {
			t.Errorf("batch of %d events", len(b))
		}
		batches++
		got = append(got, b...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if hashEvents(got) != hashEvents(whole.events) {
		t.Error("batching changed the events")
	}
	if want := (len(got) + 99) / 100; batches != want || st.Batches != want {
		t.Errorf("batches = %d (stats %d), want %d", batches, st.Batches, want)
	}
	if whole.stats.Batches != whole.stats.Sessions+len(Releases(cfg)) {
		t.Errorf("default batching: %d batches for %d sessions and %d releases",
			whole.stats.Batches, whole.stats.Sessions, len(Releases(cfg)))
	}
}

func TestEmitErrorStops(t *testing.T) {
	boom := errors.New("boom")
	n := 0
	_, err := Generate(Config{Seed: 1, Days: 2, Events: 5000}, func([]event.Raw) error {
		n++
		if n == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if n != 3 {
		t.Errorf("emit called %d times after failing", n)
	}
}

func TestEventTotalNearTarget(t *testing.T) {
	for _, tc := range []struct {
		days, events int
		tolerance    float64 // a few standard deviations of the session lengths' sum
	}{{1, 3_000, 0.2}, {7, 30_000, 0.08}, {30, 120_000, 0.05}} {
		t.Run(fmt.Sprint(tc.days, "d", tc.events), func(t *testing.T) {
			st, err := Generate(Config{Seed: 5, Days: tc.days, Events: tc.events}, func([]event.Raw) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d events, %d persons", st.Events, st.Persons)
			if dev := math.Abs(float64(st.Events-tc.events)) / float64(tc.events); dev > tc.tolerance {
				t.Errorf("%d events for a target of %d (%.0f%% off)", st.Events, tc.events, 100*dev)
			}
			if want := float64(tc.events) / 100; math.Abs(float64(st.Persons)-want) > 0.1*want+5 {
				t.Errorf("%d persons, want about %.0f", st.Persons, want)
			}
		})
	}
}

func TestVisitorsTarget(t *testing.T) {
	for _, v := range []int{200, 1_200} {
		st, err := Generate(Config{Seed: 6, Days: 14, Events: 40_000, Visitors: v}, func([]event.Raw) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(float64(st.Persons-v)) > 0.1*float64(v) {
			t.Errorf("%d persons for a target of %d", st.Persons, v)
		}
	}
}

// TestEventsAreValid checks every event the way capture will: required
// fields, uuids, timestamps in range, URLs on the shop's host, pointer
// events with their element chain and coordinates.
func TestEventsAreValid(t *testing.T) {
	r := base(t)
	start, end := r.cfg.Start.UnixMilli(), End(r.cfg).UnixMilli()
	seen := make(map[string]bool, len(r.events))
	var prevSession string
	var prevTs int64
	for i := range r.events {
		e := &r.events[i]
		if e.Event == "" || e.DistinctID == "" || e.UUID == "" || len(e.Timestamp) == 0 {
			t.Fatalf("event %d misses a required field: %+v", i, e)
		}
		id, err := uuid.Parse(e.UUID)
		if err != nil || id.Version() != 7 || id.Variant() != uuid.RFC4122 {
			t.Fatalf("event %d: uuid %q is not a v7 UUID (%v)", i, e.UUID, err)
		}
		if seen[e.UUID] {
			t.Fatalf("duplicate uuid %s", e.UUID)
		}
		seen[e.UUID] = true
		ts := ms(e)
		sec, nsec := id.Time().UnixTime()
		if sec*1000+nsec/1e6 != ts {
			t.Fatalf("uuid %s carries %d ms, timestamp is %d", e.UUID, sec*1000+nsec/1e6, ts)
		}
		if ts < start || ts >= end {
			t.Fatalf("timestamp %d outside [%d, %d)", ts, start, end)
		}
		if e.Event == "$release" {
			continue
		}
		if e.SessionID == "" || e.WindowID == "" || e.UserAgent == "" || e.Title == "" {
			t.Fatalf("event %d misses session, window, user agent or title: %+v", i, e)
		}
		if e.SessionID == prevSession && ts < prevTs {
			t.Fatalf("session %s goes back in time at event %d", e.SessionID, i)
		}
		prevSession, prevTs = e.SessionID, ts
		u, err := url.Parse(e.URL)
		if err != nil || u.Scheme != "https" || u.Host != "shop.example" {
			t.Fatalf("event %d: url %q", i, e.URL)
		}
		if e.Referrer != "" {
			if _, err := url.Parse(e.Referrer); err != nil {
				t.Fatalf("referrer %q: %v", e.Referrer, err)
			}
		}
		if m := props(t, e); emailLike.Match(e.Properties) {
			t.Fatalf("properties look like they hold an e-mail address: %v", m)
		}
		switch e.Event {
		case "$click", "$rageclick", "$deadclick", "$errorclick", "$hesitation":
			if len(e.Elements) == 0 || e.Selector == "" || e.X == nil || e.Y == nil || e.OffsetX == nil || e.OffsetY == nil {
				t.Fatalf("pointer event without chain or coordinates: %+v", e)
			}
			if *e.OffsetX < 0 || *e.OffsetX > 1 || *e.OffsetY < 0 || *e.OffsetY > 1 {
				t.Fatalf("offset (%v, %v) outside the element", *e.OffsetX, *e.OffsetY)
			}
			if *e.X < 0 || *e.X > float64(e.DocumentWidth)+20 || *e.Y < 0 || *e.Y > float64(e.DocumentHeight) {
				t.Fatalf("click (%v, %v) outside a %dx%d document", *e.X, *e.Y, e.DocumentWidth, e.DocumentHeight)
			}
			if e.ViewportWidth == 0 || e.ViewportHeight == 0 || e.DocumentHeight < e.ViewportHeight/2 {
				t.Fatalf("pointer event without sizes: %+v", e)
			}
		case "$pageview", "$pageleave":
			if e.ViewportWidth == 0 || e.DocumentHeight == 0 {
				t.Fatalf("%s without sizes", e.Event)
			}
		}
		for _, el := range e.Elements {
			if el.Tag == "" || el.NthChild < 1 || el.NthOfType < 1 || el.NthOfType > el.NthChild {
				t.Fatalf("bad element %+v in %s", el, e.Selector)
			}
			// Sensitive fields never produce events.
			switch el.ID {
			case "card-number", "card-expiry", "cvv", "signup-password", "login-password":
				t.Fatalf("event on sensitive field %s", el.ID)
			}
		}
		if e.Event == "$pageleave" {
			p := props(t, e)
			d, ok1 := p["$max_scroll_pct"].(float64)
			top, ok2 := p["$time_on_page_ms"].(float64)
			if !ok1 || !ok2 || d < 1 || d > 100 || top <= 0 {
				t.Fatalf("$pageleave properties %v", p)
			}
		}
	}
	if r.stats.Events != len(r.events) {
		t.Errorf("stats count %d events, emitted %d", r.stats.Events, len(r.events))
	}
	if r.stats.First.UnixMilli() < start || r.stats.Last.UnixMilli() >= end {
		t.Errorf("stats range %v..%v", r.stats.First, r.stats.Last)
	}
}

// sessions groups the events of a run by session, in order.
func sessions(r *run) map[string][]*event.Raw {
	out := map[string][]*event.Raw{}
	for i := range r.events {
		e := &r.events[i]
		if e.SessionID != "" {
			out[e.SessionID] = append(out[e.SessionID], e)
		}
	}
	return out
}

func TestFunnelDropsOff(t *testing.T) {
	r := base(t)
	steps := []func(e *event.Raw) bool{
		func(e *event.Raw) bool { return e.Event == "$pageview" },
		func(e *event.Raw) bool { return e.Event == "$pageview" && strings.Contains(e.URL, "/product/") },
		func(e *event.Raw) bool { return e.Event == "add_to_cart" },
		func(e *event.Raw) bool { return e.Event == "checkout_started" },
		func(e *event.Raw) bool { return e.Event == "purchase" },
	}
	counts := make([]int, len(steps))
	for _, evs := range sessions(r) {
		k := 0
		for _, e := range evs {
			if k < len(steps) && steps[k](e) {
				counts[k]++
				k++
			}
		}
	}
	t.Logf("funnel by session: %v", counts)
	for i := 1; i < len(counts); i++ {
		if counts[i] >= counts[i-1] || counts[i] == 0 {
			t.Fatalf("funnel does not drop at step %d: %v", i, counts)
		}
	}
	rate := func(i int) float64 { return float64(counts[i]) / float64(counts[i-1]) }
	for _, b := range []struct {
		step     int
		min, max float64
	}{{1, 0.4, 0.8}, {2, 0.1, 0.5}, {3, 0.5, 0.9}, {4, 0.5, 0.9}} {
		if got := rate(b.step); got < b.min || got > b.max {
			t.Errorf("conversion into step %d is %.2f, want %.2f..%.2f", b.step, got, b.min, b.max)
		}
	}
}

// incidentRates returns, before and after the incident start, the rage
// clicks on the coupon button per 1000 sessions and the share of checkouts
// that end in a purchase.
func incidentRates(t *testing.T, r *run) (rageBefore, rageAfter, convBefore, convAfter float64) {
	inc := IncidentStart(r.cfg).UnixMilli()
	var sess, rage, checkout, purchase [2]float64
	for _, evs := range sessions(r) {
		k := 0
		if ms(evs[0]) >= inc {
			k = 1
		}
		sess[k]++
		for _, e := range evs {
			switch {
			case e.Event == "$rageclick" && e.Selector == SelApplyCoupon:
				rage[k]++
			case e.Event == "checkout_started":
				checkout[k]++
			case e.Event == "purchase":
				purchase[k]++
			}
		}
	}
	return 1000 * rage[0] / sess[0], 1000 * rage[1] / sess[1], purchase[0] / checkout[0], purchase[1] / checkout[1]
}

func TestIncidentIsVisible(t *testing.T) {
	r := base(t)
	rb, ra, cb, ca := incidentRates(t, r)
	t.Logf("coupon rage clicks per 1000 sessions: %.1f before, %.1f after; checkout conversion %.2f → %.2f", rb, ra, cb, ca)
	if ra < 5*rb {
		t.Errorf("rage clicks on %s after the release: %.1f per 1000 sessions, before %.1f: want ≥5×", SelApplyCoupon, ra, rb)
	}
	if rb == 0 {
		t.Error("no baseline rage clicks before the incident")
	}
	if ca > cb-0.08 {
		t.Errorf("checkout conversion %.2f before, %.2f after: want a clear drop", cb, ca)
	}
	var rel []string
	for _, e := range r.events {
		if e.Event == "$release" {
			rel = append(rel, string(e.Properties)+"@"+string(e.Timestamp))
		}
	}
	var want []string
	for _, x := range Releases(r.cfg) {
		want = append(want, `{"version":"`+x.Version+`"}@`+strconv.FormatInt(x.At.UnixMilli(), 10))
	}
	if strings.Join(rel, " ") != strings.Join(want, " ") || len(want) != 2 {
		t.Errorf("release events %v, want %v", rel, want)
	}
}

func TestNoIncident(t *testing.T) {
	r := generate(t, Config{Seed: 42, Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Days: 21, Events: 150_000, NoIncident: true})
	rb, ra, cb, ca := incidentRates(t, r)
	t.Logf("coupon rage clicks per 1000 sessions: %.1f before, %.1f after; checkout conversion %.2f → %.2f", rb, ra, cb, ca)
	if ra > 2*rb || ra < rb/2 {
		t.Errorf("rage clicks change without an incident: %.1f → %.1f", rb, ra)
	}
	if math.Abs(ca-cb) > 0.06 {
		t.Errorf("conversion changes without an incident: %.2f → %.2f", cb, ca)
	}
	for _, x := range Releases(r.cfg) {
		if x.Version == ReleaseVersion || x.Incident {
			t.Errorf("NoIncident still releases %s", x.Version)
		}
	}
}

func TestIncidentFix(t *testing.T) {
	cfg := Config{Seed: 8, Days: 20, Events: 80_000, IncidentFix: 48 * time.Hour}
	r := generate(t, cfg)
	inc := IncidentStart(cfg).UnixMilli()
	fix := inc + (48 * time.Hour).Milliseconds()
	var sess, rage [3]float64
	for _, evs := range sessions(r) {
		k := 0
		if t0 := ms(evs[0]); t0 >= fix {
			k = 2
		} else if t0 >= inc {
			k = 1
		}
		sess[k]++
		for _, e := range evs {
			if e.Event == "$rageclick" && e.Selector == SelApplyCoupon {
				rage[k]++
			}
		}
	}
	before, during, after := rage[0]/sess[0], rage[1]/sess[1], rage[2]/sess[2]
	if during < 4*before || after > 2.5*before {
		t.Errorf("rage per session before %.4f, during %.4f, after the fix %.4f", before, during, after)
	}
	rs := Releases(cfg)
	if len(rs) != 3 || rs[2].Version != FixReleaseVersion || !rs[2].At.Equal(time.UnixMilli(fix)) {
		t.Errorf("releases %+v", rs)
	}
}

func TestIncidentStart(t *testing.T) {
	for _, tc := range []struct {
		start time.Time
		days  int
		want  time.Time
	}{
		{time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), 30, time.Date(2026, 1, 30, 14, 0, 0, 0, time.UTC)},
		{time.Date(2026, 1, 5, 9, 30, 0, 0, time.UTC), 7, time.Date(2026, 1, 7, 14, 0, 0, 0, time.UTC)},
		{time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), 2, time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 1, 5, 10, 0, 0, 0, time.FixedZone("X", 3600)), 1, time.Date(2026, 1, 5, 21, 0, 0, 0, time.UTC)},
	} {
		cfg := Config{Start: tc.start, Days: tc.days}
		got := IncidentStart(cfg)
		if !got.Equal(tc.want) {
			t.Errorf("IncidentStart(%v, %d days) = %v, want %v", tc.start, tc.days, got, tc.want)
		}
		if got.Before(tc.start) || !got.Before(End(cfg)) {
			t.Errorf("incident %v outside the range", got)
		}
	}
}

func TestSeasonality(t *testing.T) {
	r := base(t)
	var byDay = map[string]int{}
	var byHour [24]int
	for _, evs := range sessions(r) {
		t0 := time.UnixMilli(ms(evs[0])).UTC()
		byDay[t0.Format(time.DateOnly)]++
		byHour[t0.Hour()]++
	}
	var we, wd, nwe, nwd float64
	for d, n := range byDay {
		day, _ := time.Parse(time.DateOnly, d)
		if wk := day.Weekday(); wk == time.Saturday || wk == time.Sunday {
			we += float64(n)
			nwe++
		} else {
			wd += float64(n)
			nwd++
		}
	}
	ratio := (we / nwe) / (wd / nwd)
	t.Logf("weekend/weekday sessions per day: %.2f; sessions by hour %v", ratio, byHour)
	if ratio > 0.88 || ratio < 0.55 {
		t.Errorf("weekend/weekday ratio %.2f, want 0.55..0.88", ratio)
	}
	night := byHour[2] + byHour[3] + byHour[4]
	day := byHour[13] + byHour[14] + byHour[15]
	if float64(night) > 0.4*float64(day) {
		t.Errorf("nights (%d sessions) not quieter than afternoons (%d)", night, day)
	}
}

func TestIdentify(t *testing.T) {
	r := base(t)
	seen := map[string]bool{}
	identified := map[string]string{} // session → user id
	n := 0
	for i := range r.events {
		e := &r.events[i]
		if user, ok := identified[e.SessionID]; ok && e.DistinctID != user {
			t.Fatalf("session %s identified as %s goes on as %s", e.SessionID, user, e.DistinctID)
		}
		if e.Event == "$identify" {
			n++
			p := props(t, e)
			anon, _ := p["$anon_distinct_id"].(string)
			if anon == "" || anon == e.DistinctID || !seen[anon] {
				t.Fatalf("$identify of %s: anonymous id %q was never seen before", e.DistinctID, anon)
			}
			set, _ := p["$set"].(map[string]any)
			if set["email_domain"] == nil || set["plan"] == nil {
				t.Fatalf("$identify without traits: %v", p)
			}
			if !strings.HasPrefix(e.DistinctID, "user_") {
				t.Fatalf("user id %q", e.DistinctID)
			}
			identified[e.SessionID] = e.DistinctID
		}
		seen[e.DistinctID] = true
	}
	if n < 100 || r.stats.Identified < 50 {
		t.Errorf("%d identify events, %d people identified", n, r.stats.Identified)
	}
	// Returning users come back already identified.
	users := map[string]int{}
	for _, evs := range sessions(r) {
		if strings.HasPrefix(evs[0].DistinctID, "user_") {
			users[evs[0].DistinctID]++
		}
	}
	if len(users) < 20 {
		t.Errorf("only %d users return logged in", len(users))
	}
}

func TestReturningVisitors(t *testing.T) {
	r := base(t)
	per := map[string]int{}
	for _, evs := range sessions(r) {
		per[evs[0].DistinctID]++
	}
	returning := 0
	for _, n := range per {
		if n > 1 {
			returning++
		}
	}
	if share := float64(returning) / float64(len(per)); share < 0.15 || share > 0.9 {
		t.Errorf("%.2f of visitors return", share)
	}
}

func TestProductsAreZipf(t *testing.T) {
	r := base(t)
	views := map[string]int{}
	for _, e := range r.events {
		if e.Event == "$pageview" {
			if p, ok := strings.CutPrefix(e.URL, DefaultHost+"/product/"); ok {
				p, _, _ = strings.Cut(p, "?")
				views[p]++
			}
		}
	}
	ps := Products()
	if len(ps) != 200 {
		t.Fatalf("%d products", len(ps))
	}
	v0, v10, v100 := views[ps[0].Slug], views[ps[10].Slug], views[ps[100].Slug]
	t.Logf("views of products ranked 1, 11, 101: %d %d %d; %d products seen", v0, v10, v100, len(views))
	if v0 < 4*v10 || v10 < 2*v100 || len(views) < 150 {
		t.Errorf("product views not Zipf-like: %d, %d, %d over %d products", v0, v10, v100, len(views))
	}
}

func TestDeviceMix(t *testing.T) {
	r := base(t)
	kind := map[string]string{}
	for _, d := range humanDevices {
		kind[d.ua] = d.kind
	}
	for _, d := range botDevices {
		kind[d.ua] = d.kind
	}
	count := map[string]float64{}
	total := 0.0
	for _, evs := range sessions(r) {
		k, ok := kind[evs[0].UserAgent]
		if !ok {
			t.Fatalf("unknown user agent %q", evs[0].UserAgent)
		}
		count[k]++
		total++
	}
	for _, b := range []struct {
		kind     string
		min, max float64
	}{{"desktop", 0.3, 0.55}, {"mobile", 0.4, 0.65}, {"tablet", 0.02, 0.12}, {"bot", 0.01, 0.04}} {
		if s := count[b.kind] / total; s < b.min || s > b.max {
			t.Errorf("%s share %.3f, want %.2f..%.2f", b.kind, s, b.min, b.max)
		}
	}
}

func TestReferrersAndUTM(t *testing.T) {
	r := base(t)
	src := map[string]int{}
	total := 0
	for _, evs := range sessions(r) {
		e := evs[0]
		if e.Event != "$pageview" {
			t.Fatalf("session starts with %s", e.Event)
		}
		u, _ := url.Parse(e.URL)
		ref, _ := url.Parse(e.Referrer)
		total++
		switch {
		case u.Query().Get("utm_source") != "":
			src["utm:"+u.Query().Get("utm_source")]++
		case e.Referrer == "":
			src["direct"]++
		default:
			src[ref.Host]++
		}
	}
	t.Logf("entry sources: %v", src)
	for _, k := range []string{"direct", "www.google.com", "utm:newsletter", "utm:google", "utm:instagram", "l.facebook.com"} {
		if src[k] < total/100 {
			t.Errorf("source %s: %d of %d sessions", k, src[k], total)
		}
	}
}

// TestGroups checks that each planted group behaves as its label says, so
// that clustering can be scored against the labels.
func TestGroups(t *testing.T) {
	r := base(t)
	ss := sessions(r)
	if len(r.groups) != len(ss) || r.stats.Sessions != len(ss) {
		t.Fatalf("%d labels, %d sessions, stats %d", len(r.groups), len(ss), r.stats.Sessions)
	}
	count := map[string]int{}
	for id, evs := range ss {
		g, ok := r.groups[id]
		if !ok {
			t.Fatalf("session %s has no label", id)
		}
		count[g]++
		has := func(f func(*event.Raw) bool) int {
			n := 0
			for _, e := range evs {
				if f(e) {
					n++
				}
			}
			return n
		}
		pageviews := has(func(e *event.Raw) bool { return e.Event == "$pageview" })
		ok = true
		switch g {
		case GroupBouncer:
			ok = pageviews == 1
		case GroupBot:
			ok = pageviews >= 3 && has(func(e *event.Raw) bool { return e.Event != "$pageview" }) == 0
		case GroupBuyer:
			ok = has(func(e *event.Raw) bool { return e.Event == "add_to_cart" }) > 0 &&
				has(func(e *event.Raw) bool { return e.Event == "$rageclick" && e.Selector == SelApplyCoupon }) == 0
		case GroupFrustrated:
			ok = has(func(e *event.Raw) bool { return e.Event == "$rageclick" && e.Selector == SelApplyCoupon }) > 0
		case GroupSearcher:
			ok = has(func(e *event.Raw) bool { return e.Event == "search" }) > 0
		case GroupBlogReader:
			ok = has(func(e *event.Raw) bool { return e.Event == "$pageview" && strings.Contains(e.URL, "/blog") }) > 0
		case GroupSignup:
			ok = has(func(e *event.Raw) bool { return e.Event == "$pageview" && strings.Contains(e.URL, "/signup") }) > 0
		case GroupBrowser:
			ok = has(func(e *event.Raw) bool { return e.Event == "$pageview" && strings.Contains(e.URL, "/product/") }) >= 2
		default:
			t.Fatalf("unknown group %q", g)
		}
		// Sessions cut by the end of the range may not get that far.
		if !ok && End(r.cfg).UnixMilli()-ms(evs[0]) > 3*3_600_000 {
			t.Fatalf("session %s labelled %s does not behave so", id, g)
		}
	}
	for _, g := range Groups() {
		if float64(count[g]) < 0.01*float64(len(ss)) {
			t.Errorf("group %s: %d of %d sessions", g, count[g], len(ss))
		}
		if count[g] != r.stats.ByGroup[g] {
			t.Errorf("stats count %d %s sessions, labels %d", r.stats.ByGroup[g], g, count[g])
		}
	}
}

// TestFrustrationIsConcentrated checks that each frustration signal sits on
// its planted element.
func TestFrustrationIsConcentrated(t *testing.T) {
	r := base(t)
	by := map[string]map[string]int{}
	for _, e := range r.events {
		switch e.Event {
		case "$rageclick", "$deadclick", "$errorclick":
			if by[e.Event] == nil {
				by[e.Event] = map[string]int{}
			}
			by[e.Event][e.Selector]++
		}
	}
	for ev, sel := range map[string]string{"$rageclick": SelApplyCoupon, "$deadclick": SelSizeGuide, "$errorclick": SelWishlist} {
		total := 0
		for _, n := range by[ev] {
			total += n
		}
		if total < 20 || float64(by[ev][sel]) < 0.8*float64(total) {
			t.Errorf("%s: %d of %d on %s (%v)", ev, by[ev][sel], total, sel, by[ev])
		}
	}
	for _, ev := range []string{"$hesitation", "$thrash", "$quickback", "$error", "$formabandon"} {
		if r.stats.ByEvent[ev] == 0 {
			t.Errorf("no %s events", ev)
		}
	}
	// A rage click follows at least three clicks on the same element, each
	// under a second after the last and within 30 px.
	for _, evs := range sessions(r) {
		for i, e := range evs {
			if e.Event != "$rageclick" {
				continue
			}
			n := int(props(t, e)["$click_count"].(float64))
			if n < 3 || i < n {
				t.Fatalf("$rageclick of %d clicks at position %d", n, i)
			}
			next := e
			for j := i - 1; j >= i-n; j-- {
				c := evs[j]
				if c.Event != "$click" || c.Selector != e.Selector {
					t.Fatalf("rage burst interrupted by %s", c.Event)
				}
				if ms(next)-ms(c) >= 1000 || math.Hypot(*c.X-*next.X, *c.Y-*next.Y) >= 30 {
					t.Fatalf("rage clicks too slow or spread: %d ms, (%v,%v) then (%v,%v)", ms(next)-ms(c), *c.X, *c.Y, *next.X, *next.Y)
				}
				next = c
			}
		}
	}
}

func TestPurchases(t *testing.T) {
	r := base(t)
	sum := 0.0
	for i := range r.events {
		e := &r.events[i]
		if e.Event != "purchase" {
			continue
		}
		p := props(t, e)
		rev, _ := p["revenue"].(float64)
		if rev <= 0 || p["currency"] != "USD" || p["order_id"] == nil {
			t.Fatalf("purchase properties %v", p)
		}
		sum += rev
	}
	if math.Abs(sum-r.stats.Revenue) > 0.01*sum {
		t.Errorf("revenue %.2f, stats %.2f", sum, r.stats.Revenue)
	}
}

func TestTargetsAreConsistent(t *testing.T) {
	names := map[string]bool{}
	for _, tg := range Targets() {
		if names[tg.Name] {
			t.Errorf("duplicate target %s", tg.Name)
		}
		names[tg.Name] = true
		if len(tg.Chain) == 0 || tg.Selector == "" || tg.Page == "" {
			t.Errorf("incomplete target %+v", tg)
		}
		top := tg.Chain[len(tg.Chain)-1]
		if top.Tag != "main" && top.Tag != "header" {
			t.Errorf("%s: chain ends at %s, want main or header", tg.Name, top.Tag)
		}
	}
	for _, n := range []string{"apply-coupon", "size-guide", "wishlist"} {
		if !names[n] {
			t.Errorf("planted target %s missing", n)
		}
	}
	// Every element chain in events belongs to a published target.
	r := generate(t, Config{Seed: 2, Days: 2, Events: 10_000})
	known := map[string]bool{}
	for _, tg := range Targets() {
		known[tg.Selector] = true
	}
	for _, e := range r.events {
		if e.Selector == "" {
			continue
		}
		sel := e.Selector
		// Cards at other positions share their grid's selector pattern.
		if i := strings.Index(sel, "li:nth-child("); i >= 0 {
			sel = sel[:i] + "li:nth-child(1)" + sel[strings.Index(sel[i:], ")")+i+1:]
		}
		if !known[sel] {
			t.Fatalf("event %s on unpublished selector %q", e.Event, e.Selector)
		}
	}
}
