package query

import (
	"database/sql"
	"fmt"
)

// FrustrationResult ranks where people get frustrated.
type FrustrationResult struct {
	Totals   FrustrationCounts  `json:"totals"`
	Trend    []FrustrationPoint `json:"trend"`
	Pages    []FrustrationPage  `json:"pages"`
	Elements []FrustrationElem  `json:"elements"`
	// Sessions is the number of sessions in the range;
	// Totals.Sessions / Sessions is the share affected.
	Sessions      int64   `json:"sessions"`
	AffectedShare float64 `json:"affected_share"`
	Interval      string  `json:"interval"`
}

// FrustrationCounts are rage, dead and error clicks, and the sessions with
// at least one of them.
type FrustrationCounts struct {
	RageClicks  int64 `json:"rage_clicks"`
	DeadClicks  int64 `json:"dead_clicks"`
	ErrorClicks int64 `json:"error_clicks"`
	Sessions    int64 `json:"sessions"`
}

// FrustrationPoint is one interval of the trend.
type FrustrationPoint struct {
	T string `json:"t"`
	FrustrationCounts
}

// FrustrationPage is a page ranked by frustration signals.
type FrustrationPage struct {
	Path string `json:"path"`
	FrustrationCounts
}

// FrustrationElem is an element ranked by frustration signals, with the
// page it was last seen on.
type FrustrationElem struct {
	Selector string `json:"selector"`
	Path     string `json:"path"`
	FrustrationCounts
}

func (c *compiler) frustration(q *Frustration) (*compiled, error) {
	d := c.d
	sp := c.sp
	ts := "e." + d.ident("timestamp")
	var stmts []Statement
	build := func(f func(base, from string) string) error {
		c.b = newSQLB(d)
		global, err := c.globalPreds(&q.Common)
		if err != nil {
			return err
		}
		base := and(c.rangePred(sp.From, sp.To), global)
		stmts = append(stmts, Statement{SQL: f(base, c.from()), Args: c.b.args})
		return nil
	}
	counts := d.countIf("e.rage") + ", " + d.countIf("e.dead") + ", " + d.countIf("e.error_click") + ", " + d.countDistinctIf("e.session_id", "e.session_id <> ''")
	signal := "(e.rage OR e.dead OR e.error_click)"
	if err := build(func(base, from string) string {
		t := d.localTrunc(ts, q.Interval, c.zone())
		return fmt.Sprintf("SELECT %s AS t, %s FROM %s WHERE %s AND %s GROUP BY t\nUNION ALL\nSELECT NULL AS t, %s FROM %s WHERE %s AND %s\nORDER BY t",
			t, counts, from, base, signal, counts, from, base, signal)
	}); err != nil {
		return nil, err
	}
	_ = build(func(base, from string) string {
		return fmt.Sprintf("SELECT %s FROM %s WHERE %s AND e.session_id <> ''", d.countDistinct("e.session_id"), from, base)
	})
	_ = build(func(base, from string) string {
		return fmt.Sprintf("SELECT e.path, %s FROM %s WHERE %s AND %s GROUP BY e.path ORDER BY %s + %s + %s DESC, e.path LIMIT %d",
			counts, from, base, signal, d.countIf("e.rage"), d.countIf("e.dead"), d.countIf("e.error_click"), q.Limit)
	})
	_ = build(func(base, from string) string {
		return fmt.Sprintf("SELECT e.selector, %s, %s FROM %s WHERE %s AND %s AND e.selector <> '' GROUP BY e.selector ORDER BY %s + %s + %s DESC, e.selector LIMIT %d",
			d.argMax("e.path", ts), counts, from, base, signal, d.countIf("e.rage"), d.countIf("e.dead"), d.countIf("e.error_click"), q.Limit)
	})
	res := &FrustrationResult{Interval: q.Interval, Trend: []FrustrationPoint{}, Pages: []FrustrationPage{}, Elements: []FrustrationElem{}}
	byT := map[string]FrustrationCounts{}
	read := func(i int, rows *sql.Rows) error {
		for rows.Next() {
			var fc FrustrationCounts
			cnt := []any{&fc.RageClicks, &fc.DeadClicks, &fc.ErrorClicks, &fc.Sessions}
			switch i {
			case 0:
				var t sql.NullTime
				if err := rows.Scan(append([]any{&t}, cnt...)...); err != nil {
					return fmt.Errorf("frustration: read trend: %w", err)
				}
				if !t.Valid {
					res.Totals = fc
				} else {
					byT[wallKey(wallFromNaive(t.Time, sp.Loc))] = fc
				}
			case 1:
				if err := rows.Scan(&res.Sessions); err != nil {
					return fmt.Errorf("frustration: read sessions: %w", err)
				}
			case 2:
				var p FrustrationPage
				if err := rows.Scan(append([]any{&p.Path}, cnt...)...); err != nil {
					return fmt.Errorf("frustration: read page: %w", err)
				}
				p.FrustrationCounts = fc
				res.Pages = append(res.Pages, p)
			case 3:
				var el FrustrationElem
				if err := rows.Scan(append([]any{&el.Selector, &el.Path}, cnt...)...); err != nil {
					return fmt.Errorf("frustration: read element: %w", err)
				}
				el.FrustrationCounts = fc
				res.Elements = append(res.Elements, el)
			}
		}
		return nil
	}
	bk, err := buckets(sp.From, sp.To, q.Interval, sp.Loc, sp.Now)
	if err != nil {
		return nil, err
	}
	done := func() (Result, error) {
		for _, b := range bk {
			res.Trend = append(res.Trend, FrustrationPoint{T: formatT(b), FrustrationCounts: byT[wallKey(b)]})
		}
		if res.Sessions > 0 {
			res.AffectedShare = float64(res.Totals.Sessions) / float64(res.Sessions)
		}
		return res, nil
	}
	return &compiled{stmts: stmts, read: read, done: done}, nil
}
