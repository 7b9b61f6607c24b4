package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sightline-analytics/sightline/store"
)

// AddReplayChunk implements store.ReplayIndex. Start and End take the
// earliest and latest known values (a zero time is unknown); counters add up.
// URL and DistinctID come from the earliest-starting chunk that had them, so
// a first chunk that arrives late (a retry) still provides the first URL.
func (s *Store) AddReplayChunk(ctx context.Context, c store.ReplaySummary) error {
	s.replayMu.Lock()
	defer s.replayMu.Unlock()
	_, err := s.db.ExecContext(ctx, `INSERT INTO replays AS r (project_id, session_id, window_id, distinct_id, url,
			start_time, end_time, active_ms, clicks, keypresses, errors, bytes, chunks)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (project_id, session_id, window_id) DO UPDATE SET
			url = CASE WHEN r.url = '' OR (excluded.url <> '' AND excluded.start_time < r.start_time)
			           THEN excluded.url ELSE r.url END,
			distinct_id = CASE WHEN r.distinct_id = '' OR (excluded.distinct_id <> '' AND excluded.start_time < r.start_time)
			           THEN excluded.distinct_id ELSE r.distinct_id END,
			start_time = least(r.start_time, excluded.start_time),
			end_time = greatest(r.end_time, excluded.end_time),
			active_ms = r.active_ms + excluded.active_ms,
			clicks = r.clicks + excluded.clicks,
			keypresses = r.keypresses + excluded.keypresses,
			errors = r.errors + excluded.errors,
			bytes = r.bytes + excluded.bytes,
			chunks = r.chunks + excluded.chunks`,
		c.ProjectID, clean(c.SessionID), clean(c.WindowID), clean(c.DistinctID), clean(c.URL),
		nullTime(c.Start), nullTime(c.End),
		c.ActiveMs, c.Clicks, c.Keypresses, c.Errors, c.Bytes, c.Chunks)
	if err != nil {
		return fmt.Errorf("duckdb: add replay chunk of session %q window %q: %w", c.SessionID, c.WindowID, err)
	}
	return nil
}

// Replays implements store.ReplayIndex.
func (s *Store) Replays(ctx context.Context, projectID int64, sessionID string) ([]store.ReplaySummary, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT window_id, distinct_id, url, start_time, end_time,
			active_ms, clicks, keypresses, errors, bytes, chunks
		FROM replays WHERE project_id = ? AND session_id = ?
		ORDER BY start_time NULLS LAST, window_id`, projectID, sessionID)
	if err != nil {
		return nil, fmt.Errorf("duckdb: replays of session %q: %w", sessionID, err)
	}
	defer rows.Close()
	var out []store.ReplaySummary
	for rows.Next() {
		r := store.ReplaySummary{ProjectID: projectID, SessionID: sessionID}
		var start, end sql.NullTime
		if err := rows.Scan(&r.WindowID, &r.DistinctID, &r.URL, &start, &end,
			&r.ActiveMs, &r.Clicks, &r.Keypresses, &r.Errors, &r.Bytes, &r.Chunks); err != nil {
			return nil, fmt.Errorf("duckdb: read replay of session %q: %w", sessionID, err)
		}
		if start.Valid {
			r.Start = start.Time.UTC()
		}
		if end.Valid {
			r.End = end.Time.UTC()
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duckdb: replays of session %q: %w", sessionID, err)
	}
	return out, nil
}

func nullTime(t time.Time) sql.NullTime {
	return sql.NullTime{Time: t.UTC(), Valid: store.ValidTime(t)}
}
