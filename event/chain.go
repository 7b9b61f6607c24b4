package event

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// The elements chain flattens an element chain into one string that SQL can
// search with LIKE or a regular expression, in the spirit of PostHog's
// elements_chain. Grammar:
//
//	chain   = [ element *( ";" element ) ]     target first, then ancestors
//	element = tag *( "." class ) [ ":" attr *attr ]
//	attr    = name "=" DQUOTE value DQUOTE     no separator between attrs
//
// Attribute names, written in byte order:
//
//	attr__<name>  each of Element.Attrs
//	attr_id       Element.ID
//	href          Element.Href
//	nth-child     Element.NthChild (decimal)
//	nth-of-type   Element.NthOfType (decimal)
//	text          Element.Text
//
// Empty values, zero positions and empty class names are left out.
//
// Escaping is by percent-encoding (%XX, uppercase hex) so that the
// delimiters never appear raw where they would be ambiguous:
//
//   - in tags, classes and attribute names: '%', '"', '.', ':', ';', '=',
//     '\', space and control bytes (Tailwind's "md:flex" is "md%3Aflex");
//   - in values: '%', '"', ';', '\' and control bytes.
//
// What follows for matching (esc = EscapeChainName / EscapeChainValue):
//
//   - ';' only separates elements, so the target is everything before the
//     first ';' (split_part(chain, ';', 1)), and "the n-th ancestor" is a
//     split too.
//   - '"' only delimits values, so an attribute of the target is matched
//     exactly by the regular expression
//     `^[^;:]*:([^;"]*="[^";]*")*?text="` + esc(v) + `"` , or with LIKE as
//     '%"text="…"%' OR '%:text="…"%' on the target.
//   - a tag with a class: `(^|;)button(\.[^.:;]+)*\.` + esc(class) + `([.:;]|$)`.
//   - '\' never appears, so only the pattern language's own metacharacters
//     ('%' and '_' for LIKE; the usual ones for regexps) need escaping in
//     the escaped value.

// AppendChain appends the elements chain of els to dst.
func AppendChain(dst []byte, els []Element) []byte {
	for i := range els {
		if i > 0 {
			dst = append(dst, ';')
		}
		dst = appendElement(dst, &els[i])
	}
	return dst
}

// ChainString returns the elements chain of els.
func ChainString(els []Element) string {
	if len(els) == 0 {
		return ""
	}
	var buf [512]byte
	return string(AppendChain(buf[:0], els))
}

func appendElement(dst []byte, el *Element) []byte {
	dst = appendEscaped(dst, el.Tag, &nameEscapes)
	for _, c := range el.Classes {
		if c == "" {
			continue
		}
		dst = append(dst, '.')
		dst = appendEscaped(dst, c, &nameEscapes)
	}
	hasAttrs := el.ID != "" || el.Href != "" || el.NthChild != 0 || el.NthOfType != 0 || el.Text != "" || len(el.Attrs) > 0
	if !hasAttrs {
		return dst
	}
	dst = append(dst, ':')
	if len(el.Attrs) > 0 {
		var stack [16]string
		keys := stack[:0]
		for k := range el.Attrs {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			dst = append(dst, "attr__"...)
			dst = appendEscaped(dst, k, &nameEscapes)
			dst = appendValue(dst, el.Attrs[k])
		}
	}
	if el.ID != "" {
		dst = append(dst, "attr_id"...)
		dst = appendValue(dst, el.ID)
	}
	if el.Href != "" {
		dst = append(dst, "href"...)
		dst = appendValue(dst, el.Href)
	}
	if el.NthChild != 0 {
		dst = append(dst, `nth-child="`...)
		dst = strconv.AppendInt(dst, int64(el.NthChild), 10)
		dst = append(dst, '"')
	}
	if el.NthOfType != 0 {
		dst = append(dst, `nth-of-type="`...)
		dst = strconv.AppendInt(dst, int64(el.NthOfType), 10)
		dst = append(dst, '"')
	}
	if el.Text != "" {
		dst = append(dst, "text"...)
		dst = appendValue(dst, el.Text)
	}
	return dst
}

