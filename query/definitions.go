package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Action is a saved, named definition over autocaptured events: an event
// matches when it matches any step. Actions are compiled into every query
// that uses them, so they apply to all history the moment they are saved.
type Action struct {
	ID   int64
	Name string
	ActionDefinition
}

// ActionDefinition is the JSON document an action stores.
type ActionDefinition struct {
	Steps []ActionStep `json:"steps"`
}

// ActionStep is an AND of conditions; empty fields are not tested.
type ActionStep struct {
	// Event is the event name (empty: any event).
	Event string `json:"event,omitempty"`
	// Selector is a CSS selector the clicked element (with its ancestors)
	// must match.
	Selector string `json:"selector,omitempty"`
	// Text and Href match an element of the chain; *Match is exact
	// (default), contains or regex.
	Text      string `json:"text,omitempty"`
	TextMatch string `json:"text_match,omitempty"`
	Href      string `json:"href,omitempty"`
	HrefMatch string `json:"href_match,omitempty"`
	// URL matches the page (a path when it starts with "/"); URLMatch is
	// contains (default), exact, regex or pattern ("*" wildcards).
	URL      string   `json:"url,omitempty"`
	URLMatch string   `json:"url_match,omitempty"`
	Where    []Filter `json:"where,omitempty"`
}

// ParseActionDefinition decodes and validates an action definition.
func ParseActionDefinition(data []byte) (ActionDefinition, error) {
	var d ActionDefinition
	if err := strictDecode(data, &d); err != nil {
		return d, err
	}
	return d, d.Validate()
}

// Validate checks the definition; errors are *Error with field paths.
func (d *ActionDefinition) Validate() error {
	v := &validator{}
	v.actionDef("", d)
	if v.err != nil {
		return v.err
	}
	return nil
}

// actionDef validates an action definition at path: a saved one (path
// "") or one given inline in a query's event reference.
func (v *validator) actionDef(path string, d *ActionDefinition) {
	if len(d.Steps) == 0 || len(d.Steps) > 50 {
		v.fail(join(path, "steps"), "an action has 1 to 50 steps")
	}
	for i := range d.Steps {
		s := &d.Steps[i]
		p := index(join(path, "steps"), i)
		if s.Event == "" && s.Selector == "" && s.Text == "" && s.Href == "" && s.URL == "" && len(s.Where) == 0 {
			v.fail(p, "a step needs at least one condition (event, selector, text, href, url or where)")
		}
		if len(s.Event) > 200 {
			v.fail(join(p, "event"), "at most 200 characters")
		}
		if s.Selector != "" {
			if _, err := parseSelector(s.Selector); err != nil {
				v.fail(join(p, "selector"), "%v", err)
			}
		}
		for _, m := range []struct{ field, val, match string }{
			{"text", s.Text, s.TextMatch}, {"href", s.Href, s.HrefMatch},
		} {
			switch m.match {
			case "", "exact", "contains":
			case "regex":
				if _, err := regexp.Compile(m.val); err != nil {
					v.fail(join(p, m.field), "is not a valid RE2 regular expression: %v", err)
				}
			default:
				v.fail(join(p, m.field+"_match"), `must be "exact", "contains" or "regex"`)
			}
			if len(m.val) > maxValueLen {
				v.fail(join(p, m.field), "at most %d bytes", maxValueLen)
			}
		}
		switch s.URLMatch {
		case "", "contains", "exact", "pattern":
		case "regex":
			if _, err := regexp.Compile(s.URL); err != nil {
				v.fail(join(p, "url"), "is not a valid RE2 regular expression: %v", err)
			}
		default:
			v.fail(join(p, "url_match"), `must be "contains", "exact", "regex" or "pattern"`)
		}
		if len(s.URL) > maxValueLen {
			v.fail(join(p, "url"), "at most %d bytes", maxValueLen)
		}
		v.filters(join(p, "where"), s.Where, false)
	}
}

// Segment is a saved behavioral definition of a group of persons.
type Segment struct {
	ID   int64
	Name string
	SegmentDefinition
}

// SegmentDefinition is the JSON document a segment stores: conditions
// combined by Match ("all", the default, or "any"), nested with groups.
type SegmentDefinition struct {
	Match      string             `json:"match,omitempty"`
	Conditions []SegmentCondition `json:"conditions"`
}

