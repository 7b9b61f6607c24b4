package event

import (
	"net/url"
	"strings"
)

// urlParts are the pieces of a URL as substrings of it. The split is done by
// hand (net/url.Parse allocates a *URL per call, and browsers send URLs that
// it refuses, such as unescaped spaces or '%' in a query).
type urlParts struct {
	scheme   string // without "://"
	userinfo bool   // the authority had "user:pass@", dropped from host
	host     string // lowercase when it had no uppercase letters; see lowerHost
	path     string
	query    string // without '?'
	fragment string // without '#'
	hasQuery bool
	hasFrag  bool
}

func splitURL(s string) urlParts {
	var u urlParts
	rest := s
	if i := strings.Index(s, "://"); i > 0 && validScheme(s[:i]) {
		u.scheme = s[:i]
		rest = s[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		auth := rest[:end]
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			u.userinfo = true
			auth = auth[at+1:]
		}
		u.host = auth
		rest = rest[end:]
	} else if !strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "?") && !strings.HasPrefix(s, "#") {
		// "example.com/path", as some referrers arrive. Anything else
		// without a scheme ("mailto:", "javascript:") has no host.
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if h := rest[:end]; strings.IndexByte(h, '.') > 0 && !strings.ContainsAny(h, " :@") {
			u.host = h
			rest = rest[end:]
		}
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		u.fragment, u.hasFrag = rest[i+1:], true
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		u.query, u.hasQuery = rest[i+1:], true
		rest = rest[:i]
	}
	u.path = rest
	u.host = lowerASCII(u.host)
	return u
}

func validScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// lowerASCII lowercases ASCII letters, allocating only when s has any
// uppercase letter.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// scrubURL drops the userinfo of a URL, drops query (and fragment)
// parameters whose name is sensitive, scrubs the values of the others, and
// masks email addresses in the path. It returns s itself when nothing
// changed.
func scrubURL(s string) string {
	if s == "" {
		return s
	}
	lower := s
	if len(s) > 7 {
		lower = s[:7]
	}
	if eqFold(lower, "mailto:") || (len(s) > 4 && eqFold(s[:4], "tel:")) {
		return Scrub(s)
	}
	u := splitURL(s)
	path := scrubString(u.path, scrubEmails)
	query := u.query
	if u.hasQuery {
		query = scrubParams(u.query)
	}
	frag := u.fragment
	if u.hasFrag {
		if strings.IndexByte(frag, '=') >= 0 {
			frag = scrubParams(frag) // "#access_token=…" of OAuth redirects
		} else {
			frag = Scrub(frag)
		}
	}
	if !u.userinfo && path == u.path && query == u.query && frag == u.fragment {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	if u.scheme != "" {
		b.WriteString(u.scheme)
		b.WriteString("://")
	}
	b.WriteString(u.host)
	b.WriteString(path)
	// A query or fragment emptied by scrubbing loses its delimiter too.
	if u.hasQuery && (query != "" || u.query == "") {
		b.WriteByte('?')
		b.WriteString(query)
	}
	if u.hasFrag && (frag != "" || u.fragment == "") {
		b.WriteByte('#')
		b.WriteString(frag)
	}
	return b.String()
}

// scrubParams scrubs an application/x-www-form-urlencoded string: sensitive
// parameters are removed, the values of the others are scrubbed. It returns
// q itself when nothing changed.
func scrubParams(q string) string {
	var b []byte
	changed := false
	for pos := 0; pos <= len(q); {
		end := strings.IndexByte(q[pos:], '&')
		if end < 0 {
			end = len(q)
		} else {
			end += pos
		}
		key, val, hasVal := strings.Cut(q[pos:end], "=")
		drop := sensitiveParam(key)
		newVal := val
		if !drop && hasVal {
			mode := uint8(scrubAll)
			if len(key) > 4 && eqFold(key[:4], "utm_") {
				// Campaign parameters are written by marketers, and ad
				// platforms fill them with long numeric campaign ids.
				mode = scrubEmails
			}
			newVal = scrubParamValue(val, mode)
		}
		if !changed && (drop || newVal != val) {
			changed = true
			b = append(b, q[:pos]...) // earlier parameters, with their '&'
		}
		if changed && !drop {
			b = append(b, key...)
			if hasVal {
				b = append(b, '=')
				b = append(b, newVal...)
			}
			b = append(b, '&')
		}
		pos = end + 1
	}
	if !changed {
		return q
	}
	if len(b) > 0 {
		b = b[:len(b)-1]
	}
	return string(b)
}

func sensitiveParam(key string) bool {
	if isEscaped(key) {
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
	}
	return SensitiveKey(key)
}

// scrubParamValue scrubs one query value, unescaping it first so that an
// address written "a%40b.com" is found.
func scrubParamValue(v string, mode uint8) string {
	// Only an '@' can hide behind an escape ("%40"); digits and separators
	// are counted from the raw value. Most values need no decoding.
	if !scrubCandidate(v, mode) && !containsFold(v, "%40") {
		return v
	}
	dec := v
	if isEscaped(v) {
		d, err := url.QueryUnescape(v)
		if err != nil {
			return scrubString(v, mode)
		}
		dec = d
	}
	s := scrubString(dec, mode)
	if s == dec {
		return v
	}
	return queryEscape(s)
}

// queryEscape escapes a query value like url.QueryEscape but keeps the
// brackets of the masks readable.
func queryEscape(s string) string {
	return bracketUnescaper.Replace(url.QueryEscape(s))
}

var bracketUnescaper = strings.NewReplacer("%5B", "[", "%5D", "]")

// utmParams extracts the UTM campaign parameters from a query string.
func utmParams(q string, e *Event) {
	for q != "" {
		var param string
		param, q, _ = strings.Cut(q, "&")
		key, val, _ := strings.Cut(param, "=")
		if len(key) < len("utm_term") || !eqFold(key[:4], "utm_") {
			continue
		}
		var dst *string
		switch {
		case eqFold(key, "utm_source"):
			dst = &e.UTMSource
		case eqFold(key, "utm_medium"):
			dst = &e.UTMMedium
		case eqFold(key, "utm_campaign"):
			dst = &e.UTMCampaign
		case eqFold(key, "utm_term"):
			dst = &e.UTMTerm
		case eqFold(key, "utm_content"):
			dst = &e.UTMContent
		default:
			continue
		}
		if *dst != "" {
			continue // the first occurrence wins, as in URLSearchParams.get
		}
		if isEscaped(val) {
			if d, err := url.QueryUnescape(val); err == nil {
				val = d
			}
		}
		*dst = limitString(val, MaxNameLen)
	}
}

// refDomain reduces a referrer to the host it came from; "$direct" when
// there was none.
func refDomain(ref string) string {
	if ref == "" {
		return Direct
	}
	u := splitURL(ref)
	if u.host == "" {
		return Direct
	}
	return u.host
}

// isEscaped reports whether a query component needs unescaping.
func isEscaped(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' || s[i] == '+' {
			return true
		}
	}
	return false
}
