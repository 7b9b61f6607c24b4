package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sightline-analytics/sightline/insight"
	"github.com/sightline-analytics/sightline/meta"
)

// Insight routes (issue 7): session clusters, anomalies, the insight feed,
// releases and alert rules with their history and a "send test" action.
// See docs/insights.md.

func (s *Server) insights(w http.ResponseWriter) (*insight.Service, bool) {
	if s.d.Insights == nil {
		WriteError(w, http.StatusServiceUnavailable, "insights are not enabled on this server")
		return nil, false
	}
	return s.d.Insights, true
}

// clusterTimeout bounds an on-demand clustering.
const clusterTimeout = 2 * time.Minute

// registerInsight mounts the insight routes, each under
// /api/projects/{project_id}/… and, for API keys (whose project is known),
// under /api/….
func (s *Server) registerInsight(mux *http.ServeMux) {
	handle := func(method, path string, need meta.Role, h func(w http.ResponseWriter, r *http.Request, p Principal)) {
		mux.Handle(method+" /api/projects/{project_id}"+path, s.projectHandler(need, h))
		mux.Handle(method+" /api"+path, s.projectHandler(need, h))
	}
	handle("POST", "/clusters", meta.RoleViewer, s.runClusters)
	handle("GET", "/clusters/latest", meta.RoleViewer, s.latestClusters)
	handle("GET", "/clusters/runs", meta.RoleViewer, s.listClusterRuns)
	handle("GET", "/clusters/{run}", meta.RoleViewer, s.getClusterRun)
	handle("GET", "/clusters/{run}/{cluster}/sessions", meta.RoleViewer, s.clusterSessions)
	handle("GET", "/anomalies", meta.RoleViewer, s.listAnomalies)
	handle("POST", "/anomalies/run", meta.RoleMember, s.runMonitor)
	handle("POST", "/anomalies/{id}/status", meta.RoleMember, s.setAnomalyStatus)
	handle("GET", "/feed", meta.RoleViewer, s.feed)
	handle("GET", "/releases", meta.RoleViewer, s.listReleases)
	handle("POST", "/releases", meta.RoleMember, s.createRelease)
	handle("GET", "/alerts", meta.RoleViewer, s.listAlerts)
	handle("POST", "/alerts", meta.RoleMember, s.createAlert)
	handle("GET", "/alerts/history", meta.RoleViewer, s.alertHistory)
	handle("POST", "/alerts/evaluate", meta.RoleMember, s.evaluateAlerts)
	handle("GET", "/alerts/{id}", meta.RoleViewer, s.getAlert)
	handle("PUT", "/alerts/{id}", meta.RoleMember, s.updateAlert)
	handle("DELETE", "/alerts/{id}", meta.RoleMember, s.deleteAlert)
	handle("GET", "/alerts/{id}/history", meta.RoleViewer, s.alertHistory)
	handle("POST", "/alerts/{id}/test", meta.RoleMember, s.testAlert)
}

// insightError maps insight and meta errors to answers.
func (s *Server) insightError(w http.ResponseWriter, r *http.Request, err error) {
	var ie *insight.InputError
	switch {
	case errors.As(err, &ie):
		WriteError(w, http.StatusBadRequest, strings.TrimPrefix(ie.Error(), "insight: "))
	case errors.Is(err, context.DeadlineExceeded):
		WriteError(w, http.StatusGatewayTimeout, "the computation ran out of time: narrow the date range or add conditions")
	default:
		s.metaError(w, r, err)
	}
}

// parseTime reads an RFC 3339 time or a date (midnight UTC).
func parseTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", v)
}

// timeRange reads ?from= and ?to= (default: the last days days).
func timeRange(w http.ResponseWriter, r *http.Request, days int) (time.Time, time.Time, bool) {
	to := time.Now().UTC()
	from := to.Add(-time.Duration(days) * 24 * time.Hour)
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := r.URL.Query().Get(f.name); v != "" {
			t, err := parseTime(v)
			if err != nil {
				WriteJSON(w, http.StatusBadRequest, Error{Error: f.name + " must be an RFC 3339 time or a date (2026-01-31)", Field: f.name})
				return from, to, false
			}
			*f.dst = t
		}
	}
	return from, to, true
}