// SegmentCondition is one condition of a segment, by Type:
//
//   - "performed": the person did Event (or Action, narrowed by Where)
//     CountOp ("at_least", default; "at_most"; "exactly") Count times
//     (default 1) within the last WithinDays days, or between DateFrom and
//     DateTo, or ever;
//   - "not_performed": the same with at most 0 times;
//   - "first_seen": the person's first event falls in the window;
//   - "person": a person property filter (Prop, Op, Value);
//   - "group": a nested definition (Match, Conditions).
type SegmentCondition struct {
	Type string `json:"type"`
	EventRef
	CountOp    string `json:"count_op,omitempty"`
	Count      *int   `json:"count,omitempty"`
	WithinDays int    `json:"within_days,omitempty"`
	DateFrom   string `json:"date_from,omitempty"`
	DateTo     string `json:"date_to,omitempty"`

	Prop  string `json:"prop,omitempty"`
	Op    string `json:"op,omitempty"`
	Value any    `json:"value,omitempty"`

	Match      string             `json:"match,omitempty"`
	Conditions []SegmentCondition `json:"conditions,omitempty"`
}

// ParseSegmentDefinition decodes and validates a segment definition.
func ParseSegmentDefinition(data []byte) (SegmentDefinition, error) {
	var d SegmentDefinition
	if err := strictDecode(data, &d); err != nil {
		return d, err
	}
	return d, d.Validate()
}

// Validate checks the definition; errors are *Error with field paths.
func (d *SegmentDefinition) Validate() error {
	v := &validator{}
	v.segment("", d.Match, d.Conditions, 0)
	if v.err != nil {
		return v.err
	}
	return nil
}

func (v *validator) segment(path, match string, conds []SegmentCondition, depth int) {
	if depth > 5 {
		v.fail(path, "groups nest at most 5 deep")
		return
	}
	if match != "" && match != "all" && match != "any" {
		v.fail(join(path, "match"), `must be "all" or "any"`)
	}
	cp := join(path, "conditions")
	if len(conds) == 0 || len(conds) > 50 {
		v.fail(cp, "a segment (or group) has 1 to 50 conditions")
		return
	}
	for i := range conds {
		c := &conds[i]
		p := index(cp, i)
		switch c.Type {
		case "performed", "not_performed":
			v.eventRef(p, &c.EventRef)
			if c.Type == "not_performed" && (c.CountOp != "" || c.Count != nil) {
				v.fail(join(p, "count"), "not used by not_performed")
			}
			switch c.CountOp {
			case "", "at_least", "at_most", "exactly":
			default:
				v.fail(join(p, "count_op"), `must be "at_least", "at_most" or "exactly"`)
			}
			if c.Count != nil && *c.Count < 0 {
				v.fail(join(p, "count"), "must not be negative")
			}
			v.segmentWindow(p, c)
		case "first_seen":
			if c.WithinDays == 0 && c.DateFrom == "" && c.DateTo == "" {
				v.fail(join(p, "within_days"), "required: within_days or date_from / date_to")
			}
			v.segmentWindow(p, c)
		case "person":
			f := Filter{Type: "person", Prop: c.Prop, Op: c.Op, Value: c.Value}
			v.filter(p, &f, false)
			c.Value = f.Value
		case "group":
			v.segment(p, c.Match, c.Conditions, depth+1)
		case "":
			v.fail(join(p, "type"), `required: "performed", "not_performed", "first_seen", "person" or "group"`)
		default:
			v.fail(join(p, "type"), `unknown condition type %q: use "performed", "not_performed", "first_seen", "person" or "group"`, c.Type)
		}
		if c.Type != "group" && (c.Match != "" || len(c.Conditions) > 0) {
			v.fail(join(p, "conditions"), `only groups (type "group") have conditions`)
		}
	}
}

func (v *validator) segmentWindow(p string, c *SegmentCondition) {
	if c.WithinDays < 0 || c.WithinDays > 3650 {
		v.fail(join(p, "within_days"), "must be between 1 and 3650")
	}
	if c.WithinDays > 0 && (c.DateFrom != "" || c.DateTo != "") {
		v.fail(join(p, "within_days"), "give within_days or date_from / date_to, not both")
	}
	if c.DateFrom != "" && !validDateSpec(c.DateFrom) {
		v.fail(join(p, "date_from"), "%q is not a date", c.DateFrom)
	}
	if c.DateTo != "" && !validDateSpec(c.DateTo) {
		v.fail(join(p, "date_to"), "%q is not a date", c.DateTo)
	}
}

