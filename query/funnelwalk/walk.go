// Package funnelwalk walks one person's (or session's) events through a
// funnel in a single pass, the way ClickHouse's windowFunnel does. The
// embedded store runs it inside DuckDB as the scalar function
// sightline_funnel (see store/duckdb), over the events grouped per entity;
// the query package compiles the SQL around it.
//
// The semantics are the query package's (query/funnel.go). Events are in
// event order: timestamp, then UUID. Times are checked against the window
// as (t / 1e6) − (t0 / 1e6) ≤ window seconds, as DuckDB's epoch() does.
//
//   - Ordered: an attempt starts at a step-1 event inside the date range;
//     each later step is the first matching event after the previous
//     step's event, no later than the window after the start. An attempt
//     is dominated, and not counted, when the next step-1 event that may
//     start an attempt comes before the first step-2 event after it: the
//     later start reaches the same steps with a later deadline. Exclusions
//     drop an attempt when an excluded event comes after its from-step
//     event and before its to-step event, or, when it never reached the
//     to-step, within its window.
//   - Strict: an attempt starts at every step-1 event inside the range;
//     step k+1 must be the very next event after step k (the events given
//     are every event that counts).
//   - Unordered: an attempt starts at any step's event inside the range;
//     each step is reached by its first event at or after the start's
//     time, within the window (the start itself may fill several steps).
//     The times of the steps reached, sorted, are the attempt's times.
//
// The best attempt is the furthest, then the latest started (then the
// latest in event order).
package funnelwalk

import (
	"cmp"
	"errors"
	"slices"
)

// FunctionName is the name under which the embedded store registers the
// walk as a DuckDB function, and under which the query package calls it.
const FunctionName = "sightline_funnel"

// MaxMaskBits is how many steps and exclusions one event mask holds.
const MaxMaskBits = 63

// The orders of a funnel (Spec.Order).
const (
	Ordered   = "ordered"
	Strict    = "strict"
	Unordered = "unordered"
)

// Spec describes the funnel.
type Spec struct {
	// Order is Ordered (also when empty), Strict or Unordered.
	Order string
	Steps int
	// Window is the conversion window in seconds.
	Window int64
	// From and To bound the first step's time, [From, To), in microseconds
	// since the Unix epoch.
	From, To int64
	// Exclusions apply to ordered funnels.
	Exclusions []Exclusion
}

// Exclusion drops attempts with a matching event between two steps
// (0-based step indexes, From < To).
type Exclusion struct{ From, To int }

// Event is one event of the entity. Mask bit k (k < Steps) is set when the
// event matches step k, bit Steps+j when it matches exclusion j. UUID only
// orders events with equal timestamps; Breakdown is the value the event
// gives an attempt it starts.
type Event struct {
	TS        int64
	Mask      uint64
	UUID      string
	Breakdown string
}

// Attempt is the best attempt of one breakdown value.
type Attempt struct {
	// Level is the number of steps reached, at least 1.
	Level int
	// First is the index, in the input, of the attempt's first event;
	// Last that of the furthest step's event (in unordered funnels, of the
	// first event too: its session is the attempt's).
	First, Last int
	// Times are the times of the steps reached (microseconds), Level of
	// them.
	Times []int64
}

// ErrTies reports that Walk needs the events' UUIDs: two events have equal
// timestamps and no UUIDs were given to order them.
var ErrTies = errors.New("funnelwalk: events with equal timestamps need their UUIDs")

// none is the position of "no such event".
const none = int32(-1)

// item is an event in the walk's order: its time and mask, and its index
// in the input.
type item struct {
	ts   int64
	mask uint64
	idx  int32
}

// Walker walks funnels, reusing its memory from one entity to the next. A
// Walker is not safe for concurrent use; its zero value is ready.
type Walker struct {
	items []item
	next  []int32
	pos   []int32
	times []int64
	out   []Attempt
	best  map[string]int

	spec        *Spec
	events      []Event
	byBreakdown bool
}

