package query

import (
	"fmt"
	"strconv"
	"strings"
)

// Dialect renders the engine's plans as one SQL dialect. The shared
// compilers (trends, retention, sessions, …) build SQL from the dialect's
// expression hooks; constructs that have no common form across engines
// (funnel attempts, numbered steps of a path) are whole-plan hooks, so
// that DuckDB can walk each entity's events with the store's funnel
// function and number steps with window functions, while ClickHouse 18.16
// (no window functions, no CTEs) walks sorted arrays.
//
// Dialects live in this package because they render its unexported plans;
// the interface is sealed. DialectFor picks one by store.Querier.Dialect().
type Dialect interface {
	Name() string

	// placeholder is the n-th (1-based) bound parameter holding v.
	placeholder(n int, v any) string
	ident(name string) string
	// render joins common table expressions and a final SELECT; a dialect
	// without CTEs inlines each reference (see cteRef).
	render(s stmt) string
	// finish adapts a complete statement (rendered or built directly) to
	// the engine's syntax limits; see chDialect.finish.
	finish(sql string) string

	// eventsFrom is the FROM clause over events as e; with person, it
	// resolves each event's person (personID), and with props it joins the
	// person's properties as pp.properties.
	eventsFrom(c *compiler, person, props bool) string
	personID() string
	// personJoin joins src, a subquery of events aliased e, to the persons
	// of its distinct ids, so that personID() resolves over it.
	personJoin(c *compiler, src string) string

	jsonString(doc, key string) string
	// scrollDepth is a $pageleave's $max_scroll_pct as a number (events as e).
	scrollDepth() string
	// rollups reports whether the store keeps the rollup tables: the heat
	// rollup (heat_cells, heat_elements, heat_steps, heat_pages; see
	// store.HeatRollup) and event_days (store.EventDays).
	rollups() bool
	toNumber(text string) string
	toText(num string) string
	containsCI(text, pat string) string
	regex(text, pat string) string
	like(text, pat string) string
	startsWith(text, prefix string) string
	// chainTarget is the target element of an elements chain.
	chainTarget(chain string) string
	// chainAttrRegex: some element's attr (text, href) matches pat.
	chainAttrRegex(chain, attr, pat string) string

	// localTime is a timestamp's wall clock in zone z, as a naive
	// timestamp; localTrunc truncates it to the start of its interval.
	localTime(ts string, z *zone) string
	localTrunc(ts, interval string, z *zone) string
	// periodDiff is the number of whole intervals from local period start
	// a to b (both from localTrunc).
	periodDiff(interval, a, b string) string
	epoch(ts string) string
	// daysBefore is a naive timestamp minus a number of days.
	daysBefore(naive, days string) string
	// naive is a bound parameter read as a naive timestamp.
	naive(param string) string

	countIf(cond string) string
	countDistinct(expr string) string
	countDistinctIf(expr, cond string) string
	aggIf(fn, expr, cond string) string
	quantileIf(expr string, q float64, cond string) string
	argMin(x, by string) string
	argMax(x, by string) string
	argMinIf(x, by, cond string) string
	argMaxIf(x, by, cond string) string

	// flag is a plan's k-th boolean column over cond. Equal conditions must
	// stay distinct columns: ClickHouse keeps one alias for identical
	// expressions of a SELECT.
	flag(cond string, k int) string
	// nullOf is a NULL of a SQL type (VARCHAR, DOUBLE), for UNION ALL
	// branches that have no value.
	nullOf(typ string) string
	// valuesTable is a SELECT listing rows (SQL expressions) as column col.
	valuesTable(col string, rows []string) string
	// thetaJoin joins left and right on a condition that is not an
	// equality; it returns the FROM clause and a condition to AND into
	// WHERE (empty when the join carries it).
	thetaJoin(left, right, cond string) (from, where string)

	// groupingSets reports GROUP BY GROUPING SETS support (one pass for
	// values and totals instead of a UNION of two).
	groupingSets() bool
	// topPerGroup keeps the first n rows of src per partition in order.
	topPerGroup(src, cols, partition, order string, n int) string

	// Whole-plan hooks. funnelAttempts adds to st the CTEs that list every
	// funnel attempt (see funnelPlan) and returns the reference of the last;
	// funnelBest reduces attempts to each entity's (and, byBreakdown,
	// breakdown value's) best one, as CTE name.
	funnelAttempts(c *compiler, st *stmt, p *funnelPlan) (string, error)
	funnelBest(c *compiler, st *stmt, att string, p *funnelPlan, name string, byBreakdown bool) string
	// pathSteps adds to st the CTEs that number each session's steps (see
	// pathsPlan) and returns the reference of the last.
	pathSteps(c *compiler, st *stmt, p *pathsPlan) (string, error)
}

