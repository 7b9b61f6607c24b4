// Package clickhouse is Sightline's scale-out event store: ClickHouse,
// one server or a sharded cluster, implementing store.Store. Any number of
// Sightline nodes may write to and query the same database.
//
// # Compatibility
//
// The SQL runs on ClickHouse 18.16 (what Debian packages, and what the
// tests run against) and on current releases. 18.16 has no DateTime64, no
// JSONExtract, no window functions, no CTEs over subqueries and no TTL, so:
//
//   - timestamps are Int64 Unix microseconds ("timestamp", "received_at"),
//     the precision DuckDB keeps, so both stores order and subtract events
//     identically; time.Time arguments of Query are converted to the same;
//   - the top-level keys of each event's properties are stored parsed, as
//     prop_keys / prop_values (values as text, as DuckDB's
//     json_extract_string reads them), next to the raw document; the query
//     dialect reads a property with indexOf, no JSON parsing at query time;
//   - retention drops whole monthly partitions (Options.Retention), which
//     works on every version; servers that have TTL (19.6+) also get a TTL
//     clause, so expiry inside the last partition is exact there.
//
// The native protocol is used through github.com/ClickHouse/clickhouse-go/v2,
// whose handshake negotiates down to 18.16's protocol revision (54412).
//
// # Schema
//
// events is a ReplacingMergeTree partitioned by month and ordered by
// (project_id, day, event, uuid): the common filters (project, date range,
// event name) read a narrow range of the primary index. person_distinct_ids,
// persons and spool_checkpoints are ReplacingMergeTree tables of versioned
// rows, read with argMax(…, version) so that they are correct before any
// merge; replays keeps one row per chunk and queries sum them.
//
// With a cluster (DSN ?cluster=NAME), each of these is a *_local table on
// every shard plus a Distributed table of the plain name over them. events
// and person_distinct_ids are sharded by cityHash64(distinct_id), so that
// a distinct id's events and its mapping live on the same shard; persons by
// cityHash64(person_id), replays by session, checkpoints by spool. Queries
// run against the Distributed tables with distributed_product_mode =
// 'global', so a JOIN or IN over another Distributed table is computed once
// and shipped to the shards: correct whatever the placement.
//
// # Deduplication
//
// Append is idempotent by (project_id, uuid) the way store/duckdb is: before
// inserting, it looks up the batch's keys among the stored events of the
// batch's time ranges (widened by Options.DedupSlack) and inserts only the
// new ones. Inserts into Distributed tables are synchronous
// (insert_distributed_sync = 1): an Append returns only when every shard has
// its rows, so a batch that failed on one shard is retried by the spool
// writer and the lookup finds what did land. The ReplacingMergeTree key
// ends with uuid as a backstop for the one race the lookup cannot see (two
// nodes receiving the same client retry within one batch window): merges
// fold such duplicates away. Queries do not use FINAL, which would cost a
// merge per query for a race that practically never happens.
//
// There are no transactions: Append applies identity first, then inserts
// the events, then records the checkpoint. A crash in between replays the
// batch, whose identity changes are then applied again, which is harmless
// since nothing came after them.
package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sightline-analytics/sightline/store"
)

var _ store.Store = (*Store)(nil)

