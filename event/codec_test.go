package event

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fullEvent sets every field of Event to a distinct non-zero value.
func fullEvent() Event {
	return Event{
		ProjectID: 1 << 40, UUID: "0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f70", Event: "$click", DistinctID: "user-42",
		SessionID: "s1", WindowID: "w1",
		Timestamp:  time.Date(2026, 3, 1, 11, 59, 58, 123456789, time.UTC),
		ReceivedAt: time.Date(2026, 3, 1, 12, 0, 0, 1, time.UTC),
		URL:        "https://shop.example.com/p?utm_source=a", Host: "shop.example.com", Path: "/p", Query: "utm_source=a",
		Title: "Ünïcödé title", Referrer: "https://www.google.com/", RefDomain: "www.google.com",
		UTMSource: "a", UTMMedium: "b", UTMCampaign: "c", UTMTerm: "d", UTMContent: "e",
		Browser: "Chrome", BrowserVersion: "131.0", OS: "macOS", OSVersion: "10.15", DeviceType: "desktop",
		IP: "203.0.113.0",
		Elements: []Element{
			{Tag: "button", ID: "buy", Classes: []string{"btn", "md:x"}, Text: "Buy", Href: "/cart",
				Attrs: map[string]string{"type": "submit", "data-x": ""}, NthChild: 2, NthOfType: -1},
			{Tag: "div"},
			{Tag: "form", Classes: []string{"f"}},
		},
		ElementsChain: "button…", Selector: "div > button",
		X: 811.5, Y: -3, OffsetX: 0.42, OffsetY: 1e-9,
		ViewportWidth: 1512, ViewportHeight: 862, DocumentWidth: 1 << 30, DocumentHeight: 4120,
		Rage: true, Dead: true, Error: true, Truncated: true,
		Properties: json.RawMessage(`{"a":[1,"two",{"three":null}]}`),
	}
}

func TestCodecRoundTrip(t *testing.T) {
	full := fullEvent()
	var click, pageview Event
	if err := Normalize(ptr(rawFromJSON(t, clickJSON)), testBatch(), &click); err != nil {
		t.Fatal(err)
	}
	if err := Normalize(ptr(rawFromJSON(t, pageviewJSON)), testBatch(), &pageview); err != nil {
		t.Fatal(err)
	}
	big := fullEvent()
	big.Properties = json.RawMessage(`{"s":"` + strings.Repeat("x", 3<<20) + `"}`) // record over 2 MiB
	cases := map[string][]Event{
		"empty":          {},
		"zero event":     {{}},
		"all fields":     {full},
		"normalized":     {click, pageview, click},
		"2 MiB record":   {full, big, full},
		"zero then full": {{}, full},
	}
	for name, evs := range cases {
		t.Run(name, func(t *testing.T) {
			b := AppendBatch([]byte("prefix"), evs)
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatal("AppendBatch overwrote dst")
			}
			got, err := DecodeBatch(b[len("prefix"):], nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(evs) {
				t.Fatalf("decoded %d events, want %d", len(got), len(evs))
			}
			for i := range evs {
				if d := diffEvents(&evs[i], &got[i]); d != "" {
					t.Errorf("event %d:\n%s", i, d)
				}
			}
			// Deterministic: the same events give the same bytes.
			if again := AppendBatch(nil, got); !bytes.Equal(again, b[len("prefix"):]) {
				t.Error("re-encoding the decoded batch gives other bytes")
			}
		})
	}
}

func TestDecodeBatchReusesDst(t *testing.T) {
	full := fullEvent()
	b1 := AppendBatch(nil, []Event{full, full})
	b2 := AppendBatch(nil, []Event{{UUID: "x"}})
	dst, err := DecodeBatch(b1, nil)
	if err != nil {
		t.Fatal(err)
	}
	first := dst[0].Elements // the caller must not keep this across calls, but the decoder must not scribble into classes
	classes := first[0].Classes
	dst, err = DecodeBatch(b2, dst)
	if err != nil {
		t.Fatal(err)
	}
	if len(dst) != 1 || dst[0].UUID != "x" || len(dst[0].Elements) != 0 || string(dst[0].Properties) != "" || dst[0].Rage {
		t.Errorf("leftovers after reuse: %+v", dst[0])
	}
	if classes[0] != "btn" {
		t.Errorf("class slices were overwritten: %q", classes)
	}
	// b may be reused by the caller: decoded strings do not point into it.
	dst, _ = DecodeBatch(b1, dst)
	for i := range b1 {
		b1[i] = 0
	}
	if dst[1].UUID != full.UUID || dst[1].Elements[0].Attrs["type"] != "submit" || string(dst[1].Properties) != string(full.Properties) {
		t.Error("decoded events share memory with the input")
	}
}

