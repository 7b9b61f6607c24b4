package event

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Properties are validated and re-encoded by a small hand-written JSON
// scanner rather than by decoding into map[string]any: it checks the limits
// (depth, key length, number range), scrubs and truncates strings, drops
// sensitive keys and writes compact JSON in one pass, allocating nothing
// when the caller's buffer is large enough.

// Errors of properties. They are shared values: callers must not modify
// them.
var (
	errPropsNotObject = &Error{Field: "properties", Reason: "must be a JSON object", Code: ReasonPropsNotObject}
	errPropsInvalid   = &Error{Field: "properties", Reason: "invalid JSON", Code: ReasonPropsInvalid}
	errPropsDepth     = &Error{Field: "properties", Reason: "nested more than 10 levels deep", Code: ReasonPropsTooDeep}
	errPropsKey       = &Error{Field: "properties", Reason: "a key is longer than 200 characters", Code: ReasonPropKeyTooLong}
	errPropsNumber    = &Error{Field: "properties", Reason: "a number is out of the float64 range", Code: ReasonNumberOutOfRange}
)

// exemptFromScrub lists the top-level properties that are copied without
// Scrub: identifiers the product needs verbatim (a numeric user id passed as
// $anon_distinct_id must not become "[number]"), and the person properties
// that a developer sets on purpose through identify ($set: {email: …}).
// Sensitive keys are still dropped inside them.
var exemptFromScrub = []string{
	"$set", "$set_once", "$anon_distinct_id", "$device_id", "$session_id",
	"$window_id", "$user_id", "$groups", "$insert_id",
}

type propFlags struct {
	truncated bool
	rage      bool
	dead      bool
	errClick  bool
}

type propScanner struct {
	in      []byte
	pos     int
	out     []byte
	scratch []byte // decoded string
	masked  []byte // scrubbed string
	flags   propFlags
}

// appendProps validates the properties object in and appends its sanitized,
// compact encoding to out. Absent or null properties give "{}".
func (p *propScanner) appendProps(out, in []byte) ([]byte, error) {
	p.in, p.pos, p.out, p.flags = in, 0, out, propFlags{}
	p.ws()
	if p.pos == len(p.in) {
		return append(out, "{}"...), nil
	}
	switch p.in[p.pos] {
	case '{':
	case 'n':
		if err := p.literal("null"); err != nil {
			return out, err
		}
		p.ws()
		if p.pos != len(p.in) {
			return out, errPropsInvalid
		}
		p.out = p.out[:len(out)]
		return append(out, "{}"...), nil
	default:
		return out, errPropsNotObject
	}
	if err := p.object(1, true, true); err != nil {
		return out, err
	}
	p.ws()
	if p.pos != len(p.in) {
		return out, errPropsInvalid
	}
	return p.out, nil
}

