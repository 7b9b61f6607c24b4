package insight

import (
	"fmt"
	"strconv"
)

// dialect holds the few SQL fragments that differ between event stores.
// Everything else insight writes is plain SQL that DuckDB and ClickHouse
// (18.16: no window functions, no CTEs) both accept: GROUP BY, CASE,
// sub-selects in IN, count/sum/min/max.
type dialect struct {
	name string
	// ph renders the n-th (1-based) bound parameter.
	ph func(n int) string
	// jsonNum reads a numeric property of the properties column (key is a
	// literal produced by this package, never user input).
	jsonNum func(key string) string
	// bucket truncates ts to the start of a step of seconds (UTC), as epoch
	// seconds.
	bucket func(ts string, seconds int64) string
	// activeSlots counts the distinct 10-second slots with an event.
	activeSlots func(ts string) string
	// epochSeconds is ts as fractional epoch seconds.
	epochSeconds func(ts string) string
	// target is the target element of an elements chain.
	target func(chain string) string
	// countIf counts the rows where cond holds.
	countIf func(cond string) string
	// startsWith tests a text prefix.
	startsWith func(text, prefix string) string
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
	bucket: func(ts string, seconds int64) string {
		s := strconv.FormatInt(seconds, 10)
		return "(epoch(" + ts + ")::BIGINT // " + s + ") * " + s
	},
	activeSlots:  func(ts string) string { return "count(DISTINCT epoch_ms(" + ts + ") // 10000)" },
	epochSeconds: func(ts string) string { return "epoch(" + ts + ")" },
	target:       func(chain string) string { return "split_part(" + chain + ", ';', 1)" },
	countIf:      func(cond string) string { return "count(*) FILTER (WHERE " + cond + ")" },
	startsWith:   func(text, prefix string) string { return "starts_with(" + text + ", " + prefix + ")" },
	bucketOf:     func(expr string, n int) string { return "hash(" + expr + ") % " + strconv.Itoa(n) },
	concat:       func(expr, sep string) string { return "coalesce(string_agg(" + expr + ", " + sep + "), '')" },
	epochMsText:  func(ts string) string { return "CAST(epoch_ms(" + ts + ") AS VARCHAR)" },
}

// clickHouse is written for the scale-out store (issue 6); it is exercised
// only by golden-free review until that store lands.
var clickHouse = dialect{
	name: "clickhouse",
	ph:   func(n int) string { return "?" },
	jsonNum: func(key string) string {
		return "toFloat64OrNull(JSONExtractRaw(properties, '" + key + "'))"
	},
	bucket: func(ts string, seconds int64) string {
		s := strconv.FormatInt(seconds, 10)
		return "intDiv(toUnixTimestamp(" + ts + "), " + s + ") * " + s
	},
	activeSlots:  func(ts string) string { return "uniqExact(intDiv(toUnixTimestamp(" + ts + "), 10))" },
	epochSeconds: func(ts string) string { return "toFloat64(toUnixTimestamp(" + ts + "))" },
	target:       func(chain string) string { return "splitByChar(';', " + chain + ")[1]" },
	countIf:      func(cond string) string { return "countIf(" + cond + ")" },
	startsWith:   func(text, prefix string) string { return "startsWith(" + text + ", " + prefix + ")" },
	bucketOf:     func(expr string, n int) string { return "cityHash64(" + expr + ") % " + strconv.Itoa(n) },
	concat:       func(expr, sep string) string { return "arrayStringConcat(groupArray(" + expr + "), " + sep + ")" },
	epochMsText:  func(ts string) string { return "toString(toUnixTimestamp64Milli(" + ts + "))" },
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
