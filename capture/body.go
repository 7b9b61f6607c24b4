package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// Body limits. The compressed limit bounds what a client may send; the
// decompressed limit bounds what a gzip body may inflate to, so a gzip bomb
// is cut off at the limit without ever being inflated into memory.
const (
	DefaultMaxBodyBytes    = 1 << 20  // 1 MiB as sent
	DefaultMaxDecodedBytes = 16 << 20 // 16 MiB after decompression
)

// httpError is an error with the status code and the message a client sees.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) *httpError {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

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

var gzipPool sync.Pool // *gzip.Reader

// readBody reads the request body into dst, enforcing the size limits and
// undoing gzip when the client asked for it by header or by query parameter
// (navigator.sendBeacon cannot set headers).
func readBody(r *http.Request, dst *bytes.Buffer, maxBody, maxDecoded int64) error {
	if r.ContentLength > maxBody {
		return errorf(http.StatusRequestEntityTooLarge, "body is %d bytes; the limit is %d bytes", r.ContentLength, maxBody)
	}
	raw := getBuf()
	defer putBuf(raw)
	n, err := raw.ReadFrom(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return errorf(http.StatusBadRequest, "reading body: %v", err)
	}
	if n > maxBody {
		return errorf(http.StatusRequestEntityTooLarge, "body is over the limit of %d bytes", maxBody)
	}
	if !isGzip(r) {
		_, err = dst.Write(raw.Bytes())
		return err
	}
	zr, _ := gzipPool.Get().(*gzip.Reader)
	if zr == nil {
		zr = new(gzip.Reader)
	}
	defer gzipPool.Put(zr)
	if err := zr.Reset(bytes.NewReader(raw.Bytes())); err != nil {
		return errorf(http.StatusBadRequest, "body is not valid gzip: %v", err)
	}
	n, err = dst.ReadFrom(io.LimitReader(zr, maxDecoded+1))
	if n > maxDecoded {
		return errorf(http.StatusRequestEntityTooLarge, "body inflates past the limit of %d bytes", maxDecoded)
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return errorf(http.StatusBadRequest, "gzip body is truncated")
		}
		return errorf(http.StatusBadRequest, "body is not valid gzip: %v", err)
	}
	return nil
}

func isGzip(r *http.Request) bool {
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		return true
	}
	c := r.URL.Query().Get("compression")
	return c == "gzip" || c == "gzip-js"
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
	return errorf(http.StatusUnsupportedMediaType, "content type %q is not accepted; send application/json or text/plain", ct)
}
