package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/sightline-analytics/sightline/store"
)

// Query is a parsed analytics query: one of *Trends, *Funnel,
// *FunnelActors, *Retention, *Paths, *Sessions, *Heatmap, *Frustration,
// *SegmentSize, *LiveEvents, *SessionEvents.
type Query interface {
	// Kind is the query's "kind" field.
	Kind() string
	base() *Common
	validate(v *validator)
}

// Common holds the fields every kind of query shares.
type Common struct {
	KindName string `json:"kind"`
	// DateFrom and DateTo bound the query: "2026-01-31" (a whole day in
	// Timezone; DateTo is inclusive), an RFC 3339 time ("…T10:00:00Z",
	// DateTo exclusive), a local time without offset ("2026-01-31T10:00"),
	// or relative to now: "-7d", "-24h", "-4w", "-3m", "-1y" (DateFrom;
	// days, weeks, months and years start at local midnight), "now" /
	// "today" (DateTo: the end of today). Defaults: "-7d" to the end of
	// today.
	DateFrom string `json:"date_from,omitempty"`
	DateTo   string `json:"date_to,omitempty"`
	// Timezone is an IANA zone; days, weeks and months start at local
	// midnight there. Default: the project's zone.
	Timezone string `json:"timezone,omitempty"`
	// Filters apply to every event the query reads (ANDed).
	Filters []Filter `json:"filters,omitempty"`
	// ExcludeInternal drops internal and test traffic (see
	// Options.InternalFilters).
	ExcludeInternal bool `json:"exclude_internal,omitempty"`
}

func (c *Common) Kind() string  { return c.KindName }
func (c *Common) base() *Common { return c }

// Filter is a condition on events. Type selects what Prop names:
//
//   - "event" (the default): an event column (url, path, host, browser,
//     device_type, …, see EventColumns) or a property of the event;
//   - "person": a property of the event's person;
//   - "session": a fact of the event's session (duration, pageviews,
//     entry_path, …, see SessionProps);
//   - "element": the clicked element: selector (a CSS selector matched
//     against the element chain), text, href, tag;
//   - "segment": membership of the event's person in segment Value (an id),
//     with op "in" or "not_in"; Prop is unused.
type Filter struct {
	Type  string `json:"type,omitempty"`
	Prop  string `json:"prop,omitempty"`
	Op    string `json:"op"`
	Value any    `json:"value,omitempty"`
}

// Filter operators.
const (
	OpEq          = "eq"
	OpNeq         = "neq"
	OpContains    = "contains"
	OpNotContains = "not_contains"
	OpRegex       = "regex"
	OpNotRegex    = "not_regex"
	OpGt          = "gt"
	OpGte         = "gte"
	OpLt          = "lt"
	OpLte         = "lte"
	OpIsSet       = "is_set"
	OpIsNotSet    = "is_not_set"
	OpIn          = "in"
	OpNotIn       = "not_in"
)

// EventRef names what a series, step or condition counts: an event name, a
// saved action, or an action defined inline (ActionDef: a definition not
// saved yet, which an action editor previews), narrowed by Where.
type EventRef struct {
	Event     string            `json:"event,omitempty"`
	Action    int64             `json:"action,omitempty"`
	ActionDef *ActionDefinition `json:"action_def,omitempty"`
	Where     []Filter          `json:"where,omitempty"`
}

// Series is one line of a trends query.
type Series struct {
	EventRef
	// Math is events (default), persons, sessions, or sum / avg / min /
	// max / median / p90 / p99 of Property.
	Math     string `json:"math,omitempty"`
	Property string `json:"property,omitempty"`
	// Label overrides the series label (default: the event or action name).
	Label string `json:"label,omitempty"`
}

// Breakdown splits results by the value of a property or by segment
// membership.
type Breakdown struct {
	// Type is "event" (default), "person" or "segment".
	Type string `json:"type,omitempty"`
	Prop string `json:"prop,omitempty"`
	// Segments are the segment ids of a segment breakdown: one group per
	// segment (a person may be in several).
	Segments []int64 `json:"segments,omitempty"`
	// Limit keeps the top values by event count (default 10; 1..100); the
	// rest are grouped as "$other".
	Limit int `json:"limit,omitempty"`
}

