package duckdb

import (
	"context"
	"database/sql"
	"slices"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
)

// TestScrollDepthColumn: page leaves keep their scroll depth as a number,
// both when appended and when an older database is migrated.
func TestScrollDepthColumn(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/events.duckdb"

	// A database as the first schema left it, with page leaves already in.
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	if err := applyMigration(ctx, db, 1); err != nil {
		t.Fatal(err)
	}
	for i, props := range []string{`{"$max_scroll_pct": 80}`, `{"$max_scroll_pct": "35.5"}`, `{"$max_scroll_pct": "deep"}`, `{}`} {
		if _, err := db.ExecContext(ctx, `INSERT INTO events (project_id, uuid, event, distinct_id, "timestamp", received_at, properties)
			VALUES (1, ?, '$pageleave', 'd', now(), now(), ?)`, "old-"+string(rune('a'+i)), props); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO events (project_id, uuid, event, distinct_id, "timestamp", received_at, properties)
		VALUES (1, 'old-view', '$pageview', 'd', now(), now(), '{"$max_scroll_pct": 50}')`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := openDisk(t, path)
	now := time.Now().UTC()
	leave := func(uuid, props string) event.Event {
		return event.Event{ProjectID: 1, UUID: uuid, Event: "$pageleave", DistinctID: "d",
			Timestamp: now, ReceivedAt: now, Properties: []byte(props)}
	}
	mustAppend(t, s, []event.Event{
		leave("0192f000-0000-7000-8000-000000000001", `{"$time_on_page_ms":900,"$max_scroll_pct":100}`),
		leave("0192f000-0000-7000-8000-000000000002", `{"$max_scroll_pct":null}`),
	})
	got := queryStrings(t, s, `SELECT uuid || '=' || coalesce(CAST(scroll_depth AS VARCHAR), 'NULL') FROM events ORDER BY uuid`)
	want := []string{
		"0192f000-0000-7000-8000-000000000001=100.0",
		"0192f000-0000-7000-8000-000000000002=NULL",
		"old-a=80.0", "old-b=35.5", "old-c=NULL", "old-d=NULL",
		"old-view=NULL", // only page leaves carry a depth
	}
	if !slices.Equal(got, want) {
		t.Fatalf("scroll_depth:\n got %v\nwant %v", got, want)
	}
}
