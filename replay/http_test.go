package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sightline-analytics/sightline/store"
)

// memIndex is a ReplayIndex with the merge rules of store.ReplayIndex. The
// real one lives in store/duckdb, which only that package may link.
type memIndex struct {
	mu    sync.Mutex
	rows  map[string]store.ReplaySummary
	calls int
	fail  error
}

func (m *memIndex) AddReplayChunk(_ context.Context, c store.ReplaySummary) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.fail != nil {
		return m.fail
	}
	if m.rows == nil {
		m.rows = map[string]store.ReplaySummary{}
	}
	k := fmt.Sprint(c.ProjectID, c.SessionID, c.WindowID)
	r, ok := m.rows[k]
	if !ok {
		m.rows[k] = c
		return nil
	}
	if c.Start.Before(r.Start) {
		r.Start = c.Start
	}
	if c.End.After(r.End) {
		r.End = c.End
	}
	if r.URL == "" {
		r.URL = c.URL
	}
	if r.DistinctID == "" {
		r.DistinctID = c.DistinctID
	}
	r.ActiveMs += c.ActiveMs
	r.Clicks += c.Clicks
	r.Keypresses += c.Keypresses
	r.Errors += c.Errors
	r.Bytes += c.Bytes
	r.Chunks += c.Chunks
	m.rows[k] = r
	return nil
}

func (m *memIndex) Replays(_ context.Context, pid int64, sid string) ([]store.ReplaySummary, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.ReplaySummary
	for _, r := range m.rows {
		if r.ProjectID == pid && r.SessionID == sid {
			out = append(out, r)
		}
	}
	return out, nil
}

