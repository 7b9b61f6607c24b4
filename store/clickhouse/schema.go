package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// schemaVersion is the version of the tables below. Every statement is
// idempotent (IF NOT EXISTS), and a later version adds statements: never
// edit a released one.
const schemaVersion = 1

// dayExpr is an event's UTC day, the partition and primary-index key.
// It is a function of timestamp (not a column of its own) so that the
// index serves conditions on timestamp.
const dayExpr = "toDate(toDateTime(intDiv(timestamp, 1000000), 'UTC'))"

// table is one logical table: its columns, its engine clause for the local
// (or only) table, and the sharding key of its Distributed table.
type table struct {
	name, columns, engine, shardKey string
}

var tables = []table{
	{"events", `
	project_id       Int64,
	uuid             String,
	event            String,
	distinct_id      String,
	session_id       String,
	window_id        String,
	timestamp        Int64,   -- Unix microseconds, UTC
	received_at      Int64,   -- Unix microseconds, UTC
	url              String,
	host             String,
	path             String,
	query            String,
	title            String,
	referrer         String,
	referring_domain String,
	utm_source       String,
	utm_medium       String,
	utm_campaign     String,
	utm_term         String,
	utm_content      String,
	browser          String,
	browser_version  String,
	os               String,
	os_version       String,
	device_type      String,
	ip               String,
	elements_chain   String,
	selector         String,
	x                Float64,
	y                Float64,
	offset_x         Float64,
	offset_y         Float64,
	viewport_width   Int32,
	viewport_height  Int32,
	document_width   Int32,
	document_height  Int32,
	rage             UInt8,
	dead             UInt8,
	error_click      UInt8,
	truncated        UInt8,
	properties       String,          -- the JSON document as received
	prop_keys        Array(String),   -- its top-level keys …
	prop_values      Array(String)    -- … and their values as text`,
		"ReplacingMergeTree PARTITION BY toYYYYMM(" + dayExpr + ") ORDER BY (project_id, " + dayExpr + ", event, uuid)",
		"cityHash64(distinct_id)"},
	// Only identified persons and the ids merged into them have rows.
	{"person_distinct_ids", `
	project_id  Int64,
	distinct_id String,
	person_id   String,
	version     UInt64`,
		"ReplacingMergeTree(version) ORDER BY (project_id, distinct_id)",
		"cityHash64(distinct_id)"},
	{"persons", `
	project_id    Int64,
	person_id     String,
	properties    String,
	prop_keys     Array(String),
	prop_values   Array(String),
	created_at    Int64,   -- Unix microseconds
	is_identified UInt8,
	is_deleted    UInt8,
	version       UInt64`,
		"ReplacingMergeTree(version) ORDER BY (project_id, person_id)",
		"cityHash64(person_id)"},
	{"spool_checkpoints", `
	spool   String,
	segment UInt64,
	offset  Int64,
	version UInt64`,
		"ReplacingMergeTree(version) ORDER BY spool",
		"cityHash64(spool)"},
	// One row per replay chunk; readers sum them.
	{"replays", `
	project_id  Int64,
	session_id  String,
	window_id   String,
	distinct_id String,
	url         String,
	start_time  Int64,   -- Unix microseconds, 0 when unknown
	end_time    Int64,
	active_ms   Int64,
	clicks      Int64,
	keypresses  Int64,
	errors      Int64,
	bytes       Int64,
	chunks      Int64`,
		"MergeTree ORDER BY (project_id, session_id, window_id)",
		"cityHash64(session_id)"},
}

// localName is the name of a table's local part: the table itself on one
// server, name_local in a cluster.
func localName(name, cluster string) string {
	if cluster == "" {
		return name
	}
	return name + "_local"
}

