package insight

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/sightline-analytics/sightline/meta"
)

// Rule is the definition of an alert rule, stored as the Definition of a
// meta.Store Alerts() object (its name is the rule's name).
type Rule struct {
	// Type is "anomaly" (the detector says the metric left its baseline),
	// "threshold" (the metric over Period is above or below Value) or
	// "change" (the metric over the last Period changed by more than Value
	// percent against the Period before).
	Type   string `json:"type"`
	Metric Metric `json:"metric"`
	// Op is "above" or "below" for threshold rules; "increase",
	// "decrease" or "any" for change rules.
	Op    string  `json:"op,omitempty"`
	Value float64 `json:"value,omitempty"`
	// Period is "hour" or "day" (default: hour for thresholds, day for
	// changes).
	Period string `json:"period,omitempty"`
	// Detect tunes anomaly rules (threshold, k intervals, …).
	Detect   DetectConfig `json:"detect,omitzero"`
	Channels []Channel    `json:"channels"`
	Disabled bool         `json:"disabled,omitempty"`
}

// Metric names what a rule watches: a built-in series key ("sessions",
// "error_rate", "event:<name>", "frustration:page:<path>",
// "frustration:element:<kind>:<path>:<target>", or "*" for every built-in
// series, anomaly rules only), a saved insight (each trends series; a
// funnel's conversion), or a saved action.
type Metric struct {
	Series  string `json:"series,omitempty"`
	Insight int64  `json:"insight,omitempty"`
	Action  int64  `json:"action,omitempty"`
}

// ParseRule decodes and validates a rule definition.
func ParseRule(def json.RawMessage) (Rule, error) {
	var r Rule
	dec := json.NewDecoder(bytes.NewReader(def))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, &InputError{Msg: "alert rule: " + err.Error()}
	}
	if err := r.validate(); err != nil {
		return r, &InputError{Msg: "alert rule: " + err.Error()}
	}
	return r, nil
}

func (r *Rule) validate() error {
	set := 0
	if r.Metric.Series != "" {
		set++
	}
	if r.Metric.Insight != 0 {
		set++
	}
	if r.Metric.Action != 0 {
		set++
	}
	if set != 1 {
		return errors.New("metric must name exactly one of series, insight or action")
	}
	switch r.Type {
	case "anomaly":
	case "threshold":
		if r.Op != "above" && r.Op != "below" {
			return errors.New(`threshold rules need op "above" or "below"`)
		}
		if r.Metric.Series == "*" {
			return errors.New(`series "*" is for anomaly rules only`)
		}
	case "change":
		if r.Op != "increase" && r.Op != "decrease" && r.Op != "any" {
			return errors.New(`change rules need op "increase", "decrease" or "any"`)
		}
		if r.Value <= 0 {
			return errors.New("change rules need a value: the percent change that fires")
		}
		if r.Metric.Series == "*" {
			return errors.New(`series "*" is for anomaly rules only`)
		}
	default:
		return fmt.Errorf(`type must be "anomaly", "threshold" or "change", not %q`, r.Type)
	}
	switch r.Period {
	case "", "hour", "day":
	default:
		return fmt.Errorf(`period must be "hour" or "day", not %q`, r.Period)
	}
	if len(r.Channels) > 10 {
		return errors.New("at most 10 channels")
	}
	for i, c := range r.Channels {
		if err := c.validate(); err != nil {
			return fmt.Errorf("channels[%d]: %w", i, err)
		}
	}
	return nil
}

func (r *Rule) periodIntervals(step time.Duration) int {
	p := r.Period
	if p == "" {
		p = "hour"
		if r.Type == "change" {
			p = "day"
		}
	}
	d := time.Hour
	if p == "day" {
		d = 24 * time.Hour
	}
	return max(1, int(d/step))
}

// verdict is one (rule, key) evaluation.
type verdict struct {
	key     string
	label   string
	firing  bool
	value   float64
	message string
	start   time.Time // anomalies: when it started
	release *ReleaseRef
}

// periodValue is a series' value over intervals [lo, hi): a count, or a
// rate for ratio series (NaN without exposure).
func periodValue(s *Series, lo, hi int) float64 {
	var x, e float64
	for i := max(lo, 0); i < hi && i < len(s.Values); i++ {
		x += s.Values[i]
		if s.Exposure != nil {
			e += s.Exposure[i]
		}
	}
	if s.Exposure == nil {
		return x
	}
	if e == 0 {
		return math.NaN()
	}
	return x / e
}

func fmtValue(s *Series, v float64) string {
	if s.Exposure != nil {
		return fmt.Sprintf("%.2f%%", 100*v)
	}
	return fmt.Sprintf("%.0f", v)
}

