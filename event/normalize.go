package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Limits that Normalize enforces.
const (
	MaxNameLen     = 200      // characters in event, distinct_id, session_id, window_id
	MaxKeyLen      = 200      // characters in a property key
	MaxStringBytes = 64 << 10 // bytes in a string value; longer ones are truncated
	MaxDepth       = 10       // nesting levels of properties (the object itself is level 1)
	MaxElements    = 50       // elements kept per chain, from the target up
	MaxTextLen     = 400      // characters of element text kept
	MaxFuture      = 24 * time.Hour
	MaxAge         = 365 * 24 * time.Hour
)

// Direct is the referring domain of a visit without a referrer.
const Direct = "$direct"

// Batch carries what the capture endpoint knows about the request that
// brought a group of events. Normalize caches per-request work (the parsed
// user agent, the anonymized address) in it, so a Batch must not be shared
// by concurrent Normalize calls; build a new one per request.
type Batch struct {
	ProjectID int64
	// SentAt is when the client sent the batch by its own clock; zero if the
	// client sent none. The difference to ReceivedAt corrects each event's
	// timestamp for the client's clock skew.
	SentAt time.Time
	// ReceivedAt is when the server received the batch (time.Now if zero).
	ReceivedAt time.Time
	// UserAgent is the request's User-Agent header, used for events that
	// carry none of their own.
	UserAgent   string
	IP          string
	AnonymizeIP bool // zero the last IPv4 octet, keep the /48 of IPv6
	DropIP      bool // keep no address at all

	memo batchMemo
}

type batchMemo struct {
	uaKey  string
	ua     uaInfo
	uaDone bool
	ip     string
	ipDone bool
}

// Reason is a short, machine-friendly reason for rejecting an event, with a
// bounded set of values, fit for a metrics label.
type Reason string

// Reasons for rejecting an event.
const (
	ReasonMissingUUID       Reason = "missing uuid"
	ReasonInvalidUUID       Reason = "invalid uuid"
	ReasonMissingEvent      Reason = "missing event"
	ReasonEventTooLong      Reason = "event too long"
	ReasonMissingDistinctID Reason = "missing distinct_id"
	ReasonDistinctIDTooLong Reason = "distinct_id too long"
	ReasonIDTooLong         Reason = "session or window id too long"
	ReasonMissingTimestamp  Reason = "missing timestamp"
	ReasonInvalidTimestamp  Reason = "invalid timestamp"
	ReasonTimestampFuture   Reason = "timestamp too far in the future"
	ReasonTimestampOld      Reason = "timestamp too old"
	ReasonPropsNotObject    Reason = "properties not an object"
	ReasonPropsInvalid      Reason = "invalid properties"
	ReasonPropKeyTooLong    Reason = "property key too long"
	ReasonPropsTooDeep      Reason = "properties too deep"
	ReasonNumberOutOfRange  Reason = "number out of range"
)

// Error explains why an event was rejected. Normalize returns *Error values,
// often shared ones: do not modify them.
type Error struct {
	Field  string // the event field at fault: "uuid", "timestamp", "properties", …
	Reason string // what is wrong with it, for people
	Code   Reason // the same, for machines
}

func (e *Error) Error() string { return e.Field + ": " + e.Reason }

// ReasonOf returns the Code of an *Error in err's chain, or "invalid".
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "invalid"
}

