package query_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/query"
	"github.com/sightline-analytics/sightline/store"
)

// TestTrendsRollup checks that trends read from DuckDB's event_days rollup
// (the whole UTC days of a range) plus the events of the partial days
// answer exactly what trends over the events alone answer. The events-only
// answer is forced with a filter that every event passes (distinct_id is
// set), which makes the compiler read the events.
func TestTrendsRollup(t *testing.T) {
	if testing.Short() {
		t.Skip("synthetic dataset")
	}
	ctx := context.Background()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	duck, last := replayedDuckDB(t, 5, start)
	// An identify after the fact: the person's anonymous days count once.
	var anon string
	for _, e := range last {
		if e.Event == "$pageview" {
			anon = e.DistinctID
			break
		}
	}
	ident := event.Event{ProjectID: 1, UUID: "rollup-identify", Event: "$identify", DistinctID: "user-rollup",
		Timestamp: start.Add(13 * 24 * time.Hour), ReceivedAt: start.Add(13 * 24 * time.Hour),
		Properties: []byte(`{"$anon_distinct_id":"` + anon + `"}`)}
	if err := duck.Append(ctx, []event.Event{ident}, store.Checkpoint{Spool: "synth"}); err != nil {
		t.Fatal(err)
	}

	eng := query.New(query.Options{Now: func() time.Time { return start.Add(20 * 24 * time.Hour) }, CacheEntries: -1})
	queries := map[string]string{
		"persons_day":        `"date_from": "2026-03-03", "date_to": "2026-03-12", "interval": "day", "series": [{"event": "$pageview", "math": "persons"}]`,
		"persons_events":     `"date_from": "2026-03-02", "date_to": "2026-03-15", "interval": "day", "series": [{"event": "$pageview", "math": "persons"}, {"event": "$click"}, {"event": "purchase", "math": "persons"}]`,
		"week_compare":       `"date_from": "2026-03-09", "date_to": "2026-03-15", "interval": "week", "compare": true, "series": [{"event": "$pageview", "math": "persons"}, {"event": "$pageview"}]`,
		"month":              `"date_from": "2026-02-20", "date_to": "2026-03-20", "interval": "month", "series": [{"event": "$pageview", "math": "persons"}]`,
		"partial_days":       `"date_from": "2026-03-03T07:30:00Z", "date_to": "2026-03-11T18:00:00Z", "interval": "day", "series": [{"event": "$pageview", "math": "persons"}, {"event": "add_to_cart"}]`,
		"partial_compare":    `"date_from": "2026-03-08", "date_to": "2026-03-11T18:00:00Z", "interval": "day", "compare": true, "series": [{"event": "$pageview", "math": "persons"}]`,
		"identified_persons": `"date_from": "2026-03-02", "date_to": "2026-03-15", "interval": "week", "series": [{"event": "$identify", "math": "persons"}, {"event": "$pageview", "math": "persons"}]`,
	}
	for name, body := range queries {
		t.Run(name, func(t *testing.T) {
			got := sameAsEvents(t, eng, duck,
				`{"kind": "trends", "timezone": "UTC", `+body+`}`,
				`{"kind": "trends", "timezone": "UTC", "filters": [{"prop": "distinct_id", "op": "is_set"}], `+body+`}`,
				"event_days")
			var total float64
			for _, s := range got.(*query.TrendsResult).Series {
				total += s.Total
			}
			if total < 100 {
				t.Errorf("too little data compared (%v)", total)
			}
		})
	}
	// What the rollup cannot answer reads the events.
	days := `"date_from": "2026-03-03", "date_to": "2026-03-12", `
	for _, body := range []string{
		days + `"interval": "hour", "series": [{"event": "$pageview", "math": "persons"}]`,
		days + `"interval": "day", "timezone": "Europe/Paris", "series": [{"event": "$pageview", "math": "persons"}]`,
		days + `"interval": "day", "series": [{"event": "$pageview", "math": "sessions"}]`,
		days + `"interval": "day", "series": [{"event": "$pageview", "math": "persons", "where": [{"prop": "path", "op": "eq", "value": "/"}]}]`,
		days + `"interval": "day", "series": [{"event": "$pageview", "math": "persons"}], "breakdown": {"prop": "browser"}`,
		`"date_from": "2026-03-03T07:30:00Z", "date_to": "2026-03-12", "interval": "day", "compare": true, "series": [{"event": "$pageview", "math": "persons"}]`,
	} {
		text := `{"kind": "trends", ` + body + `}`
		if _, sql := compile(t, eng, duck, text); strings.Contains(sql, "event_days") {
			t.Errorf("%s reads the rollup", text)
		}
	}
}
