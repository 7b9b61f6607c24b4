package insight

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"
)

func ptr(v float64) *float64 { return &v }

func TestProportionZ(t *testing.T) {
	tests := []struct {
		x, n, x2, n2, want float64
	}{
		// 0 of 100 against 100 of 900: pooled 0.1, se = sqrt(0.09·(1/100+1/900)) = 0.0316.
		{0, 100, 100, 900, 0.111111 / 0.0316228},
		{10, 100, 90, 900, 0},
		{5, 0, 10, 100, 0},
		{0, 10, 0, 10, 0},
	}
	for _, tt := range tests {
		if got := proportionZ(tt.x, tt.n, tt.x2, tt.n2); math.Abs(got-tt.want) > 1e-3 {
			t.Errorf("proportionZ(%v, %v, %v, %v) = %.4f, want %.4f", tt.x, tt.n, tt.x2, tt.n2, got, tt.want)
		}
	}
}

// feedClustering is a clustering of 4,000 sessions converting 10% overall,
// with the clusters given and a remainder that makes the totals add up.
func feedClustering(clusters ...Cluster) *ClusterResult {
	const sessions, base = 4000, 0.1
	res := &ClusterResult{Sessions: sessions, Conversion: "purchase", BaselineConversion: ptr(base), GeneratedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	n, conv, frustrated := 0, 0.0, 0.0
	for _, c := range clusters {
		n += c.Size
		conv += *c.Conversion * float64(c.Size)
		frustrated += c.FrustratedShare * float64(c.Size)
	}
	rest := Cluster{Description: "everyone else", Size: sessions - n, Conversion: ptr((base*sessions - conv) / float64(sessions-n)),
		FrustratedShare: math.Max(0, (0.1*sessions-frustrated)/float64(sessions-n))}
	res.Clusters = append(append(res.Clusters, clusters...), rest)
	for i := range res.Clusters {
		res.Clusters[i].ID = i
		res.Clusters[i].Share = float64(res.Clusters[i].Size) / sessions
	}
	return res
}

func TestNotablePattern(t *testing.T) {
	tests := []struct {
		name    string
		cluster Cluster
		want    string
	}{
		{"a handful of sessions converting nothing", Cluster{Size: 12, Conversion: ptr(0)}, ""},
		// 60 sessions expect 6 conversions; 2 is z ≈ 1.3: chance.
		{"poor conversion within chance", Cluster{Size: 60, Conversion: ptr(2.0 / 60)}, ""},
		{"too few conversions expected to judge", Cluster{Size: 40, Conversion: ptr(0)}, ""},
		{"many sessions converting nothing", Cluster{Size: 800, Conversion: ptr(0)}, "conversion"},
		// Significant, but 8% against 10% is not half.
		{"slightly poor conversion", Cluster{Size: 1500, Conversion: ptr(0.08)}, ""},
		{"mostly frustrated", Cluster{Size: 150, Conversion: ptr(0.1), FrustratedShare: 0.6}, "frustration"},
		{"frustrated, but too small", Cluster{Size: 20, Conversion: ptr(0.1), FrustratedShare: 1}, ""},
		// 35% of 40 against 9.7% of the rest: z ≈ 5.3.
		{"frustrated beyond the rest", Cluster{Size: 40, Conversion: ptr(0.1), FrustratedShare: 0.35}, "frustration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := feedClustering(tt.cluster)
			if got := notablePattern(&res.Clusters[0], res); got != tt.want {
				t.Errorf("notablePattern = %q, want %q", got, tt.want)
			}
		})
	}
	// 31% where the other sessions are 30% frustrated is no pattern.
	t.Run("frustrated like everyone", func(t *testing.T) {
		c := Cluster{Size: 2000, Conversion: ptr(0.1), FrustratedShare: 0.31}
		res := feedClustering(c)
		res.Clusters[1].FrustratedShare = 0.3
		if got := notablePattern(&res.Clusters[0], res); got != "" {
			t.Errorf("notablePattern = %q, want none", got)
		}
	})
}