// judge evaluates a rule on series that end at the last complete interval.
func (svc *Service) judge(ctx context.Context, projectID int64, r *Rule, series []Series) ([]verdict, error) {
	var out []verdict
	for i := range series {
		s := &series[i]
		n := len(s.Values)
		if n == 0 {
			continue
		}
		v := verdict{key: s.Key, label: s.Label}
		switch r.Type {
		case "anomaly":
			cfg := r.Detect
			if cfg == (DetectConfig{}) {
				cfg = svc.cfg.Detect
			}
			pts, an := Evaluate(s, cfg)
			v.value = pts[n-1].Value
			if len(an) > 0 && an[len(an)-1].Ongoing() {
				a := an[len(an)-1]
				v.firing = true
				v.start = a.Start
				rel, err := svc.releaseBefore(ctx, projectID, a.Start)
				if err != nil {
					return nil, err
				}
				v.release = rel
				v.message = fmt.Sprintf("%s is %s: %s against %s expected since %s (z %.1f).", s.Label, a.Direction,
					fmtNum(a.Observed), fmtNum(a.Expected), a.Start.UTC().Format("2006-01-02 15:04 MST"), a.PeakZ)
				if rel != nil {
					v.message += fmt.Sprintf(" It started %s after release %s.", fmtSeconds(a.Start.Sub(rel.At).Seconds()), rel.Version)
				}
			} else {
				v.message = s.Label + " is back within its baseline."
			}
		case "threshold":
			k := r.periodIntervals(s.Step)
			val := periodValue(s, n-k, n)
			if math.IsNaN(val) {
				continue
			}
			v.value = val
			v.firing = (r.Op == "above" && val > r.Value) || (r.Op == "below" && val < r.Value)
			limit := r.Value
			if v.firing {
				v.message = fmt.Sprintf("%s is %s over the last %s: %s (threshold %s).", s.Label, r.Op, periodName(k, s.Step), fmtValue(s, val), fmtValue(s, limit))
			} else {
				v.message = fmt.Sprintf("%s is no longer %s %s: %s.", s.Label, r.Op, fmtValue(s, limit), fmtValue(s, val))
			}
		case "change":
			k := r.periodIntervals(s.Step)
			cur, prev := periodValue(s, n-k, n), periodValue(s, n-2*k, n-k)
			if math.IsNaN(cur) || math.IsNaN(prev) || prev == 0 || n < 2*k {
				continue
			}
			pct := 100 * (cur - prev) / prev
			v.value = pct
			v.firing = (r.Op != "decrease" && pct >= r.Value) || (r.Op != "increase" && pct <= -r.Value)
			if v.firing {
				v.message = fmt.Sprintf("%s changed %+.0f%% against the previous %s: %s, was %s.", s.Label, pct, periodName(k, s.Step), fmtValue(s, cur), fmtValue(s, prev))
			} else {
				v.message = fmt.Sprintf("%s is within %.0f%% of the previous %s again (%+.0f%%).", s.Label, r.Value, periodName(k, s.Step), pct)
			}
		}
		out = append(out, v)
	}
	return out, nil
}

func periodName(k int, step time.Duration) string {
	if time.Duration(k)*step == 24*time.Hour {
		return "day"
	}
	if k == 1 {
		return "hour"
	}
	return (time.Duration(k) * step).String()
}

func fmtNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e9 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// EvaluateAlerts evaluates every enabled alert rule of a project at the
// last complete interval, records state changes in the history and queues
// their notifications. A rule that keeps firing notifies once; when it
// stops, a "resolved" notice follows. It holds the project's lock, so
// calling it while the scheduler evaluates the project (an API "check
// now") waits instead of recording, and notifying, the same change twice.
func (svc *Service) EvaluateAlerts(ctx context.Context, projectID int64) ([]AlertEvent, error) {
	unlock, err := svc.lockProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return svc.evaluateAlerts(ctx, projectID)
}

func (svc *Service) evaluateAlerts(ctx context.Context, projectID int64) ([]AlertEvent, error) {
	objs, err := svc.cfg.Meta.Alerts().List(ctx, projectID)
	if err != nil {
		return nil, err
	}
	var events []AlertEvent
	for _, o := range objs {
		r, err := ParseRule(o.Definition)
		if err != nil {
			svc.log.Warn("skipping invalid alert rule", "project", projectID, "rule", o.ID, "err", err)
			continue
		}
		if r.Disabled {
			continue
		}
		evs, err := svc.evaluateRule(ctx, projectID, o, &r)
		if err != nil {
			if ctx.Err() != nil {
				return events, ctx.Err()
			}
			svc.log.Error("alert rule evaluation failed", "project", projectID, "rule", o.ID, "err", err)
			continue
		}
		events = append(events, evs...)
	}
	return events, nil
}

