package query

import (
	"strconv"
	"strings"
)

// ClickHouse is the dialect of store/clickhouse. Its SQL runs on
// ClickHouse 18.16 (Debian's package) and on current releases, so it keeps
// to what 18.16 has:
//
//   - no CTEs over subqueries: render inlines every reference, except the
//     materialized ones, which become temporary tables created by the
//     statements of a script (see StatementSeparator) on one connection;
//   - no window functions: funnels and paths collect each entity's events
//     into arrays sorted by (timestamp, uuid) and walk them with array
//     functions (see clickhouse_funnel.go);
//   - no TRUE/FALSE literals, no ORDER BY over a whole UNION ALL, no
//     comma joins: finish rewrites the first two, the compilers write CROSS
//     JOIN;
//   - one JOIN per SELECT, and qualified names that the distributed-query
//     rewriter of 18.16 loses: the person join is USING (distinct_id) with
//     prefixed right-hand columns (pd_person_id, pp_keys, pp_values);
//   - no JSON functions: properties are stored parsed into prop_keys /
//     prop_values (see store/clickhouse), read with indexOf.
//
// Timestamps are Int64 Unix microseconds; the store converts time.Time
// arguments to the same. Local times are DateTime values in 'UTC' holding
// the wall clock, the counterpart of DuckDB's naive TIMESTAMP.
var ClickHouse Dialect = chDialect{}

type chDialect struct{}

func (chDialect) Name() string { return "clickhouse" }

// placeholder: clickhouse-go binds $N on the client side.
func (chDialect) placeholder(n int, _ any) string { return "$" + strconv.Itoa(n) }

func (chDialect) ident(name string) string {
	switch name {
	case "timestamp", "offset", "query":
		return "`" + name + "`"
	}
	return name
}

// StatementSeparator separates the statements of a ClickHouse script: a
// query whose materialized CTEs become temporary tables is several
// statements that must run on one connection, in order; the last one's
// rows are the result (see store/clickhouse Query).
const StatementSeparator = "\n;-- next statement\n"

// render inlines the CTEs: each reference becomes the CTE's SELECT in
// parentheses (the compilers always give it an alias). A materialized CTE
// (one the plan reads several times: a funnel's best attempts, the
// numbered steps of paths, …) becomes a temporary table created first, so
// that it is computed once, as DuckDB does.
func (chDialect) render(s stmt) string {
	defs := map[string]string{}
	temp := map[string]bool{}
	for _, c := range s.ctes {
		defs[c.name] = c.sql
		temp[c.name] = c.materialize
	}
	var expand func(sql string, depth int) string
	expand = func(sql string, depth int) string {
		if depth > 64 || !strings.Contains(sql, "\x00") {
			return sql
		}
		var b strings.Builder
		for {
			i := strings.IndexByte(sql, 0)
			if i < 0 {
				b.WriteString(sql)
				break
			}
			j := strings.IndexByte(sql[i+1:], 0)
			if j < 0 {
				b.WriteString(sql)
				break
			}
			name := sql[i+1 : i+1+j]
			b.WriteString(sql[:i])
			if temp[name] {
				b.WriteString(chTempName(name))
			} else {
				b.WriteString("(\n" + expand(defs[name], depth+1) + "\n)")
			}
			sql = sql[i+j+2:]
		}
		return b.String()
	}
	var script []string
	for _, c := range s.ctes {
		if c.materialize {
			t := chTempName(c.name)
			script = append(script, "DROP TEMPORARY TABLE IF EXISTS "+t,
				"CREATE TEMPORARY TABLE "+t+" ENGINE = Memory AS\n"+expand(c.sql, 0))
		}
	}
	return strings.Join(append(script, expand(s.sel, 0)), StatementSeparator)
}

func chTempName(cte string) string { return "sl_tmp_" + cte }

// finish adapts a complete statement to 18.16: TRUE and FALSE become 1
// and 0 (outside string literals), and a UNION ALL with a final ORDER BY is
// wrapped, since 18.16 would order only its last SELECT.
func (chDialect) finish(sql string) string {
	sql = replaceBoolLiterals(sql)
	parts := strings.Split(sql, StatementSeparator)
	last := parts[len(parts)-1]
	if i := strings.LastIndex(last, "\nORDER BY "); i > 0 && strings.Contains(last[:i], "\nUNION ALL\n") {
		parts[len(parts)-1] = "SELECT * FROM (\n" + last[:i] + "\n)" + last[i:]
	}
	return strings.Join(parts, StatementSeparator)
}

