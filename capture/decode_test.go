package capture

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/synth"
)

// synthBody is a capture body of n events as the benchmark's synthetic
// browsers send them: pageviews, clicks with element chains, coordinates.
func synthBody(t testing.TB, n int) []byte {
	t.Helper()
	var evs []event.Raw
	_, err := synth.Generate(synth.Config{Seed: 7, Days: 2, Events: n, Start: time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)}, func(b []event.Raw) error {
		evs = append(evs, b...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return synth.CaptureBody(nil, testToken, time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), evs[:min(n, len(evs))])
}

// decodeBoth decodes body with the fast path (through work.decode, as the
// handler does) and with the reference decodeRequest, and fails t when the
// outcomes differ. It reports whether the fast path took the body.
func decodeBoth(t *testing.T, body []byte) (fast bool) {
	t.Helper()
	if !utf8.Valid(body) {
		return false // the handler answers 400 before decoding
	}
	var ref Request
	refRaws, refPer, refErr := decodeRequest(body, &ref)

	wk := new(work)
	fast = wk.fast.decode(body, &wk.req)
	wk.req = Request{}
	wk.fast.release()
	raws, per, err := wk.decode(body)

	if fmt.Sprint(err) != fmt.Sprint(refErr) {
		t.Fatalf("error %v, want %v", err, refErr)
	}
	if err != nil {
		return fast
	}
	if wk.req.Token != ref.Token || string(wk.req.SentAt) != string(ref.SentAt) {
		t.Fatalf("envelope token %q sent_at %q, want %q %q", wk.req.Token, wk.req.SentAt, ref.Token, ref.SentAt)
	}
	if len(raws) != len(refRaws) {
		t.Fatalf("%d events, want %d", len(raws), len(refRaws))
	}
	for i := range raws {
		if !reflect.DeepEqual(raws[i], refRaws[i]) {
			t.Fatalf("event %d:\n%#v\nwant\n%#v", i, raws[i], refRaws[i])
		}
	}
	if fmt.Sprint(per) != fmt.Sprint(refPer) {
		t.Fatalf("per-event errors %v, want %v", per, refPer)
	}
	if fast {
		// What the fast path takes, Unmarshal takes whole.
		var req Request
		if err := jsonv2.Unmarshal(body, &req); err != nil {
			t.Fatalf("fast path took a body that Unmarshal rejects: %v", err)
		}
	}
	return fast
}

func TestFastDecoder(t *testing.T) {
	ok := `{"uuid":"0193a1b2-c3d4-7e5f-8a6b-000000000001","event":"$click","distinct_id":"d","timestamp":1763640000000`
	cases := []struct {
		name string
		body string
		fast bool // whether the fast path takes it
	}{
		{"synthetic traffic", string(synthBody(t, 300)), true},
		{"every field", `{"token":"slp_test","sent_at":"2026-11-20T12:00:00Z","events":[{"uuid":"u","event":"e","distinct_id":"d","session_id":"s","window_id":"w",
			"timestamp":"2026-11-20T11:59:00Z","url":"https://x.example/a?b=c","referrer":"r","title":"t","properties":{"a":[1,{"b":null}],"$set":{"plan":"pro"}},
			"elements":[{"tag":"button","id":"buy","classes":["a","b"],"text":"Buy","href":"/buy","attrs":{"data-x":"1","aria-label":"y"},"nth_child":2,"nth_of_type":1}],
			"selector":"button#buy","x":10.5,"y":-3,"offset_x":0.25,"offset_y":1e-400,"viewport_width":1280,"viewport_height":720,
			"document_width":-0,"document_height":9223372036854775807,"user_agent":"ua"}]}`, true},
		{"whitespace kept in raw values", "{ \"token\" : \"slp_test\" , \"events\" : [ " + ok + ", \"properties\" : { \"a\" : \"\\u00e9\" } } ] }\n", true},
		{"escapes in strings", `{"token":"slp\u005ftest","events":[` + ok + `,"title":"a\"b\\c\u00e9\ud83d\ude00\n","url":"\u0000"}]}`, true},
		{"nulls", `{"token":null,"sent_at":null,"events":[null,{"uuid":null,"timestamp":null,"properties":null,"x":null,"viewport_width":null,
			"elements":[null,{"tag":null,"classes":[null,"a"],"attrs":{"k":null}},{"classes":null,"attrs":null}]}]}`, true},
		{"empty containers", `{"token":"slp_test","events":[{"elements":[],"properties":{}},{"elements":[{"classes":[],"attrs":{}}]}]}`, true},
		{"unknown members skipped", `{"token":"slp_test","extra":{"deep":[1,2,{"x":null}]},"events":[{"uuid":"u","zzz":[true,false],"elements":[{"tag":"a","style":"x"}]}]}`, true},
		{"null events", `{"token":"slp_test","events":null}`, true},
		{"no events", `{"token":"slp_test"}`, true},

		{"escaped member name", `{"token":"slp_test","events":[{"uu\u0069d":"u"}]}`, false},
		{"wrong type", `{"token":"slp_test","events":[` + ok + `},{"uuid":1,"event":[]}]}`, false},
		{"fraction into int", `{"token":"slp_test","events":[{"viewport_width":1.0}]}`, false},
		{"exponent into int", `{"token":"slp_test","events":[{"viewport_width":1e2}]}`, false},
		{"int out of range", `{"token":"slp_test","events":[{"viewport_width":9223372036854775808}]}`, false},
		{"float out of range", `{"token":"slp_test","events":[{"x":1e400}]}`, false},
		{"string into float", `{"token":"slp_test","events":[{"x":"1"}]}`, false},
		{"object into string", `{"token":"slp_test","events":[{"event":{}}]}`, false},
		{"wrong element type", `{"token":"slp_test","events":[{"elements":["a"]}]}`, false},
		{"wrong class type", `{"token":"slp_test","events":[{"elements":[{"classes":[1]}]}]}`, false},
		{"wrong attr value", `{"token":"slp_test","events":[{"elements":[{"attrs":{"a":1}}]}]}`, false},
		{"events not an array", `{"token":"slp_test","events":{}}`, false},
		{"event not an object", `{"token":"slp_test","events":[1]}`, false},
		{"token not a string", `{"token":5,"events":[]}`, false},
		{"duplicate member", `{"token":"slp_test","events":[{"uuid":"a","uuid":"b"}]}`, false},
		{"duplicate in properties", `{"token":"slp_test","events":[{"properties":{"a":1,"a":2}}]}`, false},
		{"duplicate attr", `{"token":"slp_test","events":[{"elements":[{"attrs":{"k":"v","k":"w"}}]}]}`, false},
		{"trailing data", `{"token":"slp_test","events":[]} {}`, false},
		{"truncated", `{"token":"slp_test","events":[{"uuid":"u"`, false},
		{"not an object", `[1,2,3]`, false},
		{"empty", ``, false},
		{"bad surrogate", `{"token":"slp_test","events":[{"uuid":"\ud800"}]}`, false},
		{"non-finite", `{"token":"slp_test","events":[{"properties":{"n":NaN}}]}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if fast := decodeBoth(t, []byte(tc.body)); fast != tc.fast {
				t.Fatalf("fast path took it: %v, want %v", fast, tc.fast)
			}
		})
	}
}

// TestFastDecoderAliasesBody checks the property the handler relies on:
// decoded strings without escapes point into the body (no copies), and the
// token is a copy that outlives a reused body.
func TestFastDecoderAliasesBody(t *testing.T) {
	body := []byte(`{"token":"slp_test","events":[{"uuid":"u1","event":"e\u00e9","properties":{"a":1}}]}`)
	wk := new(work)
	raws, _, err := wk.decode(body)
	if err != nil || len(raws) != 1 {
		t.Fatalf("decode: %v %v", raws, err)
	}
	copy(body, make([]byte, len(body))) // the pooled body is reused
	if wk.req.Token != "slp_test" {
		t.Fatalf("token changed with the body: %q", wk.req.Token)
	}
	if raws[0].UUID != "\x00\x00" || string(raws[0].Properties) != "\x00\x00\x00\x00\x00\x00\x00" {
		t.Fatalf("uuid %q and properties %q do not alias the body", raws[0].UUID, raws[0].Properties)
	}
	if raws[0].Event != "eé" {
		t.Fatalf("an unescaped string must be a copy: %q", raws[0].Event)
	}
}

// FuzzFastDecoder checks that the fast path and the reflective decoder
// agree on every body: the same error, or the same events and per-event
// rejections.
func FuzzFastDecoder(f *testing.F) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	ts := now.Add(-time.Minute)
	f.Add(synthBody(f, 20))
	f.Add(body(f, testToken, ev(1, ts), ev(2, ts)))
	f.Add([]byte(`{"token":"slp_test","sent_at":"2026-11-20T12:00:00Z","events":[{"uuid":"0193a1b2-c3d4-7e5f-8a6b-000000000001","event":"$click","distinct_id":"d","timestamp":"2026-11-20T11:59:00Z","elements":[{"tag":"button","id":"buy","classes":["a","b"],"attrs":{"data-x":"1"},"nth_child":2}],"x":10.5,"y":-3,"properties":{"a":[1,{"b":null}],"$set":{"plan":"pro"}}}]}`))
	f.Add([]byte(`{"token":"slp_test","events":[{"uuid":1,"event":[],"distinct_id":{},"timestamp":true}]}`))
	f.Add([]byte(`{"token":"slp_test","events":[{"uuid":"u","event":"e","distinct_id":"d","timestamp":1,"properties":{"n":1e400}}]}`))
	f.Add([]byte(`{"token":"slp_test","events":[null,{"x":null,"viewport_width":-0,"elements":[null,{"classes":[null],"attrs":{}}]}]}`))
	f.Add([]byte(`{"token":"slp\u005ftest","events":[{"uu\u0069d":"u","title":"\ud83d\ude00"}]}`))
	f.Add([]byte(`{"token": 5}`))
	f.Add([]byte(`{"token":"slp_test","events":[]} x`))
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeBoth(t, b)
	})
}

func BenchmarkDecode(b *testing.B) {
	body := synthBody(b, 200)
	b.Run("fast", func(b *testing.B) {
		wk := new(work)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			raws, _, err := wk.decode(body)
			if err != nil || len(raws) != 200 {
				b.Fatal(err, len(raws))
			}
			clear(wk.req.Events)
			wk.req = Request{Events: wk.req.Events[:0]}
			wk.fast.release()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*200), "ns/event")
	})
	b.Run("unmarshal", func(b *testing.B) {
		var req Request
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			clear(req.Events)
			req = Request{Events: req.Events[:0]}
			raws, _, err := decodeRequest(body, &req)
			if err != nil || len(raws) != 200 {
				b.Fatal(err, len(raws))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*200), "ns/event")
	})
}

// TestFastDecoderDropsLargeArenas checks that a pooled decoder does not keep
// the arenas of a huge batch.
func TestFastDecoderDropsLargeArenas(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"token":"slp_test","events":[{"elements":[{}`)
	for range maxPooledArena {
		b.WriteString(`,{}`)
	}
	b.WriteString(`]}]}`)
	wk := new(work)
	raws, _, err := wk.decode([]byte(b.String()))
	if err != nil || len(raws) != 1 || len(raws[0].Elements) != maxPooledArena+1 {
		t.Fatalf("decode: %d events, %v", len(raws), err)
	}
	wk.fast.release()
	if cap(wk.fast.elements) != 0 {
		t.Fatalf("pooled decoder keeps %d elements", cap(wk.fast.elements))
	}

	raws, _, err = wk.decode(synthBody(t, 300))
	if err != nil || len(raws) == 0 {
		t.Fatalf("decode after release: %d events, %v", len(raws), err)
	}
	wk.fast.release()
	if cap(wk.fast.elements) == 0 {
		t.Fatal("a normal batch's arena should be kept for reuse")
	}
}