func (p *propScanner) ws() {
	for p.pos < len(p.in) {
		switch p.in[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *propScanner) literal(lit string) error {
	if len(p.in)-p.pos < len(lit) || string(p.in[p.pos:p.pos+len(lit)]) != lit {
		return errPropsInvalid
	}
	p.out = append(p.out, lit...)
	p.pos += len(lit)
	return nil
}

// object scans the object at p.in[p.pos] (an opening brace), depth being
// its own nesting level (the properties object is level 1).
func (p *propScanner) object(depth int, top, scrub bool) error {
	p.pos++ // '{'
	p.out = append(p.out, '{')
	first := true
	p.ws()
	if p.pos < len(p.in) && p.in[p.pos] == '}' {
		p.pos++
		p.out = append(p.out, '}')
		return nil
	}
	for {
		p.ws()
		if p.pos >= len(p.in) || p.in[p.pos] != '"' {
			return errPropsInvalid
		}
		mark := len(p.out)
		if !first {
			p.out = append(p.out, ',')
		}
		keyStart := len(p.out)
		if err := p.str(false, MaxKeyLen); err != nil {
			return err
		}
		// The key as written out, still quoted and escaped; the decoded form
		// is in p.scratch unless the fast path copied it.
		key := p.out[keyStart+1 : len(p.out)-1]
		p.ws()
		if p.pos >= len(p.in) || p.in[p.pos] != ':' {
			return errPropsInvalid
		}
		p.pos++
		p.out = append(p.out, ':')
		p.ws()

		sensitive := sensitiveKey(key)
		valScrub := scrub
		flag := (*bool)(nil)
		if top && len(key) > 0 && key[0] == '$' {
			for _, k := range exemptFromScrub {
				if string(key) == k {
					valScrub = false
					break
				}
			}
			switch string(key) {
			case "$rage":
				flag = &p.flags.rage
			case "$dead":
				flag = &p.flags.dead
			case "$error_click":
				flag = &p.flags.errClick
			}
		}
		valStart := len(p.out)
		truncated := p.flags.truncated
		if err := p.value(depth, valScrub); err != nil {
			return err
		}
		if flag != nil && string(p.out[valStart:]) == "true" {
			*flag = true
		}
		if sensitive {
			// Validated like any value (a hostile payload cannot hide behind
			// a sensitive key), then dropped.
			p.out = p.out[:mark]
			p.flags.truncated = truncated
		} else {
			first = false
		}
		p.ws()
		if p.pos >= len(p.in) {
			return errPropsInvalid
		}
		switch p.in[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			p.out = append(p.out, '}')
			return nil
		default:
			return errPropsInvalid
		}
	}
}

func (p *propScanner) array(depth int, scrub bool) error {
	p.pos++ // '['
	p.out = append(p.out, '[')
	p.ws()
	if p.pos < len(p.in) && p.in[p.pos] == ']' {
		p.pos++
		p.out = append(p.out, ']')
		return nil
	}
	for {
		p.ws()
		if err := p.value(depth, scrub); err != nil {
			return err
		}
		p.ws()
		if p.pos >= len(p.in) {
			return errPropsInvalid
		}
		switch p.in[p.pos] {
		case ',':
			p.pos++
			p.out = append(p.out, ',')
		case ']':
			p.pos++
			p.out = append(p.out, ']')
			return nil
		default:
			return errPropsInvalid
		}
	}
}

// value scans one value inside a container of level depth.
func (p *propScanner) value(depth int, scrub bool) error {
	if p.pos >= len(p.in) {
		return errPropsInvalid
	}
	switch c := p.in[p.pos]; {
	case c == '{':
		if depth >= MaxDepth {
			return errPropsDepth
		}
		return p.object(depth+1, false, scrub)
	case c == '[':
		if depth >= MaxDepth {
			return errPropsDepth
		}
		return p.array(depth+1, scrub)
	case c == '"':
		return p.str(scrub, 0)
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	case c == '-' || isDigit(c):
		return p.number()
	}
	return errPropsInvalid
}

// number copies a JSON number after checking its grammar and that it fits a
// float64 (JSON has no Inf or NaN, but 1e400 parses to +Inf in most
// readers, and the stores would reject or corrupt it).
func (p *propScanner) number() error {
	start := p.pos
	i := p.pos
	if p.in[i] == '-' {
		i++
	}
	intStart := i
	if i < len(p.in) && p.in[i] == '0' {
		i++
	} else {
		for i < len(p.in) && isDigit(p.in[i]) {
			i++
		}
	}
	intDigits := i - intStart
	if intDigits == 0 {
		return errPropsInvalid
	}
	if i < len(p.in) && p.in[i] == '.' {
		i++
		f := i
		for i < len(p.in) && isDigit(p.in[i]) {
			i++
		}
		if i == f {
			return errPropsInvalid
		}
	}
	exp := false
	if i < len(p.in) && (p.in[i] == 'e' || p.in[i] == 'E') {
		exp = true
		i++
		if i < len(p.in) && (p.in[i] == '+' || p.in[i] == '-') {
			i++
		}
		f := i
		for i < len(p.in) && isDigit(p.in[i]) {
			i++
		}
		if i == f {
			return errPropsInvalid
		}
	}
	num := p.in[start:i]
	// Without an exponent a number only overflows with more than 308
	// integer digits, so the common case needs no parsing.
	if exp || intDigits > 308 {
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil && (math.IsInf(f, 0) || math.IsNaN(f)) {
			return errPropsNumber
		}
		if f == 0 && !zeroMantissa(num) {
			// Underflow (1e-400): readers disagree on it; store a plain 0.
			p.out = append(p.out, '0')
			p.pos = i
			return nil
		}
	}
	p.out = append(p.out, num...)
	p.pos = i
	return nil
}

// zeroMantissa reports whether the digits of a JSON number before its
// exponent are all zeros.
func zeroMantissa(num []byte) bool {
	for _, c := range num {
		if c == 'e' || c == 'E' {
			break
		}
		if c >= '1' && c <= '9' {
			return false
		}
	}
	return true
}

// str scans the string at p.in[p.pos] and writes it, sanitized, to p.out.
// Keys (maxRunes > 0) fail when longer than maxRunes characters; values are
// truncated to MaxStringBytes and scrubbed when scrub is set.
func (p *propScanner) str(scrub bool, maxRunes int) error {
	start := p.pos + 1
	i := start
	escaped, ascii := false, true
	for {
		if i >= len(p.in) {
			return errPropsInvalid
		}
		c := p.in[i]
		if c == '"' {
			break
		}
		if c == '\\' {
			escaped = true
			i += 2
			continue
		}
		if c < 0x20 {
			return errPropsInvalid
		}
		if c >= 0x80 {
			ascii = false
		}
		i++
	}
	raw := p.in[start:i]
	p.pos = i + 1
	if !escaped && (ascii || utf8.Valid(raw)) {
		if maxRunes > 0 {
			if len(raw) > maxRunes && (ascii || utf8.RuneCount(raw) > maxRunes) {
				return errPropsKey
			}
			p.out = append(p.out, '"')
			p.out = append(p.out, raw...)
			p.out = append(p.out, '"')
			return nil
		}
		if len(raw) <= MaxStringBytes && (!scrub || !scrubCandidate(raw, scrubAll)) {
			p.out = append(p.out, '"')
			p.out = append(p.out, raw...)
			p.out = append(p.out, '"')
			return nil
		}
	}
	// Slow path: decode escapes, repair UTF-8, truncate, scrub.
	limit := MaxStringBytes
	if maxRunes > 0 {
		limit = maxRunes * utf8.UTFMax
	}
	dec, cut, err := decodeJSONString(p.scratch[:0], raw, limit)
	p.scratch = dec
	if err != nil {
		return err
	}
	if maxRunes > 0 {
		if cut || utf8.RuneCount(dec) > maxRunes {
			return errPropsKey
		}
	} else if cut || len(dec) > MaxStringBytes {
		dec = dec[:utf8Cut(dec, MaxStringBytes)]
		p.flags.truncated = true
	}
	if scrub && scrubCandidate(dec, scrubAll) {
		if m, changed := scrubAppend(p.masked[:0], dec, scrubAll); changed {
			p.masked = m
			dec = m
		}
	}
	p.out = appendJSONString(p.out, dec)
	return nil
}

// decodeJSONString appends the decoded content of a JSON string body (no
// quotes) to dst, replacing invalid UTF-8 and lone surrogates with U+FFFD.
// It stops once dst has grown by more than limit bytes and reports the cut,
// so that a 10 MB string costs no 10 MB buffer.
func decodeJSONString(dst, raw []byte, limit int) ([]byte, bool, error) {
	base := len(dst)
	for i := 0; i < len(raw); {
		if len(dst)-base > limit {
			return dst, true, nil
		}
		c := raw[i]
		if c >= 0x80 {
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, raw[i:i+size]...)
			}
			i += size
			continue
		}
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		if i+1 >= len(raw) {
			return dst, false, errPropsInvalid
		}
		switch raw[i+1] {
		case '"', '\\', '/':
			dst = append(dst, raw[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(raw[i+2:])
			if !ok {
				return dst, false, errPropsInvalid
			}
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if v, ok := hex4(raw[i+2:]); ok {
						r2 = v
					}
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default:
			return dst, false, errPropsInvalid
		}
		i += 2
	}
	return dst, false, nil
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// utf8Cut returns the largest n <= max such that s[:n] does not split a
// UTF-8 sequence.
func utf8Cut[T ~string | ~[]byte](s T, max int) int {
	if len(s) <= max {
		return len(s)
	}
	n := max
	for n > 0 && n > max-utf8.UTFMax && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s, valid UTF-8, as a quoted JSON string.
func appendJSONString[T ~string | ~[]byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[last:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		last = i + 1
	}
	dst = append(dst, s[last:]...)
	return append(dst, '"')
}

// lookupTop returns the raw JSON value of the top-level member key of the
// object obj (as Normalize writes it: compact and valid), or nil.
func lookupTop(obj []byte, key string) []byte {
	if len(obj) < 2 || obj[0] != '{' {
		return nil
	}
	i := 1
	for i < len(obj) && obj[i] == '"' {
		kEnd := skipString(obj, i)
		if kEnd < 0 || kEnd >= len(obj) || obj[kEnd] != ':' {
			return nil
		}
		match := string(obj[i+1:kEnd-1]) == key
		vStart := kEnd + 1
		vEnd := skipValue(obj, vStart)
		if vEnd < 0 {
			return nil
		}
		if match {
			return obj[vStart:vEnd:vEnd]
		}
		if vEnd < len(obj) && obj[vEnd] == ',' {
			i = vEnd + 1
			continue
		}
		return nil
	}
	return nil
}

// skipString returns the index just past the string starting at b[i].
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index just past the compact JSON value at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				if j = skipString(b, j); j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
		j++
	}
	return j
}