// DialectFor returns the dialect of a store.Querier's Dialect() name.
func DialectFor(name string) (Dialect, error) {
	switch name {
	case "duckdb":
		return DuckDB, nil
	case "clickhouse":
		return ClickHouse, nil
	}
	return nil, fmt.Errorf("query: no SQL dialect %q (have: duckdb, clickhouse)", name)
}

// stmt is a statement as common table expressions plus a final SELECT.
// References to a CTE are written with cteRef so that a dialect without
// CTEs can inline them.
type stmt struct {
	ctes []cte
	sel  string
}

type cte struct {
	name, sql string
	// materialize asks the dialect to compute the CTE once although it is
	// referenced several times.
	materialize bool
}

func (s *stmt) with(name, sql string) string {
	s.ctes = append(s.ctes, cte{name: name, sql: sql})
	return cteRef(name)
}

func (s *stmt) withMaterialized(name, sql string) string {
	s.ctes = append(s.ctes, cte{name: name, sql: sql, materialize: true})
	return cteRef(name)
}

// cteRef marks a reference to a CTE in FROM position; render replaces it.
func cteRef(name string) string { return "\x00" + name + "\x00" }

// DuckDB is the dialect of the embedded store.
var DuckDB Dialect = duckDialect{}

type duckDialect struct{}

func (duckDialect) Name() string { return "duckdb" }

func (duckDialect) placeholder(n int, _ any) string { return "$" + strconv.Itoa(n) }

func (duckDialect) ident(name string) string {
	switch name {
	case "timestamp", "offset", "query":
		return `"` + name + `"`
	}
	return name
}

func (duckDialect) render(s stmt) string {
	var b strings.Builder
	if len(s.ctes) > 0 {
		b.WriteString("WITH ")
		for i, c := range s.ctes {
			if i > 0 {
				b.WriteString(",\n")
			}
			m := ""
			if c.materialize {
				m = "MATERIALIZED "
			}
			b.WriteString(c.name + " AS " + m + "(\n" + c.sql + "\n)")
		}
		b.WriteString("\n")
	}
	b.WriteString(s.sel)
	out := b.String()
	for _, c := range s.ctes {
		out = strings.ReplaceAll(out, cteRef(c.name), c.name)
	}
	return out
}

func (duckDialect) finish(sql string) string { return sql }

func (duckDialect) flag(cond string, _ int) string { return cond }

func (duckDialect) nullOf(typ string) string { return "CAST(NULL AS " + typ + ")" }

func (duckDialect) valuesTable(col string, rows []string) string {
	vals := make([]string, len(rows))
	for i, r := range rows {
		vals[i] = "(" + r + ")"
	}
	return "SELECT * FROM (VALUES " + strings.Join(vals, ", ") + ") AS v(" + col + ")"
}

func (duckDialect) thetaJoin(left, right, cond string) (from, where string) {
	return left + " JOIN " + right + " ON " + cond, ""
}

func (duckDialect) eventsFrom(c *compiler, person, props bool) string {
	if !person {
		return "events e"
	}
	// Joining on the distinct id alone, against the project's rows only,
	// keeps the hash join's key a single string.
	proj := c.p(c.proj)
	s := "events e LEFT JOIN (SELECT distinct_id, person_id FROM person_distinct_ids WHERE project_id = " + proj +
		") pd ON pd.distinct_id = e.distinct_id"
	if props {
		s += " LEFT JOIN (SELECT person_id, properties FROM persons WHERE project_id = " + proj +
			") pp ON pp.person_id = coalesce(pd.person_id, e.distinct_id)"
	}
	return s
}

func (duckDialect) personID() string { return "coalesce(pd.person_id, e.distinct_id)" }

// jsonString reads a top-level key of a JSON document as text. key has
// been validated by checkPropName (no quotes, backslashes or control
// characters), so it is safe inside the path literal.
func (duckDialect) jsonString(doc, key string) string {
	return "json_extract_string(" + doc + `, '$."` + key + `"')`
}

func (duckDialect) toNumber(text string) string { return "TRY_CAST(" + text + " AS DOUBLE)" }

