package insight

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sightline-analytics/sightline/meta"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver meta uses too
)

// State is insight's own small database: alert state and history, the
// delivery queue, stored anomalies (findings), the latest clusterings, and
// how far the release scan has read. It lives beside the metadata store
// (insight.db in the data directory) so that the metadata schema stays the
// metadata engineer's; a clustered deployment would move these tables to
// PostgreSQL with the rest of the metadata (issue 6).
type State struct {
	db  *sql.DB
	now func() time.Time
}

var stateSchema = []string{
	`CREATE TABLE IF NOT EXISTS alert_state (
		project_id INTEGER NOT NULL,
		rule_id    INTEGER NOT NULL,
		key        TEXT    NOT NULL,
		status     TEXT    NOT NULL,
		since      INTEGER NOT NULL,
		value      REAL    NOT NULL DEFAULT 0,
		evaluated  INTEGER NOT NULL,
		PRIMARY KEY (project_id, rule_id, key)
	)`,
	`CREATE TABLE IF NOT EXISTS alert_events (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		project_id INTEGER NOT NULL,
		rule_id    INTEGER NOT NULL,
		rule_name  TEXT    NOT NULL,
		key        TEXT    NOT NULL,
		kind       TEXT    NOT NULL,
		at         INTEGER NOT NULL,
		message    TEXT    NOT NULL,
		value      REAL    NOT NULL DEFAULT 0,
		release    TEXT    NOT NULL DEFAULT ''
	)`,
	`CREATE INDEX IF NOT EXISTS alert_events_rule ON alert_events (project_id, rule_id, at)`,
	`CREATE TABLE IF NOT EXISTS deliveries (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		project_id INTEGER NOT NULL,
		event_id   INTEGER NOT NULL,
		channel    TEXT    NOT NULL,
		target     TEXT    NOT NULL,
		body       TEXT    NOT NULL,
		status     TEXT    NOT NULL,
		attempts   INTEGER NOT NULL DEFAULT 0,
		next_at    INTEGER NOT NULL,
		last_error TEXT    NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL,
		sent_at    INTEGER
	)`,
	`CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_at)`,
	// status is what people made of a finding (FindingOpen, …), kept
	// apart from the body the monitor rewrites every interval.
	`CREATE TABLE IF NOT EXISTS findings (
		project_id  INTEGER NOT NULL,
		key         TEXT    NOT NULL,
		start       INTEGER NOT NULL,
		detected_at INTEGER NOT NULL,
		end_at      INTEGER,
		body        TEXT    NOT NULL,
		status      TEXT    NOT NULL DEFAULT 'open',
		status_at   INTEGER,
		status_by   TEXT    NOT NULL DEFAULT '',
		PRIMARY KEY (project_id, key, start)
	)`,
	`CREATE TABLE IF NOT EXISTS cluster_runs (
		project_id INTEGER NOT NULL,
		created_at INTEGER NOT NULL,
		body       TEXT    NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS cluster_runs_project ON cluster_runs (project_id, created_at)`,
	// The sessions of each cluster of a run (a JSON array, nearest the
	// centre first), apart from the run's body so that reading a run does
	// not read its membership. run_id is the run's rowid: cluster_runs
	// predates explicit ids, and nothing here ever VACUUMs.
	`CREATE TABLE IF NOT EXISTS cluster_members (
		run_id   INTEGER NOT NULL,
		cluster  INTEGER NOT NULL,
		sessions TEXT    NOT NULL,
		PRIMARY KEY (run_id, cluster)
	)`,
	`CREATE TABLE IF NOT EXISTS release_scan (
		project_id  INTEGER PRIMARY KEY,
		received_at INTEGER NOT NULL
	)`,
}

// stateColumns are the columns added to a table after it was first
// released. CREATE TABLE IF NOT EXISTS leaves a table of an older database
// as it was, and SQLite has no ADD COLUMN IF NOT EXISTS, so OpenState adds
// each one that is missing.
var stateColumns = []struct{ table, column, def string }{
	{"findings", "status", "TEXT NOT NULL DEFAULT 'open'"},
	{"findings", "status_at", "INTEGER"},
	{"findings", "status_by", "TEXT NOT NULL DEFAULT ''"},
}

