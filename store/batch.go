package store

import (
	"cmp"
	"slices"
	"time"

	"github.com/sightline-analytics/sightline/event"
)

// Timestamps outside these years are treated as missing: they would either
// overflow a store's range or stretch the deduplication search over the
// whole table.
const minYear, maxYear = 1970, 9999

// ValidTime reports whether a store keeps t as a time.
func ValidTime(t time.Time) bool {
	y := t.Year()
	return y >= minYear && y <= maxYear
}

// EventTimes returns the timestamp to store (falling back to the receive
// time) and the receive time (falling back to the timestamp), in UTC; ok is
// false when neither is valid.
func EventTimes(e *event.Event) (ts, recv time.Time, ok bool) {
	ts, recv = e.Timestamp, e.ReceivedAt
	switch {
	case ValidTime(ts) && ValidTime(recv):
	case ValidTime(ts):
		recv = ts
	case ValidTime(recv):
		ts = recv
	default:
		return ts, recv, false
	}
	return ts.UTC(), recv.UTC(), true
}

// MaxDedupRanges bounds the number of time ranges searched for duplicates
// of one batch; a batch scattered over more ranges merges the closest ones.
const MaxDedupRanges = 16

// DedupRanges splits a batch's timestamps (Unix microseconds, sorted in
// place) into at most MaxDedupRanges ranges, each widened by slack, so that
// a store's duplicate search reads only the stored events near the batch: a
// batch of live traffic plus a few stragglers from an offline client stays
// cheap. Ranges are split at the widest gaps.
func DedupRanges(ts []int64, slack int64) [][2]int64 {
	if len(ts) == 0 {
		return nil
	}
	slices.Sort(ts)
	type gap struct {
		at   int   // index where a new range starts
		size int64 // microseconds
	}
	var gaps []gap
	for i := 1; i < len(ts); i++ {
		if d := ts[i] - ts[i-1]; d > 2*slack {
			gaps = append(gaps, gap{i, d})
		}
	}
	if len(gaps) > MaxDedupRanges-1 {
		slices.SortFunc(gaps, func(a, b gap) int { return cmp.Compare(b.size, a.size) })
		gaps = gaps[:MaxDedupRanges-1]
		slices.SortFunc(gaps, func(a, b gap) int { return a.at - b.at })
	}
	ranges := make([][2]int64, 0, len(gaps)+1)
	start := 0
	for _, g := range gaps {
		ranges = append(ranges, [2]int64{ts[start] - slack, ts[g.at-1] + slack})
		start = g.at
	}
	return append(ranges, [2]int64{ts[start] - slack, ts[len(ts)-1] + slack})
}

// EventKey identifies an event in a store: its project and its UUID, as
// stored (Clean).
type EventKey struct {
	Project int64
	UUID    string
}

// Selection chooses what a store appends of a batch, the same way in every
// store. Events without a UUID or a usable time (EventTimes) are skipped;
// of events that share a key within the batch, the first wins. A writer
// keeps one Selection and reuses its buffers from batch to batch.
type Selection struct {
	// Keep are the indexes of the events to store, in batch order.
	Keep []int
	// Micros are their timestamps in Unix microseconds, for DedupRanges
	// (which sorts them in place).
	Micros []int64
	// Facts are their identity facts, in batch order.
	Facts []IdentityFact
	// Skipped counts the events without a UUID or a usable time.
	Skipped int

	seen map[EventKey]struct{}
}

// Select chooses among events, replacing the previous batch's choice.
func (s *Selection) Select(events []event.Event) {
	if s.seen == nil {
		s.seen = make(map[EventKey]struct{})
	}
	s.Reset()
	for i := range events {
		e := &events[i]
		ts, _, ok := EventTimes(e)
		if !ok || e.UUID == "" {
			s.Skipped++
			continue
		}
		k := EventKey{e.ProjectID, Clean(e.UUID)}
		if _, dup := s.seen[k]; dup {
			continue
		}
		s.seen[k] = struct{}{}
		s.Keep = append(s.Keep, i)
		s.Micros = append(s.Micros, ts.UnixMicro())
		if f, ok := IdentityFactOf(e, ts); ok {
			s.Facts = append(s.Facts, f)
		}
	}
}

// NewFacts returns the identity facts of the selected events whose keys are
// not in stored: the events a store found already stored do not apply
// their facts again.
func (s *Selection) NewFacts(stored map[EventKey]bool) []IdentityFact {
	facts := s.Facts[:0:0]
	for _, f := range s.Facts {
		if !stored[EventKey{f.Project, f.UUID}] {
			facts = append(facts, f)
		}
	}
	return facts
}

// Reset empties the selection and drops its references to the batch's
// strings, which the caller may reuse once the append returns.
func (s *Selection) Reset() {
	clear(s.seen)
	clear(s.Facts)
	s.Keep, s.Micros, s.Facts, s.Skipped = s.Keep[:0], s.Micros[:0], s.Facts[:0], 0
}
