package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store"
)

// These tests mirror store/duckdb's, on one server and on the 2-shard
// cluster (Distributed tables), so that both stores keep one contract.

func TestAppendCountAndDedup(t *testing.T) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			s := openKind(t, k)
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
			mustAppend(t, s, a)
			mixed := append(slices.Clone(a[500:]), g.batch(1, 10, t0.Add(2*time.Hour))...)
			mustAppend(t, s, mixed)
			if n := count(t, s, 1); n != 1010 {
				t.Fatalf("after replays: %d events, want 1010", n)
			}

			first := ev(3, "u-1", "first", "d", t0, "")
			second := ev(3, "u-1", "second", "d", t0, "")
			mustAppend(t, s, []event.Event{first, second, first, ev(3, "u-2", "other", "d", t0, "")})
			got := queryStrings(t, s, "SELECT uuid, event FROM events WHERE project_id = 3 ORDER BY uuid")
			if want := []string{"u-1|first", "u-2|other"}; !slices.Equal(got, want) {
				t.Fatalf("project 3 rows = %v, want %v", got, want)
			}
			mustAppend(t, s, []event.Event{ev(4, "u-1", "first", "d", t0, "")})
			if n := count(t, s, 4); n != 1 {
				t.Fatalf("project 4: %d events, want 1", n)
			}
			if k.cluster {
				// Both shards hold events: the sharding key spreads them.
				got := queryStrings(t, s, "SELECT count() FROM events_local")
				if got[0] == "0" || got[0] == "1061" {
					t.Fatalf("the local shard holds %s of 1061 events: not sharded", got[0])
				}
			}
		})
	}
}

func TestAppendDedupRetriesAndStragglers(t *testing.T) {
	s := openKind(t, storeKinds[0])
	live := ev(1, "live", "$pageview", "d", t0, "")
	straggler := ev(1, "old", "$pageview", "d", t0.Add(-72*time.Hour), "")
	mustAppend(t, s, []event.Event{live, straggler})
	retry := live
	retry.Timestamp = live.Timestamp.Add(3 * time.Second)
	oldRetry := straggler
	oldRetry.Timestamp = straggler.Timestamp.Add(-4 * time.Second)
	mustAppend(t, s, []event.Event{oldRetry, ev(1, "new", "$pageview", "d", t0.Add(time.Minute), ""), retry})
	got := queryStrings(t, s, `SELECT uuid, toString(toDateTime(intDiv(timestamp, 1000000), 'UTC')) FROM events ORDER BY timestamp`)
	want := []string{"old|2026-02-27 09:00:00", "live|2026-03-02 09:00:00", "new|2026-03-02 09:01:00"}
	if !slices.Equal(got, want) {
		t.Fatalf("rows = %v, want %v", got, want)
	}
}

func TestCheckpointAndFailedBatch(t *testing.T) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			s := openKind(t, k)
			ctx := context.Background()
			if cp, err := s.Checkpoint(ctx, "node-a"); err != nil || cp != (store.Checkpoint{Spool: "node-a"}) {
				t.Fatalf("fresh checkpoint = %+v, %v; want zero with spool set", cp, err)
			}
			g := &traffic{rng: rand.New(rand.NewPCG(5, 6))}
			if err := s.Append(ctx, g.batch(1, 100, t0), store.Checkpoint{Spool: "node-a", Segment: 3, Offset: 4096}); err != nil {
				t.Fatal(err)
			}
			// A batch that fails before its checkpoint is recorded is
			// replayed from the old checkpoint: it must land exactly once,
			// identity included.
			s.writer.beforeCheckpoint = func() error { return errors.New("simulated crash") }
			failed := g.batch(1, 100, t0.Add(time.Minute))
			failed = append(failed, ev(1, "id-1", "$identify", "user@example.com", t0.Add(time.Minute), `{"$anon_distinct_id":"anon-1","$set":{"plan":"pro"}}`))
			err := s.Append(ctx, failed, store.Checkpoint{Spool: "node-a", Segment: 3, Offset: 9999})
			if err == nil || !strings.Contains(err.Error(), "simulated crash") {
				t.Fatalf("append with failing checkpoint: err = %v", err)
			}
			s.writer.beforeCheckpoint = nil
			if cp, _ := s.Checkpoint(ctx, "node-a"); cp.Offset != 4096 {
				t.Fatalf("checkpoint moved on a failed batch: %+v", cp)
			}
			if err := s.Append(ctx, failed, store.Checkpoint{Spool: "node-a", Segment: 5, Offset: 1}); err != nil {
				t.Fatal(err)
			}
			if n := count(t, s, 1); n != 201 {
				t.Fatalf("after replay: %d events, want 201", n)
			}
			if got := persons(t, s, 1); len(got) != 1 || !strings.HasPrefix(got[0], `user@example.com|1|{"plan":"pro"}`) {
				t.Fatalf("persons after replay = %v", got)
			}
			// A checkpoint-only batch moves on; checkpoints are per spool
			// and survive a reopen (another node's view).
			if err := s.Append(ctx, nil, store.Checkpoint{Spool: "node-a", Segment: 6, Offset: 12}); err != nil {
				t.Fatal(err)
			}
			if err := s.Append(ctx, nil, store.Checkpoint{Spool: "node-b", Segment: 1, Offset: 7}); err != nil {
				t.Fatal(err)
			}
			s2 := openDSN(t, dsnOf(s))
			for spool, want := range map[string]store.Checkpoint{
				"node-a": {Spool: "node-a", Segment: 6, Offset: 12},
				"node-b": {Spool: "node-b", Segment: 1, Offset: 7},
			} {
				if cp, err := s2.Checkpoint(ctx, spool); err != nil || cp != want {
					t.Fatalf("checkpoint %s = %+v, %v; want %+v", spool, cp, err, want)
				}
			}
		})
	}
}

