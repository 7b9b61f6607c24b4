package query_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/query"
	"github.com/sightline-analytics/sightline/store/duckdb"
	"github.com/sightline-analytics/sightline/synth"
)

// TestClickHouseSynth is the differential test on realistic traffic: the
// same synthetic shop (identities, UTM, clicks, frustration, incident
// release) is loaded into DuckDB and into the ClickHouse cluster, and every
// query kind must give identical results.
func TestClickHouseSynth(t *testing.T) {
	if testing.Short() {
		t.Skip("synthetic dataset")
	}
	ch := openClickHouse(t, true)
	duck, err := duckdb.Open("", duckdb.Options{Threads: 1, MemoryLimit: "1GB"})
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	appendSynth(t, synth.Config{Seed: 7, Start: start, Days: 14, Events: 30_000, BatchSize: 5000}, duck, ch)
	n, _ := duck.Count(ctx, 1)
	if m, _ := ch.Count(ctx, 1); m != n || n < 25_000 {
		t.Fatalf("DuckDB holds %d events, ClickHouse %d", n, m)
	}

	rng := `"date_from": "2026-03-02", "date_to": "2026-03-15", "timezone": "Europe/Paris"`
	product := `{"event": "$pageview", "where": [{"prop": "path", "op": "regex", "value": "^/product/"}]}`
	queries := map[string]string{
		"trends_persons":     `{"kind": "trends", ` + rng + `, "interval": "day", "series": [{"event": "$pageview", "math": "persons"}, {"event": "$pageview", "math": "sessions"}]}`,
		"trends_breakdown":   `{"kind": "trends", ` + rng + `, "interval": "week", "compare": true, "series": [{"event": "$pageview"}, {"event": "purchase", "math": "sum", "property": "revenue"}, {"event": "purchase", "math": "median", "property": "revenue"}], "breakdown": {"prop": "utm_source", "limit": 3}}`,
		"trends_person_prop": `{"kind": "trends", ` + rng + `, "interval": "day", "series": [{"event": "$pageview", "math": "persons"}], "breakdown": {"type": "person", "prop": "plan", "limit": 5}}`,
		"sessions":           `{"kind": "sessions", ` + rng + `, "limit": 25}`,
		"sessions_frust":     `{"kind": "sessions", ` + rng + `, "limit": 25, "order_by": "frustration"}`,
		"heatmap":            `{"kind": "heatmap", ` + rng + `, "url": "/product/*", "viewport": "desktop"}`,
		"frustration":        `{"kind": "frustration", ` + rng + `}`,
		"funnel_ordered":     `{"kind": "funnel", ` + rng + `, "window_seconds": 86400, "steps": [` + product + `, {"event": "add_to_cart"}, {"event": "purchase"}]}`,
		"funnel_breakdown":   `{"kind": "funnel", ` + rng + `, "window_seconds": 3600, "steps": [{"event": "$pageview"}, {"event": "add_to_cart"}, {"event": "checkout_started"}], "breakdown": {"prop": "browser", "limit": 3}}`,
		"funnel_strict":      `{"kind": "funnel", ` + rng + `, "window_seconds": 86400, "order": "strict", "count_by": "session", "steps": [{"event": "$pageview"}, {"event": "$pageview"}]}`,
		"funnel_unordered":   `{"kind": "funnel", ` + rng + `, "window_seconds": 86400, "order": "unordered", "steps": [{"event": "add_to_cart"}, {"event": "purchase"}]}`,
		"retention":          `{"kind": "retention", ` + rng + `, "start": {"event": "$pageview"}, "period": "day", "periods": 7}`,
		"paths":              `{"kind": "paths", ` + rng + `, "start_point": "/", "depth": 4}`,
		"paths_events":       `{"kind": "paths", ` + rng + `, "path_type": "event", "depth": 3}`,
		// Drill-downs page through busy steps: the order (step time, then
		// id) and each actor's session must agree too.
		"funnel_actors_dropped":   `{"kind": "funnel_actors", ` + rng + `, "window_seconds": 86400, "steps": [` + product + `, {"event": "add_to_cart"}, {"event": "purchase"}], "step": 2, "status": "dropped", "offset": 20, "limit": 50}`,
		"funnel_actors_breakdown": `{"kind": "funnel_actors", ` + rng + `, "window_seconds": 3600, "steps": [{"event": "$pageview"}, {"event": "add_to_cart"}, {"event": "checkout_started"}], "breakdown": {"prop": "browser", "limit": 3}, "breakdown_value": "$other", "step": 2, "status": "converted"}`,
		"funnel_actors_unordered": `{"kind": "funnel_actors", ` + rng + `, "window_seconds": 86400, "order": "unordered", "steps": [{"event": "add_to_cart"}, {"event": "purchase"}], "step": 2, "status": "converted", "limit": 500}`,
		"funnel_actors_strict":    `{"kind": "funnel_actors", ` + rng + `, "window_seconds": 86400, "order": "strict", "count_by": "session", "steps": [{"event": "$pageview"}, {"event": "$pageview"}], "step": 1, "status": "converted", "limit": 100}`,
		"heatmap_rage":            `{"kind": "heatmap", ` + rng + `, "url": "/product/*", "layer": "rage"}`,
		"heatmap_dead_mobile":     `{"kind": "heatmap", ` + rng + `, "url": "/*", "layer": "dead", "viewport": "mobile"}`,
		"trends_action_inline":    `{"kind": "trends", ` + rng + `, "interval": "day", "series": [{"action_def": {"steps": [{"event": "$click", "text": "add", "text_match": "contains"}, {"event": "$pageview", "url": "/product/*", "url_match": "pattern"}]}, "math": "persons"}]}`,
	}
	now := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	eng := query.New(query.Options{Now: func() time.Time { return now }, CacheEntries: -1})
	for name, text := range queries {
		t.Run(name, func(t *testing.T) {
			q, err := query.Parse([]byte(text))
			if err != nil {
				t.Fatal(err)
			}
			want, err := eng.Run(ctx, query.Request{ProjectID: 1, DB: duck, Query: q})
			if err != nil {
				t.Fatalf("DuckDB: %v", err)
			}
			got, err := eng.Run(ctx, query.Request{ProjectID: 1, DB: ch, Query: q})
			if err != nil {
				t.Fatalf("ClickHouse: %v", err)
			}
			if d := sameJSON("", normJSON(t, want), normJSON(t, got)); d != "" {
				w, _ := json.Marshal(want)
				t.Errorf("ClickHouse differs from DuckDB: %s\nDuckDB: %.2000s", d, w)
			}
			if w, _ := json.Marshal(want); testing.Verbose() {
				t.Logf("%.300s", w)
			}
			if fmt.Sprint(normJSON(t, want)) == "map[]" {
				t.Error("empty result: the comparison proves nothing")
			}
		})
	}
}
