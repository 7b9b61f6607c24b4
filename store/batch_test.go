package store

import (
	"slices"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
)

func TestDedupRanges(t *testing.T) {
	for _, tt := range []struct {
		name  string
		ts    []int64
		slack int64
		want  [][2]int64
	}{
		{"none", nil, 10, nil},
		{"one close run", []int64{30, 10, 20}, 10, [][2]int64{{0, 40}}},
		{"a straggler", []int64{1000, 10, 20}, 10, [][2]int64{{0, 30}, {990, 1010}}},
	} {
		if got := DedupRanges(slices.Clone(tt.ts), tt.slack); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// Scattered over more ranges than allowed: the closest merge.
	var ts []int64
	for i := range 40 {
		ts = append(ts, int64(i*i*1000))
	}
	got := DedupRanges(ts, 1)
	if len(got) != MaxDedupRanges {
		t.Fatalf("%d ranges, want %d", len(got), MaxDedupRanges)
	}
	if got[0][0] != -1 || got[len(got)-1][1] != 39*39*1000+1 {
		t.Errorf("ranges %v do not cover the batch", got)
	}
}

func TestEventTimes(t *testing.T) {
	ok := time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600))
	bad := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		ts, recv       time.Time
		wantTS, wantRv time.Time
		ok             bool
	}{
		{ok, ok.Add(time.Second), ok.UTC(), ok.Add(time.Second).UTC(), true},
		{ok, bad, ok.UTC(), ok.UTC(), true},
		{bad, ok, ok.UTC(), ok.UTC(), true},
		{bad, bad, bad, bad, false},
	} {
		ts, recv, good := EventTimes(&event.Event{Timestamp: tt.ts, ReceivedAt: tt.recv})
		if good != tt.ok || (good && (!ts.Equal(tt.wantTS) || !recv.Equal(tt.wantRv) || ts.Location() != time.UTC)) {
			t.Errorf("EventTimes(%v, %v) = %v, %v, %v", tt.ts, tt.recv, ts, recv, good)
		}
	}
}

// TestSelection: what every store appends of a batch. Events without a
// UUID or a usable time are skipped, the first of a key wins (keys compare
// as stored, so a UUID with invalid UTF-8 matches its cleaned form), the
// same UUID in another project is another event, and facts found stored
// are not applied again.
func TestSelection(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	ev := func(project int64, uuid string, sec int, name string) event.Event {
		return event.Event{ProjectID: project, UUID: uuid, Event: name, DistinctID: "d", Timestamp: t0.Add(time.Duration(sec) * time.Second)}
	}
	identify := ev(1, "u5", 5, event.Identify)
	identify.DistinctID = "user"
	identify.Properties = []byte(`{"$anon_distinct_id":"anon"}`)
	batch := []event.Event{
		ev(1, "u1", 0, "$pageview"),
		ev(1, "", 1, "$pageview"),                   // no UUID
		{ProjectID: 1, UUID: "u2", Event: "$click"}, // no usable time
		ev(1, "u1", 3, "$click"),                    // the first u1 wins
		ev(2, "u1", 4, "$pageview"),                 // another project's u1
		identify,
		ev(1, "u\xff", 6, "$pageview"),
		ev(1, "u\uFFFD", 7, "$pageview"), // the same key, cleaned
	}
	var s Selection
	s.Select(batch)
	if want := []int{0, 4, 5, 6}; !slices.Equal(s.Keep, want) {
		t.Errorf("Keep = %v, want %v", s.Keep, want)
	}
	if want := []int64{t0.UnixMicro(), t0.Add(4 * time.Second).UnixMicro(), t0.Add(5 * time.Second).UnixMicro(), t0.Add(6 * time.Second).UnixMicro()}; !slices.Equal(s.Micros, want) {
		t.Errorf("Micros = %v, want %v", s.Micros, want)
	}
	if s.Skipped != 2 {
		t.Errorf("Skipped = %d, want 2", s.Skipped)
	}
	if len(s.Facts) != 1 || s.Facts[0].UUID != "u5" || !s.Facts[0].Identify || s.Facts[0].AnonID != "anon" {
		t.Fatalf("Facts = %+v, want the $identify of u5", s.Facts)
	}
	if got := s.NewFacts(nil); len(got) != 1 {
		t.Errorf("NewFacts(nothing stored) = %d facts, want 1", len(got))
	}
	if got := s.NewFacts(map[EventKey]bool{{Project: 1, UUID: "u5"}: true}); len(got) != 0 {
		t.Errorf("NewFacts(u5 stored) = %+v, want none", got)
	}
	if got := s.NewFacts(map[EventKey]bool{{Project: 2, UUID: "u5"}: true}); len(got) != 1 {
		t.Errorf("NewFacts(another project's u5 stored) = %d facts, want 1", len(got))
	}

	// The next batch starts afresh: u1 is no duplicate of the last batch's.
	s.Select(batch[:1])
	if !slices.Equal(s.Keep, []int{0}) || len(s.Micros) != 1 || len(s.Facts) != 0 || s.Skipped != 0 {
		t.Errorf("second batch: Keep %v, Micros %v, Facts %v, Skipped %d", s.Keep, s.Micros, s.Facts, s.Skipped)
	}
	s.Reset()
	if len(s.Keep) != 0 || len(s.Micros) != 0 || len(s.Facts) != 0 || len(s.seen) != 0 {
		t.Errorf("after Reset: %+v", s)
	}
}