// OpenState opens (creating if needed) the state database at path.
func OpenState(ctx context.Context, path string) (*State, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("insight: open state %q: %w", path, err)
		}
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("insight: open state %q: %w", path, err)
	}
	// One connection: writes are few and small, and it keeps SQLite's
	// single writer from ever seeing SQLITE_BUSY from this process.
	db.SetMaxOpenConns(1)
	for _, stmt := range stateSchema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("insight: open state %q: migrate: %w", path, err)
		}
	}
	for _, c := range stateColumns {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, c.table, c.column).Scan(&n); err != nil {
			db.Close()
			return nil, fmt.Errorf("insight: open state %q: migrate %s.%s: %w", path, c.table, c.column, err)
		}
		if n > 0 {
			continue
		}
		if _, err := db.ExecContext(ctx, `ALTER TABLE `+c.table+` ADD COLUMN `+c.column+` `+c.def); err != nil {
			db.Close()
			return nil, fmt.Errorf("insight: open state %q: migrate %s.%s: %w", path, c.table, c.column, err)
		}
	}
	return &State{db: db, now: time.Now}, nil
}

// Close closes the database.
func (s *State) Close() error { return s.db.Close() }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

// AlertEvent is one entry of the alert history: a rule fired, resolved, or
// was tested.
type AlertEvent struct {
	ID        int64     `json:"id"`
	ProjectID int64     `json:"project_id"`
	RuleID    int64     `json:"rule_id"`
	RuleName  string    `json:"rule_name"`
	Key       string    `json:"key"`
	Kind      string    `json:"kind"` // firing, resolved, test
	At        time.Time `json:"at"`
	Message   string    `json:"message"`
	Value     float64   `json:"value"`
	Release   string    `json:"release,omitempty"`
	// Deliveries are the notifications sent for it.
	Deliveries []Delivery `json:"deliveries"`
}

// Delivery is one notification of an alert event to one channel.
type Delivery struct {
	ID        int64     `json:"id"`
	EventID   int64     `json:"event_id"`
	Channel   string    `json:"channel"`
	Target    string    `json:"target"`
	Status    string    `json:"status"` // pending, sent, failed
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"next_at,omitzero"`
	LastError string    `json:"last_error,omitempty"`
	SentAt    time.Time `json:"sent_at,omitzero"`
	body      string
	projectID int64
}

// alertStatus is the last known state of one (rule, key).
type alertStatus struct {
	Status string
	Since  time.Time
}

func (s *State) alertStatus(ctx context.Context, projectID, ruleID int64) (map[string]alertStatus, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, status, since FROM alert_state WHERE project_id = ? AND rule_id = ?`, projectID, ruleID)
	if err != nil {
		return nil, fmt.Errorf("insight: alert state: %w", err)
	}
	defer rows.Close()
	out := map[string]alertStatus{}
	for rows.Next() {
		var k, st string
		var since int64
		if err := rows.Scan(&k, &st, &since); err != nil {
			return nil, fmt.Errorf("insight: alert state: %w", err)
		}
		out[k] = alertStatus{st, fromMs(since)}
	}
	return out, rows.Err()
}

// transition records a state change of (rule, key) and its history event,
// and queues its deliveries, in one transaction; it returns the event.
func (s *State) transition(ctx context.Context, ev AlertEvent, status string, deliveries []Delivery) (AlertEvent, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return ev, fmt.Errorf("insight: record alert: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	now := ms(s.now())
	if status != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_state (project_id, rule_id, key, status, since, value, evaluated)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (project_id, rule_id, key) DO UPDATE SET status = excluded.status, since = excluded.since, value = excluded.value, evaluated = excluded.evaluated`,
			ev.ProjectID, ev.RuleID, ev.Key, status, ms(ev.At), ev.Value, now); err != nil {
			return ev, fmt.Errorf("insight: record alert: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO alert_events (project_id, rule_id, rule_name, key, kind, at, message, value, release)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, ev.ProjectID, ev.RuleID, ev.RuleName, ev.Key, ev.Kind, ms(ev.At), ev.Message, ev.Value, ev.Release)
	if err != nil {
		return ev, fmt.Errorf("insight: record alert: %w", err)
	}
	if ev.ID, err = res.LastInsertId(); err != nil {
		return ev, fmt.Errorf("insight: record alert: %w", err)
	}
	for i := range deliveries {
		d := &deliveries[i]
		d.EventID = ev.ID
		d.Status = "pending"
		r, err := tx.ExecContext(ctx, `INSERT INTO deliveries (project_id, event_id, channel, target, body, status, attempts, next_at, created_at)
			VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)`, ev.ProjectID, ev.ID, d.Channel, d.Target, d.body, now, now)
		if err != nil {
			return ev, fmt.Errorf("insight: queue delivery: %w", err)
		}
		if d.ID, err = r.LastInsertId(); err != nil {
			return ev, fmt.Errorf("insight: queue delivery: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return ev, fmt.Errorf("insight: record alert: %w", err)
	}
	ev.Deliveries = deliveries
	return ev, nil
}

// touch records that (rule, key) was evaluated without a change.
func (s *State) touch(ctx context.Context, projectID, ruleID int64, key string, value float64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE alert_state SET value = ?, evaluated = ? WHERE project_id = ? AND rule_id = ? AND key = ?`,
		value, ms(s.now()), projectID, ruleID, key)
	if err != nil {
		return fmt.Errorf("insight: alert state: %w", err)
	}
	return nil
}