// Walk is Walker.Walk with a fresh Walker: the attempts are the caller's.
func Walk(spec *Spec, events []Event, byBreakdown bool) ([]Attempt, error) {
	var w Walker
	return w.Walk(spec, events, byBreakdown)
}

// Walk returns the best attempt for each breakdown value (at most one
// attempt when byBreakdown is false). events are in any order; when two
// share a timestamp and have no UUIDs, Walk returns ErrTies. An entity
// whose every attempt is excluded has none. The attempts are valid until
// the next call.
func (w *Walker) Walk(spec *Spec, events []Event, byBreakdown bool) ([]Attempt, error) {
	n := len(events)
	w.out = w.out[:0]
	w.spec, w.events, w.byBreakdown = spec, events, byBreakdown
	defer func() { w.spec, w.events = nil, nil }()
	if n == 0 || spec.Steps < 1 {
		return w.out, nil
	}
	items := slices.Grow(w.items[:0], n)[:n]
	w.items = items
	for i := range items {
		items[i] = item{ts: events[i].TS, mask: events[i].Mask, idx: int32(i)}
	}
	slices.SortFunc(items, func(a, b item) int {
		if a.ts != b.ts {
			return cmp.Compare(a.ts, b.ts)
		}
		return cmp.Compare(events[a.idx].UUID, events[b.idx].UUID)
	})
	for i := 1; i < n; i++ {
		if items[i-1].ts == items[i].ts && events[items[i-1].idx].UUID == events[items[i].idx].UUID {
			return nil, ErrTies
		}
	}
	if byBreakdown {
		if w.best == nil {
			w.best = map[string]int{}
		}
		clear(w.best)
	}
	w.pos = slices.Grow(w.pos[:0], spec.Steps)[:spec.Steps]
	switch spec.Order {
	case Strict:
		w.strict()
	case Unordered:
		w.unordered()
	default:
		w.ordered()
	}
	return w.out, nil
}

func (w *Walker) within(t, t0 int64) bool {
	return float64(t)/1e6-float64(t0)/1e6 <= float64(w.spec.Window)
}

// starts reports whether the event at position i may start an attempt:
// it matches one of bits and falls inside the date range.
func (w *Walker) starts(i int, bits uint64) bool {
	it := &w.items[i]
	return it.mask&bits != 0 && it.ts >= w.spec.From && it.ts < w.spec.To
}

// nextTables fills w.next with rows of "the first position after i (at or
// after i, when inclusive) whose event has row r's bit", n entries per row.
// bit returns row r's bit and whether the row keeps only events before
// the date range's end.
func (w *Walker) nextTables(rows int, inclusive bool, bit func(r int) (uint64, bool)) {
	n := len(w.items)
	next := slices.Grow(w.next[:0], rows*n)[:rows*n]
	w.next = next
	for r := range rows {
		b, beforeTo := bit(r)
		cur := none
		row := next[r*n : (r+1)*n]
		for i := n - 1; i >= 0; i-- {
			it := &w.items[i]
			match := it.mask&b != 0 && (!beforeTo || it.ts < w.spec.To)
			if inclusive && match {
				cur = int32(i)
			}
			row[i] = cur
			if !inclusive && match {
				cur = int32(i)
			}
		}
	}
}

func (w *Walker) at(r int, i int32) int32 { return w.next[r*len(w.items)+int(i)] }

