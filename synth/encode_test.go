package synth

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
)

func TestAppendEventMatchesEncodingJSON(t *testing.T) {
	r := generate(t, Config{Seed: 11, Days: 3, Events: 20_000})
	var buf []byte
	for i := range r.events {
		want, err := json.Marshal(&r.events[i])
		if err != nil {
			t.Fatal(err)
		}
		buf = AppendEvent(buf[:0], &r.events[i])
		if !bytes.Equal(buf, want) {
			t.Fatalf("event %d:\n got %s\nwant %s", i, buf, want)
		}
	}
}

func TestAppendEventEdgeCases(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		name string
		raw  event.Raw
	}{
		{"empty", event.Raw{}},
		{"escapes", event.Raw{UUID: "u", Event: "a\"b\\c\n\t\r\b\f\x01<>&\u2028\u2029", DistinctID: "\xff\xfeinvalid", Title: "Ünïcode ✓ 😀"}},
		{"floats", event.Raw{X: f(0), Y: f(-3.5), OffsetX: f(1e-7), OffsetY: f(1e21)}},
		{"more floats", event.Raw{X: f(123456789.125), Y: f(0.000001), OffsetX: f(-2e-9), OffsetY: f(0.1)}},
		{"elements", event.Raw{Elements: []event.Element{
			{Tag: "a", Attrs: map[string]string{"z": "1", "a": "2", "data-x": "<3>", "m": "", "b": "x", "c": "y", "d": "z", "e": "w", "f": "v", "g": "u"}},
			{Tag: "div", Classes: []string{"x", "y"}, NthChild: 3, NthOfType: 1, Text: "t", Href: "/h?a=1&b=2"},
		}}},
		{"raw fields", event.Raw{Timestamp: json.RawMessage(`"2026-01-01T00:00:00Z"`), Properties: json.RawMessage(`{"a":[1,2,{"b":null}]}`),
			ViewportWidth: 1, ViewportHeight: -1, DocumentWidth: 3, DocumentHeight: 4, UserAgent: "ua", Selector: "s", URL: "u", Referrer: "r",
			SessionID: "s", WindowID: "w"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(&tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := AppendEvent(nil, &tc.raw); !bytes.Equal(got, want) {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\"back\\slash", "<script>&", "\u2028\u2029", "\xff", "\x00\x1f\x7f", "héllo wörld", "😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func FuzzAppendFloat(f *testing.F) {
	for _, v := range []float64{0, 1, -1, 0.5, 1e-6, 9.99e-7, 1e20, 1e21, 123.456, -0.0001} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		want, err := json.Marshal(v)
		if err != nil {
			t.Skip("not representable in JSON")
		}
		if got := appendFloat(nil, v); !bytes.Equal(got, want) {
			t.Errorf("appendFloat(%v) = %s, want %s", v, got, want)
		}
	})
}

func TestCaptureBody(t *testing.T) {
	r := generate(t, Config{Seed: 12, Days: 1, Events: 1_000})
	sent := time.Date(2026, 2, 3, 4, 5, 6, 789_000_000, time.FixedZone("CET", 3600))
	body := CaptureBody([]byte("prefix"), "phc_<tok>", sent, r.events)
	body, ok := bytes.CutPrefix(body, []byte("prefix"))
	if !ok {
		t.Fatal("dst prefix lost")
	}
	var got struct {
		Token  string      `json:"token"`
		SentAt string      `json:"sent_at"`
		Events []event.Raw `json:"events"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decode: %v\n%.300s", err, body)
	}
	if got.Token != "phc_<tok>" || got.SentAt != "2026-02-03T03:05:06.789Z" {
		t.Errorf("token %q, sent_at %q", got.Token, got.SentAt)
	}
	if len(got.Events) != len(r.events) {
		t.Fatalf("%d events decoded, %d sent", len(got.Events), len(r.events))
	}
	for i := range got.Events {
		a, _ := json.Marshal(&got.Events[i])
		b, _ := json.Marshal(&r.events[i])
		if !bytes.Equal(a, b) {
			t.Fatalf("event %d changed in transit:\n%s\n%s", i, a, b)
		}
	}
	if empty := CaptureBody(nil, "t", sent, nil); !strings.HasSuffix(string(empty), `"events":[]}`) {
		t.Errorf("empty batch: %s", empty)
	}
}