func (svc *Service) evaluateRule(ctx context.Context, projectID int64, o meta.Object, r *Rule) ([]AlertEvent, error) {
	to := svc.lastComplete()
	from := to.Add(-time.Duration(svc.historyDays()+1) * 24 * time.Hour).Truncate(24 * time.Hour)
	series, err := svc.seriesFor(ctx, projectID, r.Metric, from, to)
	if err != nil {
		return nil, err
	}
	verdicts, err := svc.judge(ctx, projectID, r, series)
	if err != nil {
		return nil, err
	}
	states, err := svc.cfg.State.alertStatus(ctx, projectID, o.ID)
	if err != nil {
		return nil, err
	}
	var out []AlertEvent
	for _, v := range verdicts {
		prev := states[v.key]
		wasFiring := prev.Status == "firing"
		if v.firing == wasFiring {
			if err := svc.cfg.State.touch(ctx, projectID, o.ID, v.key, v.value); err != nil {
				return nil, err
			}
			continue
		}
		if !v.firing && prev.Status == "" {
			continue // never fired: nothing to resolve
		}
		kind, status := "firing", "firing"
		if !v.firing {
			kind, status = "resolved", "ok"
		}
		ev := AlertEvent{ProjectID: projectID, RuleID: o.ID, RuleName: o.Name, Key: v.key, Kind: kind, At: to,
			Message: v.message, Value: v.value}
		if v.release != nil {
			ev.Release = v.release.Version
		}
		if svc.beforeRecord != nil {
			svc.beforeRecord()
		}
		recorded, err := svc.cfg.State.transition(ctx, ev, status, svc.deliveriesFor(ev, r.Channels))
		if err != nil {
			return nil, err
		}
		out = append(out, recorded)
	}
	if len(out) > 0 {
		svc.wakeNotifier()
	}
	return out, nil
}

// deliveriesFor renders an event's notification for each channel.
func (svc *Service) deliveriesFor(ev AlertEvent, channels []Channel) []Delivery {
	note := Notification{Kind: ev.Kind, ProjectID: ev.ProjectID, RuleID: ev.RuleID, RuleName: ev.RuleName, Key: ev.Key,
		Message: ev.Message, Value: ev.Value, At: ev.At, Release: ev.Release}
	switch ev.Kind {
	case "firing":
		note.Text = fmt.Sprintf(":rotating_light: *%s*: %s", ev.RuleName, ev.Message)
	case "resolved":
		note.Text = fmt.Sprintf(":white_check_mark: *%s* resolved: %s", ev.RuleName, ev.Message)
	default:
		note.Text = fmt.Sprintf(":wave: Test of *%s*: %s", ev.RuleName, ev.Message)
	}
	if svc.cfg.BaseURL != "" {
		note.URL = fmt.Sprintf("%s/p/%d/alerts/%d", strings.TrimRight(svc.cfg.BaseURL, "/"), ev.ProjectID, ev.RuleID)
	}
	body, _ := json.Marshal(note) // a struct of plain fields cannot fail
	var ds []Delivery
	for _, c := range channels {
		d := Delivery{Channel: c.Type, body: string(body)}
		switch c.Type {
		case "webhook":
			d.Target = c.URL
		case "email":
			d.Target = strings.Join(c.To, ",")
		}
		ds = append(ds, d)
	}
	return ds
}

// SendTest sends a test notification of a rule to its channels now, and
// returns the history event with each delivery's outcome. Failed channels
// are not retried: the person testing wants the answer now.
func (svc *Service) SendTest(ctx context.Context, projectID, ruleID int64) (AlertEvent, error) {
	o, err := svc.cfg.Meta.Alerts().Get(ctx, projectID, ruleID)
	if err != nil {
		return AlertEvent{}, err
	}
	r, err := ParseRule(o.Definition)
	if err != nil {
		return AlertEvent{}, err
	}
	if len(r.Channels) == 0 {
		return AlertEvent{}, &InputError{Msg: "the rule has no channels to test"}
	}
	ev := AlertEvent{ProjectID: projectID, RuleID: o.ID, RuleName: o.Name, Key: "test", Kind: "test", At: svc.now().UTC(),
		Message: "This is a test notification from Sightline. When the rule fires, its message appears here."}
	ev, err = svc.cfg.State.transition(ctx, ev, "", svc.deliveriesFor(ev, r.Channels))
	if err != nil {
		return AlertEvent{}, err
	}
	for i := range ev.Deliveries {
		d := &ev.Deliveries[i]
		sendErr := svc.notifier.send(ctx, *d)
		d.Attempts = 1
		if err := svc.cfg.State.delivered(ctx, d.ID, 1, sendErr, time.Time{}); err != nil {
			return ev, err
		}
		if sendErr != nil {
			d.Status, d.LastError = "failed", sendErr.Error()
		} else {
			d.Status, d.SentAt = "sent", svc.now().UTC()
		}
	}
	return ev, nil
}
