// Package insight turns a project's events into findings worth a look:
// session clusters (behavior patterns described in plain words), anomalies
// in monitored metrics (robust seasonal baselines), release annotations
// linked to the anomalies that follow them, alert rules evaluated on a
// schedule and delivered by webhook and e-mail, and a feed of the top
// findings ranked by affected sessions.
//
// The package reads events only through a Querier (store.Querier satisfies
// it) with SQL kept to constructs DuckDB and ClickHouse share; the few
// dialect-specific fragments live in dialect.go. Saved insights run through
// the query engine. Alert state, alert history and stored findings live in
// insight's own small SQLite database (State).
package insight

import (
	"context"
	"database/sql"
)

// Querier runs SQL on an event store (store.Querier satisfies it).
type Querier interface {
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	Dialect() string
}
