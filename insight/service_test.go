package insight

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/synth"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// webhookReceiver records JSON posts; fail makes it answer 500 to the
// first n requests.
type webhookReceiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	got   []Notification
	calls atomic.Int64
	fail  atomic.Int64
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	w := &webhookReceiver{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.calls.Add(1)
		if w.fail.Add(-1) >= 0 {
			http.Error(rw, "receiver down", http.StatusInternalServerError)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var n Notification
		if err := json.Unmarshal(body, &n); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(rw, "bad body", http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.got = append(w.got, n)
		w.mu.Unlock()
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhookReceiver) notes() []Notification {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Notification(nil), w.got...)
}

type fixture struct {
	svc   *Service
	meta  *meta.Store
	clock *clock
	pid   int64
	cfg   synth.Config
}

// newFixture loads cfg's traffic into a fresh project and returns a
// service over it whose clock the test sets.
func newFixture(t *testing.T, cfg synth.Config, smtpAddr string) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	m, err := meta.Open(ctx, filepath.Join(dir, "meta.db"), meta.WithBcryptCost(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	p, _, err := m.CreateProject(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	db, _ := loadSynthProject(t, cfg, p.ID)
	st, err := OpenState(ctx, filepath.Join(dir, "insight.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: synth.IncidentStart(cfg)}
	svc, err := New(Config{Events: db, Meta: m, State: st, Now: clk.Now, SMTP: SMTPConfig{Addr: smtpAddr, From: "sightline@example.com"},
		Backoff: time.Minute, MaxBackoff: 10 * time.Minute, MaxAttempts: 4, ClusterEvery: -1, BaseURL: "http://sightline.test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	return &fixture{svc: svc, meta: m, clock: clk, pid: p.ID, cfg: cfg}
}

func (f *fixture) createRule(t *testing.T, name string, r Rule) int64 {
	t.Helper()
	def, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseRule(def); err != nil {
		t.Fatalf("rule %s does not validate: %v", name, err)
	}
	o, err := f.meta.Alerts().Create(context.Background(), meta.Object{ProjectID: f.pid, Name: name, Definition: def})
	if err != nil {
		t.Fatal(err)
	}
	return o.ID
}

// TestAlertLifecycle follows an anomaly alert through the planted
// incident: the release is picked up from $release events, the rule fires
// once (linked to the release) and notifies a real webhook receiver and a
// real SMTP server, stays quiet while it keeps firing, resolves after the
// fix with a "resolved" notice, and all of it is in the history. The
// monitor's findings then lead the insight feed.
func TestAlertLifecycle(t *testing.T) {
	ctx := context.Background()
	mail := startSMTP(t)
	hook := newWebhookReceiver(t)
	cfg := synth.Config{Seed: 1, Days: 12, Events: 500_000, IncidentFix: 5 * time.Hour}
	f := newFixture(t, cfg, mail.Addr())
	inc := synth.IncidentStart(cfg)
	rule := f.createRule(t, "Cart frustration", Rule{Type: "anomaly", Metric: Metric{Series: "frustration:page:/cart"},
		Channels: []Channel{{Type: "webhook", URL: hook.srv.URL}, {Type: "email", To: []string{"oncall@example.com"}}}})

	n, err := f.svc.ScanReleases(ctx, f.pid)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("ScanReleases created %d annotations, want 3 (baseline, incident, fix)", n)
	}
	if again, err := f.svc.ScanReleases(ctx, f.pid); err != nil || again != 0 {
		t.Errorf("second scan: %d, %v; want 0, nil", again, err)
	}

	// Before the incident: nothing fires.
	f.clock.Set(inc.Add(-time.Minute))
	evs, err := f.svc.EvaluateAlerts(ctx, f.pid)
	if err != nil || len(evs) != 0 {
		t.Fatalf("before the incident: %d events, %v", len(evs), err)
	}
	// Two intervals into it: the rule fires, linked to the release.
	f.clock.Set(inc.Add(2*time.Hour + time.Minute))
	evs, err = f.svc.EvaluateAlerts(ctx, f.pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Kind != "firing" || evs[0].RuleID != rule {
		t.Fatalf("at +2h: %+v, want one firing event", evs)
	}
	if evs[0].Release != synth.ReleaseVersion || !strings.Contains(evs[0].Message, "after release "+synth.ReleaseVersion) {
		t.Errorf("firing event not linked to release %s: %+v", synth.ReleaseVersion, evs[0])
	}
	if sent, err := f.svc.DeliverDue(ctx); err != nil || sent != 2 {
		t.Fatalf("DeliverDue = %d, %v; want 2 deliveries", sent, err)
	}
	notes := hook.notes()
	if len(notes) != 1 || notes[0].Kind != "firing" || !strings.Contains(notes[0].Text, "Frustrated sessions on /cart") {
		t.Fatalf("webhook got %+v", notes)
	}
	if notes[0].URL != "http://sightline.test/p/1/alerts/1" && !strings.HasPrefix(notes[0].URL, "http://sightline.test/p/") {
		t.Errorf("notification link %q", notes[0].URL)
	}
	msgs := mail.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "oncall@example.com" || !strings.Contains(msgs[0].Data, "Subject: [Sightline] Cart frustration") ||
		!strings.Contains(msgs[0].Data, "Frustrated sessions on /cart") {
		t.Fatalf("smtp got %+v", msgs)
	}
	// Still firing an hour later: deduplicated.
	f.clock.Add(time.Hour)
	if evs, err := f.svc.EvaluateAlerts(ctx, f.pid); err != nil || len(evs) != 0 {
		t.Fatalf("while firing: %+v, %v; want no new event", evs, err)
	}
	// After the fix, the anomaly ends and the rule resolves.
	f.clock.Set(inc.Add(cfg.IncidentFix + 8*time.Hour))
	evs, err = f.svc.EvaluateAlerts(ctx, f.pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Kind != "resolved" {
		t.Fatalf("after the fix: %+v, want one resolved event", evs)
	}
	if _, err := f.svc.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	if notes := hook.notes(); len(notes) != 2 || notes[1].Kind != "resolved" || !strings.Contains(notes[1].Text, "resolved") {
		t.Fatalf("webhook after resolve: %+v", notes)
	}
	if msgs := mail.Messages(); len(msgs) != 2 || !strings.Contains(msgs[1].Data, "Subject: [Sightline] Resolved: Cart frustration") {
		t.Fatalf("smtp after resolve: %d messages", len(msgs))
	}
	hist, err := f.svc.State().History(ctx, f.pid, rule, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Kind != "resolved" || hist[1].Kind != "firing" {
		t.Fatalf("history: %+v", hist)
	}
	for _, h := range hist {
		if len(h.Deliveries) != 2 {
			t.Errorf("%s event has %d deliveries", h.Kind, len(h.Deliveries))
		}
		for _, d := range h.Deliveries {
			if d.Status != "sent" || d.Attempts != 1 {
				t.Errorf("%s delivery %s: status %s after %d attempts", h.Kind, d.Channel, d.Status, d.Attempts)
			}
		}
	}

	// The monitor stored the incident; the feed leads with it.
	f.clock.Set(inc.Add(3*time.Hour + time.Minute))
	if _, err := f.svc.Monitor(ctx, f.pid); err != nil {
		t.Fatal(err)
	}
	feed, err := f.svc.Feed(ctx, f.pid, FeedQuery{Days: 7, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(feed) == 0 {
		t.Fatal("empty feed")
	}
	for _, it := range feed {
		t.Logf("feed: %-50s affected %.0f at %s %s", it.Title, it.AffectedSessions, it.At.Format("01-02 15:04"), it.Detail)
	}
	top := feed[0]
	if !strings.Contains(top.Title, "rage") && !strings.Contains(top.Title, "/cart") {
		t.Errorf("top finding %q is not the coupon incident", top.Title)
	}
	if top.Release == nil || top.Release.Version != synth.ReleaseVersion {
		t.Errorf("top finding release %+v", top.Release)
	}
	if len(top.Replays) != 3 || top.Segment == nil || len(top.Chart) < 10 {
		t.Errorf("top finding lacks replays (%d), segment or chart", len(top.Replays))
	}
	for i := 1; i < len(feed); i++ {
		if feedBefore(&feed[i], &feed[i-1]) {
			t.Errorf("feed not ranked at %d: %s %q before %s %q", i, feed[i-1].Severity, feed[i-1].Title, feed[i].Severity, feed[i].Title)
		}
	}
}

// TestDeliveryRetriesWithBackoff: a receiver that fails is retried after
// the backoff, doubling, until it answers; one that never answers is given
// up after MaxAttempts and marked failed.
func TestDeliveryRetriesWithBackoff(t *testing.T) {
	ctx := context.Background()
	st, err := OpenState(ctx, filepath.Join(t.TempDir(), "insight.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	st.now = clk.Now
	flaky := newWebhookReceiver(t)
	flaky.fail.Store(2)
	dead := newWebhookReceiver(t)
	dead.fail.Store(1 << 30)
	n := &notifier{state: st, client: http.DefaultClient, maxAttempts: 4, backoff: time.Minute, maxBackoff: 3 * time.Minute, now: clk.Now}
	svc := &Service{cfg: Config{BaseURL: ""}}
	ev := AlertEvent{ProjectID: 1, RuleID: 7, RuleName: "r", Key: "k", Kind: "firing", At: clk.Now(), Message: "m"}
	ds := svc.deliveriesFor(ev, []Channel{{Type: "webhook", URL: flaky.srv.URL}, {Type: "webhook", URL: dead.srv.URL}})
	if _, err := st.transition(ctx, ev, "firing", ds); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance    time.Duration
		attempted  int
		flakyCalls int64
	}{
		{0, 2, 1},                // both fail
		{30 * time.Second, 0, 1}, // not due yet
		{30 * time.Second, 2, 2}, // +1 min: both fail again
		{time.Minute, 0, 2},      // next wait is 2 min
		{time.Minute, 2, 3},      // flaky answers at its third try
		{3 * time.Minute, 1, 3},  // dead: fourth attempt (backoff capped at 3 min), then given up
		{time.Hour, 0, 3},        // nothing left
	}
	for i, s := range steps {
		clk.Add(s.advance)
		got, err := n.deliverDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got != s.attempted || flaky.calls.Load() != s.flakyCalls {
			t.Fatalf("step %d: attempted %d (flaky calls %d), want %d (%d)", i, got, flaky.calls.Load(), s.attempted, s.flakyCalls)
		}
	}
	hist, err := st.History(ctx, 1, 7, 10)
	if err != nil {
		t.Fatal(err)
	}
	byTarget := map[string]Delivery{}
	for _, d := range hist[0].Deliveries {
		byTarget[d.Target] = d
	}
	if d := byTarget[flaky.srv.URL]; d.Status != "sent" || d.Attempts != 3 {
		t.Errorf("flaky receiver: %+v", d)
	}
	if d := byTarget[dead.srv.URL]; d.Status != "failed" || d.Attempts != 4 || !strings.Contains(d.LastError, "500") {
		t.Errorf("dead receiver: %+v", d)
	}
	if len(flaky.notes()) != 1 {
		t.Errorf("flaky receiver got %d notifications, want 1", len(flaky.notes()))
	}
}

// TestHungReceiverDoesNotBlockEvaluation: while the notifier waits on a
// receiver that does not answer, scheduled evaluation still runs and
// returns.
func TestHungReceiverDoesNotBlockEvaluation(t *testing.T) {
	ctx := context.Background()
	release := make(chan struct{})
	arrived := make(chan struct{}, 10)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
	}))
	defer hung.Close()
	defer close(release)
	cfg := synth.Config{Seed: 3, Days: 8, Events: 60_000}
	f := newFixture(t, cfg, "")
	f.createRule(t, "Any rage", Rule{Type: "threshold", Metric: Metric{Series: "event:$pageview"}, Op: "above", Value: 0,
		Channels: []Channel{{Type: "webhook", URL: hung.URL}}})
	f.clock.Set(synth.IncidentStart(cfg).Add(time.Minute))
	f.svc.Start(ctx)
	<-arrived // the notifier is now stuck in the hung receiver
	for i := range 3 {
		f.clock.Add(time.Hour)
		if err := f.svc.Tick(ctx); err != nil {
			t.Fatalf("tick %d while the receiver hangs: %v", i, err)
		}
	}
	hist, err := f.svc.State().History(ctx, f.pid, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Deliveries[0].Status != "pending" {
		t.Fatalf("history while hung: %+v", hist)
	}
}

func TestSendTest(t *testing.T) {
	ctx := context.Background()
	mail := startSMTP(t)
	hook := newWebhookReceiver(t)
	f := newFixture(t, synth.Config{Seed: 2, Days: 2, Events: 5_000}, mail.Addr())
	id := f.createRule(t, "Errors", Rule{Type: "threshold", Metric: Metric{Series: KeyErrorRate}, Op: "above", Value: 0.1,
		Channels: []Channel{{Type: "webhook", URL: hook.srv.URL}, {Type: "email", To: []string{"a@example.com", "b@example.com"}},
			{Type: "webhook", URL: "http://127.0.0.1:1/unreachable"}}})
	ev, err := f.svc.SendTest(ctx, f.pid, id)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, d := range ev.Deliveries {
		status[d.Target] = d.Status
	}
	if status[hook.srv.URL] != "sent" || status["a@example.com,b@example.com"] != "sent" || status["http://127.0.0.1:1/unreachable"] != "failed" {
		t.Errorf("test deliveries: %+v", ev.Deliveries)
	}
	if n := hook.notes(); len(n) != 1 || n[0].Kind != "test" || !strings.Contains(n[0].Text, "Test of *Errors*") {
		t.Errorf("webhook: %+v", n)
	}
	if m := mail.Messages(); len(m) != 1 || len(m[0].To) != 2 || !strings.Contains(m[0].Data, "Subject: [Sightline] Test: Errors") {
		t.Errorf("smtp: %+v", m)
	}
	if _, err := f.svc.SendTest(ctx, f.pid, id+100); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("unknown rule: %v", err)
	}
}

func TestParseRule(t *testing.T) {
	tests := []struct {
		name, def string
		ok        bool
	}{
		{"anomaly on all", `{"type":"anomaly","metric":{"series":"*"},"channels":[]}`, true},
		{"threshold", `{"type":"threshold","metric":{"series":"error_rate"},"op":"above","value":0.05,"channels":[{"type":"email","to":["x@y.z"]}]}`, true},
		{"change", `{"type":"change","metric":{"insight":3},"op":"decrease","value":20,"period":"day","channels":[{"type":"webhook","url":"https://hooks.slack.com/x"}]}`, true},
		{"unknown type", `{"type":"magic","metric":{"series":"sessions"}}`, false},
		{"no metric", `{"type":"anomaly","metric":{}}`, false},
		{"two metrics", `{"type":"anomaly","metric":{"series":"sessions","action":2}}`, false},
		{"threshold without op", `{"type":"threshold","metric":{"series":"sessions"},"value":3}`, false},
		{"change without value", `{"type":"change","metric":{"series":"sessions"},"op":"any"}`, false},
		{"star on threshold", `{"type":"threshold","metric":{"series":"*"},"op":"above","value":1}`, false},
		{"bad period", `{"type":"anomaly","metric":{"series":"sessions"},"period":"week"}`, false},
		{"bad webhook", `{"type":"anomaly","metric":{"series":"sessions"},"channels":[{"type":"webhook","url":"ftp://x"}]}`, false},
		{"bad email", `{"type":"anomaly","metric":{"series":"sessions"},"channels":[{"type":"email","to":["x\r\nBcc: y"]}]}`, false},
		{"unknown field", `{"type":"anomaly","metric":{"series":"sessions"},"severity":"high"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRule(json.RawMessage(tt.def))
			if (err == nil) != tt.ok {
				t.Errorf("ParseRule = %v, want ok=%v", err, tt.ok)
			}
			var ie *InputError
			if err != nil && !errors.As(err, &ie) {
				t.Errorf("error %v is not an InputError", err)
			}
		})
	}
}

// TestConcurrentEvaluationNotifiesOnce: the scheduler's pass and "check
// now" calls from the API evaluate the same project at the same moment.
// Each evaluation reads the rule idle and decides it fires; the hook holds
// every evaluation that gets that far until all of them have (or a few
// seconds pass), so without the project lock each would record the firing
// and notify it. With the lock, one notification goes out.
func TestConcurrentEvaluationNotifiesOnce(t *testing.T) {
	ctx := context.Background()
	hook := newWebhookReceiver(t)
	cfg := synth.Config{Seed: 3, Days: 8, Events: 60_000}
	f := newFixture(t, cfg, "")
	f.createRule(t, "Any traffic", Rule{Type: "threshold", Metric: Metric{Series: KeySessions}, Op: "above", Value: 0,
		Channels: []Channel{{Type: "webhook", URL: hook.srv.URL}}})
	f.clock.Set(synth.IncidentStart(cfg).Add(time.Minute))

	const callers = 4
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	f.svc.beforeRecord = func() {
		mu.Lock()
		arrived++
		if arrived == callers {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(3 * time.Second):
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, callers+1)
	wg.Add(callers + 1)
	go func() {
		defer wg.Done()
		errs <- f.svc.Tick(ctx)
	}()
	for range callers - 1 {
		go func() {
			defer wg.Done()
			_, err := f.svc.EvaluateAlerts(ctx, f.pid)
			errs <- err
		}()
	}
	go func() {
		defer wg.Done()
		_, err := f.svc.RunMonitor(ctx, f.pid)
		errs <- err
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.DeliverDue(ctx); err != nil {
		t.Fatal(err)
	}
	hist, err := f.svc.State().History(ctx, f.pid, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Kind != "firing" {
		t.Errorf("history after concurrent evaluations: %d events, want one firing", len(hist))
	}
	if n := hook.notes(); len(n) != 1 {
		t.Errorf("webhook received %d notifications, want 1", len(n))
	}
}
