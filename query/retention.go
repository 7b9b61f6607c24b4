package query

import (
	"database/sql"
	"fmt"
	"time"
)

// RetentionResult is a cohort table.
type RetentionResult struct {
	Period  string            `json:"period"`
	Periods int               `json:"periods"`
	Cohorts []RetentionCohort `json:"cohorts"`
}

// RetentionCohort is one row: the persons whose (first, or with recurring,
// any) start event fell in the period starting at Date, and how many of
// them performed the return event k periods later. Values[0] is the cohort
// itself; periods that have not started yet are left out.
type RetentionCohort struct {
	Date   string           `json:"date"`
	Size   int64            `json:"size"`
	Values []RetentionValue `json:"values"`
}

// RetentionValue is one cell.
type RetentionValue struct {
	Period int     `json:"period"`
	Count  int64   `json:"count"`
	Share  float64 `json:"share"`
}

// Retention semantics: a person joins the cohort of the period (in the
// query's zone) of their first-ever start event, when that falls in the
// date range (first_time), or of every period in the range with a start
// event (recurring). They count in column k > 0 when they performed the
// return event during the k-th period after the cohort's, whatever they did
// in between (gaps do not reset anything). Persons are resolved through
// identity, so anonymous history counts for the person it was merged into.
func (c *compiler) retention(q *Retention) (*compiled, error) {
	d := c.d
	sp := c.sp
	ts := "e." + d.ident("timestamp")
	z := c.zone()
	c.needPerson = true
	ret := q.Start
	if q.Return != nil {
		ret = *q.Return
	}
	startM, err := c.eventMatch(q.Start)
	if err != nil {
		return nil, fieldErr(err, "start")
	}
	retM, err := c.eventMatch(ret)
	if err != nil {
		return nil, fieldErr(err, "return")
	}
	global, err := c.globalPreds(&q.Common)
	if err != nil {
		return nil, err
	}
	cohorts, err := buckets(sp.From, sp.To, q.Period, sp.Loc, sp.Now)
	if err != nil {
		return nil, err
	}
	// Returns can come up to Periods−1 periods after the last cohort.
	retTo := sp.To
	if n := len(cohorts); n > 0 {
		end := cohorts[n-1]
		for range q.Periods {
			end = nextBucket(end, q.Period)
		}
		retTo = end
	}
	from := c.from()
	pid := d.personID()
	var st stmt
	var cohort string
	if q.StartType == "first_time" {
		starts := st.with("starts", "SELECT "+pid+" AS person_id, min("+ts+") AS first_ts FROM "+from+
			" WHERE "+and("e.project_id = "+c.p(c.proj), ts+" < "+c.p(sp.To), startM, global)+" GROUP BY "+pid)
		cohort = st.withMaterialized("cohort", "SELECT person_id, "+d.localTrunc("first_ts", q.Period, z)+" AS c FROM "+starts+
			" AS s WHERE first_ts >= "+c.p(sp.From))
	} else {
		cohort = st.withMaterialized("cohort", "SELECT DISTINCT "+pid+" AS person_id, "+d.localTrunc(ts, q.Period, z)+" AS c FROM "+from+
			" WHERE "+and(c.rangePred(sp.From, sp.To), startM, global))
	}
	rets := st.with("rets", "SELECT DISTINCT "+pid+" AS person_id, "+d.localTrunc(ts, q.Period, z)+" AS p FROM "+from+
		" WHERE "+and(c.rangePred(sp.From, retTo), retM, global))
	k := d.periodDiff(q.Period, "co.c", "r.p")
	st.sel = "SELECT c, 0 AS k, count(*) AS n FROM " + cohort + " AS co GROUP BY c\nUNION ALL\n" +
		"SELECT co.c AS c, " + k + " AS k, count(DISTINCT co.person_id) AS n FROM " + cohort + " AS co JOIN " + rets +
		" AS r ON r.person_id = co.person_id WHERE r.p > co.c AND " + k + " < " + fmt.Sprint(q.Periods) + " GROUP BY co.c, k\nORDER BY c, k"

	counts := map[string]map[int]int64{}
	read := func(_ int, rows *sql.Rows) error {
		for rows.Next() {
			var t time.Time
			var k, n int64
			if err := rows.Scan(&t, &k, &n); err != nil {
				return fmt.Errorf("retention: read row: %w", err)
			}
			key := wallKey(wallFromNaive(t, sp.Loc))
			if counts[key] == nil {
				counts[key] = map[int]int64{}
			}
			counts[key][int(k)] = n
		}
		return nil
	}
	done := func() (Result, error) {
		res := &RetentionResult{Period: q.Period, Periods: q.Periods, Cohorts: []RetentionCohort{}}
		for _, b := range cohorts {
			m := counts[wallKey(b)]
			co := RetentionCohort{Date: formatT(b), Size: m[0], Values: []RetentionValue{}}
			p := b
			for k := 0; k < q.Periods && !p.After(sp.Now); k++ {
				v := RetentionValue{Period: k, Count: m[k]}
				if co.Size > 0 {
					v.Share = float64(v.Count) / float64(co.Size)
				}
				co.Values = append(co.Values, v)
				p = nextBucket(p, q.Period)
			}
			res.Cohorts = append(res.Cohorts, co)
		}
		return res, nil
	}
	return &compiled{stmts: []Statement{{SQL: d.render(st), Args: c.b.args}}, read: read, done: done}, nil
}