// Trends counts events over time.
type Trends struct {
	Common
	// Interval is hour, day (default), week (ISO, from Monday) or month.
	Interval  string     `json:"interval,omitempty"`
	Series    []Series   `json:"series"`
	Breakdown *Breakdown `json:"breakdown,omitempty"`
	// Compare adds the same series over the previous period of equal length.
	Compare bool `json:"compare,omitempty"`
	// Formula combines series by letter (A is series[0]): "B / A * 100".
	// When set, the result holds the formula's line instead of the series.
	Formula string `json:"formula,omitempty"`
}

// FunnelStep is one step of a funnel.
type FunnelStep struct {
	EventRef
	Label string `json:"label,omitempty"`
}

// Exclusion drops a funnel attempt in which the event happens between two
// steps (1-based, FromStep < ToStep).
type Exclusion struct {
	EventRef
	FromStep int `json:"from_step"`
	ToStep   int `json:"to_step"`
}

// Funnel measures conversion through ordered steps.
type Funnel struct {
	Common
	Steps []FunnelStep `json:"steps"`
	// WindowSeconds is the conversion window from the first step (default
	// 14 days).
	WindowSeconds int64 `json:"window_seconds,omitempty"`
	// CountBy is person (default) or session.
	CountBy string `json:"count_by,omitempty"`
	// Order is ordered (default), strict or unordered.
	Order      string      `json:"order,omitempty"`
	Exclusions []Exclusion `json:"exclusions,omitempty"`
	Breakdown  *Breakdown  `json:"breakdown,omitempty"`
	// HistogramBins is the number of time-to-convert bins (default 10).
	HistogramBins int `json:"histogram_bins,omitempty"`
	// Samples is how many converted and dropped persons (or sessions) each
	// step lists for opening their replays (default 10, at most 100).
	Samples int `json:"samples,omitempty"`
}

// Retention is a cohort table: who came back after a start event.
type Retention struct {
	Common
	Start EventRef `json:"start"`
	// Return is the event that counts as coming back (default: Start).
	Return *EventRef `json:"return,omitempty"`
	// StartType is first_time (default: a person's first-ever start event
	// puts them in a cohort) or recurring (every period with a start event
	// does).
	StartType string `json:"start_type,omitempty"`
	// Period is day, week (default) or month.
	Period string `json:"period,omitempty"`
	// Periods is the number of columns including period 0 (default 8).
	Periods int `json:"periods,omitempty"`
}

// Paths lists the journeys through pages (or events) within sessions.
type Paths struct {
	Common
	// PathType is pageview (default: paths of page paths) or event (paths
	// of event names).
	PathType string `json:"path_type,omitempty"`
	// StartPoint starts every path at the first visit of this path (or
	// event); EndPoint ends it at the first visit of this one.
	StartPoint string `json:"start_point,omitempty"`
	EndPoint   string `json:"end_point,omitempty"`
	// Depth is the number of steps (default 5; 2..10).
	Depth int `json:"depth,omitempty"`
	// EdgeLimit keeps the busiest edges (default 50); the rest are merged
	// into edges towards "$other".
	EdgeLimit int `json:"edge_limit,omitempty"`
	// Exclude drops these paths (or events) before paths are formed.
	Exclude []string `json:"exclude,omitempty"`
}

// Sessions lists sessions.
type Sessions struct {
	Common
	// VisitedURL keeps sessions with a pageview whose path (when it starts
	// with "/") or URL matches: exact, or a pattern with "*" wildcards.
	VisitedURL string `json:"visited_url,omitempty"`
	// Performed keeps sessions with at least one matching event.
	Performed *EventRef `json:"performed,omitempty"`
	// MinFrustration keeps sessions with at least that many rage, dead and
	// error clicks in total.
	MinFrustration int `json:"min_frustration,omitempty"`
	// MinDuration and MaxDuration bound the session duration in seconds
	// (MaxDuration 0: no bound).
	MinDuration float64 `json:"min_duration,omitempty"`
	MaxDuration float64 `json:"max_duration,omitempty"`
	DeviceType  string  `json:"device_type,omitempty"`
	// HasReplay keeps sessions with (true) or without (false) a recording.
	HasReplay *bool `json:"has_replay,omitempty"`
	// OrderBy is start (default), duration, active_time, pages, clicks or
	// frustration; descending unless Ascending.
	OrderBy   string `json:"order_by,omitempty"`
	Ascending bool   `json:"ascending,omitempty"`
	// Limit is the page size (default 50, at most 500).
	Limit int `json:"limit,omitempty"`
	// Cursor continues a listing: the next_cursor of the previous page.
	Cursor string `json:"cursor,omitempty"`
}

