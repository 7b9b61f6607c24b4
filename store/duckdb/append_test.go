package duckdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/store/storetest"
)

// A batch larger than a row group (122,880 rows) takes DuckDB's other
// insert path: row groups are written straight to the file at insert time.
func TestAppendLargeBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("large batch")
	}
	s := openDisk(t, t.TempDir()+"/events.duckdb")
	big := storetest.NewTraffic(9, 10).Batch(1, 130_000, t0)
	ctx := context.Background()
	if err := s.Append(ctx, big, store.Checkpoint{Spool: "n", Segment: 1, Offset: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, big, store.Checkpoint{Spool: "n", Segment: 1, Offset: 2}); err != nil {
		t.Fatal(err)
	}
	s = reopenDisk(t, s)
	if n := count(t, s, 1); n != 130_000 {
		t.Fatalf("%d events, want 130000", n)
	}
	if cp, err := s.Checkpoint(ctx, "n"); err != nil || cp.Offset != 2 {
		t.Fatalf("checkpoint = %+v, %v", cp, err)
	}
}

// A backlog is appended in batches a little larger than a row group, each
// of which ends in a partly filled row group written compressed at commit.
// A checkpoint must leave them where they are: a vacuum that merged them
// with their full neighbours would decompress and compress every row of the
// backlog again (see Open).
func TestCheckpointKeepsLargeBatchesInPlace(t *testing.T) {
	if testing.Short() {
		t.Skip("large batches")
	}
	s := openDisk(t, t.TempDir()+"/events.duckdb")
	ctx := context.Background()
	traffic := storetest.NewTraffic(21, 22)
	const n = 122_880 + 2_000
	for i := range 2 {
		batch := traffic.Batch(1, n, t0.Add(time.Duration(i)*time.Hour))
		if err := s.Append(ctx, batch, store.Checkpoint{Spool: "n", Segment: 1, Offset: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	const blocks = `SELECT row_group_id, string_agg(DISTINCT block_id::VARCHAR, ',' ORDER BY block_id::VARCHAR)
		FROM pragma_storage_info('events') WHERE persistent GROUP BY row_group_id ORDER BY row_group_id`
	before := queryStrings(t, s, blocks)
	if len(before) != 4 {
		t.Fatalf("row groups before the checkpoint: %q, want 4 (full, partial, full, partial)", before)
	}
	if _, err := s.db.ExecContext(ctx, "CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	if after := queryStrings(t, s, blocks); !slices.Equal(after, before) {
		t.Errorf("the checkpoint rewrote the row groups:\nbefore %q\nafter  %q", before, after)
	}
	if got := count(t, s, 1); got != 2*n {
		t.Fatalf("%d events, want %d", got, 2*n)
	}
}

func TestDedupRanges(t *testing.T) {
	const slack = 10 * time.Minute
	at := func(d time.Duration) int64 { return t0.Add(d).UnixMicro() }
	r := func(from, to time.Duration) [2]int64 { return [2]int64{at(from - slack), at(to + slack)} }
	tests := []struct {
		name string
		ts   []time.Duration
		want [][2]int64
	}{
		{"one event", []time.Duration{0}, [][2]int64{r(0, 0)}},
		{"live traffic", []time.Duration{3 * time.Second, 0, time.Second}, [][2]int64{r(0, 3*time.Second)}},
		{"gaps within twice the slack merge", []time.Duration{0, 20 * time.Minute}, [][2]int64{r(0, 20*time.Minute)}},
		{"straggler gets its own range", []time.Duration{0, time.Second, -72 * time.Hour},
			[][2]int64{r(-72*time.Hour, -72*time.Hour), r(0, time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &writer{opts: Options{DedupSlack: slack}}
			for _, d := range tt.ts {
				w.sel.Micros = append(w.sel.Micros, at(d))
			}
			if got := w.dedupRanges(); !slices.Equal(got, tt.want) {
				t.Fatalf("ranges = %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("scattered batch is capped and still covers every event", func(t *testing.T) {
		w := &writer{opts: Options{DedupSlack: slack}}
		rng := rand.New(rand.NewPCG(3, 4))
		for range 1000 {
			w.sel.Micros = append(w.sel.Micros, at(time.Duration(rng.IntN(30*24))*time.Hour))
		}
		ts := slices.Clone(w.sel.Micros)
		got := w.dedupRanges()
		if len(got) != maxDedupRanges {
			t.Fatalf("%d ranges, want %d", len(got), maxDedupRanges)
		}
		for _, x := range ts {
			if !slices.ContainsFunc(got, func(r [2]int64) bool { return r[0] <= x-slack.Microseconds() && x+slack.Microseconds() <= r[1] }) {
				t.Fatalf("timestamp %d not covered by %v", x, got)
			}
		}
	})
}

func TestCheckpointAtomicWithData(t *testing.T) {
	path := t.TempDir() + "/events.duckdb"
	s := openDisk(t, path)
	ctx := context.Background()

	if cp, err := s.Checkpoint(ctx, "node-a"); err != nil || cp != (store.Checkpoint{Spool: "node-a"}) {
		t.Fatalf("fresh checkpoint = %+v, %v; want zero with spool set", cp, err)
	}
	g := storetest.NewTraffic(5, 6)
	cp1 := store.Checkpoint{Spool: "node-a", Segment: 3, Offset: 4096}
	if err := s.Append(ctx, g.Batch(1, 100, t0), cp1); err != nil {
		t.Fatal(err)
	}

	// A batch that fails just before commit leaves neither its events nor
	// its checkpoint, nor its person updates.
	s.writer.beforeCommit = func() error { return errors.New("simulated crash") }
	failed := g.Batch(1, 100, t0.Add(time.Minute))
	failed = append(failed, ev(1, "id-1", "$identify", "user@example.com", t0.Add(time.Minute), `{"$anon_distinct_id":"anon-1","$set":{"plan":"pro"}}`))
	err := s.Append(ctx, failed, store.Checkpoint{Spool: "node-a", Segment: 3, Offset: 9999})
	if err == nil || !strings.Contains(err.Error(), "simulated crash") {
		t.Fatalf("append with failing commit: err = %v", err)
	}
	s.writer.beforeCommit = nil
	if n := count(t, s, 1); n != 100 {
		t.Fatalf("after failed batch: %d events, want 100", n)
	}
	if got := queryStrings(t, s, "SELECT count(*) FROM persons"); got[0] != "0" {
		t.Fatalf("failed batch left %s persons", got[0])
	}

	// A checkpoint-only batch (all records of a segment rejected) moves on.
	cp2 := store.Checkpoint{Spool: "node-a", Segment: 4, Offset: 12}
	if err := s.Append(ctx, nil, cp2); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(ctx, g.Batch(1, 10, t0.Add(2*time.Minute)), store.Checkpoint{Spool: "node-b", Segment: 1, Offset: 7}); err != nil {
		t.Fatal(err)
	}

	s = reopenDisk(t, s)
	for spool, want := range map[string]store.Checkpoint{
		"node-a": cp2,
		"node-b": {Spool: "node-b", Segment: 1, Offset: 7},
	} {
		cp, err := s.Checkpoint(ctx, spool)
		if err != nil || cp != want {
			t.Fatalf("checkpoint %s after reopen = %+v, %v; want %+v", spool, cp, err, want)
		}
	}
	if n := count(t, s, 1); n != 110 {
		t.Fatalf("after reopen: %d events, want 110", n)
	}
	// The failed batch, replayed from the checkpoint, now lands once.
	if err := s.Append(ctx, failed, store.Checkpoint{Spool: "node-a", Segment: 5, Offset: 1}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, 1); n != 211 {
		t.Fatalf("after replay: %d events, want 211", n)
	}
}

func TestTimestampsAreUTC(t *testing.T) {
	s := openMemory(t)
	paris := time.FixedZone("CET", 3600)
	mustAppend(t, s, []event.Event{
		ev(1, "a", "e", "d", time.Date(2026, 1, 1, 23, 30, 0, 0, time.UTC), ""),
		ev(1, "b", "e", "d", time.Date(2026, 1, 2, 0, 30, 0, 123456000, paris), ""), // 23:30:00.123456 UTC
	})
	// A bound time.Time compares with the column directly.
	from := time.Date(2026, 1, 2, 0, 15, 0, 0, paris)
	got := queryStrings(t, s, `SELECT uuid FROM events WHERE "timestamp" >= ? ORDER BY uuid`, from)
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf(">= %v: %v", from, got)
	}
	got = queryStrings(t, s, `SELECT uuid, date_trunc('day', "timestamp")::DATE, timezone('Europe/Paris', "timestamp")::DATE
		FROM events ORDER BY uuid`)
	want := []string{"a|2026-01-01 00:00:00 +0000 UTC|2026-01-02 00:00:00 +0000 UTC", "b|2026-01-01 00:00:00 +0000 UTC|2026-01-02 00:00:00 +0000 UTC"}
	if !slices.Equal(got, want) {
		t.Fatalf("days = %v, want %v", got, want)
	}
	rows, err := s.Query(context.Background(), `SELECT "timestamp" FROM events WHERE uuid = 'b'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	rows.Next()
	var ts time.Time
	if err := rows.Scan(&ts); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 1, 1, 23, 30, 0, 123456000, time.UTC); !ts.Equal(want) {
		t.Fatalf("timestamp = %v, want %v", ts, want)
	}
}

// TestNumbersRoundTrip covers the boxed-value tables of fillRow: values on
// both sides of their bounds, fractions, negatives and negative zero come
// back exactly.
func TestNumbersRoundTrip(t *testing.T) {
	s := openMemory(t)
	floats := []float64{0, math.Copysign(0, -1), 1, 0.5, 4095, 4095.5, 4096, -1, -4095, 1e300, math.SmallestNonzeroFloat64}
	ints := []int{0, 1, 255, 256, 4095, 4096, -1, -4096, math.MaxInt32, math.MinInt32 + 1}
	var evs []event.Event
	for i := range max(len(floats), len(ints)) {
		e := ev(1, fmt.Sprintf("n%02d", i), "e", "d", t0, "")
		f, n := floats[i%len(floats)], ints[i%len(ints)]
		e.X, e.Y, e.OffsetX, e.OffsetY = f, -f, f, f
		e.ViewportWidth, e.ViewportHeight, e.DocumentWidth, e.DocumentHeight = n, -n, n, n
		evs = append(evs, e)
	}
	mustAppend(t, s, evs)
	rows, err := s.Query(context.Background(), `SELECT x, y, offset_x, offset_y, viewport_width, viewport_height, document_width, document_height
		FROM events ORDER BY uuid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for i := 0; rows.Next(); i++ {
		var x, y, ox, oy float64
		var vw, vh, dw, dh int
		if err := rows.Scan(&x, &y, &ox, &oy, &vw, &vh, &dw, &dh); err != nil {
			t.Fatal(err)
		}
		e := evs[i]
		for _, p := range [][2]float64{{x, e.X}, {y, e.Y}, {ox, e.OffsetX}, {oy, e.OffsetY}} {
			if p[0] != p[1] || math.Signbit(p[0]) != math.Signbit(p[1]) {
				t.Errorf("event %d: float %v stored as %v", i, p[1], p[0])
			}
		}
		if got, want := []int{vw, vh, dw, dh}, []int{e.ViewportWidth, e.ViewportHeight, e.DocumentWidth, e.DocumentHeight}; !slices.Equal(got, want) {
			t.Errorf("event %d: sizes %v stored as %v", i, want, got)
		}
	}
}

func TestEventColumnsRoundTrip(t *testing.T) {
	s := openMemory(t)
	e := event.Event{
		ProjectID: 9, UUID: "u", Event: "$autocapture", DistinctID: "d", SessionID: "s", WindowID: "w",
		Timestamp: t0, ReceivedAt: t0.Add(time.Second),
		URL: "https://h.example/p?q=1", Host: "h.example", Path: "/p", Query: "q=1", Title: "T",
		Referrer: "https://r.example/x", RefDomain: "r.example",
		UTMSource: "us", UTMMedium: "um", UTMCampaign: "uc", UTMTerm: "ut", UTMContent: "ucn",
		Browser: "Chrome", BrowserVersion: "134", OS: "Linux", OSVersion: "6", DeviceType: "desktop", IP: "203.0.113.0",
		ElementsChain: `button.b:text="Buy"`, Selector: "button.b", X: 10.5, Y: 20.25, OffsetX: 0.5, OffsetY: 0.25,
		ViewportWidth: 1280, ViewportHeight: 720, DocumentWidth: 1300, DocumentHeight: 4000,
		Rage: true, Dead: true, Error: true, Truncated: true,
		Properties: json.RawMessage(`{"plan":"pro","n":3}`),
	}
	mustAppend(t, s, []event.Event{e})
	got := queryStrings(t, s, `SELECT project_id, uuid, event, distinct_id, session_id, window_id,
		strftime("timestamp", '%H:%M:%S'), strftime(received_at, '%H:%M:%S'),
		url, host, path, query, title, referrer, referring_domain,
		utm_source, utm_medium, utm_campaign, utm_term, utm_content,
		browser, browser_version, os, os_version, device_type, ip,
		elements_chain, selector, x, y, offset_x, offset_y,
		viewport_width, viewport_height, document_width, document_height,
		rage, dead, error_click, truncated, properties->>'plan', (properties->>'n')::INT
		FROM events`)
	want := `9|u|$autocapture|d|s|w|09:00:00|09:00:01|https://h.example/p?q=1|h.example|/p|q=1|T|https://r.example/x|r.example|` +
		`us|um|uc|ut|ucn|Chrome|134|Linux|6|desktop|203.0.113.0|button.b:text="Buy"|button.b|10.5|20.25|0.5|0.25|` +
		`1280|720|1300|4000|true|true|true|true|pro|3`
	if len(got) != 1 || got[0] != want {
		t.Fatalf("row =\n%v\nwant\n%v", got, want)
	}
}

func TestSchema(t *testing.T) {
	path := t.TempDir() + "/events.duckdb"
	s := openDisk(t, path)
	s = reopenDisk(t, s) // migrations must not run twice
	if got := queryStrings(t, s, "SELECT version FROM schema_version ORDER BY version"); len(got) != schemaVersion || got[len(got)-1] != strconv.Itoa(schemaVersion) {
		t.Fatalf("schema_version rows = %v", got)
	}
	// The writer names every column of events, in order.
	events := queryStrings(t, s, `SELECT column_name FROM duckdb_columns()
		WHERE table_name = 'events' AND database_name <> 'temp' ORDER BY column_index`)
	if !slices.Equal(events, eventColumns) {
		t.Fatalf("writer columns drifted from events:\nevents %v\nwriter %v", events, eventColumns)
	}
}

// FuzzAppendStrings appends events whose string fields are arbitrary bytes:
// an append never fails on them, and what is stored is the input with
// invalid UTF-8 and NUL bytes replaced.
func FuzzAppendStrings(f *testing.F) {
	f.Add("u1", "$pageview", "https://shop.example/p?q=1", `{"a":1}`)
	f.Add("u\x00", "e\xff", "\xc3\x28", "{\"a\":\"\xff\"}")
	f.Add("", "", "", "")
	f.Add("u;2", "é\u2028", strings.Repeat("x", 70000), `{"$set":{"a":1}}`)
	s := openMemory(f)
	ctx := context.Background()
	var n int
	f.Fuzz(func(t *testing.T, uuid, name, url, props string) {
		n++
		e := ev(1, fmt.Sprintf("%d-%s", n, uuid), name, "d"+uuid, t0, props)
		e.URL = url
		e.Title = url
		if err := s.Append(ctx, []event.Event{e}, store.Checkpoint{Spool: "fuzz", Offset: int64(n)}); err != nil {
			t.Fatalf("append: %v", err)
		}
		rows, err := s.Query(ctx, `SELECT event, distinct_id, url, title FROM events WHERE project_id = 1 AND uuid = ?`, clean(e.UUID))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		if !rows.Next() {
			t.Fatalf("event %q not stored", e.UUID)
		}
		var gotName, gotDistinct, gotURL, gotTitle string
		if err := rows.Scan(&gotName, &gotDistinct, &gotURL, &gotTitle); err != nil {
			t.Fatal(err)
		}
		want := []string{clean(name), clean(e.DistinctID), clean(url), clean(url)}
		if got := []string{gotName, gotDistinct, gotURL, gotTitle}; !slices.Equal(got, want) {
			t.Fatalf("stored %q, want %q", got, want)
		}
	})
}
