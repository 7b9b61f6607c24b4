package insight

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/meta"
)

// TestStateMigratesFindings: a state database from before findings had a
// status gains the columns when opened, its findings are open, and a
// status set survives the monitor saving the finding again.
func TestStateMigratesFindings(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "insight.db")
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 14, 0, 0, 0, time.UTC)
	for _, stmt := range []string{
		`CREATE TABLE findings (project_id INTEGER NOT NULL, key TEXT NOT NULL, start INTEGER NOT NULL, detected_at INTEGER NOT NULL,
			end_at INTEGER, body TEXT NOT NULL, PRIMARY KEY (project_id, key, start))`,
		`INSERT INTO findings VALUES (1, 'sessions', ` + itoa(start.UnixMilli()) + `, ` + itoa(start.Add(2*time.Hour).UnixMilli()) +
			`, NULL, '{"project_id":1,"anomaly":{"key":"sessions","label":"Sessions","direction":"down","start":"2026-03-01T14:00:00Z"},"affected_sessions":12}')`,
	} {
		if _, err := old.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	st, err := OpenState(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := start.Add(3 * time.Hour)
	st.now = func() time.Time { return now }
	fs, err := st.Findings(ctx, 1, start, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Status != FindingOpen || fs[0].AffectedSessions != 12 || !fs[0].StatusAt.IsZero() {
		t.Fatalf("migrated findings: %+v", fs)
	}
	f, err := st.SetFindingStatus(ctx, 1, "sessions", start, FindingAcknowledged, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != FindingAcknowledged || f.StatusBy != "ada@example.com" || !f.StatusAt.Equal(now) || f.Anomaly.Label != "Sessions" {
		t.Errorf("acknowledged finding: %+v", f)
	}
	// The monitor saves it again at the next interval.
	f.AffectedSessions = 15
	if err := st.saveFinding(ctx, f); err != nil {
		t.Fatal(err)
	}
	if fs, _ := st.Findings(ctx, 1, start, now, FindingAcknowledged); len(fs) != 1 || fs[0].AffectedSessions != 15 || fs[0].StatusBy != "ada@example.com" {
		t.Errorf("after the monitor saved it again: %+v", fs)
	}
	if fs, _ := st.Findings(ctx, 1, start, now, FindingOpen); len(fs) != 0 {
		t.Errorf("an acknowledged finding is listed as open: %+v", fs)
	}
	if f, err := st.SetFindingStatus(ctx, 1, "sessions", start, FindingOpen, "ada@example.com"); err != nil || f.StatusBy != "" || !f.StatusAt.IsZero() {
		t.Errorf("reopened: %+v, %v", f, err)
	}
	if _, err := st.SetFindingStatus(ctx, 1, "sessions", start.Add(time.Hour), FindingDismissed, "x"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("unknown finding: %v", err)
	}
	if _, err := st.SetFindingStatus(ctx, 2, "sessions", start, FindingDismissed, "x"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("another project's finding: %v", err)
	}
	var ie *InputError
	if _, err := st.SetFindingStatus(ctx, 1, "sessions", start, "closed", "x"); !errors.As(err, &ie) {
		t.Errorf("unknown status: %v", err)
	}
	// Opening it again finds the columns there.
	again, err := OpenState(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	again.Close()
}
