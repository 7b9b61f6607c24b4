package event

import "testing"

func BenchmarkNormalize(b *testing.B) {
	for _, c := range []struct {
		name string
		json string
	}{
		{"click", clickJSON},
		{"pageview", pageviewJSON},
	} {
		r := rawFromJSON(b, c.json)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			batch := testBatch()
			var e Event
			for b.Loop() {
				if err := Normalize(&r, batch, &e); err != nil {
					b.Fatal(err)
				}
			}
		})
		// A new Batch per event: the user agent is parsed every time, as
		// for a request that carries a single event.
		b.Run(c.name+"-cold-batch", func(b *testing.B) {
			b.ReportAllocs()
			var e Event
			for b.Loop() {
				batch := Batch{ProjectID: 7, ReceivedAt: testNow, UserAgent: uaIPhone, IP: "203.0.113.77", AnonymizeIP: true}
				if err := Normalize(&r, &batch, &e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
