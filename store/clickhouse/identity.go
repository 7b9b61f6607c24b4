package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"

	"github.com/sightline-analytics/sightline/event"
)

// The identity rules and their in-memory state machine are store/duckdb's
// (kept identical so that both stores resolve persons the same way); only
// loading and storing differ: rows are versioned and read with argMax.

// Identity follows PostHog's rules:
//
//   - $identify by distinct id D with $anon_distinct_id A: if D is not mapped
//     to a person yet, D becomes an identified person (person_id = D). A is then
//     mapped to D's person, unless A is already mapped, which (see below)
//     means it belongs to an identified person; such an A is never re-merged.
//     A's own properties, if it had any as an anonymous person, fill the keys
//     D's person lacks, and A's persons row is removed.
//   - An $identify by a placeholder id, or naming one as its anonymous id
//     (event.IllegalDistinctID: "undefined", "null", …), merges nothing.
//   - $set on any event overwrites the person's properties key by key;
//     $set_once only fills keys the person lacks. They apply after the
//     event's own $identify, in batch order.
//
// Invariant: every person_distinct_ids row points to an identified person.
// Rows are only written by $identify, for D itself and for A.

type personKey struct {
	project int64
	id      string
}

type person struct {
	props      map[string]json.RawMessage
	created    time.Time
	identified bool
	dirty      bool
}

// identityState is the part of the person tables one batch touches, loaded
// once, changed in memory in event order, and written back at the end.
type identityState struct {
	mapping  map[personKey]string // distinct id → person id, for mapped ids
	persons  map[personKey]*person
	newMap   map[personKey]string
	removed  map[personKey]bool
	mapOrder []personKey // newMap keys in first-write order
}

func (st *identityState) resolve(k personKey) personKey {
	if p, ok := st.mapping[k]; ok {
		return personKey{k.project, p}
	}
	return k
}

func (st *identityState) person(k personKey, ts time.Time) *person {
	p := st.persons[k]
	if p == nil {
		p = &person{props: map[string]json.RawMessage{}, created: ts}
		st.persons[k] = p
		delete(st.removed, k)
	}
	if ts.Before(p.created) {
		p.created = ts
		p.dirty = true
	}
	return p
}

func (st *identityState) mapTo(k personKey, personID string) {
	if _, ok := st.newMap[k]; !ok {
		st.mapOrder = append(st.mapOrder, k)
	}
	st.mapping[k] = personID
	st.newMap[k] = personID
}

