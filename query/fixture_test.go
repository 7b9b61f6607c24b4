package query_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/query"
	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/store/duckdb"
)

// Fixtures are hand-built event logs with hand-computed answers, one file
// per case in testdata/fixtures. Format (blank lines and # comments are
// ignored; sections start with a keyword line):
//
//	now 2026-02-01T00:00:00Z          the engine's clock (optional)
//	action 3 Buy {"steps": [...]}      a saved action (id, one-word name, JSON)
//	segment 2 Buyers {"conditions": [...]}
//	events                             then one event per line:
//	  <timestamp> <distinct_id> <session_id|-> <event> [key=value ...]
//	replay <session_id> <start> <end> [active_ms=N]
//	query                              then a JSON query (several lines)
//	expect                             then JSON the result must contain
//	error <field path>                 instead of expect: a validation error
//
// Event keys: url (sets host and path too), path, host, selector, chain
// (elements chain), x, y, viewport_width, document_width, document_height,
// device_type, browser, os, title, rage, dead, error (booleans), received
// (the receive time; default: the timestamp), anon
// ($anon_distinct_id of an $identify), set.K=V ($set of a person
// property); any other key is an event property (numbers stay numbers).
// Values may be quoted ("…" or '…') to hold spaces or double quotes. Events on the same timestamp
// are ordered by line (their UUIDs follow the lines).
//
// expect matches as a subset: every key given must be present with an
// equal value (numbers within 1e-9); arrays must have exactly the given
// length.

type fixture struct {
	name     string
	now      time.Time
	defs     query.StaticDefinitions
	events   []event.Event
	replays  []store.ReplaySummary
	cases    []fixtureCase
	project  int64
	timezone string
}

type fixtureCase struct {
	line   int
	query  string
	expect string
	errAt  *string
}

func TestFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/fixtures/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata/fixtures")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			t.Parallel()
			fx := parseFixture(t, f)
			runFixture(t, fx)
		})
	}
}

func parseFixture(t *testing.T, path string) *fixture {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{name: path, project: 1, defs: query.StaticDefinitions{Actions: map[int64]query.Action{}, Segments: map[int64]query.Segment{}}}
	section := ""
	var cur *fixtureCase
	var buf strings.Builder
	flush := func() {
		if cur == nil {
			return
		}
		switch section {
		case "query":
			cur.query = buf.String()
		case "expect":
			cur.expect = buf.String()
		}
		buf.Reset()
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		raw := sc.Text()
		text := strings.TrimSpace(raw)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		word, rest, _ := strings.Cut(text, " ")
		switch word {
		case "now":
			flush()
			section = ""
			fx.now, err = time.Parse(time.RFC3339, rest)
			if err != nil {
				t.Fatalf("%s:%d: now: %v", path, line, err)
			}
			continue
		case "timezone":
			fx.timezone = rest
			continue
		case "action", "segment":
			flush()
			section = ""
			f := strings.SplitN(rest, " ", 3)
			if len(f) != 3 {
				t.Fatalf("%s:%d: %s ID NAME JSON", path, line, word)
			}
			id, _ := strconv.ParseInt(f[0], 10, 64)
			if word == "action" {
				def, err := query.ParseActionDefinition([]byte(f[2]))
				if err != nil {
					t.Fatalf("%s:%d: action: %v", path, line, err)
				}
				fx.defs.Actions[id] = query.Action{ID: id, Name: f[1], ActionDefinition: def}
			} else {
				def, err := query.ParseSegmentDefinition([]byte(f[2]))
				if err != nil {
					t.Fatalf("%s:%d: segment: %v", path, line, err)
				}
				fx.defs.Segments[id] = query.Segment{ID: id, Name: f[1], SegmentDefinition: def}
			}
			continue
		case "events":
			flush()
			section = "events"
			continue
		case "replay":
			flush()
			section = ""
			fx.replays = append(fx.replays, parseReplay(t, path, line, rest))
			continue
		case "query":
			flush()
			fx.cases = append(fx.cases, fixtureCase{line: line})
			cur = &fx.cases[len(fx.cases)-1]
			section = "query"
			continue
		case "expect":
			flush()
			section = "expect"
			continue
		case "error":
			flush()
			section = ""
			field := strings.TrimSpace(rest)
			cur.errAt = &field
			continue
		}
		switch section {
		case "events":
			fx.events = append(fx.events, parseEventLine(t, path, line, text, len(fx.events)))
		case "query", "expect":
			buf.WriteString(raw + "\n")
		default:
			t.Fatalf("%s:%d: unexpected line %q", path, line, text)
		}
	}
	flush()
	return fx
}