// Options tune the store. The zero value gives defaults.
type Options struct {
	// DedupSlack widens the time range searched for already stored UUIDs
	// (default 1 minute); see store/duckdb.Options.DedupSlack.
	DedupSlack time.Duration
	// Retention, when positive, drops events older than it: monthly
	// partitions that lie wholly before now − Retention are dropped once
	// an hour, and servers with TTL support expire rows exactly.
	Retention time.Duration
	// MaxThreads caps ClickHouse's threads per query (default 2): the
	// servers Sightline shares are often small.
	MaxThreads int
	// MaxMemoryUsage caps one query's memory in bytes (default 2 GB).
	MaxMemoryUsage int64
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.DedupSlack <= 0 {
		o.DedupSlack = time.Minute
	}
	if o.MaxThreads <= 0 {
		o.MaxThreads = 2
	}
	if o.MaxMemoryUsage <= 0 {
		o.MaxMemoryUsage = 2_000_000_000
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Config is a parsed DSN:
//
//	clickhouse://[user[:password]@]host:port[,host2:port…]/database?cluster=NAME&retention_days=N
//
// retention_days, when set, overrides Options.Retention.
// Several hosts are alternatives (the client fails over between them), not
// shards: shards come from the cluster definition on the server.
type Config struct {
	Hosts    []string
	Database string
	User     string
	Password string
	Cluster  string
	// RetentionDays drops events older than this many days (0: keep).
	RetentionDays int
}

// ParseDSN parses a clickhouse:// DSN.
func ParseDSN(dsn string) (Config, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return Config{}, fmt.Errorf("clickhouse: DSN: %w", err)
	}
	if u.Scheme != "clickhouse" {
		return Config{}, fmt.Errorf("clickhouse: DSN %q: want clickhouse://host:9000/database", dsn)
	}
	c := Config{Database: strings.Trim(u.Path, "/"), Cluster: u.Query().Get("cluster")}
	if c.Database == "" {
		c.Database = "default"
	}
	if strings.ContainsAny(c.Database, "`\"' ./") {
		return Config{}, fmt.Errorf("clickhouse: DSN: database name %q is not a plain identifier", c.Database)
	}
	if r := u.Query().Get("retention_days"); r != "" {
		n, err := strconv.Atoi(r)
		if err != nil || n < 0 {
			return Config{}, fmt.Errorf("clickhouse: DSN: retention_days=%q is not a number of days", r)
		}
		c.RetentionDays = n
	}
	if c.Cluster != "" && !plainIdent(c.Cluster) {
		return Config{}, fmt.Errorf("clickhouse: DSN: cluster name %q is not a plain identifier", c.Cluster)
	}
	for _, h := range strings.Split(u.Host, ",") {
		if h == "" {
			continue
		}
		if !strings.Contains(h, ":") {
			h += ":9000"
		}
		c.Hosts = append(c.Hosts, h)
	}
	if len(c.Hosts) == 0 {
		return Config{}, fmt.Errorf("clickhouse: DSN %q names no host", dsn)
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if c.User == "" {
		c.User = "default"
	}
	return c, nil
}

func plainIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || i > 0 && '0' <= r && r <= '9') {
			return false
		}
	}
	return s != ""
}

// Store is the ClickHouse event store. It is safe for concurrent use.
type Store struct {
	cfg  Config
	opts Options
	log  *slog.Logger
	conn driver.Conn // native API: batch inserts, DDL, external tables
	db   *sql.DB     // database/sql, for Query
	ttl  bool        // the server supports table TTL

	writer *writer

	verMu   sync.Mutex
	lastVer uint64

	stop      chan struct{}
	bg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Open connects to ClickHouse, creates the schema if needed (one server;
// for a cluster, see Migrate) and checks that it is there.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.RetentionDays > 0 {
		opts.Retention = time.Duration(cfg.RetentionDays) * 24 * time.Hour
	}
	opts = opts.withDefaults()
	if cfg.Cluster == "" {
		if err := Migrate(ctx, dsn, opts); err != nil {
			return nil, err
		}
	}
	s := &Store{cfg: cfg, opts: opts, log: opts.Logger, stop: make(chan struct{})}
	settings := ch.Settings{
		// The native protocol of 18.16 carries only numeric settings;
		// Query appends the string one (distributed_product_mode).
		"max_threads":             opts.MaxThreads,
		"max_memory_usage":        int(opts.MaxMemoryUsage),
		"insert_distributed_sync": 1,
		"join_use_nulls":          0,
	}
	chOpts := &ch.Options{
		Addr:             cfg.Hosts,
		Auth:             ch.Auth{Database: cfg.Database, Username: cfg.User, Password: cfg.Password},
		Settings:         settings,
		DialTimeout:      5 * time.Second,
		ConnOpenStrategy: ch.ConnOpenInOrder,
		MaxOpenConns:     16,
		MaxIdleConns:     4,
	}
	if s.conn, err = ch.Open(chOpts); err != nil {
		return nil, fmt.Errorf("clickhouse: open %v: %w", cfg.Hosts, err)
	}
	s.db = ch.OpenDB(chOpts)
	s.db.SetMaxOpenConns(16)
	s.db.SetMaxIdleConns(4)
	if err := s.conn.Ping(ctx); err != nil {
		s.closeConns()
		if cfg.Cluster != "" && strings.Contains(err.Error(), "doesn't exist") {
			return nil, fmt.Errorf("clickhouse: connect to %v: %w (create the cluster's tables with `sightline migrate --store %s`)", cfg.Hosts, err, dsn)
		}
		return nil, fmt.Errorf("clickhouse: connect to %v: %w", cfg.Hosts, err)
	}
	if v, err := s.conn.ServerVersion(); err == nil {
		s.ttl = v.Version.Major > 19 || v.Version.Major == 19 && v.Version.Minor >= 6
	}
	if err := s.checkSchema(ctx); err != nil {
		s.closeConns()
		return nil, err
	}
	s.writer = newWriter(s)
	if opts.Retention > 0 {
		s.bg.Add(1)
		go s.retentionLoop()
	}
	return s, nil
}

