package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/sightline-analytics/sightline/query/funnelwalk"
)

// FunnelFunction is the scalar function through which DuckDB funnels walk
// each entity's events (query/funnelwalk):
//
//	sightline_funnel(ts BIGINT[], mask BIGINT[], breakdown VARCHAR[],
//	                 uuid VARCHAR[], steps BIGINT, window BIGINT,
//	                 date_from BIGINT, date_to BIGINT, exclusions BIGINT[],
//	                 funnel_order VARCHAR)
//	  → BIGINT[]
//
// ts, mask, breakdown and uuid are parallel lists of one entity's events,
// in any order. ts is microseconds since the epoch; or, when mask is NULL,
// each element packs both: (ts − date_from) << b | mask, where b is the
// number of steps and exclusions (the grouping then builds and converts
// one list instead of two). breakdown is NULL without a breakdown. uuid
// may be NULL: the function then answers NULL when two events share a
// timestamp, and is called again with the UUIDs (which spares converting
// them for nearly every entity). exclusions lists each exclusion's from-
// and to-step (0-based), flattened; funnel_order is ordered, strict or
// unordered (funnelwalk.Spec.Order). The result lists the attempts one after
// the other, each as level, first, last, t0, …, t(steps−1): first and last
// are 1-based positions in the input lists, the times (microseconds) are
// NULL beyond level.
const FunnelFunction = funnelwalk.FunctionName

type funnelUDF struct{}

func (*funnelUDF) Config() duckdb.ScalarFuncConfig {
	must := func(t duckdb.TypeInfo, err error) duckdb.TypeInfo {
		if err != nil {
			panic(err)
		}
		return t
	}
	bigint := must(duckdb.NewTypeInfo(duckdb.TYPE_BIGINT))
	varchar := must(duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR))
	bigints := must(duckdb.NewListInfo(bigint))
	varchars := must(duckdb.NewListInfo(varchar))
	return duckdb.ScalarFuncConfig{
		InputTypeInfos:      []duckdb.TypeInfo{bigints, bigints, varchars, varchars, bigint, bigint, bigint, bigint, bigints, varchar},
		ResultTypeInfo:      bigints,
		SpecialNullHandling: true,
		// Deterministic, but declared volatile so that the optimizer
		// evaluates it once per row rather than copying the call into
		// the filters it pushes down.
		Volatile: true,
	}
}

func (*funnelUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: walkFunnel}
}

var errFunnelArgs = errors.New(FunnelFunction + ": malformed arguments")

// eventBufs recycles the per-entity event slices.
var eventBufs = sync.Pool{New: func() any { return new([]funnelwalk.Event) }}

func walkFunnel(v []driver.Value) (any, error) {
	ts, _ := v[0].([]any)
	mask, _ := v[1].([]any)
	bd, _ := v[2].([]any)
	uuid, _ := v[3].([]any)
	steps, ok1 := v[4].(int64)
	window, ok2 := v[5].(int64)
	from, ok3 := v[6].(int64)
	to, ok4 := v[7].(int64)
	excl, _ := v[8].([]any)
	order, _ := v[9].(string)
	bits := steps + int64(len(excl)/2)
	if !ok1 || !ok2 || !ok3 || !ok4 || mask != nil && len(mask) != len(ts) || bd != nil && len(bd) != len(ts) ||
		uuid != nil && len(uuid) != len(ts) || len(excl)%2 != 0 || steps < 1 || bits > funnelwalk.MaxMaskBits ||
		order != funnelwalk.Ordered && order != funnelwalk.Strict && order != funnelwalk.Unordered {
		return nil, errFunnelArgs
	}
	spec := funnelwalk.Spec{Order: order, Steps: int(steps), Window: window, From: from, To: to}
	for i := 0; i < len(excl); i += 2 {
		f, _ := excl[i].(int64)
		t, _ := excl[i+1].(int64)
		spec.Exclusions = append(spec.Exclusions, funnelwalk.Exclusion{From: int(f), To: int(t)})
	}
	buf := eventBufs.Get().(*[]funnelwalk.Event)
	defer eventBufs.Put(buf)
	evs := slices.Grow((*buf)[:0], len(ts))[:len(ts)]
	*buf = evs
	low := uint64(1)<<bits - 1
	for i := range evs {
		t, ok := ts[i].(int64)
		if !ok {
			return nil, fmt.Errorf("%s: event %d has no timestamp", FunnelFunction, i+1)
		}
		e := funnelwalk.Event{TS: t}
		if mask == nil {
			e.TS, e.Mask = from+t>>bits, uint64(t)&low
		} else {
			m, _ := mask[i].(int64)
			e.Mask = uint64(m)
		}
		if bd != nil {
			e.Breakdown, _ = bd[i].(string)
		}
		if uuid != nil {
			e.UUID, _ = uuid[i].(string)
		}
		evs[i] = e
	}
	w := walkers.Get().(*funnelwalk.Walker)
	defer walkers.Put(w)
	atts, err := w.Walk(&spec, evs, bd != nil)
	if errors.Is(err, funnelwalk.ErrTies) && uuid == nil {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	width := 3 + spec.Steps
	out := make([]any, len(atts)*width)
	for i, a := range atts {
		row := out[i*width : (i+1)*width]
		row[0], row[1], row[2] = int64(a.Level), int64(a.First+1), int64(a.Last+1)
		for k, t := range a.Times {
			row[3+k] = t
		}
	}
	return out, nil
}

var walkers = sync.Pool{New: func() any { return new(funnelwalk.Walker) }}

// registerFunctions adds Sightline's functions to the database; they are
// visible to every connection.
func registerFunctions(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("duckdb: register functions: %w", err)
	}
	defer conn.Close()
	if err := duckdb.RegisterScalarUDF(conn, FunnelFunction, &funnelUDF{}); err != nil {
		return fmt.Errorf("duckdb: register %s: %w", FunnelFunction, err)
	}
	return nil
}