func parseReplay(t *testing.T, path string, line int, rest string) store.ReplaySummary {
	f := strings.Fields(rest)
	if len(f) < 3 {
		t.Fatalf("%s:%d: replay SESSION START END [active_ms=N]", path, line)
	}
	start, err1 := time.Parse(time.RFC3339, f[1])
	end, err2 := time.Parse(time.RFC3339, f[2])
	if err1 != nil || err2 != nil {
		t.Fatalf("%s:%d: replay times", path, line)
	}
	r := store.ReplaySummary{ProjectID: 1, SessionID: f[0], WindowID: "w", Start: start, End: end, Chunks: 1}
	for _, kv := range f[3:] {
		k, v, _ := strings.Cut(kv, "=")
		if k == "active_ms" {
			r.ActiveMs, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return r
}

// splitFields splits on spaces, keeping quoted values together ("…" or
// '…', the latter for values that hold double quotes).
func splitFields(s string) []string {
	var out []string
	var b strings.Builder
	var q rune
	for _, r := range s {
		switch {
		case q == 0 && (r == '"' || r == '\''):
			q = r
		case r == q:
			q = 0
		case r == ' ' && q == 0:
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

func parseEventLine(t *testing.T, path string, line int, text string, n int) event.Event {
	f := splitFields(text)
	if len(f) < 4 {
		t.Fatalf("%s:%d: event line needs: timestamp distinct_id session event", path, line)
	}
	ts, err := time.Parse(time.RFC3339Nano, f[0])
	if err != nil {
		t.Fatalf("%s:%d: timestamp: %v", path, line, err)
	}
	e := event.Event{
		ProjectID: 1, UUID: fmt.Sprintf("00000000-0000-7000-8000-%012d", n),
		Timestamp: ts, ReceivedAt: ts, DistinctID: f[1], Event: f[3],
	}
	if f[2] != "-" {
		e.SessionID = f[2]
	}
	props := map[string]any{}
	set := map[string]any{}
	for _, kv := range f[4:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("%s:%d: %q is not key=value", path, line, kv)
		}
		num, numErr := strconv.ParseFloat(v, 64)
		switch k {
		case "url":
			e.URL = v
			if u, err := url.Parse(v); err == nil {
				e.Host, e.Path = u.Host, u.Path
			}
		case "path":
			e.Path = v
		case "host":
			e.Host = v
		case "selector":
			e.Selector = v
		case "chain":
			e.ElementsChain = v
		case "x":
			e.X = num
		case "y":
			e.Y = num
		case "viewport_width":
			e.ViewportWidth = int(num)
		case "document_width":
			e.DocumentWidth = int(num)
		case "document_height":
			e.DocumentHeight = int(num)
		case "device_type":
			e.DeviceType = v
		case "browser":
			e.Browser = v
		case "os":
			e.OS = v
		case "title":
			e.Title = v
		case "rage":
			e.Rage = v == "true"
		case "dead":
			e.Dead = v == "true"
		case "error":
			e.Error = v == "true"
		case "anon":
			props["$anon_distinct_id"] = v
		case "uuid":
			e.UUID = v
		case "received":
			if e.ReceivedAt, err = time.Parse(time.RFC3339Nano, v); err != nil {
				t.Fatalf("%s:%d: received: %v", path, line, err)
			}
		default:
			var val any = v
			if numErr == nil {
				val = num
			} else if v == "true" || v == "false" {
				val = v == "true"
			}
			if name, ok := strings.CutPrefix(k, "set."); ok {
				set[name] = val
			} else {
				props[k] = val
			}
		}
	}
	switch e.Event {
	case "$rageclick":
		e.Rage = true
	case "$deadclick":
		e.Dead = true
	case "$errorclick":
		e.Error = true
	}
	if len(set) > 0 {
		props["$set"] = set
	}
	e.Properties, _ = json.Marshal(props)
	return e
}

func runFixture(t *testing.T, fx *fixture) {
	ctx := context.Background()
	st, err := duckdb.Open("", duckdb.Options{Threads: 1, MemoryLimit: "512MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if len(fx.events) > 0 {
		// Batches in file order, one per identify, so that identity is
		// applied as events arrive.
		var batch []event.Event
		for _, e := range fx.events {
			batch = append(batch, e)
			if e.Event == "$identify" {
				if err := st.Append(ctx, batch, store.Checkpoint{Spool: "x"}); err != nil {
					t.Fatal(err)
				}
				batch = nil
			}
		}
		if err := st.Append(ctx, batch, store.Checkpoint{Spool: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range fx.replays {
		if err := st.AddReplayChunk(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	now := fx.now
	if now.IsZero() {
		now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	}
	eng := query.New(query.Options{Now: func() time.Time { return now }, CacheEntries: -1})
	for _, c := range fx.cases {
		q, err := query.Parse([]byte(c.query))
		if c.errAt != nil {
			if err == nil {
				_, err = eng.Run(ctx, query.Request{ProjectID: fx.project, Timezone: fx.timezone, DB: st, Defs: fx.defs, Query: q})
			}
			field, ok := query.ErrorField(err)
			if !ok || field != *c.errAt {
				t.Errorf("%s:%d: want a query error at %q, got %v", fx.name, c.line, *c.errAt, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s:%d: parse: %v", fx.name, c.line, err)
		}
		res, err := eng.Run(ctx, query.Request{ProjectID: fx.project, Timezone: fx.timezone, DB: st, Defs: fx.defs, Query: q})
		if err != nil {
			stmts, _ := eng.Compile(ctx, query.Request{ProjectID: fx.project, Timezone: fx.timezone, DB: st, Defs: fx.defs, Query: q})
			var sqls []string
			for _, s := range stmts {
				sqls = append(sqls, s.SQL)
			}
			t.Fatalf("%s:%d: run: %v\n%s", fx.name, c.line, err, strings.Join(sqls, "\n;\n"))
		}
		got, _ := json.Marshal(res)
		var gotV, wantV any
		if err := json.Unmarshal(got, &gotV); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(c.expect), &wantV); err != nil {
			t.Fatalf("%s:%d: expect is not JSON: %v", fx.name, c.line, err)
		}
		if diff := subset("", wantV, gotV); diff != "" {
			pretty, _ := json.MarshalIndent(res, "", "  ")
			t.Errorf("%s:%d: %s\ngot:\n%s", fx.name, c.line, diff, pretty)
		}
	}
}

// subset reports the first place where got does not contain want.
func subset(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want an object, got %v", path, got)
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s.%s: missing", path, k)
			}
			if d := subset(path+"."+k, w[k], gv); d != "" {
				return d
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: want an array, got %v", path, got)
		}
		if len(g) != len(w) {
			return fmt.Sprintf("%s: want %d items, got %d", path, len(w), len(g))
		}
		for i := range w {
			if d := subset(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); d != "" {
				return d
			}
		}
	case float64:
		g, ok := got.(float64)
		if !ok || math.Abs(g-w) > 1e-9 {
			return fmt.Sprintf("%s: want %v, got %v", path, w, got)
		}
	default:
		if want != got {
			return fmt.Sprintf("%s: want %v, got %v", path, want, got)
		}
	}
	return ""
}

// TestEngineCache: a repeated query is served from the cache (the same
// result value), and a new event invalidates it through the watermark.
func TestEngineCache(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open("", duckdb.Options{Threads: 1, MemoryLimit: "256MB"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ev := func(uuid string, h int) event.Event {
		ts := time.Date(2026, 1, 1, h, 0, 0, 0, time.UTC)
		return event.Event{ProjectID: 1, UUID: uuid, Event: "e", DistinctID: "u", Timestamp: ts, ReceivedAt: ts, Properties: json.RawMessage(`{}`)}
	}
	if err := st.Append(ctx, []event.Event{ev("00000000-0000-7000-8000-000000000001", 1)}, store.Checkpoint{Spool: "x"}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	eng := query.New(query.Options{Now: func() time.Time { return now }})
	q, err := query.Parse([]byte(`{"kind": "trends", "date_from": "2026-01-01", "date_to": "2026-01-01", "series": [{"event": "e"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req := query.Request{ProjectID: 1, DB: st, Query: q}
	r1, err := eng.Run(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := eng.Run(ctx, req)
	if r1.(*query.TrendsResult) != r2.(*query.TrendsResult) {
		t.Error("the repeated query was not served from the cache")
	}
	if err := st.Append(ctx, []event.Event{ev("00000000-0000-7000-8000-000000000002", 2)}, store.Checkpoint{Spool: "x"}); err != nil {
		t.Fatal(err)
	}
	r3, _ := eng.Run(ctx, req)
	if got := r3.(*query.TrendsResult).Series[0].Total; got != 2 {
		t.Errorf("after a new event: total %v, want 2 (stale cache?)", got)
	}
	req.NoCache = true
	if r4, _ := eng.Run(ctx, req); r4.(*query.TrendsResult) == r3.(*query.TrendsResult) {
		t.Error("NoCache was served from the cache")
	}

	slow := query.New(query.Options{Now: func() time.Time { return now }, Timeout: time.Nanosecond})
	if _, err := slow.Run(ctx, req); !errors.Is(err, query.ErrTimeout) {
		t.Errorf("timeout: got %v, want ErrTimeout", err)
	}
}
