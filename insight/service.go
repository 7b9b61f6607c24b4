package insight

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/query"
)

// Config configures a Service. Zero values take the defaults.
type Config struct {
	Events Querier
	Meta   *meta.Store
	State  *State
	// Engine runs saved insights and actions (default: a new engine).
	Engine *query.Engine
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	// Step is the monitoring interval (default 1 hour).
	Step time.Duration
	// Detect is the default anomaly sensitivity; Limits bound the
	// built-in series.
	Detect DetectConfig
	Limits SeriesLimits
	// ReleaseWindow is how long after a release an anomaly is linked to it
	// (default 24 hours).
	ReleaseWindow time.Duration

	// Delivery.
	SMTP       SMTPConfig
	HTTPClient *http.Client
	// MaxAttempts per notification (default 6); Backoff the wait after the
	// first failure, doubling up to MaxBackoff (defaults 30 s and 1 h).
	MaxAttempts int
	Backoff     time.Duration
	MaxBackoff  time.Duration
	// BaseURL, when set, puts a link to the rule in notifications.
	BaseURL string

	// Scheduler.
	// TickEvery is how often the scheduler checks for a newly completed
	// interval (default 1 minute); DeliverEvery how often the notifier
	// looks for due retries (default 5 s; new notifications wake it at
	// once). ClusterEvery is how often each project is clustered (default
	// 24 h, over the last ClusterDays days, default 7); negative disables.
	TickEvery    time.Duration
	DeliverEvery time.Duration
	ClusterEvery time.Duration
	ClusterDays  int
}

// Service runs insight for every project: the scheduler, the notifier, and
// the on-demand calls the API makes.
type Service struct {
	cfg      Config
	log      *slog.Logger
	eng      *query.Engine
	notifier *notifier

	wake   chan struct{}
	mu     sync.Mutex // serializes Tick
	cancel context.CancelFunc
	// projects holds one lock per project (a channel of one slot, so that
	// waiting for it can be cancelled): see lockProject.
	projectsMu sync.Mutex
	projects   map[int64]chan struct{}
	// beforeRecord, when set (tests), runs before an alert state change
	// is recorded.
	beforeRecord func()
	wg           sync.WaitGroup
	started      bool
	// lastTick is the last interval end Tick evaluated; lastCluster the
	// last clustering per project.
	lastTick    time.Time
	lastCluster map[int64]time.Time
}