func dsnOf(s *Store) string {
	dsn := "clickhouse://" + s.cfg.Hosts[0] + "/" + s.cfg.Database
	if s.cfg.Cluster != "" {
		dsn += "?cluster=" + s.cfg.Cluster
	}
	return dsn
}

func TestAppendBadInput(t *testing.T) {
	var logs bytes.Buffer
	dsn := freshDSN(t, false)
	s, err := Open(context.Background(), dsn, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Append(ctx, nil, zeroCP); err != nil {
		t.Fatalf("nil batch: %v", err)
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
	got := queryStrings(t, s, `SELECT uuid, event, distinct_id, url, properties, toString(toDateTime(intDiv(timestamp, 1000000), 'UTC'))
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
	if got := queryStrings(t, s, "SELECT count() FROM persons"); got[0] != "0" {
		t.Fatalf("non-object $set created %s persons", got[0])
	}
	if !strings.Contains(logs.String(), "skipped=2") {
		t.Fatalf("skipped events not logged: %q", logs.String())
	}
	if err := s.Append(ctx, batch, zeroCP); err != nil {
		t.Fatalf("bad batch again: %v", err)
	}
	if n := count(t, s, 1); n != 9 {
		t.Fatalf("%d events, want 9", n)
	}
}

func TestPropertiesFlattened(t *testing.T) {
	s := openKind(t, storeKinds[0])
	mustAppend(t, s, []event.Event{ev(1, "p", "e", "d", t0,
		`{"s":"a\"b","n":19.99,"i":3,"b":true,"z":null,"o":{"x": [1, 2]},"$set":{"plan":"pro"}}`)})
	got := queryStrings(t, s, `SELECT arrayStringConcat(arrayMap((k, v) -> concat(k, '=', v), prop_keys, prop_values), ' ') FROM events`)
	want := `s=a"b n=19.99 i=3 b=true o={"x":[1,2]} $set={"plan":"pro"}`
	if len(got) != 1 || got[0] != want {
		t.Fatalf("flattened = %q, want %q", got, want)
	}
}

func TestReplaySummariesMerge(t *testing.T) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			s := openKind(t, k)
			ctx := context.Background()
			at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
			chunk := func(window string, start, end int, url, distinct string) store.ReplaySummary {
				return store.ReplaySummary{
					ProjectID: 1, SessionID: "sess", WindowID: window, DistinctID: distinct, URL: url,
					Start: at(start), End: at(end), ActiveMs: 1000, Clicks: 2, Keypresses: 3, Errors: 1, Bytes: 500, Chunks: 1,
				}
			}
			add := func(c store.ReplaySummary) {
				t.Helper()
				if err := s.AddReplayChunk(ctx, c); err != nil {
					t.Fatalf("add chunk: %v", err)
				}
			}
			add(chunk("w1", 10, 20, "", "anon"))
			add(chunk("w1", 20, 30, "https://shop.example/cart", "alice"))
			add(chunk("w1", 0, 10, "https://shop.example/", ""))
			c := chunk("w2", 5, 8, "https://shop.example/help", "anon")
			c.End = time.Time{}
			add(c)
			add(chunk("w2", 8, 9, "https://shop.example/other", "anon"))
			other := chunk("w1", 0, 1, "x", "y")
			other.SessionID = "other"
			add(other)
			other.ProjectID = 2
			add(other)
			got, err := s.Replays(ctx, 1, "sess")
			if err != nil {
				t.Fatal(err)
			}
			want := []store.ReplaySummary{
				{ProjectID: 1, SessionID: "sess", WindowID: "w1", DistinctID: "anon", URL: "https://shop.example/",
					Start: at(0), End: at(30), ActiveMs: 3000, Clicks: 6, Keypresses: 9, Errors: 3, Bytes: 1500, Chunks: 3},
				{ProjectID: 1, SessionID: "sess", WindowID: "w2", DistinctID: "anon", URL: "https://shop.example/help",
					Start: at(5), End: at(9), ActiveMs: 2000, Clicks: 4, Keypresses: 6, Errors: 2, Bytes: 1000, Chunks: 2},
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("replays =\n%+v\nwant\n%+v", got, want)
			}
			if got, err := s.Replays(ctx, 1, "missing"); err != nil || len(got) != 0 {
				t.Fatalf("missing session: %v, %v", got, err)
			}
		})
	}
}

