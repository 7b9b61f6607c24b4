// Package funnelwalk walks one person's (or session's) events through an
// ordered funnel in a single pass, the way ClickHouse's windowFunnel does.
// The embedded store runs it inside DuckDB as the scalar function
// sightline_funnel (see store/duckdb), over the events grouped per entity;
// the query package compiles the SQL around it.
//
// The semantics are the query package's (query/funnel.go): an attempt
// starts at a step-1 event inside the date range; each later step is the
// first matching event after the previous step's event, in event order
// (timestamp, then UUID), no later than the window after the start. An
// attempt is dominated, and not counted, when the next step-1 event that
// may start an attempt comes before the first step-2 event after it: the
// later start reaches the same steps with a later deadline. Exclusions drop
// an attempt when an excluded event comes after its from-step event and
// before its to-step event, or, when it never reached the to-step, within
// its window. The best attempt is the furthest, then the latest started.
package funnelwalk

import (
	"cmp"
	"errors"
	"slices"
)

// MaxMaskBits is how many steps and exclusions one event mask holds.
const MaxMaskBits = 63

// Spec describes the funnel.
type Spec struct {
	Steps int
	// Window is the conversion window in seconds.
	Window int64
	// From and To bound the first step's time, [From, To), in microseconds
	// since the Unix epoch.
	From, To   int64
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
	// First and Last are the indexes, in the input, of the attempt's first
	// event and of the event of the furthest step it reached.
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
	out   []Attempt
	best  map[string]int
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

	// next[r*n+i] is the first position after i whose event has row r's
	// property: rows 0…Steps−1 match step r, row Steps (the dominance
	// row) is a step-1 event that may start an attempt (before To), and
	// rows Steps+1+j match exclusion j.
	rows := spec.Steps + 1 + len(spec.Exclusions)
	next := slices.Grow(w.next[:0], rows*n)[:rows*n]
	w.next = next
	for r := range rows {
		cur := none
		bit, starts := uint64(1)<<r, r == spec.Steps
		switch {
		case starts:
			bit = 1
		case r > spec.Steps:
			bit = uint64(1) << (r - 1) // exclusion r−Steps−1
		}
		row := next[r*n : (r+1)*n]
		for i := n - 1; i >= 0; i-- {
			row[i] = cur
			if it := &items[i]; it.mask&bit != 0 && (!starts || it.ts < spec.To) {
				cur = int32(i)
			}
		}
	}

	window := float64(spec.Window)
	within := func(t, t0 int64) bool { return float64(t)/1e6-float64(t0)/1e6 <= window }
	at := func(r int, i int32) int32 { return next[r*n+int(i)] }

	if byBreakdown {
		if w.best == nil {
			w.best = map[string]int{}
		}
		clear(w.best)
	}
	pos := slices.Grow(w.pos[:0], spec.Steps)[:spec.Steps]
	w.pos = pos
	for i := range n {
		it := &items[i]
		if it.mask&1 == 0 || it.ts < spec.From || it.ts >= spec.To {
			continue
		}
		// Dominated by the next start before the next step-2 event?
		if spec.Steps > 1 {
			n0, n1 := at(spec.Steps, int32(i)), at(1, int32(i))
			if n0 != none && (n1 == none || n0 < n1) {
				continue
			}
		}
		t0 := it.ts
		pos[0] = int32(i)
		level := 1
		for k := 1; k < spec.Steps; k++ {
			j := at(k, pos[k-1])
			if j == none || !within(items[j].ts, t0) {
				break
			}
			pos[k] = j
			level++
		}
		dropped := false
		for x, ex := range spec.Exclusions {
			if level < ex.From+1 {
				continue
			}
			j := at(spec.Steps+1+x, pos[ex.From])
			if j == none {
				continue
			}
			if level >= ex.To+1 && j < pos[ex.To] || level < ex.To+1 && within(items[j].ts, t0) {
				dropped = true
				break
			}
		}
		if dropped {
			continue
		}
		b, seen := 0, len(w.out) > 0
		if byBreakdown {
			b, seen = w.best[events[it.idx].Breakdown]
		}
		if seen {
			// Positions grow with i, so a later attempt of the same level
			// started no earlier.
			if level < w.out[b].Level {
				continue
			}
		} else {
			b = len(w.out)
			if byBreakdown {
				w.best[events[it.idx].Breakdown] = b
			}
			if len(w.out) < cap(w.out) {
				w.out = w.out[:len(w.out)+1] // keeps the old attempt's Times
			} else {
				w.out = append(w.out, Attempt{})
			}
		}
		a := &w.out[b]
		a.Level, a.First, a.Last = level, int(it.idx), int(items[pos[level-1]].idx)
		a.Times = a.Times[:0]
		for k := range level {
			a.Times = append(a.Times, items[pos[k]].ts)
		}
	}
	return w.out, nil
}