// replaceBoolLiterals rewrites the words TRUE and FALSE outside quotes.
func replaceBoolLiterals(sql string) string {
	if !strings.Contains(sql, "TRUE") && !strings.Contains(sql, "FALSE") {
		return sql
	}
	var b strings.Builder
	b.Grow(len(sql))
	var quote byte
	isWord := func(c byte) bool {
		return c == '_' || c == '$' || c == '.' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	for i := 0; i < len(sql); i++ {
		c := sql[i]
		if quote != 0 {
			b.WriteByte(c)
			if c == '\\' && i+1 < len(sql) {
				i++
				b.WriteByte(sql[i])
			} else if c == quote {
				quote = 0
			}
			continue
		}
		if c == '\'' || c == '"' || c == '`' {
			quote = c
			b.WriteByte(c)
			continue
		}
		if (c == 'T' || c == 'F') && (i == 0 || !isWord(sql[i-1])) {
			for _, w := range [...]struct{ word, lit string }{{"TRUE", "1"}, {"FALSE", "0"}} {
				if strings.HasPrefix(sql[i:], w.word) && (i+len(w.word) == len(sql) || !isWord(sql[i+len(w.word)])) {
					b.WriteString(w.lit)
					i += len(w.word) - 1
					goto next
				}
			}
		}
		b.WriteByte(c)
	next:
	}
	return b.String()
}

// pdSub is the latest person of every mapped distinct id of the project.
func chPersonMap(proj string) string {
	return "SELECT distinct_id, argMax(person_id, version) AS pd_person_id FROM person_distinct_ids WHERE project_id = " + proj + " GROUP BY distinct_id"
}

func (chDialect) eventsFrom(c *compiler, person, props bool) string {
	if !person {
		return "events AS e"
	}
	proj := c.p(c.proj)
	if !props {
		return "events AS e ANY LEFT JOIN (" + chPersonMap(proj) + ") AS pd USING (distinct_id)"
	}
	// One join only: the right side is keyed by distinct id and carries
	// the person's properties. Its ids are the mapped ones, plus those of
	// persons that no id is mapped to (anonymous persons with $set), whose
	// person id is their distinct id.
	ids := "SELECT distinct_id, pd_person_id, if(pd_person_id = '', distinct_id, pd_person_id) AS person_id FROM (" +
		chPersonMap(proj) + "\nUNION ALL\nSELECT person_id AS distinct_id, '' AS pd_person_id FROM persons WHERE project_id = " + proj +
		" AND person_id NOT IN (SELECT distinct_id FROM person_distinct_ids WHERE project_id = " + proj + ") GROUP BY person_id)"
	pp := "SELECT person_id, argMax(prop_keys, version) AS pp_keys, argMax(prop_values, version) AS pp_values FROM persons WHERE project_id = " +
		proj + " GROUP BY person_id"
	return "events AS e ANY LEFT JOIN (SELECT distinct_id, pd_person_id, pp_keys, pp_values FROM (" + ids + ") AS ids ANY LEFT JOIN (" + pp +
		") AS pp USING (person_id)) AS pd USING (distinct_id)"
}

func (chDialect) personID() string { return "if(pd_person_id = '', e.distinct_id, pd_person_id)" }

// chLiteral quotes a validated name (checkPropName: no quotes, backslashes
// or control characters) as a string literal; '$' is escaped so that the
// client's $N binder never sees a placeholder in it.
func chLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "$", `\x24`) + "'"
}

// scrollDepth reads the property: the ClickHouse schema has no typed column
// for it.
func (d chDialect) scrollDepth() string {
	return d.toNumber(d.jsonString("e.properties", "$max_scroll_pct"))
}

// rollups: queries on ClickHouse read the events; the cluster has the
// cores for it.
func (chDialect) rollups() bool { return false }

// jsonString reads a top-level property from the parsed columns: doc is
// "e.properties" or "pp.properties" (see eventsFrom).
func (chDialect) jsonString(doc, key string) string {
	keys, vals := "e.prop_keys", "e.prop_values"
	if strings.HasPrefix(doc, "pp.") {
		keys, vals = "pp_keys", "pp_values"
	} else if q, ok := strings.CutSuffix(doc, ".properties"); ok {
		keys, vals = q+".prop_keys", q+".prop_values"
	}
	k := chLiteral(key)
	return "if(indexOf(" + keys + ", " + k + ") > 0, toNullable(" + vals + "[indexOf(" + keys + ", " + k + ")]), NULL)"
}

func (chDialect) toNumber(text string) string { return "toFloat64OrNull(" + text + ")" }
func (chDialect) toText(num string) string    { return "toString(" + num + ")" }
func (chDialect) containsCI(text, pat string) string {
	return "positionCaseInsensitiveUTF8(" + text + ", " + pat + ") > 0"
}
func (chDialect) regex(text, pat string) string { return "match(" + text + ", " + pat + ")" }
func (chDialect) like(text, pat string) string  { return text + " LIKE " + pat }
func (chDialect) startsWith(text, prefix string) string {
	return "substring(" + text + ", 1, length(" + prefix + ")) = " + prefix
}
func (chDialect) chainTarget(chain string) string {
	return "splitByChar(';', " + chain + ")[1]"
}
func (chDialect) chainAttrRegex(chain, attr, pat string) string {
	return "arrayExists(x -> match(x, " + pat + "), extractAll(" + chain + `, '[:"]` + attr + `="([^"]*)"'))`
}

