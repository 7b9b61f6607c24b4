package duckdb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store"
)

var zeroCP store.Checkpoint

func TestAppendCountAndDedup(t *testing.T) {
	for _, k := range storeKinds() {
		t.Run(k.name, func(t *testing.T) {
			s := k.open(t)
			g := &traffic{rng: rand.New(rand.NewPCG(1, 2))}
			a := g.batch(1, 1000, t0)
			b := g.batch(2, 50, t0.Add(time.Hour))

			mustAppend(t, s, a)
			mustAppend(t, s, b)
			if n := count(t, s, 1); n != 1000 {
				t.Fatalf("project 1: %d events, want 1000", n)
			}
			if n := count(t, s, 2); n != 50 {
				t.Fatalf("project 2: %d events, want 50", n)
			}

			// The same batch again, and a batch mixing old and new events.
			mustAppend(t, s, a)
			mixed := append(slices.Clone(a[500:]), g.batch(1, 10, t0.Add(2*time.Hour))...)
			mustAppend(t, s, mixed)
			if n := count(t, s, 1); n != 1010 {
				t.Fatalf("after replays: %d events, want 1010", n)
			}

			// Within one batch the first occurrence wins.
			first := ev(3, "u-1", "first", "d", t0, "")
			second := ev(3, "u-1", "second", "d", t0, "")
			mustAppend(t, s, []event.Event{first, second, first, ev(3, "u-2", "other", "d", t0, "")})
			got := queryStrings(t, s, "SELECT uuid, event FROM events WHERE project_id = 3 ORDER BY uuid")
			want := []string{"u-1|first", "u-2|other"}
			if !slices.Equal(got, want) {
				t.Fatalf("project 3 rows = %v, want %v", got, want)
			}

			// A UUID is unique per project, not globally.
			mustAppend(t, s, []event.Event{ev(4, "u-1", "first", "d", t0, "")})
			if n := count(t, s, 4); n != 1 {
				t.Fatalf("project 4: %d events, want 1", n)
			}

			if k.reopen != nil {
				s = k.reopen(t, s)
				mustAppend(t, s, a)
				if n := count(t, s, 1); n != 1010 {
					t.Fatalf("after reopen and replay: %d events, want 1010", n)
				}
			}
		})
	}
}

// A batch larger than a row group (122,880 rows) takes DuckDB's other
// insert path: row groups are written straight to the file at insert time.
func TestAppendLargeBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("large batch")
	}
	s := openDisk(t, t.TempDir()+"/events.duckdb")
	g := &traffic{rng: rand.New(rand.NewPCG(9, 10))}
	big := g.batch(1, 130_000, t0)
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

