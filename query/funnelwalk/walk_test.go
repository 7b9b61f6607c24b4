package funnelwalk

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

const sec = int64(1e6)

func TestWalk(t *testing.T) {
	ev := func(s int64, mask uint64) Event { return Event{TS: s * sec, Mask: mask} }
	spec := Spec{Steps: 3, Window: 60, From: 0, To: 1000 * sec}
	tests := []struct {
		name   string
		spec   Spec
		events []Event
		want   []Attempt
	}{
		{"converts in order", spec, []Event{ev(10, 1), ev(20, 2), ev(30, 4)},
			[]Attempt{{Level: 3, First: 0, Last: 2, Times: []int64{10 * sec, 20 * sec, 30 * sec}}}},
		{"input order does not matter", spec, []Event{ev(30, 4), ev(10, 1), ev(20, 2)},
			[]Attempt{{Level: 3, First: 1, Last: 0, Times: []int64{10 * sec, 20 * sec, 30 * sec}}}},
		{"steps out of order", spec, []Event{ev(10, 4), ev(20, 2), ev(30, 1)},
			[]Attempt{{Level: 1, First: 2, Last: 2, Times: []int64{30 * sec}}}},
		{"window boundary is inside", spec, []Event{ev(10, 1), ev(20, 2), ev(70, 4)},
			[]Attempt{{Level: 3, First: 0, Last: 2, Times: []int64{10 * sec, 20 * sec, 70 * sec}}}},
		{"past the window", spec, []Event{ev(10, 1), ev(20, 2), ev(71, 4)},
			[]Attempt{{Level: 2, First: 0, Last: 1, Times: []int64{10 * sec, 20 * sec}}}},
		{"one event fills one step", spec, []Event{ev(10, 7)},
			[]Attempt{{Level: 1, First: 0, Last: 0, Times: []int64{10 * sec}}}},
		{"a later start wins at equal level", spec, []Event{ev(10, 1), ev(20, 2), ev(100, 1), ev(110, 2)},
			[]Attempt{{Level: 2, First: 2, Last: 3, Times: []int64{100 * sec, 110 * sec}}}},
		{"the furthest attempt wins", spec, []Event{ev(10, 1), ev(20, 2), ev(30, 4), ev(100, 1), ev(110, 2)},
			[]Attempt{{Level: 3, First: 0, Last: 2, Times: []int64{10 * sec, 20 * sec, 30 * sec}}}},
		{"starts outside the range do not count", Spec{Steps: 2, Window: 60, From: 15 * sec, To: 50 * sec},
			[]Event{ev(10, 1), ev(20, 2), ev(50, 1)}, nil},
		{"later steps may fall after the range", Spec{Steps: 2, Window: 60, From: 0, To: 15 * sec},
			[]Event{ev(10, 1), ev(20, 2)}, []Attempt{{Level: 2, First: 0, Last: 1, Times: []int64{10 * sec, 20 * sec}}}},
		{"no first step", spec, []Event{ev(10, 2), ev(20, 4)}, nil},
		{"exclusion between the steps drops the attempt",
			Spec{Steps: 2, Window: 60, From: 0, To: 1000 * sec, Exclusions: []Exclusion{{0, 1}}},
			[]Event{ev(10, 1), ev(15, 4), ev(20, 2)}, nil},
		{"exclusion after the step does not",
			Spec{Steps: 2, Window: 60, From: 0, To: 1000 * sec, Exclusions: []Exclusion{{0, 1}}},
			[]Event{ev(10, 1), ev(20, 2), ev(25, 4)}, []Attempt{{Level: 2, First: 0, Last: 1, Times: []int64{10 * sec, 20 * sec}}}},
		{"exclusion within the window of an unfinished attempt",
			Spec{Steps: 2, Window: 60, From: 0, To: 1000 * sec, Exclusions: []Exclusion{{0, 1}}},
			[]Event{ev(10, 1), ev(50, 4)}, nil},
		{"strict: the next event must be the next step", Spec{Order: Strict, Steps: 3, Window: 60, From: 0, To: 1000 * sec},
			[]Event{ev(10, 1), ev(20, 2), ev(25, 0), ev(30, 4)},
			[]Attempt{{Level: 2, First: 0, Last: 1, Times: []int64{10 * sec, 20 * sec}}}},
		{"strict: nothing between", Spec{Order: Strict, Steps: 3, Window: 60, From: 0, To: 1000 * sec},
			[]Event{ev(10, 1), ev(20, 2), ev(30, 4)},
			[]Attempt{{Level: 3, First: 0, Last: 2, Times: []int64{10 * sec, 20 * sec, 30 * sec}}}},
		{"unordered: steps in any order", Spec{Order: Unordered, Steps: 3, Window: 60, From: 0, To: 1000 * sec},
			[]Event{ev(10, 4), ev(20, 1), ev(30, 2)},
			[]Attempt{{Level: 3, First: 0, Last: 0, Times: []int64{10 * sec, 20 * sec, 30 * sec}}}},
		{"unordered: one event fills the steps it matches", Spec{Order: Unordered, Steps: 3, Window: 60, From: 0, To: 1000 * sec},
			[]Event{ev(10, 3)},
			[]Attempt{{Level: 2, First: 0, Last: 0, Times: []int64{10 * sec, 10 * sec}}}},
		{"exclusion past the window of an unfinished attempt",
			Spec{Steps: 2, Window: 60, From: 0, To: 1000 * sec, Exclusions: []Exclusion{{0, 1}}},
			[]Event{ev(10, 1), ev(80, 4)}, []Attempt{{Level: 1, First: 0, Last: 0, Times: []int64{10 * sec}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Walk(&tt.spec, tt.events, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestWalkBreakdown(t *testing.T) {
	spec := Spec{Steps: 2, Window: 60, From: 0, To: 1000 * sec}
	events := []Event{
		{TS: 10 * sec, Mask: 1, Breakdown: "a"},
		{TS: 20 * sec, Mask: 2, Breakdown: "b"}, // step 2 of a's attempt
		{TS: 200 * sec, Mask: 1, Breakdown: "b"},
	}
	got, err := Walk(&spec, events, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []Attempt{
		{Level: 2, First: 0, Last: 1, Times: []int64{10 * sec, 20 * sec}},
		{Level: 1, First: 2, Last: 2, Times: []int64{200 * sec}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestWalkTies(t *testing.T) {
	spec := Spec{Steps: 2, Window: 60, From: 0, To: 1000 * sec}
	events := []Event{{TS: 10 * sec, Mask: 2}, {TS: 10 * sec, Mask: 1}}
	if _, err := Walk(&spec, events, false); !errors.Is(err, ErrTies) {
		t.Fatalf("equal timestamps without UUIDs: got %v, want ErrTies", err)
	}
	// With UUIDs, the UUID orders them: step 2 first, so no conversion;
	// then step 1 first.
	events[0].UUID, events[1].UUID = "01", "02"
	got, err := Walk(&spec, events, false)
	if err != nil || len(got) != 1 || got[0].Level != 1 {
		t.Fatalf("step 2 created first: got %+v, %v; want level 1", got, err)
	}
	events[0].UUID = "03"
	got, err = Walk(&spec, events, false)
	if err != nil || len(got) != 1 || got[0].Level != 2 {
		t.Fatalf("step 1 created first: got %+v, %v; want level 2", got, err)
	}
}

// reference walks the funnel the slow, literal way: every attempt, each
// step searched for from scratch.
func reference(spec *Spec, events []Event, byBreakdown bool) []Attempt {
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(events[a].TS, events[b].TS), cmp.Compare(events[a].UUID, events[b].UUID))
	})
	has := func(p int, bit int) bool { return events[order[p]].Mask&(1<<bit) != 0 }
	first := func(after, bit int) int { // first position after `after` with the bit
		for p := after + 1; p < len(order); p++ {
			if has(p, bit) {
				return p
			}
		}
		return -1
	}
	within := func(p int, t0 int64) bool {
		return float64(events[order[p]].TS)/1e6-float64(t0)/1e6 <= float64(spec.Window)
	}
	type res struct {
		a   Attempt
		pos int
	}
	best := map[string]res{}
	var keys []string
	keep := func(p, last int, times []int64) {
		key := ""
		if byBreakdown {
			key = events[order[p]].Breakdown
		}
		old, seen := best[key]
		if seen && (old.a.Level > len(times) || old.a.Level == len(times) && old.pos > p) {
			return
		}
		if !seen {
			keys = append(keys, key)
		}
		best[key] = res{Attempt{Level: len(times), First: order[p], Last: order[last], Times: times}, p}
	}
	for p := range order {
		e := events[order[p]]
		inRange := e.TS >= spec.From && e.TS < spec.To
		switch spec.Order {
		case Strict:
			if !has(p, 0) || !inRange {
				continue
			}
			times := []int64{e.TS}
			for k := 1; k < spec.Steps && p+k < len(order) && has(p+k, k) && within(p+k, e.TS); k++ {
				times = append(times, events[order[p+k]].TS)
			}
			keep(p, p+len(times)-1, times)
			continue
		case Unordered:
			if e.Mask&(1<<spec.Steps-1) == 0 || !inRange {
				continue
			}
			var times []int64
			for k := range spec.Steps {
				// The first step-k event at or after the start's time.
				found := -1
				for q := range order {
					if has(q, k) && events[order[q]].TS >= e.TS && (found < 0 || events[order[q]].TS < events[order[found]].TS) {
						found = q
					}
				}
				if found >= 0 && within(found, e.TS) {
					times = append(times, events[order[found]].TS)
				}
			}
			slices.Sort(times)
			keep(p, p, times)
			continue
		}
		if !has(p, 0) || !inRange {
			continue
		}
		if spec.Steps > 1 {
			n1 := first(p, 1)
			dominated := false
			for q := p + 1; q < len(order) && (n1 < 0 || q < n1); q++ {
				if has(q, 0) && events[order[q]].TS < spec.To {
					dominated = true
					break
				}
			}
			if dominated {
				continue
			}
		}
		pos := []int{p}
		for k := 1; k < spec.Steps; k++ {
			q := first(pos[k-1], k)
			if q < 0 || !within(q, e.TS) {
				break
			}
			pos = append(pos, q)
		}
		level := len(pos)
		dropped := false
		for x, ex := range spec.Exclusions {
			if level <= ex.From {
				continue
			}
			q := first(pos[ex.From], spec.Steps+x)
			if q >= 0 && (level > ex.To && q < pos[ex.To] || level <= ex.To && within(q, e.TS)) {
				dropped = true
			}
		}
		if dropped {
			continue
		}
		var times []int64
		for _, q := range pos {
			times = append(times, events[order[q]].TS)
		}
		keep(p, pos[level-1], times)
	}
	var out []Attempt
	for _, k := range keys {
		out = append(out, best[k].a)
	}
	return out
}

// FuzzWalk compares Walk with the literal reference on random entities:
// the order, steps, exclusions, breakdown values, times and the date range
// all come from the fuzzer's seed.
func FuzzWalk(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 42, 1000} {
		for order := range uint8(3) {
			f.Add(seed, order, uint8(3), uint8(1), uint8(20), false)
			f.Add(seed, order, uint8(5), uint8(0), uint8(60), true)
		}
	}
	f.Fuzz(func(t *testing.T, seed uint64, order, steps, excl, n uint8, byBreakdown bool) {
		r := rand.New(rand.NewPCG(seed, 7))
		spec := Spec{Order: []string{Ordered, Strict, Unordered}[order%3], Steps: 1 + int(steps%6), Window: 1 + r.Int64N(100),
			From: r.Int64N(50) * sec, To: (50 + r.Int64N(150)) * sec}
		if spec.Steps > 1 && spec.Order == Ordered {
			for range excl % 3 {
				from := r.IntN(spec.Steps - 1)
				spec.Exclusions = append(spec.Exclusions, Exclusion{From: from, To: from + 1 + r.IntN(spec.Steps-1-from)})
			}
		}
		bits := spec.Steps + len(spec.Exclusions)
		events := make([]Event, int(n%80))
		for i := range events {
			events[i] = Event{
				TS:        r.Int64N(250) * sec / 2, // half seconds: equal times happen
				Mask:      r.Uint64() & (1<<bits - 1) & r.Uint64(),
				UUID:      fmt.Sprintf("%08x-%03d", r.Uint32(), i),
				Breakdown: string(rune('a' + r.IntN(3))),
			}
		}
		got, err := Walk(&spec, events, byBreakdown)
		if err != nil {
			t.Fatal(err)
		}
		want := reference(&spec, events, byBreakdown)
		slices.SortFunc(got, func(a, b Attempt) int { return cmp.Compare(a.First, b.First) })
		slices.SortFunc(want, func(a, b Attempt) int { return cmp.Compare(a.First, b.First) })
		if len(got) != len(want) || len(got) > 0 && !reflect.DeepEqual(got, want) {
			t.Fatalf("spec %+v\ngot  %+v\nwant %+v", spec, got, want)
		}
	})
}