// Heatmap aggregates clicks and scroll depth on one page.
type Heatmap struct {
	Common
	// URL is a path ("/product/tent") or full URL; with "*" wildcards it is
	// a pattern ("/product/*").
	URL string `json:"url"`
	// Viewport is mobile (< 768 px wide), tablet (768–1023), desktop
	// (≥ 1024) or all (default).
	Viewport string `json:"viewport,omitempty"`
	// Grid is the cell size in page pixels (default 20).
	Grid int `json:"grid,omitempty"`
	// Limit bounds the elements listed (default 50).
	Limit int `json:"limit,omitempty"`
	// Layer selects the events whose positions Points aggregates: clicks
	// (default: $click events), rage, dead or error (the events flagged
	// as rage, dead or error clicks).
	Layer string `json:"layer,omitempty"`
}

// Frustration ranks pages and elements by rage, dead and error clicks.
type Frustration struct {
	Common
	Interval string `json:"interval,omitempty"`
	// Limit bounds the pages and elements listed (default 10).
	Limit int `json:"limit,omitempty"`
}

// SegmentSize counts a segment's members at the end of each interval.
type SegmentSize struct {
	Common
	Segment  int64  `json:"segment"`
	Interval string `json:"interval,omitempty"`
}

// Validation ---------------------------------------------------------------

