package insight

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// ClusterRequest asks for the behavior patterns of a set of sessions.
type ClusterRequest struct {
	SessionFilter
	// KMin and KMax bound the number of clusters (defaults 3 and 10: more
	// than ten patterns is not a list anyone reads, and two say little).
	// Within them, k is the fewest clusters that explain three quarters of
	// the variance (see chooseK).
	KMin int `json:"k_min,omitempty"`
	KMax int `json:"k_max,omitempty"`
	// Conversion is the event that counts as converting (for example
	// "purchase"); empty leaves conversion out.
	Conversion string `json:"conversion,omitempty"`
	// Seed makes a run reproducible (default 1).
	Seed uint64 `json:"seed,omitempty"`
	// Representatives is how many sessions nearest each centre to return
	// (default 3).
	Representatives int `json:"representatives,omitempty"`
	// Weights override the feature blocks' weights by name: events,
	// custom events, pages, paths, frustration, engagement, scroll,
	// errors, device, frustrated elements.
	Weights map[string]float64 `json:"weights,omitempty"`
}

// ClusterResult is a clustering of sessions.
type ClusterResult struct {
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Sessions   int       `json:"sessions"`
	K          int       `json:"k"`
	Silhouette float64   `json:"silhouette"`
	// Scores are the sampled silhouettes of the k tried; Explained the
	// share of the variance their clusters explain (R²).
	Scores     map[int]float64 `json:"scores"`
	Explained  map[int]float64 `json:"explained"`
	Conversion string          `json:"conversion,omitempty"`
	// BaselineConversion is the share of all sessions that converted.
	BaselineConversion *float64  `json:"baseline_conversion,omitempty"`
	Clusters           []Cluster `json:"clusters"`
	ElapsedMs          int64     `json:"elapsed_ms"`
	// TimingsMs splits ElapsedMs: fetch (the SQL), features, cluster,
	// summarize.
	TimingsMs   map[string]int64 `json:"timings_ms"`
	GeneratedAt time.Time        `json:"generated_at"`
	// RunID identifies the stored run (State), so that a link can name it
	// and its clusters' sessions can be listed later; 0 when not stored.
	RunID int64 `json:"run_id,omitempty"`
}

// Cluster is one behavior pattern.
type Cluster struct {
	ID int `json:"id"`
	// Description says in plain words what sets the cluster apart.
	Description string  `json:"description"`
	Size        int     `json:"size"`
	Share       float64 `json:"share"`
	// Distinctive are the facts behind the description, most distinctive
	// first: the share of the cluster's sessions with the feature against
	// the share of all sessions.
	Distinctive []Distinctive `json:"distinctive"`
	// Medians of the cluster's sessions.
	MedianDurationSeconds float64 `json:"median_duration_seconds"`
	MedianPages           float64 `json:"median_pages"`
	FrustratedShare       float64 `json:"frustrated_share"`
	// Conversion is the cluster's conversion rate, ConversionLift its
	// ratio to the baseline (nil without a conversion event).
	Conversion     *float64 `json:"conversion,omitempty"`
	ConversionLift *float64 `json:"conversion_lift,omitempty"`
	// Trend is the cluster's sessions per day and its share of the day's
	// sessions; TrendChange the relative change of that share from the
	// first third of the range to the last (+0.5: half again as common).
	Trend       []TrendPoint `json:"trend"`
	TrendChange float64      `json:"trend_change"`
	// Representatives are the sessions nearest the centre, to replay.
	Representatives []Representative `json:"representatives"`
	// members are every session of the cluster, nearest the centre first;
	// State keeps them beside the run, not in its body.
	members []string
}

// Distinctive is one fact about a cluster.
type Distinctive struct {
	Feature  string  `json:"feature"`
	Share    float64 `json:"share"`
	Baseline float64 `json:"baseline"`
	Lift     float64 `json:"lift"`
}

// TrendPoint is one day of a cluster's trend.
type TrendPoint struct {
	T        time.Time `json:"t"`
	Sessions int       `json:"sessions"`
	Share    float64   `json:"share"`
}

