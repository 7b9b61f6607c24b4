package sdk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sightline-analytics/sightline/meta"
)

// The recorder's bound on waiting chunks (PENDING_MAX in src/recorder.ts),
// in characters of sessionStorage keys and values.
const pendingMax = 1 << 20

// replayPage is a page whose SDK records replays by its init options, so
// that it records even when it loads while the server is away (the SDK
// itself then comes from the browser's cache).
func replayPage(h *harness, page int) string {
	return h.site.URL + "/api.html?o=" + url.QueryEscape(`{"replay":true}`) + "&page=" + strconv.Itoa(page)
}

func waitRecorder() chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](`performance.getEntriesByType('resource').some(e => e.name.endsWith('/sdk/recorder.js'))`,
		chromedp.WithPollingTimeout(20*time.Second))
}

// burst replaces the text of a box n times with size characters: one
// mutation, and so one chunk (past 256 KB), each. Random letters make the
// chunks incompressible, so that they fill the recorder's bound quickly.
func burst(n, size int, random bool) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(async (n, size, random) => {
  let box = document.getElementById('box');
  if (!box) {
    box = document.createElement('div');
    box.id = 'box';
    box.style.cssText = 'height: 40px; overflow: hidden';
    document.body.appendChild(box);
  }
  const letters = () => { const a = []; for (let i = 0; i < size; i++) a.push(String.fromCharCode(97 + Math.floor(Math.random() * 26))); return a.join(''); };
  for (let i = 0; i < n; i++) {
    box.textContent = random ? letters() : 'lorem ipsum '.repeat(Math.ceil(size / 12));
    await new Promise((r) => setTimeout(r, 20));
  }
})(%d, %d, %v)`, n, size, random), chromedp.EvalAwaitPromise)
}

// tabState is what the recorder keeps in the tab's sessionStorage.
type tabState struct {
	Window string `json:"window"`
	Seq    int    `json:"seq"`    // chunks cut so far in this tab
	Keys   int    `json:"keys"`   // chunks waiting in storage
	Stored int    `json:"stored"` // their characters, keys included
	Gap    *struct {
		E int `json:"e"`
		C int `json:"c"`
	} `json:"gap"`
}

const readTabState = `(() => {
  const w = JSON.parse(sessionStorage.getItem('sl_w'));
  let keys = 0, stored = 0;
  for (const k of Object.keys(sessionStorage)) {
    if (k.startsWith('sl_r_' + w + '_')) { keys++; stored += k.length + sessionStorage.getItem(k).length; }
  }
  return { window: w, seq: JSON.parse(sessionStorage.getItem('sl_seq_' + w) || '0'), keys, stored,
    gap: JSON.parse(sessionStorage.getItem('sl_rg_' + w) || 'null') };
})()`

// storedSeqs lists the seqs the server stored for a window.
func storedSeqs(t *testing.T, h *harness, session, window string) map[int]bool {
	t.Helper()
	keys, err := h.blobs.List(context.Background(), fmt.Sprintf("p/%d/s/%s/%s/", h.project.ID, session, window))
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[int]bool{}
	for _, k := range keys {
		n, err := strconv.Atoi(strings.TrimSuffix(k[strings.LastIndexByte(k, '/')+1:], ".json.gz"))
		if err != nil {
			t.Fatalf("chunk key %q", k)
		}
		seqs[n] = true
	}
	return seqs
}

// waitFor polls cond about every 250 ms for at most a minute and a half.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 360 {
		if cond() {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("gave up waiting: %s", what)
}

// sessionReplay reads a session's recording through the API.
func sessionReplay(t *testing.T, h *harness, session string) []rrEvent {
	t.Helper()
	req, _ := http.NewRequest("GET", h.front.URL()+"/api/replay/"+session, nil)
	req.Header.Set("Authorization", "Bearer "+h.apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /api/replay: %d %s", resp.StatusCode, body)
	}
	var res struct {
		Windows []struct {
			Events []rrEvent `json:"events"`
		} `json:"windows"`
	}
	if err := json.Unmarshal(body, &res); err != nil || len(res.Windows) != 1 {
		t.Fatalf("GET /api/replay: %v, %d windows", err, len(res.Windows))
	}
	return res.Windows[0].Events
}

// clicksOn counts the recorded clicks on the element with the given id
// attribute, resolving the id in the full snapshot (or mutation) before
// each click.
func clicksOn(evs []rrEvent, elementID string) int {
	node, n := 0, 0
	for _, e := range evs {
		var d struct {
			Source *int              `json:"source"`
			Type   *int              `json:"type"`
			ID     int               `json:"id"`
			Node   json.RawMessage   `json:"node"`
			Adds   []json.RawMessage `json:"adds"`
		}
		json.Unmarshal(e.Data, &d)
		switch {
		case e.Type == 2:
			node = nodeID(d.Node, elementID)
		case e.Type == 3 && d.Source != nil && *d.Source == 0:
			for _, a := range d.Adds {
				var add struct {
					Node json.RawMessage `json:"node"`
				}
				json.Unmarshal(a, &add)
				if id := nodeID(add.Node, elementID); id != 0 {
					node = id
				}
			}
		case e.Type == 3 && d.Source != nil && *d.Source == 2 && d.Type != nil && *d.Type == 2 && d.ID == node && node != 0:
			n++
		}
	}
	return n
}

// playable plays a window's events against the nodes they name, as a
// player does: a full snapshot sets the page, mutations add nodes, and
// every mutation, pointer move, click, scroll and input must name a node
// the player has. It returns what would fail to play.
func playable(evs []rrEvent) []string {
	var known map[int]bool
	var problems []string
	var collect func(raw json.RawMessage, into map[int]bool)
	collect = func(raw json.RawMessage, into map[int]bool) {
		var n struct {
			ID         int               `json:"id"`
			ChildNodes []json.RawMessage `json:"childNodes"`
		}
		if json.Unmarshal(raw, &n) == nil {
			into[n.ID] = true
			for _, c := range n.ChildNodes {
				collect(c, into)
			}
		}
	}
	need := func(i, id int, what string) {
		if !known[id] {
			problems = append(problems, fmt.Sprintf("event %d: %s names node %d, which the player does not have", i, what, id))
		}
	}
	for i, e := range evs {
		var d struct {
			Source    *int            `json:"source"`
			ID        int             `json:"id"`
			Node      json.RawMessage `json:"node"`
			Positions []struct {
				ID int `json:"id"`
			} `json:"positions"`
			Adds []struct {
				ParentID int             `json:"parentId"`
				Node     json.RawMessage `json:"node"`
			} `json:"adds"`
			Texts []struct {
				ID int `json:"id"`
			} `json:"texts"`
			Attributes []struct {
				ID int `json:"id"`
			} `json:"attributes"`
		}
		json.Unmarshal(e.Data, &d)
		switch e.Type {
		case 2:
			known = map[int]bool{}
			collect(d.Node, known)
		case 3:
			if known == nil {
				problems = append(problems, fmt.Sprintf("event %d: incremental event before any full snapshot", i))
				continue
			}
			switch *d.Source {
			case 0: // mutation: adds may come in any order within one
				added := map[int]bool{}
				for _, a := range d.Adds {
					collect(a.Node, added)
				}
				for id := range added {
					known[id] = true
				}
				for _, a := range d.Adds {
					need(i, a.ParentID, "an added node's parent")
				}
				for _, x := range d.Texts {
					need(i, x.ID, "a text change")
				}
				for _, x := range d.Attributes {
					need(i, x.ID, "an attribute change")
				}
			case 1, 6:
				for _, p := range d.Positions {
					need(i, p.ID, "a pointer move")
				}
			case 2, 3, 5:
				need(i, d.ID, fmt.Sprintf("source %d", *d.Source))
			}
		}
	}
	return problems
}

// gapMarkers returns the $replay_gap custom events' payloads and, for each,
// whether a full snapshot follows within the next two events.
type gapMarker struct {
	DroppedEvents int   `json:"dropped_events"`
	DroppedChunks int   `json:"dropped_chunks"`
	From          int64 `json:"from"`
	To            int64 `json:"to"`
	snapshotNext  bool
}

func gapMarkers(evs []rrEvent) []gapMarker {
	var out []gapMarker
	for i, e := range evs {
		var d struct {
			Tag     string    `json:"tag"`
			Payload gapMarker `json:"payload"`
		}
		if e.Type != 5 || json.Unmarshal(e.Data, &d) != nil || d.Tag != "$replay_gap" {
			continue
		}
		m := d.Payload
		for j := i + 1; j < len(evs) && j <= i+2; j++ {
			m.snapshotNext = m.snapshotNext || evs[j].Type == 2
		}
		out = append(out, m)
	}
	return out
}

// TestBrowserReplayOutage takes the server away while a page records more
// chunks than the recorder used to hold in memory (40), navigates to
// another page of the tab while the server is still away, and brings it
// back: every chunk is delivered, both pages play, and nothing was marked
// as dropped.
func TestBrowserReplayOutage(t *testing.T) {
	ctx := browser(t)
	h := newHarness(t, func(s *meta.ProjectSettings) { s.ReplayEnabled = true; s.ReplaySampleRate = 1 })
	run(t, ctx, chromedp.Navigate(replayPage(h, 1)), waitSDK(), waitRecorder())
	session := eval[string](t, ctx, `sightline.getSessionId()`)
	st := eval[tabState](t, ctx, readTabState)
	waitFor(t, "the first chunk", func() bool { return len(storedSeqs(t, h, session, st.Window)) > 0 })

	h.front.down()
	run(t, ctx, chromedp.Click(chromedp.CSS("#b")), burst(45, 270_000, false), chromedp.Click(chromedp.CSS("#b")))
	// Chunks are compressed one after another. One still being compressed
	// when the page unloads is kept as JSON, which at 256 KB a chunk would
	// fill the bound: let the recorder catch up before navigating.
	var before tabState
	waitFor(t, "the outage's chunks to wait in storage", func() bool {
		before = eval[tabState](t, ctx, readTabState)
		return before.Keys+len(storedSeqs(t, h, session, st.Window)) >= before.Seq
	})
	if outage := before.Seq - len(storedSeqs(t, h, session, st.Window)); outage <= 40 {
		t.Fatalf("only %d chunks cut during the outage; the test needs more than 40", outage)
	}
	if before.Keys == 0 || before.Stored > pendingMax {
		t.Errorf("waiting in storage: %d chunks, %d characters (bound %d)", before.Keys, before.Stored, pendingMax)
	}
	// A navigation within the tab while the server is still away.
	run(t, ctx, chromedp.Navigate(replayPage(h, 2)), waitSDK(), waitRecorder(),
		chromedp.Click(chromedp.CSS("#b")), burst(5, 270_000, false), chromedp.Click(chromedp.CSS("#b")))
	if got := eval[string](t, ctx, `sightline.getSessionId()`); got != session {
		t.Fatalf("the navigation started session %s, want %s", got, session)
	}
	cut := eval[tabState](t, ctx, readTabState).Seq
	t.Logf("page 1 cut %d chunks during the outage, %d waiting in storage (%d characters); %d in all before the server came back",
		before.Seq-len(storedSeqs(t, h, session, st.Window)), before.Keys, before.Stored, cut)
	h.front.up()
	run(t, ctx, js(`dispatchEvent(new Event('online'))`))

	waitFor(t, "every chunk cut during the outage", func() bool {
		seqs := storedSeqs(t, h, session, st.Window)
		for s := range cut {
			if !seqs[s] {
				return false
			}
		}
		return true
	})
	waitFor(t, "storage to empty", func() bool { return eval[tabState](t, ctx, readTabState).Keys == 0 })
	run(t, ctx, chromedp.Navigate(h.site.URL+"/done.html"))
	var evs []rrEvent
	waitFor(t, "the four clicks", func() bool {
		evs = sessionReplay(t, h, session)
		return clicksOn(evs, "b") == 4
	})
	metas := 0
	for _, e := range evs {
		if e.Type == 4 {
			metas++
		}
	}
	if metas != 2 {
		t.Errorf("%d Meta events, want one per page load (2)", metas)
	}
	if m := gapMarkers(evs); len(m) != 0 {
		t.Errorf("data marked as dropped: %+v", m)
	}
	for _, p := range playable(evs) {
		t.Error(p)
	}
}

// TestBrowserReplayOverflow keeps the server away while a page records
// more than the recorder may keep: what waits in storage stays under the
// bound, the recorder drops what comes next, carries the gap across a
// navigation, and once the server is back records a $replay_gap event and
// a fresh full snapshot, so the replay plays through, including a click on
// an element created while recording was dropped.
func TestBrowserReplayOverflow(t *testing.T) {
	ctx := browser(t)
	h := newHarness(t, func(s *meta.ProjectSettings) { s.ReplayEnabled = true; s.ReplaySampleRate = 1 })
	run(t, ctx, chromedp.Navigate(replayPage(h, 1)), waitSDK(), waitRecorder())
	session := eval[string](t, ctx, `sightline.getSessionId()`)
	st := eval[tabState](t, ctx, readTabState)
	waitFor(t, "the first chunk", func() bool { return len(storedSeqs(t, h, session, st.Window)) > 0 })

	h.front.down()
	// Each incompressible 270 KB chunk takes about a fifth of the bound.
	for range 4 {
		run(t, ctx, burst(3, 270_000, true))
		if s := eval[tabState](t, ctx, readTabState); s.Stored > pendingMax {
			t.Fatalf("%d characters waiting in storage, over the bound of %d", s.Stored, pendingMax)
		}
	}
	// Chunks are compressed and counted one after another, after the bursts.
	var full tabState
	waitFor(t, "a chunk dropped at the bound", func() bool {
		full = eval[tabState](t, ctx, readTabState)
		if full.Stored > pendingMax {
			t.Fatalf("%d characters waiting in storage, over the bound of %d", full.Stored, pendingMax)
		}
		return full.Gap != nil && full.Gap.C > 0
	})
	t.Logf("at the bound: %d chunks waiting (%d characters of %d), %d chunks dropped", full.Keys, full.Stored, pendingMax, full.Gap.C)
	// The next page of the tab starts while the gap lasts; the button made
	// there is recorded only by the snapshot taken when the gap ends.
	run(t, ctx, chromedp.Navigate(replayPage(h, 2)), waitSDK(), waitRecorder(),
		js(`document.body.insertAdjacentHTML('beforeend', '<button id="late">Late</button>')`))
	if s := eval[tabState](t, ctx, readTabState); s.Stored > pendingMax || s.Gap == nil {
		t.Fatalf("after the navigation: %+v", s)
	}
	h.front.up()
	run(t, ctx, js(`dispatchEvent(new Event('online'))`))
	waitFor(t, "the gap to end", func() bool { return eval[tabState](t, ctx, readTabState).Gap == nil })
	run(t, ctx, chromedp.Click(chromedp.CSS("#late")))
	last := eval[tabState](t, ctx, readTabState).Seq
	run(t, ctx, chromedp.Navigate(h.site.URL+"/done.html"))

	var evs []rrEvent
	waitFor(t, "the click on #late", func() bool {
		evs = sessionReplay(t, h, session)
		return clicksOn(evs, "late") == 1
	})
	markers := gapMarkers(evs)
	if len(markers) == 0 {
		t.Fatal("no $replay_gap event in the replay")
	}
	droppedChunks := 0
	for _, m := range markers {
		if m.DroppedChunks == 0 || m.DroppedEvents == 0 || m.From == 0 || m.To < m.From || !m.snapshotNext {
			t.Errorf("gap marker %+v", m)
		}
		droppedChunks += m.DroppedChunks
	}
	// Every chunk cut was delivered or counted as dropped.
	seqs := storedSeqs(t, h, session, st.Window)
	var missing []int
	for s := range last {
		if !seqs[s] {
			missing = append(missing, s)
		}
	}
	sort.Ints(missing)
	t.Logf("markers %+v; chunks missing on the server %v", markers, missing)
	if len(missing) != droppedChunks {
		t.Errorf("chunks missing on the server %v, but the markers count %d dropped", missing, droppedChunks)
	}
	if len(evs) < 2 || evs[0].Type != 4 || evs[1].Type != 2 {
		t.Errorf("replay does not begin with Meta and FullSnapshot: %v", types(evs, 5))
	}
	for _, p := range playable(evs) {
		t.Error(p)
	}
}
