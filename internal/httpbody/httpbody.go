// Package httpbody reads the bodies of the ingest endpoints (events and
// replay chunks) under two limits: the size as sent, checked before and
// while reading, and the size after gunzip, checked while inflating so that
// a gzip bomb is cut off at the limit instead of being inflated into
// memory. It is the one place where those limits are enforced; capture and
// replay each choose their own values.
package httpbody

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

// Error is a client error: the HTTP status to answer and a message that
// says what was wrong.
type Error struct {
	Status int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Errorf returns the client error status with a formatted message.
func Errorf(status int, format string, a ...any) *Error {
	return &Error{Status: status, Msg: fmt.Sprintf(format, a...)}
}

// Limits bound a body: Body as sent, Decoded after gunzip.
type Limits struct {
	Body    int64
	Decoded int64
}

// ReadRaw appends the body as sent to dst; past max bytes it fails with a
// 413 Error, before reading when Content-Length says so.
func ReadRaw(r *http.Request, dst *bytes.Buffer, max int64) error {
	if r.ContentLength > max {
		return Errorf(http.StatusRequestEntityTooLarge, "body is %d bytes, over the size limit of %d bytes", r.ContentLength, max)
	}
	n, err := dst.ReadFrom(io.LimitReader(r.Body, max+1))
	if err != nil {
		return Errorf(http.StatusBadRequest, "reading body: %v", err)
	}
	if n > max {
		return Errorf(http.StatusRequestEntityTooLarge, "body is over the size limit of %d bytes", max)
	}
	return nil
}

// Gzipped reports whether a body is gzip: by Content-Encoding, by
// ?compression=gzip (navigator.sendBeacon cannot set headers; gzip-js is
// the name other SDKs use), or by gzip's magic bytes.
func Gzipped(r *http.Request, raw []byte) bool {
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		return true
	}
	if c := r.URL.Query().Get("compression"); c == "gzip" || c == "gzip-js" {
		return true
	}
	return len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b
}

var gzipPool sync.Pool // *gzip.Reader

// Reader reads a body's content: raw itself, or raw gunzip'd. Past the
// decoded limit, and on corrupt or truncated gzip, Read fails with an Error.
// Close returns its gzip state to a pool.
type Reader struct {
	src  io.Reader
	zr   *gzip.Reader
	left int64
	max  int64
}

// NewReader returns a Reader of raw's content, gunzip'd when gz is set,
// allowed to reach maxDecoded bytes.
func NewReader(raw []byte, gz bool, maxDecoded int64) (*Reader, error) {
	br := bytes.NewReader(raw)
	if !gz {
		return &Reader{src: br, left: maxDecoded, max: maxDecoded}, nil
	}
	zr, _ := gzipPool.Get().(*gzip.Reader)
	if zr == nil {
		zr = new(gzip.Reader)
	}
	if err := zr.Reset(br); err != nil {
		gzipPool.Put(zr)
		return nil, gzipError(err)
	}
	return &Reader{src: zr, zr: zr, left: maxDecoded, max: maxDecoded}, nil
}

func gzipError(err error) *Error {
	if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
		return Errorf(http.StatusBadRequest, "gzip body is truncated (%v)", io.ErrUnexpectedEOF)
	}
	return Errorf(http.StatusBadRequest, "bad gzip body: %v", err)
}

func (r *Reader) Read(p []byte) (int, error) {
	if r.src == nil {
		return 0, errors.New("httpbody: read after Close")
	}
	if r.left <= 0 {
		// At the limit: one more byte means the body is too large; only a
		// clean end of input means it fit exactly.
		var b [1]byte
		n, err := r.src.Read(b[:])
		if n > 0 {
			return 0, Errorf(http.StatusRequestEntityTooLarge, "body inflates past the size limit of %d bytes", r.max)
		}
		return 0, r.wrap(err)
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.src.Read(p)
	r.left -= int64(n)
	return n, r.wrap(err)
}

func (r *Reader) wrap(err error) error {
	if err == nil || err == io.EOF || r.zr == nil {
		return err
	}
	return gzipError(err)
}

// Close releases the Reader; it must not be used afterwards.
func (r *Reader) Close() error {
	if r.zr != nil {
		gzipPool.Put(r.zr)
		r.zr = nil
	}
	r.src = nil
	return nil
}

// Read reads r's body into dst, gunzip'd where it is gzip, under lim;
// scratch holds the body as sent (callers pool it).
func Read(r *http.Request, dst, scratch *bytes.Buffer, lim Limits) error {
	if err := ReadRaw(r, scratch, lim.Body); err != nil {
		return err
	}
	if !Gzipped(r, scratch.Bytes()) {
		if int64(scratch.Len()) > lim.Decoded {
			return Errorf(http.StatusRequestEntityTooLarge, "body is over the size limit of %d bytes", lim.Decoded)
		}
		_, err := dst.Write(scratch.Bytes())
		return err
	}
	zr, err := NewReader(scratch.Bytes(), true, lim.Decoded)
	if err != nil {
		return err
	}
	defer zr.Close()
	_, err = dst.ReadFrom(zr)
	return err
}
