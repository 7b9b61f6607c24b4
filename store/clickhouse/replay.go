package clickhouse

import (
	"context"
	"fmt"
	"time"

	"github.com/sightline-analytics/sightline/store"
)

// AddReplayChunk implements store.ReplayIndex. Each chunk is a row; Replays
// and the session queries aggregate them (earliest start, latest end,
// summed counters; URL and distinct id of the earliest-starting chunk that
// had them), which needs no read-modify-write and so no lock across nodes.
func (s *Store) AddReplayChunk(ctx context.Context, c store.ReplaySummary) error {
	err := insertRow(ctx, s.conn, `INSERT INTO replays (project_id, session_id, window_id, distinct_id, url,
			start_time, end_time, active_ms, clicks, keypresses, errors, bytes, chunks)`,
		c.ProjectID, clean(c.SessionID), clean(c.WindowID), clean(c.DistinctID), clean(c.URL),
		micros(c.Start), micros(c.End), c.ActiveMs, c.Clicks, c.Keypresses, c.Errors, c.Bytes, c.Chunks)
	if err != nil {
		return fmt.Errorf("clickhouse: add replay chunk of session %q window %q: %w", c.SessionID, c.WindowID, err)
	}
	return nil
}

// Replays implements store.ReplayIndex.
func (s *Store) Replays(ctx context.Context, projectID int64, sessionID string) ([]store.ReplaySummary, error) {
	rows, err := s.conn.Query(ctx, `SELECT window_id,
			argMinIf(distinct_id, if(start_time = 0, toInt64(9223372036854775807), start_time), distinct_id != ''),
			argMinIf(url, if(start_time = 0, toInt64(9223372036854775807), start_time), url != ''),
			minIf(start_time, start_time != 0) AS st, maxIf(end_time, end_time != 0),
			sum(active_ms), sum(clicks), sum(keypresses), sum(errors), sum(bytes), sum(chunks)
		FROM replays WHERE project_id = $1 AND session_id = $2
		GROUP BY window_id ORDER BY st = 0, st, window_id`, projectID, sessionID)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: replays of session %q: %w", sessionID, err)
	}
	defer rows.Close()
	var out []store.ReplaySummary
	for rows.Next() {
		r := store.ReplaySummary{ProjectID: projectID, SessionID: sessionID}
		var start, end int64
		if err := rows.Scan(&r.WindowID, &r.DistinctID, &r.URL, &start, &end,
			&r.ActiveMs, &r.Clicks, &r.Keypresses, &r.Errors, &r.Bytes, &r.Chunks); err != nil {
			return nil, fmt.Errorf("clickhouse: read replay of session %q: %w", sessionID, err)
		}
		if start != 0 {
			r.Start = time.UnixMicro(start).UTC()
		}
		if end != 0 {
			r.End = time.UnixMicro(end).UTC()
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: replays of session %q: %w", sessionID, err)
	}
	return out, nil
}

// micros is t in Unix microseconds, 0 when unknown.
func micros(t time.Time) int64 {
	if !store.ValidTime(t) {
		return 0
	}
	return t.UnixMicro()
}