// Error is a query that cannot run as written. Field is the JSON path of
// the offending field ("series[1].property").
type Error struct {
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// ErrorField returns the field path of a query *Error in err's chain, and
// whether there is one.
func ErrorField(err error) (string, bool) {
	var qe *Error
	if errors.As(err, &qe) {
		return qe.Field, true
	}
	return "", false
}

type validator struct {
	err *Error
}

func (v *validator) fail(field, format string, args ...any) {
	if v.err == nil {
		v.err = &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
}

func (v *validator) ok() bool { return v.err == nil }

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// Parse reads a JSON query. Unknown fields are errors, so that a typo is
// reported instead of silently ignored. The result is validated.
func Parse(data []byte) (Query, error) {
	var head struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, jsonError(err)
	}
	var q Query
	switch head.Kind {
	case "trends":
		q = &Trends{}
	case "funnel":
		q = &Funnel{}
	case "funnel_actors":
		q = &FunnelActors{}
	case "retention":
		q = &Retention{}
	case "paths":
		q = &Paths{}
	case "sessions":
		q = &Sessions{}
	case "heatmap":
		q = &Heatmap{}
	case "frustration":
		q = &Frustration{}
	case "segment_size":
		q = &SegmentSize{}
	case "live_events":
		q = &LiveEvents{}
	case "session_events":
		q = &SessionEvents{}
	case "":
		return nil, &Error{Field: "kind", Msg: `required: one of "trends", "funnel", "funnel_actors", "retention", "paths", "sessions", "heatmap", "frustration", "segment_size", "live_events", "session_events"`}
	default:
		return nil, &Error{Field: "kind", Msg: fmt.Sprintf(`unknown kind %q: use one of "trends", "funnel", "funnel_actors", "retention", "paths", "sessions", "heatmap", "frustration", "segment_size", "live_events", "session_events"`, head.Kind)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(q); err != nil {
		return nil, jsonError(err)
	}
	if err := Validate(q); err != nil {
		return nil, err
	}
	return q, nil
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		// Embedded Go structs (Common, EventRef) appear in the path under
		// their type names; JSON names are lower case.
		var parts []string
		for p := range strings.SplitSeq(te.Field, ".") {
			if p != "" && !(p[0] >= 'A' && p[0] <= 'Z') {
				parts = append(parts, p)
			}
		}
		return &Error{Field: strings.Join(parts, "."), Msg: fmt.Sprintf("must be %s, not %s", jsonTypeName(te.Type.String()), te.Value)}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Msg: fmt.Sprintf("query is not valid JSON at byte %d: %v", se.Offset, err)}
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name := strings.Trim(rest, `"`)
		return &Error{Field: name, Msg: "unknown field (check the spelling; see docs/api.md)"}
	}
	return &Error{Msg: "query is not valid JSON: " + msg}
}

func jsonTypeName(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string":
		return "a string"
	case goType == "bool", goType == "*bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	}
	return "an object"
}

// Validate checks a query built in Go the way Parse checks a JSON one.
func Validate(q Query) error {
	v := &validator{}
	c := q.base()
	if c.KindName == "" {
		c.KindName = kindOf(q)
	}
	if c.KindName != kindOf(q) {
		return &Error{Field: "kind", Msg: fmt.Sprintf("is %q but the query is a %s query", c.KindName, kindOf(q))}
	}
	v.common(c)
	if v.ok() {
		q.validate(v)
	}
	if v.err != nil {
		return v.err
	}
	return nil
}

func kindOf(q Query) string {
	switch q.(type) {
	case *Trends:
		return "trends"
	case *Funnel:
		return "funnel"
	case *FunnelActors:
		return "funnel_actors"
	case *Retention:
		return "retention"
	case *Paths:
		return "paths"
	case *Sessions:
		return "sessions"
	case *Heatmap:
		return "heatmap"
	case *Frustration:
		return "frustration"
	case *SegmentSize:
		return "segment_size"
	case *LiveEvents:
		return "live_events"
	case *SessionEvents:
		return "session_events"
	}
	return ""
}

const (
	maxSeries    = 20
	maxSteps     = 20
	maxFilters   = 50
	maxListValue = 500
	maxValueLen  = 10_000
)

func (v *validator) common(c *Common) {
	if c.Timezone != "" {
		if _, err := loadLocation(c.Timezone); err != nil {
			v.fail("timezone", "%q is not a known IANA time zone (e.g. \"Europe/Paris\")", c.Timezone)
		}
	}
	if c.DateFrom != "" && !validDateSpec(c.DateFrom) {
		v.fail("date_from", "%q is not a date: use 2026-01-31, an RFC 3339 time, or a relative date such as -7d", c.DateFrom)
	}
	if c.DateTo != "" && !validDateSpec(c.DateTo) {
		v.fail("date_to", "%q is not a date: use 2026-01-31, an RFC 3339 time, or \"now\"", c.DateTo)
	}
	v.filters("filters", c.Filters, true)
}

func (v *validator) filters(path string, fs []Filter, allowSegment bool) {
	if len(fs) > maxFilters {
		v.fail(path, "at most %d filters", maxFilters)
		return
	}
	for i := range fs {
		v.filter(index(path, i), &fs[i], allowSegment)
	}
}

var filterOps = map[string]bool{
	OpEq: true, OpNeq: true, OpContains: true, OpNotContains: true, OpRegex: true, OpNotRegex: true,
	OpGt: true, OpGte: true, OpLt: true, OpLte: true, OpIsSet: true, OpIsNotSet: true,
}

func (v *validator) filter(path string, f *Filter, allowSegment bool) {
	f.Value = normalizeValue(f.Value)
	switch f.Type {
	case "", "event", "person":
		v.propName(join(path, "prop"), f.Prop)
	case "session":
		if _, ok := sessionProps[f.Prop]; !ok {
			v.fail(join(path, "prop"), "unknown session property %q: use one of %s", f.Prop, sessionPropNames())
			return
		}
	case "element":
		switch f.Prop {
		case "selector", "text", "href", "tag":
		default:
			v.fail(join(path, "prop"), `element filters match "selector", "text", "href" or "tag", not %q`, f.Prop)
			return
		}
	case "segment":
		if !allowSegment {
			v.fail(join(path, "type"), "segment filters cannot be nested in segment definitions; use a nested group instead")
			return
		}
		if f.Op != OpIn && f.Op != OpNotIn {
			v.fail(join(path, "op"), `segment filters use "in" or "not_in"`)
			return
		}
		if _, ok := intValue(f.Value); !ok {
			v.fail(join(path, "value"), "must be a segment id")
		}
		return
	default:
		v.fail(join(path, "type"), `unknown filter type %q: use "event", "person", "session", "element" or "segment"`, f.Type)
		return
	}
	if !v.ok() {
		return
	}
	if !filterOps[f.Op] {
		if f.Op == "" {
			v.fail(join(path, "op"), "required: one of eq, neq, contains, not_contains, regex, not_regex, gt, gte, lt, lte, is_set, is_not_set")
		} else {
			v.fail(join(path, "op"), "unknown operator %q: use eq, neq, contains, not_contains, regex, not_regex, gt, gte, lt, lte, is_set or is_not_set", f.Op)
		}
		return
	}
	if f.Type == "element" && f.Op != OpEq && f.Op != OpNeq && f.Op != OpContains && f.Op != OpNotContains && f.Op != OpRegex && f.Op != OpNotRegex {
		v.fail(join(path, "op"), "element filters use eq, neq, contains, not_contains, regex or not_regex")
		return
	}
	if f.Type == "element" && f.Prop == "selector" && f.Op != OpEq && f.Op != OpNeq {
		v.fail(join(path, "op"), `selector filters use "eq" or "neq"`)
		return
	}
	vp := join(path, "value")
	switch f.Op {
	case OpIsSet, OpIsNotSet:
		if f.Value != nil {
			v.fail(vp, "must be absent for %s", f.Op)
		}
	case OpGt, OpGte, OpLt, OpLte:
		if _, ok := f.Value.(float64); !ok {
			v.fail(vp, "must be a number for %s", f.Op)
		}
	case OpContains, OpNotContains:
		if s, ok := f.Value.(string); !ok || s == "" {
			v.fail(vp, "must be a non-empty string for %s", f.Op)
		} else if len(s) > maxValueLen {
			v.fail(vp, "is longer than %d bytes", maxValueLen)
		}
	case OpRegex, OpNotRegex:
		s, ok := f.Value.(string)
		if !ok || s == "" {
			v.fail(vp, "must be a non-empty regular expression (RE2 syntax)")
			return
		}
		if len(s) > 1000 {
			v.fail(vp, "regular expressions are limited to 1000 bytes")
			return
		}
		if _, err := regexp.Compile(s); err != nil {
			v.fail(vp, "is not a valid RE2 regular expression: %v", err)
		}
	case OpEq, OpNeq:
		switch x := f.Value.(type) {
		case string:
			if len(x) > maxValueLen {
				v.fail(vp, "is longer than %d bytes", maxValueLen)
			} else if f.Type == "element" && f.Prop == "selector" {
				if _, err := parseSelector(x); err != nil {
					v.fail(vp, "%v", err)
				}
			}
		case float64, bool:
			if f.Type == "element" {
				v.fail(vp, "must be a string")
			}
		case []any:
			if len(x) == 0 || len(x) > maxListValue {
				v.fail(vp, "a list of values holds 1 to %d items", maxListValue)
				return
			}
			if f.Type == "element" && f.Prop == "selector" {
				v.fail(vp, "must be one selector")
				return
			}
			for i, e := range x {
				switch s := e.(type) {
				case string:
					if len(s) > maxValueLen {
						v.fail(index(vp, i), "is longer than %d bytes", maxValueLen)
					}
				case float64, bool:
				default:
					v.fail(index(vp, i), "must be a string, number or boolean")
				}
			}
		case nil:
			v.fail(vp, "required for %s (use is_set / is_not_set to test presence)", f.Op)
		default:
			v.fail(vp, "must be a string, number, boolean or a list of them")
		}
	}
	if f.Type == "session" && v.ok() {
		sp := sessionProps[f.Prop]
		_, isNum := f.Value.(float64)
		if sp.numeric && (f.Op == OpContains || f.Op == OpNotContains || f.Op == OpRegex || f.Op == OpNotRegex) {
			v.fail(join(path, "op"), "session property %q is a number: use eq, neq, gt, gte, lt, lte", f.Prop)
		} else if !sp.numeric && isNum && f.Op != OpEq && f.Op != OpNeq {
			v.fail(vp, "session property %q is text", f.Prop)
		}
	}
}

// normalizeValue turns json.Number into float64 (recursively in lists), so
// that filters built in Go and parsed from JSON look the same.
func normalizeValue(x any) any {
	switch t := x.(type) {
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return t.String()
		}
		return f
	case int:
		return float64(t)
	case int64:
		return float64(t)
	case []any:
		out := make([]any, len(t))
		for i := range t {
			out[i] = normalizeValue(t[i])
		}
		return out
	case []string:
		out := make([]any, len(t))
		for i := range t {
			out[i] = t[i]
		}
		return out
	}
	return x
}

