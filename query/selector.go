package query

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/sightline-analytics/sightline/event"
)

// Selectors match clicks retroactively against the stored elements chain
// (see event.AppendChain for its grammar). A CSS selector is translated into
// one RE2 regular expression over the chain, bound as a parameter: the
// target element comes first in the chain, so the selector's last compound
// is anchored at the start and its ancestors follow after ';'.
//
// Supported: type selectors and *, #id, .class (up to 4 per element),
// [attr], [attr=value], :nth-child(n), :nth-of-type(n), and the descendant
// (space) and child (>) combinators.

type compound struct {
	tag     string
	classes []string
	attrs   []chainAttr // required attributes, in chain order
}

type chainAttr struct {
	name  string // as written in the chain: attr__x, attr_id, href, nth-child, nth-of-type, text
	value string // raw (unescaped) value; "" with any=true means "present"
	any   bool
}

type selectorPart struct {
	c     compound
	child bool // joined to the next (inner) compound by ">"
}

func parseSelector(s string) ([]selectorPart, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("selector is empty")
	}
	if len(s) > 1000 {
		return nil, errors.New("selectors are limited to 1000 bytes")
	}
	var parts []selectorPart
	i := 0
	pendingChild := false
	for i < len(s) {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i < len(s) && s[i] == '>' {
			if len(parts) == 0 || pendingChild {
				return nil, fmt.Errorf("selector %q: misplaced '>'", s)
			}
			pendingChild = true
			i++
			continue
		}
		if i >= len(s) {
			break
		}
		c, n, err := parseCompound(s[i:])
		if err != nil {
			return nil, fmt.Errorf("selector %q: %v", s, err)
		}
		if len(parts) > 0 {
			parts[len(parts)-1].child = pendingChild
		}
		pendingChild = false
		parts = append(parts, selectorPart{c: c})
		i += n
	}
	if pendingChild {
		return nil, fmt.Errorf("selector %q ends with '>'", s)
	}
	if len(parts) == 0 {
		return nil, errors.New("selector is empty")
	}
	if len(parts) > 10 {
		return nil, errors.New("selectors are limited to 10 elements")
	}
	return parts, nil
}

func isIdentByte(c byte) bool {
	return c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func readIdent(s string) (string, int) {
	n := 0
	for n < len(s) && (isIdentByte(s[n]) || s[n] == '\\' && n+1 < len(s)) {
		if s[n] == '\\' {
			n += 2
			continue
		}
		n++
	}
	return strings.ReplaceAll(s[:n], `\`, ""), n
}

func parseCompound(s string) (compound, int, error) {
	var c compound
	i := 0
	if i < len(s) && s[i] == '*' {
		i++
	} else if i < len(s) && isIdentByte(s[i]) {
		tag, n := readIdent(s[i:])
		c.tag = strings.ToLower(tag)
		i += n
	}
	for i < len(s) && s[i] != ' ' && s[i] != '>' {
		switch s[i] {
		case '#':
			id, n := readIdent(s[i+1:])
			if id == "" {
				return c, 0, errors.New("empty #id")
			}
			c.attrs = append(c.attrs, chainAttr{name: "attr_id", value: id})
			i += 1 + n
		case '.':
			cl, n := readIdent(s[i+1:])
			if cl == "" {
				return c, 0, errors.New("empty .class")
			}
			c.classes = append(c.classes, cl)
			i += 1 + n
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return c, 0, errors.New("unclosed [")
			}
			body := s[i+1 : i+end]
			i += end + 1
			name, val, hasVal := strings.Cut(body, "=")
			name = strings.TrimSpace(name)
			if name == "" || strings.ContainsAny(name, `~|^$*"'`) {
				return c, 0, fmt.Errorf("unsupported attribute selector [%s]: use [name] or [name=value]", body)
			}
			a := chainAttr{any: !hasVal}
			switch name {
			case "id":
				a.name = "attr_id"
			case "href":
				a.name = "href"
			default:
				a.name = "attr__" + event.EscapeChainName(name)
			}
			if hasVal {
				val = strings.TrimSpace(val)
				if len(val) >= 2 && (val[0] == '"' && val[len(val)-1] == '"' || val[0] == '\'' && val[len(val)-1] == '\'') {
					val = val[1 : len(val)-1]
				}
				a.value = val
			}
			c.attrs = append(c.attrs, a)
		case ':':
			rest := s[i+1:]
			var name string
			switch {
			case strings.HasPrefix(rest, "nth-child("):
				name = "nth-child"
			case strings.HasPrefix(rest, "nth-of-type("):
				name = "nth-of-type"
			default:
				return c, 0, fmt.Errorf("unsupported pseudo-class at %q: only :nth-child(n) and :nth-of-type(n)", s[i:])
			}
			open := i + 1 + len(name) + 1
			end := strings.IndexByte(s[open:], ')')
			if end < 0 {
				return c, 0, errors.New("unclosed (")
			}
			n, err := strconv.Atoi(strings.TrimSpace(s[open : open+end]))
			if err != nil || n < 1 {
				return c, 0, fmt.Errorf(":%s takes a positive number", name)
			}
			c.attrs = append(c.attrs, chainAttr{name: name, value: strconv.Itoa(n)})
			i = open + end + 1
		default:
			return c, 0, fmt.Errorf("unexpected %q", s[i:])
		}
	}
	if i == 0 {
		return c, 0, fmt.Errorf("unexpected %q", s)
	}
	if len(c.classes) > 4 {
		return c, 0, errors.New("at most 4 classes per element")
	}
	sort.SliceStable(c.attrs, func(a, b int) bool { return attrRank(c.attrs[a].name) < attrRank(c.attrs[b].name) })
	return c, i, nil
}

