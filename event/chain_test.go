package event

import (
	"regexp"
	"strings"
	"testing"
)

func TestChainString(t *testing.T) {
	cases := []struct {
		name string
		els  []Element
		want string
	}{
		{"empty", nil, ""},
		{"tag only", []Element{{Tag: "div"}}, "div"},
		{"brief example", []Element{
			{Tag: "button", ID: "buy", Classes: []string{"btn", "primary"}, Text: "Buy now", Href: "/cart", NthChild: 2, NthOfType: 1},
			{Tag: "div", Classes: []string{"card"}},
		}, `button.btn.primary:attr_id="buy"href="/cart"nth-child="2"nth-of-type="1"text="Buy now";div.card`},
		{"attributes sorted", []Element{{Tag: "a", Attrs: map[string]string{"z": "1", "data-x": "2", "aria-label": "3"}}},
			`a:attr__aria-label="3"attr__data-x="2"attr__z="1"`},
		{"delimiters escaped in names", []Element{{Tag: "div", Classes: []string{"md:flex", "py-0.5", "w-[50%]", "", `a"b;c=d e`}}},
			`div.md%3Aflex.py-0%2E5.w-[50%25].a%22b%3Bc%3Dd%20e`},
		{"delimiters escaped in values", []Element{{Tag: "p", Text: `say "hi"; 100% \ ok: a=b.` + "\n"}},
			`p:text="say %22hi%22%3B 100%25 %5C ok: a=b.%0A"`},
		{"attribute names escaped", []Element{{Tag: "x", Attrs: map[string]string{`we"ird=name`: "v"}}},
			`x:attr__we%22ird%3Dname="v"`},
		{"empty attribute value kept", []Element{{Tag: "input", Attrs: map[string]string{"disabled": ""}}},
			`input:attr__disabled=""`},
		{"unicode untouched", []Element{{Tag: "span", Text: "Größe wählen 🙂"}}, `span:text="Größe wählen 🙂"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ChainString(c.els)
			if got != c.want {
				t.Fatalf("ChainString = %s\nwant          %s", got, c.want)
			}
			back, err := ParseChain(got)
			if err != nil {
				t.Fatalf("ParseChain: %v", err)
			}
			want := make([]Element, len(c.els))
			for i, el := range c.els {
				// Empty class names are not written.
				el.Classes = slicesDeleteEmpty(el.Classes)
				want[i] = el
			}
			if !elementsEqual(want, back) {
				t.Errorf("round trip:\n got  %+v\n want %+v", back, want)
			}
		})
	}
}

func slicesDeleteEmpty(s []string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func TestParseChainErrors(t *testing.T) {
	for _, s := range []string{
		`div.`, `div..a`, `a:text`, `a:text=x`, `a:text="x`, `a:nth-child="two"`, `a%2`, `a%zz`, `a:text="%g0"`,
	} {
		if els, err := ParseChain(s); err == nil {
			t.Errorf("ParseChain(%q) = %+v, want an error", s, els)
		}
	}
	// Unknown attributes, as a later version might write, are skipped.
	els, err := ParseChain(`a:future="x"text="t"`)
	if err != nil || len(els) != 1 || els[0].Text != "t" {
		t.Errorf("got %+v, %v", els, err)
	}
}

// TestChainMatching checks that the patterns documented in chain.go match
// exactly what they should, including values built to fool them.
func TestChainMatching(t *testing.T) {
	chain := ChainString([]Element{
		{Tag: "button", Classes: []string{"btn", "md:w-1/2"}, Text: `Buy now`, Attrs: map[string]string{"title": `text="Buy"`}},
		{Tag: "div", Classes: []string{"card"}, Text: "Sell", Href: "/x;text=\"Sell\""},
	})
	target, _, _ := strings.Cut(chain, ";")
	textOf := func(v string) *regexp.Regexp {
		return regexp.MustCompile(`^[^;:]*:([^;"]*="[^";]*")*?text="` + regexp.QuoteMeta(EscapeChainValue(v)) + `"`)
	}
	classOf := func(tag, class string) *regexp.Regexp {
		return regexp.MustCompile(`(^|;)` + tag + `(\.[^.:;]+)*\.` + regexp.QuoteMeta(EscapeChainName(class)) + `([.:;]|$)`)
	}
	checks := []struct {
		name string
		re   *regexp.Regexp
		s    string
		want bool
	}{
		{"target text", textOf("Buy now"), chain, true},
		{"text inside another attribute", textOf("Buy"), chain, false},
		{"ancestor text is not the target's", textOf("Sell"), chain, false},
		{"class with a colon", classOf("button", "md:w-1/2"), chain, true},
		{"class prefix", classOf("button", "bt"), chain, false},
		{"class of another element", classOf("button", "card"), chain, false},
		{"ancestor class", classOf("div", "card"), chain, true},
		{"LIKE on the target", nil, target, true},
	}
	for _, c := range checks {
		if c.re == nil {
			if got := strings.Contains(c.s, `"text="Buy now"`) || strings.Contains(c.s, `:text="Buy now"`); got != c.want {
				t.Errorf("%s: got %v", c.name, got)
			}
			continue
		}
		if got := c.re.MatchString(c.s); got != c.want {
			t.Errorf("%s: %s on %s = %v, want %v", c.name, c.re, c.s, got, c.want)
		}
	}
}