func intParam(w http.ResponseWriter, r *http.Request, name string, def, lo, hi int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		WriteJSON(w, http.StatusBadRequest, Error{Error: name + " must be an integer from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi), Field: name})
		return 0, false
	}
	return n, true
}

// clusterRequest is the body of POST /clusters: the insight.ClusterRequest
// fields, with from and to as RFC 3339 times or dates, or days back from
// now.
type clusterRequest struct {
	From            string              `json:"from,omitempty"`
	To              string              `json:"to,omitempty"`
	Days            int                 `json:"days,omitempty"`
	Conditions      []insight.Condition `json:"conditions,omitempty"`
	Limit           int                 `json:"limit,omitempty"`
	KMin            int                 `json:"k_min,omitempty"`
	KMax            int                 `json:"k_max,omitempty"`
	Conversion      string              `json:"conversion,omitempty"`
	Seed            uint64              `json:"seed,omitempty"`
	Representatives int                 `json:"representatives,omitempty"`
	Weights         map[string]float64  `json:"weights,omitempty"`
}

// POST /clusters: cluster the sessions a filter selects, now.
func (s *Server) runClusters(w http.ResponseWriter, r *http.Request, p Principal) {
	svc, ok := s.insights(w)
	if !ok {
		return
	}
	var req clusterRequest
	if r.ContentLength != 0 && !decodeJSON(w, r, &req) {
		return
	}
	to := time.Now().UTC()
	if req.Days <= 0 {
		req.Days = 7
	}
	from := to.Add(-time.Duration(req.Days) * 24 * time.Hour)
	var err error
	if req.From != "" {
		if from, err = parseTime(req.From); err != nil {
			WriteJSON(w, http.StatusBadRequest, Error{Error: "from must be an RFC 3339 time or a date", Field: "from"})
			return
		}
	}
	if req.To != "" {
		if to, err = parseTime(req.To); err != nil {
			WriteJSON(w, http.StatusBadRequest, Error{Error: "to must be an RFC 3339 time or a date", Field: "to"})
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), clusterTimeout)
	defer cancel()
	res, err := svc.Cluster(ctx, p.ProjectID, insight.ClusterRequest{
		SessionFilter: insight.SessionFilter{From: from, To: to, Conditions: req.Conditions, Limit: req.Limit},
		KMin:          req.KMin, KMax: req.KMax, Conversion: req.Conversion, Seed: req.Seed, Representatives: req.Representatives,
		Weights: req.Weights,
	})
	if err != nil {
		s.insightError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, res)
}

// GET /clusters/latest: the newest stored clustering (scheduled or on
// demand).
func (s *Server) latestClusters(w http.ResponseWriter, r *http.Request, p Principal) {
	svc, ok := s.insights(w)
	if !ok {
		return
	}
	res, err := svc.State().LatestClusters(r.Context(), p.ProjectID)
	if err != nil {
		s.insightError(w, r, err)
		return
	}
	if res == nil {
		WriteError(w, http.StatusNotFound, "no clustering yet: POST /clusters, or wait for the daily run")
		return
	}
	WriteJSON(w, http.StatusOK, res)
}

// GET /clusters/runs: the stored clusterings (the last ten), newest first.
func (s *Server) listClusterRuns(w http.ResponseWriter, r *http.Request, p Principal) {
	svc, ok := s.insights(w)
	if !ok {
		return
	}
	runs, err := svc.State().ClusterRuns(r.Context(), p.ProjectID)
	if err != nil {
		s.insightError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

// GET /clusters/{run}: one stored clustering, by the run_id of a result.
func (s *Server) getClusterRun(w http.ResponseWriter, r *http.Request, p Principal) {
	svc, ok := s.insights(w)
	if !ok {
		return
	}
	id, ok := pathID(w, r, "run")
	if !ok {
		return
	}
	res, err := svc.State().ClusterRun(r.Context(), p.ProjectID, id)
	if err != nil {
		s.insightError(w, r, err)
		return
	}
	if res == nil {
		WriteError(w, http.StatusNotFound, "no such clustering: the last ten runs are kept; run a new one with POST /clusters")
		return
	}
	WriteJSON(w, http.StatusOK, res)
}

// GET /clusters/{run}/{cluster}/sessions?offset=&limit=: the sessions of
// one cluster, nearest its centre first.
func (s *Server) clusterSessions(w http.ResponseWriter, r *http.Request, p Principal) {
	svc, ok := s.insights(w)
	if !ok {
		return
	}
	run, ok := pathID(w, r, "run")
	if !ok {
		return
	}
	cluster, err := strconv.Atoi(r.PathValue("cluster"))
	if err != nil || cluster < 0 {
		WriteJSON(w, http.StatusBadRequest, Error{Error: "cluster must be a cluster id (0, 1, …)", Field: "cluster"})
		return
	}
	offset, ok := intParam(w, r, "offset", 0, 0, insight.MaxSessions)
	if !ok {
		return
	}
	limit, ok := intParam(w, r, "limit", 50, 1, insight.MaxClusterSessionsPage)
	if !ok {
		return
	}
	page, err := svc.ClusterSessions(r.Context(), p.ProjectID, run, cluster, offset, limit)
	if err != nil {
		s.insightError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, page)
}

// findingJSON is a stored anomaly as the API shows it: with an id to link
// to and a severity to sort and colour by.
type findingJSON struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	insight.Finding
}

// feedItemJSON is a feed item with its id.
type feedItemJSON struct {
	ID string `json:"id"`
	insight.FeedItem
}

// findingID names an anomaly stably: its series and its start.
func findingID(a *insight.Anomaly) string {
	return a.Key + "@" + strconv.FormatInt(a.Start.Unix(), 10)
}

// parseFindingID splits a findingID; false when it is not one.
func parseFindingID(id string) (string, time.Time, bool) {
	i := strings.LastIndexByte(id, '@')
	if i <= 0 {
		return "", time.Time{}, false
	}
	sec, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return id[:i], time.Unix(sec, 0).UTC(), true
}

func toFindingJSON(f insight.Finding) findingJSON {
	return findingJSON{ID: findingID(&f.Anomaly), Severity: f.Anomaly.Severity(), Finding: f}
}

func toFindingsJSON(fs []insight.Finding) []findingJSON {
	out := make([]findingJSON, 0, len(fs))
	for _, f := range fs {
		out = append(out, toFindingJSON(f))
	}
	return out
}

// statusParam reads ?status=: a comma-separated list of finding statuses,
// or "all"; by default open and acknowledged (dismissed findings are
// hidden unless asked for).
func statusParam(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	v := r.URL.Query().Get("status")
	switch v {
	case "":
		return []string{insight.FindingOpen, insight.FindingAcknowledged}, true
	case "all":
		return []string{insight.FindingOpen, insight.FindingAcknowledged, insight.FindingDismissed}, true
	}
	out := strings.Split(v, ",")
	for _, st := range out {
		if !insight.ValidFindingStatus(st) {
			WriteJSON(w, http.StatusBadRequest, Error{Error: "status must be open, acknowledged, dismissed (comma-separated) or all", Field: "status"})
			return nil, false
		}
	}
	return out, true
}

// GET /anomalies?from=&to=&status=: stored anomalies overlapping the range
// (default: the last 7 days), open and acknowledged unless status says
// otherwise.
func (s *Server) listAnomalies(w http.ResponseWriter, r *http.Request, p Principal) {
	svc, ok := s.insights(w)
	if !ok {
		return
	}
	from, to, ok := timeRange(w, r, 7)
	if !ok {
		return
	}
	statuses, ok := statusParam(w, r)
	if !ok {
		return
	}
	fs, err := svc.State().Findings(r.Context(), p.ProjectID, from, to, statuses...)
	if err != nil {
		s.insightError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"anomalies": toFindingsJSON(fs)})
}

// POST /anomalies/run: run the monitor now instead of at the next interval.
// It first records the releases the SDK announced since the last scan, so
// that the anomalies found link to them as the scheduled run's would; both
// under the project's lock, so a run racing the scheduler's waits for it.
func (s *Server) runMonitor(w http.ResponseWriter, r *http.Request, p Principal) {
	svc, ok := s.insights(w)
	if !ok {
		return
	}
	fs, err := svc.RunMonitor(r.Context(), p.ProjectID)
	if err != nil {
		s.insightError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"anomalies": toFindingsJSON(fs)})
}

