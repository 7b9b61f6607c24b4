package web_test

// The funnel drill-down and the action editor's live preview, in a real
// browser against a real Sightline: the lists and counts the dashboard
// shows are the query API's (funnel_actors, and trends over an inline
// action_def), page by page and edit by edit.

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

type funnelActorsAnswer struct {
	Total      int64 `json:"total"`
	NextOffset *int  `json:"next_offset"`
	Actors     []struct {
		PersonID     string `json:"person_id"`
		SessionID    string `json:"session_id"`
		FurthestStep int    `json:"furthest_step"`
		HasReplay    bool   `json:"has_replay"`
	} `json:"actors"`
}

// TestBrowserFunnelDrillDown: a funnel built in the insight builder; a
// step's count opens the persons who reached it, page by page, exactly as
// the query API lists them, with a total equal to the step's count; the
// drop-off opens those who left, and one click plays the replay of the
// session where a recorded visitor dropped off. The open list is in the
// URL, so a reload (or a shared link) shows the same page.
func TestBrowserFunnelDrillDown(t *testing.T) {
	f := startFlowApp(t)
	b := newBrowser(t)
	// A recorded visit that adds to the cart and leaves without buying.
	f.shopVisit(b, func() {
		clickAt(b, "#add-to-cart")
		b.do(chromedp.Sleep(1200 * time.Millisecond))
	})
	f.seed(6000)

	funnel := map[string]any{"kind": "funnel", "window_seconds": 86400, "count_by": "person", "order": "ordered",
		"steps": []map[string]any{{"event": "$pageview"}, {"event": "add_to_cart"}, {"event": "purchase"}}}
	withRange := func(q map[string]any, extra map[string]any) map[string]any {
		out := map[string]any{"date_from": "-14d", "date_to": "today"}
		for k, v := range q {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	var fr struct {
		Steps []struct {
			Count   int64 `json:"count"`
			DropOff int64 `json:"drop_off"`
		} `json:"steps"`
	}
	f.query(withRange(funnel, nil), &fr)
	if len(fr.Steps) != 3 || fr.Steps[0].Count <= 50 || fr.Steps[2].DropOff == 0 {
		t.Fatalf("funnel %+v: want more than two pages of persons at step 1 and some who dropped before step 3", fr.Steps)
	}
	actors := func(step int, status string, offset int) funnelActorsAnswer {
		t.Helper()
		var a funnelActorsAnswer
		f.query(withRange(funnel, map[string]any{"kind": "funnel_actors", "step": step, "status": status, "offset": offset, "limit": 25}), &a)
		return a
	}

	logIn(b, f.base, flowAdmin, flowPassword)
	q, _ := json.Marshal(funnel)
	b.do(chromedp.Navigate(f.page("insights/new?from=-14d&q=" + url.QueryEscape(string(q)))))
	b.wait("the funnel", `document.querySelectorAll('.funnel .step').length === 3 && !document.querySelector('[data-testid=insight-result] .progress')`, 40*time.Second)
	if got := eval[[]int64](b, `[...document.querySelectorAll('.funnel .step')].map((s) => Number(s.dataset.count))`); fmt.Sprint(got) != fmt.Sprint([]int64{fr.Steps[0].Count, fr.Steps[1].Count, fr.Steps[2].Count}) {
		t.Fatalf("the funnel shows %v, the API %+v", got, fr.Steps)
	}

	// shown waits for the open list to show step, status and offset, and
	// returns its rows (person ids) and total.
	shown := func(step int, status string, offset int) ([]string, int64) {
		t.Helper()
		b.wait(fmt.Sprintf("the list of step %d %s from %d", step, status, offset), fmt.Sprintf(`(() => {
			const s = document.querySelector('[data-testid=funnel-actors]');
			const off = Number(new URLSearchParams(location.search).get('drill_offset') || 0);
			return s && s.dataset.step === '%d' && s.dataset.status === %q && s.dataset.total !== '' && s.getAttribute('aria-busy') === 'false' && off === %d;
		})()`, step, status, offset), 30*time.Second)
		rows := eval[[]string](b, `[...document.querySelectorAll('[data-testid=funnel-actors] tbody tr')].map((r) => r.dataset.person)`)
		return rows, eval[int64](b, `Number(document.querySelector('[data-testid=funnel-actors]').dataset.total)`)
	}
	same := func(what string, rows []string, want funnelActorsAnswer) {
		t.Helper()
		var ids []string
		for _, a := range want.Actors {
			ids = append(ids, a.PersonID)
		}
		if strings.Join(rows, ",") != strings.Join(ids, ",") {
			t.Fatalf("%s: the list shows %v, the query API %v", what, rows, ids)
		}
	}

	// Step 1's count: everyone who entered, 25 a page.
	b.do(click(`.funnel .step[data-step="1"] [data-testid=step-converted]`))
	rows, total := shown(1, "converted", 0)
	page1 := actors(1, "converted", 0)
	if total != fr.Steps[0].Count || page1.Total != total {
		t.Fatalf("step 1 lists %d persons (API %d), the funnel counts %d", total, page1.Total, fr.Steps[0].Count)
	}
	if len(rows) != 25 || page1.NextOffset == nil {
		t.Fatalf("the first page shows %d rows (next offset %v); want 25 and more pages", len(rows), page1.NextOffset)
	}
	same("page 1", rows, page1)
	if r := eval[string](b, `document.querySelector('[data-testid=actors-range]').textContent`); !strings.HasPrefix(r, "1–25 of ") {
		t.Fatalf("range %q", r)
	}
	b.shot("drill-step1")
	b.do(clickText("Next →"))
	rows, _ = shown(1, "converted", 25)
	page2 := actors(1, "converted", 25)
	same("page 2", rows, page2)
	if rows[0] == page1.Actors[0].PersonID {
		t.Fatal("the second page repeats the first")
	}
	// The page is in the URL: a reload shows the same one.
	b.do(chromedp.Reload())
	b.wait("the funnel after a reload", `document.querySelectorAll('.funnel .step').length === 3`, 40*time.Second)
	rows, _ = shown(1, "converted", 25)
	same("page 2 after a reload", rows, page2)
	b.do(clickText("← Previous"))
	rows, _ = shown(1, "converted", 0)
	same("back to page 1", rows, page1)

	// The drop-off before step 3: added to the cart, never bought.
	b.do(click(`.funnel .step[data-step="3"] [data-testid=step-dropped]`))
	rows, total = shown(3, "dropped", 0)
	dropped := actors(3, "dropped", 0)
	if total != fr.Steps[2].DropOff || dropped.Total != total {
		t.Fatalf("dropped before step 3: the list counts %d (API %d), the funnel's drop-off is %d", total, dropped.Total, fr.Steps[2].DropOff)
	}
	same("dropped before step 3", rows, dropped)
	// The recorded visitor is among them (the most recent), with the
	// session where they added to the cart, which has a replay.
	var rec string
	for _, a := range dropped.Actors {
		if a.HasReplay {
			if a.FurthestStep != 2 || a.SessionID == "" {
				t.Fatalf("the recorded visitor: %+v", a)
			}
			rec = a.SessionID
			break
		}
	}
	if rec == "" {
		t.Fatalf("no dropped person has a recorded session: %+v", dropped.Actors)
	}
	link := fmt.Sprintf(`[data-testid=funnel-actors] tr[data-session=%q] a[href$="/replay/%s"]`, rec, url.PathEscape(rec))
	if txt := eval[string](b, `document.querySelector('`+link+`')?.textContent ?? ''`); !strings.Contains(txt, "Watch replay") {
		t.Fatalf("the recorded session's link reads %q", txt)
	}
	b.shot("drill-dropped")
	b.do(click(link))
	b.wait("the replay of the drop-off", fmt.Sprintf(`location.pathname.endsWith('/replay/%s') && !!document.querySelector('[data-testid=player-stage] iframe')`, url.PathEscape(rec)), 30*time.Second)
	b.noErrors()
}

// TestBrowserActionPreview: the action editor counts what a definition
// matches, past events included, while it is being written and before it
// is saved; each edit gives the query API's count for the same inline
// definition, with a sparkline of the days; an invalid definition says what
// is wrong where; nothing is stored until Save.
func TestBrowserActionPreview(t *testing.T) {
	f := startFlowApp(t)
	f.seed(6000)
	b := newBrowser(t)
	logIn(b, f.base, flowAdmin, flowPassword)

	apiCount := func(def map[string]any) (int64, int) {
		t.Helper()
		var res struct {
			Series []struct {
				Total  int64 `json:"total"`
				Points []struct {
					V int64 `json:"v"`
				} `json:"points"`
			} `json:"series"`
		}
		f.query(map[string]any{"kind": "trends", "date_from": "-30d", "date_to": "today", "interval": "day",
			"series": []map[string]any{{"action_def": map[string]any{"steps": []any{def}}, "math": "events"}}}, &res)
		if len(res.Series) != 1 {
			t.Fatalf("trends over %v: %+v", def, res)
		}
		return res.Series[0].Total, len(res.Series[0].Points)
	}
	// preview waits for the preview of def and returns its count and the
	// number of points of its sparkline.
	preview := func(def map[string]any) (int64, int) {
		t.Helper()
		want, _ := json.Marshal(map[string]any{"steps": []any{def}})
		b.wait("the preview of "+string(want), fmt.Sprintf(`(() => { const p = document.querySelector('[data-testid=action-preview]');
			const canon = (v) => Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v;
			return p && p.dataset.pending === 'false' && JSON.stringify(canon(JSON.parse(p.dataset.def))) === JSON.stringify(canon(%s)) && !!p.querySelector('[data-testid=action-matches]'); })()`, want), 30*time.Second)
		n := eval[int64](b, `Number(document.querySelector('[data-testid=action-matches]').dataset.count)`)
		pts := eval[int](b, `(document.querySelector('[data-testid=action-preview] svg.sparkline polyline.value')?.getAttribute('points') ?? '').trim().split(/\s+/).filter(Boolean).length`)
		return n, pts
	}

	b.do(chromedp.Navigate(f.page("actions/new")))
	b.wait("the action editor", `!!document.querySelector('input[list="act-ev-0-list"]')`, 20*time.Second)
	// The new action starts as any click: counted at once.
	clicks, days := apiCount(map[string]any{"event": "$click"})
	if got, pts := preview(map[string]any{"event": "$click"}); got != clicks || pts != days || clicks == 0 {
		t.Fatalf("a new action (any click) previews %d over %d days; the API %d over %d", got, pts, clicks, days)
	}
	// Edits: pageviews, then pageviews of product pages.
	b.do(set(`input[list="act-ev-0-list"]`, "$pageview"))
	views, _ := apiCount(map[string]any{"event": "$pageview"})
	if got, pts := preview(map[string]any{"event": "$pageview"}); got != views || pts != days {
		t.Fatalf("pageviews preview %d over %d days; the API %d", got, pts, views)
	}
	b.do(set(`input[aria-label="Page URL of step 1"]`, "/product/"))
	products, _ := apiCount(map[string]any{"event": "$pageview", "url": "/product/"})
	if got, _ := preview(map[string]any{"event": "$pageview", "url": "/product/"}); got != products || products == 0 || products >= views {
		t.Fatalf("product pageviews preview %d; the API %d of %d pageviews", got, products, views)
	}
	b.shot("action-preview")

	// An invalid selector: the engine's message, placed on the step.
	b.do(set(`input[aria-label="Element selector of step 1"]`, "button:hover"))
	b.wait("the preview's error", `(() => { const e = document.querySelector('[data-testid=action-preview-error]');
		return e && e.textContent.startsWith('Step 1, selector:') && e.textContent.includes(':hover') && !document.querySelector('[data-testid=action-matches]'); })()`, 30*time.Second)
	b.shot("action-preview-error")
	b.do(set(`input[aria-label="Element selector of step 1"]`, ""))
	if got, _ := preview(map[string]any{"event": "$pageview", "url": "/product/"}); got != products {
		t.Fatalf("after clearing the selector the preview shows %d, want %d", got, products)
	}

	// Nothing was stored while previewing.
	var list struct {
		Actions []json.RawMessage `json:"actions"`
	}
	if st := apiCall(t, "GET", f.app.URL()+"/api/actions", f.key, nil, &list); st != 200 || len(list.Actions) != 0 {
		t.Fatalf("GET /api/actions: %d, %d actions; the preview must not save", st, len(list.Actions))
	}
	// Saved, the action counts what the preview said.
	b.do(set("form input[required]", "Product views"), click("form button[type=submit].primary"))
	b.wait("the saved action", `/\/actions\/\d+$/.test(location.pathname)`, 20*time.Second)
	id := eval[int64](b, `Number(location.pathname.split('/').pop())`)
	var saved struct {
		Series []struct {
			Total int64 `json:"total"`
		} `json:"series"`
	}
	f.query(map[string]any{"kind": "trends", "date_from": "-30d", "date_to": "today", "series": []map[string]any{{"action": id}}}, &saved)
	if len(saved.Series) != 1 || saved.Series[0].Total != products {
		t.Fatalf("the saved action counts %+v, the preview %d", saved.Series, products)
	}
	if got, _ := preview(map[string]any{"event": "$pageview", "url": "/product/"}); got != products {
		t.Fatalf("the saved action's page previews %d, want %d", got, products)
	}
	b.noErrors()
}
