package query

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// sqlb accumulates bound parameters. Equal scalar values share one
// parameter, so that an expression repeated in SELECT and GROUP BY reads the
// same and the planner sees it as one.
type sqlb struct {
	d     Dialect
	args  []any
	index map[any]int
}

func newSQLB(d Dialect) *sqlb { return &sqlb{d: d, index: map[any]int{}} }

func (b *sqlb) arg(v any) string {
	switch v.(type) {
	case string, int64, float64, bool, time.Time, int:
		if n, ok := b.index[v]; ok {
			return b.d.placeholder(n, v)
		}
		b.args = append(b.args, v)
		b.index[v] = len(b.args)
		return b.d.placeholder(len(b.args), v)
	}
	b.args = append(b.args, v)
	return b.d.placeholder(len(b.args), v)
}

// compiler turns one query into SQL for a dialect.
type compiler struct {
	d    Dialect
	b    *sqlb
	proj int64
	sp   span
	defs *defSet
	opts *Options
	z    *zone

	// What the event source must provide, discovered while compiling
	// predicates (so a query that never needs persons skips the join).
	needPerson      bool
	needPersonProps bool
}

func (c *compiler) p(v any) string { return c.b.arg(v) }

func and(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" && p != "TRUE" {
			keep = append(keep, p)
		}
	}
	switch len(keep) {
	case 0:
		return "TRUE"
	case 1:
		return keep[0]
	}
	return "(" + strings.Join(keep, " AND ") + ")"
}

