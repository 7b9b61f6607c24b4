package query

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// formulaNode is a parsed trends formula: arithmetic over series letters
// (A = series[0]) and numbers. Division by zero gives 0, as a chart shows.
type formulaNode struct {
	op          byte // 0: number, 'S': series, '+', '-', '*', '/', 'n' (negate)
	num         float64
	series      int
	left, right *formulaNode
}

func (n *formulaNode) eval(series func(int) float64) float64 {
	switch n.op {
	case 0:
		return n.num
	case 'S':
		return series(n.series)
	case 'n':
		return -n.left.eval(series)
	}
	a, b := n.left.eval(series), n.right.eval(series)
	var r float64
	switch n.op {
	case '+':
		r = a + b
	case '-':
		r = a - b
	case '*':
		r = a * b
	case '/':
		if b == 0 {
			return 0
		}
		r = a / b
	}
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return 0
	}
	return r
}

type formulaParser struct {
	s      string
	i      int
	series int
}

func parseFormula(s string, series int) (*formulaNode, error) {
	if len(s) > 500 {
		return nil, fmt.Errorf("formulas are limited to 500 characters")
	}
	p := &formulaParser{s: strings.ToUpper(s), series: series}
	n, err := p.expr(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i < len(p.s) {
		return nil, fmt.Errorf("unexpected %q at position %d", p.s[p.i:], p.i+1)
	}
	return n, nil
}

func (p *formulaParser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *formulaParser) expr(depth int) (*formulaNode, error) {
	if depth > 50 {
		return nil, fmt.Errorf("formula nests too deeply")
	}
	left, err := p.term(depth)
	if err != nil {
		return nil, err
	}
	for {
		p.space()
		if p.i >= len(p.s) || (p.s[p.i] != '+' && p.s[p.i] != '-') {
			return left, nil
		}
		op := p.s[p.i]
		p.i++
		right, err := p.term(depth)
		if err != nil {
			return nil, err
		}
		left = &formulaNode{op: op, left: left, right: right}
	}
}

func (p *formulaParser) term(depth int) (*formulaNode, error) {
	left, err := p.factor(depth)
	if err != nil {
		return nil, err
	}
	for {
		p.space()
		if p.i >= len(p.s) || (p.s[p.i] != '*' && p.s[p.i] != '/') {
			return left, nil
		}
		op := p.s[p.i]
		p.i++
		right, err := p.factor(depth)
		if err != nil {
			return nil, err
		}
		left = &formulaNode{op: op, left: left, right: right}
	}
}

func (p *formulaParser) factor(depth int) (*formulaNode, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, fmt.Errorf("formula ends early")
	}
	c := p.s[p.i]
	switch {
	case c == '(':
		p.i++
		n, err := p.expr(depth + 1)
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return nil, fmt.Errorf("missing ')'")
		}
		p.i++
		return n, nil
	case c == '-':
		p.i++
		n, err := p.factor(depth + 1)
		if err != nil {
			return nil, err
		}
		return &formulaNode{op: 'n', left: n}, nil
	case c >= 'A' && c <= 'Z':
		p.i++
		idx := int(c - 'A')
		if idx >= p.series {
			return nil, fmt.Errorf("%c refers to series %d, but the query has %d series", c, idx+1, p.series)
		}
		return &formulaNode{op: 'S', series: idx}, nil
	case c >= '0' && c <= '9' || c == '.':
		j := p.i
		for j < len(p.s) && (p.s[j] >= '0' && p.s[j] <= '9' || p.s[j] == '.') {
			j++
		}
		f, err := strconv.ParseFloat(p.s[p.i:j], 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", p.s[p.i:j])
		}
		p.i = j
		return &formulaNode{num: f}, nil
	}
	return nil, fmt.Errorf("unexpected %q at position %d: use series letters (A, B, …), numbers, + - * / and parentheses", string(c), p.i+1)
}
