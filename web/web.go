// Package web serves Sightline's dashboard: a single-page app (TypeScript
// and Preact, bundled by esbuild from web/src into the committed web/dist)
// embedded in the binary.
//
// Handler serves index.html for "/" and for every client route (a path
// without a file extension), so links to any page can be shared and
// reloaded; hashed assets under /assets/ are cached for a year as
// immutable, index.html never. Every answer carries the Content-Security-
// Policy in CSP: scripts only from this origin, never inline or eval'd, no
// plugins, no framing of the dashboard. Session replays are rebuilt in a
// sandboxed iframe without allow-scripts, which inherits this policy too.
//
// Rebuild dist with `npm ci && npm run build` in web/; CI rebuilds and
// fails when the result differs from what is committed.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed all:dist
var dist embed.FS

// CSP is the Content-Security-Policy of every answer.
//
// Why each relaxation is there: replays and heatmaps rebuild customers'
// pages, whose stylesheets, style attributes, images and fonts may come
// from their own origins (rrweb inlines what it can read, not everything),
// hence style-src 'unsafe-inline' and https:/http: for styles, images,
// fonts and media. Nothing relaxes script-src: a recorded page's scripts
// must never run, and the dashboard's own code is all in /assets/.
const CSP = "default-src 'self'; " +
	"script-src 'self'; " +
	"style-src 'self' 'unsafe-inline' https: http:; " +
	"img-src 'self' data: blob: https: http:; " +
	"font-src 'self' data: https: http:; " +
	"media-src 'self' data: blob: https: http:; " +
	"connect-src 'self'; " +
	"frame-src 'self'; " +
	"worker-src 'self'; " +
	"object-src 'none'; " +
	"base-uri 'none'; " +
	"form-action 'self'; " +
	"frame-ancestors 'none'"

type asset struct {
	body  []byte
	gz    []byte // nil when compression does not pay
	ctype string
	etag  string
}

var (
	loadOnce sync.Once
	assets   map[string]*asset
	loadErr  error
)

func load() (map[string]*asset, error) {
	loadOnce.Do(func() { assets, loadErr = loadFS(dist) })
	return assets, loadErr
}

// loadFS reads every file of dist once and gzips the compressible ones, so
// serving costs no compression work per request.
func loadFS(fsys fs.FS) (map[string]*asset, error) {
	out := map[string]*asset{}
	err := fs.WalkDir(fsys, "dist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("web: read %s: %w", p, err)
		}
		sum := sha256.Sum256(b)
		a := &asset{
			body:  b,
			ctype: contentType(p),
			etag:  `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`,
		}
		if compressible(a.ctype) && len(b) > 512 {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(b)
			zw.Close()
			if buf.Len() < len(b) {
				a.gz = buf.Bytes()
			}
		}
		out[strings.TrimPrefix(p, "dist/")] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out["index.html"] == nil {
		return nil, fmt.Errorf("web: dist/index.html is missing; run `npm ci && npm run build` in web/")
	}
	return out, nil
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json", ".map":
		return "application/json"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.HasPrefix(ctype, "application/json") || ctype == "image/svg+xml"
}

// SetSecurityHeaders sets the CSP and the other browser hardening headers
// that every dashboard answer carries.
func SetSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// Handler serves the dashboard. Mount it on "/" after the API routes: it
// answers 404 for /api/ paths that reached it, so a mistyped API call gets
// a JSON error rather than the app's HTML.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	SetSecurityHeaders(h)
	if strings.HasPrefix(r.URL.Path, "/api/") {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"no such API route"}` + "\n"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	files, err := load()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	a, ok := files[name]
	switch {
	case ok && name != "index.html":
		if strings.HasPrefix(name, "assets/") {
			// Names carry a content hash: a new build gets new names.
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "public, max-age=3600")
		}
	case path.Ext(name) != "" && name != "index.html":
		// A missing file, not a client route: a stale chunk name after an
		// upgrade must fail loudly rather than load HTML as a script.
		http.Error(w, "not found", http.StatusNotFound)
		return
	default:
		a = files["index.html"]
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Add("Vary", "Accept-Encoding")
	if etagMatch(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

func etagMatch(list, tag string) bool {
	if list == "" {
		return false
	}
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if !ok {
			return true
		}
		f, err := strconv.ParseFloat(q, 64)
		return err == nil && f > 0
	}
	return false
}
