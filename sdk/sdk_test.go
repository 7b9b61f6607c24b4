package sdk

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The byte budgets of issue 3, measured as gzip -9 of the committed bundles.
func TestBudgets(t *testing.T) {
	budgets := []struct {
		name string
		max  int
	}{
		{"sightline.js", 10 * 1024},
		{"sightline.esm.js", 10 * 1024},
		{"recorder.js", 30 * 1024},
	}
	for _, b := range budgets {
		raw, ok := File(b.name)
		if !ok {
			t.Fatalf("%s is not embedded; run npm run build in sdk/", b.name)
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(raw)
		zw.Close()
		t.Logf("%s: %d bytes, %d gzip -9 (budget %d)", b.name, len(raw), buf.Len(), b.max)
		if buf.Len() > b.max {
			t.Errorf("%s is %d bytes gzip -9, over its budget of %d", b.name, buf.Len(), b.max)
		}
	}
}

func TestDistComplete(t *testing.T) {
	for _, name := range []string{"sightline.js", "sightline.esm.js", "sightline.d.ts", "recorder.js"} {
		raw, ok := File(name)
		if !ok || len(raw) == 0 {
			t.Errorf("dist/%s missing or empty", name)
		}
	}
	esm, _ := File("sightline.esm.js")
	if !bytes.Contains(esm, []byte("export")) {
		t.Error("sightline.esm.js has no exports")
	}
	dts, _ := File("sightline.d.ts")
	for _, want := range []string{"export interface InitOptions", "export declare const sightline: Sightline", "release(version: string): void"} {
		if !bytes.Contains(dts, []byte(want)) {
			t.Errorf("sightline.d.ts lacks %q", want)
		}
	}
}

func TestHandler(t *testing.T) {
	js, _ := File("sightline.js")
	etag := `"` + files["sightline.js"].etag + `"`
	tests := []struct {
		name       string
		method     string
		path       string
		header     map[string]string
		wantStatus int
		wantHeader map[string]string
		wantBody   []byte // compared after gunzip when Content-Encoding is gzip
	}{
		{
			name: "core", method: "GET", path: "/sdk/sightline.js", wantStatus: 200,
			wantHeader: map[string]string{
				"Access-Control-Allow-Origin": "*",
				"Content-Type":                "text/javascript; charset=utf-8",
				"Cache-Control":               "public, max-age=300",
				"ETag":                        etag,
			},
			wantBody: js,
		},
		{
			name: "prefix stripped", method: "GET", path: "/sightline.js", wantStatus: 200, wantBody: js,
		},
		{
			name: "gzip", method: "GET", path: "/sdk/sightline.js",
			header:     map[string]string{"Accept-Encoding": "br, gzip"},
			wantStatus: 200,
			wantHeader: map[string]string{"Content-Encoding": "gzip", "ETag": `"` + files["sightline.js"].etag + `-gz"`, "Vary": "Accept-Encoding"},
			wantBody:   js,
		},
		{
			name: "gzip refused", method: "GET", path: "/sdk/sightline.js",
			header:     map[string]string{"Accept-Encoding": "gzip;q=0"},
			wantStatus: 200, wantHeader: map[string]string{"Content-Encoding": ""}, wantBody: js,
		},
		{
			name: "revalidate", method: "GET", path: "/sdk/sightline.js",
			header: map[string]string{"If-None-Match": etag}, wantStatus: 304,
			wantHeader: map[string]string{"ETag": etag}, wantBody: []byte{},
		},
		{
			name: "revalidate gzip variant", method: "GET", path: "/sdk/sightline.js",
			header:     map[string]string{"If-None-Match": `W/"nope", "` + files["sightline.js"].etag + `-gz"`, "Accept-Encoding": "gzip"},
			wantStatus: 304,
		},
		{
			name: "stale etag", method: "GET", path: "/sdk/sightline.js",
			header: map[string]string{"If-None-Match": `"0000"`}, wantStatus: 200, wantBody: js,
		},
		{
			name: "recorder", method: "GET", path: "/sdk/recorder.js", wantStatus: 200,
			wantHeader: map[string]string{"Content-Type": "text/javascript; charset=utf-8"},
		},
		{
			name: "declarations", method: "GET", path: "/sdk/sightline.d.ts", wantStatus: 200,
			wantHeader: map[string]string{"Content-Type": "text/plain; charset=utf-8"},
		},
		{name: "head", method: "HEAD", path: "/sdk/sightline.js", wantStatus: 200, wantBody: []byte{}},
		{name: "unknown", method: "GET", path: "/sdk/nope.js", wantStatus: 404},
		{name: "directory", method: "GET", path: "/sdk/", wantStatus: 404},
		{name: "traversal", method: "GET", path: "/sdk/../sdk.go", wantStatus: 404},
		{name: "nested", method: "GET", path: "/sdk/dist/sightline.js", wantStatus: 404},
		{name: "post", method: "POST", path: "/sdk/sightline.js", wantStatus: 405},
		{
			name: "preflight", method: "OPTIONS", path: "/sdk/sightline.js", wantStatus: 204,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "*"},
		},
	}
	h := Handler()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://x"+tc.path, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.wantStatus)
			}
			for k, v := range tc.wantHeader {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tc.wantBody == nil {
				return
			}
			var body io.Reader = res.Body
			if res.Header.Get("Content-Encoding") == "gzip" {
				zr, err := gzip.NewReader(res.Body)
				if err != nil {
					t.Fatal(err)
				}
				body = zr
			}
			got, err := io.ReadAll(body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tc.wantBody) {
				t.Errorf("body: %d bytes, want %d", len(got), len(tc.wantBody))
			}
		})
	}
}

func TestSnippet(t *testing.T) {
	s := Snippet("https://a.example.com/", `tok"</script>`)
	if strings.Count(s, "\n") != 0 {
		t.Error("snippet is not one line")
	}
	for _, want := range []string{`"https://a.example.com"`, `/sdk/sightline.js`, `s.async=1`, `o.init(t,{host:h})`} {
		if !strings.Contains(s, want) {
			t.Errorf("snippet lacks %q: %s", want, s)
		}
	}
	if strings.Count(s, "</script>") != 1 {
		t.Errorf("token escaped badly, snippet closes its script early: %s", s)
	}
	if !strings.HasPrefix(s, "<script>") || !strings.HasSuffix(s, "</script>") {
		t.Errorf("not a script element: %s", s)
	}
}

func BenchmarkHandler(b *testing.B) {
	h := Handler()
	req := httptest.NewRequest(http.MethodGet, "/sdk/sightline.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}