func or(parts ...string) string {
	switch len(parts) {
	case 0:
		return "FALSE"
	case 1:
		return parts[0]
	}
	for _, p := range parts {
		if p == "TRUE" {
			return "TRUE"
		}
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

// eventColumns maps event property names to typed columns. A few aliases
// in PostHog's spelling are accepted so that habits carry over.
var eventColumns = map[string]struct {
	col     string
	numeric bool
}{
	"event": {"event", false}, "distinct_id": {"distinct_id", false}, "session_id": {"session_id", false},
	"window_id": {"window_id", false}, "url": {"url", false}, "host": {"host", false}, "path": {"path", false},
	"query": {"query", false}, "title": {"title", false}, "referrer": {"referrer", false},
	"referring_domain": {"referring_domain", false}, "utm_source": {"utm_source", false},
	"utm_medium": {"utm_medium", false}, "utm_campaign": {"utm_campaign", false}, "utm_term": {"utm_term", false},
	"utm_content": {"utm_content", false}, "browser": {"browser", false}, "browser_version": {"browser_version", false},
	"os": {"os", false}, "os_version": {"os_version", false}, "device_type": {"device_type", false},
	"selector": {"selector", false}, "x": {"x", true}, "y": {"y", true},
	"viewport_width": {"viewport_width", true}, "viewport_height": {"viewport_height", true},
	"document_width": {"document_width", true}, "document_height": {"document_height", true},
	"$current_url": {"url", false}, "$pathname": {"path", false}, "$host": {"host", false},
	"$browser": {"browser", false}, "$os": {"os", false}, "$device_type": {"device_type", false},
	"$referrer": {"referrer", false}, "$referring_domain": {"referring_domain", false},
}

// EventColumns lists the event property names that read typed columns
// rather than the properties document.
func EventColumns() []string {
	var out []string
	for k := range eventColumns {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type sessionProp struct{ numeric bool }

var sessionProps = map[string]sessionProp{
	"duration": {true}, "pageviews": {true}, "events": {true}, "clicks": {true},
	"rage_clicks": {true}, "dead_clicks": {true}, "error_clicks": {true},
	"entry_url": {false}, "entry_path": {false}, "exit_url": {false}, "exit_path": {false},
	"device_type": {false}, "browser": {false}, "os": {false},
}

func sessionPropNames() string {
	var out []string
	for k := range sessionProps {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// propExpr is a property's value as text (NULL when missing) and, for typed
// numeric columns, the numeric expression.
func (c *compiler) propExpr(typ, name string) (text, num string) {
	if typ == "person" {
		c.needPerson, c.needPersonProps = true, true
		t := c.d.jsonString("pp.properties", name)
		return t, c.d.toNumber(t)
	}
	if col, ok := eventColumns[name]; ok {
		ref := "e." + c.d.ident(col.col)
		if col.numeric {
			return c.d.toText(ref), ref
		}
		return "nullif(" + ref + ", '')", c.d.toNumber(ref)
	}
	t := c.d.jsonString("e.properties", name)
	return t, c.d.toNumber(t)
}

// filterPred compiles one filter into a predicate over the event row e.
func (c *compiler) filterPred(f Filter) (string, error) {
	switch f.Type {
	case "segment":
		id, _ := intValue(f.Value)
		sub, err := c.segmentPersons(id)
		if err != nil {
			return "", err
		}
		c.needPerson = true
		op := "IN"
		if f.Op == OpNotIn {
			op = "NOT IN"
		}
		return c.d.personID() + " " + op + " (" + sub + ")", nil
	case "session":
		return c.sessionFilter(f)
	case "element":
		return c.elementPred(f)
	}
	text, num := c.propExpr(f.Type, f.Prop)
	return c.valuePred(text, num, f.Op, f.Value), nil
}

// valuePred compares a property (text and numeric forms) with a value.
// Missing properties never match positive operators and always match
// negative ones (neq, not_contains, not_regex), as analysts expect from
// "is not".
func (c *compiler) valuePred(text, num, op string, value any) string {
	switch op {
	case OpIsSet:
		return text + " IS NOT NULL"
	case OpIsNotSet:
		return text + " IS NULL"
	case OpGt, OpGte, OpLt, OpLte:
		sym := map[string]string{OpGt: ">", OpGte: ">=", OpLt: "<", OpLte: "<="}[op]
		return num + " " + sym + " " + c.p(value.(float64))
	case OpContains:
		return c.d.containsCI(text, c.p(value.(string)))
	case OpNotContains:
		return "(" + text + " IS NULL OR NOT " + c.d.containsCI(text, c.p(value.(string))) + ")"
	case OpRegex:
		return c.d.regex(text, c.p(value.(string)))
	case OpNotRegex:
		return "(" + text + " IS NULL OR NOT " + c.d.regex(text, c.p(value.(string))) + ")"
	case OpEq, OpNeq:
		var alts []string
		vals, isList := value.([]any)
		if !isList {
			vals = []any{value}
		}
		for _, v := range vals {
			switch x := v.(type) {
			case float64:
				alts = append(alts, num+" = "+c.p(x))
			case bool:
				s := "false"
				if x {
					s = "true"
				}
				alts = append(alts, text+" = "+c.p(s))
			case string:
				alts = append(alts, text+" = "+c.p(x))
			}
		}
		pos := or(alts...)
		if op == OpEq {
			return pos
		}
		return "(" + text + " IS NULL OR NOT " + pos + ")"
	}
	return "FALSE"
}

func (c *compiler) elementPred(f Filter) (string, error) {
	chain := "e.elements_chain"
	var pos string
	switch f.Prop {
	case "selector":
		parts, err := parseSelector(f.Value.(string))
		if err != nil {
			return "", &Error{Field: "value", Msg: err.Error()}
		}
		pos = c.d.regex(chain, c.p(selectorRegex(parts)))
		if f.Op == OpNeq {
			return "NOT " + pos, nil
		}
		return pos, nil
	case "tag":
		var vals []any
		if l, ok := f.Value.([]any); ok {
			vals = l
		} else {
			vals = []any{f.Value}
		}
		switch f.Op {
		case OpEq, OpNeq:
			var alts []string
			for _, v := range vals {
				s, _ := v.(string)
				alts = append(alts, c.d.regex(chain, c.p(`^`+regexp.QuoteMeta(strings.ToLower(s))+`(?:[.:;]|$)`)))
			}
			pos = or(alts...)
		case OpContains, OpNotContains:
			pos = c.d.containsCI(c.d.chainTarget(chain), c.p(f.Value.(string)))
		case OpRegex, OpNotRegex:
			pos = c.d.regex(c.d.chainTarget(chain), c.p(f.Value.(string)))
		}
	case "text", "href":
		switch f.Op {
		case OpEq, OpNeq:
			var vals []any
			if l, ok := f.Value.([]any); ok {
				vals = l
			} else {
				vals = []any{f.Value}
			}
			var alts []string
			for _, v := range vals {
				s, _ := v.(string)
				alts = append(alts, c.d.regex(chain, c.p(chainValueRegex(f.Prop, s, false))))
			}
			pos = or(alts...)
		case OpContains, OpNotContains:
			pos = c.d.regex(chain, c.p(chainValueRegex(f.Prop, f.Value.(string), true)))
		case OpRegex, OpNotRegex:
			pos = c.d.chainAttrRegex(chain, f.Prop, c.p(f.Value.(string)))
		}
	}
	switch f.Op {
	case OpNeq, OpNotContains, OpNotRegex:
		return "NOT " + pos, nil
	}
	return pos, nil
}

// urlPred matches a page: a value starting with "/" is a path, anything
// else a URL; "*" is a wildcard.
func (c *compiler) urlPred(value string) string {
	col := "e.url"
	if strings.HasPrefix(value, "/") {
		col = "e.path"
	}
	if n := strings.Count(value, "*"); n == 1 && strings.HasSuffix(value, "*") {
		return c.d.startsWith(col, c.p(strings.TrimSuffix(value, "*")))
	} else if n > 0 {
		return c.d.like(col, c.p(wildcardToLike(value)))
	}
	return col + " = " + c.p(value)
}

// wildcardToLike turns a "*" pattern into a LIKE pattern with '\' escapes.
func wildcardToLike(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*':
			b.WriteByte('%')
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// eventMatch compiles an event reference (event or action, plus where).
func (c *compiler) eventMatch(r EventRef) (string, error) {
	var parts []string
	if r.Action != 0 {
		a, ok := c.defs.actions[r.Action]
		if !ok {
			return "", &Error{Field: "action", Msg: fmt.Sprintf("no action %d in this project", r.Action)}
		}
		p, err := c.actionPred(a)
		if err != nil {
			return "", err
		}
		parts = append(parts, p)
	} else if r.ActionDef != nil {
		p, err := c.actionPred(&Action{ActionDefinition: *r.ActionDef})
		if err != nil {
			return "", fieldErr(err, "action_def")
		}
		parts = append(parts, p)
	} else {
		parts = append(parts, "e.event = "+c.p(r.Event))
	}
	for _, f := range r.Where {
		p, err := c.filterPred(f)
		if err != nil {
			return "", err
		}
		parts = append(parts, p)
	}
	return and(parts...), nil
}

// inlineActionLabel names an unsaved (inline) action in results.
const inlineActionLabel = "Unsaved action"

// eventLabel names an event reference for results.
func (c *compiler) eventLabel(r EventRef) string {
	if r.Action != 0 {
		if a, ok := c.defs.actions[r.Action]; ok {
			return a.Name
		}
		return fmt.Sprintf("action %d", r.Action)
	}
	if r.ActionDef != nil {
		return inlineActionLabel
	}
	return r.Event
}

// globalPreds compiles the query-wide filters and the internal-traffic
// exclusion.
func (c *compiler) globalPreds(cm *Common) (string, error) {
	var parts []string
	for i, f := range cm.Filters {
		p, err := c.filterPred(f)
		if err != nil {
			return "", fieldErr(err, index("filters", i))
		}
		parts = append(parts, p)
	}
	if cm.ExcludeInternal {
		for _, f := range c.opts.InternalFilters {
			p, err := c.filterPred(f)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
	}
	return and(parts...), nil
}

func fieldErr(err error, prefix string) error {
	if qe, ok := err.(*Error); ok {
		return &Error{Field: join(prefix, qe.Field), Msg: qe.Msg}
	}
	return err
}

// rangePred restricts e to the project and [from, to).
func (c *compiler) rangePred(from, to time.Time) string {
	return and("e.project_id = "+c.p(c.proj),
		"e."+c.d.ident("timestamp")+" >= "+c.p(from),
		"e."+c.d.ident("timestamp")+" < "+c.p(to))
}

// from returns the FROM clause over events (alias e), with the person
// joins the compiled predicates asked for.
func (c *compiler) from() string {
	return c.d.eventsFrom(c, c.needPerson || c.needPersonProps, c.needPersonProps)
}

// sessionFilter keeps events whose session satisfies f.
func (c *compiler) sessionFilter(f Filter) (string, error) {
	inner := &compiler{d: c.d, b: c.b, proj: c.proj, sp: c.sp, defs: c.defs, opts: c.opts}
	agg := inner.sessionAgg(c.sp.From.Add(-24*time.Hour), c.sp.To.Add(24*time.Hour), "TRUE")
	sp := sessionProps[f.Prop]
	col := "s." + f.Prop
	text, num := col, col
	if sp.numeric {
		text = c.d.toText(col)
	} else {
		text = "nullif(" + col + ", '')"
		num = c.d.toNumber(col)
	}
	pred := c.valuePred(text, num, f.Op, f.Value)
	return "e.session_id IN (SELECT s.session_id FROM (" + agg + ") s WHERE " + pred + ")", nil
}

// sessionAgg summarizes sessions from the events in [from, to) that match
// where: one row per session with the columns of sessionProps plus start,
// end and person.
func (c *compiler) sessionAgg(from, to time.Time, where string, extra ...string) string {
	d := c.d
	ts := "e." + d.ident("timestamp")
	pv := "e.event = '$pageview'"
	c.needPerson = true
	cols := []string{
		"e.session_id AS session_id",
		"min(" + ts + ") AS start_time",
		"max(" + ts + ") AS end_time",
		d.epoch("max("+ts+")") + " - " + d.epoch("min("+ts+")") + " AS duration",
		d.countIf(pv) + " AS pageviews",
		"count(*) AS events",
		d.countIf("e.event = '$click'") + " AS clicks",
		d.countIf("e.rage") + " AS rage_clicks",
		d.countIf("e.dead") + " AS dead_clicks",
		d.countIf("e.error_click") + " AS error_clicks",
		d.argMinIf("e.url", ts, pv) + " AS entry_url",
		d.argMinIf("e.path", ts, pv) + " AS entry_path",
		d.argMaxIf("e.url", ts, pv) + " AS exit_url",
		d.argMaxIf("e.path", ts, pv) + " AS exit_path",
		// Aliases that name an event column get a suffix, renamed outside:
		// ClickHouse resolves e.col to a same-named alias of its SELECT.
		d.argMin("e.device_type", ts) + " AS device_type_s",
		d.argMin("e.browser", ts) + " AS browser_s",
		d.argMin("e.os", ts) + " AS os_s",
		d.argMax(d.personID(), ts) + " AS person_id",
		d.argMin("e.distinct_id", ts) + " AS distinct_id_s",
	}
	cols = append(cols, extra...)
	var outer []string
	for _, col := range cols {
		alias := col[strings.LastIndex(col, " AS ")+4:]
		if name, ok := strings.CutSuffix(alias, "_s"); ok {
			outer = append(outer, alias+" AS "+name)
		} else {
			outer = append(outer, alias)
		}
	}
	where = and(c.rangePred(from, to), "e.session_id <> ''", where)
	return "SELECT " + strings.Join(outer, ", ") + " FROM (SELECT " + strings.Join(cols, ", ") + " FROM " + c.from() + " WHERE " + where + " GROUP BY e.session_id) sa"
}
