package httpbody

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// refuseRead fails the test if the body is read at all.
type refuseRead struct{ t *testing.T }

func (r refuseRead) Read([]byte) (int, error) {
	r.t.Error("body read although Content-Length is over the limit")
	return 0, io.EOF
}

func TestRead(t *testing.T) {
	lim := Limits{Body: 8 << 10, Decoded: 4 << 10}
	doc := []byte(`{"token":"t","events":[{"event":"e"}]}`)
	atLimit := bytes.Repeat([]byte("a"), int(lim.Decoded))
	z := gz(doc)
	badSum := bytes.Clone(z)
	badSum[len(badSum)-8] ^= 0xff
	tests := []struct {
		name   string
		query  string
		header string // Content-Encoding
		body   []byte
		chunky bool // no Content-Length
		want   []byte
		status int
		msg    string
	}{
		{name: "plain", body: doc, want: doc},
		{name: "gzip by header", header: "gzip", body: z, want: doc},
		{name: "gzip by header, any case", header: "GZIP", body: z, want: doc},
		{name: "gzip by query", query: "compression=gzip", body: z, want: doc},
		{name: "gzip-js by query", query: "compression=gzip-js", body: z, want: doc},
		{name: "gzip by magic bytes", body: z, want: doc},
		{name: "decoded exactly at the limit", header: "gzip", body: gz(atLimit), want: atLimit},
		{name: "empty", body: nil, want: nil},
		{name: "Content-Length over the limit", body: make([]byte, lim.Body+1), status: 413, msg: "size limit of 8192 bytes"},
		{name: "chunked body over the limit", body: make([]byte, lim.Body+1), chunky: true, status: 413, msg: "size limit"},
		{name: "decoded one byte over the limit", header: "gzip", body: gz(append(atLimit, 'a')), status: 413, msg: "inflates past the size limit of 4096 bytes"},
		{name: "gzip bomb", header: "gzip", body: gz(make([]byte, 4<<20)), status: 413, msg: "inflates"}, // 4 MiB in 4 KiB,
		{name: "not gzip", header: "gzip", body: doc, status: 400, msg: "bad gzip"},
		{name: "truncated gzip", header: "gzip", body: z[:len(z)/2], status: 400, msg: "truncated"},
		{name: "gzip header only", header: "gzip", body: z[:10], status: 400, msg: "truncated"},
		{name: "bad checksum", header: "gzip", body: badSum, status: 400, msg: "checksum"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = bytes.NewReader(tc.body)
			if tc.chunky {
				body = io.MultiReader(body) // hides the length from httptest
			}
			r := httptest.NewRequest(http.MethodPost, "/api/capture?"+tc.query, body)
			if tc.header != "" {
				r.Header.Set("Content-Encoding", tc.header)
			}
			if tc.status == 413 && !tc.chunky && tc.header == "" {
				r.Body = io.NopCloser(refuseRead{t})
				r.ContentLength = int64(len(tc.body))
			}
			var dst, scratch bytes.Buffer
			err := Read(r, &dst, &scratch, lim)
			if int64(dst.Len()) > lim.Decoded {
				t.Errorf("inflated %d bytes, past the limit of %d", dst.Len(), lim.Decoded)
			}
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if !bytes.Equal(dst.Bytes(), tc.want) {
					t.Errorf("read %q, want %q", dst.Bytes(), tc.want)
				}
				return
			}
			var he *Error
			if !errors.As(err, &he) {
				t.Fatalf("error %v, want an *Error with status %d", err, tc.status)
			}
			if he.Status != tc.status || !strings.Contains(he.Msg, tc.msg) {
				t.Errorf("error %d %q, want %d mentioning %q", he.Status, he.Msg, tc.status, tc.msg)
			}
		})
	}
}

// A Reader streams: a consumer that stops early never inflates the rest,
// and pooled gzip state is reset between bodies.
func TestReaderStreamsAndReuses(t *testing.T) {
	for i := range 3 {
		body := bytes.Repeat([]byte{byte('a' + i)}, 1<<16)
		zr, err := NewReader(gz(body), true, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		zr.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("body %d: %d bytes, %v", i, len(got), err)
		}
	}
	zr, err := NewReader(gz(make([]byte, 64<<20)), true, 32<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if _, err := io.ReadFull(zr, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	if zr.left != 32<<20-1024 {
		t.Errorf("read past what was asked: %d left", zr.left)
	}
}

func BenchmarkReadGzip(b *testing.B) {
	body := gz(bytes.Repeat([]byte(`{"event":"$click","properties":{"x":1}},`), 2000))
	var dst, scratch bytes.Buffer
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		dst.Reset()
		scratch.Reset()
		r := httptest.NewRequest(http.MethodPost, "/api/capture", bytes.NewReader(body))
		r.Header.Set("Content-Encoding", "gzip")
		if err := Read(r, &dst, &scratch, Limits{Body: 1 << 20, Decoded: 16 << 20}); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzRead: any body, flagged as gzip or not, is read or refused with a
// client error; never more than the decoded limit is produced.
func FuzzRead(f *testing.F) {
	doc := []byte(`{"token":"t","events":[{"event":"e"}]}`)
	z := gz(doc)
	f.Add(doc, false)
	f.Add(z, true)
	f.Add(z, false)
	f.Add(z[:len(z)/2], true)
	f.Add([]byte("\x1f\x8b\x08\x00"), false)
	f.Add(gz(make([]byte, 8<<10)), true)
	f.Add(append(bytes.Clone(z), z...), true) // two gzip members
	lim := Limits{Body: 1 << 12, Decoded: 1 << 12}
	f.Fuzz(func(t *testing.T, b []byte, flag bool) {
		r := httptest.NewRequest(http.MethodPost, "/api/capture", bytes.NewReader(b))
		if flag {
			r.Header.Set("Content-Encoding", "gzip")
		}
		var dst, scratch bytes.Buffer
		err := Read(r, &dst, &scratch, lim)
		if int64(dst.Len()) > lim.Decoded {
			t.Fatalf("produced %d bytes, past the limit", dst.Len())
		}
		if err != nil {
			var he *Error
			if !errors.As(err, &he) || (he.Status != 400 && he.Status != 413) {
				t.Fatalf("error %v is not a client error", err)
			}
			return
		}
		if !Gzipped(r, b) && !bytes.Equal(dst.Bytes(), b) {
			t.Fatalf("plain body changed")
		}
	})
}
