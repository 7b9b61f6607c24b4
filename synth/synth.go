// Package synth generates realistic, reproducible traffic for Sightline's
// demo shop: the events the browser SDK would send from a small outdoor-gear
// shop (landing, search, product, cart, checkout, signup, pricing, journal,
// account), with a device mix, referrers and UTM tags, daily and weekly
// seasonality, returning visitors who log in, frustration concentrated on a
// few broken elements, behavior groups planted for clustering, and an
// incident planted at a known release.
//
// The same Config always yields the same events, byte for byte. Generation
// streams: sessions are produced in order of their start and handed to the
// caller in batches, so ten million events never sit in memory. `sightline
// seed`, `sightline demo`, tests and benchmarks all use it.
package synth

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sightline-analytics/sightline/event"
)

// Release versions announced with $release events. ReleaseVersion is the
// release that breaks the coupon button (the planted incident).
const (
	BaselineReleaseVersion = "2.3.9"
	ReleaseVersion         = "2.4.0"
	FixReleaseVersion      = "2.4.1"
)

// Behavior groups planted for session clustering. Each session belongs to
// exactly one (see Config.OnSession).
const (
	GroupBouncer    = "bouncer"           // one page, a few seconds
	GroupBrowser    = "browser"           // several product pages, no cart
	GroupSearcher   = "searcher"          // repeated searches and refinements
	GroupBuyer      = "buyer"             // product → cart → checkout → (mostly) purchase
	GroupFrustrated = "frustrated-coupon" // cart, rage clicks on Apply coupon, mostly leaves
	GroupBlogReader = "blog-reader"       // long reads in the journal, deep scroll
	GroupSignup     = "signup"            // pricing → signup form → identify
	GroupBot        = "bot"               // crawlers: many fast pageviews, no clicks
)

// Groups lists the behavior groups.
func Groups() []string {
	return []string{GroupBouncer, GroupBrowser, GroupSearcher, GroupBuyer, GroupFrustrated,
		GroupBlogReader, GroupSignup, GroupBot}
}

// DefaultStart is the start used when Config.Start is zero, so that a
// Config without a start is still reproducible.
var DefaultStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// DefaultHost is the shop's origin in generated URLs.
const DefaultHost = "https://shop.example"

// Config describes the traffic to generate.
type Config struct {
	Seed int64
	// Start is the beginning of the time range; zero means DefaultStart.
	Start time.Time
	// Days is the length of the range (default 30). Every event falls in
	// [Start, Start+Days×24h).
	Days int
	// Events is the approximate total of events to generate (default
	// 100,000); the result is usually within a few percent.
	Events int
	// Visitors is the approximate number of distinct people (default
	// Events/100, as in the query benchmark's 10 M events for 100 k
	// persons). It cannot exceed the number of sessions (about Events/19).
	Visitors int
	// Host is the shop's origin without a trailing slash (default
	// DefaultHost).
	Host string
	// BatchSize, when positive, makes emit receive batches of that many
	// events (the last may be shorter). Zero hands over one session at a
	// time, the way an SDK flushes a short visit.
	BatchSize int
	// NoIncident generates normal traffic only: no incident release, so
	// that anomaly detection can be measured for false alarms.
	NoIncident bool
	// IncidentFix, when positive, ships FixReleaseVersion that long after
	// the incident started, restoring normal behavior.
	IncidentFix time.Duration
	// OnSession, if set, is called once per session with its behavior
	// group, before the session's events are emitted.
	OnSession func(sessionID, group string)
}

// Stats summarizes what Generate produced.
type Stats struct {
	Events   int
	Batches  int
	Sessions int
	// Persons counts distinct people: visitors (however many devices or
	// identities they used) and the crawler identities seen.
	Persons int
	// Identified counts people who created an account (and so have a user
	// id that $identify events use).
	Identified int
	// First and Last are the earliest and latest event timestamps.
	First, Last time.Time
	ByEvent     map[string]int // events per event name
	ByGroup     map[string]int // sessions per behavior group
	// Revenue sums the purchase events' revenue (USD).
	Revenue float64
}