func (chDialect) localTime(ts string, z *zone) string {
	return "toDateTime(intDiv(" + z.localMicros(ts) + ", 1000000), 'UTC')"
}

func (d chDialect) localTrunc(ts, interval string, z *zone) string {
	lt := d.localTime(ts, z)
	switch interval {
	case "hour":
		return "toStartOfHour(" + lt + ")"
	case "week":
		return "toDateTime(toMonday(" + lt + "), 'UTC')"
	case "month":
		return "toDateTime(toStartOfMonth(" + lt + "), 'UTC')"
	}
	return "toStartOfDay(" + lt + ")"
}

func (chDialect) periodDiff(interval, a, b string) string {
	return "dateDiff('" + interval + "', " + a + ", " + b + ")"
}

// epoch is seconds as a double, computed as DuckDB's epoch() is (micros
// divided by 1e6), so that differences and window checks round alike.
func (chDialect) epoch(ts string) string { return "(" + ts + " / 1000000)" }

func (chDialect) daysBefore(naive, days string) string {
	return "subtractDays(" + naive + ", " + days + ")"
}

func (chDialect) naive(param string) string {
	return "toDateTime(substring(" + param + ", 1, 19), 'UTC')"
}

func (chDialect) countIf(cond string) string       { return "countIf(" + cond + ")" }
func (chDialect) countDistinct(expr string) string { return "uniqExact(" + expr + ")" }
func (chDialect) countDistinctIf(expr, cond string) string {
	return "uniqExactIf(" + expr + ", " + cond + ")"
}

// aggIf is NULL over no value, as SQL's aggregates are (ClickHouse's -If
// aggregates return 0 or nan); NULL values are skipped.
func (chDialect) aggIf(fn, expr, cond string) string {
	c := "(" + cond + ") AND isNotNull(" + expr + ")"
	return "if(countIf(" + c + ") > 0, toNullable(" + fn + "If(" + expr + ", " + c + ")), NULL)"
}

// quantileIf interpolates linearly between the closest ranks, exactly as
// DuckDB's quantile_cont (ClickHouse's quantile samples beyond 8,192
// values, and quantileExactInclusive is newer than 18.16).
func (chDialect) quantileIf(expr string, q float64, cond string) string {
	arr := "arraySort(groupArrayIf(toFloat64(" + expr + "), (" + cond + ") AND isNotNull(" + expr + ")))"
	qs := strconv.FormatFloat(q, 'f', -1, 64)
	pos := "(" + qs + " * (length(" + arr + ") - 1))"
	lo := "toUInt64(floor(" + pos + "))"
	return "if(length(" + arr + ") = 0, NULL, toNullable(" + arr + "[" + lo + " + 1] + (" + pos + " - floor(" + pos + ")) * (" +
		arr + "[" + lo + " + 2] - " + arr + "[" + lo + " + 1])))"
}

func (chDialect) argMin(x, by string) string { return "argMin(" + x + ", " + by + ")" }
func (chDialect) argMax(x, by string) string { return "argMax(" + x + ", " + by + ")" }
func (chDialect) argMinIf(x, by, cond string) string {
	return "argMinIf(" + x + ", " + by + ", " + cond + ")"
}
func (chDialect) argMaxIf(x, by, cond string) string {
	return "argMaxIf(" + x + ", " + by + ", " + cond + ")"
}

func (chDialect) groupingSets() bool { return false }

func (chDialect) topPerGroup(src, cols, partition, order string, n int) string {
	return "SELECT " + cols + " FROM " + src + " ORDER BY " + partition + ", " + order + " LIMIT " + strconv.Itoa(n) + " BY " + partition
}

func (chDialect) flag(cond string, k int) string {
	return "if(ifNull(" + cond + ", 0), toUInt8(1), toUInt8(0 * " + strconv.Itoa(k) + "))"
}

func (chDialect) nullOf(typ string) string {
	switch typ {
	case "VARCHAR":
		return "CAST(NULL AS Nullable(String))"
	case "DOUBLE":
		return "CAST(NULL AS Nullable(Float64))"
	}
	return "NULL"
}

// valuesTable lists one column of values (rows) as a table.
func (chDialect) valuesTable(col string, rows []string) string {
	return "SELECT arrayJoin([" + strings.Join(rows, ", ") + "]) AS " + col
}

// thetaJoin: 18.16 joins on equalities only.
func (chDialect) thetaJoin(left, right, cond string) (from, where string) {
	return left + " CROSS JOIN " + right, cond
}
