package store

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
)

func TestIdentitiesApply(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	props := func(s string) json.RawMessage { return json.RawMessage(s) }
	ev := func(name, distinct, p string, at int) event.Event {
		return event.Event{ProjectID: 1, UUID: distinct + name, Event: name, DistinctID: distinct,
			Timestamp: t0.Add(time.Duration(at) * time.Minute), Properties: props(p)}
	}
	facts := func(evs ...event.Event) []IdentityFact {
		var out []IdentityFact
		for _, e := range evs {
			if f, ok := IdentityFactOf(&e, e.Timestamp); ok {
				out = append(out, f)
			}
		}
		return out
	}

	// An anonymous visitor with properties identifies as alice: the anonymous
	// id maps to alice, its properties fill the keys alice lacks, its row
	// goes, and alice's person dates from the anonymous visit.
	st := NewIdentities()
	st.Persons[PersonKey{1, "anon"}] = &Person{Props: map[string]json.RawMessage{"plan": props(`"free"`), "ref": props(`"ad"`)}, Created: t0}
	st.Apply(facts(
		ev("$pageview", "anon", `{"$set":{"plan":"pro"}}`, 1),
		ev("$identify", "alice", `{"$anon_distinct_id":"anon","$set_once":{"ref":"direct","first":"x"}}`, 2),
		ev("$pageview", "anon", `{"$set_once":{"first":"y"}}`, 3),
	))
	if got := st.Mapping[PersonKey{1, "anon"}]; got != "alice" {
		t.Fatalf("anon maps to %q, want alice", got)
	}
	alice := st.Persons[PersonKey{1, "alice"}]
	if alice == nil || !alice.Identified || !alice.Dirty || !alice.Created.Equal(t0) {
		t.Fatalf("alice = %+v", alice)
	}
	for k, want := range map[string]string{"plan": `"pro"`, "ref": `"ad"`, "first": `"x"`} {
		if got := string(alice.Props[k]); got != want {
			t.Errorf("alice.%s = %s, want %s", k, got, want)
		}
	}
	if !st.Removed[PersonKey{1, "anon"}] || st.Persons[PersonKey{1, "anon"}] != nil {
		t.Errorf("anon's row should be removed")
	}
	if len(st.MapOrder) != 2 || st.MapOrder[0] != (PersonKey{1, "alice"}) || st.MapOrder[1] != (PersonKey{1, "anon"}) {
		t.Errorf("MapOrder = %v", st.MapOrder)
	}

	// An id already mapped to an identified person is never merged again,
	// and placeholder ids merge nothing.
	st = NewIdentities()
	st.Mapping[PersonKey{1, "dev"}] = "bob"
	st.Apply(facts(
		ev("$identify", "carol", `{"$anon_distinct_id":"dev"}`, 1),
		ev("$identify", "undefined", `{"$anon_distinct_id":"x"}`, 2),
	))
	if got := st.Mapping[PersonKey{1, "dev"}]; got != "bob" {
		t.Errorf("dev re-merged into %q", got)
	}
	if _, ok := st.Mapping[PersonKey{1, "x"}]; ok {
		t.Errorf("an identify by a placeholder id merged x")
	}
	if len(st.NewMap) != 1 || st.NewMap[PersonKey{1, "carol"}] != "carol" {
		t.Errorf("NewMap = %v", st.NewMap)
	}
}

func TestIdentityKeys(t *testing.T) {
	f := []IdentityFact{
		{Project: 1, DistinctID: "a", Identify: true, AnonID: "b"},
		{Project: 1, DistinctID: "a", Set: map[string]json.RawMessage{"k": json.RawMessage(`1`)}},
		{Project: 2, DistinctID: "a", Identify: true},
	}
	keys := Keys(f)
	want := []PersonKey{{1, "a"}, {1, "b"}, {2, "a"}}
	if len(keys) != len(want) {
		t.Fatalf("Keys = %v, want %v", keys, want)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Fatalf("Keys = %v, want %v", keys, want)
		}
	}
	st := NewIdentities()
	st.Mapping[PersonKey{1, "b"}] = "p"
	if got := st.PersonKeys(f); len(got) != 4 || got[3] != (PersonKey{1, "p"}) {
		t.Fatalf("PersonKeys = %v", got)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{"ok": "ok", "a\x00b": "a\uFFFDb", "bad\xff": "bad\uFFFD", "": ""} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
		if IsClean(in) != (in == want) {
			t.Errorf("IsClean(%q) = %v", in, IsClean(in))
		}
	}
}
