package capture

import (
	"bytes"
	"net/http"
	"strings"
	"sync"

	"github.com/sightline-analytics/sightline/internal/httpbody"
)

// Body limits. The compressed limit bounds what a client may send; the
// decompressed limit bounds what a gzip body may inflate to, so a gzip bomb
// is cut off at the limit without ever being inflated into memory.
const (
	DefaultMaxBodyBytes    = 1 << 20  // 1 MiB as sent
	DefaultMaxDecodedBytes = 16 << 20 // 16 MiB after decompression
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() > 4*DefaultMaxBodyBytes {
		return // don't keep rare giant buffers alive
	}
	bufPool.Put(b)
}

// readBody reads the request body into dst, enforcing the size limits and
// undoing gzip when the client asked for it by header or by query parameter
// (navigator.sendBeacon cannot set headers). The limits are enforced by
// internal/httpbody, which replay chunks go through as well.
func readBody(r *http.Request, dst *bytes.Buffer, maxBody, maxDecoded int64) error {
	raw := getBuf()
	defer putBuf(raw)
	return httpbody.Read(r, dst, raw, httpbody.Limits{Body: maxBody, Decoded: maxDecoded})
}

// checkContentType accepts JSON, the text/plain bodies that beacons send,
// and the form type that `curl -d` sends by default (the body must still be
// JSON); anything else is a client mistake worth naming.
func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	switch strings.ToLower(strings.TrimSpace(ct)) {
	case "application/json", "text/plain", "application/octet-stream", "application/x-www-form-urlencoded":
		return nil
	}
	return httpbody.Errorf(http.StatusUnsupportedMediaType, "content type %q is not accepted; send application/json or text/plain", ct)
}