var (
	errMissingUUID       = &Error{"uuid", "missing", ReasonMissingUUID}
	errInvalidUUID       = &Error{"uuid", "not a UUID", ReasonInvalidUUID}
	errNilUUID           = &Error{"uuid", "the nil UUID cannot identify an event", ReasonInvalidUUID}
	errMissingEvent      = &Error{"event", "missing", ReasonMissingEvent}
	errEventTooLong      = &Error{"event", "longer than 200 characters", ReasonEventTooLong}
	errMissingDistinctID = &Error{"distinct_id", "missing", ReasonMissingDistinctID}
	errDistinctIDTooLong = &Error{"distinct_id", "longer than 200 characters", ReasonDistinctIDTooLong}
	errSessionIDTooLong  = &Error{"session_id", "longer than 200 characters", ReasonIDTooLong}
	errWindowIDTooLong   = &Error{"window_id", "longer than 200 characters", ReasonIDTooLong}
	errMissingTimestamp  = &Error{"timestamp", "missing", ReasonMissingTimestamp}
	errInvalidTimestamp  = &Error{"timestamp", "not an RFC 3339 string or a number of epoch milliseconds", ReasonInvalidTimestamp}
	errTimestampFuture   = &Error{"timestamp", "more than 24h in the future", ReasonTimestampFuture}
	errTimestampOld      = &Error{"timestamp", "more than 1 year old", ReasonTimestampOld}
	errTimestampSeconds  = &Error{"timestamp", "more than 1 year old (epoch seconds sent where milliseconds are expected?)", ReasonTimestampOld}
)

