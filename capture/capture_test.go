package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/spool"
	"github.com/sightline-analytics/sightline/store"
)

// tokens is a fixed token table; the real resolver (the metadata store's
// cache) is exercised by the app and process tests.
type tokens map[string]Project

func (t tokens) ProjectByToken(_ context.Context, tok string) (Project, error) {
	p, ok := t[tok]
	if !ok {
		return Project{}, ErrUnknownToken
	}
	return p, nil
}

const testToken = "slp_test"

type fixture struct {
	h     *Handler
	spool *spool.Spool
	now   time.Time
}

func newFixture(t testing.TB, p Project, opts Options) *fixture {
	t.Helper()
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	if opts.Now == nil {
		opts.Now = func() time.Time { return now }
	}
	if p.ID == 0 {
		p.ID = 7
	}
	return &fixture{h: New(tokens{testToken: p}, sp, opts), spool: sp, now: now}
}

// spooled reads back every event that reached the spool.
func (f *fixture) spooled(t *testing.T) []event.Event {
	t.Helper()
	r := f.spool.NewReader(store.Checkpoint{Spool: f.spool.ID()})
	var out []event.Event
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		payload, _, err := r.Next(ctx)
		cancel()
		if err != nil {
			return out
		}
		evs, err := event.DecodeBatch(payload, nil)
		if err != nil {
			t.Fatalf("spooled payload does not decode: %v", err)
		}
		out = append(out, evs...)
	}
}

func (f *fixture) do(t *testing.T, req *http.Request) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil && rec.Code != http.StatusNoContent {
		t.Fatalf("answer is not JSON (%d): %q", rec.Code, rec.Body.String())
	}
	return rec, body
}

func ev(i int, ts time.Time) map[string]any {
	return map[string]any{
		"uuid":        fmt.Sprintf("0193a1b2-c3d4-7e5f-8a6b-%012d", i),
		"event":       "$pageview",
		"distinct_id": "visitor-1",
		"session_id":  "0193a1b2-0000-7000-8000-000000000001",
		"timestamp":   ts.UnixMilli(),
		"url":         "https://shop.example/product/lamp?utm_source=newsletter",
	}
}

func body(t testing.TB, token string, events ...map[string]any) []byte {
	b, err := json.Marshal(map[string]any{"token": token, "events": events})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(b []byte, mod ...func(*http.Request)) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/capture", bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	for _, m := range mod {
		m(r)
	}
	return r
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestCaptureAcceptsAndSpools(t *testing.T) {
	f := newFixture(t, Project{}, Options{})
	ts := f.now.Add(-time.Minute)
	b := body(t, testToken, ev(1, ts), ev(2, ts))
	for _, tc := range []struct {
		name string
		req  *http.Request
	}{
		{"json", post(b)},
		{"gzip header", post(gz(b), func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") })},
		{"gzip query (beacon)", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/api/capture?compression=gzip", bytes.NewReader(gz(b)))
			r.Header.Set("Content-Type", "text/plain;charset=UTF-8")
			return r
		}()},
		{"text/plain beacon", post(b, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain;charset=UTF-8") })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, out := f.do(t, tc.req)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %v", rec.Code, out)
			}
			if out["accepted"] != 2.0 || len(out["rejected"].([]any)) != 0 {
				t.Fatalf("answer %v", out)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got == "" {
				t.Error("capture answers must carry CORS headers")
			}
		})
	}
	evs := f.spooled(t)
	if len(evs) != 8 {
		t.Fatalf("spooled %d events, want 8", len(evs))
	}
	e := evs[0]
	if e.ProjectID != 7 || e.Path != "/product/lamp" || e.Host != "shop.example" || e.UTMSource != "newsletter" {
		t.Errorf("spooled event not normalized: %+v", e)
	}
	if !e.Timestamp.Equal(ts.Truncate(time.Millisecond)) {
		t.Errorf("timestamp %v, want %v", e.Timestamp, ts)
	}
}

