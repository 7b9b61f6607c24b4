package spool

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store"
)

// TestWriterWithEventCodec runs the pairing the server uses: capture encodes
// with event.AppendBatch into one reused buffer, the writer decodes with
// event.DecodeBatch (which fills dst[:0] and reuses buffers). Every event
// must reach the sink intact, however the batches are cut.
func TestWriterWithEventCodec(t *testing.T) {
	sp := openSpool(t, t.TempDir(), Options{SegmentBytes: 64 << 10})
	sink := newMemSink()
	ts := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	want := map[string]event.Event{}
	var buf []byte
	for i := range 60 {
		evs := make([]event.Event, 1+i%9)
		for k := range evs {
			uuid := fmt.Sprintf("0190%04d-%02d", i, k)
			evs[k] = event.Event{
				ProjectID: 7, UUID: uuid, Event: "$autocapture", DistinctID: fmt.Sprintf("user-%d", i%5),
				Timestamp: ts.Add(time.Duration(i) * time.Second), ReceivedAt: ts,
				URL: "https://shop.example/p/" + uuid, Path: "/p/" + uuid,
				Elements:   []event.Element{{Tag: "button", Classes: []string{"buy", uuid}, Text: "Buy " + uuid}},
				Properties: json.RawMessage(`{"id":"` + uuid + `"}`),
			}
			want[uuid] = evs[k]
		}
		buf = event.AppendBatch(buf[:0], evs)
		appendAll(t, sp, buf)
	}
	w := NewWriter(sp, sink, event.DecodeBatch, WriterOptions{MaxEvents: 37, Logger: quietLogger()})
	runWriter(t, w, context.Background())
	flush(t, w)

	stored, passed, cps, _ := sink.snapshot()
	if stored != len(want) || len(passed) != len(want) {
		t.Fatalf("stored %d events, want %d", stored, len(want))
	}
	checkIncreasing(t, cps)
	sink.checkStored(t)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for uuid, e := range sink.stored {
		w := want[uuid]
		if e.URL != w.URL || e.Path != w.Path || !e.Timestamp.Equal(w.Timestamp) || e.DistinctID != w.DistinctID ||
			len(e.Elements) != 1 || e.Elements[0].Text != w.Elements[0].Text || !slices.Equal(e.Elements[0].Classes, w.Elements[0].Classes) {
			t.Fatalf("event %s arrived as %+v", uuid, e)
		}
	}
}

// discardSink counts events; its checkpoint is always the start, so every
// run replays the whole spool.
type discardSink struct{ events int }

func (d *discardSink) Append(_ context.Context, evs []event.Event, _ store.Checkpoint) error {
	d.events += len(evs)
	return nil
}

func (d *discardSink) Checkpoint(_ context.Context, spool string) (store.Checkpoint, error) {
	return store.Checkpoint{Spool: spool}, nil
}

// BenchmarkWriterReplay measures the writer's side of the capture path:
// reading spooled batches (100 events each, encoded by the event codec),
// decoding them and handing them to a sink that only counts.
func BenchmarkWriterReplay(b *testing.B) {
	sp := openSpool(b, b.TempDir(), Options{MaxBytes: 1 << 40})
	ts := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	const payloads, perPayload = 2000, 100
	var buf []byte
	var bytes int64
	for i := range payloads {
		evs := make([]event.Event, perPayload)
		for k := range evs {
			uuid := fmt.Sprintf("0190a1b2-%04d-7000-8000-%012d", i, k)
			evs[k] = event.Event{
				ProjectID: 1, UUID: uuid, Event: "$pageview", DistinctID: "anon-" + uuid[:13], SessionID: "s" + uuid[:8],
				Timestamp: ts, ReceivedAt: ts, URL: "https://shop.example/products/42?utm_source=news",
				Host: "shop.example", Path: "/products/42", UTMSource: "news", Browser: "Chrome", BrowserVersion: "131",
				OS: "Windows", DeviceType: "desktop", Properties: json.RawMessage(`{"plan":"pro","price":42.5}`),
			}
		}
		buf = event.AppendBatch(buf[:0], evs)
		bytes += int64(len(buf))
		if err := sp.Append(context.Background(), buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(bytes)
	b.ReportAllocs()
	for b.Loop() {
		sink := &discardSink{}
		w := NewWriter(sp, sink, event.DecodeBatch, WriterOptions{Logger: quietLogger()})
		done := make(chan error, 1)
		go func() { done <- w.Run(context.Background()) }()
		if err := w.Drain(context.Background()); err != nil {
			b.Fatal(err)
		}
		<-done
		if sink.events != payloads*perPayload {
			b.Fatalf("sink got %d events", sink.events)
		}
	}
	b.ReportMetric(float64(payloads*perPayload)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(bytes)/payloads/perPayload, "B/event")
}