func TestAppendDedupRetriesAndStragglers(t *testing.T) {
	s := openMemory(t)
	live := ev(1, "live", "$pageview", "d", t0, "")
	straggler := ev(1, "old", "$pageview", "d", t0.Add(-72*time.Hour), "")
	mustAppend(t, s, []event.Event{live, straggler})

	// A client retry is normalized again: its skew-corrected timestamp can
	// move by a few seconds, within the slack.
	retry := live
	retry.Timestamp = live.Timestamp.Add(3 * time.Second)
	oldRetry := straggler
	oldRetry.Timestamp = straggler.Timestamp.Add(-4 * time.Second)
	mustAppend(t, s, []event.Event{oldRetry, ev(1, "new", "$pageview", "d", t0.Add(time.Minute), ""), retry})

	got := queryStrings(t, s, `SELECT uuid, strftime("timestamp", '%Y-%m-%d %H:%M:%S') FROM events ORDER BY "timestamp"`)
	want := []string{"old|2026-02-27 09:00:00", "live|2026-03-02 09:00:00", "new|2026-03-02 09:01:00"}
	if !slices.Equal(got, want) {
		t.Fatalf("rows = %v, want %v", got, want)
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
				w.micros = append(w.micros, at(d))
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
			w.micros = append(w.micros, at(time.Duration(rng.IntN(30*24))*time.Hour))
		}
		ts := slices.Clone(w.micros)
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
	g := &traffic{rng: rand.New(rand.NewPCG(5, 6))}
	cp1 := store.Checkpoint{Spool: "node-a", Segment: 3, Offset: 4096}
	if err := s.Append(ctx, g.batch(1, 100, t0), cp1); err != nil {
		t.Fatal(err)
	}

	// A batch that fails just before commit leaves neither its events nor
	// its checkpoint, nor its person updates.
	s.writer.beforeCommit = func() error { return errors.New("simulated crash") }
	failed := g.batch(1, 100, t0.Add(time.Minute))
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
	if err := s.Append(ctx, g.batch(1, 10, t0.Add(2*time.Minute)), store.Checkpoint{Spool: "node-b", Segment: 1, Offset: 7}); err != nil {
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

func TestAppendBadInput(t *testing.T) {
	var logs bytes.Buffer
	s := openMemoryWith(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()

	if err := s.Append(ctx, nil, zeroCP); err != nil {
		t.Fatalf("nil batch: %v", err)
	}
	if err := s.Append(ctx, []event.Event{}, zeroCP); err != nil {
		t.Fatalf("empty batch: %v", err)
	}

	zeroTS := ev(1, "zero-ts", "e", "d", time.Time{}, "")
	zeroTS.ReceivedAt = t0
	noTimes := ev(1, "no-times", "e", "d", time.Time{}, "")
	noTimes.ReceivedAt = time.Time{}
	farFuture := ev(1, "far-future", "e", "d", time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC), "")
	farFuture.ReceivedAt = t0
	noUUID := ev(1, "", "e", "d", t0, "")
	badUTF8 := ev(1, "bad-utf8", "e\xff", "d\xfe", t0, "")
	badUTF8.URL = "https://x.example/\xc3\x28"
	badJSON := ev(1, "bad-json", "e", "d", t0, `{"a":`)
	nilProps := ev(1, "nil-props", "e", "d", t0, "")
	nilProps.Properties = nil
	badPropsUTF8 := ev(1, "bad-props-utf8", "e", "d", t0, "{\"a\":\"\xff\"}")
	nul := ev(1, "nul", "e\x00x", "d", t0, "")
	badSet := ev(1, "bad-set", "e", "d", t0, `{"$set":"not an object","$set_once":[1,2]}`)
	local := ev(1, "local-zone", "e", "d", time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CET", 3600)), "")

	batch := []event.Event{zeroTS, noTimes, farFuture, noUUID, badUTF8, badJSON, nilProps, badPropsUTF8, nul, badSet, local}
	if err := s.Append(ctx, batch, store.Checkpoint{Spool: "x", Segment: 1, Offset: 1}); err != nil {
		t.Fatalf("bad batch: %v", err)
	}
	got := queryStrings(t, s, `SELECT uuid, event, distinct_id, url, properties::VARCHAR, strftime("timestamp", '%Y-%m-%d %H:%M:%S')
		FROM events ORDER BY uuid`)
	want := []string{
		"bad-json|e|d||{}|2026-03-02 09:00:00",
		"bad-props-utf8|e|d||{\"a\":\"\uFFFD\"}|2026-03-02 09:00:00",
		"bad-set|e|d||{\"$set\":\"not an object\",\"$set_once\":[1,2]}|2026-03-02 09:00:00",
		"bad-utf8|e\uFFFD|d\uFFFD|https://x.example/\uFFFD(|{}|2026-03-02 09:00:00",
		"far-future|e|d||{}|2026-03-02 09:00:00",
		"local-zone|e|d||{}|2026-03-02 09:00:00",
		"nil-props|e|d||{}|2026-03-02 09:00:00",
		"nul|e\uFFFDx|d||{}|2026-03-02 09:00:00",
		"zero-ts|e|d||{}|2026-03-02 09:00:00",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := queryStrings(t, s, "SELECT count(*) FROM persons"); got[0] != "0" {
		t.Fatalf("non-object $set created %s persons", got[0])
	}
	if !strings.Contains(logs.String(), "skipped=2") {
		t.Fatalf("skipped events not logged: %q", logs.String())
	}

	// The store still takes good batches and the same bad batch is a no-op.
	if err := s.Append(ctx, batch, zeroCP); err != nil {
		t.Fatalf("bad batch again: %v", err)
	}
	mustAppend(t, s, []event.Event{ev(1, "good", "e", "d", t0, "")})
	if n := count(t, s, 1); n != 10 {
		t.Fatalf("%d events, want 10", n)
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

func TestConcurrentQueriesDuringAppends(t *testing.T) {
	for _, k := range storeKinds() {
		t.Run(k.name, func(t *testing.T) {
			s := k.open(t)
			const batches, size = 30, 500
			g := &traffic{rng: rand.New(rand.NewPCG(7, 8))}
			data := make([][]event.Event, batches)
			for i := range data {
				data[i] = g.batch(1, size, t0.Add(time.Duration(i)*time.Minute))
			}

			ctx := context.Background()
			done := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for r := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var last int64
					for i := 0; i < 10_000; i++ { // bounded; normally ends with the writer
						select {
						case <-done:
							return
						default:
						}
						var n int64
						var err error
						if r%2 == 0 {
							n, err = s.Count(ctx, 1)
						} else {
							n, err = countThroughPersons(ctx, s)
						}
						if err != nil {
							errs <- err
							return
						}
						// Every batch commits atomically: a reader sees whole batches, in order.
						if n%size != 0 || n < last {
							errs <- errors.New("reader saw a partial or shrinking table")
							return
						}
						last = n
					}
				}()
			}
			for _, b := range data {
				if err := s.Append(ctx, b, store.Checkpoint{Spool: "n", Segment: 1, Offset: int64(len(b))}); err != nil {
					t.Fatalf("append during queries: %v", err)
				}
			}
			close(done)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if n := count(t, s, 1); n != batches*size {
				t.Fatalf("%d events, want %d", n, batches*size)
			}
		})
	}
}

// countThroughPersons is a heavier reader: a join and a distinct count.
func countThroughPersons(ctx context.Context, s *Store) (int64, error) {
	rows, err := s.Query(ctx, `SELECT count(*), count(DISTINCT person_id) FROM events_with_person WHERE project_id = ?`, 1)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n, persons int64
	if rows.Next() {
		err = rows.Scan(&n, &persons)
	}
	if err == nil {
		err = rows.Err()
	}
	return n, err
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
