package insight

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/query"
)

// What the API needs beyond the engine's own results: the state of each
// alert rule, forgetting a deleted rule, the stored clustering runs, and
// the sessions of one cluster.

// AlertState is the last known state of one (rule, series) pair. A pair
// appears once its rule has fired for it; Status is then "firing" or "ok"
// (resolved since Since).
type AlertState struct {
	RuleID      int64     `json:"rule_id"`
	Key         string    `json:"key"`
	Status      string    `json:"status"`
	Since       time.Time `json:"since"`
	Value       float64   `json:"value"`
	EvaluatedAt time.Time `json:"evaluated_at"`
}

// AlertStates returns the state of every (rule, series) pair of a project
// that has ever fired, by rule and key.
func (s *State) AlertStates(ctx context.Context, projectID int64) ([]AlertState, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT rule_id, key, status, since, value, evaluated FROM alert_state
		WHERE project_id = ? ORDER BY rule_id, key`, projectID)
	if err != nil {
		return nil, fmt.Errorf("insight: alert states: %w", err)
	}
	defer rows.Close()
	out := []AlertState{}
	for rows.Next() {
		var a AlertState
		var since, evaluated int64
		if err := rows.Scan(&a.RuleID, &a.Key, &a.Status, &since, &a.Value, &evaluated); err != nil {
			return nil, fmt.Errorf("insight: alert states: %w", err)
		}
		a.Since, a.EvaluatedAt = fromMs(since), fromMs(evaluated)
		out = append(out, a)
	}
	return out, rows.Err()
}

// ForgetRule removes what insight keeps about an alert rule (its state, its
// history, and the notifications still waiting to go out) once the rule is
// deleted. The metadata store reuses the id of the newest deleted object,
// so a rule created next must not inherit any of it.
func (s *State) ForgetRule(ctx context.Context, projectID, ruleID int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insight: forget rule %d: %w", ruleID, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, st := range []struct {
		q    string
		argv []any
	}{
		{`DELETE FROM deliveries WHERE project_id = ? AND event_id IN (SELECT id FROM alert_events WHERE project_id = ? AND rule_id = ?)`, []any{projectID, projectID, ruleID}},
		{`DELETE FROM alert_events WHERE project_id = ? AND rule_id = ?`, []any{projectID, ruleID}},
		{`DELETE FROM alert_state WHERE project_id = ? AND rule_id = ?`, []any{projectID, ruleID}},
	} {
		if _, err := tx.ExecContext(ctx, st.q, st.argv...); err != nil {
			return fmt.Errorf("insight: forget rule %d: %w", ruleID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("insight: forget rule %d: %w", ruleID, err)
	}
	return nil
}

// ClusterRunInfo summarizes a stored clustering run.
type ClusterRunInfo struct {
	RunID       int64     `json:"run_id"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Sessions    int       `json:"sessions"`
	K           int       `json:"k"`
	Conversion  string    `json:"conversion,omitempty"`
	GeneratedAt time.Time `json:"generated_at"`
}