// TestFeedRanking is the case that made the feed noisy: with a conversion
// event, eight small clusters converting nothing (as expected of a dozen
// sessions each) crowded the feed beside a real anomaly. Now the small
// clusters stay out; what remains is ranked by the sessions it affects,
// open findings before acknowledged ones, and dismissing a finding takes it
// out of the default feed.
func TestFeedRanking(t *testing.T) {
	ctx := context.Background()
	st, err := OpenState(ctx, filepath.Join(t.TempDir(), "insight.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	st.now = func() time.Time { return now }
	svc := &Service{cfg: Config{State: st, Now: st.now}}
	const pid = 1
	incident := Anomaly{Key: "frustration:page:/cart", Label: "Frustrated sessions on /cart", Direction: Up, Start: now.Add(-4 * time.Hour),
		DetectedAt: now.Add(-2 * time.Hour), Observed: 22, Expected: 2.3, PeakZ: 5.8, Intervals: 4}
	blip := Anomaly{Key: "event:search", Label: "Events: search", Direction: Up, Start: now.Add(-30 * time.Hour),
		DetectedAt: now.Add(-28 * time.Hour), End: now.Add(-26 * time.Hour), Observed: 130, Expected: 100, PeakZ: 3.6, Intervals: 2}
	for _, f := range []Finding{{ProjectID: pid, Anomaly: incident, AffectedSessions: 20}, {ProjectID: pid, Anomaly: blip, AffectedSessions: 30}} {
		if err := st.saveFinding(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	var clusters []Cluster
	for i := range 8 {
		clusters = append(clusters, Cluster{Description: fmt.Sprintf("small pattern %d", i), Size: 12, Conversion: ptr(0)})
	}
	clusters = append(clusters,
		Cluster{Description: "bouncers", Size: 1200, Conversion: ptr(0)},
		Cluster{Description: "coupon rage", Size: 150, Conversion: ptr(0.1), FrustratedShare: 0.6})
	if err := st.saveClusters(ctx, pid, feedClustering(clusters...)); err != nil {
		t.Fatal(err)
	}

	titles := func(q FeedQuery) []string {
		t.Helper()
		items, err := svc.Feed(ctx, pid, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range items {
			out = append(out, it.Severity+" "+it.Status+" "+it.Title)
		}
		return out
	}
	tests := []struct {
		name   string
		status map[string]string // anomaly key → status to set first
		q      FeedQuery
		want   []string
	}{
		{"by sessions affected; small patterns out", nil, FeedQuery{}, []string{
			"low open bouncers", "high open coupon rage",
			"low open Events: search is up", "high open Frustrated sessions on /cart is up"}},
		{"acknowledged after open", map[string]string{incident.Key: FindingAcknowledged}, FeedQuery{}, []string{
			"low open bouncers", "high open coupon rage",
			"low open Events: search is up", "high acknowledged Frustrated sessions on /cart is up"}},
		{"dismissed hidden by default", map[string]string{incident.Key: FindingDismissed}, FeedQuery{}, []string{
			"low open bouncers", "high open coupon rage", "low open Events: search is up"}},
		{"dismissed on request, without patterns", nil, FeedQuery{Statuses: []string{FindingDismissed}}, []string{
			"high dismissed Frustrated sessions on /cart is up"}},
		{"limit", nil, FeedQuery{Limit: 1}, []string{"low open bouncers"}},
	}
	for _, tt := range tests {
		for key, status := range tt.status {
			start := incident.Start
			if key == blip.Key {
				start = blip.Start
			}
			if _, err := st.SetFindingStatus(ctx, pid, key, start, status, "ada@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		if got := titles(tt.q); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s:\n got  %q\n want %q", tt.name, got, tt.want)
		}
	}
	if _, err := svc.Feed(ctx, pid, FeedQuery{Statuses: []string{"closed"}}); err == nil {
		t.Error("an unknown status was accepted")
	}
}

func TestSeverity(t *testing.T) {
	anomalies := []struct {
		name               string
		observed, expected float64
		peakZ              float64
		want               string
	}{
		{"far in z", 10, 9, 8, "high"},
		{"several times the baseline", 16, 2.3, 3.5, "high"},
		{"a drop to a fifth", 20, 100, 6, "high"},
		{"z of 5", 130, 100, 5.2, "medium"},
		{"half again", 160, 100, 3.6, "medium"},
		{"nothing where one was expected", 0, 1, 1.2, "medium"},
		{"a third more", 130, 100, 3.6, "low"},
	}
	for _, tt := range anomalies {
		a := Anomaly{Observed: tt.observed, Expected: tt.expected, PeakZ: tt.peakZ}
		if got := a.Severity(); got != tt.want {
			t.Errorf("%s: Anomaly.Severity = %s, want %s", tt.name, got, tt.want)
		}
	}
	clusters := []struct {
		name       string
		frustrated float64
		want       string
	}{
		{"mostly frustrated", 0.6, "high"},
		{"often frustrated", 0.35, "medium"},
		{"only converting poorly", 0.1, "low"},
	}
	for _, tt := range clusters {
		c := Cluster{FrustratedShare: tt.frustrated}
		if got := c.Severity(); got != tt.want {
			t.Errorf("%s: Cluster.Severity = %s, want %s", tt.name, got, tt.want)
		}
	}
}