// ddl lists the statements that create the schema on one server. In a
// cluster every server gets the local tables and the Distributed tables,
// so that any of them can take inserts and queries.
func ddl(cfg Config, opts Options, ttl bool) []string {
	db := cfg.Database
	out := []string{"CREATE DATABASE IF NOT EXISTS " + db}
	for _, t := range tables {
		engine := t.engine
		if t.name == "events" && ttl && opts.Retention > 0 {
			days := int(opts.Retention / (24 * time.Hour))
			engine += " TTL " + dayExpr + " + INTERVAL " + strconv.Itoa(max(days, 1)) + " DAY"
		}
		out = append(out, "CREATE TABLE IF NOT EXISTS "+db+"."+localName(t.name, cfg.Cluster)+" ("+t.columns+"\n) ENGINE = "+engine)
		if cfg.Cluster != "" {
			out = append(out, "CREATE TABLE IF NOT EXISTS "+db+"."+t.name+" AS "+db+"."+localName(t.name, cfg.Cluster)+
				" ENGINE = Distributed("+cfg.Cluster+", "+db+", "+localName(t.name, cfg.Cluster)+", "+t.shardKey+")")
		}
	}
	out = append(out, "CREATE TABLE IF NOT EXISTS "+db+".sightline_schema (version UInt32, applied_at DateTime) ENGINE = TinyLog")
	return out
}

// migrate creates the schema on the server conn points at, or, for a
// cluster, on every server of it. Distributed DDL (ON CLUSTER) would need
// ZooKeeper; connecting to each server does not.
func migrate(ctx context.Context, conn driver.Conn, cfg Config, opts Options, ttl bool, _ string) error {
	return forEachShard(ctx, conn, cfg, func(ctx context.Context, c driver.Conn) error {
		return applySchema(ctx, c, cfg, opts, ttl)
	})
}

func applySchema(ctx context.Context, c driver.Conn, cfg Config, opts Options, ttl bool) error {
	var current uint32
	var exists uint64
	if err := c.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = $1 AND name = 'sightline_schema'", cfg.Database).Scan(&exists); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if exists > 0 {
		if err := c.QueryRow(ctx, "SELECT max(version) FROM "+cfg.Database+".sightline_schema").Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
	}
	if current > schemaVersion {
		return fmt.Errorf("database schema version %d is newer than this binary's %d: upgrade Sightline", current, schemaVersion)
	}
	for _, q := range ddl(cfg, opts, ttl) {
		if err := c.Exec(ctx, q); err != nil {
			return fmt.Errorf("migrate: %s: %w", firstLine(q), err)
		}
	}
	if current < schemaVersion {
		if err := insertRow(ctx, c, "INSERT INTO "+cfg.Database+".sightline_schema (version, applied_at)", uint32(schemaVersion), time.Now()); err != nil {
			return fmt.Errorf("record schema version: %w", err)
		}
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "(")
	return strings.TrimSpace(s)
}

// checkSchema fails with advice when the tables are missing (a cluster
// whose schema was never created with `sightline migrate`).
func (s *Store) checkSchema(ctx context.Context) error {
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = $1 AND name IN ('events', 'persons', 'person_distinct_ids', 'spool_checkpoints', 'replays', 'sightline_schema')",
		s.cfg.Database).Scan(&n); err != nil {
		return fmt.Errorf("clickhouse: check schema: %w", err)
	}
	if n < 6 {
		return fmt.Errorf("clickhouse: the Sightline tables are missing in database %q: run `sightline migrate --store clickhouse://…?cluster=%s`", s.cfg.Database, s.cfg.Cluster)
	}
	var v uint32
	if err := s.conn.QueryRow(ctx, "SELECT max(version) FROM "+s.cfg.Database+".sightline_schema").Scan(&v); err != nil {
		return fmt.Errorf("clickhouse: read schema version: %w", err)
	}
	if v < schemaVersion {
		return fmt.Errorf("clickhouse: schema version %d is older than this binary's %d: run `sightline migrate`", v, schemaVersion)
	}
	if v > schemaVersion {
		return fmt.Errorf("clickhouse: schema version %d is newer than this binary's %d: upgrade Sightline", v, schemaVersion)
	}
	return nil
}