// ClusterRuns lists a project's stored clustering runs, newest first.
func (s *State) ClusterRuns(ctx context.Context, projectID int64) ([]ClusterRunInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT rowid, body FROM cluster_runs WHERE project_id = ? ORDER BY created_at DESC, rowid DESC`, projectID)
	if err != nil {
		return nil, fmt.Errorf("insight: cluster runs: %w", err)
	}
	defer rows.Close()
	out := []ClusterRunInfo{}
	for rows.Next() {
		var id int64
		var body string
		if err := rows.Scan(&id, &body); err != nil {
			return nil, fmt.Errorf("insight: cluster runs: %w", err)
		}
		var r ClusterRunInfo
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			return nil, fmt.Errorf("insight: cluster run %d: %w", id, err)
		}
		r.RunID = id
		out = append(out, r)
	}
	return out, rows.Err()
}

// clusterMembers returns the sessions of one cluster of a run, nearest the
// centre first; meta.ErrNotFound when the run is not the project's or its
// membership was not kept.
func (s *State) clusterMembers(ctx context.Context, projectID, runID int64, cluster int) ([]string, error) {
	var body string
	err := s.db.QueryRowContext(ctx, `SELECT m.sessions FROM cluster_members m JOIN cluster_runs r ON r.rowid = m.run_id
		WHERE r.project_id = ? AND m.run_id = ? AND m.cluster = ?`, projectID, runID, cluster).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("insight: cluster %d of run %d: %w", cluster, runID, meta.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("insight: cluster members: %w", err)
	}
	var ids []string
	if err := json.Unmarshal([]byte(body), &ids); err != nil {
		return nil, fmt.Errorf("insight: cluster members: %w", err)
	}
	return ids, nil
}

// SessionSummary is one session of a cluster, as a list shows it.
type SessionSummary struct {
	SessionID       string    `json:"session_id"`
	DistinctID      string    `json:"distinct_id"`
	Start           time.Time `json:"start"`
	DurationSeconds float64   `json:"duration_seconds"`
	Events          int64     `json:"events"`
	Pageviews       int64     `json:"pageviews"`
	RageClicks      int64     `json:"rage_clicks"`
	DeadClicks      int64     `json:"dead_clicks"`
	ErrorClicks     int64     `json:"error_clicks"`
	DeviceType      string    `json:"device_type"`
	HasReplay       bool      `json:"has_replay"`
}

// ClusterSessionsPage is a page of a cluster's sessions.
type ClusterSessionsPage struct {
	RunID   int64 `json:"run_id"`
	Cluster int   `json:"cluster"`
	// Total is the cluster's size; Offset where this page starts in its
	// order (nearest the centre first).
	Total    int              `json:"total"`
	Offset   int              `json:"offset"`
	Sessions []SessionSummary `json:"sessions"`
}

// MaxClusterSessionsPage bounds one page of ClusterSessions.
const MaxClusterSessionsPage = 200

// ClusterSessions returns limit sessions of a stored cluster from offset,
// nearest the centre first, summarized from their events in the run's
// range. meta.ErrNotFound when the project has no such run or cluster.
func (svc *Service) ClusterSessions(ctx context.Context, projectID, runID int64, cluster, offset, limit int) (*ClusterSessionsPage, error) {
	if limit <= 0 || limit > MaxClusterSessionsPage {
		limit = 50
	}
	offset = max(offset, 0)
	run, err := svc.cfg.State.ClusterRun(ctx, projectID, runID)
	if err != nil {
		return nil, err
	}
	if run == nil {
		return nil, fmt.Errorf("insight: clustering run %d: %w", runID, meta.ErrNotFound)
	}
	ids, err := svc.cfg.State.clusterMembers(ctx, projectID, runID, cluster)
	if err != nil {
		return nil, err
	}
	page := &ClusterSessionsPage{RunID: runID, Cluster: cluster, Total: len(ids), Offset: offset, Sessions: []SessionSummary{}}
	if offset >= len(ids) {
		return page, nil
	}
	ids = ids[offset:min(len(ids), offset+limit)]
	got, err := summarizeSessions(ctx, svc.cfg.Events, projectID, run.From, run.To, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if s, ok := got[id]; ok {
			page.Sessions = append(page.Sessions, s)
		} else {
			// Its events are gone (retention): keep its place in the list.
			page.Sessions = append(page.Sessions, SessionSummary{SessionID: id})
		}
	}
	return page, nil
}

// summarizeSessions summarizes the given sessions from their events in
// [from, to).
func summarizeSessions(ctx context.Context, db Querier, projectID int64, from, to time.Time, ids []string) (map[string]SessionSummary, error) {
	out := map[string]SessionSummary{}
	if len(ids) == 0 {
		return out, nil
	}
	d, err := dialectFor(db.Dialect())
	if err != nil {
		return nil, err
	}
	// Parameters are added in the order they appear in the text: ClickHouse
	// binds "?" by position.
	a := &args{d: d}
	ts := `"timestamp"`
	q := `SELECT session_id, min(distinct_id), min(` + ts + `), max(` + ts + `), count(*), ` + d.countIf("event = '$pageview'") + `,
		` + d.countIf("rage") + `, ` + d.countIf("dead") + `, ` + d.countIf("error_click") + `, max(device_type),
		max(CASE WHEN session_id IN (SELECT session_id FROM replays WHERE project_id = ` + a.add(projectID) + `) THEN 1 ELSE 0 END)
		FROM events WHERE project_id = ` + a.add(projectID) + ` AND ` + ts + ` >= ` + a.add(from.UTC()) + ` AND ` + ts + ` < ` + a.add(to.UTC())
	ph := make([]string, len(ids))
	for i, id := range ids {
		ph[i] = a.add(id)
	}
	q += ` AND session_id IN (` + strings.Join(ph, ", ") + `) GROUP BY session_id`
	rows, err := db.Query(ctx, q, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("insight: summarize sessions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s SessionSummary
		var start, end query.TimeColumn
		var device sql.NullString
		var replay int
		if err := rows.Scan(&s.SessionID, &s.DistinctID, &start, &end, &s.Events, &s.Pageviews, &s.RageClicks, &s.DeadClicks,
			&s.ErrorClicks, &device, &replay); err != nil {
			return nil, fmt.Errorf("insight: summarize sessions: %w", err)
		}
		s.Start, s.DurationSeconds, s.DeviceType, s.HasReplay = start.T, end.T.Sub(start.T).Seconds(), device.String, replay == 1
		out[s.SessionID] = s
	}
	return out, rows.Err()
}
