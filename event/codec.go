package event

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// The spool's batch format: compact, versioned, and cheap to write and read
// (several times faster than encoding/json, see BenchmarkCodec).
//
//	batch   = version:byte count:uvarint record*count
//	record  = len:uvarint body            (len bytes)
//	body    = flags:uvarint project:varint
//	          timestamp:time received:time
//	          25 × string                 (see codecStrings for the order)
//	          viewport_w viewport_h document_w document_h: varint
//	          x y offset_x offset_y: float64 LE, each only when its flag is set
//	          properties:bytes
//	          n:uvarint element*n
//	element = tag id:string  n:uvarint class:string*n  text href:string
//	          n:uvarint (key value:string)*n   (sorted by key)
//	          nth_child nth_of_type:varint
//	time    = seconds:varint nanos:uvarint (Unix, UTC)
//	string  = len:uvarint bytes
//
// A reader skips bytes left at the end of a record body, so a later version
// may append fields to the body and keep the version byte.

// BatchVersion is the format version AppendBatch writes.
const BatchVersion = 1

const (
	flagRage = 1 << iota
	flagDead
	flagError
	flagTruncated
	flagX
	flagY
	flagOffsetX
	flagOffsetY
)

// codecStrings lists the string fields of an event in wire order. Changing
// it changes the format: append only, with a new version.
func codecStrings(e *Event) [25]*string {
	return [25]*string{
		&e.UUID, &e.Event, &e.DistinctID, &e.SessionID, &e.WindowID,
		&e.URL, &e.Host, &e.Path, &e.Query, &e.Title, &e.Referrer, &e.RefDomain,
		&e.UTMSource, &e.UTMMedium, &e.UTMCampaign, &e.UTMTerm, &e.UTMContent,
		&e.Browser, &e.BrowserVersion, &e.OS, &e.OSVersion, &e.DeviceType,
		&e.IP, &e.ElementsChain, &e.Selector,
	}
}

// AppendBatch appends the encoding of evs to dst.
func AppendBatch(dst []byte, evs []Event) []byte {
	dst = append(dst, BatchVersion)
	dst = binary.AppendUvarint(dst, uint64(len(evs)))
	for i := range evs {
		// Reserve three bytes for the length and write it afterwards as a
		// padded uvarint (0x85 0x80 0x00 is 5), which readers accept; only a
		// record of 2 MiB or more needs the body moved.
		start := len(dst)
		dst = append(dst, 0, 0, 0)
		dst = appendEvent(dst, &evs[i])
		n := len(dst) - start - 3
		if n < 1<<21 {
			dst[start], dst[start+1], dst[start+2] = byte(n)|0x80, byte(n>>7)|0x80, byte(n>>14)
			continue
		}
		var lb [binary.MaxVarintLen64]byte
		l := binary.PutUvarint(lb[:], uint64(n))
		dst = slices.Insert(dst, start+3, lb[3:l]...)
		copy(dst[start:], lb[:l])
	}
	return dst
}

func appendEvent(dst []byte, e *Event) []byte {
	var flags uint64
	for i, b := range [...]bool{e.Rage, e.Dead, e.Error, e.Truncated, e.X != 0, e.Y != 0, e.OffsetX != 0, e.OffsetY != 0} {
		if b {
			flags |= 1 << i
		}
	}
	dst = binary.AppendUvarint(dst, flags)
	dst = binary.AppendVarint(dst, e.ProjectID)
	dst = appendTime(dst, e.Timestamp)
	dst = appendTime(dst, e.ReceivedAt)
	for _, s := range codecStrings(e) {
		dst = appendString(dst, *s)
	}
	for _, v := range [...]int{e.ViewportWidth, e.ViewportHeight, e.DocumentWidth, e.DocumentHeight} {
		dst = binary.AppendVarint(dst, int64(v))
	}
	for _, f := range [...]float64{e.X, e.Y, e.OffsetX, e.OffsetY} {
		if f != 0 {
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.Properties)))
	dst = append(dst, e.Properties...)
	dst = binary.AppendUvarint(dst, uint64(len(e.Elements)))
	for i := range e.Elements {
		el := &e.Elements[i]
		dst = appendString(dst, el.Tag)
		dst = appendString(dst, el.ID)
		dst = binary.AppendUvarint(dst, uint64(len(el.Classes)))
		for _, c := range el.Classes {
			dst = appendString(dst, c)
		}
		dst = appendString(dst, el.Text)
		dst = appendString(dst, el.Href)
		dst = binary.AppendUvarint(dst, uint64(len(el.Attrs)))
		if len(el.Attrs) > 0 {
			var stack [16]string
			keys := stack[:0]
			for k := range el.Attrs {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				dst = appendString(dst, k)
				dst = appendString(dst, el.Attrs[k])
			}
		}
		dst = binary.AppendVarint(dst, int64(el.NthChild))
		dst = binary.AppendVarint(dst, int64(el.NthOfType))
	}
	return dst
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// ErrBatch reports a batch that is not in the spool's format: truncated,
// corrupt, or of an unknown version.
var ErrBatch = errors.New("event: malformed batch")

