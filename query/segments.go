package query

import (
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// SegmentSizeResult is a segment's size at the end of each interval.
type SegmentSizeResult struct {
	Segment int64  `json:"segment"`
	Name    string `json:"name"`
	// Points: T is the interval start; V the number of members at its end
	// (or now, for the current interval).
	Points []Point `json:"points"`
}

// segmentSize evaluates the segment at each interval end in one pass:
// events are first reduced to one row per person and local day, then each
// interval end sums the days its conditions look at. Everything is compared
// in local wall-clock time, so "within the last D days" means the D local
// days before the interval end.
func (c *compiler) segmentSize(q *SegmentSize) (*compiled, error) {
	d := c.d
	sp := c.sp
	seg, ok := c.defs.segments[q.Segment]
	if !ok {
		return nil, &Error{Field: "segment", Msg: fmt.Sprintf("no segment %d in this project", q.Segment)}
	}
	bk, err := buckets(sp.From, sp.To, q.Interval, sp.Loc, sp.Now)
	if err != nil {
		return nil, err
	}
	if len(bk) == 0 {
		return nil, &Error{Field: "date_from", Msg: "the date range is in the future"}
	}
	ends := make([]time.Time, len(bk))
	for i, b := range bk {
		e := nextBucket(b, q.Interval)
		if e.After(sp.Now) {
			e = sp.Now.In(sp.Loc)
		}
		ends[i] = e
	}
	z := c.zone()
	c.needPerson = true
	ss := &sizeCompiler{c: c, z: z}
	cond, err := ss.group(seg.Match, seg.Conditions)
	if err != nil {
		return nil, err
	}
	ts := "e." + d.ident("timestamp")
	var st stmt
	dcols := []string{d.personID() + " AS person_id", d.localTrunc(ts, "day", z) + " AS d"}
	for i, a := range ss.daily {
		dcols = append(dcols, fmt.Sprintf("%s AS d%d", a, i))
	}
	daily := st.withMaterialized("daily", "SELECT "+strings.Join(dcols, ", ")+" FROM "+c.from()+" WHERE e.project_id = "+c.p(c.proj)+
		" AND "+ts+" < "+c.p(ends[len(ends)-1].UTC())+" GROUP BY "+d.personID()+", d")
	var vals []string
	for _, e := range ends {
		vals = append(vals, d.naive(c.p(e.Format("2006-01-02 15:04:05.999999"))))
	}
	ends0 := st.with("bk", d.valuesTable("bend", vals))
	wcols := []string{"bk.bend AS bend", "daily.person_id AS person_id"}
	for i, a := range ss.window {
		wcols = append(wcols, fmt.Sprintf("%s AS w%d", a, i))
	}
	jfrom, jwhere := d.thetaJoin(ends0+" AS bk", daily+" AS daily", "daily.d < bk.bend")
	if jwhere != "" {
		jwhere = " WHERE " + jwhere
	}
	m := st.with("m", "SELECT "+strings.Join(wcols, ", ")+" FROM "+jfrom+jwhere+" GROUP BY bk.bend, daily.person_id")
	st.sel = "SELECT bend, count(*) FROM " + m + " AS m WHERE " + cond + " GROUP BY bend ORDER BY bend"
	sizes := map[string]int64{}
	read := func(_ int, rows *sql.Rows) error {
		for rows.Next() {
			var t time.Time
			var n int64
			if err := rows.Scan(&t, &n); err != nil {
				return fmt.Errorf("segment size: read row: %w", err)
			}
			sizes[t.Format("2006-01-02T15:04:05")] = n
		}
		return nil
	}
	done := func() (Result, error) {
		res := &SegmentSizeResult{Segment: q.Segment, Name: seg.Name, Points: []Point{}}
		for i, b := range bk {
			res.Points = append(res.Points, Point{T: formatT(b), V: float64(sizes[ends[i].Format("2006-01-02T15:04:05")])})
		}
		return res, nil
	}
	return &compiled{stmts: []Statement{{SQL: d.render(st), Args: c.b.args}}, read: read, done: done}, nil
}

// sizeCompiler compiles segment conditions for segmentSize: daily holds
// per-person-per-day aggregates, window the per-interval-end aggregates
// over them (referring to bk.bend and daily.dN), and conditions test the
// window aggregates wN.
type sizeCompiler struct {
	c      *compiler
	z      *zone
	daily  []string
	window []string
}

// wall is an instant's local wall clock as a naive timestamp parameter.
func (s *sizeCompiler) wall(t time.Time) string {
	return s.c.d.naive(s.c.p(t.In(s.z.loc).Format("2006-01-02 15:04:05.999999")))
}

func (s *sizeCompiler) addDaily(agg string) string {
	s.daily = append(s.daily, agg)
	return fmt.Sprintf("daily.d%d", len(s.daily)-1)
}

func (s *sizeCompiler) addWindow(agg string) string {
	s.window = append(s.window, agg)
	return fmt.Sprintf("w%d", len(s.window)-1)
}

func (s *sizeCompiler) dayWindow(cond *SegmentCondition) (string, error) {
	c := s.c
	switch {
	case cond.WithinDays > 0:
		return "daily.d >= " + c.d.daysBefore("bk.bend", c.p(int64(cond.WithinDays))), nil
	case cond.DateFrom != "" || cond.DateTo != "":
		var parts []string
		if cond.DateFrom != "" {
			t, _, err := parseDate(cond.DateFrom, c.sp.Loc, c.sp.Now, false)
			if err != nil {
				return "", &Error{Field: "date_from", Msg: err.Error()}
			}
			parts = append(parts, "daily.d >= "+s.wall(t))
		}
		if cond.DateTo != "" {
			t, _, err := parseDate(cond.DateTo, c.sp.Loc, c.sp.Now, true)
			if err != nil {
				return "", &Error{Field: "date_to", Msg: err.Error()}
			}
			parts = append(parts, "daily.d < "+s.wall(t))
		}
		return and(parts...), nil
	}
	return "TRUE", nil
}

func (s *sizeCompiler) group(match string, conds []SegmentCondition) (string, error) {
	return segmentGroup(match, conds, s.cond)
}

func (s *sizeCompiler) cond(cond *SegmentCondition) (string, error) {
	c := s.c
	d := c.d
	switch cond.Type {
	case "performed", "not_performed":
		m, err := c.eventMatch(cond.EventRef)
		if err != nil {
			return "", err
		}
		col := s.addDaily(d.countIf(m))
		win, err := s.dayWindow(cond)
		if err != nil {
			return "", err
		}
		w := s.addWindow("coalesce(" + d.aggIf("sum", col, win) + ", 0)")
		if cond.Type == "not_performed" {
			return w + " = 0", nil
		}
		n := int64(1)
		if cond.Count != nil {
			n = int64(*cond.Count)
		}
		switch cond.CountOp {
		case "at_most":
			return w + " <= " + c.p(n), nil
		case "exactly":
			return w + " = " + c.p(n), nil
		}
		return w + " >= " + c.p(n), nil
	case "first_seen":
		col := s.addDaily("min(" + d.localTime("e."+d.ident("timestamp"), s.z) + ")")
		w := s.addWindow("min(" + col + ")")
		switch {
		case cond.WithinDays > 0:
			return w + " >= " + d.daysBefore("bend", c.p(int64(cond.WithinDays))), nil
		default:
			var parts []string
			if cond.DateFrom != "" {
				t, _, err := parseDate(cond.DateFrom, c.sp.Loc, c.sp.Now, false)
				if err != nil {
					return "", &Error{Field: "date_from", Msg: err.Error()}
				}
				parts = append(parts, w+" >= "+s.wall(t))
			}
			if cond.DateTo != "" {
				t, _, err := parseDate(cond.DateTo, c.sp.Loc, c.sp.Now, true)
				if err != nil {
					return "", &Error{Field: "date_to", Msg: err.Error()}
				}
				parts = append(parts, w+" < "+s.wall(t))
			}
			return and(parts...), nil
		}
	case "person":
		p, err := c.filterPred(Filter{Type: "person", Prop: cond.Prop, Op: cond.Op, Value: cond.Value})
		if err != nil {
			return "", err
		}
		col := s.addDaily(d.countIf(p))
		return s.addWindow("sum("+col+")") + " > 0", nil
	case "group":
		return s.group(cond.Match, cond.Conditions)
	}
	return "", &Error{Field: "type", Msg: "unknown condition type " + cond.Type}
}