func (s *Store) closeConns() {
	s.conn.Close()
	s.db.Close()
}

// Dialect implements store.Querier.
func (s *Store) Dialect() string { return "clickhouse" }

// Query implements store.Querier. time.Time arguments become Unix
// microseconds (the type of the timestamp columns), booleans 0 or 1. A
// query may be a script of statements separated by
// query.StatementSeparator (temporary tables, then the SELECT): they run in
// order on one connection, and the rows are the last one's.
func (s *Store) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	conv := make([]any, len(args))
	for i, a := range args {
		conv[i] = queryArg(a)
	}
	if strings.Contains(query, scriptSeparator) {
		return s.queryScript(ctx, strings.Split(query, scriptSeparator), conv)
	}
	if s.cfg.Cluster != "" {
		query += "\nSETTINGS distributed_product_mode = 'global'"
	}
	rows, err := s.db.QueryContext(ctx, query, conv...)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: query: %w", err)
	}
	return rows, nil
}

// scriptSeparator is query.StatementSeparator (the store does not
// import the query package).
const scriptSeparator = "\n;-- next statement\n"

// queryScript runs a script's statements on one connection, where its
// temporary tables live, and returns the last one's rows. The connection
// goes back to the pool once the caller closes the rows.
func (s *Store) queryScript(ctx context.Context, stmts []string, args []any) (*sql.Rows, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: query: %w", err)
	}
	// Scripts are the plans that walk each entity's events in arrays
	// (funnels, paths). Collecting every entity's events is a GROUP BY whose
	// state holds them all: it spills to disk past a threshold, and merges
	// across shards bucket by bucket. The array plans are linear in an
	// entity's events (see query/clickhouse_funnel.go), so blocks keep the
	// default size: forcing small ones (two-level aggregation from the
	// first key) cost more in per-block overhead than it saved.
	set := []string{
		"SET distributed_aggregation_memory_efficient = 1",
		"SET max_bytes_before_external_group_by = " + strconv.FormatInt(s.opts.MaxMemoryUsage/3, 10),
	}
	if s.cfg.Cluster != "" {
		set = append(set, "SET distributed_product_mode = 'global'")
	}
	for _, st := range set {
		if _, err := conn.ExecContext(ctx, st); err != nil {
			conn.Close()
			return nil, fmt.Errorf("clickhouse: query: %s: %w", st, err)
		}
	}
	for _, st := range stmts[:len(stmts)-1] {
		if _, err := conn.ExecContext(ctx, st, args...); err != nil {
			conn.Close()
			return nil, fmt.Errorf("clickhouse: query: %s: %w", firstLine(st), err)
		}
	}
	rows, err := conn.QueryContext(ctx, stmts[len(stmts)-1], args...)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse: query: %w", err)
	}
	// Conn.Close waits until the rows are closed, then releases the
	// connection (its temporary tables are dropped by the next script that
	// names them, or with the connection).
	go conn.Close()
	return rows, nil
}

