package duckdb

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order, each in its own transaction, and recorded
// in schema_version. Never edit a released migration: append a new one.
var migrations = []string{
	1: `
CREATE TABLE events (
	project_id       BIGINT      NOT NULL,
	uuid             VARCHAR     NOT NULL,
	event            VARCHAR     NOT NULL,
	distinct_id      VARCHAR     NOT NULL,
	session_id       VARCHAR     NOT NULL DEFAULT '',
	window_id        VARCHAR     NOT NULL DEFAULT '',
	"timestamp"      TIMESTAMPTZ NOT NULL,
	received_at      TIMESTAMPTZ NOT NULL,
	url              VARCHAR     NOT NULL DEFAULT '',
	host             VARCHAR     NOT NULL DEFAULT '',
	path             VARCHAR     NOT NULL DEFAULT '',
	query            VARCHAR     NOT NULL DEFAULT '',
	title            VARCHAR     NOT NULL DEFAULT '',
	referrer         VARCHAR     NOT NULL DEFAULT '',
	referring_domain VARCHAR     NOT NULL DEFAULT '',
	utm_source       VARCHAR     NOT NULL DEFAULT '',
	utm_medium       VARCHAR     NOT NULL DEFAULT '',
	utm_campaign     VARCHAR     NOT NULL DEFAULT '',
	utm_term         VARCHAR     NOT NULL DEFAULT '',
	utm_content      VARCHAR     NOT NULL DEFAULT '',
	browser          VARCHAR     NOT NULL DEFAULT '',
	browser_version  VARCHAR     NOT NULL DEFAULT '',
	os               VARCHAR     NOT NULL DEFAULT '',
	os_version       VARCHAR     NOT NULL DEFAULT '',
	device_type      VARCHAR     NOT NULL DEFAULT '',
	ip               VARCHAR     NOT NULL DEFAULT '',
	elements_chain   VARCHAR     NOT NULL DEFAULT '',
	selector         VARCHAR     NOT NULL DEFAULT '',
	x                DOUBLE      NOT NULL DEFAULT 0,
	y                DOUBLE      NOT NULL DEFAULT 0,
	offset_x         DOUBLE      NOT NULL DEFAULT 0,
	offset_y         DOUBLE      NOT NULL DEFAULT 0,
	viewport_width   INTEGER     NOT NULL DEFAULT 0,
	viewport_height  INTEGER     NOT NULL DEFAULT 0,
	document_width   INTEGER     NOT NULL DEFAULT 0,
	document_height  INTEGER     NOT NULL DEFAULT 0,
	rage             BOOLEAN     NOT NULL DEFAULT false,
	dead             BOOLEAN     NOT NULL DEFAULT false,
	error_click      BOOLEAN     NOT NULL DEFAULT false,
	truncated        BOOLEAN     NOT NULL DEFAULT false,
	properties       JSON        NOT NULL DEFAULT '{}'
);

-- Only identified persons and the distinct ids merged into them have rows;
-- every other distinct id is implicitly its own person.
CREATE TABLE person_distinct_ids (
	project_id  BIGINT  NOT NULL,
	distinct_id VARCHAR NOT NULL,
	person_id   VARCHAR NOT NULL,
	PRIMARY KEY (project_id, distinct_id)
);

CREATE TABLE persons (
	project_id    BIGINT      NOT NULL,
	person_id     VARCHAR     NOT NULL,
	properties    JSON        NOT NULL DEFAULT '{}',
	created_at    TIMESTAMPTZ NOT NULL,
	is_identified BOOLEAN     NOT NULL DEFAULT false,
	PRIMARY KEY (project_id, person_id)
);

CREATE TABLE spool_checkpoints (
	spool    VARCHAR PRIMARY KEY,
	segment  BIGINT  NOT NULL,
	"offset" BIGINT  NOT NULL
);

CREATE TABLE replays (
	project_id  BIGINT      NOT NULL,
	session_id  VARCHAR     NOT NULL,
	window_id   VARCHAR     NOT NULL,
	distinct_id VARCHAR     NOT NULL DEFAULT '',
	url         VARCHAR     NOT NULL DEFAULT '',
	start_time  TIMESTAMPTZ,
	end_time    TIMESTAMPTZ,
	active_ms   BIGINT      NOT NULL DEFAULT 0,
	clicks      BIGINT      NOT NULL DEFAULT 0,
	keypresses  BIGINT      NOT NULL DEFAULT 0,
	errors      BIGINT      NOT NULL DEFAULT 0,
	bytes       BIGINT      NOT NULL DEFAULT 0,
	chunks      BIGINT      NOT NULL DEFAULT 0,
	PRIMARY KEY (project_id, session_id, window_id)
);

-- The one shape the query engine uses to attribute an event to a person.
CREATE VIEW events_with_person AS
SELECT e.*, coalesce(pd.person_id, e.distinct_id) AS person_id
FROM events e
LEFT JOIN person_distinct_ids pd
       ON pd.project_id = e.project_id AND pd.distinct_id = e.distinct_id;
`,
	// The page view's scroll depth ($max_scroll_pct on $pageleave) as a
	// number: heatmaps read it for every page leave, and parsing each one's
	// properties was most of a heatmap's time.
	2: `
ALTER TABLE events ADD COLUMN scroll_depth DOUBLE;
UPDATE events SET scroll_depth = TRY_CAST(json_extract_string(properties, '$."$max_scroll_pct"') AS DOUBLE)
WHERE event = '$pageleave' AND isfinite(TRY_CAST(json_extract_string(properties, '$."$max_scroll_pct"') AS DOUBLE));
`,
	// The heat rollup (rollup.go): heatmaps read clicks per page and day
	// instead of every event.
	3: heatSchema,
	// Events per name, distinct id and UTC day (rollup.go): trends of
	// unique persons and event counts read it instead of every event.
	4: eventDaysSchema,
}

// schemaVersion is the schema version this package writes.
var schemaVersion = len(migrations) - 1

func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("duckdb: create schema_version: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_version").Scan(&current); err != nil {
		return fmt.Errorf("duckdb: read schema version: %w", err)
	}
	if current > schemaVersion {
		return fmt.Errorf("duckdb: database schema version %d is newer than this binary's %d: upgrade Sightline", current, schemaVersion)
	}
	for v := current + 1; v <= schemaVersion; v++ {
		if err := applyMigration(ctx, db, v); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, v int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("duckdb: migration %d: begin: %w", v, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return fmt.Errorf("duckdb: migration %d: %w", v, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version) VALUES (?)", v); err != nil {
		return fmt.Errorf("duckdb: migration %d: record version: %w", v, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("duckdb: migration %d: commit: %w", v, err)
	}
	return nil
}
