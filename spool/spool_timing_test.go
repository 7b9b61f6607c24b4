package spool

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/store"
)

// BenchmarkAppendParallel measures durable appends of 8 KiB payloads from
// many concurrent requests (goroutines = parallelism × GOMAXPROCS), as
// capture produces them. appends/fsync shows group commit at work.
func BenchmarkAppendParallel(b *testing.B) {
	for _, par := range []int{1, 8, 32, 128} {
		b.Run(fmt.Sprintf("conc=%dxGOMAXPROCS", par), func(b *testing.B) {
			s := openSpool(b, b.TempDir(), Options{MaxBytes: 1 << 40})
			p := payload(0, 0, 8<<10)
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			b.SetParallelism(par)
			start := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.Append(context.Background(), p); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			el := time.Since(start).Seconds()
			st := s.Stats()
			b.ReportMetric(float64(st.Committed)/el, "appends/s")
			b.ReportMetric(float64(st.Fsyncs)/el, "fsyncs/s")
			b.ReportMetric(float64(st.Committed)/float64(max(st.Fsyncs, 1)), "appends/fsync")
		})
	}
}

// BenchmarkReplay measures reading committed records back, which bounds how
// fast a restart replays a backlog.
func BenchmarkReplay(b *testing.B) {
	s := openSpool(b, b.TempDir(), Options{MaxBytes: 1 << 40})
	p := payload(0, 0, 8<<10)
	const records = 4096
	for range records {
		if err := s.Append(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(p)) * records)
	b.ReportAllocs()
	for b.Loop() {
		r := s.NewReader(store.Checkpoint{})
		n := 0
		for {
			_, _, err := r.poll()
			if errors.Is(err, errNoData) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		r.Close()
		if n != records {
			b.Fatalf("read %d records", n)
		}
	}
}