// Release is a deploy announced by a $release event.
type Release struct {
	Version string
	At      time.Time
	// Incident is true for the release that breaks the coupon button.
	Incident bool
}

func (c Config) withDefaults() Config {
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	c.Start = c.Start.UTC().Truncate(time.Millisecond)
	if c.Days <= 0 {
		c.Days = 30
	}
	if c.Events <= 0 {
		c.Events = 100_000
	}
	if c.Visitors <= 0 {
		c.Visitors = max(1, c.Events/100)
	}
	c.Host = strings.TrimRight(c.Host, "/")
	if c.Host == "" {
		c.Host = DefaultHost
	}
	return c
}

// End returns the end of cfg's time range (exclusive).
func End(cfg Config) time.Time {
	cfg = cfg.withDefaults()
	return cfg.Start.Add(time.Duration(cfg.Days) * 24 * time.Hour)
}

// IncidentStart returns when the incident release ships: 14:00 UTC five days
// before the end of the range (for ranges of a week or more; shorter ranges
// put it in their middle). It is returned even when cfg.NoIncident is set.
func IncidentStart(cfg Config) time.Time {
	cfg = cfg.withDefaults()
	end := End(cfg)
	if cfg.Days >= 7 {
		return end.Add(-5 * 24 * time.Hour).Truncate(24 * time.Hour).Add(14 * time.Hour)
	}
	return cfg.Start.Add(end.Sub(cfg.Start) / 2).Truncate(time.Hour)
}

// Releases returns the $release events of cfg's range in time order: a
// harmless release halfway to the incident (ranges of ten days or more), the
// incident release unless cfg.NoIncident, and the fix when cfg.IncidentFix
// falls inside the range.
func Releases(cfg Config) []Release {
	cfg = cfg.withDefaults()
	inc := IncidentStart(cfg)
	var rs []Release
	if cfg.Days >= 10 {
		at := cfg.Start.Add(inc.Sub(cfg.Start) / 2).Truncate(24 * time.Hour).Add(10 * time.Hour)
		if at.After(cfg.Start) {
			rs = append(rs, Release{Version: BaselineReleaseVersion, At: at})
		}
	}
	if !cfg.NoIncident {
		rs = append(rs, Release{Version: ReleaseVersion, At: inc, Incident: true})
		if cfg.IncidentFix > 0 {
			if fix := inc.Add(cfg.IncidentFix); fix.Before(End(cfg)) {
				rs = append(rs, Release{Version: FixReleaseVersion, At: fix})
			}
		}
	}
	return rs
}

