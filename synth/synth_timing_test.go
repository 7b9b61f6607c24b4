package synth

import (
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
)

// BenchmarkGenerate measures generation alone (emit keeps nothing), in
// events per second: load tests need it far above the server's 100 k/s.
func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	events := 0
	for b.Loop() {
		st, err := Generate(Config{Seed: 1, Days: 30, Events: 200_000}, func([]event.Raw) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
		events += st.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
}

// BenchmarkGenerateAndEncode adds what a load generator does with each
// batch: encode the capture request body.
func BenchmarkGenerateAndEncode(b *testing.B) {
	b.ReportAllocs()
	events, bytes := 0, 0
	var buf []byte
	sent := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		st, err := Generate(Config{Seed: 1, Days: 30, Events: 200_000, BatchSize: 500}, func(batch []event.Raw) error {
			buf = CaptureBody(buf[:0], "phc_bench", sent, batch)
			bytes += len(buf)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		events += st.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(bytes)/float64(events), "bytes/event")
}

func BenchmarkCaptureBody(b *testing.B) {
	var batch []event.Raw
	if _, err := Generate(Config{Seed: 1, Days: 1, Events: 500, BatchSize: 500}, func(x []event.Raw) error {
		if batch == nil {
			batch = x
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var buf []byte
	sent := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		buf = CaptureBody(buf[:0], "phc_bench", sent, batch)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/event")
}
