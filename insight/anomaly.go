package insight

import (
	"math"
	"time"

	"gonum.org/v1/gonum/mathext"
)

// Anomaly detection works on regular series (hourly by default) of counts,
// or of counts over an exposure (rage-click sessions over the page's
// views, sessions with errors over sessions, conversions over starts).
//
// The baseline of an interval is learned from the days before it:
//
//   - counts: expected = level × weekly[day of week] × daily[hour], where
//     the weekly factors are medians of day totals per weekday over the
//     median day, the daily profile pools the hours of the history days
//     (with a pseudo-count so that sparse series stay near flat), and the
//     level is the median of the last seven de-seasonalized day totals. The
//     medians make one bad day (an outage, an incident) move nothing.
//   - ratios: expected = exposure × rate, with the rate the median of
//     weekly pooled rates (pooled so that sparse numerators still count),
//     so the series' own traffic carries daily and weekly seasonality.
//
// The deviation of an interval is a one-sided tail probability under a
// quasi-Poisson model (variance = φ × mean, with φ from the median absolute
// Pearson residual of the history: robust overdispersion), turned into a
// z-score. An anomaly starts when k consecutive intervals each deviate by
// at least MinZ in the watched direction and, pooled, by at least
// Threshold; it ends after k intervals in a row below MinZ.

// Direction is which deviations matter.
type Direction string

const (
	Up   Direction = "up"
	Down Direction = "down"
	Both Direction = "both"
)

// Series is one monitored metric over regular intervals.
type Series struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	// Kind is "count" or "ratio".
	Kind      string    `json:"kind"`
	Direction Direction `json:"direction"`
	Start     time.Time `json:"start"`
	Step      time.Duration
	// Values are the counts (the numerators of a ratio); Exposure the
	// denominators of a ratio (nil for counts).
	Values   []float64 `json:"values"`
	Exposure []float64 `json:"exposure,omitempty"`
	// Link says what the series is about, for the feed and the UI: a page
	// path, an element, an event, an insight id.
	Link map[string]string `json:"link,omitempty"`
}

// At is the start of interval i.
func (s *Series) At(i int) time.Time { return s.Start.Add(time.Duration(i) * s.Step) }

// DetectConfig tunes the detector. Zero values take the defaults.
type DetectConfig struct {
	// Threshold is the pooled z-score over the k intervals that raises an
	// anomaly in a ratio series (default 3.5: one chance in 4,300 under
	// the baseline). Ratio series count sessions, which are independent,
	// so the Poisson tail is honest for them.
	Threshold float64 `json:"threshold,omitempty"`
	// CountThreshold is the same for count series (default 5): event
	// counts come in clumps (one session, many events) and traffic in
	// bursts, so their tails are heavier than any dispersion estimate
	// from the bulk of the history admits.
	CountThreshold float64 `json:"count_threshold,omitempty"`
	// MinZ is the z-score every one of the k intervals must reach (default
	// 1): a deviation that persists, not one spike averaged in.
	MinZ float64 `json:"min_z,omitempty"`
	// Intervals is k (default 2).
	Intervals int `json:"intervals,omitempty"`
	// MinCount is the fewest events the k intervals must hold, together,
	// for an upward anomaly (default 5): two errors where none are usual
	// are not yet an incident.
	MinCount float64 `json:"min_count,omitempty"`
	// HistoryDays is how many days the baseline learns from (default 28);
	// MinHistoryDays the fewest it needs before judging (default 7).
	HistoryDays    int `json:"history_days,omitempty"`
	MinHistoryDays int `json:"min_history_days,omitempty"`
}

func (c DetectConfig) withDefaults() DetectConfig {
	if c.Threshold <= 0 {
		c.Threshold = 3.5
	}
	if c.CountThreshold <= 0 {
		c.CountThreshold = 5
	}
	if c.MinZ <= 0 {
		c.MinZ = 1
	}
	if c.Intervals <= 0 {
		c.Intervals = 2
	}
	if c.MinCount <= 0 {
		c.MinCount = 5
	}
	if c.HistoryDays <= 0 {
		c.HistoryDays = 28
	}
	if c.MinHistoryDays <= 0 {
		c.MinHistoryDays = 7
	}
	return c
}

// Anomaly is a stretch of intervals that deviates from the baseline.
type Anomaly struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	// Direction is "up" or "down".
	Direction Direction `json:"direction"`
	Start     time.Time `json:"start"`
	// DetectedAt is the end of the interval at which the anomaly was
	// raised; End the end of its last anomalous interval (zero while it
	// lasts).
	DetectedAt time.Time `json:"detected_at"`
	End        time.Time `json:"end,omitzero"`
	// Observed and Expected sum the anomalous intervals; PeakZ is the
	// largest interval z-score.
	Observed float64 `json:"observed"`
	Expected float64 `json:"expected"`
	PeakZ    float64 `json:"peak_z"`
	// Intervals is how many intervals it has lasted.
	Intervals int               `json:"intervals"`
	Link      map[string]string `json:"link,omitempty"`
}

