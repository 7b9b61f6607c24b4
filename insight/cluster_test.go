package insight

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/synth"
)

// TestClusterRecoversPlantedGroups is the evaluation of issue 7: on synth
// traffic with planted behavior groups, the clustering (k chosen by
// silhouette within its default bounds) recovers the groups with an
// adjusted Rand index of at least 0.8.
func TestClusterRecoversPlantedGroups(t *testing.T) {
	for _, seed := range []int64{7, 11, 23} {
		t.Run("seed="+itoa(seed), func(t *testing.T) {
			cfg := synth.Config{Seed: seed, Days: 7, Events: 150_000, NoIncident: true}
			db, groups := loadSynth(t, cfg)
			req := ClusterRequest{SessionFilter: SessionFilter{From: synth.DefaultStart, To: synth.End(cfg)}, Conversion: "purchase"}
			c, err := clusterSessions(context.Background(), db, testProject, req, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			truth := make([]string, len(c.rows))
			for i, r := range c.rows {
				g, ok := groups[r.ID]
				if !ok {
					t.Fatalf("session %s has no planted group", r.ID)
				}
				truth[i] = g
			}
			ari := AdjustedRandIndex(truth, c.labels)
			t.Logf("sessions=%d k=%d silhouette=%.3f ARI=%.3f elapsed=%dms", len(c.rows), c.result.K, c.result.Silhouette, ari, c.result.ElapsedMs)
			for _, cl := range c.result.Clusters {
				t.Logf("  %5d %.2f conv=%.2f  %s", cl.Size, cl.Share, deref(cl.Conversion), cl.Description)
			}
			if ari < 0.8 {
				t.Errorf("adjusted Rand index %.3f < 0.8", ari)
			}
			// The frustrated-coupon group must come out as its own pattern,
			// described by what its sessions do.
			found := false
			for _, cl := range c.result.Clusters {
				if strings.Contains(cl.Description, "rage-click 'Apply coupon' on /cart") {
					found = true
					if len(cl.Representatives) != 3 {
						t.Errorf("cluster %q has %d representatives, want 3", cl.Description, len(cl.Representatives))
					}
					for _, r := range cl.Representatives {
						if groups[r.SessionID] != synth.GroupFrustrated {
							t.Errorf("representative %s of the coupon cluster is a %s session", r.SessionID, groups[r.SessionID])
						}
					}
				}
			}
			if !found {
				t.Errorf("no cluster describes the rage clicks on 'Apply coupon'")
			}
		})
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