func queryArg(a any) any {
	switch v := a.(type) {
	case time.Time:
		return v.UnixMicro()
	case bool:
		if v {
			return uint8(1)
		}
		return uint8(0)
	case int:
		return int64(v)
	}
	return a
}

// Count implements store.Store.
func (s *Store) Count(ctx context.Context, projectID int64) (int64, error) {
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM events WHERE project_id = $1", projectID).Scan(&n); err != nil {
		return 0, fmt.Errorf("clickhouse: count events of project %d: %w", projectID, err)
	}
	return int64(n), nil
}

// Checkpoint implements store.Writer.
func (s *Store) Checkpoint(ctx context.Context, spool string) (store.Checkpoint, error) {
	cp := store.Checkpoint{Spool: spool}
	var n uint64
	var seg uint64
	var off int64
	err := s.conn.QueryRow(ctx, "SELECT count(), argMax(segment, version), argMax(offset, version) FROM spool_checkpoints WHERE spool = $1", spool).
		Scan(&n, &seg, &off)
	if err != nil {
		return cp, fmt.Errorf("clickhouse: read checkpoint of spool %q: %w", spool, err)
	}
	if n > 0 {
		cp.Segment, cp.Offset = seg, off
	}
	return cp, nil
}

// BatchHint is the batching this store prefers from the spool writer: large
// inserts, as ClickHouse writes a part per insert and merges them later.
func (s *Store) BatchHint() (events int, delay time.Duration) { return 131_072, time.Second }

// version returns an increasing row version for the ReplacingMergeTree
// tables: wall-clock nanoseconds, so that across nodes the latest write
// wins, and strictly increasing within this process.
func (s *Store) version() uint64 {
	s.verMu.Lock()
	defer s.verMu.Unlock()
	v := uint64(time.Now().UnixNano())
	if v <= s.lastVer {
		v = s.lastVer + 1
	}
	s.lastVer = v
	return v
}

// Close closes the store. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.bg.Wait()
		s.closeErr = errors.Join(s.conn.Close(), s.db.Close())
	})
	return s.closeErr
}

func (s *Store) retentionLoop() {
	defer s.bg.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := s.DropExpired(context.Background(), time.Now().Add(-s.opts.Retention)); err != nil {
			s.log.Warn("clickhouse: retention", "err", err)
		}
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// DropExpired drops the monthly event partitions that end before cutoff, on
// every shard. It returns the partitions dropped.
func (s *Store) DropExpired(ctx context.Context, cutoff time.Time) error {
	first := time.Date(cutoff.Year(), cutoff.Month(), 1, 0, 0, 0, 0, time.UTC)
	limit, _ := strconv.Atoi(first.Format("200601"))
	return forEachShard(ctx, s.conn, s.cfg, func(ctx context.Context, c driver.Conn) error {
		table := s.cfg.Database + "." + localName("events", s.cfg.Cluster)
		rows, err := c.Query(ctx, `SELECT DISTINCT partition FROM system.parts
			WHERE database = $1 AND table = $2 AND active`, s.cfg.Database, localName("events", s.cfg.Cluster))
		if err != nil {
			return fmt.Errorf("list partitions: %w", err)
		}
		var parts []string
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return err
			}
			parts = append(parts, p)
		}
		rows.Close()
		for _, p := range parts {
			n, err := strconv.Atoi(strings.Trim(p, "'"))
			if err != nil || n >= limit {
				continue
			}
			if err := c.Exec(ctx, "ALTER TABLE "+table+" DROP PARTITION "+strconv.Itoa(n)); err != nil {
				return fmt.Errorf("drop partition %d: %w", n, err)
			}
			s.log.Info("clickhouse: dropped expired partition", "table", table, "partition", n)
		}
		return nil
	})
}
