package query_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/query"
	"github.com/sightline-analytics/sightline/store"
)

// TestHeatmapRollup checks that heatmaps read from DuckDB's heat rollup (the
// whole UTC days of a range) plus the events of the partial days answer
// exactly what a heatmap over the events alone answers. The events-only
// answer is forced with a filter that every page-view of the URL passes,
// which makes the compiler read the events.
func TestHeatmapRollup(t *testing.T) {
	if testing.Short() {
		t.Skip("synthetic dataset")
	}
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	duck, _ := replayedDuckDB(t, 11, start)
	// Events without a viewport fall back to their device type, and
	// hostile coordinates have no cell.
	odd := []event.Event{
		{UUID: "odd-1", Event: "$pageleave", DistinctID: "o", Timestamp: start.Add(3*24*time.Hour + time.Hour), Path: "/product/tent", DeviceType: "desktop", Properties: []byte(`{"$max_scroll_pct":62.5}`)},
		{UUID: "odd-2", Event: "$click", DistinctID: "o", Timestamp: start.Add(3*24*time.Hour + 2*time.Hour), Path: "/product/tent", DeviceType: "mobile", X: 33, Y: 7, Selector: "button.odd"},
		{UUID: "odd-3", Event: "$click", DistinctID: "o", Timestamp: start.Add(4 * 24 * time.Hour), Path: "/product/tent", ViewportWidth: 1300, X: -25, Y: 1e300, Selector: "button.odd", Rage: true},
	}
	for i := range odd {
		odd[i].ProjectID = 1
		odd[i].ReceivedAt = odd[i].Timestamp
	}
	if err := duck.Append(ctx, odd, store.Checkpoint{Spool: "synth"}); err != nil {
		t.Fatal(err)
	}

	eng := query.New(query.Options{Now: func() time.Time { return start.Add(20 * 24 * time.Hour) }, CacheEntries: -1})
	var points, elements, steps int
	for _, zone := range []string{"UTC", "Europe/Paris", "Asia/Kolkata", "America/New_York"} {
		for _, url := range []string{"/product/*", "/", "/*", "/cart"} {
			for _, vp := range []string{"all", "mobile", "tablet", "desktop"} {
				for _, layer := range []string{"clicks", "rage", "dead", "error"} {
					for _, grid := range []int{10, 20, 30} {
						q := fmt.Sprintf(`{"kind": "heatmap", "date_from": "2026-03-03", "date_to": "2026-03-12", "timezone": %q, "url": %q, "viewport": %q, "layer": %q, "grid": %d, "limit": 500`, zone, url, vp, layer, grid)
						rolled, raw := q+"}", q+`, "filters": [{"prop": "path", "op": "is_set"}]}`
						name := strings.Join([]string{zone, url, vp, layer, fmt.Sprint(grid)}, " ")
						// Only the combinations that differ are run in full.
						if layer != "clicks" && (vp != "all" || grid != 20) || grid != 20 && (url != "/product/*" || vp != "desktop") {
							continue
						}
						t.Run(name, func(t *testing.T) {
							got := sameAsEvents(t, eng, duck, rolled, raw, "heat_cells").(*query.HeatmapResult)
							points += len(got.Points)
							elements += len(got.Elements)
							if got.ScrollSeen > 0 {
								steps++
							}
						})
					}
				}
			}
		}
	}
	// The comparisons must have had something to compare.
	if points < 1000 || elements < 100 || steps < 10 {
		t.Errorf("too little data compared: %d points, %d elements, %d heatmaps with scroll depth", points, elements, steps)
	}
}
