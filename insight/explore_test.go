package insight

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/synth"
)

func TestExploreSQL(t *testing.T) {
	if os.Getenv("X") == "" {
		t.Skip()
	}
	cfg := synth.Config{Seed: 9, Days: 14, Events: 100000 * 19, NoIncident: true}
	db, _ := loadSynthAt(t, cfg, testProject, filepath.Join(t.TempDir(), "e.duckdb"))
	ctx := context.Background()
	w := `project_id = 1 AND session_id <> '' AND hash(session_id) % 5 = 0`
	qs := map[string]string{
		"full-ordered": `SELECT session_id, string_agg(event, ',' ORDER BY "timestamp"), string_agg(CASE WHEN event='$pageview' THEN path END, ',' ORDER BY "timestamp") FROM events WHERE ` + w + ` GROUP BY 1`,
		"unordered":    `SELECT session_id, string_agg(event, ','), string_agg(CASE WHEN event='$pageview' THEN path END, ',') FROM events WHERE ` + w + ` GROUP BY 1`,
		"json":         `SELECT session_id, max(CASE WHEN event = '$pageleave' THEN TRY_CAST(json_extract_string(properties, '$."$scroll_depth"') AS DOUBLE) END) FROM events WHERE ` + w + ` GROUP BY 1`,
		"distinct":     `SELECT session_id, count(DISTINCT epoch_ms("timestamp") // 10000) FROM events WHERE ` + w + ` GROUP BY 1`,
		"counts":       `SELECT session_id, min("timestamp"), max("timestamp"), count(*), max(device_type), count(*) FILTER (WHERE rage) FROM events WHERE ` + w + ` GROUP BY 1`,
		"list-ts":      `SELECT session_id, list(event ORDER BY "timestamp") FROM events WHERE ` + w + ` GROUP BY 1`,
	}
	for name, q := range qs {
		t0 := time.Now()
		rows, err := db.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		t.Logf("%-14s %d rows %v", name, n, time.Since(t0))
	}
}
