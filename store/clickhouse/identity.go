package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"

	"github.com/sightline-analytics/sightline/store"
)

// Identity rules are store's (store.Identities), shared with store/duckdb
// so that both stores resolve persons the same way; this file loads and
// writes the person tables, whose rows are versioned and read with argMax.

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

// keyTable is an external table of (project_id, id) pairs for GLOBAL IN.
func keyTable(keys []store.PersonKey) (*ext.Table, error) {
	t, err := ext.NewTable("ident_keys", ext.Column("project_id", "Int64"), ext.Column("id", "String"))
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if err := t.Append(k.Project, k.ID); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// loadIdentity reads the mappings of every distinct id the rows mention and
// the persons those ids resolve to (plus their implicit persons, which an
// identify may absorb).
func (w *writer) loadIdentity(ctx context.Context, st *store.Identities, facts []store.IdentityFact) error {
	kt, err := keyTable(store.Keys(facts))
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
		var k store.PersonKey
		var pid string
		if err := q.Scan(&k.Project, &k.ID, &pid); err != nil {
			q.Close()
			return fmt.Errorf("clickhouse: append: read person mapping: %w", err)
		}
		st.Mapping[k] = pid
	}
	q.Close()
	if err := q.Err(); err != nil {
		return fmt.Errorf("clickhouse: append: load person mappings: %w", err)
	}

	if kt, err = keyTable(st.PersonKeys(facts)); err != nil {
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
		var k store.PersonKey
		var props string
		var created int64
		var identified, deleted uint8
		if err := q.Scan(&k.Project, &k.ID, &props, &created, &identified, &deleted); err != nil {
			return fmt.Errorf("clickhouse: append: read person: %w", err)
		}
		if deleted != 0 {
			continue
		}
		p := &store.Person{Created: time.UnixMicro(created).UTC(), Identified: identified != 0}
		if err := json.Unmarshal([]byte(props), &p.Props); err != nil || p.Props == nil {
			p.Props = map[string]json.RawMessage{}
		}
		st.Persons[k] = p
	}
	if err := q.Err(); err != nil {
		return fmt.Errorf("clickhouse: append: load persons: %w", err)
	}
	return nil
}

func (w *writer) storeIdentity(ctx context.Context, st *store.Identities) error {
	ver := w.s.version()
	if len(st.MapOrder) > 0 {
		b, err := w.s.conn.PrepareBatch(ctx, "INSERT INTO person_distinct_ids (project_id, distinct_id, person_id, version)")
		if err != nil {
			return fmt.Errorf("clickhouse: append: prepare person mappings: %w", err)
		}
		for _, k := range st.MapOrder {
			if err := b.Append(k.Project, k.ID, st.NewMap[k], ver); err != nil {
				b.Abort()
				return fmt.Errorf("clickhouse: append: person mapping: %w", err)
			}
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("clickhouse: append: store %d person mappings: %w", len(st.MapOrder), err)
		}
	}
	b, err := w.s.conn.PrepareBatch(ctx, "INSERT INTO persons (project_id, person_id, properties, prop_keys, prop_values, created_at, is_identified, is_deleted, version)")
	if err != nil {
		return fmt.Errorf("clickhouse: append: prepare persons: %w", err)
	}
	n := 0
	for k := range st.Removed {
		if err := b.Append(k.Project, k.ID, "{}", []string{}, []string{}, int64(0), uint8(0), uint8(1), ver); err != nil {
			b.Abort()
			return fmt.Errorf("clickhouse: append: remove person: %w", err)
		}
		n++
	}
	for k, p := range st.Persons {
		if !p.Dirty {
			continue
		}
		doc, err := json.Marshal(p.Props)
		if err != nil {
			b.Abort()
			return fmt.Errorf("clickhouse: append: encode properties of person %q: %w", k.ID, err)
		}
		keys, vals := flattenMap(p.Props)
		if keys == nil {
			keys, vals = []string{}, []string{}
		}
		if err := b.Append(k.Project, k.ID, string(doc), keys, vals, p.Created.UnixMicro(), b2u(p.Identified), uint8(0), ver); err != nil {
			b.Abort()
			return fmt.Errorf("clickhouse: append: person %q: %w", k.ID, err)
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
