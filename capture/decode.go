package capture

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unsafe"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sightline-analytics/sightline/event"
)

// fastDecoder is the fast path of decodeRequest: a scanner written for the
// capture envelope that validates the JSON and fills event.Raw directly, in
// one pass. Reflection-driven unmarshaling (per-token bookkeeping, field
// lookup by name, one allocation per string) was most of what capture cost
// per event.
//
// It accepts only what json/v2's Unmarshal into a Request accepts, and then
// yields the same Request, so it needs no error reporting of its own: on
// anything it does not handle (a field of the wrong type, a member name
// written with escapes, a number that does not fit, an object of more than
// maxScannedMembers members inside a skipped value, malformed JSON) it gives
// up and decodeRequest starts over on the reflective path, which produces
// the batch's error or the per-event rejections. FuzzFastDecoder checks the
// equivalence. Like Unmarshal, it rejects duplicate member names at any
// depth; unlike it, it expects valid UTF-8 (the handler checks the body
// first).
//
// Strings without escapes, Timestamp, Properties and SentAt alias the body
// instead of being copied: the body and everything decoded from it are
// request-scoped (see Handler.capture), and nothing downstream keeps them:
// event.Normalize's output is encoded into the spool payload before the
// request ends. Token is copied, since the rate limiter and the project
// lookup may keep it. Elements, class lists and float pointers are carved
// from arenas reused from request to request.
type fastDecoder struct {
	b []byte
	i int

	names    [][]byte // member names of the objects being skipped, for duplicate checks
	elements []event.Element
	classes  []string
	floats   []float64
}

const (
	// maxScanDepth bounds the nesting the fast path follows (Unmarshal
	// allows 10,000; events deeper than event.MaxDepth are rejected anyway).
	maxScanDepth = 64
	// maxScannedMembers bounds an object inside a skipped value, whose
	// names are checked for duplicates by linear search.
	maxScannedMembers = 64

	// maxPooledArena bounds the arenas a pooled decoder keeps: a hostile
	// body of empty elements would otherwise leave hundreds of megabytes
	// in the pool.
	maxPooledArena = 1 << 16
)

// release drops what the request left in the arenas, so that the pooled
// decoder keeps neither the maps nor the body it referenced alive.
func (d *fastDecoder) release() {
	clear(d.elements)
	clear(d.classes)
	clear(d.names)
	d.elements, d.classes, d.floats, d.names = d.elements[:0], d.classes[:0], d.floats[:0], d.names[:0]
	if cap(d.elements) > maxPooledArena || cap(d.classes) > maxPooledArena || cap(d.floats) > maxPooledArena || cap(d.names) > maxPooledArena {
		*d = fastDecoder{}
	}
	d.b, d.i = nil, 0
}