// History returns a project's alert events, newest first; ruleID 0 means
// every rule.
func (s *State) History(ctx context.Context, projectID, ruleID int64, limit int) ([]AlertEvent, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := `SELECT id, project_id, rule_id, rule_name, key, kind, at, message, value, release FROM alert_events WHERE project_id = ?`
	argv := []any{projectID}
	if ruleID != 0 {
		q += ` AND rule_id = ?`
		argv = append(argv, ruleID)
	}
	q += ` ORDER BY at DESC, id DESC LIMIT ?`
	argv = append(argv, limit)
	rows, err := s.db.QueryContext(ctx, q, argv...)
	if err != nil {
		return nil, fmt.Errorf("insight: alert history: %w", err)
	}
	var out []AlertEvent
	byID := map[int64]int{}
	for rows.Next() {
		var e AlertEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.ProjectID, &e.RuleID, &e.RuleName, &e.Key, &e.Kind, &at, &e.Message, &e.Value, &e.Release); err != nil {
			rows.Close()
			return nil, fmt.Errorf("insight: alert history: %w", err)
		}
		e.At = fromMs(at)
		e.Deliveries = []Delivery{}
		byID[e.ID] = len(out)
		out = append(out, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("insight: alert history: %w", err)
	}
	for id, i := range byID {
		ds, err := s.deliveriesOf(ctx, id)
		if err != nil {
			return nil, err
		}
		out[i].Deliveries = ds
	}
	if out == nil {
		out = []AlertEvent{}
	}
	return out, nil
}

const deliveryCols = `id, project_id, event_id, channel, target, body, status, attempts, next_at, last_error, sent_at`

func scanDelivery(row interface{ Scan(...any) error }) (Delivery, error) {
	var d Delivery
	var next int64
	var sent sql.NullInt64
	if err := row.Scan(&d.ID, &d.projectID, &d.EventID, &d.Channel, &d.Target, &d.body, &d.Status, &d.Attempts, &next, &d.LastError, &sent); err != nil {
		return d, err
	}
	if d.Status == "pending" {
		d.NextAt = fromMs(next)
	}
	if sent.Valid {
		d.SentAt = fromMs(sent.Int64)
	}
	return d, nil
}