// Ongoing reports whether the anomaly had not ended by the series' end.
func (a *Anomaly) Ongoing() bool { return a.End.IsZero() }

// Point is one evaluated interval of a series.
type Point struct {
	T        time.Time `json:"t"`
	Value    float64   `json:"value"`
	Expected float64   `json:"expected"`
	Exposure float64   `json:"exposure,omitempty"`
	// Z is the signed deviation (positive: above the baseline); NaN-free:
	// intervals without a baseline have Z 0 and Expected -1.
	Z float64 `json:"z"`
	// disp is the dispersion of the day's baseline.
	disp float64
}

// baseline is what the detector learned for one day.
type baseline struct {
	ok       bool
	level    float64
	weekly   [7]float64
	daily    []float64 // per interval of the day
	rate     float64   // ratios
	disp     float64   // φ
	perDay   int
	exposure bool
}

// Evaluate returns every interval's expected value and z-score, and the
// anomalies of s.
func Evaluate(s *Series, cfg DetectConfig) ([]Point, []Anomaly) {
	cfg = cfg.withDefaults()
	n := len(s.Values)
	points := make([]Point, n)
	if n == 0 || s.Step <= 0 {
		return points, nil
	}
	perDay := int(24 * time.Hour / s.Step)
	if perDay < 1 {
		perDay = 1
	}
	// Day boundaries relative to the series start (which callers align to
	// a UTC day).
	// History starts at the series' first activity: days of zeros before
	// the project (or the event) existed teach nothing.
	first := n
	for i := 0; i < n; i++ {
		if s.Values[i] != 0 || (s.Exposure != nil && s.Exposure[i] != 0) {
			first = i
			break
		}
	}
	var b baseline
	day := -1
	for i := 0; i < n; i++ {
		if d := i / perDay; d != day {
			day = d
			b = learn(s, day*perDay, perDay, first/perDay*perDay, cfg)
		}
		p := Point{T: s.At(i), Value: s.Values[i], Expected: -1}
		if s.Exposure != nil {
			p.Exposure = s.Exposure[i]
		}
		if b.ok {
			p.Expected = b.expect(s, i)
			p.Z = zScore(p.Value, p.Expected, b.disp)
			p.disp = b.disp
		}
		points[i] = p
	}
	return points, detect(s, points, cfg)
}

// learn fits the baseline from the whole days before interval `from`,
// starting no earlier than interval `first`.
func learn(s *Series, from, perDay, first int, cfg DetectConfig) baseline {
	b := baseline{perDay: perDay, exposure: s.Exposure != nil}
	days := min((from-first)/perDay, cfg.HistoryDays)
	if days < cfg.MinHistoryDays {
		return b
	}
	lo := from - days*perDay
	dow := func(i int) int { return int(s.At(i).Weekday()) }
	if b.exposure {
		// Median of weekly pooled rates when there are at least three
		// whole weeks (robust to a bad week); before that, the rate pooled
		// over the whole history (the median of two is only their mean).
		var rates []float64
		for end := from; end-7*perDay >= lo; end -= 7 * perDay {
			var x, e float64
			for i := end - 7*perDay; i < end; i++ {
				x += s.Values[i]
				e += s.Exposure[i]
			}
			if e > 0 {
				rates = append(rates, x/e)
			}
		}
		if len(rates) < 3 {
			var x, e float64
			for i := lo; i < from; i++ {
				x += s.Values[i]
				e += s.Exposure[i]
			}
			rates = nil
			if e > 0 {
				rates = append(rates, x/e)
			}
		}
		if len(rates) == 0 {
			return b
		}
		b.rate = median(rates)
		if b.rate == 0 {
			// Never seen: a floor of half an event over the history.
			var e float64
			for i := lo; i < from; i++ {
				e += s.Exposure[i]
			}
			if e == 0 {
				return b
			}
			b.rate = 0.5 / e
		}
	} else {
		totals := make([]float64, days)
		for d := 0; d < days; d++ {
			for i := lo + d*perDay; i < lo+(d+1)*perDay; i++ {
				totals[d] += s.Values[i]
			}
		}
		med := median(totals)
		var byDow [7][]float64
		for d := 0; d < days; d++ {
			byDow[dow(lo+d*perDay)] = append(byDow[dow(lo+d*perDay)], totals[d])
		}
		for w := 0; w < 7; w++ {
			b.weekly[w] = 1
			if len(byDow[w]) > 0 && med > 0 {
				b.weekly[w] = math.Max(median(byDow[w])/med, 0.05)
			}
		}
		// Daily profile: pooled shares, skipping days whose
		// de-seasonalized total is an outlier.
		adj := make([]float64, days)
		for d := range adj {
			adj[d] = totals[d] / b.weekly[dow(lo+d*perDay)]
		}
		am := median(adj)
		mad := medianAbsDev(adj, am)
		b.daily = make([]float64, perDay)
		var pooled float64
		for d := 0; d < days; d++ {
			if mad > 0 && math.Abs(adj[d]-am) > 4*1.4826*mad {
				continue
			}
			for h := 0; h < perDay; h++ {
				b.daily[h] += s.Values[lo+d*perDay+h]
			}
			pooled += totals[d]
		}
		prior := float64(perDay) // one pseudo-event per interval, spread flat
		for h := range b.daily {
			b.daily[h] = (b.daily[h] + prior/float64(perDay)) / (pooled + prior)
		}
		recent := adj[max(0, days-7):]
		b.level = median(recent)
		if b.level <= 0 {
			b.level = math.Max(am, 0.5)
		}
	}
	b.ok = true
	// Overdispersion from the history's Pearson residuals.
	var res []float64
	for i := lo; i < from; i++ {
		e := b.expect(s, i)
		if e > 0.5 {
			res = append(res, (s.Values[i]-e)/math.Sqrt(e))
		}
	}
	b.disp = 1
	if len(res) >= 24 {
		sd := 1.4826 * medianAbsDev(res, median(res))
		b.disp = math.Min(math.Max(sd*sd, 1), 50)
	}
	return b
}

