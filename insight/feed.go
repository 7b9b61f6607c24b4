package insight

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// The insight feed: what is worth a look first. Anomalies lead, the most
// severe first; behavior patterns follow, and only those that stand out
// beyond chance: a cluster of a latest clustering enters when it holds at
// least minPatternSessions sessions and either its share of frustrated
// sessions or its conversion differs from the other sessions' by a
// two-proportion z of at least patternZ (and by an amount people care
// about: 30% frustrated, half the conversion). Ranking patterns by size
// alone let eight small "0% conversion" clusters (a handful of sessions
// each, where no conversion was expected either) push a real incident off
// the first screen.

const (
	minPatternSessions = 30
	// patternZ is a one-sided p of 0.001: with ten patterns tested twice,
	// one in fifty feeds shows a pattern by chance.
	patternZ = 3.09
	// minExpectedConversions: below this many conversions expected at the
	// baseline rate, a cluster without any says nothing (and the normal
	// approximation of the test is poor).
	minExpectedConversions = 5
)

// FeedItem is one finding of the insight feed.
type FeedItem struct {
	// Kind is "anomaly" or "cluster".
	Kind             string  `json:"kind"`
	Title            string  `json:"title"`
	Detail           string  `json:"detail"`
	AffectedSessions float64 `json:"affected_sessions"`
	// Severity is "high", "medium" or "low" (Anomaly.Severity,
	// Cluster.Severity).
	Severity string `json:"severity"`
	// Status is the anomaly's (FindingOpen, …); patterns are always open.
	Status   string    `json:"status"`
	StatusBy string    `json:"status_by,omitempty"`
	StatusAt time.Time `json:"status_at,omitzero"`
	// Chart is the anomaly's series with its baseline, or the cluster's
	// daily trend.
	Chart   json.RawMessage  `json:"chart"`
	Segment *SessionFilter   `json:"segment,omitempty"`
	Replays []Representative `json:"replays"`
	Release *ReleaseRef      `json:"release,omitempty"`
	At      time.Time        `json:"at"`
	// Anomaly or Cluster is the finding itself.
	Anomaly *Anomaly `json:"anomaly,omitempty"`
	Cluster *Cluster `json:"cluster,omitempty"`
}

// FeedQuery selects the feed's findings.
type FeedQuery struct {
	// Days back from now (default 7); Limit the most items (default 20,
	// at most 100).
	Days, Limit int
	// Statuses are the anomaly statuses to show (default open and
	// acknowledged: dismissed anomalies leave the feed). Patterns have no
	// status and show whenever open ones do.
	Statuses []string
}

// Severity grades an anomaly for people scanning a list: high when it is
// far outside its baseline (a peak z of at least 8, or the observed total
// at least three times the expected or at most a third of it), medium from
// a z of 5 or a factor of 1.5, low below. An expected or observed total
// below 0.5 counts as 0.5.
func (a *Anomaly) Severity() string {
	hi, lo := math.Max(a.Observed, a.Expected), math.Max(math.Min(a.Observed, a.Expected), 0.5)
	switch factor := hi / lo; {
	case a.PeakZ >= 8 || factor >= 3:
		return "high"
	case a.PeakZ >= 5 || factor >= 1.5:
		return "medium"
	}
	return "low"
}

// Severity grades a pattern of the feed: high when half its sessions are
// frustrated, medium from 30%, low when only its conversion is poor (short
// visits that browse and leave convert poorly without anything broken).
func (c *Cluster) Severity() string {
	switch {
	case c.FrustratedShare >= 0.5:
		return "high"
	case c.FrustratedShare >= 0.3:
		return "medium"
	}
	return "low"
}

var severityRank = map[string]int{"high": 0, "medium": 1, "low": 2}

var statusRank = map[string]int{FindingOpen: 0, FindingAcknowledged: 1, FindingDismissed: 2}

// proportionZ is the two-proportion z of a rate of x in n against the
// rest, x2 in n2 (positive when the rest's rate is higher), with the
// pooled variance; 0 when either group is empty.
func proportionZ(x, n, x2, n2 float64) float64 {
	if n <= 0 || n2 <= 0 {
		return 0
	}
	p := (x + x2) / (n + n2)
	se := math.Sqrt(p * (1 - p) * (1/n + 1/n2))
	if se == 0 {
		return 0
	}
	return (x2/n2 - x/n) / se
}

