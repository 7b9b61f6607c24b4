package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalize feeds raw events (JSON, as capture decodes them) to
// Normalize and checks the invariants of every accepted event.
func FuzzNormalize(f *testing.F) {
	for _, s := range corpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Raw
		if json.Unmarshal(data, &r) != nil {
			return
		}
		var e Event
		err := Normalize(&r, testBatch(), &e)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error is %T, not *Error", err)
			}
			return
		}
		checkEvent(t, &e)

		// The same dst again gives the same event.
		again := e
		again.Properties = append([]byte(nil), e.Properties...)
		if err := Normalize(&r, testBatch(), &e); err != nil {
			t.Fatalf("second Normalize: %v", err)
		}
		if d := diffEvents(&again, &e); d != "" {
			t.Fatalf("Normalize is not deterministic:\n%s", d)
		}

		// The spool codec carries it unchanged.
		dec, err := DecodeBatch(AppendBatch(nil, []Event{e}), nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := diffEvents(&e, &dec[0]); d != "" {
			t.Fatalf("codec round trip:\n%s", d)
		}
	})
}

func checkEvent(t *testing.T, e *Event) {
	t.Helper()
	if len(e.UUID) != 36 || strings.ToLower(e.UUID) != e.UUID {
		t.Fatalf("uuid %q not canonical", e.UUID)
	}
	if !json.Valid(e.Properties) || e.Properties[0] != '{' {
		t.Fatalf("properties not a JSON object: %.200s", e.Properties)
	}
	var v any
	if err := json.Unmarshal(e.Properties, &v); err != nil {
		t.Fatalf("properties do not decode: %v", err)
	}
	if d := depth(v); d > MaxDepth {
		t.Fatalf("properties %d levels deep", d)
	}
	if !utf8.Valid(e.Properties) {
		t.Fatal("properties not valid UTF-8")
	}
	for _, s := range codecStrings(e) {
		if !utf8.ValidString(*s) {
			t.Fatalf("invalid UTF-8 in %q", *s)
		}
		if len(*s) > MaxStringBytes {
			t.Fatalf("string of %d bytes", len(*s))
		}
	}
	if len(e.Elements) > MaxElements {
		t.Fatalf("%d elements", len(e.Elements))
	}
	for _, el := range e.Elements {
		if utf8.RuneCountInString(el.Text) > MaxTextLen {
			t.Fatalf("element text of %d characters", utf8.RuneCountInString(el.Text))
		}
	}
	back, err := ParseChain(e.ElementsChain)
	if err != nil {
		t.Fatalf("ParseChain(%q): %v", e.ElementsChain, err)
	}
	if got := ChainString(back); got != e.ElementsChain {
		t.Fatalf("chain does not round-trip:\n%s\n%s", e.ElementsChain, got)
	}
	if e.RefDomain == "" {
		t.Fatal("empty referring domain")
	}
}

func depth(v any) int {
	switch v := v.(type) {
	case map[string]any:
		d := 0
		for _, x := range v {
			d = max(d, depth(x))
		}
		return d + 1
	case []any:
		d := 0
		for _, x := range v {
			d = max(d, depth(x))
		}
		return d + 1
	}
	return 0
}

// FuzzDecodeBatch feeds arbitrary bytes to DecodeBatch: it must not panic,
// and what it accepts must re-encode to bytes that decode to the same
// events.
func FuzzDecodeBatch(f *testing.F) {
	var evs []Event
	for _, s := range corpus {
		var r Raw
		if json.Unmarshal([]byte(s), &r) != nil {
			continue
		}
		var e Event
		if Normalize(&r, testBatch(), &e) == nil {
			evs = append(evs, e)
		}
	}
	full := fullEvent()
	f.Add(AppendBatch(nil, evs))
	f.Add(AppendBatch(nil, []Event{full}))
	f.Add(AppendBatch(nil, []Event{{}}))
	f.Add(AppendBatch(nil, nil))
	f.Add([]byte{1, 1, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeBatch(b, nil)
		shared, sharedErr := DecodeBatchShared(b, nil)
		if fmt.Sprint(err) != fmt.Sprint(sharedErr) || len(got) != len(shared) {
			t.Fatalf("DecodeBatchShared: %d events, %v; DecodeBatch: %d, %v", len(shared), sharedErr, len(got), err)
		}
		for i := range got {
			if d := diffEvents(&got[i], &shared[i]); d != "" {
				t.Fatalf("DecodeBatchShared, event %d:\n%s", i, d)
			}
		}
		if err != nil {
			return
		}
		enc := AppendBatch(nil, got)
		again, err := DecodeBatch(enc, nil)
		if err != nil {
			t.Fatalf("re-encoded batch does not decode: %v", err)
		}
		if len(again) != len(got) {
			t.Fatalf("%d events, then %d", len(got), len(again))
		}
		for i := range got {
			if d := diffEvents(&got[i], &again[i]); d != "" {
				t.Fatalf("event %d:\n%s", i, d)
			}
		}
		if !bytes.Equal(AppendBatch(nil, again), enc) {
			t.Fatal("encoding is not canonical")
		}
	})
}

