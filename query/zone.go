package query

import (
	"strconv"
	"strings"
	"time"
)

// zone is a time zone as a few fixed UTC offsets over the query's window,
// so that SQL can turn instants into local wall-clock time with integer
// arithmetic: a per-row time-zone conversion (ICU in DuckDB) costs more
// than the rest of a trends query.
type zone struct {
	loc *time.Location
	// off[0] applies before at[0], off[i] from at[i-1] on; both in
	// microseconds (at: Unix time of the transition).
	at  []int64
	off []int64
}

// zoneFor lists the offsets of loc between from and to.
func zoneFor(loc *time.Location, from, to time.Time) *zone {
	z := &zone{loc: loc}
	t := from.In(loc)
	_, off := t.Zone()
	z.off = append(z.off, int64(off)*1e6)
	for range 1000 {
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			break
		}
		_, off := end.In(loc).Zone()
		z.at = append(z.at, end.UnixMicro())
		z.off = append(z.off, int64(off)*1e6)
		t = end.In(loc)
	}
	return z
}

// utc reports whether the zone's wall clock is UTC's throughout.
func (z *zone) utc() bool { return len(z.at) == 0 && z.off[0] == 0 }

// localMicros is SQL for the local wall clock of micros (an expression in
// Unix microseconds), as microseconds.
func (z *zone) localMicros(micros string) string {
	if len(z.at) == 0 {
		if z.off[0] == 0 {
			return micros
		}
		return "(" + micros + " + " + strconv.FormatInt(z.off[0], 10) + ")"
	}
	var b strings.Builder
	b.WriteString("(" + micros + " + CASE")
	for i, at := range z.at {
		b.WriteString(" WHEN " + micros + " < " + strconv.FormatInt(at, 10) + " THEN " + strconv.FormatInt(z.off[i], 10))
	}
	b.WriteString(" ELSE " + strconv.FormatInt(z.off[len(z.off)-1], 10) + " END)")
	return b.String()
}

// zoneWindow is the span of instants a query may bucket: its range widened
// by a comparison period before and retention periods after.
func (c *compiler) zone() *zone {
	if c.z == nil {
		span := c.sp.To.Sub(c.sp.From)
		c.z = zoneFor(c.sp.Loc, c.sp.From.Add(-span-48*time.Hour), c.sp.To.Add(span+400*24*time.Hour))
	}
	return c.z
}