// DecodeBatch decodes a batch written by AppendBatch into dst[:0] and
// returns the events.
//
// dst's Properties and Elements buffers are reused, so events previously
// decoded into it must have been consumed. The strings of the events share
// one copy of b made per call (b itself is not retained, and the caller may
// reuse it); class lists share one arena per call.
//
// Hostile or corrupt input yields an error wrapping ErrBatch (with the
// events decoded before the fault), never a panic;
// memory allocated stays within a constant factor of len(b) because every
// count is checked against the bytes left before anything is allocated.
func DecodeBatch(b []byte, dst []Event) ([]Event, error) {
	return decodeBatch(b, dst, false)
}

// DecodeBatchShared is DecodeBatch without the copy of b: the strings of the
// events point into b, which must then stay unchanged for as long as they
// are used. The spool's payloads qualify (its reader never rewrites one), and
// the copy is most of what the spool writer allocates per event.
func DecodeBatchShared(b []byte, dst []Event) ([]Event, error) {
	return decodeBatch(b, dst, true)
}

func decodeBatch(b []byte, dst []Event, shared bool) ([]Event, error) {
	dst = dst[:0]
	if len(b) == 0 {
		return dst, fmt.Errorf("%w: empty", ErrBatch)
	}
	if b[0] != BatchVersion {
		return dst, fmt.Errorf("%w: unknown version %d", ErrBatch, b[0])
	}
	s := unsafe.String(&b[0], len(b))
	if !shared {
		s = strings.Clone(s)
	}
	d := decoder{b: b, s: s, off: 1, end: len(b)}
	count := d.uvarint()
	if d.err == nil && count > uint64(d.left()/minRecordLen) {
		d.fail("event count %d exceeds the batch size", count)
	}
	if d.err != nil {
		return dst, d.err
	}
	for i := uint64(0); i < count; i++ {
		n := d.uvarint()
		if d.err == nil && n > uint64(d.left()) {
			d.fail("event %d: record of %d bytes past the end", i, n)
		}
		if d.err != nil {
			return dst, d.err
		}
		end := d.off + int(n)
		if cap(dst) > len(dst) {
			dst = dst[:len(dst)+1]
		} else {
			dst = append(dst, Event{})
		}
		d.end = end
		d.event(&dst[len(dst)-1])
		if d.err != nil {
			return dst[:len(dst)-1], fmt.Errorf("event %d: %w", i, d.err)
		}
		d.off, d.end = end, len(b)
	}
	if d.left() != 0 {
		return dst, fmt.Errorf("%w: %d bytes after the last event", ErrBatch, d.left())
	}
	return dst, nil
}

// minRecordLen is the smallest encoded event: a length byte and a body of
// one-byte fields (flags, project, 2×2 for times, 25 strings, 4 sizes,
// properties length, element count).
const minRecordLen = 1 + 1 + 1 + 4 + 25 + 4 + 1 + 1

// minElementLen is the smallest encoded element: tag, id, class count, text,
// href, attr count, two positions.
const minElementLen = 8