// scratch is per-call working memory, pooled so that Normalize allocates
// nothing for it in the steady state.
type scratch struct {
	props propScanner
	chain []byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxPooledScratch keeps a hostile event's huge buffers out of the pool.
const maxPooledScratch = 256 << 10

// Normalize validates r and writes its normalized, enriched form to dst.
//
// dst is reset first, but its Properties and Elements buffers are reused, so
// the previous content of dst must have been consumed (encoded, copied)
// before. Strings of dst may share memory with r. On error dst holds no
// meaningful event and the error is an *Error.
//
// What it does, in order:
//   - uuid: any UUID form (hyphenated or not, braces, urn:uuid:, any case)
//     becomes lowercase canonical; anything else is rejected.
//   - event, distinct_id: required, at most 200 characters; session_id and
//     window_id at most 200.
//   - timestamp: required, RFC 3339 or epoch milliseconds; shifted by the
//     batch's clock skew (ReceivedAt - SentAt), then rejected when more than
//     24 h in the future or more than a year old.
//   - properties: a JSON object (absent or null gives "{}"), re-encoded
//     compactly. Rejected when a key is longer than 200 characters, when
//     nested deeper than 10 levels, or when a number overflows float64
//     (1e400); a number that underflows (1e-400) becomes 0. String values
//     are cut to 64 KiB and scrubbed (see Scrub), except under $set,
//     $set_once and the identifier keys listed in exemptFromScrub; members
//     whose key is sensitive (see SensitiveKey) are dropped at any depth.
//   - url and referrer: userinfo dropped, sensitive query and fragment
//     parameters dropped, the other values scrubbed, emails in the path
//     masked; then split into host, path, query, UTM parameters and
//     referring domain ("$direct" when there is none).
//   - title and selector: scrubbed.
//   - user agent (the event's, else the request's): browser, version, OS,
//     OS version, device type.
//   - elements: at most 50, text cut to 400 characters and scrubbed, href
//     scrubbed like the URL, attributes named "value" or sensitive dropped,
//     the others scrubbed; flattened into ElementsChain.
//   - frustration flags from $rageclick / $deadclick / $errorclick, or from
//     $rage / $dead / $error_click properties of a $click.
//   - IP: anonymized or dropped as the project asks.
//
// Every string is made valid UTF-8 (invalid bytes become U+FFFD) and
// strings longer than 64 KiB are cut on a character boundary, which sets
// Truncated.
func Normalize(r *Raw, b *Batch, dst *Event) error {
	props, els := dst.Properties[:0], dst.Elements[:0]
	*dst = Event{Properties: props, Elements: els}
	if b == nil {
		b = &Batch{}
	}

	uuid, err := normalizeUUID(r.UUID)
	if err != nil {
		return err
	}
	dst.UUID = uuid
	if r.Event == "" {
		return errMissingEvent
	}
	if !withinRunes(r.Event, MaxNameLen) {
		return errEventTooLong
	}
	if r.DistinctID == "" {
		return errMissingDistinctID
	}
	if !withinRunes(r.DistinctID, MaxNameLen) {
		return errDistinctIDTooLong
	}
	if !withinRunes(r.SessionID, MaxNameLen) {
		return errSessionIDTooLong
	}
	if !withinRunes(r.WindowID, MaxNameLen) {
		return errWindowIDTooLong
	}
	dst.Event = validUTF8(r.Event)
	dst.DistinctID = validUTF8(r.DistinctID)
	dst.SessionID = validUTF8(r.SessionID)
	dst.WindowID = validUTF8(r.WindowID)

	received := b.ReceivedAt
	if received.IsZero() {
		received = time.Now()
	}
	received = received.UTC()
	if err := setTimestamp(dst, r.Timestamp, b.SentAt, received); err != nil {
		return err
	}
	dst.ReceivedAt = received
	dst.ProjectID = b.ProjectID

	sc := scratchPool.Get().(*scratch)
	defer putScratch(sc)
	props, err = sc.props.appendProps(props, r.Properties)
	dst.Properties = props
	if err != nil {
		dst.Properties = props[:0]
		return err
	}
	flags := sc.props.flags
	dst.Truncated = flags.truncated

	dst.URL = dst.limit(scrubURL(validUTF8(r.URL)))
	if dst.URL != "" {
		u := splitURL(dst.URL)
		dst.Host, dst.Path, dst.Query = u.host, u.path, u.query
		if dst.Path == "" && dst.Host != "" {
			dst.Path = "/"
		}
		utmParams(u.query, dst)
	}
	dst.Referrer = dst.limit(scrubURL(validUTF8(r.Referrer)))
	dst.RefDomain = refDomain(dst.Referrer)
	dst.Title = dst.limit(Scrub(validUTF8(r.Title)))
	dst.Selector = dst.limit(Scrub(validUTF8(r.Selector)))

	ua := b.UserAgent
	if r.UserAgent != "" {
		ua = r.UserAgent
	}
	if !b.memo.uaDone || b.memo.uaKey != ua {
		b.memo.uaKey, b.memo.ua, b.memo.uaDone = ua, parseUACached(ua), true
	}
	dst.Browser, dst.BrowserVersion = b.memo.ua.browser, b.memo.ua.browserVersion
	dst.OS, dst.OSVersion, dst.DeviceType = b.memo.ua.os, b.memo.ua.osVersion, b.memo.ua.device

	if !b.memo.ipDone {
		b.memo.ip, b.memo.ipDone = clientIP(b), true
	}
	dst.IP = b.memo.ip

	dst.X, dst.Y = finite(r.X), finite(r.Y)
	dst.OffsetX, dst.OffsetY = finite(r.OffsetX), finite(r.OffsetY)
	dst.ViewportWidth, dst.ViewportHeight = max(r.ViewportWidth, 0), max(r.ViewportHeight, 0)
	dst.DocumentWidth, dst.DocumentHeight = max(r.DocumentWidth, 0), max(r.DocumentHeight, 0)

	if len(r.Elements) > 0 {
		n := min(len(r.Elements), MaxElements)
		els = append(els, r.Elements[:n]...)
		for i := range els {
			dst.normalizeElement(&els[i])
		}
		dst.Elements = els
		sc.chain = AppendChain(sc.chain[:0], els)
		dst.ElementsChain = string(sc.chain)
	} else {
		dst.Elements = els[:0]
	}

	switch dst.Event {
	case "$rageclick":
		dst.Rage = true
	case "$deadclick":
		dst.Dead = true
	case "$errorclick":
		dst.Error = true
	case "$click":
		dst.Rage, dst.Dead, dst.Error = flags.rage, flags.dead, flags.errClick
	}
	return nil
}

func putScratch(sc *scratch) {
	if cap(sc.props.scratch) > maxPooledScratch || cap(sc.props.masked) > maxPooledScratch || cap(sc.chain) > maxPooledScratch {
		return
	}
	sc.props.in, sc.props.out = nil, nil
	scratchPool.Put(sc)
}

// limit cuts s to MaxStringBytes and records the cut.
func (e *Event) limit(s string) string {
	if len(s) <= MaxStringBytes {
		return s
	}
	e.Truncated = true
	return s[:utf8Cut(s, MaxStringBytes)]
}

func (e *Event) normalizeElement(el *Element) {
	el.Tag = lowerASCII(limitString(validUTF8(el.Tag), 64))
	el.ID = e.limit(validUTF8(el.ID))
	el.Text = Scrub(limitRunes(validUTF8(el.Text), MaxTextLen))
	el.Href = e.limit(scrubURL(validUTF8(el.Href)))
	el.NthChild, el.NthOfType = max(el.NthChild, 0), max(el.NthOfType, 0)
	for i, c := range el.Classes {
		if v := e.limit(validUTF8(c)); v != c {
			// Copy before the first change: the slice belongs to the Raw.
			cl := make([]string, len(el.Classes))
			copy(cl, el.Classes)
			cl[i] = v
			for j := i + 1; j < len(cl); j++ {
				cl[j] = e.limit(validUTF8(cl[j]))
			}
			el.Classes = cl
			break
		}
	}
	if len(el.Attrs) > 0 && attrsNeedWork(el.Attrs) {
		m := make(map[string]string, len(el.Attrs))
		for k, v := range el.Attrs {
			if dropAttr(k) {
				continue
			}
			m[validUTF8(k)] = e.limit(Scrub(validUTF8(v)))
		}
		el.Attrs = m
	}
}

func attrsNeedWork(m map[string]string) bool {
	for k, v := range m {
		if dropAttr(k) || !utf8.ValidString(k) || !utf8.ValidString(v) || len(v) > MaxStringBytes || Scrub(v) != v {
			return true
		}
	}
	return false
}

// dropAttr reports whether an element attribute must not be kept: sensitive
// names, and "value", since input values are never captured.
func dropAttr(k string) bool {
	return k == "value" || SensitiveKey(k)
}

func normalizeUUID(s string) (string, error) {
	if s == "" {
		return "", errMissingUUID
	}
	if len(s) == 36 && canonicalUUID(s) {
		return s, nil
	}
	return decodeUUID(s)
}

// decodeUUID normalizes any UUID form (see normalizeUUID).
func decodeUUID(s string) (string, error) {
	var id [16]byte
	canonical := len(s) == 36
	src := s
	if len(src) > 9 && eqFold(src[:9], "urn:uuid:") {
		src = src[9:]
		canonical = false
	}
	if len(src) == 38 && src[0] == '{' && src[37] == '}' {
		src = src[1:37]
		canonical = false
	}
	switch len(src) {
	case 36:
		if src[8] != '-' || src[13] != '-' || src[18] != '-' || src[23] != '-' {
			return "", errInvalidUUID
		}
	case 32:
		canonical = false
	default:
		return "", errInvalidUUID
	}
	n := 0
	var zero byte
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '-' && len(src) == 36 && (i == 8 || i == 13 || i == 18 || i == 23) {
			continue
		}
		v, ok := fromHex(c)
		if !ok {
			return "", errInvalidUUID
		}
		if c >= 'A' && c <= 'F' {
			canonical = false
		}
		if n%2 == 0 {
			id[n/2] = v << 4
		} else {
			id[n/2] |= v
		}
		zero |= v
		n++
	}
	if zero == 0 {
		return "", errNilUUID
	}
	if canonical {
		return s, nil
	}
	var out [36]byte
	j := 0
	for i, c := range id {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hexDigits[c>>4], hexDigits[c&0xF]
		j += 2
	}
	return string(out[:]), nil
}