// FuzzParseChain checks that ParseChain never panics and that what it
// accepts is written back in the canonical form, which parses the same.
func FuzzParseChain(f *testing.F) {
	f.Add("")
	f.Add(`button.btn.md%3Aflex:attr__type="submit"attr_id="buy"href="/cart"nth-child="2"nth-of-type="1"text="Buy now";div.card`)
	f.Add(`a:text="%22"`)
	f.Fuzz(func(t *testing.T, s string) {
		els, err := ParseChain(s)
		if err != nil {
			return
		}
		canon := ChainString(els)
		back, err := ParseChain(canon)
		if err != nil {
			t.Fatalf("canonical chain %q does not parse: %v", canon, err)
		}
		if got := ChainString(back); got != canon {
			t.Fatalf("not stable: %q then %q", canon, got)
		}
	})
}

// FuzzScrub checks that Scrub is idempotent: what it returns holds nothing
// it would mask.
func FuzzScrub(f *testing.F) {
	for _, s := range []string{"jane@example.com", "4111 1111 1111 1111", "123-45-6789", "a716-446655440000", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := Scrub(s)
		if twice := Scrub(once); twice != once {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, once, twice)
		}
		if once == s && s != "" {
			var buf []byte
			if _, changed := scrubAppend(buf, s, scrubAll); changed {
				t.Fatal("Scrub returned s although scrubAppend changed it")
			}
		}
	})
}

// FuzzProperties checks the properties sanitizer against encoding/json:
// invalid JSON is rejected, a valid object is rejected only for a limit,
// and sanitizing is idempotent.
func FuzzProperties(f *testing.F) {
	for _, s := range corpus {
		var r Raw
		if json.Unmarshal([]byte(s), &r) == nil && len(r.Properties) > 0 {
			f.Add([]byte(r.Properties))
		}
	}
	f.Add([]byte(`{"a":"\ud800\udc00\u0000","password":{"x":[1,2]},"b":-0.5e-3}`))
	f.Add([]byte("{\"k\xff\":\"v\xfe\"}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var p propScanner
		out, err := p.appendProps(nil, in)
		if len(bytes.TrimSpace(in)) == 0 {
			return // absent properties are "{}"
		}
		if !json.Valid(in) && utf8.Valid(in) {
			if err == nil {
				t.Fatalf("invalid JSON accepted: %q -> %q", in, out)
			}
			return
		}
		if err != nil {
			code := err.(*Error).Code
			switch code {
			case ReasonPropsNotObject, ReasonPropsTooDeep, ReasonPropKeyTooLong, ReasonNumberOutOfRange:
			case ReasonPropsInvalid:
				if utf8.Valid(in) {
					t.Fatalf("valid JSON %q rejected as invalid", in)
				}
			default:
				t.Fatalf("unexpected code %q", code)
			}
			return
		}
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("output not valid JSON: %q -> %q", in, out)
		}
		var q propScanner
		again, err := q.appendProps(nil, out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", in, out, again, err)
		}
	})
}

// FuzzNormalizeUUID checks the canonical fast path against the full decoder.
func FuzzNormalizeUUID(f *testing.F) {
	for _, s := range []string{
		"0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f70", "0195510A-3C4E-7B7E-8F1A-2B3C4D5E6F70",
		"00000000-0000-0000-0000-000000000000", "0195510a3-c4e-7b7e-8f1a-2b3c4d5e6f70",
		"0195510a-3c4e-7b7e-8f1a-2b3c4d5e6g70", "{0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f70}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotErr := normalizeUUID(s)
		want, wantErr := decodeUUID(s)
		if s == "" {
			return // normalizeUUID reports missing; decodeUUID only invalid
		}
		if got != want || gotErr != wantErr {
			t.Fatalf("normalizeUUID(%q) = %q, %v; decodeUUID: %q, %v", s, got, gotErr, want, wantErr)
		}
	})
}