// Representative is a session to watch.
type Representative struct {
	SessionID       string    `json:"session_id"`
	DistinctID      string    `json:"distinct_id"`
	Start           time.Time `json:"start"`
	DurationSeconds float64   `json:"duration_seconds"`
	// ReplayPath is the API path of the session's replay.
	ReplayPath string `json:"replay_path"`
}

// clustering is a run with its per-session assignment, for tests and the
// insight feed.
type clustering struct {
	result *ClusterResult
	rows   []sessionRow
	labels []int
}

// ClusterSessions clusters the sessions of a project that req selects.
func ClusterSessions(ctx context.Context, db Querier, projectID int64, req ClusterRequest) (*ClusterResult, error) {
	c, err := clusterSessions(ctx, db, projectID, req, time.Now)
	if err != nil {
		return nil, err
	}
	return c.result, nil
}

func clusterSessions(ctx context.Context, db Querier, projectID int64, req ClusterRequest, now func() time.Time) (*clustering, error) {
	start := time.Now()
	if err := req.SessionFilter.validate(); err != nil {
		return nil, &InputError{Msg: err.Error()}
	}
	if req.KMin <= 0 {
		req.KMin = 3
	}
	if req.KMax <= 0 {
		req.KMax = 10
	}
	if req.KMax > 30 || req.KMin > req.KMax {
		return nil, &InputError{Msg: "k_min and k_max must satisfy 1 ≤ k_min ≤ k_max ≤ 30"}
	}
	if req.Seed == 0 {
		req.Seed = 1
	}
	if req.Representatives <= 0 {
		req.Representatives = 3
	}
	weights := blockWeight
	for name, w := range req.Weights {
		found := false
		for b, bn := range blockNames {
			if bn == name {
				weights[b], found = w, true
			}
		}
		if !found || w < 0 || w > 100 {
			return nil, &InputError{Msg: fmt.Sprintf("weights: %q is not a feature block, or its weight is outside 0–100", name)}
		}
	}
	timings := map[string]int64{}
	lap := time.Now()
	mark := func(name string) {
		timings[name] = time.Since(lap).Milliseconds()
		lap = time.Now()
	}
	rows, err := fetchSessions(ctx, db, projectID, req.SessionFilter)
	if err != nil {
		return nil, err
	}
	res := &ClusterResult{From: req.From, To: req.To, Sessions: len(rows), Scores: map[int]float64{}, Explained: map[int]float64{},
		Conversion: req.Conversion, Clusters: []Cluster{}, TimingsMs: timings}
	if len(rows) == 0 {
		res.ElapsedMs = time.Since(start).Milliseconds()
		res.GeneratedAt = now().UTC()
		return &clustering{result: res}, nil
	}
	var converted map[string]bool
	if req.Conversion != "" {
		if converted, err = fetchConverted(ctx, db, projectID, req.SessionFilter, req.Conversion); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mark("fetch")
	fs := buildFeatures(rows, weights)
	rng := rand.New(rand.NewPCG(req.Seed, 0x5e551075))
	m := project(matrix{x: fs.x, n: fs.n, d: fs.d}, 0.95, 32, 20000, rng)
	mark("features")
	part := clusterRows(m, req.KMin, req.KMax, rng)
	res.K, res.Silhouette, res.Scores, res.Explained = part.k, part.silhouette, part.scores, part.explained
	mark("cluster")
	summarize(res, fs, m, part, converted, req)
	mark("summarize")
	res.ElapsedMs = time.Since(start).Milliseconds()
	res.GeneratedAt = now().UTC()
	return &clustering{result: res, rows: rows, labels: part.labels}, nil
}

// InputError is a request that cannot run as written (the API answers 400).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return "insight: " + e.Msg }

// summarize fills res.Clusters: sizes, facts, descriptions, conversion,
// trend and representatives.
func summarize(res *ClusterResult, fs *featureSet, m matrix, part partition, converted map[string]bool, req ClusterRequest) {
	n := fs.n
	facts := sessionFacts(fs)
	// Baseline shares of every fact.
	base := map[string]float64{}
	for _, fl := range facts {
		for f := range fl {
			base[f]++
		}
	}
	for f := range base {
		base[f] /= float64(n)
	}
	var baseConv float64
	if converted != nil {
		for i := range fs.sessions {
			if converted[fs.sessions[i].ID] {
				baseConv++
			}
		}
		baseConv /= float64(n)
		res.BaselineConversion = &baseConv
	}
	// Days of the range, for trends.
	day := func(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
	first, last := day(req.From), day(req.To.Add(-time.Nanosecond))
	nDays := int(last.Sub(first)/(24*time.Hour)) + 1
	dayTotal := make([]int, nDays)
	dayIdx := func(t time.Time) int { return min(max(int(day(t).Sub(first)/(24*time.Hour)), 0), nDays-1) }
	for i := range fs.sessions {
		dayTotal[dayIdx(fs.sessions[i].Start)]++
	}

	members := make([][]int, part.k)
	for i, l := range part.labels {
		members[l] = append(members[l], i)
	}
	for c := 0; c < part.k; c++ {
		idx := members[c]
		if len(idx) == 0 {
			continue
		}
		cl := Cluster{Size: len(idx), Share: float64(len(idx)) / float64(n)}
		share := map[string]float64{}
		durs, pages := make([]float64, 0, len(idx)), make([]float64, 0, len(idx))
		frustrated, conv := 0, 0
		days := make([]int, nDays)
		for _, i := range idx {
			for f := range facts[i] {
				share[f]++
			}
			r := &fs.sessions[i]
			durs = append(durs, r.End.Sub(r.Start).Seconds())
			pages = append(pages, float64(len(fs.parsed[i].pages)))
			if r.Rage+r.Dead+r.ErrorClicks > 0 {
				frustrated++
			}
			if converted[r.ID] {
				conv++
			}
			days[dayIdx(r.Start)]++
		}
		for f := range share {
			share[f] /= float64(len(idx))
		}
		cl.Distinctive = distinctive(share, base)
		cl.MedianDurationSeconds = median(durs)
		cl.MedianPages = median(pages)
		cl.FrustratedShare = float64(frustrated) / float64(len(idx))
		if converted != nil {
			rate := float64(conv) / float64(len(idx))
			cl.Conversion = &rate
			if baseConv > 0 {
				lift := rate / baseConv
				cl.ConversionLift = &lift
			}
		}
		for d := 0; d < nDays; d++ {
			p := TrendPoint{T: first.Add(time.Duration(d) * 24 * time.Hour), Sessions: days[d]}
			if dayTotal[d] > 0 {
				p.Share = float64(days[d]) / float64(dayTotal[d])
			}
			cl.Trend = append(cl.Trend, p)
		}
		cl.TrendChange = trendChange(days, dayTotal)
		cl.Representatives, cl.members = representatives(fs, m, part, c, idx, req.Representatives)
		cl.Description = describe(&cl, share, base, baseConv, converted != nil, req.Conversion)
		res.Clusters = append(res.Clusters, cl)
	}
	sort.SliceStable(res.Clusters, func(i, j int) bool { return res.Clusters[i].Size > res.Clusters[j].Size })
	for i := range res.Clusters {
		res.Clusters[i].ID = i
	}
}

// trendChange compares the cluster's share of sessions in the last third
// of the days with the first third.
func trendChange(days, total []int) float64 {
	if len(days) < 3 {
		return 0
	}
	third := len(days) / 3
	share := func(lo, hi int) float64 {
		c, t := 0, 0
		for d := lo; d < hi; d++ {
			c += days[d]
			t += total[d]
		}
		if t == 0 {
			return 0
		}
		return float64(c) / float64(t)
	}
	a, b := share(0, third), share(len(days)-third, len(days))
	if a == 0 {
		return 0
	}
	return b/a - 1
}

// representatives returns the k sessions nearest the centre of cluster c,
// and every session of the cluster in that order.
func representatives(fs *featureSet, m matrix, part partition, c int, idx []int, k int) ([]Representative, []string) {
	type cand struct {
		i int
		d float64
	}
	cands := make([]cand, 0, len(idx))
	ctr := part.centers.row(c)
	for _, i := range idx {
		cands = append(cands, cand{i, sqDist(m.row(i), ctr)})
	}
	sort.Slice(cands, func(a, b int) bool {
		if cands[a].d != cands[b].d {
			return cands[a].d < cands[b].d
		}
		return fs.sessions[cands[a].i].ID < fs.sessions[cands[b].i].ID
	})
	out := []Representative{}
	for _, cd := range cands[:min(k, len(cands))] {
		r := &fs.sessions[cd.i]
		out = append(out, Representative{SessionID: r.ID, DistinctID: r.Person, Start: r.Start.UTC(),
			DurationSeconds: r.End.Sub(r.Start).Seconds(), ReplayPath: "/api/replay/" + r.ID})
	}
	ids := make([]string, len(cands))
	for j, cd := range cands {
		ids[j] = fs.sessions[cd.i].ID
	}
	return out, ids
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Facts are the interpretable, yes-or-no properties of a session that
// descriptions are made of, named "kind:value".
const (
	factEvent       = "event:"       // did a custom event
	factPage        = "page:"        // visited a page template
	factExit        = "exit:"        // left from a page template
	factEntry       = "entry:"       // entered on a page template
	factDevice      = "device:"      // device type
	factFrustration = "frustration:" // kind\x1fpath\x1ftarget text
	factOnePage     = "shape:one page"
	factLong        = "shape:long"
	factDeep        = "shape:deep scroll"
	factErrors      = "shape:errors"
)

func sessionFacts(fs *featureSet) []map[string]bool {
	out := make([]map[string]bool, fs.n)
	for i := range fs.parsed {
		p := &fs.parsed[i]
		r := p.row
		f := map[string]bool{}
		for e := range p.events {
			if !strings.HasPrefix(e, "$") {
				f[factEvent+e] = true
			}
		}
		for _, pg := range p.pages {
			f[factPage+pg] = true
		}
		if len(p.pages) > 0 {
			f[factEntry+p.pages[0]] = true
			f[factExit+p.pages[len(p.pages)-1]] = true
		}
		if len(p.pages) == 1 {
			f[factOnePage] = true
		}
		if r.End.Sub(r.Start) >= 2*time.Minute {
			f[factLong] = true
		}
		if r.MaxScroll >= 75 {
			f[factDeep] = true
		}
		if r.Errors > 0 {
			f[factErrors] = true
		}
		if r.Device != "" {
			f[factDevice+r.Device] = true
		}
		for _, rec := range strings.Split(r.Frustration, sepRecord) {
			parts := strings.SplitN(rec, sepItem, 3)
			if len(parts) != 3 {
				continue
			}
			f[factFrustration+parts[0]+sepItem+fs.templates.template(parts[1])+sepItem+targetLabel(parts[2])] = true
		}
		out[i] = f
	}
	return out
}

// distinctive ranks facts by how much more common they are in the cluster
// than overall, keeping those at least 1.5× as common and present in a
// fifth of the cluster.
func distinctive(share, base map[string]float64) []Distinctive {
	var out []Distinctive
	for f, s := range share {
		b := base[f]
		if s < 0.2 || b == 0 {
			continue
		}
		lift := s / b
		if lift < 1.5 {
			continue
		}
		out = append(out, Distinctive{Feature: f, Share: round3(s), Baseline: round3(b), Lift: round3(lift)})
	}
	sort.Slice(out, func(i, j int) bool {
		si := out[i].Share * math.Log(out[i].Lift)
		sj := out[j].Share * math.Log(out[j].Lift)
		if si != sj {
			return si > sj
		}
		return out[i].Feature < out[j].Feature
	})
	if len(out) > 12 {
		out = out[:12]
	}
	if out == nil {
		out = []Distinctive{}
	}
	return out
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func fmtSeconds(s float64) string {
	switch {
	case s < 90:
		return fmt.Sprintf("%.0f s", s)
	case s < 5400:
		return fmt.Sprintf("%.0f min", s/60)
	}
	return fmt.Sprintf("%.1f h", s/3600)
}