func TestCaptureSkewCorrection(t *testing.T) {
	f := newFixture(t, Project{}, Options{})
	// The client's clock is 1 h behind: it stamped the event 10 s before
	// sending, by its own clock.
	clientNow := f.now.Add(-time.Hour)
	b, _ := json.Marshal(map[string]any{"token": testToken, "sent_at": clientNow.Format(time.RFC3339Nano),
		"events": []map[string]any{ev(1, clientNow.Add(-10*time.Second))}})
	rec, out := f.do(t, post(b))
	if rec.Code != http.StatusOK || out["accepted"] != 1.0 {
		t.Fatalf("%d %v", rec.Code, out)
	}
	evs := f.spooled(t)
	if want := f.now.Add(-10 * time.Second); !evs[0].Timestamp.Equal(want) {
		t.Errorf("corrected timestamp %v, want %v", evs[0].Timestamp, want)
	}
}

func TestCaptureRejectsEventsOneByOne(t *testing.T) {
	f := newFixture(t, Project{}, Options{})
	ts := f.now.Add(-time.Minute)
	bad := ev(2, ts)
	delete(bad, "uuid")
	wrongType := ev(3, ts)
	wrongType["event"] = 123
	future := ev(4, f.now.Add(48*time.Hour))
	rec, out := f.do(t, post(body(t, testToken, ev(1, ts), bad, wrongType, future, ev(5, ts))))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %v", rec.Code, out)
	}
	if out["accepted"] != 2.0 {
		t.Errorf("accepted %v, want 2", out["accepted"])
	}
	rej := out["rejected"].([]any)
	var idx []int
	for _, r := range rej {
		m := r.(map[string]any)
		idx = append(idx, int(m["index"].(float64)))
		if m["error"] == "" {
			t.Errorf("rejection without a reason: %v", m)
		}
	}
	if fmt.Sprint(idx) != "[1 2 3]" {
		t.Errorf("rejected indexes %v, want [1 2 3]; %v", idx, rej)
	}
	if n := len(f.spooled(t)); n != 2 {
		t.Errorf("spooled %d, want 2", n)
	}
}