// decode fills req from body, valid UTF-8, and reports whether it could.
// req.Events keeps its backing array either way; when decode fails, its
// elements hold partial data.
func (d *fastDecoder) decode(body []byte, req *Request) bool {
	d.b, d.i = body, 0
	*req = Request{Events: req.Events[:0]}
	var seen uint64
	ok := d.object(func(name []byte) bool {
		var bit uint64
		switch string(name) {
		case "token":
			bit = 1
		case "sent_at":
			bit = 2
		case "events":
			bit = 4
		default:
			return d.skipMember(&seen, name)
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		switch bit {
		case 1:
			s, ok := d.string()
			req.Token = strings.Clone(s)
			return ok
		case 2:
			v, ok := d.raw()
			req.SentAt = json.RawMessage(v)
			return ok
		}
		var ok bool
		req.Events, ok = d.events(req.Events)
		return ok
	})
	d.dropNames(seen)
	d.ws()
	return ok && d.i == len(d.b) // Unmarshal rejects anything after the value
}

// skipMember skips the value of a member the decoder has no field for. The
// names of such members are kept, for the duplicate check, in d.names from
// the index kept in the high bits of *seen.
func (d *fastDecoder) skipMember(seen *uint64, name []byte) bool {
	const shift = 32
	if *seen>>shift == 0 {
		*seen |= uint64(len(d.names)+1) << shift
	}
	start := int(*seen>>shift) - 1
	if !d.newName(start, name) {
		return false
	}
	return d.skip(1)
}

// newName records name among the names of the current object, which start
// at d.names[start], and reports whether it is new.
func (d *fastDecoder) newName(start int, name []byte) bool {
	if len(d.names)-start >= maxScannedMembers {
		return false
	}
	for _, n := range d.names[start:] {
		if string(n) == string(name) {
			return false
		}
	}
	d.names = append(d.names, name)
	return true
}

func (d *fastDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips whitespace and returns the next byte, or 0 at the end.
func (d *fastDecoder) next() byte {
	d.ws()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// object reads an object, calling member for each member with the cursor
// on its value; member reads the value. Names written with escapes leave
// the fast path: matching them would need unquoting.
func (d *fastDecoder) object(member func(name []byte) bool) bool {
	if d.next() != '{' {
		return false
	}
	d.i++
	if d.next() == '}' {
		d.i++
		return true
	}
	for {
		if d.next() != '"' {
			return false
		}
		name, escaped, ok := d.scanString()
		if !ok || escaped || d.next() != ':' {
			return false
		}
		d.i++
		if !member(name) {
			return false
		}
		switch d.next() {
		case ',':
			d.i++
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

// array reads an array, calling elem for each element with the cursor on it.
func (d *fastDecoder) array(elem func() bool) bool {
	if d.next() != '[' {
		return false
	}
	d.i++
	if d.next() == ']' {
		d.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch d.next() {
		case ',':
			d.i++
		case ']':
			d.i++
			return true
		default:
			return false
		}
	}
}

// stringEnds marks the bytes that end the fast scan of a string: the quote,
// a backslash, and the control characters JSON does not allow raw.
var stringEnds = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// scanString scans the string at the cursor and returns its raw content,
// between the quotes, and whether it holds escapes. Escapes are checked as
// jsontext checks them: a \u escape of a surrogate must form a pair.
func (d *fastDecoder) scanString() (content []byte, escaped, ok bool) {
	b := d.b
	i := d.i + 1
	start := i
	for {
		for i < len(b) && !stringEnds[b[i]] {
			i++
		}
		if i >= len(b) {
			return nil, false, false
		}
		switch c := b[i]; {
		case c == '"':
			d.i = i + 1
			return b[start:i], escaped, true
		case c < 0x20:
			return nil, false, false
		}
		escaped = true
		if i+1 >= len(b) {
			return nil, false, false
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			r, ok := hex4(b, i+2)
			if !ok {
				return nil, false, false
			}
			i += 6
			switch {
			case 0xDC00 <= r && r <= 0xDFFF:
				return nil, false, false // a low surrogate first
			case 0xD800 <= r && r <= 0xDBFF:
				if i+1 >= len(b) || b[i] != '\\' || b[i+1] != 'u' {
					return nil, false, false
				}
				lo, ok := hex4(b, i+2)
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return nil, false, false
				}
				i += 6
			}
		default:
			return nil, false, false
		}
	}
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// string reads a string value (or null, which Unmarshal leaves as "").
func (d *fastDecoder) string() (string, bool) {
	switch d.next() {
	case '"':
	case 'n':
		return "", d.literal("null")
	default:
		return "", false
	}
	v, escaped, ok := d.scanString()
	if !ok || len(v) == 0 {
		return "", ok
	}
	if !escaped {
		return unsafe.String(&v[0], len(v)), true
	}
	u, err := jsontext.AppendUnquote(nil, d.b[d.i-len(v)-2:d.i])
	if err != nil {
		return "", false
	}
	return unsafe.String(unsafe.SliceData(u), len(u)), true
}

func (d *fastDecoder) literal(lit string) bool {
	if !bytes.HasPrefix(d.b[d.i:], []byte(lit)) {
		return false
	}
	d.i += len(lit)
	return true
}

// null consumes a null if one comes next.
func (d *fastDecoder) null() bool {
	if d.next() == 'n' && bytes.HasPrefix(d.b[d.i:], []byte("null")) {
		d.i += 4
		return true
	}
	return false
}

// number scans a number at the cursor per JSON's grammar and returns it.
func (d *fastDecoder) number() ([]byte, bool) {
	b, i := d.b, d.i
	start := i
	digits := func() bool {
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	d.i = i
	return b[start:i], true
}

// numberOrNull reads a number, or reports null.
func (d *fastDecoder) numberOrNull() (lit []byte, null, ok bool) {
	switch c := d.next(); {
	case c == '-' || ('0' <= c && c <= '9'):
		lit, ok = d.number()
		return lit, false, ok
	case c == 'n':
		return nil, true, d.literal("null")
	}
	return nil, false, false
}

// int reads an integer as Unmarshal does into an int: no fraction, no
// exponent, within range.
func (d *fastDecoder) int() (int, bool) {
	lit, null, ok := d.numberOrNull()
	if !ok || null {
		return 0, ok
	}
	n, err := strconv.ParseInt(unsafe.String(&lit[0], len(lit)), 10, strconv.IntSize)
	return int(n), err == nil
}

// float reads a number into a pointer carved from the arena, or nil for null.
func (d *fastDecoder) float() (*float64, bool) {
	lit, null, ok := d.numberOrNull()
	if !ok || null {
		return nil, ok
	}
	f, err := strconv.ParseFloat(unsafe.String(&lit[0], len(lit)), 64)
	if err != nil {
		return nil, false // out of range, which Unmarshal rejects too
	}
	// A pointer into the arena stays valid when append moves the arena:
	// the old array lives on as long as the pointer does.
	d.floats = append(d.floats, f)
	return &d.floats[len(d.floats)-1], true
}

// raw scans any value and returns it as it appears in the body.
func (d *fastDecoder) raw() ([]byte, bool) {
	d.ws()
	start := d.i
	if !d.skip(1) {
		return nil, false
	}
	return d.b[start:d.i], true
}

// skip scans and validates any value at the given depth, checking the
// member names of its objects for duplicates.
func (d *fastDecoder) skip(depth int) bool {
	switch c := d.next(); {
	case c == '"':
		_, _, ok := d.scanString()
		return ok
	case c == '-' || ('0' <= c && c <= '9'):
		_, ok := d.number()
		return ok
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '[':
		if depth >= maxScanDepth {
			return false
		}
		return d.array(func() bool { return d.skip(depth + 1) })
	case c == '{':
		if depth >= maxScanDepth {
			return false
		}
		start := len(d.names)
		ok := d.object(func(name []byte) bool {
			return d.newName(start, name) && d.skip(depth+1)
		})
		clear(d.names[start:])
		d.names = d.names[:start]
		return ok
	}
	return false
}

// events decodes the events array into dst[:0]. It returns dst, grown, on
// failure too, so that its backing array is reused by the slow path.
func (d *fastDecoder) events(dst []event.Raw) ([]event.Raw, bool) {
	if d.null() {
		return dst[:0], true // Unmarshal makes it nil; empty is as good
	}
	ok := d.array(func() bool {
		dst = append(dst, event.Raw{})
		if d.null() {
			return true // a zero Raw, as Unmarshal leaves it
		}
		return d.event(&dst[len(dst)-1])
	})
	return dst, ok
}

// Bits of the members of an event (and of an element) seen so far.
const (
	fUUID = 1 << iota
	fEvent
	fDistinctID
	fSessionID
	fWindowID
	fURL
	fReferrer
	fTitle
	fSelector
	fUserAgent
	fTimestamp
	fProperties
	fElements
	fX
	fY
	fOffsetX
	fOffsetY
	fViewportWidth
	fViewportHeight
	fDocumentWidth
	fDocumentHeight
)

func (d *fastDecoder) event(r *event.Raw) bool {
	var seen uint64
	ok := d.object(func(name []byte) bool {
		var bit uint64
		var s *string
		var f **float64
		var n *int
		switch string(name) {
		case "uuid":
			bit, s = fUUID, &r.UUID
		case "event":
			bit, s = fEvent, &r.Event
		case "distinct_id":
			bit, s = fDistinctID, &r.DistinctID
		case "session_id":
			bit, s = fSessionID, &r.SessionID
		case "window_id":
			bit, s = fWindowID, &r.WindowID
		case "url":
			bit, s = fURL, &r.URL
		case "referrer":
			bit, s = fReferrer, &r.Referrer
		case "title":
			bit, s = fTitle, &r.Title
		case "selector":
			bit, s = fSelector, &r.Selector
		case "user_agent":
			bit, s = fUserAgent, &r.UserAgent
		case "timestamp":
			bit = fTimestamp
		case "properties":
			bit = fProperties
		case "elements":
			bit = fElements
		case "x":
			bit, f = fX, &r.X
		case "y":
			bit, f = fY, &r.Y
		case "offset_x":
			bit, f = fOffsetX, &r.OffsetX
		case "offset_y":
			bit, f = fOffsetY, &r.OffsetY
		case "viewport_width":
			bit, n = fViewportWidth, &r.ViewportWidth
		case "viewport_height":
			bit, n = fViewportHeight, &r.ViewportHeight
		case "document_width":
			bit, n = fDocumentWidth, &r.DocumentWidth
		case "document_height":
			bit, n = fDocumentHeight, &r.DocumentHeight
		default:
			return d.skipMember(&seen, name)
		}
		if seen&bit != 0 {
			return false // a duplicate name
		}
		seen |= bit
		var ok bool
		switch {
		case s != nil:
			*s, ok = d.string()
		case f != nil:
			*f, ok = d.float()
		case n != nil:
			*n, ok = d.int()
		case bit == fTimestamp:
			r.Timestamp, ok = d.raw()
		case bit == fProperties:
			r.Properties, ok = d.raw()
		default:
			r.Elements, ok = d.elementList()
		}
		return ok
	})
	d.dropNames(seen)
	return ok
}

// dropNames forgets the unknown member names an object recorded.
func (d *fastDecoder) dropNames(seen uint64) {
	if start := int(seen>>32) - 1; start >= 0 {
		clear(d.names[start:])
		d.names = d.names[:start]
	}
}

func (d *fastDecoder) elementList() ([]event.Element, bool) {
	if d.null() {
		return nil, true
	}
	start := len(d.elements)
	ok := d.array(func() bool {
		d.elements = append(d.elements, event.Element{})
		if d.null() {
			return true
		}
		return d.element(len(d.elements) - 1)
	})
	if !ok {
		return nil, false
	}
	if len(d.elements) == start {
		return []event.Element{}, true // empty, not nil, as Unmarshal makes it
	}
	// Sliced only now: appending may have moved the arena meanwhile.
	return d.elements[start:len(d.elements):len(d.elements)], true
}

// element decodes d.elements[i] (by index: decoding a class list does not
// move the element arena, but a pointer would be easy to break).
func (d *fastDecoder) element(i int) bool {
	var seen uint64
	ok := d.object(func(name []byte) bool {
		el := &d.elements[i]
		var bit uint64
		var s *string
		var n *int
		switch string(name) {
		case "tag":
			bit, s = 1, &el.Tag
		case "id":
			bit, s = 2, &el.ID
		case "text":
			bit, s = 4, &el.Text
		case "href":
			bit, s = 8, &el.Href
		case "classes":
			bit = 16
		case "attrs":
			bit = 32
		case "nth_child":
			bit, n = 64, &el.NthChild
		case "nth_of_type":
			bit, n = 128, &el.NthOfType
		default:
			return d.skipMember(&seen, name)
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		var ok bool
		switch {
		case s != nil:
			*s, ok = d.string()
		case n != nil:
			*n, ok = d.int()
		case bit == 16:
			el.Classes, ok = d.classList()
		default:
			el.Attrs, ok = d.attrs()
		}
		return ok
	})
	d.dropNames(seen)
	return ok
}

func (d *fastDecoder) classList() ([]string, bool) {
	if d.null() {
		return nil, true
	}
	start := len(d.classes)
	ok := d.array(func() bool {
		s, ok := d.string()
		d.classes = append(d.classes, s)
		return ok
	})
	if !ok {
		return nil, false
	}
	if len(d.classes) == start {
		return []string{}, true
	}
	return d.classes[start:len(d.classes):len(d.classes)], true
}

// attrs decodes an attribute map. Its keys are object member names, so a
// key written with escapes leaves the fast path, like any name.
func (d *fastDecoder) attrs() (map[string]string, bool) {
	if d.null() {
		return nil, true
	}
	m := make(map[string]string)
	ok := d.object(func(name []byte) bool {
		k := unsafe.String(unsafe.SliceData(name), len(name))
		if _, dup := m[k]; dup {
			return false
		}
		v, ok := d.string()
		m[k] = v
		return ok
	})
	return m, ok
}