// lowerHex maps '0'-'9' and 'a'-'f' to their values and every other byte to
// 0xFF.
var lowerHex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xFF
	}
	for i, c := range hexDigits {
		t[c] = byte(i)
	}
	return t
}()

// canonicalUUID reports whether s is a UUID already in canonical form
// (lowercase, hyphenated) and not the nil UUID: what SDKs send, checked
// without decoding.
func canonicalUUID(s string) bool {
	// Digit values are 0-15 and invalid bytes 0xFF: or-ing them all is
	// below 16 only if every byte is a digit, and 0 only for the nil UUID.
	var acc byte
	for i := 0; i < len(s); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return false
			}
			continue
		}
		acc |= lowerHex[s[i]]
	}
	return acc < 16 && acc != 0
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func setTimestamp(dst *Event, raw json.RawMessage, sentAt, received time.Time) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return errMissingTimestamp
	}
	ts, err := parseTime(raw)
	if err != nil {
		return err
	}
	if !sentAt.IsZero() {
		ts = ts.Add(received.Sub(sentAt))
	}
	if ts.After(received.Add(MaxFuture)) {
		return errTimestampFuture
	}
	if ts.Before(received.Add(-MaxAge)) {
		if raw[0] != '"' {
			// 1.7e9 "milliseconds" is January 1970; 1.7e9 seconds is now.
			if ms, err := strconv.ParseFloat(string(raw), 64); err == nil && ms >= 1e9 && ms < 1e11 {
				return errTimestampSeconds
			}
		}
		return errTimestampOld
	}
	dst.Timestamp = ts.UTC()
	return nil
}

