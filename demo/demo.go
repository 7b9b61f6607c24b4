// Package demo serves Ridgeline Supply, the small outdoor-gear shop that
// `sightline demo` mounts at /demo/: plain HTML, CSS and a little vanilla
// JavaScript, with the same pages and elements that package synth simulates,
// including its three broken elements (button#apply-coupon does nothing,
// a.size-guide goes nowhere, button.wishlist throws).
//
// Every page's <head> holds the marker SnippetMarker where the Sightline
// snippet goes; HandlerWithSnippet puts it there at serve time.
package demo

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:site
var site embed.FS

// SnippetMarker marks the place in each page's <head> for the SDK snippet.
const SnippetMarker = "<!-- sightline:snippet -->"

// contentTypes is explicit so that responses do not depend on the host's
// MIME tables.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
}

type file struct {
	data        []byte
	etag        string
	contentType string
}

// Handler serves the shop without the snippet: pages work and nothing is
// tracked. Mount it with the /demo prefix stripped:
//
//	mux.Handle("/demo/", http.StripPrefix("/demo", demo.Handler()))
func Handler() http.Handler { return HandlerWithSnippet("") }

// HandlerWithSnippet serves the shop with snippet (HTML, typically a
// <script> element) in place of SnippetMarker on every page.
func HandlerWithSnippet(snippet string) http.Handler {
	files, err := load(snippet)
	if err != nil {
		// The site is embedded: failing to read it is a build defect.
		panic(err)
	}
	return &handler{files: files}
}

func load(snippet string) (map[string]*file, error) {
	files := map[string]*file{}
	err := fs.WalkDir(site, "site", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := site.ReadFile(p)
		if err != nil {
			return fmt.Errorf("demo: read %s: %w", p, err)
		}
		ext := path.Ext(p)
		if ext == ".html" && snippet != "" {
			data = bytes.Replace(data, []byte(SnippetMarker), []byte(SnippetMarker+"\n"+snippet), 1)
		}
		ct, ok := contentTypes[ext]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(data)
		files[strings.TrimPrefix(p, "site/")] = &file{data: data, contentType: ct,
			etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return files, err
}

type handler struct {
	files map[string]*file
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f := h.lookup(r.URL.Path)
	status := http.StatusOK
	if f == nil {
		f, status = h.files["404.html"], http.StatusNotFound
	}
	hd := w.Header()
	hd.Set("Content-Type", f.contentType)
	hd.Set("X-Content-Type-Options", "nosniff")
	// Revalidate every time: the snippet and the site change with releases.
	hd.Set("Cache-Control", "no-cache")
	if status != http.StatusOK {
		w.WriteHeader(status)
		if r.Method == http.MethodGet {
			_, _ = w.Write(f.data)
		}
		return
	}
	hd.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
}

// lookup maps clean URLs to files: / → index.html, /cart → cart.html,
// /product/x → product/x.html, /blog → blog.html.
func (h *handler) lookup(urlPath string) *file {
	name := strings.TrimPrefix(path.Clean("/"+urlPath), "/")
	if name == "" {
		name = "index"
	}
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") {
			return nil
		}
	}
	if name == "404.html" || name == "404" {
		return nil
	}
	for _, n := range []string{name, name + ".html", name + "/index.html"} {
		if f, ok := h.files[n]; ok {
			return f
		}
	}
	return nil
}