// TestCaptureBadInput sends hostile and malformed requests; each must get a
// clear 4xx, and the handler must still accept a good batch afterwards.
func TestCaptureBadInput(t *testing.T) {
	ts := time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	good := func(t *testing.T) []byte { return body(t, testToken, ev(1, ts)) }
	bomb := func() []byte {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zeros := make([]byte, 1<<20)
		for range 64 { // 64 MiB of zeros, about 64 KiB compressed
			w.Write(zeros)
		}
		w.Close()
		return buf.Bytes()
	}
	deep := func() map[string]any {
		var v any = "leaf"
		for range 50 {
			v = map[string]any{"n": v}
		}
		e := ev(1, ts)
		e["properties"] = v
		return e
	}
	many := func(t *testing.T) []byte {
		evs := make([]map[string]any, 100_000)
		for i := range evs {
			evs[i] = map[string]any{"uuid": "x", "event": "e", "distinct_id": "d", "timestamp": 1}
		}
		return body(t, testToken, evs...)
	}
	cases := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		status int
		// accepted, for 200 answers: how many events survive.
		accepted int
		msg      string
	}{
		{"malformed json", func(t *testing.T) *http.Request { return post([]byte(`{"token": "slp_test", "events": [`)) }, 400, 0, "not valid JSON"},
		{"not an object", func(t *testing.T) *http.Request { return post([]byte(`[1,2,3]`)) }, 400, 0, "object"},
		{"empty body", func(t *testing.T) *http.Request { return post(nil) }, 400, 0, "empty body"},
		{"wrong content type", func(t *testing.T) *http.Request {
			return post(good(t), func(r *http.Request) { r.Header.Set("Content-Type", "application/xml") })
		}, 415, 0, "content type"},
		{"truncated gzip", func(t *testing.T) *http.Request {
			z := gz(good(t))
			return post(z[:len(z)/2], func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") })
		}, 400, 0, "truncated"},
		{"not gzip", func(t *testing.T) *http.Request {
			return post(good(t), func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") })
		}, 400, 0, "gzip"},
		{"gzip bomb", func(t *testing.T) *http.Request {
			return post(bomb(), func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") })
		}, 413, 0, "limit"},
		{"body over 1 MiB", func(t *testing.T) *http.Request {
			return post(bytes.Repeat([]byte(" "), 2<<20))
		}, 413, 0, "limit"},
		{"10 MB string property (gzip)", func(t *testing.T) *http.Request {
			e := ev(1, ts)
			e["properties"] = map[string]any{"blob": strings.Repeat("a", 10<<20)}
			return post(gz(body(t, testToken, e)), func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") })
		}, 200, 1, ""},
		{"deeply nested properties", func(t *testing.T) *http.Request { return post(body(t, testToken, deep())) }, 400, 0, "no event in the batch was valid"},
		{"invalid utf-8", func(t *testing.T) *http.Request {
			b := []byte(`{"token":"slp_test","events":[{"uuid":"0193a1b2-c3d4-7e5f-8a6b-000000000009","event":"bad` + "\xff\xfe" + `name","distinct_id":"d` + "\xc3" + `","timestamp":` +
				fmt.Sprint(ts.UnixMilli()) + `}]}`)
			return post(b)
		}, 400, 0, "UTF-8"},
		{"huge number", func(t *testing.T) *http.Request {
			b := []byte(`{"token":"slp_test","events":[{"uuid":"0193a1b2-c3d4-7e5f-8a6b-000000000009","event":"e","distinct_id":"d","timestamp":` +
				fmt.Sprint(ts.UnixMilli()) + `,"properties":{"n":1e400}}]}`)
			return post(b)
		}, 400, 0, "no event in the batch was valid"},
		{"non-finite number", func(t *testing.T) *http.Request {
			return post([]byte(`{"token":"slp_test","events":[{"uuid":"u","event":"e","distinct_id":"d","timestamp":1,"properties":{"n":NaN}}]}`))
		}, 400, 0, "not valid JSON"},
		{"unknown token", func(t *testing.T) *http.Request { return post(body(t, "slp_nope", ev(1, ts))) }, 401, 0, "unknown token"},
		{"missing token", func(t *testing.T) *http.Request { return post(body(t, "", ev(1, ts))) }, 401, 0, "missing token"},
		{"empty batch", func(t *testing.T) *http.Request { return post(body(t, testToken)) }, 400, 0, "empty batch"},
		{"100,000 events in one batch", func(t *testing.T) *http.Request {
			return post(gz(many(t)), func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") })
		}, 413, 0, "at most"},
		{"GET", func(t *testing.T) *http.Request { return httptest.NewRequest(http.MethodGet, "/api/capture", nil) }, 405, 0, "POST"},
	}
	f := newFixture(t, Project{}, Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec, out := f.do(t, tc.req(t))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %v", rec.Code, tc.status, out)
			}
			if tc.status == 200 || out["accepted"] != nil {
				if got := int(out["accepted"].(float64)); got != tc.accepted {
					t.Errorf("accepted %d, want %d: %v", got, tc.accepted, out)
				}
			}
			if msg, _ := out["error"].(string); !strings.Contains(msg, tc.msg) {
				t.Errorf("error %q does not mention %q", msg, tc.msg)
			}
			// The server still serves.
			rec, out = f.do(t, post(good(t)))
			if rec.Code != http.StatusOK || out["accepted"] != 1.0 {
				t.Fatalf("a good batch after %q: %d %v", tc.name, rec.Code, out)
			}
		})
	}
}

func TestCaptureCORSPreflight(t *testing.T) {
	f := newFixture(t, Project{}, Options{})
	r := httptest.NewRequest(http.MethodOptions, "/api/capture", nil)
	r.Header.Set("Origin", "https://shop.example")
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		!strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "Content-Encoding") {
		t.Fatalf("preflight: %d %v", rec.Code, rec.Header())
	}
}