type decoder struct {
	b     []byte
	s     string // b as a string (a copy unless shared): every decoded string is a substring
	off   int
	end   int // end of the current record
	err   error
	arena []string // class names of the batch, handed out in slices
}

func (d *decoder) left() int { return d.end - d.off }

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrBatch}, args...)...)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:d.end])
	if n <= 0 {
		d.fail("bad varint at offset %d", d.off)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:d.end])
	if n <= 0 {
		d.fail("bad varint at offset %d", d.off)
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) int() int {
	v := d.varint()
	if v > math.MaxInt32 || v < math.MinInt32 {
		d.fail("integer %d out of range", v)
		return 0
	}
	return int(v)
}

// count reads a count of items that take at least size bytes each.
func (d *decoder) count(size int) int {
	n := d.uvarint()
	if n > uint64(d.left()/size) {
		d.fail("count %d exceeds the bytes left", n)
		return 0
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(d.left()) {
		d.fail("length %d past the end", n)
		return nil
	}
	v := d.b[d.off : d.off+int(n)]
	d.off += int(n)
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(d.left()) {
		d.fail("length %d past the end", n)
		return ""
	}
	v := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return v
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.fail("nanoseconds %d out of range", nsec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) float() float64 {
	if d.err != nil {
		return 0
	}
	if d.left() < 8 {
		d.fail("float past the end")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.off:]))
	d.off += 8
	if math.IsNaN(v) || math.IsInf(v, 0) {
		// Normalize lets no non-finite number through: the record is
		// corrupt.
		d.fail("non-finite number")
		return 0
	}
	return v
}

// event decodes one record body into e, reusing e's buffers.
//
// Every field of e is assigned (TestDecodeOverwritesEveryField checks it)
// rather than e zeroed first: e sits in the spool writer's large batch, and
// clearing it wrote each pointer field twice, under the GC's write barrier.
func (d *decoder) event(e *Event) {
	props, els := e.Properties[:0], e.Elements[:0]
	flags := d.uvarint()
	e.Rage, e.Dead, e.Error = flags&flagRage != 0, flags&flagDead != 0, flags&flagError != 0
	e.Truncated = flags&flagTruncated != 0
	e.ProjectID = d.varint()
	e.Timestamp = d.time()
	e.ReceivedAt = d.time()
	for _, s := range codecStrings(e) {
		*s = d.string()
	}
	e.ViewportWidth, e.ViewportHeight = d.int(), d.int()
	e.DocumentWidth, e.DocumentHeight = d.int(), d.int()
	for i, f := range [...]*float64{&e.X, &e.Y, &e.OffsetX, &e.OffsetY} {
		*f = 0
		if flags&(flagX<<i) != 0 {
			*f = d.float()
		}
	}
	e.Properties = append(props, d.bytes()...)
	n := d.count(minElementLen)
	if d.err != nil {
		e.Properties = props
		return
	}
	if n == 0 {
		e.Elements = els
		return
	}
	els = slices.Grow(els[:0], n)[:n]
	for i := range els {
		d.element(&els[i])
	}
	e.Elements = els
}

func (d *decoder) element(el *Element) {
	*el = Element{}
	el.Tag = d.string()
	el.ID = d.string()
	if n := d.count(1); n > 0 {
		el.Classes = d.strings(n)
		for i := range el.Classes {
			el.Classes[i] = d.string()
		}
	}
	el.Text = d.string()
	el.Href = d.string()
	if n := d.count(2); n > 0 {
		// A fresh map: one left in dst may still be shared with a Raw.
		el.Attrs = make(map[string]string, n)
		for range n {
			k := d.string()
			el.Attrs[k] = d.string()
		}
	}
	el.NthChild = d.int()
	el.NthOfType = d.int()
}

// strings returns a slice of n strings from the batch's arena. Slices are
// never reused across calls, so classes left in dst are not overwritten.
func (d *decoder) strings(n int) []string {
	if cap(d.arena)-len(d.arena) < n {
		d.arena = make([]string, 0, max(n, 64))
	}
	l := len(d.arena)
	d.arena = d.arena[:l+n]
	return d.arena[l : l+n : l+n]
}