func intValue(x any) (int64, bool) {
	f, ok := normalizeValue(x).(float64)
	if !ok || f != float64(int64(f)) || f <= 0 {
		return 0, false
	}
	return int64(f), true
}

// propName validates a property name. Names reach SQL as part of a JSON
// path literal (never as identifiers), so quotes, backslashes and control
// characters are refused outright rather than escaped: no escaping bug can
// then turn a name into SQL.
func (v *validator) propName(path, name string) {
	if err := checkPropName(name); err != nil {
		v.fail(path, "%v", err)
	}
}

func checkPropName(name string) error {
	if name == "" {
		return errors.New("required: a property name")
	}
	if len(name) > 200 {
		return errors.New("property names are at most 200 bytes")
	}
	if !utf8.ValidString(name) {
		return errors.New("property name is not valid UTF-8")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '\'' || r == '"' || r == '\\' || r == '`' || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("property name %q holds a character that is not allowed (quotes, backslashes, backticks and control characters are refused)", name)
		}
	}
	return nil
}

func (v *validator) eventRef(path string, r *EventRef) {
	switch {
	case r.Event == "" && r.Action == 0 && r.ActionDef == nil:
		v.fail(join(path, "event"), "required: an event name (or an action id in \"action\", or an action definition in \"action_def\")")
	case r.Event != "" && r.Action != 0:
		v.fail(join(path, "action"), "give either event or action, not both")
	case r.ActionDef != nil && r.Event != "":
		v.fail(join(path, "action_def"), "give either event or action_def, not both")
	case r.ActionDef != nil && r.Action != 0:
		v.fail(join(path, "action_def"), "give either action or action_def, not both")
	case r.ActionDef != nil:
		v.actionDef(join(path, "action_def"), r.ActionDef)
	case r.Action < 0:
		v.fail(join(path, "action"), "must be a positive action id")
	case len(r.Event) > 200:
		v.fail(join(path, "event"), "event names are at most 200 characters")
	case !utf8.ValidString(r.Event):
		v.fail(join(path, "event"), "is not valid UTF-8")
	}
	v.filters(join(path, "where"), r.Where, true)
}

