package store

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sightline-analytics/sightline/event"
)

// Identity follows PostHog's rules, the same for every store:
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
//
// A store extracts each event's IdentityFact while it appends, loads into an
// Identities the mappings and persons those facts mention, calls Apply, and
// writes back what changed. Only loading and storing are the store's own.

// IdentityFact is what identity processing needs of one event: an
// $identify, or an event carrying $set / $set_once.
type IdentityFact struct {
	UUID       string
	Project    int64
	DistinctID string
	AnonID     string // event.IdentifyAnonID of an $identify
	Identify   bool
	Set        map[string]json.RawMessage
	SetOnce    map[string]json.RawMessage
	Time       time.Time
}

var setMarker = []byte(`"$set`)

// IdentityFactOf extracts identity facts from an event stored at time ts.
// The properties are looked at only for $identify and for events whose raw
// JSON mentions "$set, so ordinary events cost one byte search. Ids are
// cleaned (Clean) as the stores keep them.
func IdentityFactOf(e *event.Event, ts time.Time) (IdentityFact, bool) {
	identify := e.Event == event.Identify && !event.IllegalDistinctID(e.DistinctID)
	if !identify && !bytes.Contains(e.Properties, setMarker) {
		return IdentityFact{}, false
	}
	set, setOnce := event.PersonProps(e)
	f := IdentityFact{
		UUID:       Clean(e.UUID),
		Project:    e.ProjectID,
		DistinctID: Clean(e.DistinctID),
		Identify:   identify,
		Set:        jsonObject(set),
		SetOnce:    jsonObject(setOnce),
		Time:       ts,
	}
	if identify {
		f.AnonID = Clean(event.IdentifyAnonID(e))
	}
	if f.DistinctID == "" || (!identify && f.Set == nil && f.SetOnce == nil) {
		return IdentityFact{}, false
	}
	return f, true
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

// PersonKey names a person, or a distinct id, within a project.
type PersonKey struct {
	Project int64
	ID      string
}

// Person is a person's row as identity processing sees it.
type Person struct {
	Props      map[string]json.RawMessage
	Created    time.Time
	Identified bool
	// Dirty marks a person whose row must be written back.
	Dirty bool
}

// Identities is the part of the person tables one batch touches: loaded by
// the store, changed in memory by Apply in event order, and written back.
type Identities struct {
	// Mapping is distinct id → person id, for mapped ids. The store loads
	// the rows of every id its facts mention (DistinctID and AnonID).
	Mapping map[PersonKey]string
	// Persons holds the loaded rows of the persons those ids resolve to,
	// and of the ids themselves (an identify may absorb them).
	Persons map[PersonKey]*Person

	// What Apply changed: mappings to write (in first-write order), and
	// persons whose rows must go (merged into another).
	NewMap   map[PersonKey]string
	MapOrder []PersonKey
	Removed  map[PersonKey]bool
}

// NewIdentities returns empty identity state for a store to load.
func NewIdentities() *Identities {
	return &Identities{
		Mapping: map[PersonKey]string{},
		Persons: map[PersonKey]*Person{},
		NewMap:  map[PersonKey]string{},
		Removed: map[PersonKey]bool{},
	}
}

// Keys lists, once each, the ids the facts mention: what a store loads
// into Mapping before Apply.
func Keys(facts []IdentityFact) []PersonKey {
	var keys []PersonKey
	seen := map[PersonKey]bool{}
	add := func(k PersonKey) {
		if k.ID != "" && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, f := range facts {
		add(PersonKey{f.Project, f.DistinctID})
		if f.Identify {
			add(PersonKey{f.Project, f.AnonID})
		}
	}
	return keys
}

// PersonKeys lists the persons whose rows a store loads into Persons once
// Mapping is loaded: the ids themselves and the persons they map to.
func (st *Identities) PersonKeys(facts []IdentityFact) []PersonKey {
	keys := Keys(facts)
	seen := make(map[PersonKey]bool, len(keys))
	for _, k := range keys {
		seen[k] = true
	}
	for k, pid := range st.Mapping {
		pk := PersonKey{k.Project, pid}
		if pid != "" && !seen[pk] {
			seen[pk] = true
			keys = append(keys, pk)
		}
	}
	return keys
}

// Apply processes facts in order.
func (st *Identities) Apply(facts []IdentityFact) {
	for _, f := range facts {
		if f.Identify {
			st.identify(f)
		}
		if f.Set == nil && f.SetOnce == nil {
			continue
		}
		p := st.person(st.resolve(PersonKey{f.Project, f.DistinctID}), f.Time)
		for k, v := range f.Set {
			p.Props[k] = v
			p.Dirty = true
		}
		for k, v := range f.SetOnce {
			if _, ok := p.Props[k]; !ok {
				p.Props[k] = v
				p.Dirty = true
			}
		}
	}
}

func (st *Identities) resolve(k PersonKey) PersonKey {
	if p, ok := st.Mapping[k]; ok {
		return PersonKey{k.Project, p}
	}
	return k
}

func (st *Identities) person(k PersonKey, ts time.Time) *Person {
	p := st.Persons[k]
	if p == nil {
		p = &Person{Props: map[string]json.RawMessage{}, Created: ts}
		st.Persons[k] = p
		delete(st.Removed, k)
	}
	if ts.Before(p.Created) {
		p.Created = ts
		p.Dirty = true
	}
	return p
}

func (st *Identities) mapTo(k PersonKey, personID string) {
	if _, ok := st.NewMap[k]; !ok {
		st.MapOrder = append(st.MapOrder, k)
	}
	st.Mapping[k] = personID
	st.NewMap[k] = personID
}

func (st *Identities) identify(f IdentityFact) {
	d := PersonKey{f.Project, f.DistinctID}
	pid, ok := st.Mapping[d]
	if !ok {
		pid = f.DistinctID
		st.mapTo(d, pid)
	}
	pk := PersonKey{f.Project, pid}
	p := st.person(pk, f.Time)
	if !p.Identified {
		p.Identified = true
		p.Dirty = true
	}
	if f.AnonID == "" || f.AnonID == f.DistinctID {
		return
	}
	a := PersonKey{f.Project, f.AnonID}
	if _, mapped := st.Mapping[a]; mapped {
		return // already some identified person's: never re-merged
	}
	st.mapTo(a, pid)
	if ap := st.Persons[a]; ap != nil && a != pk {
		for k, v := range ap.Props {
			if _, ok := p.Props[k]; !ok {
				p.Props[k] = v
			}
		}
		if ap.Created.Before(p.Created) {
			p.Created = ap.Created
		}
		p.Dirty = true
		delete(st.Persons, a)
		st.Removed[a] = true
	}
}

// Clean replaces invalid UTF-8 and NUL bytes with U+FFFD. Stores keep text
// cleaned this way (DuckDB would turn invalid UTF-8 into NULL, and NUL
// separates packed fields), so that every store holds the same text.
func Clean(s string) string {
	if IsClean(s) {
		return s
	}
	return string(AppendClean(nil, s))
}

// IsClean reports whether Clean would return s unchanged.
func IsClean(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

// AppendClean appends Clean(s) to b.
func AppendClean(b []byte, s string) []byte {
	if IsClean(s) {
		return append(b, s...)
	}
	for _, r := range s { // ranging yields utf8.RuneError for invalid bytes
		if r == 0 {
			r = utf8.RuneError
		}
		b = utf8.AppendRune(b, r)
	}
	return b
}
