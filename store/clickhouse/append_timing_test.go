package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/store/storetest"
)

// BenchmarkAppend measures Append of 50,000-event batches of realistic
// traffic (a spool writer's batch), deduplication lookup included, on one
// server and through the Distributed tables of the 2-shard cluster.
func BenchmarkAppend(b *testing.B) {
	for _, k := range storeKinds {
		b.Run(k.name, func(b *testing.B) {
			s := openKind(b, k)
			const batchSize = 50_000
			batch := storetest.NewTraffic(11, 12).Batch(1, batchSize, t0)
			ctx := context.Background()
			b.ReportAllocs()
			var n int
			for b.Loop() {
				b.StopTimer()
				for i := range batch {
					batch[i].Timestamp = t0.Add(time.Duration(n*batchSize+i) * time.Millisecond)
					batch[i].ReceivedAt = batch[i].Timestamp.Add(150 * time.Millisecond)
					batch[i].UUID = storetest.UUIDAt(batch[i].Timestamp, uint64(n*batchSize+i))
				}
				n++
				b.StartTimer()
				if err := s.Append(ctx, batch, store.Checkpoint{Spool: "bench", Segment: uint64(n), Offset: 1}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*batchSize)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
