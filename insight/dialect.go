package insight

import (
	"fmt"
	"strconv"
	"strings"
)

// dialect holds the few SQL fragments that differ between event stores.
// Everything else insight writes is plain SQL that DuckDB and ClickHouse
// (18.16: no window functions, no CTEs) both accept: GROUP BY on aliases,
// CASE, sub-selects in IN, count/sum/min/max, count(DISTINCT …), ||.
//
// The stores lay events out differently: DuckDB keeps TIMESTAMP columns and
// a JSON properties column; store/clickhouse keeps timestamps as Int64 Unix
// microseconds, booleans as UInt8 and properties parsed into prop_keys /
// prop_values. The fragments below hide that, and query.TimeColumn reads either kind
// of timestamp.
type dialect struct {
	name string
	// ph renders the n-th (1-based) bound parameter.
	ph func(n int) string
	// jsonNum reads a numeric property of the event (key is a literal
	// produced by this package, never user input).
	jsonNum func(key string) string
	// jsonText reads a text property of the event (NULL when absent).
	jsonText func(key string) string
	// bucket truncates ts to the start of a step of seconds (UTC), as epoch
	// seconds.
	bucket func(ts string, seconds int64) string
	// activeSlots counts the distinct 10-second slots with an event.
	activeSlots func(ts string) string
	// target is the target element of an elements chain.
	target func(chain string) string
	// countIf counts the rows where cond holds.
	countIf func(cond string) string
	// contains tests whether text contains needle (case-sensitive).
	contains func(text, needle string) string
	// concat aggregates expr joined by sep (a literal) in no particular
	// order, skipping NULLs; epochMsText is ts as epoch milliseconds in
	// decimal text.
	concat      func(expr, sep string) string
	epochMsText func(ts string) string
	// bucketOf is a stable hash of expr modulo n, for processing sessions
	// in parts.
	bucketOf func(expr string, n int) string
}

func dialectFor(name string) (*dialect, error) {
	switch name {
	case "duckdb":
		return &duckDB, nil
	case "clickhouse":
		return &clickHouse, nil
	}
	return nil, fmt.Errorf("insight: no SQL dialect for event store %q", name)
}

var duckDB = dialect{
	name: "duckdb",
	ph:   func(n int) string { return "$" + strconv.Itoa(n) },
	jsonNum: func(key string) string {
		return `TRY_CAST(json_extract_string(properties, '$."` + key + `"') AS DOUBLE)`
	},
	jsonText: func(key string) string { return `json_extract_string(properties, '$."` + key + `"')` },
	// Integer microseconds, floored: a cast of epoch() to BIGINT would round
	// the last half second of a step into the next one.
	bucket: func(ts string, seconds int64) string {
		return "(epoch_us(" + ts + ") // " + strconv.FormatInt(seconds*1_000_000, 10) + ") * " + strconv.FormatInt(seconds, 10)
	},
	activeSlots: func(ts string) string { return "count(DISTINCT epoch_ms(" + ts + ") // 10000)" },
	target:      func(chain string) string { return "split_part(" + chain + ", ';', 1)" },
	countIf:     func(cond string) string { return "count(*) FILTER (WHERE " + cond + ")" },
	contains:    func(text, needle string) string { return "contains(" + text + ", " + needle + ")" },
	bucketOf:    func(expr string, n int) string { return "hash(" + expr + ") % " + strconv.Itoa(n) },
	concat:      func(expr, sep string) string { return "coalesce(string_agg(" + expr + ", " + sep + "), '')" },
	epochMsText: func(ts string) string { return "CAST(epoch_ms(" + ts + ") AS VARCHAR)" },
}

// clickHouse is the dialect of store/clickhouse (18.16 and later): ts is
// Int64 microseconds, a property is looked up in the parsed key/value
// arrays, as the query package's ClickHouse dialect does.
var clickHouse = dialect{
	name: "clickhouse",
	// Numbered, as the query package binds: a "?" binds by position, and
	// insight adds some parameters before others that come earlier in the
	// text (a condition's value before its sub-select's range).
	ph:       func(n int) string { return "$" + strconv.Itoa(n) },
	jsonNum:  func(key string) string { return "toFloat64OrNull(" + chProp(key, "''") + ")" },
	jsonText: func(key string) string { return chProp(key, "NULL") },
	bucket: func(ts string, seconds int64) string {
		return "intDiv(" + ts + ", " + strconv.FormatInt(seconds*1_000_000, 10) + ") * " + strconv.FormatInt(seconds, 10)
	},
	activeSlots: func(ts string) string { return "uniqExact(intDiv(" + ts + ", 10000000))" },
	target:      func(chain string) string { return "splitByChar(';', " + chain + ")[1]" },
	countIf:     func(cond string) string { return "countIf(" + cond + ")" },
	contains:    func(text, needle string) string { return "position(" + text + ", " + needle + ") > 0" },
	bucketOf:    func(expr string, n int) string { return "cityHash64(" + expr + ") % " + strconv.Itoa(n) },
	concat:      func(expr, sep string) string { return "arrayStringConcat(groupArray(" + expr + "), " + sep + ")" },
	epochMsText: func(ts string) string { return "toString(intDiv(" + ts + ", 1000))" },
}

// chProp is the text of a top-level property, or missing when absent. The
// key's '$' is escaped so that the client's placeholder binder never sees
// one in the literal.
func chProp(key, missing string) string {
	k := "'" + strings.ReplaceAll(key, "$", `\x24`) + "'"
	return "if(indexOf(prop_keys, " + k + ") > 0, prop_values[indexOf(prop_keys, " + k + ")], " + missing + ")"
}

// args collects bound parameters and renders their placeholders.
type args struct {
	d    *dialect
	vals []any
}

func (a *args) add(v any) string {
	a.vals = append(a.vals, v)
	return a.d.ph(len(a.vals))
}