var mathNeedsProperty = map[string]bool{"sum": true, "avg": true, "min": true, "max": true, "median": true, "p90": true, "p99": true}

func validInterval(s string) bool {
	return s == "hour" || s == "day" || s == "week" || s == "month"
}

func (q *Trends) validate(v *validator) {
	if q.Interval == "" {
		q.Interval = "day"
	}
	if !validInterval(q.Interval) {
		v.fail("interval", `must be "hour", "day", "week" or "month"`)
	}
	if len(q.Series) == 0 {
		v.fail("series", "required: at least one series")
	}
	if len(q.Series) > maxSeries {
		v.fail("series", "at most %d series", maxSeries)
	}
	for i := range q.Series {
		s := &q.Series[i]
		p := index("series", i)
		v.eventRef(p, &s.EventRef)
		if s.Math == "" {
			s.Math = "events"
		}
		switch {
		case s.Math == "events" || s.Math == "persons" || s.Math == "sessions":
			if s.Property != "" {
				v.fail(join(p, "property"), "only used when math is sum, avg, min, max, median, p90 or p99")
			}
		case mathNeedsProperty[s.Math]:
			if s.Property == "" {
				v.fail(join(p, "property"), "required when math is %q", s.Math)
			} else {
				v.propName(join(p, "property"), s.Property)
			}
		default:
			v.fail(join(p, "math"), "unknown math %q: use events, persons, sessions, sum, avg, min, max, median, p90 or p99", s.Math)
		}
		if len(s.Label) > 200 {
			v.fail(join(p, "label"), "at most 200 characters")
		}
	}
	v.breakdown("breakdown", q.Breakdown)
	if q.Formula != "" && v.ok() {
		if _, err := parseFormula(q.Formula, len(q.Series)); err != nil {
			v.fail("formula", "%v", err)
		}
	}
}

