package event

import (
	"encoding/json"
	"testing"
)

// benchEvents returns n normalized events: half $click with a 5-element
// chain, half $pageview.
func benchEvents(tb testing.TB, n int) []Event {
	tb.Helper()
	click, pageview := rawFromJSON(tb, clickJSON), rawFromJSON(tb, pageviewJSON)
	evs := make([]Event, n)
	for i := range evs {
		r := &click
		if i%2 == 1 {
			r = &pageview
		}
		if err := Normalize(r, testBatch(), &evs[i]); err != nil {
			tb.Fatal(err)
		}
	}
	return evs
}

func BenchmarkCodec(b *testing.B) {
	evs := benchEvents(b, 100)
	enc := AppendBatch(nil, evs)
	js, err := json.Marshal(evs)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("100 events: %d bytes binary, %d bytes JSON", len(enc), len(js))

	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		buf := make([]byte, 0, len(enc))
		for b.Loop() {
			buf = AppendBatch(buf[:0], evs)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(enc)))
		var dst []Event
		for b.Loop() {
			if dst, err = DecodeBatch(enc, dst); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json-encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(js)))
		for b.Loop() {
			if _, err := json.Marshal(evs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json-decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(js)))
		for b.Loop() {
			var dst []Event
			if err := json.Unmarshal(js, &dst); err != nil {
				b.Fatal(err)
			}
		}
	})
}