func (duckDialect) hashID(expr string) string { return "hash(" + expr + ")" }

// personHashes joins the project's person mapping on hashed distinct ids.
// DuckDB's hash(NULL) is a value, not NULL: an unmapped id keeps its own.
func (duckDialect) personHashes(c *compiler, src string) string {
	return "(SELECT da.*, CASE WHEN pd.person_id IS NULL THEN da.dh ELSE hash(pd.person_id) END AS ph FROM " + src +
		" AS da LEFT JOIN (SELECT hash(distinct_id) AS dh, person_id FROM person_distinct_ids WHERE project_id = " +
		c.p(c.proj) + ") pd ON pd.dh = da.dh) ph_"
}

// scrollDepth reads the typed column the DuckDB store fills on ingest.
func (duckDialect) scrollDepth() string { return "e.scroll_depth" }

// rollups: the DuckDB store maintains them as it appends.
func (duckDialect) rollups() bool { return true }

func (duckDialect) toText(num string) string { return "CAST(" + num + " AS VARCHAR)" }
func (duckDialect) containsCI(text, pat string) string {
	return "contains(lower(" + text + "), lower(" + pat + "))"
}
func (duckDialect) regex(text, pat string) string { return "regexp_matches(" + text + ", " + pat + ")" }
func (duckDialect) like(text, pat string) string  { return text + " LIKE " + pat + ` ESCAPE '\'` }
func (duckDialect) startsWith(text, prefix string) string {
	return "starts_with(" + text + ", " + prefix + ")"
}
func (duckDialect) chainTarget(chain string) string {
	return "split_part(" + chain + ", ';', 1)"
}
func (duckDialect) chainAttrRegex(chain, attr, pat string) string {
	return "len(list_filter(regexp_extract_all(" + chain + `, '[:"]` + attr + `="([^"]*)"', 1), x -> regexp_matches(x, ` + pat + "))) > 0"
}

func (duckDialect) localTime(ts string, z *zone) string {
	return "make_timestamp(" + z.localMicros("epoch_us("+ts+")") + ")"
}

func (d duckDialect) localTrunc(ts, interval string, z *zone) string {
	return "date_trunc('" + interval + "', " + d.localTime(ts, z) + ")"
}

func (duckDialect) periodDiff(interval, a, b string) string {
	return "date_diff('" + interval + "', " + a + ", " + b + ")"
}

func (duckDialect) epoch(ts string) string { return "epoch(" + ts + ")" }

func (duckDialect) daysBefore(naive, days string) string {
	return "(" + naive + " - to_days(CAST(" + days + " AS INTEGER)))"
}

func (duckDialect) naive(param string) string { return "CAST(" + param + " AS TIMESTAMP)" }

func (duckDialect) countIf(cond string) string { return "count(*) FILTER (WHERE " + cond + ")" }
func (duckDialect) countDistinct(expr string) string {
	return "count(DISTINCT " + expr + ")"
}
func (duckDialect) countDistinctIf(expr, cond string) string {
	return "count(DISTINCT " + expr + ") FILTER (WHERE " + cond + ")"
}
func (duckDialect) aggIf(fn, expr, cond string) string {
	return fn + "(" + expr + ") FILTER (WHERE " + cond + ")"
}
func (duckDialect) quantileIf(expr string, q float64, cond string) string {
	return "quantile_cont(" + expr + ", " + strconv.FormatFloat(q, 'f', -1, 64) + ") FILTER (WHERE " + cond + ")"
}
func (duckDialect) argMin(x, by string) string { return "arg_min(" + x + ", " + by + ")" }
func (duckDialect) argMax(x, by string) string { return "arg_max(" + x + ", " + by + ")" }
func (duckDialect) argMinIf(x, by, cond string) string {
	return "arg_min(" + x + ", " + by + ") FILTER (WHERE " + cond + ")"
}
func (duckDialect) argMaxIf(x, by, cond string) string {
	return "arg_max(" + x + ", " + by + ") FILTER (WHERE " + cond + ")"
}

func (duckDialect) groupingSets() bool { return true }

func (duckDialect) topPerGroup(src, cols, partition, order string, n int) string {
	return "SELECT " + cols + " FROM (SELECT *, row_number() OVER (PARTITION BY " + partition + " ORDER BY " + order +
		") AS rn_ FROM " + src + ") WHERE rn_ <= " + strconv.Itoa(n)
}