// Generate produces cfg's traffic, handing it to emit in batches in
// roughly time order (sessions by start; events within a session by time).
// A batch is not reused after emit returns, so emit may keep it; the
// element chains inside events are shared between events and must be
// treated as read-only. Generate stops at the first error emit returns.
// Concurrent calls are safe: all state lives in the call.
func Generate(cfg Config, emit func(batch []event.Raw) error) (Stats, error) {
	cfg = cfg.withDefaults()
	if cfg.Days > 3660 {
		return Stats{}, errors.New("synth: Days must be at most 3660")
	}
	g := newGenerator(cfg, false)
	pilotEvents, pilotSessions := g.calibrate()

	st := Stats{ByEvent: map[string]int{}, ByGroup: map[string]int{}}
	out := batcher{size: cfg.BatchSize, emit: emit, st: &st}

	releases := Releases(cfg)
	hours := cfg.Days * 24
	weights := make([]float64, hours)
	sum := 0.0
	for h := range weights {
		weights[h] = hourWeight(cfg.Start.Add(time.Duration(h)*time.Hour+30*time.Minute), float64(h)/float64(hours))
		sum += weights[h]
	}
	var starts []int64
	for h := range hours {
		// The mean session length is re-estimated as sessions accumulate,
		// the pilot acting as a prior, so the total lands near cfg.Events.
		perSession := (pilotEvents + float64(st.Events)) / (pilotSessions + float64(st.Sessions))
		lambda := float64(cfg.Events) * weights[h] / sum / perSession
		// Likewise the share of new visitors: what is left of the visitor
		// budget over the human sessions still to come.
		if left := float64(cfg.Events-st.Events) / perSession * (1 - botShare); left > 1 {
			g.pNew = math.Min(1, math.Max(0, float64(cfg.Visitors-g.persons))/left)
		}
		n := poisson(g.rng, lambda)
		base := g.start + int64(h)*3_600_000
		starts = starts[:0]
		for range n {
			starts = append(starts, base+g.rng.Int64N(3_600_000))
		}
		slices.Sort(starts)
		for _, t := range starts {
			for len(releases) > 0 && releases[0].At.UnixMilli() <= t {
				if err := out.add(g.releaseEvent(releases[0])); err != nil {
					return st, err
				}
				releases = releases[1:]
			}
			s := g.session(t)
			if len(s.out) == 0 {
				continue
			}
			st.Sessions++
			st.ByGroup[s.group]++
			if cfg.OnSession != nil {
				cfg.OnSession(s.sessionID, s.group)
			}
			if err := out.add(s.out); err != nil {
				return st, err
			}
		}
	}
	for _, r := range releases {
		if err := out.add(g.releaseEvent(r)); err != nil {
			return st, err
		}
	}
	if err := out.flush(); err != nil {
		return st, err
	}
	st.Persons = g.persons
	st.Identified = g.identified
	st.Revenue = math.Round(g.revenue*100) / 100
	return st, nil
}

// batcher hands events to emit, one session per batch or in fixed sizes.
type batcher struct {
	size int
	emit func([]event.Raw) error
	buf  []event.Raw
	st   *Stats
}