// forEachShard runs fn on conn alone (no cluster), or on a connection to
// every server of the cluster, as the server conn points at lists them.
func forEachShard(ctx context.Context, conn driver.Conn, cfg Config, fn func(context.Context, driver.Conn) error) error {
	if cfg.Cluster == "" {
		return fn(ctx, conn)
	}
	rows, err := conn.Query(ctx, "SELECT DISTINCT host_address, port FROM system.clusters WHERE cluster = $1 ORDER BY host_address, port", cfg.Cluster)
	if err != nil {
		return fmt.Errorf("clickhouse: list servers of cluster %q: %w", cfg.Cluster, err)
	}
	var addrs []string
	for rows.Next() {
		var host string
		var port uint16
		if err := rows.Scan(&host, &port); err != nil {
			rows.Close()
			return fmt.Errorf("clickhouse: list servers of cluster %q: %w", cfg.Cluster, err)
		}
		addrs = append(addrs, host+":"+strconv.Itoa(int(port)))
	}
	rows.Close()
	if len(addrs) == 0 {
		return fmt.Errorf("clickhouse: the server knows no cluster %q (remote_servers in its config)", cfg.Cluster)
	}
	for _, addr := range addrs {
		c, err := ch.Open(&ch.Options{Addr: []string{addr}, Auth: ch.Auth{Database: "default", Username: cfg.User, Password: cfg.Password}, DialTimeout: 5 * time.Second})
		if err != nil {
			return fmt.Errorf("clickhouse: connect to %s: %w", addr, err)
		}
		err = fn(ctx, c)
		c.Close()
		if err != nil {
			return fmt.Errorf("clickhouse: server %s: %w", addr, err)
		}
	}
	return nil
}

// Migrate creates or upgrades the schema described by dsn: on one server,
// or with ?cluster=NAME on every server of the cluster (local tables and
// Distributed tables). It is what `sightline migrate` runs; Open does it by
// itself for a single server.
func Migrate(ctx context.Context, dsn string, opts Options) error {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return err
	}
	if cfg.RetentionDays > 0 {
		opts.Retention = time.Duration(cfg.RetentionDays) * 24 * time.Hour
	}
	opts = opts.withDefaults()
	conn, err := ch.Open(&ch.Options{Addr: cfg.Hosts, Auth: ch.Auth{Database: "default", Username: cfg.User, Password: cfg.Password}, DialTimeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("clickhouse: open %v: %w", cfg.Hosts, err)
	}
	defer conn.Close()
	ttl := false
	if v, err := conn.ServerVersion(); err == nil {
		ttl = v.Version.Major > 19 || v.Version.Major == 19 && v.Version.Minor >= 6
	} else {
		return fmt.Errorf("clickhouse: connect to %v: %w", cfg.Hosts, err)
	}
	return migrate(ctx, conn, cfg, opts, ttl, "")
}

type driverConn = driver.Conn

// openAdmin connects to the first host without selecting the database.
func openAdmin(cfg Config) (driver.Conn, error) {
	return ch.Open(&ch.Options{Addr: cfg.Hosts, Auth: ch.Auth{Database: "default", Username: cfg.User, Password: cfg.Password}, DialTimeout: 5 * time.Second})
}

// insertRow inserts one row through the native protocol's data blocks: an
// INSERT … VALUES with bound parameters is not something 18.16 answers.
func insertRow(ctx context.Context, c driver.Conn, insert string, values ...any) error {
	b, err := c.PrepareBatch(ctx, insert)
	if err != nil {
		return err
	}
	if err := b.Append(values...); err != nil {
		b.Abort()
		return err
	}
	return b.Send()
}

// DropDatabase drops the database dsn names, on every server of its
// cluster: all of Sightline's data there. Tests and benchmarks use it to
// clean up after themselves.
func DropDatabase(ctx context.Context, dsn string) error {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return err
	}
	conn, err := openAdmin(cfg)
	if err != nil {
		return fmt.Errorf("clickhouse: open %v: %w", cfg.Hosts, err)
	}
	defer conn.Close()
	return forEachShard(ctx, conn, cfg, func(ctx context.Context, c driver.Conn) error {
		return c.Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.Database)
	})
}