// applyIdentity processes the batch's identity rows that were not duplicates.
func (w *writer) applyIdentity(ctx context.Context, dups map[uuidKey]bool) error {
	rows := w.ident[:0:0]
	for _, r := range w.ident {
		if !dups[uuidKey{r.project, r.uuid}] {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return nil
	}
	st := &identityState{
		mapping: map[personKey]string{},
		persons: map[personKey]*person{},
		newMap:  map[personKey]string{},
		removed: map[personKey]bool{},
	}
	if err := w.loadIdentity(ctx, st, rows); err != nil {
		return err
	}
	for _, r := range rows {
		if r.identify {
			st.identify(r)
		}
		if r.set == nil && r.setOnce == nil {
			continue
		}
		p := st.person(st.resolve(personKey{r.project, r.distinct}), r.ts)
		for k, v := range r.set {
			p.props[k] = v
			p.dirty = true
		}
		for k, v := range r.setOnce {
			if _, ok := p.props[k]; !ok {
				p.props[k] = v
				p.dirty = true
			}
		}
	}
	return w.storeIdentity(ctx, st)
}

func (st *identityState) identify(r identRow) {
	d := personKey{r.project, r.distinct}
	pid, ok := st.mapping[d]
	if !ok {
		pid = r.distinct
		st.mapTo(d, pid)
	}
	pk := personKey{r.project, pid}
	p := st.person(pk, r.ts)
	if !p.identified {
		p.identified = true
		p.dirty = true
	}
	if r.anon == "" || r.anon == r.distinct {
		return
	}
	a := personKey{r.project, r.anon}
	if _, mapped := st.mapping[a]; mapped {
		return // already some identified person's: never re-merged
	}
	st.mapTo(a, pid)
	if ap := st.persons[a]; ap != nil && a != pk {
		for k, v := range ap.props {
			if _, ok := p.props[k]; !ok {
				p.props[k] = v
			}
		}
		if ap.created.Before(p.created) {
			p.created = ap.created
		}
		p.dirty = true
		delete(st.persons, a)
		st.removed[a] = true
	}
}

// identRow is what identity processing needs of one event: an $identify, or
// an event carrying $set / $set_once.
type identRow struct {
	uuid     string
	project  int64
	distinct string
	anon     string // event.IdentifyAnonID of an $identify
	identify bool
	set      map[string]json.RawMessage
	setOnce  map[string]json.RawMessage
	ts       time.Time
}

var setMarker = []byte(`"$set`)

// identityOf extracts identity facts from an event. The properties are
// looked at only for $identify and for events whose raw JSON mentions "$set,
// which keeps the common path free of JSON parsing. An $identify by a
// placeholder id ("undefined", "null", …; see event.IllegalDistinctID) is
// ignored: merging on it would join unrelated visitors.
func identityOf(e *event.Event, ts time.Time) (identRow, bool) {
	identify := e.Event == event.Identify && !event.IllegalDistinctID(e.DistinctID)
	if !identify && !bytes.Contains(e.Properties, setMarker) {
		return identRow{}, false
	}
	set, setOnce := event.PersonProps(e)
	r := identRow{
		uuid:     clean(e.UUID),
		project:  e.ProjectID,
		distinct: clean(e.DistinctID),
		identify: identify,
		set:      jsonObject(set),
		setOnce:  jsonObject(setOnce),
		ts:       ts,
	}
	if identify {
		r.anon = clean(event.IdentifyAnonID(e))
	}
	if r.distinct == "" || (!identify && r.set == nil && r.setOnce == nil) {
		return identRow{}, false
	}
	return r, true
}

// jsonObject decodes a JSON object's members, or returns nil for anything
// else (absent, not an object, malformed, empty).
func jsonObject(raw json.RawMessage) map[string]json.RawMessage {
	if len(raw) == 0 || raw[0] != '{' {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return nil
	}
	return m
}

// keyTable is an external table of (project_id, id) pairs for GLOBAL IN.
func keyTable(keys []personKey) (*ext.Table, error) {
	t, err := ext.NewTable("ident_keys", ext.Column("project_id", "Int64"), ext.Column("id", "String"))
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := t.Append(k.project, k.id); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// loadIdentity reads the mappings of every distinct id the rows mention and
// the persons those ids resolve to (plus their implicit persons, which an
// identify may absorb).
func (w *writer) loadIdentity(ctx context.Context, st *identityState, rows []identRow) error {
	var keys []personKey
	seen := map[personKey]bool{}
	add := func(k personKey) {
		if k.id != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, r := range rows {
		add(personKey{r.project, r.distinct})
		if r.identify {
			add(personKey{r.project, r.anon})
		}
	}
	kt, err := keyTable(keys)
	if err != nil {
		return fmt.Errorf("clickhouse: append: identity keys: %w", err)
	}
	q, err := w.s.conn.Query(ch.Context(ctx, ch.WithExternalTable(kt)), `SELECT project_id, distinct_id, argMax(person_id, version)
		FROM person_distinct_ids WHERE (project_id, distinct_id) GLOBAL IN (SELECT project_id, id FROM ident_keys)
		GROUP BY project_id, distinct_id`)
	if err != nil {
		return fmt.Errorf("clickhouse: append: load person mappings: %w", err)
	}
	for q.Next() {
		var k personKey
		var pid string
		if err := q.Scan(&k.project, &k.id, &pid); err != nil {
			q.Close()
			return fmt.Errorf("clickhouse: append: read person mapping: %w", err)
		}
		st.mapping[k] = pid
	}
	q.Close()
	if err := q.Err(); err != nil {
		return fmt.Errorf("clickhouse: append: load person mappings: %w", err)
	}

	for k, pid := range st.mapping {
		add(personKey{k.project, pid})
	}
	if kt, err = keyTable(keys); err != nil {
		return fmt.Errorf("clickhouse: append: identity keys: %w", err)
	}
	q, err = w.s.conn.Query(ch.Context(ctx, ch.WithExternalTable(kt)), `SELECT project_id, person_id, argMax(properties, version),
			argMax(created_at, version), argMax(is_identified, version), argMax(is_deleted, version)
		FROM persons WHERE (project_id, person_id) GLOBAL IN (SELECT project_id, id FROM ident_keys)
		GROUP BY project_id, person_id`)
	if err != nil {
		return fmt.Errorf("clickhouse: append: load persons: %w", err)
	}
	defer q.Close()
	for q.Next() {
		var k personKey
		var props string
		var created int64
		var identified, deleted uint8
		if err := q.Scan(&k.project, &k.id, &props, &created, &identified, &deleted); err != nil {
			return fmt.Errorf("clickhouse: append: read person: %w", err)
		}
		if deleted != 0 {
			continue
		}
		p := &person{created: time.UnixMicro(created).UTC(), identified: identified != 0}
		if err := json.Unmarshal([]byte(props), &p.props); err != nil || p.props == nil {
			p.props = map[string]json.RawMessage{}
		}
		st.persons[k] = p
	}
	if err := q.Err(); err != nil {
		return fmt.Errorf("clickhouse: append: load persons: %w", err)
	}
	return nil
}

func (w *writer) storeIdentity(ctx context.Context, st *identityState) error {
	ver := w.s.version()
	if len(st.mapOrder) > 0 {
		b, err := w.s.conn.PrepareBatch(ctx, "INSERT INTO person_distinct_ids (project_id, distinct_id, person_id, version)")
		if err != nil {
			return fmt.Errorf("clickhouse: append: prepare person mappings: %w", err)
		}
		for _, k := range st.mapOrder {
			if err := b.Append(k.project, k.id, st.newMap[k], ver); err != nil {
				b.Abort()
				return fmt.Errorf("clickhouse: append: person mapping: %w", err)
			}
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("clickhouse: append: store %d person mappings: %w", len(st.mapOrder), err)
		}
	}
	b, err := w.s.conn.PrepareBatch(ctx, "INSERT INTO persons (project_id, person_id, properties, prop_keys, prop_values, created_at, is_identified, is_deleted, version)")
	if err != nil {
		return fmt.Errorf("clickhouse: append: prepare persons: %w", err)
	}
	n := 0
	for k := range st.removed {
		if err := b.Append(k.project, k.id, "{}", []string{}, []string{}, int64(0), uint8(0), uint8(1), ver); err != nil {
			b.Abort()
			return fmt.Errorf("clickhouse: append: remove person: %w", err)
		}
		n++
	}
	for k, p := range st.persons {
		if !p.dirty {
			continue
		}
		doc, err := json.Marshal(p.props)
		if err != nil {
			b.Abort()
			return fmt.Errorf("clickhouse: append: encode properties of person %q: %w", k.id, err)
		}
		keys, vals := flattenMap(p.props)
		if keys == nil {
			keys, vals = []string{}, []string{}
		}
		if err := b.Append(k.project, k.id, string(doc), keys, vals, p.created.UnixMicro(), b2u(p.identified), uint8(0), ver); err != nil {
			b.Abort()
			return fmt.Errorf("clickhouse: append: person %q: %w", k.id, err)
		}
		n++
	}
	if n == 0 {
		b.Abort()
		return nil
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("clickhouse: append: store %d persons: %w", n, err)
	}
	return nil
}
