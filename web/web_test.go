package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

// initialBudget is the limit on the JavaScript a first page load
// fetches, gzip'd.
const initialBudget = 150 << 10

func get(t *testing.T, url string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	entryRe  = regexp.MustCompile(`<script type="module" src="/(assets/[^"]+\.js)"></script>`)
	staticRe = regexp.MustCompile(`(?:import|from)\s*"\./([^"]+\.js)"`)
	dynRe    = regexp.MustCompile(`import\("\./([^"]+\.js)"\)`)
)

// initialFiles returns the entry script named by index.html and every chunk
// it imports statically, transitively: what the browser fetches before the
// first render. Dynamic imports (the replay player) are left out.
func initialFiles(t *testing.T) []string {
	t.Helper()
	index, err := fs.ReadFile(dist, "dist/index.html")
	if err != nil {
		t.Fatal(err)
	}
	m := entryRe.FindSubmatch(index)
	if m == nil {
		t.Fatalf("index.html names no module script:\n%s", index)
	}
	seen := map[string]bool{}
	queue := []string{string(m[1])}
	var out []string
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		if seen[f] {
			continue
		}
		seen[f] = true
		out = append(out, f)
		src, err := fs.ReadFile(dist, "dist/"+f)
		if err != nil {
			t.Fatalf("%s (imported) is missing: %v", f, err)
		}
		// Dynamic imports look like static ones to staticRe's "import"
		// branch only with a parenthesis, which it does not accept.
		for _, s := range staticRe.FindAllSubmatch(src, -1) {
			queue = append(queue, path.Join(path.Dir(f), string(s[1])))
		}
	}
	return out
}

func gzipSize(b []byte) int {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Len()
}

func TestInitialJavaScriptBudget(t *testing.T) {
	total := 0
	for _, f := range initialFiles(t) {
		b, _ := fs.ReadFile(dist, "dist/"+f)
		n := gzipSize(b)
		t.Logf("%s: %d bytes, %d gzip", f, len(b), n)
		total += n
	}
	t.Logf("initial JavaScript: %d bytes gzip (budget %d)", total, initialBudget)
	if total > initialBudget {
		t.Fatalf("initial JavaScript is %d bytes gzip, over the %d budget", total, initialBudget)
	}
}

// The replay player (rrweb) must load only on the pages that need it.
func TestReplayCodeIsLazy(t *testing.T) {
	files := initialFiles(t)
	for _, f := range files {
		b, _ := fs.ReadFile(dist, "dist/"+f)
		// Strings only rrweb's player contains.
		for _, marker := range []string{"replayer-wrapper", "rrweb", "allow-same-origin"} {
			if bytes.Contains(b, []byte(marker)) {
				t.Errorf("initial file %s contains %q: the replay player is not split out", f, marker)
			}
		}
	}
	entry, _ := fs.ReadFile(dist, "dist/"+files[0])
	lazy := dynRe.FindAllSubmatch(entry, -1)
	if len(lazy) == 0 {
		t.Fatal("the entry has no dynamic import: where is the replay chunk?")
	}
	found := false
	checked := map[string]bool{}
	for _, m := range lazy {
		if checked[string(m[1])] {
			continue
		}
		checked[string(m[1])] = true
		b, err := fs.ReadFile(dist, "dist/assets/"+string(m[1]))
		if err != nil {
			t.Fatalf("dynamic import %s missing: %v", m[1], err)
		}
		if bytes.Contains(b, []byte("replayer-wrapper")) {
			found = true
			t.Logf("replay chunk %s: %d bytes gzip", m[1], gzipSize(b))
		}
	}
	if !found {
		t.Fatal("no lazily loaded chunk contains the rrweb player")
	}
}

// The dashboard's code must run under its own CSP: no eval, no inline
// script in index.html.
func TestBundleFitsCSP(t *testing.T) {
	index, _ := fs.ReadFile(dist, "dist/index.html")
	if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`).Match(index) {
		t.Error("index.html has an inline script, which script-src 'self' forbids")
	}
	err := fs.WalkDir(dist, "dist/assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		b, _ := fs.ReadFile(dist, p)
		for _, bad := range []string{"new Function(", "eval("} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("%s contains %q, which the CSP forbids", p, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHandler(t *testing.T) {
	files := initialFiles(t)
	entry := "/" + files[0]
	for _, tc := range []struct {
		name, url    string
		status       int
		ctype, cache string
		contains     string
	}{
		{"root", "/", 200, "text/html", "no-cache", `<div id="app">`},
		{"client route", "/p/3/insights/new", 200, "text/html", "no-cache", `<script type="module"`},
		{"client route with query", "/p/3/sessions?url=%2Fcart", 200, "text/html", "no-cache", `<div id="app">`},
		{"login", "/login", 200, "text/html", "no-cache", ""},
		{"hashed asset", entry, 200, "text/javascript", "public, max-age=31536000, immutable", ""},
		{"favicon", "/favicon.svg", 200, "image/svg+xml", "public, max-age=3600", "<svg"},
		{"missing asset is not the app", "/assets/app-STALE.js", 404, "", "", ""},
		{"api path is not the app", "/api/nope", 404, "application/json", "", "no such API route"},
		{"dot segments stay inside", "/assets/../../web.go", 404, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := get(t, tc.url)
			b := body(t, res)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if csp := res.Header.Get("Content-Security-Policy"); csp != CSP {
				t.Errorf("CSP %q", csp)
			}
			if res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("hardening headers missing: %v", res.Header)
			}
			if tc.ctype != "" && !strings.HasPrefix(res.Header.Get("Content-Type"), tc.ctype) {
				t.Errorf("Content-Type %q, want %s", res.Header.Get("Content-Type"), tc.ctype)
			}
			if tc.cache != "" && res.Header.Get("Cache-Control") != tc.cache {
				t.Errorf("Cache-Control %q, want %q", res.Header.Get("Cache-Control"), tc.cache)
			}
			if !strings.Contains(b, tc.contains) {
				t.Errorf("body lacks %q", tc.contains)
			}
		})
	}
}

func TestCSPIsStrict(t *testing.T) {
	directives := map[string]string{}
	for _, d := range strings.Split(CSP, ";") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = val
	}
	if directives["script-src"] != "'self'" {
		t.Errorf("script-src %q: scripts must come only from this origin", directives["script-src"])
	}
	for _, name := range []string{"object-src", "base-uri", "frame-ancestors"} {
		if directives[name] != "'none'" {
			t.Errorf("%s %q, want 'none'", name, directives[name])
		}
	}
	if strings.Contains(CSP, "unsafe-eval") {
		t.Error("CSP allows eval")
	}
}

func TestGzipAndETag(t *testing.T) {
	entry := "/" + initialFiles(t)[0]
	plain := get(t, entry)
	raw := body(t, plain)
	zipped := get(t, entry, "Accept-Encoding", "gzip, deflate, br")
	if zipped.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip: %v", zipped.Header)
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	unz, _ := io.ReadAll(zr)
	if string(unz) != raw {
		t.Fatal("gzip body differs from the plain one")
	}
	if get(t, entry, "Accept-Encoding", "gzip;q=0").Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that refused it")
	}
	etag := plain.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if res := get(t, entry, "If-None-Match", etag); res.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %d, want 304", res.StatusCode)
	}
}

func TestMethods(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("x"))
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST /: %d", rec.Code)
	}
	req = httptest.NewRequest(http.MethodHead, "/", nil)
	rec = httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.Len() != 0 {
		t.Fatalf("HEAD /: %d with %d bytes", rec.Code, rec.Body.Len())
	}
}