type fixture struct {
	dir   string // parent of the data dir: nothing may appear here
	blobs *FileStore
	index *memIndex
	svc   *Service
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir := t.TempDir()
	blobs, err := NewFileStore(filepath.Join(dir, "data", "replay"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{dir: dir, blobs: blobs, index: &memIndex{}}
	f.svc, err = New(Config{
		Blobs: blobs,
		Index: f.index,
		ProjectByToken: func(_ context.Context, token string) (Project, bool, error) {
			switch token {
			case "tok1":
				return Project{ID: 1, ReplayEnabled: true}, true, nil
			case "tok2":
				return Project{ID: 2, ReplayEnabled: true}, true, nil
			case "norec":
				return Project{ID: 3}, true, nil
			case "broken":
				return Project{}, false, errors.New("meta store down")
			}
			return Project{}, false, nil
		},
		MaxCompressed:   64 << 10,
		MaxDecompressed: 1 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// events builds a chunk of n click events starting at ms.
func events(ms int64, n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":3,"data":{"source":2,"type":2,"id":%d},"timestamp":%d}`, i, ms+int64(i)*100)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

func bomb(t testing.TB, size int) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write([]byte("[" + strings.Repeat(" ", size)))
	zw.Close()
	return buf.Bytes()
}

// corrupt breaks a gzip stream's CRC, which only the end of the stream
// reveals.
func corrupt(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-8] ^= 0xff
	return b
}

func post(h http.Handler, query string, body []byte, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/api/replay?"+query, bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestCaptureHandler(t *testing.T) {
	chunk := events(1767225600000, 3)
	q := "token=tok1&session_id=s1&window_id=w1&seq=0&compression=gzip"
	envelope := []byte(`{"token":"tok1","session_id":"s1","window_id":"w2","seq":5,"events":` + string(chunk) + `}`)
	truncated := gz(t, chunk)
	truncated = truncated[:len(truncated)-10]
	tests := []struct {
		name       string
		query      string
		body       []byte
		header     map[string]string
		wantStatus int
		wantBody   string
	}{
		{"stored", q, gz(t, chunk), nil, 200, `{"created":true}`},
		{"same seq again", q, gz(t, chunk), nil, 200, `{"created":false}`},
		{"next seq", strings.Replace(q, "seq=0", "seq=1", 1), gz(t, events(1767225601000, 2)), nil, 200, `{"created":true}`},
		{"uncompressed", "token=tok1&session_id=s1&window_id=w1&seq=2", events(1767225602000, 1), nil, 200, `{"created":true}`},
		{"content-encoding header", "token=tok1&session_id=s1&window_id=w1&seq=3", gz(t, events(1767225603000, 1)), map[string]string{"Content-Encoding": "gzip"}, 200, `{"created":true}`},
		{"gzip without a flag (magic bytes)", "token=tok1&session_id=s1&window_id=w1&seq=4", gz(t, events(1767225604000, 1)), nil, 200, `{"created":true}`},
		{"envelope", "compression=gzip", gz(t, envelope), nil, 200, `{"created":true}`},
		{"envelope uncompressed, query wins", "token=tok1&seq=6", envelope, nil, 200, `{"created":true}`},
		{"missing token", "session_id=s1&window_id=w1&seq=9", chunk, nil, 401, "missing token"},
		{"unknown token", "token=nope&session_id=s1&window_id=w1&seq=9", chunk, nil, 401, "unknown token"},
		{"unknown token in envelope", "", []byte(`{"token":"nope","session_id":"s","window_id":"w","seq":1,"events":` + string(chunk) + `}`), nil, 401, "unknown token"},
		{"replay off", "token=norec&session_id=s1&window_id=w1&seq=9", chunk, nil, 403, "switched off"},
		{"resolver error", "token=broken&session_id=s1&window_id=w1&seq=9", chunk, nil, 500, "internal error"},
		{"truncated gzip", q, truncated, nil, 400, "unexpected EOF"},
		{"not gzip", q, chunk, nil, 400, "bad gzip"},
		{"gzip bomb", q, bomb(t, 64<<20), nil, 413, "size limit"},
		{"gzip bomb without a flag", "token=tok1&session_id=s1&window_id=w1&seq=9", bomb(t, 64<<20), nil, 413, "size limit"},
		{"gzip with a bad checksum", q, corrupt(gz(t, chunk)), nil, 400, "checksum"},
		{"body too large", "token=tok1&session_id=s1&window_id=w1&seq=9", append(events(1767225600000, 1), bytes.Repeat([]byte(" "), 65<<10)...), nil, 413, "over"},
		{"unknown compression", "token=tok1&session_id=s1&window_id=w1&seq=9&compression=br", chunk, nil, 400, "unsupported compression"},
		{"empty body", "token=tok1&session_id=s1&window_id=w1&seq=9", nil, nil, 400, "empty"},
		{"malformed json", "token=tok1&session_id=s1&window_id=w1&seq=9", []byte(`[{"type":`), nil, 400, "malformed"},
		{"huge seq", "token=tok1&session_id=s1&window_id=w1&seq=99999999999999999999", chunk, nil, 400, "seq"},
		{"seq over max", "token=tok1&session_id=s1&window_id=w1&seq=1000000000", chunk, nil, 400, "seq"},
		{"negative seq", "token=tok1&session_id=s1&window_id=w1&seq=-1", chunk, nil, 400, "seq"},
		{"missing seq", "token=tok1&session_id=s1&window_id=w1", chunk, nil, 400, "seq"},
		{"missing session", "token=tok1&window_id=w1&seq=1", chunk, nil, 400, "session_id"},
		{"traversal session", "token=tok1&session_id=..%2F..%2F..%2Fetc&window_id=w1&seq=1", chunk, nil, 400, "session_id"},
		{"dot session", "token=tok1&session_id=..&window_id=w1&seq=1", chunk, nil, 400, "session_id"},
		{"slash window", "token=tok1&session_id=s1&window_id=a%2Fb&seq=1", chunk, nil, 400, "window_id"},
		{"absolute window", "token=tok1&session_id=s1&window_id=%2Ftmp&seq=1", chunk, nil, 400, "window_id"},
		{"long session", "token=tok1&session_id=" + strings.Repeat("a", 129) + "&window_id=w1&seq=1", chunk, nil, 400, "session_id"},
		{"traversal in envelope", "", []byte(`{"token":"tok1","session_id":"../x","window_id":"w","seq":1,"events":` + string(chunk) + `}`), nil, 400, "session_id"},
	}
	f := newFixture(t)
	h := f.svc.CaptureHandler()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(h, tc.query, tc.body, tc.header)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.wantStatus, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Errorf("body %q lacks %q", rec.Body, tc.wantBody)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "*" {
				t.Errorf("CORS header %q", got)
			}
		})
	}

	// Every stored blob is a gzip'd JSON array, and nothing was written
	// outside the data directory.
	keys, err := f.blobs.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{
		"p/1/s/s1/w1/0000000000.json.gz", "p/1/s/s1/w1/0000000001.json.gz", "p/1/s/s1/w1/0000000002.json.gz",
		"p/1/s/s1/w1/0000000003.json.gz", "p/1/s/s1/w1/0000000004.json.gz", "p/1/s/s1/w2/0000000005.json.gz", "p/1/s/s1/w2/0000000006.json.gz",
	}
	if fmt.Sprint(keys) != fmt.Sprint(wantKeys) {
		t.Errorf("stored keys\n got %v\nwant %v", keys, wantKeys)
	}
	for _, k := range keys {
		b, _ := f.blobs.Get(context.Background(), k)
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		raw, _ := io.ReadAll(zr)
		var evs []json.RawMessage
		if err := json.Unmarshal(raw, &evs); err != nil || len(evs) == 0 {
			t.Errorf("%s: not an event array: %v", k, err)
		}
	}
	filepath.WalkDir(f.dir, func(p string, d fs.DirEntry, err error) error {
		if !d.IsDir() && !strings.HasPrefix(p, filepath.Join(f.dir, "data", "replay")+string(os.PathSeparator)) {
			t.Errorf("file outside the data dir: %s", p)
		}
		return nil
	})
	if f.index.calls != len(wantKeys) {
		t.Errorf("index got %d chunks, want one per stored chunk (%d)", f.index.calls, len(wantKeys))
	}
	w1 := f.index.rows[fmt.Sprint(1, "s1", "w1")]
	if w1.Clicks != 3+2+1+1+1 || w1.Chunks != 5 {
		t.Errorf("w1 index row %+v", w1)
	}
}

func TestCaptureHandlerPreflight(t *testing.T) {
	f := newFixture(t)
	req := httptest.NewRequest("OPTIONS", "/api/replay", nil)
	rec := httptest.NewRecorder()
	f.svc.CaptureHandler().ServeHTTP(rec, req)
	if rec.Code != 204 || rec.Header().Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(rec.Header().Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	f.svc.CaptureHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/replay", nil))
	if rec.Code != 405 {
		t.Errorf("GET on capture: %d", rec.Code)
	}
}

// When the index refuses a chunk, the blob is removed again, so that the
// client's retry stores and indexes it instead of skipping the index.
func TestCaptureIndexFailure(t *testing.T) {
	f := newFixture(t)
	h := f.svc.CaptureHandler()
	q := "token=tok1&session_id=s1&window_id=w1&seq=0"
	f.index.fail = errors.New("disk full")
	if rec := post(h, q, events(1767225600000, 2), nil); rec.Code != 500 {
		t.Fatalf("status %d, want 500", rec.Code)
	}
	if keys, _ := f.blobs.List(context.Background(), ""); len(keys) != 0 {
		t.Fatalf("blob kept after index failure: %v", keys)
	}
	f.index.fail = nil
	if rec := post(h, q, events(1767225600000, 2), nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), "true") {
		t.Fatalf("retry: %d %s", rec.Code, rec.Body)
	}
	if r := f.index.rows[fmt.Sprint(1, "s1", "w1")]; r.Clicks != 2 || r.Chunks != 1 {
		t.Errorf("index after retry: %+v", r)
	}
}

func TestServeSession(t *testing.T) {
	f := newFixture(t)
	capture := f.svc.CaptureHandler()
	seed, _ := os.ReadFile("testdata/chunk.json")
	// Window b uploads seq 1 before seq 0; project 2 has a session with the
	// same id that must not leak into project 1's answer.
	uploads := []struct {
		q    string
		body []byte
	}{
		{"token=tok1&session_id=S&window_id=b&seq=1&distinct_id=u1", events(1767225700000, 2)},
		{"token=tok1&session_id=S&window_id=b&seq=0&distinct_id=u1", seed},
		{"token=tok1&session_id=S&window_id=a&seq=0&distinct_id=u1", events(1767225500000, 1)},
		{"token=tok2&session_id=S&window_id=a&seq=0", events(1767225500000, 5)},
	}
	for _, u := range uploads {
		if rec := post(capture, u.q, gz(t, u.body), map[string]string{"Content-Encoding": "gzip"}); rec.Code != 200 {
			t.Fatalf("upload %s: %d %s", u.q, rec.Code, rec.Body)
		}
	}
	// The API authorizes the caller for a project (tested with the app in
	// sdk/replay_test.go); here the project comes from the path.
	mux := http.NewServeMux()
	mux.HandleFunc("/p/{pid}/replay/{session_id}", func(w http.ResponseWriter, r *http.Request) {
		pid, _ := strconv.ParseInt(r.PathValue("pid"), 10, 64)
		f.svc.ServeSession(w, r, pid, r.PathValue("session_id"))
	})
	get := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}
	for _, tc := range []struct {
		name, method, path string
		status             int
	}{
		{"unknown session", "GET", "/p/1/replay/T", 404},
		{"other project's session", "GET", "/p/3/replay/S", 404},
		{"traversal", "GET", "/p/1/replay/..%2F..%2Fetc", 400},
		{"dots", "GET", "/p/1/replay/.hidden", 400},
		{"POST", "POST", "/p/1/replay/S", 405},
		{"HEAD", "HEAD", "/p/1/replay/S", 200},
	} {
		if rec := get(tc.method, tc.path); rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d: %s", tc.name, rec.Code, tc.status, rec.Body)
		}
	}

	rec := get("GET", "/p/1/replay/S")
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var res struct {
		SessionID string `json:"session_id"`
		Windows   []struct {
			WindowID string `json:"window_id"`
			Events   []struct {
				Type      int   `json:"type"`
				Timestamp int64 `json:"timestamp"`
			} `json:"events"`
			Summary summaryJSON `json:"summary"`
		} `json:"windows"`
		Summary summaryJSON `json:"summary"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	if res.SessionID != "S" || len(res.Windows) != 2 || res.Windows[0].WindowID != "a" || res.Windows[1].WindowID != "b" {
		t.Fatalf("windows: %+v", res)
	}
	b := res.Windows[1]
	if len(b.Events) != 11+2 || b.Events[0].Type != 4 || b.Events[1].Type != 2 {
		t.Fatalf("window b events: %+v", b.Events)
	}
	for i := 1; i < len(b.Events); i++ {
		if b.Events[i].Timestamp < b.Events[i-1].Timestamp {
			t.Errorf("events out of order at %d", i)
		}
	}
	if b.Summary.Clicks != 4 || b.Summary.Chunks != 2 || b.Summary.URL != "http://shop.test/cart?x=1" || b.Summary.DistinctID != "u1" {
		t.Errorf("window b summary %+v", b.Summary)
	}
	s := res.Summary
	if s.Clicks != 5 || s.Chunks != 3 || s.Events != 14 || s.Errors != 1 || s.Keypresses != 2 ||
		s.Start.UnixMilli() != 1767225500000 || s.End.UnixMilli() != 1767225700100 || s.DurationMs != 200100 {
		t.Errorf("session summary %+v", s)
	}
	if rec := get("GET", "/p/2/replay/S"); !strings.Contains(rec.Body.String(), `"clicks":5,`) || strings.Count(rec.Body.String(), `"window_id"`) != 1 {
		t.Errorf("project 2 sees: %s", rec.Body)
	}
}

func BenchmarkCapture(b *testing.B) {
	f := newFixture(b)
	h := f.svc.CaptureHandler()
	body := gz(b, events(1767225600000, 200))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	i := 0
	for b.Loop() {
		i++
		post(h, fmt.Sprintf("token=tok1&session_id=s&window_id=w&seq=%d&compression=gzip", i%1000), body, nil)
	}
}