// TestDecodeBatchShared checks that the shared decoder gives the same events
// with strings that point into b, and properties that do not.
func TestDecodeBatchShared(t *testing.T) {
	full := fullEvent()
	b := AppendBatch(nil, []Event{full, {UUID: "x"}})
	want, err := DecodeBatch(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBatchShared(b, nil)
	if err != nil || len(got) != len(want) {
		t.Fatalf("%d events, %v", len(got), err)
	}
	for i := range want {
		if d := diffEvents(&want[i], &got[i]); d != "" {
			t.Fatalf("event %d:\n%s", i, d)
		}
	}
	i := bytes.Index(b, []byte(full.UUID))
	b[i] = 'X'
	if got[0].UUID[0] != 'X' || want[0].UUID[0] == 'X' {
		t.Errorf("shared uuid %q, copied %q: only the shared one should see the change", got[0].UUID, want[0].UUID)
	}
	i = bytes.Index(b, full.Properties)
	b[i+1] = '#'
	if string(got[0].Properties) != string(full.Properties) {
		t.Errorf("properties share memory with the input: %s", got[0].Properties)
	}
}

// TestDecodeOverwritesEveryField decodes into a dst whose events have every
// field set: the decoder assigns each field instead of zeroing the event
// first, and a field it forgot would leak from the previous batch.
func TestDecodeOverwritesEveryField(t *testing.T) {
	full := fullEvent()
	v := reflect.ValueOf(full)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("fullEvent leaves %s zero: set it, so that this test covers it", v.Type().Field(i).Name)
		}
	}
	sparse := Event{UUID: "x", Timestamp: full.Timestamp, ReceivedAt: full.ReceivedAt}
	b := AppendBatch(nil, []Event{sparse, full, sparse})
	want, err := DecodeBatch(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]Event, 3)
	for i := range dst {
		dst[i] = fullEvent()
	}
	got, err := DecodeBatch(b, dst[:0])
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if d := diffEvents(&want[i], &got[i]); d != "" {
			t.Errorf("event %d decoded over a full event:\n%s", i, d)
		}
	}
}

func TestDecodeBatchHostile(t *testing.T) {
	full := fullEvent()
	valid := AppendBatch(nil, []Event{full, full})
	// Every truncation of a valid batch is an error, never a panic.
	for n := 0; n < len(valid); n++ {
		if _, err := DecodeBatch(valid[:n], nil); !errors.Is(err, ErrBatch) {
			t.Fatalf("truncated to %d bytes: err = %v", n, err)
		}
	}
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cases := map[string][]byte{
		"unknown version":     {2, 0},
		"huge count":          cat([]byte{1}, uv(1<<62)),
		"count beyond input":  cat([]byte{1}, uv(1000), bytes.Repeat([]byte{0}, 100)),
		"record past the end": cat([]byte{1}, uv(1), uv(1<<40), bytes.Repeat([]byte{0}, 60)),
		"bad varint":          cat([]byte{1}, bytes.Repeat([]byte{0xff}, 11)),
		"trailing bytes":      append(AppendBatch(nil, []Event{full}), 0),
		"huge string length": cat([]byte{1}, uv(1), uv(60),
			[]byte{0, 0, 0, 0, 0, 0}, uv(1<<50), bytes.Repeat([]byte{0}, 52)),
		"huge element count": func() []byte {
			b := AppendBatch(nil, []Event{{}})
			// The element count is the last byte of the record; claim 2^40.
			rec := b[2+3 : len(b)-1]
			body := cat(rec, uv(1<<40))
			return cat([]byte{1, 1}, uv(uint64(len(body))), body)
		}(),
		// Normalize never lets a non-finite number through, so a
		// record holding one is corrupt.
		"non-finite coordinate": AppendBatch(nil, []Event{{X: math.NaN()}}),
		"infinite offset":       AppendBatch(nil, []Event{{OffsetY: math.Inf(-1)}}),
		"nanoseconds out of range": func() []byte {
			body := cat([]byte{0, 0, 0}, uv(2e9))
			body = append(body, bytes.Repeat([]byte{0}, 40)...)
			return cat([]byte{1, 1}, uv(uint64(len(body))), body)
		}(),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeBatch(b, nil)
			if !errors.Is(err, ErrBatch) {
				t.Errorf("err = %v, want ErrBatch", err)
			}
			t.Log(err)
		})
	}
}

// TestDecodeBatchForwardCompatible checks that bytes appended to a record
// body by a later version are skipped.
func TestDecodeBatchForwardCompatible(t *testing.T) {
	full := fullEvent()
	one := AppendBatch(nil, []Event{full})
	body := append(append([]byte{}, one[2+3:]...), 0xAA, 0xBB) // a future field
	b := append([]byte{1, 1}, binary.AppendUvarint(nil, uint64(len(body)))...)
	b = append(b, body...)
	got, err := DecodeBatch(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffEvents(&full, &got[0]); d != "" {
		t.Error(d)
	}
}

func TestDecodeBatchAllocs(t *testing.T) {
	evs := benchEvents(t, 100)
	b := AppendBatch(nil, evs)
	dst, err := DecodeBatch(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if dst, err = DecodeBatch(b, dst); err != nil {
			t.Fatal(err)
		}
	})
	// One copy of the input for the strings, class arenas, one map per
	// element with attributes.
	if perEvent := allocs / 100; perEvent > 3 {
		t.Errorf("DecodeBatch allocates %.1f times per event", perEvent)
	}
}