func (b *batcher) add(evs []event.Raw) error {
	for i := range evs {
		b.count(&evs[i])
	}
	if b.size <= 0 {
		return b.send(evs)
	}
	for len(evs) > 0 {
		if b.buf == nil {
			b.buf = make([]event.Raw, 0, b.size)
		}
		n := min(len(evs), b.size-len(b.buf))
		b.buf = append(b.buf, evs[:n]...)
		evs = evs[n:]
		if len(b.buf) == b.size {
			if err := b.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *batcher) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	buf := b.buf
	b.buf = nil
	return b.send(buf)
}

func (b *batcher) send(evs []event.Raw) error {
	b.st.Batches++
	if err := b.emit(evs); err != nil {
		return fmt.Errorf("synth: emit batch %d: %w", b.st.Batches, err)
	}
	return nil
}

func (b *batcher) count(r *event.Raw) {
	st := b.st
	st.Events++
	st.ByEvent[r.Event]++
	ms := parseMillis(r.Timestamp)
	t := time.UnixMilli(ms).UTC()
	if st.First.IsZero() || t.Before(st.First) {
		st.First = t
	}
	if t.After(st.Last) {
		st.Last = t
	}
}

// parseMillis reads the epoch-millisecond timestamps synth writes.
func parseMillis(b []byte) int64 {
	var n int64
	for _, c := range b {
		n = n*10 + int64(c-'0')
	}
	return n
}

// hourWeight is the relative traffic of the hour around t: a daily curve in
// UTC (the shop sells mostly in Europe and North America), quieter weekends,
// and a slow growth of 10 % over the range (progress in [0,1)).
func hourWeight(t time.Time, progress float64) float64 {
	daily := [24]float64{0.45, 0.35, 0.28, 0.22, 0.2, 0.22, 0.3, 0.42, 0.58, 0.72, 0.82, 0.9,
		0.95, 1.0, 1.0, 0.98, 0.97, 0.98, 1.0, 1.0, 0.95, 0.85, 0.72, 0.58}
	weekly := [7]float64{time.Sunday: 0.78, time.Monday: 1.0, time.Tuesday: 1.02, time.Wednesday: 1.0,
		time.Thursday: 0.98, time.Friday: 0.92, time.Saturday: 0.72}
	return daily[t.Hour()] * weekly[t.Weekday()] * (1 + 0.1*progress)
}

// poisson draws a Poisson-distributed count; normal approximation above 50.
func poisson(r *rand.Rand, lambda float64) int {
	if lambda <= 0 {
		return 0
	}
	if lambda > 50 {
		return max(0, int(math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// botShare is the share of sessions that are crawlers, and botFleet the
// number of distinct crawler ids: crawlers that run JavaScript keep their
// storage between pages and visits.
const (
	botShare = 0.02
	botFleet = 40
)

// generator holds the state that outlives a session: the visitor pool.
type generator struct {
	cfg        Config
	start, end int64 // ms
	incStart   int64
	incEnd     int64
	rng        *rand.Rand // arrivals and visitor choice
	spcg       *rand.PCG  // reseeded per session
	srng       *rand.Rand

	visitors   []visitor
	loyalty    fenwick
	pNew       float64
	nSessions  uint64
	persons    int
	identified int
	nextOrder  int
	revenue    float64

	errStacks [3]string
	// bots are the distinct ids of the crawler fleet; botSeen marks those
	// that have crawled already.
	bots    []string
	botSeen []bool
	scratch sess
	cards   map[cardKey][]event.Element

	// URLs, built once per host and shared by every event on the page.
	pageURL     map[string]string
	productURL  []string
	postURL     []string
	categoryURL []string
	signupURL   []string
}

func (g *generator) url(path string) string { return g.cfg.Host + path }

func (g *generator) buildURLs() {
	g.pageURL = map[string]string{
		PageLanding: g.url("/"), PageSearch: g.url("/search"), PageCart: g.url("/cart"),
		PageCheckout: g.url("/checkout"), PageThankYou: g.url("/checkout/thank-you"),
		PageSignup: g.url("/signup"), PagePricing: g.url("/pricing"), PageBlogIndex: g.url("/blog"),
		PageAccount: g.url("/account"),
	}
	for _, p := range productPath {
		g.productURL = append(g.productURL, g.url(p))
	}
	for _, p := range postPath {
		g.postURL = append(g.postURL, g.url(p))
	}
	for _, c := range categories {
		g.categoryURL = append(g.categoryURL, g.url("/search?category="+c))
	}
	for _, p := range planNames {
		g.signupURL = append(g.signupURL, g.url("/signup?plan="+p))
	}
}

func newGenerator(cfg Config, pilot bool) *generator {
	stream := uint64(0x5157_4e54_4845_5449) // "SYNTHETI"
	if pilot {
		stream ^= 0xffff
	}
	g := &generator{
		cfg:      cfg,
		start:    cfg.Start.UnixMilli(),
		end:      End(cfg).UnixMilli(),
		incStart: math.MaxInt64,
		incEnd:   math.MaxInt64,
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), stream)),
		spcg:     rand.NewPCG(0, 0),
		pNew:     0.4,
		cards:    map[cardKey][]event.Element{},
	}
	g.srng = rand.New(g.spcg)
	if !cfg.NoIncident {
		g.incStart = IncidentStart(cfg).UnixMilli()
		if cfg.IncidentFix > 0 {
			g.incEnd = g.incStart + cfg.IncidentFix.Milliseconds()
		}
	}
	g.buildURLs()
	fleet := rand.New(rand.NewPCG(uint64(cfg.Seed), stream^0xb075))
	for range botFleet {
		g.bots = append(g.bots, uuidV7(g.start-fleet.Int64N(30*86_400_000), fleet))
	}
	g.botSeen = make([]bool, botFleet)
	for i, w := range errorWording {
		g.errStacks[i] = fmt.Sprintf(w.stack, cfg.Host)
	}
	return g
}

// calibrate runs a short pilot over the same range and returns its events
// and sessions: a first estimate of the mean session length, from which the
// number of sessions and the share of new visitors are chosen.
func (g *generator) calibrate() (events, sessions float64) {
	p := newGenerator(g.cfg, true)
	const n = 300
	total := 0
	for range n {
		t := p.start + p.rng.Int64N(max(1, p.end-p.start))
		total += len(p.session(t).out)
	}
	return max(1, float64(total)), n
}

func (g *generator) inIncident(t int64) bool { return t >= g.incStart && t < g.incEnd }

// releaseEvent is the annotation a deploy script sends through the SDK's
// release() call.
func (g *generator) releaseEvent(r Release) []event.Raw {
	ms := r.At.UnixMilli()
	g.spcg.Seed(uint64(g.cfg.Seed), uint64(ms))
	props := appendString([]byte(`{"version":`), r.Version)
	props = append(props, '}')
	return []event.Raw{{
		UUID:       uuidV7(ms, g.srng),
		Event:      "$release",
		DistinctID: "deploy",
		Timestamp:  appendMillis(nil, ms),
		URL:        g.cfg.Host + "/",
		Properties: props,
	}}
}

func appendMillis(dst []byte, ms int64) []byte {
	return strconv.AppendInt(dst, ms, 10)
}

// visitor is a person (or rather a browser profile that may log in).
type visitor struct {
	anon      string // current anonymous distinct id on the main device
	user      string // user id once signed up
	loggedIn  bool   // the main device uses user as distinct id
	dev       int    // index in humanDevices
	vw, vh    int
	country   uint8
	domain    uint8
	plan      uint8
	busyUntil int64
}

// fenwick is a growable Fenwick tree of sampling weights: returning
// visitors are drawn by a heavy-tailed loyalty.
type fenwick struct{ tree []float64 }

func (f *fenwick) add(w float64) {
	f.tree = append(f.tree, 0)
	i := len(f.tree) // 1-based index of the new element
	// Node i covers (i-lowbit(i), i]: its own weight plus the nodes below.
	v := w
	for j := i - 1; j > i-(i&-i); j -= j & -j {
		v += f.tree[j-1]
	}
	f.tree[i-1] = v
}

func (f *fenwick) total() float64 {
	s := 0.0
	for i := len(f.tree); i > 0; i -= i & -i {
		s += f.tree[i-1]
	}
	return s
}

// find returns the 0-based index whose prefix sum first exceeds u.
func (f *fenwick) find(u float64) int {
	n := len(f.tree)
	pos := 0
	step := 1
	for step*2 <= n {
		step *= 2
	}
	for ; step > 0; step /= 2 {
		if next := pos + step; next <= n && f.tree[next-1] <= u {
			pos = next
			u -= f.tree[next-1]
		}
	}
	return min(pos, n-1)
}

// pickVisitor returns the visitor for a session starting at t and whether
// it is new.
func (g *generator) pickVisitor(t int64) (int, bool) {
	if len(g.visitors) > 0 && g.rng.Float64() >= g.pNew {
		tot := g.loyalty.total()
		for range 6 {
			i := g.loyalty.find(g.rng.Float64() * tot)
			if g.visitors[i].busyUntil < t {
				return i, false
			}
		}
		// The most loyal are all mid-session: anyone else who is free.
		for range 6 {
			i := g.rng.IntN(len(g.visitors))
			if g.visitors[i].busyUntil < t {
				return i, false
			}
		}
	}
	r := g.rng
	d := pickCDF(humanDeviceCDF, r.Float64())
	size := humanDevices[d].sizes[r.IntN(len(humanDevices[d].sizes))]
	v := visitor{
		anon:    uuidV7(t-r.Int64N(60_000), r),
		dev:     d,
		vw:      size[0],
		vh:      size[1],
		country: uint8(r.IntN(len(countries))),
		domain:  uint8(r.IntN(len(emailDomains))),
		plan:    uint8(r.IntN(len(plans))),
	}
	g.visitors = append(g.visitors, v)
	// Pareto(α=1.3) loyalty: a few people come back very often.
	g.loyalty.add(math.Pow(1-r.Float64(), -1/1.3))
	g.persons++
	return len(g.visitors) - 1, true
}