func (v *validator) breakdown(path string, b *Breakdown) {
	if b == nil {
		return
	}
	if b.Limit == 0 {
		b.Limit = 10
	}
	if b.Limit < 1 || b.Limit > 100 {
		v.fail(join(path, "limit"), "must be between 1 and 100")
	}
	switch b.Type {
	case "", "event", "person":
		v.propName(join(path, "prop"), b.Prop)
		if len(b.Segments) > 0 {
			v.fail(join(path, "segments"), `only used when type is "segment"`)
		}
	case "segment":
		if b.Prop != "" {
			v.fail(join(path, "prop"), `not used when type is "segment"`)
		}
		if len(b.Segments) == 0 || len(b.Segments) > 20 {
			v.fail(join(path, "segments"), "required: 1 to 20 segment ids")
		}
		for i, id := range b.Segments {
			if id <= 0 {
				v.fail(index(join(path, "segments"), i), "must be a segment id")
			}
		}
	default:
		v.fail(join(path, "type"), `must be "event", "person" or "segment"`)
	}
}

func (q *Funnel) validate(v *validator) {
	if len(q.Steps) < 2 || len(q.Steps) > maxSteps {
		v.fail("steps", "a funnel has 2 to %d steps", maxSteps)
		return
	}
	for i := range q.Steps {
		v.eventRef(index("steps", i), &q.Steps[i].EventRef)
	}
	if q.WindowSeconds == 0 {
		q.WindowSeconds = 14 * 86400
	}
	if q.WindowSeconds < 1 || q.WindowSeconds > 366*86400 {
		v.fail("window_seconds", "must be between 1 second and 366 days")
	}
	if q.CountBy == "" {
		q.CountBy = "person"
	}
	if q.CountBy != "person" && q.CountBy != "session" {
		v.fail("count_by", `must be "person" or "session"`)
	}
	if q.Order == "" {
		q.Order = "ordered"
	}
	if q.Order != "ordered" && q.Order != "strict" && q.Order != "unordered" {
		v.fail("order", `must be "ordered", "strict" or "unordered"`)
	}
	for i := range q.Exclusions {
		x := &q.Exclusions[i]
		p := index("exclusions", i)
		v.eventRef(p, &x.EventRef)
		if x.FromStep == 0 && x.ToStep == 0 {
			x.FromStep, x.ToStep = 1, len(q.Steps)
		}
		if x.FromStep < 1 || x.FromStep >= len(q.Steps) {
			v.fail(join(p, "from_step"), "must be a step number from 1 to %d", len(q.Steps)-1)
		} else if x.ToStep <= x.FromStep || x.ToStep > len(q.Steps) {
			v.fail(join(p, "to_step"), "must be a step number after from_step, at most %d", len(q.Steps))
		}
	}
	if len(q.Exclusions) > 0 && q.Order != "ordered" {
		v.fail("exclusions", "exclusions need an ordered funnel")
	}
	v.breakdown("breakdown", q.Breakdown)
	if q.HistogramBins == 0 {
		q.HistogramBins = 10
	}
	if q.HistogramBins < 1 || q.HistogramBins > 100 {
		v.fail("histogram_bins", "must be between 1 and 100")
	}
	if q.Samples == 0 {
		q.Samples = 10
	}
	if q.Samples < 0 || q.Samples > 100 {
		v.fail("samples", "must be between 0 and 100")
	}
}

func (q *Retention) validate(v *validator) {
	v.eventRef("start", &q.Start)
	if q.Return != nil {
		v.eventRef("return", q.Return)
	}
	if q.StartType == "" {
		q.StartType = "first_time"
	}
	if q.StartType != "first_time" && q.StartType != "recurring" {
		v.fail("start_type", `must be "first_time" or "recurring"`)
	}
	if q.Period == "" {
		q.Period = "week"
	}
	if q.Period != "day" && q.Period != "week" && q.Period != "month" {
		v.fail("period", `must be "day", "week" or "month"`)
	}
	if q.Periods == 0 {
		q.Periods = 8
	}
	if q.Periods < 2 || q.Periods > 90 {
		v.fail("periods", "must be between 2 and 90")
	}
}