// notablePattern reports why a cluster of res belongs in the feed: its
// frustration or its poor conversion, each beyond chance (see the top of
// the file); "" when it does not.
func notablePattern(c *Cluster, res *ClusterResult) string {
	if c.Size < minPatternSessions {
		return ""
	}
	n, total := float64(c.Size), float64(res.Sessions)
	var frustrated float64
	for i := range res.Clusters {
		frustrated += res.Clusters[i].FrustratedShare * float64(res.Clusters[i].Size)
	}
	x := c.FrustratedShare * n
	if c.FrustratedShare >= 0.3 && -proportionZ(x, n, frustrated-x, total-n) >= patternZ {
		return "frustration"
	}
	if c.Conversion == nil || res.BaselineConversion == nil || *res.BaselineConversion <= 0 {
		return ""
	}
	base := *res.BaselineConversion
	conv := *c.Conversion * n
	if *c.Conversion <= 0.5*base && base*n >= minExpectedConversions &&
		proportionZ(conv, n, base*total-conv, total-n) >= patternZ {
		return "conversion"
	}
	return ""
}

// Feed returns the project's top findings of the last days: anomalies
// stored by the monitor, the most severe first (open before acknowledged),
// then the notable patterns of the latest clustering, the most severe and
// largest first.
func (svc *Service) Feed(ctx context.Context, projectID int64, q FeedQuery) ([]FeedItem, error) {
	if q.Days <= 0 {
		q.Days = 7
	}
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 20
	}
	if len(q.Statuses) == 0 {
		q.Statuses = []string{FindingOpen, FindingAcknowledged}
	}
	for _, st := range q.Statuses {
		if !ValidFindingStatus(st) {
			return nil, &InputError{Msg: fmt.Sprintf("status must be %q, %q or %q, not %q", FindingOpen, FindingAcknowledged, FindingDismissed, st)}
		}
	}
	to := svc.now()
	fs, err := svc.cfg.State.Findings(ctx, projectID, to.Add(-time.Duration(q.Days)*24*time.Hour), to.Add(time.Hour), q.Statuses...)
	if err != nil {
		return nil, err
	}
	items := []FeedItem{}
	for i := range fs {
		f := &fs[i]
		a := f.Anomaly
		chart, _ := json.Marshal(f.Chart)
		detail := fmt.Sprintf("%s against %s expected since %s", fmtNum(a.Observed), fmtNum(a.Expected), a.Start.UTC().Format("Jan 2 15:04 MST"))
		if !a.End.IsZero() {
			detail += ", until " + a.End.UTC().Format("Jan 2 15:04 MST")
		}
		if f.Release != nil {
			detail += fmt.Sprintf("; started %s after release %s", fmtSeconds(a.Start.Sub(f.Release.At).Seconds()), f.Release.Version)
		}
		seg := f.Segment
		items = append(items, FeedItem{Kind: "anomaly", Title: fmt.Sprintf("%s is %s", a.Label, a.Direction), Detail: detail,
			AffectedSessions: f.AffectedSessions, Severity: f.Anomaly.Severity(), Status: f.Status, StatusBy: f.StatusBy, StatusAt: f.StatusAt,
			Chart: chart, Segment: &seg, Replays: f.Replays, Release: f.Release, At: a.DetectedAt, Anomaly: &f.Anomaly})
	}
	if slices.Contains(q.Statuses, FindingOpen) {
		res, err := svc.cfg.State.LatestClusters(ctx, projectID)
		if err != nil {
			return nil, err
		}
		if res != nil {
			items = append(items, patternItems(res)...)
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return feedBefore(&items[i], &items[j]) })
	if len(items) > q.Limit {
		items = items[:q.Limit]
	}
	return items, nil
}

// patternItems are the feed items of a clustering's notable patterns.
func patternItems(res *ClusterResult) []FeedItem {
	var items []FeedItem
	for i := range res.Clusters {
		c := &res.Clusters[i]
		why := notablePattern(c, res)
		if why == "" {
			continue
		}
		chart, _ := json.Marshal(c.Trend)
		detail := fmt.Sprintf("%.0f%% of sessions; %.0f%% of them frustrated", 100*c.Share, 100*c.FrustratedShare)
		if c.Conversion != nil && res.BaselineConversion != nil {
			detail += fmt.Sprintf("; %s %.0f%% against %.0f%% overall", res.Conversion, 100**c.Conversion, 100**res.BaselineConversion)
		}
		items = append(items, FeedItem{Kind: "cluster", Title: c.Description, Detail: detail, AffectedSessions: float64(c.Size),
			Severity: c.Severity(), Status: FindingOpen, Chart: chart, Replays: c.Representatives, At: res.GeneratedAt, Cluster: c})
	}
	return items
}

// feedBefore orders the feed as the issue asks: by the sessions a finding
// affects, open findings before acknowledged ones; ties by severity, then
// the most recent first. Noise is kept out before ranking (see
// patternItems), not by the order.
func feedBefore(a, b *FeedItem) bool {
	if statusRank[a.Status] != statusRank[b.Status] {
		return statusRank[a.Status] < statusRank[b.Status]
	}
	if a.AffectedSessions != b.AffectedSessions {
		return a.AffectedSessions > b.AffectedSessions
	}
	if severityRank[a.Severity] != severityRank[b.Severity] {
		return severityRank[a.Severity] < severityRank[b.Severity]
	}
	return a.At.After(b.At)
}