func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return &Error{Msg: "definition holds more than one JSON value"}
	}
	return nil
}

// StaticDefinitions serves definitions from memory (tests, tools, and
// callers that load definitions themselves).
type StaticDefinitions struct {
	Actions  map[int64]Action
	Segments map[int64]Segment
}

func (s StaticDefinitions) Action(_ context.Context, _, id int64) (Action, error) {
	a, ok := s.Actions[id]
	if !ok {
		return Action{}, fmt.Errorf("action %d: %w", id, ErrNotFound)
	}
	a.ID = id
	return a, nil
}

func (s StaticDefinitions) Segment(_ context.Context, _, id int64) (Segment, error) {
	g, ok := s.Segments[id]
	if !ok {
		return Segment{}, fmt.Errorf("segment %d: %w", id, ErrNotFound)
	}
	g.ID = id
	return g, nil
}

// defSet holds the definitions a query references, loaded before compiling.
type defSet struct {
	actions  map[int64]*Action
	segments map[int64]*Segment
}

type refWalker struct {
	actions  map[int64]string // id → field path of the first reference
	segments map[int64]string
}

func (w *refWalker) ref(path string, r *EventRef) {
	if r.Action != 0 {
		if _, ok := w.actions[r.Action]; !ok {
			w.actions[r.Action] = join(path, "action")
		}
	}
	w.filters(join(path, "where"), r.Where)
}

func (w *refWalker) funnel(q *Funnel, breakdown func(string, *Breakdown)) {
	for i := range q.Steps {
		w.ref(index("steps", i), &q.Steps[i].EventRef)
	}
	for i := range q.Exclusions {
		w.ref(index("exclusions", i), &q.Exclusions[i].EventRef)
	}
	breakdown("breakdown", q.Breakdown)
}

func (w *refWalker) filters(path string, fs []Filter) {
	for i, f := range fs {
		if f.Type == "segment" {
			if id, ok := intValue(f.Value); ok {
				if _, seen := w.segments[id]; !seen {
					w.segments[id] = join(index(path, i), "value")
				}
			}
		}
	}
}

func (w *refWalker) segmentConds(path string, conds []SegmentCondition) {
	for i := range conds {
		c := &conds[i]
		p := index(join(path, "conditions"), i)
		switch c.Type {
		case "performed", "not_performed":
			w.ref(p, &c.EventRef)
		case "group":
			w.segmentConds(p, c.Conditions)
		}
	}
}

func loadDefs(ctx context.Context, src Definitions, project int64, q Query) (*defSet, error) {
	w := &refWalker{actions: map[int64]string{}, segments: map[int64]string{}}
	w.filters("filters", q.base().Filters)
	breakdown := func(path string, b *Breakdown) {
		if b != nil && b.Type == "segment" {
			for i, id := range b.Segments {
				if _, ok := w.segments[id]; !ok {
					w.segments[id] = index(join(path, "segments"), i)
				}
			}
		}
	}
	switch q := q.(type) {
	case *Trends:
		for i := range q.Series {
			w.ref(index("series", i), &q.Series[i].EventRef)
		}
		breakdown("breakdown", q.Breakdown)
	case *Funnel:
		w.funnel(q, breakdown)
	case *FunnelActors:
		w.funnel(&q.Funnel, breakdown)
	case *Retention:
		w.ref("start", &q.Start)
		if q.Return != nil {
			w.ref("return", q.Return)
		}
	case *Sessions:
		if q.Performed != nil {
			w.ref("performed", q.Performed)
		}
	case *SegmentSize:
		w.segments[q.Segment] = "segment"
	}
	ds := &defSet{actions: map[int64]*Action{}, segments: map[int64]*Segment{}}
	if (len(w.actions) > 0 || len(w.segments) > 0) && src == nil {
		return nil, &Error{Msg: "this query uses saved actions or segments, but no definitions are available"}
	}
	for id, path := range w.segments {
		s, err := src.Segment(ctx, project, id)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, &Error{Field: path, Msg: fmt.Sprintf("no segment %d in this project", id)}
			}
			return nil, fmt.Errorf("query: load segment %d: %w", id, err)
		}
		if err := s.SegmentDefinition.Validate(); err != nil {
			return nil, &Error{Field: path, Msg: fmt.Sprintf("segment %d has an invalid definition: %v", id, err)}
		}
		ds.segments[id] = &s
		w.segmentConds("", s.Conditions)
	}
	for id, path := range w.actions {
		a, err := src.Action(ctx, project, id)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, &Error{Field: path, Msg: fmt.Sprintf("no action %d in this project", id)}
			}
			return nil, fmt.Errorf("query: load action %d: %w", id, err)
		}
		if err := a.ActionDefinition.Validate(); err != nil {
			return nil, &Error{Field: path, Msg: fmt.Sprintf("action %d has an invalid definition: %v", id, err)}
		}
		ds.actions[id] = &a
	}
	return ds, nil
}

