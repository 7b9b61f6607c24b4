package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestDecodeChunkSummary(t *testing.T) {
	data, err := os.ReadFile("testdata/chunk.json")
	if err != nil {
		t.Fatal(err)
	}
	var emitted []json.RawMessage
	c, err := DecodeChunk(bytes.NewReader(data), func(raw json.RawMessage) error {
		emitted = append(emitted, append(json.RawMessage(nil), raw...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Hand-computed from testdata/chunk.json: clicks are MouseInteraction
	// type 2 (two of them), input events are keypresses, active time is
	// the sum of input gaps up to 5 s (500+50+10+440+100, the 17.9 s gap
	// skipped, +1000).
	want := Summary{
		Start:      time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		End:        time.Date(2026, 1, 1, 0, 0, 21, 0, time.UTC),
		URL:        "http://shop.test/cart?x=1",
		ActiveMs:   2100,
		Clicks:     2,
		Keypresses: 2,
		Errors:     1,
		Events:     11,
	}
	got := c.Summary
	got.lastActive = 0
	if got != want {
		t.Errorf("summary\n got %+v\nwant %+v", got, want)
	}
	if len(emitted) != 11 {
		t.Errorf("emitted %d events, want 11", len(emitted))
	}
	if !strings.HasPrefix(string(emitted[0]), `{"type":4`) {
		t.Errorf("first event %s", emitted[0])
	}
}

func TestDecodeChunk(t *testing.T) {
	ev := `{"type":3,"data":{"source":2,"type":2},"timestamp":1767225600000}`
	seq := int64(7)
	tests := []struct {
		name    string
		in      string
		want    *Chunk // nil: must fail
		wantErr string
	}{
		{name: "array", in: "[" + ev + "]", want: &Chunk{}},
		{name: "whitespace", in: " \n[ " + ev + " ]\n ", want: &Chunk{}},
		{
			name: "envelope",
			in:   `{"token":"t","session_id":"s","window_id":"w","seq":7,"distinct_id":"d","extra":{"a":[1]},"events":[` + ev + `]}`,
			want: &Chunk{Token: "t", SessionID: "s", WindowID: "w", DistinctID: "d", Seq: &seq},
		},
		{name: "empty array", in: "[]", wantErr: "no events"},
		{name: "envelope without events", in: `{"token":"t"}`, wantErr: "no events"},
		{name: "events twice", in: `{"events":[` + ev + `],"events":[` + ev + `]}`, wantErr: "twice"},
		{name: "events not array", in: `{"events":{}}`, wantErr: "not an array"},
		{name: "seq not integer", in: `{"seq":1.5,"events":[` + ev + `]}`, wantErr: "not an integer"},
		{name: "string", in: `"x"`, wantErr: "want an array"},
		{name: "empty", in: ``, wantErr: "EOF"},
		{name: "truncated", in: `[` + ev, wantErr: "malformed"},
		{name: "trailing data", in: `[` + ev + `] [1]`, wantErr: "data after"},
		{name: "trailing garbage", in: `[` + ev + `] x`, wantErr: "malformed"},
		{name: "not an object", in: `[1]`, wantErr: "not an object"},
		{name: "no type", in: `[{"timestamp":1767225600000}]`, wantErr: "type"},
		{name: "type out of range", in: `[{"type":99,"timestamp":1767225600000}]`, wantErr: "type"},
		{name: "no timestamp", in: `[{"type":3}]`, wantErr: "timestamp"},
		{name: "timestamp in seconds", in: `[{"type":3,"timestamp":1767225600}]`, wantErr: "timestamp"},
		{name: "timestamp string", in: `[{"type":3,"timestamp":"now"}]`, wantErr: "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeChunk(strings.NewReader(tc.in), nil)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("decoded %+v, want error", c)
				}
				if !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %v, want malformed with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Token != tc.want.Token || c.SessionID != tc.want.SessionID || c.WindowID != tc.want.WindowID ||
				c.DistinctID != tc.want.DistinctID || (c.Seq == nil) != (tc.want.Seq == nil) ||
				(c.Seq != nil && *c.Seq != *tc.want.Seq) {
				t.Errorf("got %+v, want %+v", c, tc.want)
			}
			if c.Summary.Events != 1 || c.Summary.Clicks != 1 {
				t.Errorf("summary %+v", c.Summary)
			}
		})
	}
}

func TestSummaryMerge(t *testing.T) {
	var a Summary
	a.merge(Summary{Start: time.UnixMilli(2000), End: time.UnixMilli(3000), URL: "b", Clicks: 1, Events: 2})
	a.merge(Summary{Start: time.UnixMilli(1000), End: time.UnixMilli(1500), URL: "a", Clicks: 2, Errors: 1, Events: 1})
	a.merge(Summary{})
	want := Summary{Start: time.UnixMilli(1000), End: time.UnixMilli(3000), URL: "b", Clicks: 3, Errors: 1, Events: 3}
	if a != want {
		t.Errorf("merge = %+v, want %+v", a, want)
	}
}

// FuzzDecodeChunk: the decoder never panics, and whatever it accepts it can
// accept again from the events it emitted, with the same summary (what
// the capture endpoint relies on when it re-encodes a chunk).
func FuzzDecodeChunk(f *testing.F) {
	seed, err := os.ReadFile("testdata/chunk.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"session_id":"s","seq":1,"events":[{"type":4,"data":{"href":"x"},"timestamp":1767225600000}]}`))
	f.Add([]byte(`[{"type":3,"data":{"source":5},"timestamp":1767225600000.5}]`))
	f.Add([]byte(`[{"type":6,"data":{"plugin":"rrweb/console@1","payload":{"level":"error"}},"timestamp":1767225600000}]`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		out.WriteByte('[')
		n := 0
		c, err := DecodeChunk(bytes.NewReader(data), func(raw json.RawMessage) error {
			if n > 0 {
				out.WriteByte(',')
			}
			n++
			out.Write(raw)
			return nil
		})
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
			return
		}
		out.WriteByte(']')
		if c.Summary.Events == 0 || int64(n) != c.Summary.Events {
			t.Fatalf("accepted with %d events, emitted %d", c.Summary.Events, n)
		}
		c2, err := DecodeChunk(&out, nil)
		if err != nil {
			t.Fatalf("re-decoding the emitted events: %v", err)
		}
		if c2.Summary != c.Summary {
			t.Fatalf("summary changed on re-decode: %+v vs %+v", c2.Summary, c.Summary)
		}
	})
}
