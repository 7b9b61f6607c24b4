package duckdb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

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

// loadIdentity reads the mappings of every distinct id the rows mention and
// the persons those ids resolve to (plus their implicit persons, which an
// identify may absorb).
func (w *writer) loadIdentity(ctx context.Context, st *identityState, rows []identRow) error {
	var projects []int64
	var ids []string
	seen := map[personKey]bool{}
	add := func(k personKey) {
		if k.id != "" && !seen[k] {
			seen[k] = true
			projects = append(projects, k.project)
			ids = append(ids, k.id)
		}
	}
	for _, r := range rows {
		add(personKey{r.project, r.distinct})
		if r.identify {
			add(personKey{r.project, r.anon})
		}
	}
	q, err := w.conn.QueryContext(ctx, `SELECT pd.project_id, pd.distinct_id, pd.person_id
		FROM person_distinct_ids pd
		JOIN (SELECT unnest(?::BIGINT[]) AS project_id, unnest(?::VARCHAR[]) AS distinct_id) k
		  ON pd.project_id = k.project_id AND pd.distinct_id = k.distinct_id`, projects, ids)
	if err != nil {
		return fmt.Errorf("duckdb: append: load person mappings: %w", err)
	}
	for q.Next() {
		var k personKey
		var pid string
		if err := q.Scan(&k.project, &k.id, &pid); err != nil {
			q.Close()
			return fmt.Errorf("duckdb: append: read person mapping: %w", err)
		}
		st.mapping[k] = pid
	}
	q.Close()
	if err := q.Err(); err != nil {
		return fmt.Errorf("duckdb: append: load person mappings: %w", err)
	}

	for k, pid := range st.mapping {
		add(personKey{k.project, pid})
	}
	q, err = w.conn.QueryContext(ctx, `SELECT p.project_id, p.person_id, p.properties::VARCHAR, p.created_at, p.is_identified
		FROM persons p
		JOIN (SELECT unnest(?::BIGINT[]) AS project_id, unnest(?::VARCHAR[]) AS person_id) k
		  ON p.project_id = k.project_id AND p.person_id = k.person_id`, projects, ids)
	if err != nil {
		return fmt.Errorf("duckdb: append: load persons: %w", err)
	}
	defer q.Close()
	for q.Next() {
		var k personKey
		var props string
		p := &person{}
		if err := q.Scan(&k.project, &k.id, &props, &p.created, &p.identified); err != nil {
			return fmt.Errorf("duckdb: append: read person: %w", err)
		}
		if err := json.Unmarshal([]byte(props), &p.props); err != nil || p.props == nil {
			p.props = map[string]json.RawMessage{}
		}
		st.persons[k] = p
	}
	if err := q.Err(); err != nil {
		return fmt.Errorf("duckdb: append: load persons: %w", err)
	}
	return nil
}

func (w *writer) storeIdentity(ctx context.Context, st *identityState) error {
	if len(st.mapOrder) > 0 {
		projects := make([]int64, 0, len(st.mapOrder))
		ids := make([]string, 0, len(st.mapOrder))
		pids := make([]string, 0, len(st.mapOrder))
		for _, k := range st.mapOrder {
			projects = append(projects, k.project)
			ids = append(ids, k.id)
			pids = append(pids, st.newMap[k])
		}
		if _, err := w.conn.ExecContext(ctx, `INSERT INTO person_distinct_ids (project_id, distinct_id, person_id)
			SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])
			ON CONFLICT (project_id, distinct_id) DO UPDATE SET person_id = excluded.person_id`,
			projects, ids, pids); err != nil {
			return fmt.Errorf("duckdb: append: store %d person mappings: %w", len(ids), err)
		}
	}

	if len(st.removed) > 0 {
		var projects []int64
		var ids []string
		for k := range st.removed {
			projects = append(projects, k.project)
			ids = append(ids, k.id)
		}
		if _, err := w.conn.ExecContext(ctx, `DELETE FROM persons p
			USING (SELECT unnest(?::BIGINT[]) AS project_id, unnest(?::VARCHAR[]) AS person_id) k
			WHERE p.project_id = k.project_id AND p.person_id = k.person_id`, projects, ids); err != nil {
			return fmt.Errorf("duckdb: append: remove %d merged persons: %w", len(ids), err)
		}
	}

	var (
		projects   []int64
		ids        []string
		props      []string
		created    []time.Time
		identified []bool
	)
	for k, p := range st.persons {
		if !p.dirty {
			continue
		}
		doc, err := json.Marshal(p.props)
		if err != nil {
			return fmt.Errorf("duckdb: append: encode properties of person %q: %w", k.id, err)
		}
		projects = append(projects, k.project)
		ids = append(ids, k.id)
		props = append(props, string(doc))
		created = append(created, p.created)
		identified = append(identified, p.identified)
	}
	if len(ids) == 0 {
		return nil
	}
	if _, err := w.conn.ExecContext(ctx, `INSERT INTO persons (project_id, person_id, properties, created_at, is_identified)
		SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])::JSON,
		       unnest(?::TIMESTAMPTZ[]), unnest(?::BOOLEAN[])
		ON CONFLICT (project_id, person_id) DO UPDATE SET
			properties = excluded.properties,
			created_at = excluded.created_at,
			is_identified = excluded.is_identified`,
		projects, ids, props, created, identified); err != nil {
		return fmt.Errorf("duckdb: append: store %d persons: %w", len(ids), err)
	}
	return nil
}
