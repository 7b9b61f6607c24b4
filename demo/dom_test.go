package demo

import (
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// A small DOM and CSS selector engine for the tests: enough of HTML for the
// demo site's hand-written pages, enough of CSS for the selectors synth uses.

type node struct {
	tag      string
	attrs    map[string]string
	parent   *node
	children []*node // elements only
	kids     []any   // *node or string, in document order, for textContent
}

var scriptRE = regexp.MustCompile(`(?is)<script\b[^>]*>.*?</script>`)

// parseHTML parses a page. Script bodies are dropped first: the SDK snippet
// inserted later may hold characters that are not XML.
func parseHTML(src string) (*node, error) {
	src = scriptRE.ReplaceAllString(src, "")
	d := xml.NewDecoder(strings.NewReader(src))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	root := &node{tag: "#document"}
	cur := root
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse html: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{tag: strings.ToLower(t.Name.Local), attrs: map[string]string{}, parent: cur}
			for _, a := range t.Attr {
				n.attrs[strings.ToLower(a.Name.Local)] = a.Value
			}
			cur.children = append(cur.children, n)
			cur.kids = append(cur.kids, n)
			cur = n
		case xml.EndElement:
			name := strings.ToLower(t.Name.Local)
			for c := cur; c != nil && c != root; c = c.parent {
				if c.tag == name {
					cur = c.parent
					break
				}
			}
		case xml.CharData:
			cur.kids = append(cur.kids, string(t))
		}
	}
	return root, nil
}

func (n *node) textContent() string {
	var b strings.Builder
	var walk func(*node)
	walk = func(n *node) {
		for _, k := range n.kids {
			switch k := k.(type) {
			case string:
				b.WriteString(k)
			case *node:
				walk(k)
			}
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func (n *node) classes() []string { return strings.Fields(n.attrs["class"]) }

func (n *node) hasClass(c string) bool {
	for _, x := range n.classes() {
		if x == c {
			return true
		}
	}
	return false
}

// position returns n's 1-based index among its element siblings and among
// those of its tag.
func (n *node) position() (nth, nthOfType int) {
	for _, s := range n.parent.children {
		nth++
		if s.tag == n.tag {
			nthOfType++
		}
		if s == n {
			return
		}
	}
	return
}

func (n *node) all(f func(*node) bool) []*node {
	var out []*node
	var walk func(*node)
	walk = func(n *node) {
		for _, c := range n.children {
			if f(c) {
				out = append(out, c)
			}
			walk(c)
		}
	}
	walk(n)
	return out
}

// compound is one compound selector: tag#id.class[attr=v]:nth-child(n).
type compound struct {
	tag, id     string
	classes     []string
	attrs       [][2]string
	nthChild    int
	nthOfType   int
	combinator  byte // how it relates to the compound on its left: ' ' or '>'
	description string
}

var compoundRE = regexp.MustCompile(`([#.][\w-]+|\[[\w-]+=[\w-]+\]|:nth-child\(\d+\)|:nth-of-type\(\d+\)|^[a-z][a-z0-9]*)`)

func parseSelector(sel string) ([]compound, error) {
	var out []compound
	comb := byte(' ')
	for _, tok := range strings.Fields(sel) {
		if tok == ">" {
			comb = '>'
			continue
		}
		c := compound{combinator: comb, description: tok}
		comb = ' '
		rest := tok
		for _, m := range compoundRE.FindAllString(tok, -1) {
			rest = strings.Replace(rest, m, "", 1)
			switch {
			case m[0] == '#':
				c.id = m[1:]
			case m[0] == '.':
				c.classes = append(c.classes, m[1:])
			case m[0] == '[':
				k, v, _ := strings.Cut(m[1:len(m)-1], "=")
				c.attrs = append(c.attrs, [2]string{k, v})
			case strings.HasPrefix(m, ":nth-child("):
				c.nthChild, _ = strconv.Atoi(m[len(":nth-child(") : len(m)-1])
			case strings.HasPrefix(m, ":nth-of-type("):
				c.nthOfType, _ = strconv.Atoi(m[len(":nth-of-type(") : len(m)-1])
			default:
				c.tag = m
			}
		}
		if rest != "" {
			return nil, fmt.Errorf("selector %q: cannot parse %q", sel, rest)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty selector")
	}
	return out, nil
}

func (c *compound) matches(n *node) bool {
	if n.parent == nil || n.tag == "#document" {
		return false
	}
	if c.tag != "" && n.tag != c.tag || c.id != "" && n.attrs["id"] != c.id {
		return false
	}
	for _, cl := range c.classes {
		if !n.hasClass(cl) {
			return false
		}
	}
	for _, a := range c.attrs {
		if v, ok := n.attrs[a[0]]; !ok || v != a[1] {
			return false
		}
	}
	nth, nthType := n.position()
	return (c.nthChild == 0 || c.nthChild == nth) && (c.nthOfType == 0 || c.nthOfType == nthType)
}

// matchFrom reports whether n matches parts[:i+1], n matching parts[i].
func matchFrom(parts []compound, i int, n *node) bool {
	if !parts[i].matches(n) {
		return false
	}
	if i == 0 {
		return true
	}
	if parts[i].combinator == '>' {
		return n.parent != nil && matchFrom(parts, i-1, n.parent)
	}
	for a := n.parent; a != nil; a = a.parent {
		if matchFrom(parts, i-1, a) {
			return true
		}
	}
	return false
}

func (n *node) querySelectorAll(sel string) ([]*node, error) {
	parts, err := parseSelector(sel)
	if err != nil {
		return nil, err
	}
	return n.all(func(c *node) bool { return matchFrom(parts, len(parts)-1, c) }), nil
}