// Readers never see a shrinking count while batches are appended, and the
// final count is exact.
func TestConcurrentQueriesDuringAppends(t *testing.T) {
	s := openKind(t, storeKinds[1])
	const batches, size = 10, 500
	g := &traffic{rng: rand.New(rand.NewPCG(7, 8))}
	ctx := context.Background()
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last int64
			for i := 0; i < 1000; i++ {
				select {
				case <-done:
					return
				default:
				}
				n, err := s.Count(ctx, 1)
				if err != nil {
					errs <- err
					return
				}
				if n < last {
					errs <- errors.New("reader saw a shrinking table")
					return
				}
				last = n
			}
		}()
	}
	for i := range batches {
		if err := s.Append(ctx, g.batch(1, size, t0.Add(time.Duration(i)*time.Minute)), store.Checkpoint{Spool: "n", Segment: 1, Offset: int64(i)}); err != nil {
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
}

// FuzzFlattenProps: the fast member scanner agrees with encoding/json on
// every input: the same validity, and for valid objects the same members
// (json.Unmarshal keeps a duplicated key's last value, the scanner its
// first, so duplicates are left out of the comparison).
func FuzzFlattenProps(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"s":"a\"b","n":19.99,"b":true,"z":null,"o":{"x": [1, 2]}}`,
		`{"a":1,"a":2}`, `[1]`, `{"a":}`, `{"a":1,}`, ` { "k" : "v" } `, `{"u":"\u00e9"}`, `{"n":-1e3}`, `{"n":01}`, `nul`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		doc, keys, vals := flattenProps(json.RawMessage(s))
		var m map[string]json.RawMessage
		valid := json.Unmarshal([]byte(clean(s)), &m) == nil && m != nil
		if !valid {
			if doc != "{}" || len(keys) != 0 {
				t.Fatalf("%q: invalid for encoding/json, scanned as %q %v", s, doc, keys)
			}
			return
		}
		if doc == "{}" && len(m) > 0 {
			t.Fatalf("%q: valid object refused", s)
		}
		wk, wv := flattenMap(m)
		want := map[string]string{}
		for i, k := range wk {
			want[k] = wv[i]
		}
		seen := map[string]int{}
		for _, k := range keys {
			seen[k]++
		}
		for i, k := range keys {
			if strings.Count(clean(s), `"`+k+`"`) > 1 {
				continue
			}
			if want[k] != vals[i] {
				t.Fatalf("%q: %s = %q, encoding/json says %q", s, k, vals[i], want[k])
			}
		}
	})
}

// Retention drops whole months that end before the cutoff, on every shard.
func TestDropExpired(t *testing.T) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			s := openKind(t, k)
			ctx := context.Background()
			var batch []event.Event
			for i, ts := range []time.Time{
				time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC),
				time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC),
			} {
				for j := range 20 {
					batch = append(batch, ev(1, fmt.Sprintf("e-%d-%d", i, j), "e", fmt.Sprintf("d%d", j), ts, ""))
				}
			}
			mustAppend(t, s, batch)
			// February 15: January has ended, February has not.
			if err := s.DropExpired(ctx, time.Date(2026, 2, 15, 0, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			got := queryStrings(t, s, "SELECT toString(toYYYYMM(toDateTime(intDiv(timestamp, 1000000), 'UTC'))) AS m, count() FROM events GROUP BY m ORDER BY m")
			if want := []string{"202602|20", "202603|20"}; !slices.Equal(got, want) {
				t.Fatalf("months left = %v, want %v", got, want)
			}
		})
	}
}
