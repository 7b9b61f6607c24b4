package insight

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/synth"
)

// BenchmarkCluster100k clusters 100,000 sessions (about 1.9 M events; the
// load alone takes a minute or two, outside the timer). It runs only with
// SIGHTLINE_BENCH_SESSIONS set (its value: the number of sessions), so
// that `go test -bench .` stays quick:
//
//	SIGHTLINE_BENCH_SESSIONS=100000 go test ./insight -run '^$' -bench Cluster100k -benchtime 3x
func BenchmarkCluster100k(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("SIGHTLINE_BENCH_SESSIONS"))
	if n <= 0 {
		b.Skip("set SIGHTLINE_BENCH_SESSIONS=100000 to run")
	}
	cfg := synth.Config{Seed: 9, Days: 14, Events: n * 19, NoIncident: true}
	// On disk, as in production: an in-memory store's data would count
	// against DuckDB's memory limit.
	db, _ := loadSynthAt(b, cfg, testProject, filepath.Join(b.TempDir(), "events.duckdb"))
	req := ClusterRequest{SessionFilter: SessionFilter{From: synth.DefaultStart, To: synth.End(cfg)}, Conversion: "purchase"}
	b.ReportAllocs()
	var sessions int
	for b.Loop() {
		t0 := time.Now()
		c, err := clusterSessions(context.Background(), db, testProject, req, time.Now)
		if err != nil {
			b.Fatal(err)
		}
		sessions = c.result.Sessions
		b.Logf("%d sessions in %d ms: %v", sessions, c.result.ElapsedMs, c.result.TimingsMs)
		b.ReportMetric(float64(time.Since(t0).Milliseconds()), "ms/run")
	}
	b.ReportMetric(float64(sessions), "sessions")
}
