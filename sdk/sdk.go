// Package sdk embeds the browser SDK bundles built from sdk/src (committed in
// sdk/dist) and serves them over HTTP, and renders the install snippet.
//
// The bundles are rebuilt with `npm run build` in this directory; CI rebuilds
// them and fails when the result differs from what is committed.
package sdk

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed dist
var dist embed.FS

// maxAge is short because the names are not versioned: browsers revalidate
// with the ETag afterwards and get a 304 until the SDK changes.
const cacheControl = "public, max-age=300"

type file struct {
	name        string
	contentType string
	raw, gz     []byte
	etag        string // of raw; the gzip variant has "-gz" inside the quotes
}

var files = mustLoad()

func mustLoad() map[string]*file {
	m, err := load(dist)
	if err != nil {
		panic(err)
	}
	return m
}

func load(fsys fs.FS) (map[string]*file, error) {
	entries, err := fs.ReadDir(fsys, "dist")
	if err != nil {
		return nil, fmt.Errorf("sdk: read embedded dist: %w", err)
	}
	m := make(map[string]*file, len(entries))
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		raw, err := fs.ReadFile(fsys, "dist/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("sdk: read %s: %w", e.Name(), err)
		}
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, fmt.Errorf("sdk: gzip %s: %w", e.Name(), err)
		}
		zw.Write(raw)
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("sdk: gzip %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(raw)
		m[e.Name()] = &file{
			name:        e.Name(),
			contentType: contentType(e.Name()),
			raw:         raw,
			gz:          buf.Bytes(),
			etag:        hex.EncodeToString(sum[:12]),
		}
	}
	return m, nil
}

func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".d.ts"):
		return "text/plain; charset=utf-8"
	case strings.HasSuffix(name, ".js"):
		return "text/javascript; charset=utf-8"
	default:
		return "application/octet-stream"
	}
}

// Files lists the served file names (sightline.js, sightline.esm.js,
// sightline.d.ts, recorder.js).
func Files() []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	return names
}

// File returns the bytes of one embedded bundle, uncompressed.
func File(name string) ([]byte, bool) {
	f, ok := files[name]
	if !ok {
		return nil, false
	}
	return f.raw, true
}

// Handler serves the bundles. Mount it on the "/sdk/" pattern without
// stripping the prefix (mux.Handle("/sdk/", sdk.Handler())): it serves
// /sdk/<file>, and also /<file> when a caller prefers http.StripPrefix.
//
// Responses carry Access-Control-Allow-Origin: * (the SDK is loaded by
// other sites), a strong ETag from the content hash with If-None-Match
// revalidation (304), a short Cache-Control max-age, and a gzip'd body for
// clients that accept it.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		h.Set("Allow", "GET, HEAD, OPTIONS")
		http.Error(w, "sdk: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/sdk")
	f, ok := files[strings.TrimPrefix(name, "/")]
	if !ok || strings.Contains(strings.TrimPrefix(name, "/"), "/") {
		http.NotFound(w, r)
		return
	}
	body, etag := f.raw, `"`+f.etag+`"`
	gz := acceptsGzip(r)
	if gz {
		body, etag = f.gz, `"`+f.etag+`-gz"`
	}
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", etag)
	h.Set("Content-Type", f.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// etagMatch reports whether an If-None-Match list names either variant of
// the file's ETag (weak comparison, as RFC 9110 asks for If-None-Match).
func etagMatch(list, tag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == `"`+tag+`"` || t == `"`+tag+`-gz"` {
			return true
		}
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(part, ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		// "gzip;q=0" means the client refuses it.
		q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// Snippet returns the one-line install snippet for a project: it defines a
// stub window.sightline that queues calls, loads {host}/sdk/sightline.js
// asynchronously, and calls init with the project's public token. The SDK
// replays the queued calls when it arrives.
//
// host is the Sightline server's origin as the visitor's browser reaches
// it, e.g. "https://analytics.example.com" (no trailing slash needed).
func Snippet(host, token string) string {
	// json.Marshal escapes <, > and & so the values are safe inside <script>.
	h, _ := json.Marshal(strings.TrimRight(host, "/"))
	t, _ := json.Marshal(token)
	return `<script>!function(w,d,n,h,t){if(!w[n]){var q=[],o=w[n]={_q:q};` +
		`"init track identify reset register unregister optOut optIn release flush".split(" ").forEach(function(m){o[m]=function(){q.push([m,[].slice.call(arguments)])}});` +
		`var s=d.createElement("script");s.async=1;s.src=h+"/sdk/sightline.js";d.head.appendChild(s);o.init(t,{host:h})}}` +
		`(window,document,"sightline",` + string(h) + `,` + string(t) + `)</script>`
}