// New returns a service; nothing runs until Start.
func New(cfg Config) (*Service, error) {
	if cfg.Events == nil || cfg.Meta == nil || cfg.State == nil {
		return nil, errors.New("insight: Events, Meta and State are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Step <= 0 {
		cfg.Step = time.Hour
	}
	if cfg.ReleaseWindow <= 0 {
		cfg.ReleaseWindow = 24 * time.Hour
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 6
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.TickEvery <= 0 {
		cfg.TickEvery = time.Minute
	}
	if cfg.DeliverEvery <= 0 {
		cfg.DeliverEvery = 5 * time.Second
	}
	if cfg.ClusterEvery == 0 {
		cfg.ClusterEvery = 24 * time.Hour
	}
	if cfg.ClusterDays <= 0 {
		cfg.ClusterDays = 7
	}
	cfg.Detect = cfg.Detect.withDefaults()
	eng := cfg.Engine
	if eng == nil {
		eng = query.New(query.Options{Now: cfg.Now})
	}
	cfg.State.now = cfg.Now
	s := &Service{cfg: cfg, log: cfg.Logger, eng: eng, wake: make(chan struct{}, 1), lastCluster: map[int64]time.Time{},
		projects: map[int64]chan struct{}{}}
	s.notifier = &notifier{state: cfg.State, client: cfg.HTTPClient, smtp: cfg.SMTP, maxAttempts: cfg.MaxAttempts,
		backoff: cfg.Backoff, maxBackoff: cfg.MaxBackoff, now: cfg.Now}
	return s, nil
}

// State is the service's state database (alert history, findings).
func (svc *Service) State() *State { return svc.cfg.State }

func (svc *Service) now() time.Time { return svc.cfg.Now() }

// lastComplete is the end of the last complete monitoring interval.
func (svc *Service) lastComplete() time.Time { return svc.now().UTC().Truncate(svc.cfg.Step) }

func (svc *Service) historyDays() int { return svc.cfg.Detect.HistoryDays }

func (svc *Service) wakeNotifier() {
	select {
	case svc.wake <- struct{}{}:
	default:
	}
}

// Start runs the scheduler and the notifier in the background until Close.
func (svc *Service) Start(ctx context.Context) {
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if svc.started {
		return
	}
	svc.started = true
	ctx, svc.cancel = context.WithCancel(context.WithoutCancel(ctx))
	svc.wg.Add(2)
	go func() {
		defer svc.wg.Done()
		t := time.NewTicker(svc.cfg.TickEvery)
		defer t.Stop()
		for {
			if err := svc.tickIfDue(ctx); err != nil && ctx.Err() == nil {
				svc.log.Error("insight: scheduled evaluation failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	go func() {
		defer svc.wg.Done()
		t := time.NewTicker(svc.cfg.DeliverEvery)
		defer t.Stop()
		for {
			if _, err := svc.notifier.deliverDue(ctx); err != nil && ctx.Err() == nil {
				svc.log.Error("insight: delivering notifications failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-svc.wake:
			}
		}
	}()
}

// Close stops the background work and waits for it.
func (svc *Service) Close() error {
	svc.mu.Lock()
	cancel := svc.cancel
	svc.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	svc.wg.Wait()
	return nil
}

// DeliverDue sends the notifications whose time has come (the notifier
// does this on its own once started).
func (svc *Service) DeliverDue(ctx context.Context) (int, error) { return svc.notifier.deliverDue(ctx) }

func (svc *Service) tickIfDue(ctx context.Context) error {
	end := svc.lastComplete()
	svc.mu.Lock()
	due := end.After(svc.lastTick)
	svc.mu.Unlock()
	if !due {
		return nil
	}
	return svc.Tick(ctx)
}

// lockProject waits for the project's evaluation lock and returns its
// release. Evaluation reads alert state, decides, and records the change
// with its notifications: two evaluations of one project at once (the
// scheduler's pass and a "check now" from the API) would both see a rule
// idle and both notify its firing, so every entry point that evaluates
// takes this lock. It is per project: checking one project never waits
// for the scheduler's pass over the others.
func (svc *Service) lockProject(ctx context.Context, projectID int64) (func(), error) {
	svc.projectsMu.Lock()
	l, ok := svc.projects[projectID]
	if !ok {
		l = make(chan struct{}, 1)
		svc.projects[projectID] = l
	}
	svc.projectsMu.Unlock()
	select {
	case l <- struct{}{}:
		return func() { <-l }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Tick runs one scheduled pass over every project: release scan, anomaly
// monitor, alert rules, and clustering when it is due.
func (svc *Service) Tick(ctx context.Context) error {
	svc.mu.Lock()
	defer svc.mu.Unlock()
	projects, err := svc.cfg.Meta.ListProjects(ctx)
	if err != nil {
		return fmt.Errorf("insight: list projects: %w", err)
	}
	var errs []error
	for _, p := range projects {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		unlock, err := svc.lockProject(ctx, p.ID)
		if err != nil {
			return err
		}
		if _, err := svc.scanReleases(ctx, p.ID); err != nil {
			errs = append(errs, err)
		}
		if _, err := svc.monitor(ctx, p.ID); err != nil {
			errs = append(errs, err)
		}
		if _, err := svc.evaluateAlerts(ctx, p.ID); err != nil {
			errs = append(errs, err)
		}
		unlock()
		if svc.cfg.ClusterEvery > 0 && svc.now().Sub(svc.lastCluster[p.ID]) >= svc.cfg.ClusterEvery {
			to := svc.lastComplete()
			req := ClusterRequest{SessionFilter: SessionFilter{From: to.Add(-time.Duration(svc.cfg.ClusterDays) * 24 * time.Hour), To: to}}
			if _, err := svc.Cluster(ctx, p.ID, req); err != nil {
				errs = append(errs, err)
			} else {
				svc.lastCluster[p.ID] = svc.now()
			}
		}
	}
	svc.lastTick = svc.lastComplete()
	return errors.Join(errs...)
}

// Cluster clusters a project's sessions and keeps the result as the
// project's latest clustering. Without a conversion event it uses the last
// step of the project's first saved funnel, if any.
func (svc *Service) Cluster(ctx context.Context, projectID int64, req ClusterRequest) (*ClusterResult, error) {
	if req.Conversion == "" {
		req.Conversion = svc.defaultConversion(ctx, projectID)
	}
	c, err := clusterSessions(ctx, svc.cfg.Events, projectID, req, svc.cfg.Now)
	if err != nil {
		return nil, err
	}
	if err := svc.cfg.State.saveClusters(ctx, projectID, c.result); err != nil {
		return nil, err
	}
	return c.result, nil
}

func (svc *Service) defaultConversion(ctx context.Context, projectID int64) string {
	objs, err := svc.cfg.Meta.Insights().List(ctx, projectID)
	if err != nil {
		return ""
	}
	for _, o := range objs {
		q, err := query.Parse(o.Definition)
		if err != nil {
			continue
		}
		if f, ok := q.(*query.Funnel); ok && len(f.Steps) > 0 && f.Steps[len(f.Steps)-1].Event != "" {
			return f.Steps[len(f.Steps)-1].Event
		}
	}
	return ""
}

// ---- releases ----

// RecordRelease records that version shipped at at (now when zero) as a
// release annotation; recording the same version again changes nothing.
func (svc *Service) RecordRelease(ctx context.Context, projectID int64, version string, at time.Time) (meta.Annotation, bool, error) {
	if at.IsZero() {
		at = svc.now()
	}
	return svc.cfg.Meta.EnsureRelease(ctx, projectID, version, at)
}

// ScanReleases turns the $release events (the SDK's release() call) that
// arrived since the last scan into release annotations, each at the
// version's first event. It returns how many annotations it created.
func (svc *Service) ScanReleases(ctx context.Context, projectID int64) (int, error) {
	unlock, err := svc.lockProject(ctx, projectID)
	if err != nil {
		return 0, err
	}
	defer unlock()
	return svc.scanReleases(ctx, projectID)
}

func (svc *Service) scanReleases(ctx context.Context, projectID int64) (int, error) {
	since, err := svc.cfg.State.releaseWatermark(ctx, projectID)
	if err != nil {
		return 0, err
	}
	d, err := dialectFor(svc.cfg.Events.Dialect())
	if err != nil {
		return 0, err
	}
	a := &args{d: d}
	q := `SELECT ` + d.jsonText("version") + ` AS version, min("timestamp"), max(received_at) FROM events WHERE project_id = ` + a.add(projectID) +
		` AND event = '$release' AND received_at > ` + a.add(since.UTC()) + ` GROUP BY version`
	rows, err := svc.cfg.Events.Query(ctx, q, a.vals...)
	if err != nil {
		return 0, fmt.Errorf("insight: scan releases: %w", err)
	}
	type rel struct {
		version string
		at      time.Time
	}
	var found []rel
	last := since
	for rows.Next() {
		var v *string
		var at, recv query.TimeColumn
		if err := rows.Scan(&v, &at, &recv); err != nil {
			rows.Close()
			return 0, fmt.Errorf("insight: scan releases: %w", err)
		}
		if recv.T.After(last) {
			last = recv.T
		}
		if v != nil && strings.TrimSpace(*v) != "" {
			found = append(found, rel{*v, at.T})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("insight: scan releases: %w", err)
	}
	created := 0
	for _, r := range found {
		_, ok, err := svc.cfg.Meta.EnsureRelease(ctx, projectID, r.version, r.at)
		if err != nil {
			if errors.Is(err, meta.ErrInvalid) {
				svc.log.Warn("ignoring invalid $release event", "project", projectID, "version", r.version, "err", err)
				continue
			}
			return created, err
		}
		if ok {
			created++
		}
	}
	if last.After(since) {
		if err := svc.cfg.State.setReleaseWatermark(ctx, projectID, last); err != nil {
			return created, err
		}
	}
	return created, nil
}

// releaseBefore is the latest release within ReleaseWindow before t.
func (svc *Service) releaseBefore(ctx context.Context, projectID int64, t time.Time) (*ReleaseRef, error) {
	as, err := svc.cfg.Meta.Annotations(ctx, projectID, t.Add(-svc.cfg.ReleaseWindow), t.Add(time.Millisecond))
	if err != nil {
		return nil, err
	}
	var best *ReleaseRef
	for _, a := range as {
		if a.Kind != meta.AnnotationRelease {
			continue
		}
		if best == nil || !a.At.Before(best.At) {
			best = &ReleaseRef{AnnotationID: a.ID, Version: a.Version, At: a.At.UTC()}
		}
	}
	return best, nil
}

// ---- series of any metric ----

// seriesFor computes the series a metric names over [from, to).
func (svc *Service) seriesFor(ctx context.Context, projectID int64, m Metric, from, to time.Time) ([]Series, error) {
	switch {
	case m.Insight != 0:
		return svc.insightSeries(ctx, projectID, m.Insight, from, to)
	case m.Action != 0:
		return svc.trendSeries(ctx, projectID, &query.Trends{Series: []query.Series{{EventRef: query.EventRef{Action: m.Action}}}},
			"action:"+strconv.FormatInt(m.Action, 10), "", from, to)
	case strings.HasPrefix(m.Series, keyEvent):
		name := strings.TrimPrefix(m.Series, keyEvent)
		ss, err := svc.trendSeries(ctx, projectID, &query.Trends{Series: []query.Series{{EventRef: query.EventRef{Event: name}}}}, m.Series, "Events: "+name, from, to)
		for i := range ss {
			ss[i].Link = map[string]string{"event": name}
		}
		return ss, err
	}
	all, err := builtinSeries(ctx, svc.cfg.Events, projectID, from, to, svc.cfg.Step, svc.cfg.Limits)
	if err != nil {
		return nil, err
	}
	if m.Series == "*" {
		return all, nil
	}
	for _, s := range all {
		if s.Key == m.Series {
			return []Series{s}, nil
		}
	}
	return nil, nil
}

// trendSeries runs a trends query hourly over [from, to) through the query
// engine; key and label name the result (label empty: the engine's).
func (svc *Service) trendSeries(ctx context.Context, projectID int64, t *query.Trends, key, label string, from, to time.Time) ([]Series, error) {
	q := *t
	q.KindName = "trends"
	q.Interval = "hour"
	q.Compare = false
	q.Breakdown = nil
	q.DateFrom = from.UTC().Format(time.RFC3339)
	q.DateTo = to.UTC().Format(time.RFC3339)
	q.Timezone = "UTC"
	res, err := svc.eng.Run(ctx, query.Request{ProjectID: projectID, Timezone: "UTC", DB: svc.cfg.Events,
		Defs: svc.cfg.Meta.Definitions(), Query: &q})
	if err != nil {
		return nil, fmt.Errorf("insight: %s: %w", key, err)
	}
	tr, ok := res.(*query.TrendsResult)
	if !ok {
		return nil, fmt.Errorf("insight: %s: unexpected result %T", key, res)
	}
	n := int(to.Sub(from) / svc.cfg.Step)
	var out []Series
	for i, ts := range tr.Series {
		s := Series{Key: key, Label: ts.Label, Kind: "count", Direction: Both, Start: from, Step: svc.cfg.Step, Values: make([]float64, n)}
		if label != "" {
			s.Label = label
		}
		if len(tr.Series) > 1 {
			s.Key = key + ":" + strconv.Itoa(i)
		}
		for _, p := range ts.Points {
			at, err := time.Parse(time.RFC3339, p.T)
			if err != nil {
				at, err = time.Parse("2006-01-02T15:04:05", p.T)
			}
			if err != nil {
				continue
			}
			if j := int(at.Sub(from) / svc.cfg.Step); j >= 0 && j < n {
				s.Values[j] = p.V
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// insightSeries monitors a saved insight: each series of a trends insight,
// or the conversion of a funnel (sessions that did the last step over
// sessions that did the first, per interval: a cheap proxy of the
// ordered funnel that moves with it).
func (svc *Service) insightSeries(ctx context.Context, projectID, id int64, from, to time.Time) ([]Series, error) {
	o, err := svc.cfg.Meta.Insights().Get(ctx, projectID, id)
	if err != nil {
		return nil, err
	}
	q, err := query.Parse(o.Definition)
	if err != nil {
		return nil, &InputError{Msg: fmt.Sprintf("insight %d cannot be monitored: %v", id, err)}
	}
	key := "insight:" + strconv.FormatInt(id, 10)
	switch q := q.(type) {
	case *query.Trends:
		ss, err := svc.trendSeries(ctx, projectID, q, key, "", from, to)
		for i := range ss {
			ss[i].Label = o.Name + ": " + ss[i].Label
			ss[i].Link = map[string]string{"insight": strconv.FormatInt(id, 10)}
		}
		return ss, err
	case *query.Funnel:
		if len(q.Steps) < 2 {
			return nil, nil
		}
		first, last := q.Steps[0].EventRef, q.Steps[len(q.Steps)-1].EventRef
		t := &query.Trends{Series: []query.Series{{EventRef: first, Math: "sessions"}, {EventRef: last, Math: "sessions"}}}
		t.Filters = q.Filters
		ss, err := svc.trendSeries(ctx, projectID, t, key, "", from, to)
		if err != nil || len(ss) != 2 {
			return nil, err
		}
		s := Series{Key: key, Label: o.Name + ": conversion", Kind: "ratio", Direction: Down, Start: from, Step: svc.cfg.Step,
			Values: ss[1].Values, Exposure: ss[0].Values, Link: map[string]string{"insight": strconv.FormatInt(id, 10)}}
		return []Series{s}, nil
	}
	return nil, &InputError{Msg: fmt.Sprintf("insight %d is a %s; trends and funnels can be monitored", id, q.Kind())}
}

// ---- monitor and feed ----

// Monitor evaluates the built-in series and the project's saved insights
// up to the last complete interval, stores every anomaly of the window as
// a finding (with its release, chart, segment and replays), and returns
// the findings.
func (svc *Service) Monitor(ctx context.Context, projectID int64) ([]Finding, error) {
	unlock, err := svc.lockProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return svc.monitor(ctx, projectID)
}

// RunMonitor is what the scheduler does for anomalies at each interval,
// now: it records the releases the SDK announced since the last scan (so
// that the anomalies found link to them), then runs the monitor, both
// under the project's lock.
func (svc *Service) RunMonitor(ctx context.Context, projectID int64) ([]Finding, error) {
	unlock, err := svc.lockProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if _, err := svc.scanReleases(ctx, projectID); err != nil {
		return nil, err
	}
	return svc.monitor(ctx, projectID)
}

func (svc *Service) monitor(ctx context.Context, projectID int64) ([]Finding, error) {
	to := svc.lastComplete()
	from := to.Add(-time.Duration(svc.historyDays()+1) * 24 * time.Hour).Truncate(24 * time.Hour)
	series, err := svc.seriesFor(ctx, projectID, Metric{Series: "*"}, from, to)
	if err != nil {
		return nil, err
	}
	if objs, err := svc.cfg.Meta.Insights().List(ctx, projectID); err == nil {
		for _, o := range objs {
			ss, err := svc.insightSeries(ctx, projectID, o.ID, from, to)
			if err != nil {
				var ie *InputError
				if !errors.As(err, &ie) {
					svc.log.Warn("insight: cannot monitor saved insight", "project", projectID, "insight", o.ID, "err", err)
				}
				continue
			}
			series = append(series, ss...)
		}
	}
	var out []Finding
	recent := to.Add(-7 * 24 * time.Hour)
	for i := range series {
		s := &series[i]
		pts, an := Evaluate(s, svc.cfg.Detect)
		for _, a := range an {
			if a.DetectedAt.Before(recent) {
				continue
			}
			f, err := svc.finding(ctx, projectID, s, pts, a)
			if err != nil {
				return out, err
			}
			if err := svc.cfg.State.saveFinding(ctx, f); err != nil {
				return out, err
			}
			out = append(out, f)
		}
	}
	return out, nil
}

func (svc *Service) finding(ctx context.Context, projectID int64, s *Series, pts []Point, a Anomaly) (Finding, error) {
	f := Finding{ProjectID: projectID, Anomaly: a}
	rel, err := svc.releaseBefore(ctx, projectID, a.Start)
	if err != nil {
		return f, err
	}
	f.Release = rel
	// The chart: a day before the anomaly to a day after (or now).
	lo, hi := a.Start.Add(-24*time.Hour), a.End.Add(24*time.Hour)
	if a.End.IsZero() {
		hi = s.At(len(pts))
	}
	for _, p := range pts {
		if !p.T.Before(lo) && p.T.Before(hi) {
			f.Chart = append(f.Chart, p)
		}
	}
	end := a.End
	if end.IsZero() {
		end = s.At(len(pts))
	}
	f.Segment = SessionFilter{From: a.Start, To: end, Conditions: segmentOf(s)}
	f.AffectedSessions = math.Abs(a.Observed - a.Expected)
	if s.Exposure == nil && s.Key != KeySessions {
		// Event counts: the excess share of the sessions that did it.
		n, err := countSessions(ctx, svc.cfg.Events, projectID, f.Segment)
		if err != nil {
			return f, err
		}
		if a.Observed > 0 {
			f.AffectedSessions = math.Round(float64(n) * math.Abs(a.Observed-a.Expected) / math.Max(a.Observed, a.Expected))
		}
	}
	f.Replays, err = sampleSessions(ctx, svc.cfg.Events, projectID, f.Segment, 3)
	if err != nil {
		return f, err
	}
	return f, nil
}

// segmentOf turns a series into the session conditions that select the
// sessions behind it.
func segmentOf(s *Series) []Condition {
	pageCond := func(p string) Condition {
		if strings.HasSuffix(p, "/*") {
			return Condition{Column: "path", Op: "prefix", Value: strings.TrimSuffix(p, "*")}
		}
		return Condition{Column: "path", Op: "eq", Value: p}
	}
	switch {
	case s.Link["event"] != "":
		return []Condition{{Column: "event", Op: "eq", Value: s.Link["event"]}}
	case s.Key == KeyErrorRate:
		return []Condition{{Column: "event", Op: "eq", Value: "$error"}}
	case s.Link["element"] != "":
		sig := map[string]string{"rage": "$rageclick", "dead": "$deadclick", "error": "$errorclick"}[s.Link["signal"]]
		return []Condition{pageCond(s.Link["path"]), {Column: "event", Op: "eq", Value: sig}}
	case s.Link["path"] != "":
		return []Condition{pageCond(s.Link["path"]), {Column: "frustration", Op: "eq", Value: "any"}}
	}
	return nil
}

func countSessions(ctx context.Context, db Querier, projectID int64, f SessionFilter) (int64, error) {
	if err := f.validate(); err != nil {
		return 0, &InputError{Msg: err.Error()}
	}
	d, err := dialectFor(db.Dialect())
	if err != nil {
		return 0, err
	}
	a := &args{d: d}
	rows, err := db.Query(ctx, "SELECT count(DISTINCT session_id) FROM events WHERE "+f.where(a, projectID), a.vals...)
	if err != nil {
		return 0, fmt.Errorf("insight: count sessions: %w", err)
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, fmt.Errorf("insight: count sessions: %w", err)
		}
	}
	return n, rows.Err()
}

// sampleSessions returns up to k sessions of a filter to replay, those
// with a recording first, then the longest.
func sampleSessions(ctx context.Context, db Querier, projectID int64, f SessionFilter, k int) ([]Representative, error) {
	out := []Representative{}
	if err := f.validate(); err != nil {
		return out, nil
	}
	d, err := dialectFor(db.Dialect())
	if err != nil {
		return nil, err
	}
	a := &args{d: d}
	where := f.where(a, projectID)
	q := `SELECT session_id, min(distinct_id), min("timestamp"), max("timestamp"),
		max(CASE WHEN session_id IN (SELECT session_id FROM replays WHERE project_id = ` + a.add(projectID) + `) THEN 1 ELSE 0 END) AS has_replay
		FROM events WHERE ` + where + ` GROUP BY session_id ORDER BY has_replay DESC, count(*) DESC, session_id LIMIT ` + strconv.Itoa(k)
	rows, err := db.Query(ctx, q, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("insight: sample sessions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Representative
		var start, end query.TimeColumn
		var hasReplay int
		if err := rows.Scan(&r.SessionID, &r.DistinctID, &start, &end, &hasReplay); err != nil {
			return nil, fmt.Errorf("insight: sample sessions: %w", err)
		}
		r.Start, r.DurationSeconds, r.ReplayPath = start.T, end.T.Sub(start.T).Seconds(), "/api/replay/"+r.SessionID
		out = append(out, r)
	}
	return out, rows.Err()
}