// actionPred compiles an action into a predicate over e.
func (c *compiler) actionPred(a *Action) (string, error) {
	var alts []string
	for _, s := range a.Steps {
		var parts []string
		if s.Event != "" {
			parts = append(parts, "e.event = "+c.p(s.Event))
		}
		if s.Selector != "" {
			p, err := c.elementPred(Filter{Type: "element", Prop: "selector", Op: OpEq, Value: s.Selector})
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		for _, m := range []struct{ prop, val, match string }{{"text", s.Text, s.TextMatch}, {"href", s.Href, s.HrefMatch}} {
			if m.val == "" {
				continue
			}
			op := OpEq
			switch m.match {
			case "contains":
				op = OpContains
			case "regex":
				op = OpRegex
			}
			p, err := c.elementPred(Filter{Type: "element", Prop: m.prop, Op: op, Value: m.val})
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		if s.URL != "" {
			col := "e.url"
			if strings.HasPrefix(s.URL, "/") {
				col = "e.path"
			}
			switch s.URLMatch {
			case "exact":
				parts = append(parts, col+" = "+c.p(s.URL))
			case "regex":
				parts = append(parts, c.d.regex(col, c.p(s.URL)))
			case "pattern":
				parts = append(parts, c.urlPred(s.URL))
			default:
				parts = append(parts, c.d.containsCI(col, c.p(s.URL)))
			}
		}
		for _, f := range s.Where {
			p, err := c.filterPred(f)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		alts = append(alts, and(parts...))
	}
	return or(alts...), nil
}

// segmentPersons compiles a segment into a subquery of the person_ids of
// its members as of the query's now.
func (c *compiler) segmentPersons(id int64) (string, error) {
	s, ok := c.defs.segments[id]
	if !ok {
		return "", &Error{Msg: fmt.Sprintf("no segment %d in this project", id)}
	}
	inner := &compiler{d: c.d, b: c.b, proj: c.proj, sp: c.sp, defs: c.defs, opts: c.opts, needPerson: true}
	sg := &segCompiler{c: inner, now: c.sp.Now}
	cond, err := sg.group(s.Match, s.Conditions)
	if err != nil {
		return "", err
	}
	d := c.d
	sel := "SELECT " + d.personID() + " AS person_id"
	for i, a := range sg.aggs {
		sel += ", " + a + fmt.Sprintf(" AS c%d", i)
	}
	where := "e.project_id = " + c.p(c.proj)
	if !sg.since.IsZero() {
		where = and(where, "e."+d.ident("timestamp")+" >= "+c.p(sg.since))
	}
	sel += " FROM " + inner.from() + " WHERE " + where + " GROUP BY " + d.personID()
	return "SELECT person_id FROM (" + sel + ") seg WHERE " + cond, nil
}

// segCompiler turns segment conditions into per-person aggregates (aggs,
// computed in one pass over the events) and a boolean expression over them.
type segCompiler struct {
	c    *compiler
	now  time.Time
	aggs []string
	// since is the earliest time any condition looks at (zero: all
	// history), so that a segment of recent behavior scans recent data.
	since    time.Time
	allTime  bool
	sinceSet bool
}

func (sg *segCompiler) add(agg string) string {
	sg.aggs = append(sg.aggs, agg)
	return fmt.Sprintf("c%d", len(sg.aggs)-1)
}

func (sg *segCompiler) look(from time.Time) {
	if from.IsZero() {
		sg.allTime = true
	}
	if sg.allTime {
		sg.since = time.Time{}
		return
	}
	if !sg.sinceSet || from.Before(sg.since) {
		sg.since = from
		sg.sinceSet = true
	}
}

// window resolves a condition's time window: [from, to) with zero from for
// "ever" and zero to for "until now".
func (sg *segCompiler) window(cond *SegmentCondition) (time.Time, time.Time, error) {
	loc := sg.c.sp.Loc
	switch {
	case cond.WithinDays > 0:
		return sg.now.Add(-time.Duration(cond.WithinDays) * 24 * time.Hour), time.Time{}, nil
	case cond.DateFrom != "" || cond.DateTo != "":
		var from, to time.Time
		var err error
		if cond.DateFrom != "" {
			if from, _, err = parseDate(cond.DateFrom, loc, sg.now, false); err != nil {
				return from, to, &Error{Field: "date_from", Msg: err.Error()}
			}
		}
		if cond.DateTo != "" {
			if to, _, err = parseDate(cond.DateTo, loc, sg.now, true); err != nil {
				return from, to, &Error{Field: "date_to", Msg: err.Error()}
			}
		}
		return from, to, nil
	}
	return time.Time{}, time.Time{}, nil
}

func (sg *segCompiler) timePred(from, to time.Time) string {
	c := sg.c
	ts := "e." + c.d.ident("timestamp")
	var parts []string
	if !from.IsZero() {
		parts = append(parts, ts+" >= "+c.p(from.UTC()))
	}
	if !to.IsZero() {
		parts = append(parts, ts+" < "+c.p(to.UTC()))
	}
	return and(parts...)
}

func (sg *segCompiler) group(match string, conds []SegmentCondition) (string, error) {
	return segmentGroup(match, conds, sg.cond)
}

// segmentGroup compiles a group of segment conditions with cond: all of
// them, or any when match is "any".
func segmentGroup(match string, conds []SegmentCondition, cond func(*SegmentCondition) (string, error)) (string, error) {
	var parts []string
	for i := range conds {
		p, err := cond(&conds[i])
		if err != nil {
			return "", err
		}
		parts = append(parts, p)
	}
	if match == "any" {
		return or(parts...), nil
	}
	return and(parts...), nil
}

func (sg *segCompiler) cond(cond *SegmentCondition) (string, error) {
	c := sg.c
	d := c.d
	switch cond.Type {
	case "performed", "not_performed":
		from, to, err := sg.window(cond)
		if err != nil {
			return "", err
		}
		m, err := c.eventMatch(cond.EventRef)
		if err != nil {
			return "", err
		}
		col := sg.add(d.countIf(and(m, sg.timePred(from, to))))
		n := 1
		if cond.Count != nil {
			n = *cond.Count
		}
		// A person with no events in the window still satisfies "not
		// performed" and "at most": such conditions need every person's row.
		if cond.Type == "not_performed" || cond.CountOp == "at_most" || n == 0 {
			sg.look(time.Time{})
		} else {
			sg.look(from)
		}
		if cond.Type == "not_performed" {
			return col + " = 0", nil
		}
		switch cond.CountOp {
		case "at_most":
			return col + " <= " + c.p(int64(n)), nil
		case "exactly":
			return col + " = " + c.p(int64(n)), nil
		}
		return col + " >= " + c.p(int64(n)), nil
	case "first_seen":
		from, to, err := sg.window(cond)
		if err != nil {
			return "", err
		}
		sg.look(time.Time{}) // the first event may be anywhere in history
		col := sg.add("min(e." + d.ident("timestamp") + ")")
		var parts []string
		if !from.IsZero() {
			parts = append(parts, col+" >= "+c.p(from.UTC()))
		}
		if !to.IsZero() {
			parts = append(parts, col+" < "+c.p(to.UTC()))
		}
		return and(parts...), nil
	case "person":
		sg.look(time.Time{})
		p, err := c.filterPred(Filter{Type: "person", Prop: cond.Prop, Op: cond.Op, Value: cond.Value})
		if err != nil {
			return "", err
		}
		return sg.add(d.countIf(p)) + " > 0", nil
	case "group":
		return sg.group(cond.Match, cond.Conditions)
	}
	return "", &Error{Field: "type", Msg: "unknown condition type " + cond.Type}
}