// ordered walks ordered attempts. Rows of next: 0…Steps−1 match step r,
// row Steps (the dominance row) is a step-1 event that may start an
// attempt (before To), rows Steps+1+j match exclusion j.
func (w *Walker) ordered() {
	spec, items, pos := w.spec, w.items, w.pos
	w.nextTables(spec.Steps+1+len(spec.Exclusions), false, func(r int) (uint64, bool) {
		switch {
		case r == spec.Steps:
			return 1, true
		case r > spec.Steps:
			return uint64(1) << (r - 1), false // exclusion r−Steps−1
		}
		return uint64(1) << r, false
	})
	for i := range items {
		if !w.starts(i, 1) {
			continue
		}
		// Dominated by the next start before the next step-2 event?
		if spec.Steps > 1 {
			n0, n1 := w.at(spec.Steps, int32(i)), w.at(1, int32(i))
			if n0 != none && (n1 == none || n0 < n1) {
				continue
			}
		}
		t0 := items[i].ts
		pos[0] = int32(i)
		level := 1
		for k := 1; k < spec.Steps; k++ {
			j := w.at(k, pos[k-1])
			if j == none || !w.within(items[j].ts, t0) {
				break
			}
			pos[k] = j
			level++
		}
		if w.excluded(level, t0) {
			continue
		}
		w.times = w.times[:0]
		for k := range level {
			w.times = append(w.times, items[pos[k]].ts)
		}
		w.record(i, int(pos[level-1]), w.times)
	}
}

// excluded reports whether an exclusion drops the attempt whose steps are
// at w.pos[:level].
func (w *Walker) excluded(level int, t0 int64) bool {
	spec, pos := w.spec, w.pos
	for x, ex := range spec.Exclusions {
		if level < ex.From+1 {
			continue
		}
		j := w.at(spec.Steps+1+x, pos[ex.From])
		if j == none {
			continue
		}
		if level >= ex.To+1 && j < pos[ex.To] || level < ex.To+1 && w.within(w.items[j].ts, t0) {
			return true
		}
	}
	return false
}

// strict walks strict attempts: step k is the k-th event after the start.
func (w *Walker) strict() {
	spec, items := w.spec, w.items
	for i := range items {
		if !w.starts(i, 1) {
			continue
		}
		t0 := items[i].ts
		level := 1
		for k := 1; k < spec.Steps; k++ {
			j := i + k
			if j >= len(items) || items[j].mask&(uint64(1)<<k) == 0 || !w.within(items[j].ts, t0) {
				break
			}
			level++
		}
		w.times = w.times[:0]
		for k := range level {
			w.times = append(w.times, items[i+k].ts)
		}
		w.record(i, i+level-1, w.times)
	}
}

// unordered walks unordered attempts. Rows of next (inclusive): step r.
// A step's first event at or after the start's time may come before the
// start in event order (equal times), so lookups begin at the start's
// group of equal times.
func (w *Walker) unordered() {
	spec, items := w.spec, w.items
	w.nextTables(spec.Steps, true, func(r int) (uint64, bool) { return uint64(1) << r, false })
	all := uint64(1)<<spec.Steps - 1
	group := 0 // first position of the current run of equal times
	for i := range items {
		if items[i].ts != items[group].ts {
			group = i
		}
		if !w.starts(i, all) {
			continue
		}
		t0 := items[i].ts
		w.times = w.times[:0]
		for k := range spec.Steps {
			if j := w.at(k, int32(group)); j != none && w.within(items[j].ts, t0) {
				w.times = append(w.times, items[j].ts)
			}
		}
		slices.Sort(w.times)
		w.record(i, i, w.times)
	}
}

// record keeps the attempt starting at position first, whose furthest step
// is at position last, if it is the best of its breakdown value so far.
// Positions grow with each call, so a later attempt of the same level
// started no earlier and wins.
func (w *Walker) record(first, last int, times []int64) {
	items, level := w.items, len(times)
	b, seen := 0, len(w.out) > 0
	key := ""
	if w.byBreakdown {
		key = w.events[items[first].idx].Breakdown
		b, seen = w.best[key]
	}
	if seen {
		if level < w.out[b].Level {
			return
		}
	} else {
		b = len(w.out)
		if w.byBreakdown {
			w.best[key] = b
		}
		if len(w.out) < cap(w.out) {
			w.out = w.out[:len(w.out)+1] // keeps the old attempt's Times
		} else {
			w.out = append(w.out, Attempt{})
		}
	}
	a := &w.out[b]
	a.Level, a.First, a.Last = level, int(items[first].idx), int(items[last].idx)
	a.Times = append(a.Times[:0], times...)
}