func (q *Paths) validate(v *validator) {
	if q.PathType == "" {
		q.PathType = "pageview"
	}
	if q.PathType != "pageview" && q.PathType != "event" {
		v.fail("path_type", `must be "pageview" or "event"`)
	}
	if q.Depth == 0 {
		q.Depth = 5
	}
	if q.Depth < 2 || q.Depth > 10 {
		v.fail("depth", "must be between 2 and 10")
	}
	if q.EdgeLimit == 0 {
		q.EdgeLimit = 50
	}
	if q.EdgeLimit < 1 || q.EdgeLimit > 1000 {
		v.fail("edge_limit", "must be between 1 and 1000")
	}
	if len(q.StartPoint) > 2000 {
		v.fail("start_point", "at most 2000 bytes")
	}
	if len(q.EndPoint) > 2000 {
		v.fail("end_point", "at most 2000 bytes")
	}
	if len(q.Exclude) > 100 {
		v.fail("exclude", "at most 100 entries")
	}
}

var sessionOrders = map[string]bool{"start": true, "duration": true, "active_time": true, "pages": true, "clicks": true, "frustration": true}

func (q *Sessions) validate(v *validator) {
	if q.Performed != nil {
		v.eventRef("performed", q.Performed)
	}
	if q.MinFrustration < 0 {
		v.fail("min_frustration", "must not be negative")
	}
	if q.MinDuration < 0 || q.MaxDuration < 0 {
		v.fail("min_duration", "durations must not be negative")
	}
	if q.MaxDuration > 0 && q.MaxDuration < q.MinDuration {
		v.fail("max_duration", "must not be less than min_duration")
	}
	if len(q.VisitedURL) > 2000 {
		v.fail("visited_url", "at most 2000 bytes")
	}
	if q.OrderBy == "" {
		q.OrderBy = "start"
	}
	if !sessionOrders[q.OrderBy] {
		v.fail("order_by", `must be "start", "duration", "active_time", "pages", "clicks" or "frustration"`)
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	if q.Limit < 1 || q.Limit > 500 {
		v.fail("limit", "must be between 1 and 500")
	}
	if q.Cursor != "" {
		if _, err := decodeCursor(q.Cursor, q.OrderBy); err != nil {
			v.fail("cursor", "%v", err)
		}
	}
}

func (q *Heatmap) validate(v *validator) {
	if q.URL == "" {
		v.fail("url", `required: a path ("/pricing"), URL or pattern ("/product/*")`)
	}
	if len(q.URL) > 2000 {
		v.fail("url", "at most 2000 bytes")
	}
	if q.Viewport == "" {
		q.Viewport = "all"
	}
	if _, ok := store.ViewportBuckets[q.Viewport]; !ok && q.Viewport != "all" {
		v.fail("viewport", `must be "mobile", "tablet", "desktop" or "all"`)
	}
	if q.Grid == 0 {
		q.Grid = 20
	}
	if q.Grid < 1 || q.Grid > 1000 {
		v.fail("grid", "must be between 1 and 1000 pixels")
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	if q.Limit < 1 || q.Limit > 500 {
		v.fail("limit", "must be between 1 and 500")
	}
	if q.Layer == "" {
		q.Layer = "clicks"
	}
	if _, ok := heatLayers[q.Layer]; !ok {
		v.fail("layer", `must be "clicks", "rage", "dead" or "error"`)
	}
}

func (q *Frustration) validate(v *validator) {
	if q.Interval == "" {
		q.Interval = "day"
	}
	if !validInterval(q.Interval) {
		v.fail("interval", `must be "hour", "day", "week" or "month"`)
	}
	if q.Limit == 0 {
		q.Limit = 10
	}
	if q.Limit < 1 || q.Limit > 100 {
		v.fail("limit", "must be between 1 and 100")
	}
}

func (q *SegmentSize) validate(v *validator) {
	if q.Segment <= 0 {
		v.fail("segment", "required: a segment id")
	}
	if q.Interval == "" {
		q.Interval = "day"
	}
	if q.Interval != "day" && q.Interval != "week" && q.Interval != "month" {
		v.fail("interval", `must be "day", "week" or "month"`)
	}
}
