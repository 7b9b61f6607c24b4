package funnelwalk

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkWalk walks entities of 25 events each (the bench-query data
// set's average for a 5-step funnel), given in a shuffled order.
func BenchmarkWalk(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const entities, per = 1000, 25
	spec := &Spec{Steps: 5, Window: 86400, From: 0, To: 30 * 86400e6}
	var all [][]Event
	for range entities {
		evs := make([]Event, per)
		for i := range evs {
			m := uint64(1)
			if r.IntN(3) == 0 {
				m |= 2
			}
			if r.IntN(8) == 0 {
				m = 1 << (2 + r.IntN(3))
			}
			evs[i] = Event{TS: r.Int64N(30 * 86400e6), Mask: m}
		}
		all = append(all, evs)
	}
	b.ReportAllocs()
	var w Walker
	for b.Loop() {
		for _, evs := range all {
			if _, err := w.Walk(spec, evs, false); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*entities*per), "ns/event")
}
