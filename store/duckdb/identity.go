package duckdb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sightline-analytics/sightline/store"
)

// Identity rules are store's (store.Identities); this file loads and
// writes the person tables they work on.

// applyIdentity processes the batch's identity facts that were not
// duplicates.
func (w *writer) applyIdentity(ctx context.Context, dups map[store.EventKey]bool) error {
	facts := w.sel.NewFacts(dups)
	if len(facts) == 0 {
		return nil
	}
	st := store.NewIdentities()
	if err := w.loadIdentity(ctx, st, facts); err != nil {
		return err
	}
	st.Apply(facts)
	return w.storeIdentity(ctx, st)
}

// loadIdentity reads the mappings of every distinct id the facts mention and
// the persons those ids resolve to (plus their implicit persons, which an
// identify may absorb).
func (w *writer) loadIdentity(ctx context.Context, st *store.Identities, facts []store.IdentityFact) error {
	projects, ids := keyColumns(store.Keys(facts))
	q, err := w.conn.QueryContext(ctx, `SELECT pd.project_id, pd.distinct_id, pd.person_id
		FROM person_distinct_ids pd
		JOIN (SELECT unnest(?::BIGINT[]) AS project_id, unnest(?::VARCHAR[]) AS distinct_id) k
		  ON pd.project_id = k.project_id AND pd.distinct_id = k.distinct_id`, projects, ids)
	if err != nil {
		return fmt.Errorf("duckdb: append: load person mappings: %w", err)
	}
	for q.Next() {
		var k store.PersonKey
		var pid string
		if err := q.Scan(&k.Project, &k.ID, &pid); err != nil {
			q.Close()
			return fmt.Errorf("duckdb: append: read person mapping: %w", err)
		}
		st.Mapping[k] = pid
	}
	q.Close()
	if err := q.Err(); err != nil {
		return fmt.Errorf("duckdb: append: load person mappings: %w", err)
	}

	projects, ids = keyColumns(st.PersonKeys(facts))
	q, err = w.conn.QueryContext(ctx, `SELECT p.project_id, p.person_id, p.properties::VARCHAR, p.created_at, p.is_identified
		FROM persons p
		JOIN (SELECT unnest(?::BIGINT[]) AS project_id, unnest(?::VARCHAR[]) AS person_id) k
		  ON p.project_id = k.project_id AND p.person_id = k.person_id`, projects, ids)
	if err != nil {
		return fmt.Errorf("duckdb: append: load persons: %w", err)
	}
	defer q.Close()
	for q.Next() {
		var k store.PersonKey
		var props string
		p := &store.Person{}
		if err := q.Scan(&k.Project, &k.ID, &props, &p.Created, &p.Identified); err != nil {
			return fmt.Errorf("duckdb: append: read person: %w", err)
		}
		if err := json.Unmarshal([]byte(props), &p.Props); err != nil || p.Props == nil {
			p.Props = map[string]json.RawMessage{}
		}
		st.Persons[k] = p
	}
	if err := q.Err(); err != nil {
		return fmt.Errorf("duckdb: append: load persons: %w", err)
	}
	return nil
}

// keyColumns splits keys into the two arrays the lookups unnest.
func keyColumns(keys []store.PersonKey) ([]int64, []string) {
	projects := make([]int64, len(keys))
	ids := make([]string, len(keys))
	for i, k := range keys {
		projects[i], ids[i] = k.Project, k.ID
	}
	return projects, ids
}

func (w *writer) storeIdentity(ctx context.Context, st *store.Identities) error {
	if len(st.MapOrder) > 0 {
		projects := make([]int64, 0, len(st.MapOrder))
		ids := make([]string, 0, len(st.MapOrder))
		pids := make([]string, 0, len(st.MapOrder))
		for _, k := range st.MapOrder {
			projects = append(projects, k.Project)
			ids = append(ids, k.ID)
			pids = append(pids, st.NewMap[k])
		}
		if _, err := w.conn.ExecContext(ctx, `INSERT INTO person_distinct_ids (project_id, distinct_id, person_id)
			SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])
			ON CONFLICT (project_id, distinct_id) DO UPDATE SET person_id = excluded.person_id`,
			projects, ids, pids); err != nil {
			return fmt.Errorf("duckdb: append: store %d person mappings: %w", len(ids), err)
		}
	}

	if len(st.Removed) > 0 {
		var projects []int64
		var ids []string
		for k := range st.Removed {
			projects = append(projects, k.Project)
			ids = append(ids, k.ID)
		}
		if _, err := w.conn.ExecContext(ctx, `DELETE FROM persons p
			USING (SELECT unnest(?::BIGINT[]) AS project_id, unnest(?::VARCHAR[]) AS person_id) k
			WHERE p.project_id = k.Project_id AND p.person_id = k.person_id`, projects, ids); err != nil {
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
	for k, p := range st.Persons {
		if !p.Dirty {
			continue
		}
		doc, err := json.Marshal(p.Props)
		if err != nil {
			return fmt.Errorf("duckdb: append: encode properties of person %q: %w", k.ID, err)
		}
		projects = append(projects, k.Project)
		ids = append(ids, k.ID)
		props = append(props, string(doc))
		created = append(created, p.Created)
		identified = append(identified, p.Identified)
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
