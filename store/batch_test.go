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