func (s *State) deliveriesOf(ctx context.Context, eventID int64) ([]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE event_id = ? ORDER BY id`, eventID)
	if err != nil {
		return nil, fmt.Errorf("insight: deliveries: %w", err)
	}
	defer rows.Close()
	out := []Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("insight: deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// dueDeliveries returns up to limit pending deliveries whose time has come.
func (s *State) dueDeliveries(ctx context.Context, limit int) ([]Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?`,
		ms(s.now()), limit)
	if err != nil {
		return nil, fmt.Errorf("insight: due deliveries: %w", err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("insight: due deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// delivered records an attempt's outcome: sent, retried at next, or
// failed for good (next zero and err set).
func (s *State) delivered(ctx context.Context, id int64, attempts int, sendErr error, next time.Time) error {
	var err error
	switch {
	case sendErr == nil:
		_, err = s.db.ExecContext(ctx, `UPDATE deliveries SET status = 'sent', attempts = ?, last_error = '', sent_at = ? WHERE id = ?`, attempts, ms(s.now()), id)
	case next.IsZero():
		_, err = s.db.ExecContext(ctx, `UPDATE deliveries SET status = 'failed', attempts = ?, last_error = ? WHERE id = ?`, attempts, sendErr.Error(), id)
	default:
		_, err = s.db.ExecContext(ctx, `UPDATE deliveries SET attempts = ?, last_error = ?, next_at = ? WHERE id = ?`, attempts, sendErr.Error(), ms(next), id)
	}
	if err != nil {
		return fmt.Errorf("insight: record delivery %d: %w", id, err)
	}
	return nil
}

// What people made of a finding. A new one is open; acknowledging it says
// someone is on it (it stays in the feed, after the open ones); dismissing
// it says it needs nothing (the feed and the overview hide it unless asked).
const (
	FindingOpen         = "open"
	FindingAcknowledged = "acknowledged"
	FindingDismissed    = "dismissed"
)

// ValidFindingStatus reports whether s is one of the statuses above.
func ValidFindingStatus(s string) bool {
	return s == FindingOpen || s == FindingAcknowledged || s == FindingDismissed
}

// Finding is a stored anomaly with what the feed shows about it.
type Finding struct {
	ProjectID int64   `json:"project_id"`
	Anomaly   Anomaly `json:"anomaly"`
	// Status is FindingOpen, FindingAcknowledged or FindingDismissed;
	// StatusBy and StatusAt say who set it and when (empty while open).
	Status   string    `json:"status"`
	StatusBy string    `json:"status_by,omitempty"`
	StatusAt time.Time `json:"status_at,omitzero"`
	// Release is the release that shipped shortly before the anomaly
	// started, if any.
	Release *ReleaseRef `json:"release,omitempty"`
	// AffectedSessions estimates the sessions behind the deviation.
	AffectedSessions float64 `json:"affected_sessions"`
	// Chart is the series around the anomaly, with its baseline.
	Chart []Point `json:"chart"`
	// Replays are sessions to watch.
	Replays []Representative `json:"replays"`
	// Segment is a session filter that selects the affected sessions.
	Segment SessionFilter `json:"segment"`
}

// ReleaseRef links an anomaly to a release annotation.
type ReleaseRef struct {
	AnnotationID int64     `json:"annotation_id"`
	Version      string    `json:"version"`
	At           time.Time `json:"at"`
}

func (s *State) saveFinding(ctx context.Context, f Finding) error {
	// The status lives in its own columns: the monitor saves a finding
	// again at every interval, and must not undo what someone decided.
	f.Status, f.StatusBy, f.StatusAt = "", "", time.Time{}
	body, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("insight: save finding: %w", err)
	}
	var end sql.NullInt64
	if !f.Anomaly.End.IsZero() {
		end = sql.NullInt64{Int64: ms(f.Anomaly.End), Valid: true}
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO findings (project_id, key, start, detected_at, end_at, body) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (project_id, key, start) DO UPDATE SET end_at = excluded.end_at, body = excluded.body`,
		f.ProjectID, f.Anomaly.Key, ms(f.Anomaly.Start), ms(f.Anomaly.DetectedAt), end, string(body))
	if err != nil {
		return fmt.Errorf("insight: save finding: %w", err)
	}
	return nil
}

// Findings returns a project's stored anomalies that overlap [from, to),
// newest first; with statuses, only those in one of them.
func (s *State) Findings(ctx context.Context, projectID int64, from, to time.Time, statuses ...string) ([]Finding, error) {
	q := `SELECT ` + findingCols + ` FROM findings WHERE project_id = ? AND start < ? AND (end_at IS NULL OR end_at > ?)`
	argv := []any{projectID, ms(to), ms(from)}
	if len(statuses) > 0 {
		q += ` AND status IN (?` + strings.Repeat(`, ?`, len(statuses)-1) + `)`
		for _, st := range statuses {
			argv = append(argv, st)
		}
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY start DESC LIMIT 1000`, argv...)
	if err != nil {
		return nil, fmt.Errorf("insight: findings: %w", err)
	}
	defer rows.Close()
	out := []Finding{}
	for rows.Next() {
		f, err := scanFinding(rows)
		if err != nil {
			return nil, fmt.Errorf("insight: findings: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

const findingCols = `body, status, status_at, status_by`

func scanFinding(row interface{ Scan(...any) error }) (Finding, error) {
	var body, status, by string
	var at sql.NullInt64
	if err := row.Scan(&body, &status, &at, &by); err != nil {
		return Finding{}, err
	}
	var f Finding
	if err := json.Unmarshal([]byte(body), &f); err != nil {
		return Finding{}, err
	}
	f.Status, f.StatusBy = status, by
	if at.Valid {
		f.StatusAt = fromMs(at.Int64)
	}
	return f, nil
}

// SetFindingStatus records what someone (by: a name for people to read)
// made of the finding of series key that started at start, and returns
// it; meta.ErrNotFound when the project has no such finding.
func (s *State) SetFindingStatus(ctx context.Context, projectID int64, key string, start time.Time, status, by string) (Finding, error) {
	if !ValidFindingStatus(status) {
		return Finding{}, &InputError{Msg: fmt.Sprintf("status must be %q, %q or %q, not %q", FindingOpen, FindingAcknowledged, FindingDismissed, status)}
	}
	var at sql.NullInt64
	if status != FindingOpen {
		at = sql.NullInt64{Int64: ms(s.now()), Valid: true}
	} else {
		by = ""
	}
	res, err := s.db.ExecContext(ctx, `UPDATE findings SET status = ?, status_at = ?, status_by = ? WHERE project_id = ? AND key = ? AND start = ?`,
		status, at, by, projectID, key, ms(start))
	if err != nil {
		return Finding{}, fmt.Errorf("insight: set finding status: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Finding{}, fmt.Errorf("insight: set finding status: %w", err)
	} else if n == 0 {
		return Finding{}, fmt.Errorf("insight: finding %s@%d: %w", key, start.Unix(), meta.ErrNotFound)
	}
	f, err := scanFinding(s.db.QueryRowContext(ctx, `SELECT `+findingCols+` FROM findings WHERE project_id = ? AND key = ? AND start = ?`,
		projectID, key, ms(start)))
	if err != nil {
		return Finding{}, fmt.Errorf("insight: set finding status: %w", err)
	}
	return f, nil
}

func (s *State) saveClusters(ctx context.Context, projectID int64, res *ClusterResult) error {
	body, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("insight: save clusters: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insight: save clusters: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	r, err := tx.ExecContext(ctx, `INSERT INTO cluster_runs (project_id, created_at, body) VALUES (?, ?, ?)`, projectID, ms(s.now()), string(body))
	if err != nil {
		return fmt.Errorf("insight: save clusters: %w", err)
	}
	runID, err := r.LastInsertId()
	if err != nil {
		return fmt.Errorf("insight: save clusters: %w", err)
	}
	for _, c := range res.Clusters {
		ids, err := json.Marshal(c.members)
		if err != nil {
			return fmt.Errorf("insight: save clusters: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO cluster_members (run_id, cluster, sessions) VALUES (?, ?, ?)`, runID, c.ID, string(ids)); err != nil {
			return fmt.Errorf("insight: save cluster members: %w", err)
		}
	}
	// Keep the last ten runs: enough to compare, bounded forever.
	_, err = tx.ExecContext(ctx, `DELETE FROM cluster_runs WHERE project_id = ? AND created_at < (
		SELECT min(created_at) FROM (SELECT created_at FROM cluster_runs WHERE project_id = ? ORDER BY created_at DESC LIMIT 10))`, projectID, projectID)
	if err != nil {
		return fmt.Errorf("insight: save clusters: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM cluster_members WHERE run_id NOT IN (SELECT rowid FROM cluster_runs)`); err != nil {
		return fmt.Errorf("insight: save clusters: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("insight: save clusters: %w", err)
	}
	res.RunID = runID
	return nil
}

// LatestClusters returns the newest stored clustering of a project, or nil.
func (s *State) LatestClusters(ctx context.Context, projectID int64) (*ClusterResult, error) {
	return s.clusterRun(ctx, `SELECT rowid, body FROM cluster_runs WHERE project_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`, projectID)
}

// ClusterRun returns a stored clustering of a project by its RunID, or nil
// when the project has no such run (any more: ten are kept).
func (s *State) ClusterRun(ctx context.Context, projectID, runID int64) (*ClusterResult, error) {
	return s.clusterRun(ctx, `SELECT rowid, body FROM cluster_runs WHERE project_id = ? AND rowid = ?`, projectID, runID)
}

func (s *State) clusterRun(ctx context.Context, q string, argv ...any) (*ClusterResult, error) {
	var body string
	var id int64
	err := s.db.QueryRowContext(ctx, q, argv...).Scan(&id, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("insight: clusters: %w", err)
	}
	var res ClusterResult
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		return nil, fmt.Errorf("insight: clusters: %w", err)
	}
	res.RunID = id
	return &res, nil
}

func (s *State) releaseWatermark(ctx context.Context, projectID int64) (time.Time, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT received_at FROM release_scan WHERE project_id = ?`, projectID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("insight: release watermark: %w", err)
	}
	return fromMs(v), nil
}

func (s *State) setReleaseWatermark(ctx context.Context, projectID int64, t time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO release_scan (project_id, received_at) VALUES (?, ?)
		ON CONFLICT (project_id) DO UPDATE SET received_at = excluded.received_at`, projectID, ms(t))
	if err != nil {
		return fmt.Errorf("insight: release watermark: %w", err)
	}
	return nil
}