// ParseTime reads a timestamp as events and batches carry it: a JSON string
// in RFC 3339 (fractional seconds optional) or a JSON number of milliseconds
// since the Unix epoch. The result is in UTC. The error says what is wrong
// without naming a field, so that the caller can (capture uses it for the
// batch's sent_at).
func ParseTime(raw json.RawMessage) (time.Time, error) {
	t, err := parseTime(raw)
	if err != nil {
		return t, errors.New(err.Reason)
	}
	return t, nil
}

func parseTime(raw json.RawMessage) (time.Time, *Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, errMissingTimestamp
	}
	if raw[0] == '"' {
		if len(raw) < 2 || raw[len(raw)-1] != '"' || bytes.IndexByte(raw[1:len(raw)-1], '\\') >= 0 {
			return time.Time{}, errInvalidTimestamp
		}
		t, err := time.Parse(time.RFC3339Nano, string(raw[1:len(raw)-1]))
		if err != nil {
			return time.Time{}, errInvalidTimestamp
		}
		return t.UTC(), nil
	}
	if raw[0] != '-' && !isDigit(raw[0]) {
		return time.Time{}, errInvalidTimestamp
	}
	if ms, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		if ms > maxEpochMs || ms < -maxEpochMs {
			return time.Time{}, errInvalidTimestamp
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || f > maxEpochMs || f < -maxEpochMs {
		return time.Time{}, errInvalidTimestamp
	}
	sec := math.Floor(f / 1000)
	nsec := (f - sec*1000) * 1e6
	return time.Unix(int64(sec), int64(nsec)).UTC(), nil
}

// maxEpochMs bounds epoch milliseconds to what time.Time handles without
// overflow in later arithmetic (about year 5000).
const maxEpochMs = 100_000_000_000_000

func clientIP(b *Batch) string {
	if b.DropIP || b.IP == "" {
		return ""
	}
	addr, err := netip.ParseAddr(b.IP)
	if err != nil {
		ap, err := netip.ParseAddrPort(b.IP)
		if err != nil {
			return ""
		}
		addr = ap.Addr()
	}
	addr = addr.Unmap().WithZone("")
	if b.AnonymizeIP {
		bits := 24
		if addr.Is6() {
			bits = 48
		}
		p, _ := addr.Prefix(bits)
		addr = p.Addr()
	}
	return addr.String()
}

func finite(p *float64) float64 {
	if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
		return 0
	}
	return *p
}

// validUTF8 replaces invalid UTF-8 with U+FFFD, allocating only then.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func withinRunes(s string, n int) bool {
	return len(s) <= n || utf8.RuneCountInString(s) <= n
}

// limitString cuts s to at most n bytes on a character boundary.
func limitString(s string, n int) string {
	return s[:utf8Cut(s, n)]
}

// limitRunes cuts s to at most n characters.
func limitRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
