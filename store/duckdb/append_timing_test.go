package duckdb

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/store/storetest"
)

// BenchmarkAppend appends batches of 10,000 realistic events into a growing
// table, the way the spool writer does. The events are live traffic of a
// busy site, 1,000 events per second of event time, so each batch's
// duplicate search scans about two minutes of stored events. The test's own
// UUID generation is not timed.
//
// disk-131072 shows the spool writer's best case when it has a backlog: a
// batch of at least one row group is written to the file compressed at
// insert time, so it skips the WAL copy and the later checkpoint rewrite.
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct {
		name      string
		disk      bool
		batchSize int
	}{
		{"memory", false, 10_000},
		{"disk", true, 10_000},
		{"disk-131072", true, 131_072},
	} {
		batchSize := c.batchSize
		b.Run(c.name, func(b *testing.B) {
			path := ""
			if c.disk {
				path = filepath.Join(b.TempDir(), "events.duckdb")
			}
			s, err := Open(path, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			batch := storetest.NewTraffic(11, 12).Batch(1, batchSize, t0)
			ctx := context.Background()
			b.ReportAllocs()
			var n int
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				for i := range batch {
					batch[i].Timestamp = t0.Add(time.Duration(n*batchSize+i) * time.Millisecond)
					batch[i].ReceivedAt = batch[i].Timestamp.Add(150 * time.Millisecond)
					batch[i].UUID = storetest.UUIDAt(batch[i].Timestamp, uint64(n*batchSize+i))
				}
				n++
				b.StartTimer()
				c0 := cpuTime()
				if err := s.Append(ctx, batch, store.Checkpoint{Spool: "bench", Segment: uint64(n), Offset: 1}); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - c0
			}
			b.ReportMetric(float64(n*batchSize)/b.Elapsed().Seconds(), "events/s")
			// CPU time of all threads (Go's and DuckDB's) per event: unlike
			// the wall-clock rate, it holds on a machine shared with other work.
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(n*batchSize), "cpu-ns/event")
			if got := count(b, s, 1); got != int64(n*batchSize) {
				b.Fatalf("stored %d events, want %d", got, n*batchSize)
			}
		})
	}
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