// POST /anomalies/{id}/status {"status": "acknowledged"}: record what
// someone made of an anomaly (open, acknowledged or dismissed); answers the
// anomaly.
func (s *Server) setAnomalyStatus(w http.ResponseWriter, r *http.Request, p Principal) {
	svc, ok := s.insights(w)
	if !ok {
		return
	}
	key, start, ok := parseFindingID(r.PathValue("id"))
	if !ok {
		WriteJSON(w, http.StatusBadRequest, Error{Error: "id must be an anomaly id (<series key>@<start, epoch seconds>) as GET /anomalies lists", Field: "id"})
		return
	}
	var req struct {
		Status string `json:"status"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	if !insight.ValidFindingStatus(req.Status) {
		WriteJSON(w, http.StatusBadRequest, Error{Error: "status must be open, acknowledged or dismissed", Field: "status"})
		return
	}
	by := p.User.Email
	if p.User.ID == 0 {
		by = "API key"
	}
	f, err := svc.State().SetFindingStatus(r.Context(), p.ProjectID, key, start, req.Status, by)
	if err != nil {
		s.insightError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, toFindingJSON(f))
}

// GET /feed?days=&limit=&status=: the top findings, anomalies and notable
// behavior patterns, ranked by the sessions they affect (open before
// acknowledged); dismissed anomalies only when status asks for them.
func (s *Server) feed(w http.ResponseWriter, r *http.Request, p Principal) {
	svc, ok := s.insights(w)
	if !ok {
		return
	}
	days, ok := intParam(w, r, "days", 7, 1, 90)
	if !ok {
		return
	}
	limit, ok := intParam(w, r, "limit", 20, 1, 100)
	if !ok {
		return
	}
	statuses, ok := statusParam(w, r)
	if !ok {
		return
	}
	items, err := svc.Feed(r.Context(), p.ProjectID, insight.FeedQuery{Days: days, Limit: limit, Statuses: statuses})
	if err != nil {
		s.insightError(w, r, err)
		return
	}
	out := make([]feedItemJSON, 0, len(items))
	for _, it := range items {
		j := feedItemJSON{FeedItem: it}
		switch {
		case it.Anomaly != nil:
			j.ID = findingID(it.Anomaly)
		case it.Cluster != nil:
			j.ID = "cluster:" + strconv.Itoa(it.Cluster.ID)
		}
		out = append(out, j)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"items": out})
}

type releaseJSON struct {
	ID      int64     `json:"id"`
	Version string    `json:"version"`
	At      time.Time `json:"at"`
	Text    string    `json:"text"`
}

// GET /releases?from=&to=: release annotations (default: the last 90 days).
func (s *Server) listReleases(w http.ResponseWriter, r *http.Request, p Principal) {
	from, to, ok := timeRange(w, r, 90)
	if !ok {
		return
	}
	as, err := s.d.Meta.Annotations(r.Context(), p.ProjectID, from, to)
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	out := []releaseJSON{}
	for _, a := range as {
		if a.Kind == meta.AnnotationRelease {
			out = append(out, releaseJSON{a.ID, a.Version, a.At, a.Text})
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"releases": out})
}

// POST /releases {"version": "2.3.1", "at": "…"}: record a release (from a
// deploy script). Recording a version again answers 200 with the first
// record; a new one answers 201.
func (s *Server) createRelease(w http.ResponseWriter, r *http.Request, p Principal) {
	svc, ok := s.insights(w)
	if !ok {
		return
	}
	var req struct {
		Version string `json:"version"`
		At      string `json:"at,omitempty"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	var at time.Time
	if req.At != "" {
		t, err := parseTime(req.At)
		if err != nil {
			WriteJSON(w, http.StatusBadRequest, Error{Error: "at must be an RFC 3339 time", Field: "at"})
			return
		}
		at = t
	}
	if strings.TrimSpace(req.Version) == "" {
		WriteJSON(w, http.StatusBadRequest, Error{Error: "version is required", Field: "version"})
		return
	}
	a, created, err := svc.RecordRelease(r.Context(), p.ProjectID, req.Version, at)
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	WriteJSON(w, status, releaseJSON{a.ID, a.Version, a.At, a.Text})
}

// alertJSON is an alert rule as the API shows it, with its state.
type alertJSON struct {
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Rule        insight.Rule   `json:"rule"`
	State       alertStateJSON `json:"state"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// alertStateJSON sums up a rule's (rule, series) states: "firing" when any
// series fires (since the earliest), "resolved" when every series that
// fired is back to normal (since the latest), "idle" when it never fired,
// "disabled" when paused. Firing lists the series that fire.
type alertStateJSON struct {
	Status      string               `json:"status"`
	Since       *time.Time           `json:"since,omitempty"`
	EvaluatedAt *time.Time           `json:"evaluated_at,omitempty"`
	Firing      []insight.AlertState `json:"firing"`
}

type alertRequest struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Rule        json.RawMessage `json:"rule"`
}

func toAlertJSON(o meta.Object, states []insight.AlertState) alertJSON {
	r, _ := insight.ParseRule(o.Definition) // stored rules were validated
	st := alertStateJSON{Status: "idle", Firing: []insight.AlertState{}}
	for i := range states {
		a := &states[i]
		if a.RuleID != o.ID {
			continue
		}
		if st.EvaluatedAt == nil || a.EvaluatedAt.After(*st.EvaluatedAt) {
			st.EvaluatedAt = &a.EvaluatedAt
		}
		if a.Status == "firing" {
			if st.Status != "firing" || a.Since.Before(*st.Since) {
				st.Since = &a.Since
			}
			st.Status = "firing"
			st.Firing = append(st.Firing, *a)
		} else if st.Status != "firing" && (st.Since == nil || a.Since.After(*st.Since)) {
			st.Status, st.Since = "resolved", &a.Since
		}
	}
	if r.Disabled {
		st.Status = "disabled"
	}
	return alertJSON{ID: o.ID, Name: o.Name, Description: o.Description, Rule: r, State: st, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

// alertStates reads the project's alert states; none when insights are off
// (rules can still be managed).
func (s *Server) alertStates(r *http.Request, projectID int64) ([]insight.AlertState, error) {
	if s.d.Insights == nil {
		return nil, nil
	}
	return s.d.Insights.State().AlertStates(r.Context(), projectID)
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request, p Principal) {
	objs, err := s.d.Meta.Alerts().List(r.Context(), p.ProjectID)
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	states, err := s.alertStates(r, p.ProjectID)
	if err != nil {
		s.insightError(w, r, err)
		return
	}
	out := make([]alertJSON, 0, len(objs))
	for _, o := range objs {
		out = append(out, toAlertJSON(o, states))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"alerts": out})
}

// writeAlert answers with one rule and its state.
func (s *Server) writeAlert(w http.ResponseWriter, r *http.Request, p Principal, status int, o meta.Object) {
	states, err := s.alertStates(r, p.ProjectID)
	if err != nil {
		s.insightError(w, r, err)
		return
	}
	WriteJSON(w, status, toAlertJSON(o, states))
}

func (s *Server) readAlert(w http.ResponseWriter, r *http.Request) (alertRequest, bool) {
	var req alertRequest
	if !decodeJSON(w, r, &req) {
		return req, false
	}
	if _, err := insight.ParseRule(req.Rule); err != nil {
		WriteJSON(w, http.StatusBadRequest, Error{Error: strings.TrimPrefix(err.Error(), "insight: "), Field: "rule"})
		return req, false
	}
	return req, true
}

func (s *Server) createAlert(w http.ResponseWriter, r *http.Request, p Principal) {
	req, ok := s.readAlert(w, r)
	if !ok {
		return
	}
	o, err := s.d.Meta.Alerts().Create(r.Context(), meta.Object{ProjectID: p.ProjectID, Name: req.Name, Description: req.Description,
		Definition: req.Rule, CreatedBy: p.UserID()})
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	s.writeAlert(w, r, p, http.StatusCreated, o)
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request, p Principal) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	o, err := s.d.Meta.Alerts().Get(r.Context(), p.ProjectID, id)
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	s.writeAlert(w, r, p, http.StatusOK, o)
}

func (s *Server) updateAlert(w http.ResponseWriter, r *http.Request, p Principal) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	req, ok := s.readAlert(w, r)
	if !ok {
		return
	}
	o, err := s.d.Meta.Alerts().Update(r.Context(), meta.Object{ID: id, ProjectID: p.ProjectID, Name: req.Name,
		Description: req.Description, Definition: req.Rule})
	if err != nil {
		s.metaError(w, r, err)
		return
	}
	s.writeAlert(w, r, p, http.StatusOK, o)
}

func (s *Server) deleteAlert(w http.ResponseWriter, r *http.Request, p Principal) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	if err := s.d.Meta.Alerts().Delete(r.Context(), p.ProjectID, id); err != nil {
		s.metaError(w, r, err)
		return
	}
	if s.d.Insights != nil {
		// The rule is gone either way; a failure here leaves state that
		// a rule reusing its id would inherit, so it is worth a log line.
		if err := s.d.Insights.State().ForgetRule(r.Context(), p.ProjectID, id); err != nil {
			s.d.Logger.Error("api: forget deleted alert rule", "project", p.ProjectID, "rule", id, "err", err)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// GET /alerts/history and /alerts/{id}/history?limit=: alert events with
// their deliveries, newest first.
func (s *Server) alertHistory(w http.ResponseWriter, r *http.Request, p Principal) {
	svc, ok := s.insights(w)
	if !ok {
		return
	}
	var id int64
	if r.PathValue("id") != "" {
		if id, ok = pathID(w, r, "id"); !ok {
			return
		}
		if _, err := s.d.Meta.Alerts().Get(r.Context(), p.ProjectID, id); err != nil {
			s.metaError(w, r, err)
			return
		}
	}
	limit, ok := intParam(w, r, "limit", 100, 1, 1000)
	if !ok {
		return
	}
	hist, err := svc.State().History(r.Context(), p.ProjectID, id, limit)
	if err != nil {
		s.insightError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"events": hist})
}

// POST /alerts/evaluate: evaluate the project's rules now instead of after
// the next completed interval, as the scheduler would (state changes are
// recorded and notified once: EvaluateAlerts holds the project's lock, so
// a call racing the scheduler waits for it); answers the events it
// recorded.
func (s *Server) evaluateAlerts(w http.ResponseWriter, r *http.Request, p Principal) {
	svc, ok := s.insights(w)
	if !ok {
		return
	}
	evs, err := svc.EvaluateAlerts(r.Context(), p.ProjectID)
	if err != nil {
		s.insightError(w, r, err)
		return
	}
	if evs == nil {
		evs = []insight.AlertEvent{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"events": evs})
}

// POST /alerts/{id}/test: send a test notification to the rule's channels
// now and report each delivery.
func (s *Server) testAlert(w http.ResponseWriter, r *http.Request, p Principal) {
	svc, ok := s.insights(w)
	if !ok {
		return
	}
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	ev, err := svc.SendTest(r.Context(), p.ProjectID, id)
	if err != nil {
		s.insightError(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, ev)
}