func TestOriginAllowed(t *testing.T) {
	for _, tc := range []struct {
		allowed []string
		origin  string
		want    bool
	}{
		{nil, "https://any.example", true},
		{[]string{"https://shop.example"}, "", true}, // server-side clients send no Origin
		{[]string{"https://shop.example"}, "https://shop.example", true},
		{[]string{"https://shop.example"}, "http://shop.example", false},
		{[]string{"https://shop.example"}, "https://shop.example.evil", false},
		{[]string{"*"}, "https://x.example", true},
		{[]string{"https://*.example.com"}, "https://a.example.com", true},
		{[]string{"https://*.example.com"}, "https://a.b.example.com", true},
		{[]string{"https://*.example.com"}, "https://example.com", false},
		{[]string{"https://*.example.com"}, "https://evilexample.com", false},
		{[]string{"https://*.example.com"}, "http://a.example.com", false},
	} {
		if got := originAllowed(tc.allowed, tc.origin); got != tc.want {
			t.Errorf("originAllowed(%v, %q) = %v, want %v", tc.allowed, tc.origin, got, tc.want)
		}
	}
}

func TestCaptureAllowedOrigins(t *testing.T) {
	f := newFixture(t, Project{AllowedOrigins: []string{"https://shop.example"}}, Options{})
	b := body(t, testToken, ev(1, f.now.Add(-time.Minute)))
	rec, _ := f.do(t, post(b, func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }))
	if rec.Code != http.StatusForbidden {
		t.Errorf("foreign origin: %d, want 403", rec.Code)
	}
	rec, _ = f.do(t, post(b, func(r *http.Request) { r.Header.Set("Origin", "https://shop.example") }))
	if rec.Code != http.StatusOK {
		t.Errorf("allowed origin: %d, want 200", rec.Code)
	}
}

func TestCaptureRateLimit(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, Project{RateLimit: 10, RateBurst: 10}, Options{Now: func() time.Time { return now }})
	evs := make([]map[string]any, 10)
	for i := range evs {
		evs[i] = ev(i, now.Add(-time.Minute))
	}
	b := body(t, testToken, evs...)
	if rec, out := f.do(t, post(b)); rec.Code != http.StatusOK {
		t.Fatalf("first batch: %d %v", rec.Code, out)
	}
	rec, out := f.do(t, post(b))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("second batch in the same instant: %d %v %v", rec.Code, out, rec.Header())
	}
	now = now.Add(time.Second)
	if rec, out := f.do(t, post(b)); rec.Code != http.StatusOK {
		t.Fatalf("after a second: %d %v", rec.Code, out)
	}
}

func TestCaptureSpoolFull(t *testing.T) {
	sp, err := spool.Open(t.TempDir(), spool.Options{MaxBytes: 4 << 10, SegmentBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	h := New(tokens{testToken: {ID: 1}}, sp, Options{})
	var last *httptest.ResponseRecorder
	for i := 0; i < 100; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, post(body(t, testToken, ev(i, time.Now().Add(-time.Minute)))))
		last = rec
		if rec.Code != http.StatusOK {
			break
		}
	}
	if last.Code != http.StatusServiceUnavailable || last.Header().Get("Retry-After") == "" {
		t.Fatalf("a full spool must answer 503 with Retry-After, got %d %v %s", last.Code, last.Header(), last.Body)
	}
}

func BenchmarkCapture(b *testing.B) {
	sp, err := spool.Open(b.TempDir(), spool.Options{MaxBytes: 64 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	h := New(tokens{testToken: {ID: 1}}, sp, Options{})
	evs := make([]map[string]any, 100)
	for i := range evs {
		evs[i] = ev(i, time.Now().Add(-time.Minute))
	}
	payload := gz(body(b, testToken, evs...))
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	// Many requests in flight, as from many browsers: they share fsyncs.
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := post(payload, func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != http.StatusOK {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
			io.Copy(io.Discard, rec.Body)
		}
	})
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}