// attrRank orders attributes as event.AppendChain writes them.
func attrRank(name string) string {
	switch name {
	case "attr_id":
		return "1"
	case "href":
		return "2"
	case "nth-child":
		return "3"
	case "nth-of-type":
		return "4"
	case "text":
		return "5"
	}
	return "0" + name
}

const (
	anyClasses = `(?:\.[^.:;]+)*`
	anyAttr    = `[^;"]*="[^";]*"`
)

// selectorRegex translates a parsed selector into a regular expression over
// the elements chain.
func selectorRegex(parts []selectorPart) string {
	var b strings.Builder
	b.WriteString("^")
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString(compoundRegex(parts[i].c))
		if i == 0 {
			b.WriteString("(?:;|$)")
			break
		}
		if parts[i-1].child {
			b.WriteString(";")
		} else {
			b.WriteString(";(?:[^;]*;)*?")
		}
	}
	return b.String()
}

func compoundRegex(c compound) string {
	var b strings.Builder
	if c.tag != "" {
		b.WriteString(regexp.QuoteMeta(event.EscapeChainName(c.tag)))
	} else {
		b.WriteString(`[^.:;]*`)
	}
	if len(c.classes) == 0 {
		b.WriteString(anyClasses)
	} else {
		var alts []string
		permute(c.classes, func(p []string) {
			var a strings.Builder
			for _, cl := range p {
				a.WriteString(anyClasses)
				a.WriteString(`\.`)
				a.WriteString(regexp.QuoteMeta(event.EscapeChainName(cl)))
			}
			a.WriteString(anyClasses)
			alts = append(alts, a.String())
		})
		b.WriteString("(?:" + strings.Join(alts, "|") + ")")
	}
	if len(c.attrs) == 0 {
		b.WriteString(`(?::[^;]*)?`)
		return b.String()
	}
	b.WriteString(":")
	for _, a := range c.attrs {
		b.WriteString("(?:" + anyAttr + ")*?")
		b.WriteString(regexp.QuoteMeta(a.name))
		if a.any {
			b.WriteString(`="[^";]*"`)
		} else {
			b.WriteString(`="` + regexp.QuoteMeta(event.EscapeChainValue(a.value)) + `"`)
		}
	}
	b.WriteString(`[^;]*`)
	return b.String()
}

func permute(xs []string, f func([]string)) {
	p := append([]string(nil), xs...)
	var rec func(k int)
	rec = func(k int) {
		if k == len(p) {
			f(p)
			return
		}
		for i := k; i < len(p); i++ {
			p[k], p[i] = p[i], p[k]
			rec(k + 1)
			p[k], p[i] = p[i], p[k]
		}
	}
	rec(0)
}

// chainValueRegex matches an attribute (text, href) of any element whose
// value equals v (contains: holds v, case-insensitively).
func chainValueRegex(attr, v string, contains bool) string {
	ev := regexp.QuoteMeta(event.EscapeChainValue(v))
	if contains {
		return `(?i)[:"]` + attr + `="[^"]*` + ev + `[^"]*"`
	}
	return `[:"]` + attr + `="` + ev + `"`
}