func appendValue(dst []byte, v string) []byte {
	dst = append(dst, '=', '"')
	dst = appendEscaped(dst, v, &valueEscapes)
	return append(dst, '"')
}

// Byte sets to percent-encode, as 256-bit tables.
var nameEscapes, valueEscapes [256]bool

func init() {
	for c := 0; c < 0x20; c++ {
		nameEscapes[c], valueEscapes[c] = true, true
	}
	nameEscapes[0x7f], valueEscapes[0x7f] = true, true
	for _, c := range `%";\` {
		nameEscapes[c], valueEscapes[c] = true, true
	}
	for _, c := range ".:= " {
		nameEscapes[c] = true
	}
}

func appendEscaped(dst []byte, s string, set *[256]bool) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !set[c] {
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xF])
		last = i + 1
	}
	return append(dst, s[last:]...)
}

const upperHex = "0123456789ABCDEF"

// EscapeChainName escapes a tag, class or attribute name as the elements
// chain writes it, for building match patterns.
func EscapeChainName(s string) string {
	return string(appendEscaped(nil, s, &nameEscapes))
}

// EscapeChainValue escapes an attribute value (text, href, id, …) as the
// elements chain writes it, for building match patterns.
func EscapeChainValue(s string) string {
	return string(appendEscaped(nil, s, &valueEscapes))
}

var errChain = errors.New("event: malformed elements chain")

// ParseChain reads an elements chain back into elements. Unknown attribute
// names are skipped so that chains written by a later version still parse.
func ParseChain(s string) ([]Element, error) {
	if s == "" {
		return nil, nil
	}
	els := make([]Element, 0, strings.Count(s, ";")+1)
	for part := range strings.SplitSeq(s, ";") {
		var el Element
		head, attrs, hasAttrs := strings.Cut(part, ":")
		name, classes, _ := strings.Cut(head, ".")
		var err error
		if el.Tag, err = unescapeChain(name); err != nil {
			return nil, err
		}
		if classes != "" || strings.Contains(head, ".") {
			for c := range strings.SplitSeq(classes, ".") {
				if c == "" {
					return nil, errChain
				}
				v, err := unescapeChain(c)
				if err != nil {
					return nil, err
				}
				el.Classes = append(el.Classes, v)
			}
		}
		if hasAttrs {
			if err := parseAttrs(attrs, &el); err != nil {
				return nil, err
			}
		}
		els = append(els, el)
	}
	return els, nil
}

func parseAttrs(s string, el *Element) error {
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq < 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return errChain
		}
		name := s[:eq]
		s = s[eq+2:]
		end := strings.IndexByte(s, '"')
		if end < 0 {
			return errChain
		}
		raw := s[:end]
		s = s[end+1:]
		v, err := unescapeChain(raw)
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(name, "attr__"):
			k, err := unescapeChain(name[len("attr__"):])
			if err != nil {
				return err
			}
			if el.Attrs == nil {
				el.Attrs = make(map[string]string)
			}
			el.Attrs[k] = v
		case name == "attr_id":
			el.ID = v
		case name == "href":
			el.Href = v
		case name == "text":
			el.Text = v
		case name == "nth-child":
			if el.NthChild, err = strconv.Atoi(v); err != nil {
				return errChain
			}
		case name == "nth-of-type":
			if el.NthOfType, err = strconv.Atoi(v); err != nil {
				return errChain
			}
		}
	}
	return nil
}

func unescapeChain(s string) (string, error) {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for ; i >= 0; i = strings.IndexByte(s, '%') {
		if i+2 >= len(s) {
			return "", errChain
		}
		hi, ok1 := fromHex(s[i+1])
		lo, ok2 := fromHex(s[i+2])
		if !ok1 || !ok2 {
			return "", errChain
		}
		b = append(b, s[:i]...)
		b = append(b, hi<<4|lo)
		s = s[i+3:]
	}
	return string(append(b, s...)), nil
}
