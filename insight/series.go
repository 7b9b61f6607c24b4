package insight

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// SeriesLimits bound how many series of each family the built-in monitor
// watches.
type SeriesLimits struct {
	Events   int // top events by volume (default 20)
	Pages    int // pages with the most frustrated sessions (default 10)
	Elements int // elements with the most frustrated sessions (default 15)
}

func (l SeriesLimits) withDefaults() SeriesLimits {
	if l.Events <= 0 {
		l.Events = 20
	}
	if l.Pages <= 0 {
		l.Pages = 10
	}
	if l.Elements <= 0 {
		l.Elements = 15
	}
	return l
}

// Series keys of the built-in monitor.
const (
	KeySessions  = "sessions"
	KeyErrorRate = "error_rate"
	keyEvent     = "event:"
	keyPage      = "frustration:page:"
	keyElement   = "frustration:element:"
)

// builtinSeries computes the built-in monitored series of a project over
// [from, to) in steps of step: sessions, event counts, the error rate
// (sessions with an uncaught error over sessions), and frustrated sessions
// per page and per element over the page's views. from must be aligned to
// step.
func builtinSeries(ctx context.Context, db Querier, projectID int64, from, to time.Time, step time.Duration, lim SeriesLimits) ([]Series, error) {
	d, err := dialectFor(db.Dialect())
	if err != nil {
		return nil, err
	}
	lim = lim.withDefaults()
	n := int(to.Sub(from) / step)
	if n <= 0 {
		return nil, nil
	}
	stepSec := int64(step / time.Second)
	fromSec := from.Unix()
	idx := func(bucket int64) int {
		i := int((bucket - fromSec) / stepSec)
		if i < 0 || i >= n {
			return -1
		}
		return i
	}
	ts := `"timestamp"`
	bucket := d.bucket(ts, stepSec)
	scope := func(a *args) string {
		return "project_id = " + a.add(projectID) + " AND " + ts + " >= " + a.add(from.UTC()) + " AND " + ts + " < " + a.add(to.UTC())
	}
	run := func(q string, a *args, scan func(bucket int64, vals []any) error, nv int) error {
		rows, err := db.Query(ctx, q, a.vals...)
		if err != nil {
			return fmt.Errorf("insight: monitor series: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var b int64
			vals := make([]any, nv)
			ptrs := make([]any, nv+1)
			ptrs[0] = &b
			for i := range vals {
				ptrs[i+1] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return fmt.Errorf("insight: monitor series: %w", err)
			}
			if err := scan(b, vals); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	var out []Series
	newSeries := func(key, label, kind string, dir Direction, exposure bool) *Series {
		s := &Series{Key: key, Label: label, Kind: kind, Direction: dir, Start: from, Step: step, Values: make([]float64, n)}
		if exposure {
			s.Exposure = make([]float64, n)
		}
		return s
	}

	// Sessions and the error rate.
	sessions := newSeries(KeySessions, "Sessions", "count", Both, false)
	errRate := newSeries(KeyErrorRate, "Sessions with a JavaScript error", "ratio", Up, true)
	a := &args{d: d}
	q := "SELECT " + bucket + " AS b, count(DISTINCT session_id), count(DISTINCT CASE WHEN event = '$error' THEN session_id END) FROM events WHERE " +
		scope(a) + " AND session_id <> '' GROUP BY b"
	if err := run(q, a, func(b int64, v []any) error {
		if i := idx(b); i >= 0 {
			sessions.Values[i] = toFloat(v[0])
			errRate.Exposure[i] = toFloat(v[0])
			errRate.Values[i] = toFloat(v[1])
		}
		return nil
	}, 2); err != nil {
		return nil, err
	}
	out = append(out, *sessions, *errRate)

	// Events by name.
	byEvent := map[string][]float64{}
	totals := map[string]float64{}
	a = &args{d: d}
	q = "SELECT " + bucket + " AS b, event, count(*) FROM events WHERE " + scope(a) + " GROUP BY b, event"
	if err := run(q, a, func(b int64, v []any) error {
		i := idx(b)
		if i < 0 {
			return nil
		}
		name := toString(v[0])
		vals := byEvent[name]
		if vals == nil {
			vals = make([]float64, n)
			byEvent[name] = vals
		}
		vals[i] = toFloat(v[1])
		totals[name] += vals[i]
		return nil
	}, 2); err != nil {
		return nil, err
	}
	for _, name := range topKeys(totals, lim.Events, 1) {
		s := newSeries(keyEvent+name, "Events: "+name, "count", Both, false)
		s.Values = byEvent[name]
		s.Link = map[string]string{"event": name}
		out = append(out, *s)
	}

	// Page views per path (exposure of the frustration series), and
	// templates to pool the pages of one kind.
	views := map[string][]float64{}
	a = &args{d: d}
	q = "SELECT " + bucket + " AS b, path, count(*) FROM events WHERE " + scope(a) + " AND event = '$pageview' GROUP BY b, path"
	if err := run(q, a, func(b int64, v []any) error {
		if i := idx(b); i >= 0 {
			p := toString(v[0])
			if views[p] == nil {
				views[p] = make([]float64, n)
			}
			views[p][i] += toFloat(v[1])
		}
		return nil
	}, 2); err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(views))
	for p := range views {
		paths = append(paths, p)
	}
	tpl := newTemplaterPaths(paths)
	tplViews := map[string][]float64{}
	for p, vs := range views {
		t := tpl.template(p)
		if tplViews[t] == nil {
			tplViews[t] = make([]float64, n)
		}
		for i, v := range vs {
			tplViews[t][i] += v
		}
	}

	// Frustrated sessions per page template and per element.
	type elemKey struct{ page, kind, target string }
	pageFr := map[string][]float64{}
	elemFr := map[elemKey][]float64{}
	pageTot, elemTot := map[string]float64{}, map[string]float64{}
	elemByName := map[string]elemKey{}
	a = &args{d: d}
	kind := "CASE WHEN rage THEN 'rage' WHEN dead THEN 'dead' ELSE 'error' END"
	q = "SELECT " + bucket + " AS b, path, " + kind + " AS kind, " + d.target("elements_chain") + " AS target, count(DISTINCT session_id) FROM events WHERE " +
		scope(a) + " AND (rage OR dead OR error_click) GROUP BY b, path, kind, target"
	if err := run(q, a, func(b int64, v []any) error {
		i := idx(b)
		if i < 0 {
			return nil
		}
		page := tpl.template(toString(v[0]))
		c := toFloat(v[3])
		if pageFr[page] == nil {
			pageFr[page] = make([]float64, n)
		}
		pageFr[page][i] += c
		pageTot[page] += c
		k := elemKey{page, toString(v[1]), targetLabel(toString(v[2]))}
		if elemFr[k] == nil {
			elemFr[k] = make([]float64, n)
		}
		elemFr[k][i] += c
		name := k.kind + "\x00" + k.page + "\x00" + k.target
		elemTot[name] += c
		elemByName[name] = k
		return nil
	}, 4); err != nil {
		return nil, err
	}
	for _, page := range topKeys(pageTot, lim.Pages, 5) {
		if tplViews[page] == nil {
			continue
		}
		s := newSeries(keyPage+page, "Frustrated sessions on "+page, "ratio", Up, true)
		s.Values = pageFr[page]
		s.Exposure = tplViews[page]
		s.Link = map[string]string{"path": page}
		out = append(out, *s)
	}
	for _, name := range topKeys(elemTot, lim.Elements, 5) {
		k := elemByName[name]
		if tplViews[k.page] == nil {
			continue
		}
		verb := map[string]string{"rage": "Rage clicks", "dead": "Dead clicks", "error": "Error clicks"}[k.kind]
		s := newSeries(keyElement+k.kind+":"+k.page+":"+k.target, verb+" on "+k.target+" on "+k.page, "ratio", Up, true)
		s.Values = elemFr[k]
		s.Exposure = tplViews[k.page]
		s.Link = map[string]string{"path": k.page, "element": k.target, "signal": k.kind}
		out = append(out, *s)
	}
	return out, nil
}

// topKeys returns the keys with the largest totals (at least min), at most
// limit, ties by key.
func topKeys(totals map[string]float64, limit int, minTotal float64) []string {
	var keys []string
	for k, v := range totals {
		if v >= minTotal {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if totals[keys[i]] != totals[keys[j]] {
			return totals[keys[i]] > totals[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > limit {
		keys = keys[:limit]
	}
	return keys
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case uint64:
		return float64(x)
	case float64:
		return x
	case int:
		return float64(x)
	}
	return 0
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case nil:
		return ""
	}
	return strings.TrimSpace(fmt.Sprint(v))
}