func (b *baseline) expect(s *Series, i int) float64 {
	if b.exposure {
		return s.Exposure[i] * b.rate
	}
	h := i % b.perDay
	return b.level * b.weekly[int(s.At(i).Weekday())] * b.daily[h]
}

// zScore is the signed z of observing x when e is expected, under a
// quasi-Poisson with dispersion phi: the tail probability of x/phi under a
// Poisson of mean e/phi (continuous in x through the incomplete gamma
// function), mapped through the normal quantile.
func zScore(x, e, phi float64) float64 {
	if e < 1e-9 {
		e = 1e-9
	}
	lambda, k := e/phi, x/phi
	switch {
	case x > e:
		// P(X ≥ k) = P(k, λ), the regularized lower incomplete gamma.
		p := mathext.GammaIncReg(k, lambda)
		return probToZ(p)
	case x < e:
		// P(X ≤ k) = Q(k+1, λ).
		p := mathext.GammaIncRegComp(k+1, lambda)
		return -probToZ(p)
	}
	return 0
}

// probToZ is the z with upper tail p, capped at ±40.
func probToZ(p float64) float64 {
	if p >= 0.5 {
		return 0
	}
	if p <= 0 {
		return 40
	}
	return math.Min(math.Sqrt2*math.Erfcinv(2*p), 40)
}

// detect scans the points for runs as described at the top of the file.
func detect(s *Series, pts []Point, cfg DetectConfig) []Anomaly {
	k := cfg.Intervals
	threshold := cfg.Threshold
	if s.Exposure == nil {
		threshold = cfg.CountThreshold
	}
	var out []Anomaly
	var cur *Anomaly
	quiet := 0
	for i := range pts {
		if pts[i].Expected < 0 {
			continue
		}
		if cur != nil {
			z := dirZ(pts[i].Z, cur.Direction)
			if z >= cfg.MinZ {
				quiet = 0
				cur.Observed += pts[i].Value
				cur.Expected += pts[i].Expected
				cur.PeakZ = math.Max(cur.PeakZ, z)
				cur.Intervals++
				continue
			}
			quiet++
			if quiet >= k {
				cur.End = s.At(i - quiet + 1)
				out = append(out, *cur)
				cur = nil
			}
			continue
		}
		if i+1 < k {
			continue
		}
		for _, dir := range []Direction{Up, Down} {
			if s.Direction != Both && s.Direction != dir {
				continue
			}
			var x, e, peak float64
			ok := true
			for j := i - k + 1; j <= i; j++ {
				if pts[j].Expected < 0 || dirZ(pts[j].Z, dir) < cfg.MinZ {
					ok = false
					break
				}
				x += pts[j].Value
				e += pts[j].Expected
				peak = math.Max(peak, dirZ(pts[j].Z, dir))
			}
			if !ok || (dir == Up && x < cfg.MinCount) {
				continue
			}
			pooled := dirZ(zScore(x, e, pts[i].disp), dir)
			if pooled < threshold {
				continue
			}
			cur = &Anomaly{Key: s.Key, Label: s.Label, Direction: dir, Start: s.At(i - k + 1),
				DetectedAt: s.At(i + 1), Observed: x, Expected: e, PeakZ: peak, Intervals: k, Link: s.Link}
			quiet = 0
			break
		}
	}
	if cur != nil {
		if quiet > 0 {
			cur.End = s.At(len(pts) - quiet)
		}
		out = append(out, *cur)
	}
	return out
}

func dirZ(z float64, d Direction) float64 {
	if d == Down {
		return -z
	}
	return z
}

func medianAbsDev(xs []float64, m float64) float64 {
	d := make([]float64, len(xs))
	for i, x := range xs {
		d[i] = math.Abs(x - m)
	}
	return median(d)
}
