package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/query"
	"github.com/sightline-analytics/sightline/store"
)

// Identity follows PostHog's merge rules (store.Identities holds them once):
// an $identify maps its anonymous id to the identified person, unless that
// id already belongs to one; placeholders never merge; $set overwrites and
// $set_once fills person properties; replays change nothing.

func identify(uuid, user, anon string, ts time.Time, extra string) event.Event {
	return Event(1, uuid, "$identify", user, ts, `{"$anon_distinct_id":"`+anon+`"`+extra+`}`)
}

// eventPersons lists "uuid|person_id" of a project's events as queries
// resolve them.
func eventPersons(t testing.TB, s store.Store, project int64) []string {
	t.Helper()
	var out []string
	for _, e := range Events(t, s, project) {
		out = append(out, e.UUID+"|"+e.PersonID)
	}
	return out
}

// personRows formats the harness's person rows as
// "id|identified|properties|HH:MM of created_at".
func personRows(t testing.TB, h Harness, s store.Store, project int64) []string {
	t.Helper()
	var out []string
	for _, p := range h.Persons(t, s, project) {
		ident := "false"
		if p.Identified {
			ident = "true"
		}
		out = append(out, p.ID+"|"+ident+"|"+p.Properties+"|"+p.CreatedAt.UTC().Format("15:04"))
	}
	return out
}

func testIdentifyMergesAnonymousHistory(t *testing.T, h Harness) {
	at := func(m int) time.Time { return T0.Add(time.Duration(m) * time.Minute) }
	ev := func(uuid, name, distinct string, ts time.Time, props string) event.Event {
		return Event(1, uuid, name, distinct, ts, props)
	}
	tests := []struct {
		name        string
		batches     [][]event.Event
		wantPersons []string // uuid|person_id
		wantRows    []string // persons rows
	}{
		{
			name: "identify in a later batch joins earlier anonymous events",
			batches: [][]event.Event{
				{ev("e1", "$pageview", "anon-1", at(0), ""), ev("e2", "$pageview", "anon-1", at(1), "")},
				{identify("e3", "alice", "anon-1", at(2), ""), ev("e4", "purchase", "alice", at(3), "")},
			},
			wantPersons: []string{"e1|alice", "e2|alice", "e3|alice", "e4|alice"},
			wantRows:    []string{"alice|true|{}|09:02"},
		},
		{
			name: "identify in the same batch, events after it from the anonymous id too",
			batches: [][]event.Event{{
				ev("e1", "$pageview", "anon-1", at(0), ""),
				identify("e2", "alice", "anon-1", at(1), ""),
				ev("e3", "$pageview", "anon-1", at(2), ""),
				ev("e4", "$pageview", "anon-2", at(3), ""),
			}},
			wantPersons: []string{"e1|alice", "e2|alice", "e3|alice", "e4|anon-2"},
			wantRows:    []string{"alice|true|{}|09:01"},
		},
		{
			name: "a second device joins the same person",
			batches: [][]event.Event{
				{ev("e1", "$pageview", "laptop", at(0), ""), identify("e2", "alice", "laptop", at(1), "")},
				{ev("e3", "$pageview", "phone", at(2), ""), identify("e4", "alice", "phone", at(3), "")},
			},
			wantPersons: []string{"e1|alice", "e2|alice", "e3|alice", "e4|alice"},
			wantRows:    []string{"alice|true|{}|09:01"},
		},
		{
			name: "an anonymous id of an identified person is not re-merged",
			batches: [][]event.Event{
				{ev("e1", "$pageview", "shared-pc", at(0), ""), identify("e2", "alice", "shared-pc", at(1), "")},
				// Bob logs in on the same browser without a reset.
				{identify("e3", "bob", "shared-pc", at(2), ""), ev("e4", "$pageview", "bob", at(3), "")},
			},
			wantPersons: []string{"e1|alice", "e2|alice", "e3|bob", "e4|bob"},
			wantRows:    []string{"alice|true|{}|09:01", "bob|true|{}|09:02"},
		},
		{
			name: "identify by an id already merged into a person uses that person",
			batches: [][]event.Event{
				{identify("e1", "alice", "anon-1", at(0), "")},
				{identify("e2", "anon-1", "anon-2", at(1), ""), ev("e3", "$pageview", "anon-2", at(2), "")},
			},
			wantPersons: []string{"e1|alice", "e2|alice", "e3|alice"},
			wantRows:    []string{"alice|true|{}|09:00"},
		},
		{
			name: "identify without an anonymous id only marks the person identified",
			batches: [][]event.Event{
				{ev("e1", "$identify", "carol", at(0), "{}"), ev("e2", "$identify", "dave", at(1), `{"$anon_distinct_id":"dave"}`)},
			},
			wantPersons: []string{"e1|carol", "e2|dave"},
			wantRows:    []string{"carol|true|{}|09:00", "dave|true|{}|09:01"},
		},
		{
			name: "placeholder ids never merge",
			batches: [][]event.Event{{
				ev("e1", "$pageview", "undefined", at(0), ""),
				identify("e2", "alice", "undefined", at(1), ""),
				ev("e3", "$pageview", "anon-1", at(2), ""),
				identify("e4", "null", "anon-1", at(3), ""),
			}},
			wantPersons: []string{"e1|undefined", "e2|alice", "e3|anon-1", "e4|null"},
			wantRows:    []string{"alice|true|{}|09:01"},
		},
		{
			name: "anonymous person properties fill the identified person's",
			batches: [][]event.Event{
				{
					ev("e1", "$pageview", "anon-1", at(0), `{"$set_once":{"initial_referrer":"news"},"$set":{"plan":"free","theme":"dark"}}`),
					ev("e2", "login", "alice", at(1), `{"$set":{"plan":"pro"}}`),
				},
				{identify("e3", "alice", "anon-1", at(2), `,"$set":{"email":"a@example.com"}`)},
			},
			wantPersons: []string{"e1|alice", "e2|alice", "e3|alice"},
			// alice's own plan wins over the anonymous one; created_at is the earliest.
			wantRows: []string{`alice|true|{"email":"a@example.com","initial_referrer":"news","plan":"pro","theme":"dark"}|09:00`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := h.Open(t, nil)
			for _, b := range tt.batches {
				MustAppend(t, s, b)
			}
			check := func(when string) {
				t.Helper()
				if got := eventPersons(t, s, 1); !slices.Equal(got, tt.wantPersons) {
					t.Fatalf("%s: event persons = %v, want %v", when, got, tt.wantPersons)
				}
				if got := personRows(t, h, s, 1); !slices.Equal(got, tt.wantRows) {
					t.Fatalf("%s: persons =\n%s\nwant\n%s", when, strings.Join(got, "\n"), strings.Join(tt.wantRows, "\n"))
				}
			}
			check("after append")
			// Replaying every batch changes nothing.
			for _, b := range tt.batches {
				MustAppend(t, s, b)
			}
			check("after replay")
		})
	}
}

func testPersonProperties(t *testing.T, h Harness) {
	s := h.Open(t, nil)
	at := func(m int) time.Time { return T0.Add(time.Duration(m) * time.Minute) }
	MustAppend(t, s, []event.Event{
		Event(1, "e1", "$pageview", "u", at(5), `{"$set":{"plan":"free","n":1},"$set_once":{"first_seen_plan":"free"}}`),
		Event(1, "e2", "upgrade", "u", at(6), `{"$set":{"plan":"pro"},"$set_once":{"first_seen_plan":"pro","signup":"web"}}`),
		Event(1, "e3", "$pageview", "v", at(7), `{"$set_once":{"a":{"nested":[1,2]}}}`),
		Event(2, "e4", "$pageview", "u", at(8), `{"$set":{"plan":"other project"}}`),
	})
	want := []string{
		`u|false|{"first_seen_plan":"free","n":1,"plan":"pro","signup":"web"}|09:05`,
		`v|false|{"a":{"nested":[1,2]}}|09:07`,
	}
	if got := personRows(t, h, s, 1); !slices.Equal(got, want) {
		t.Fatalf("persons =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A later batch overwrites with $set; an older event arriving late
	// moves created_at back; a retried old batch does not revert anything.
	MustAppend(t, s, []event.Event{
		Event(1, "e5", "downgrade", "u", at(9), `{"$set":{"plan":"free"},"$set_once":{"n":99}}`),
		Event(1, "e6", "late", "u", at(1), `{"$set_once":{"late":true}}`),
	})
	MustAppend(t, s, []event.Event{
		Event(1, "e2", "upgrade", "u", at(6), `{"$set":{"plan":"pro"},"$set_once":{"first_seen_plan":"pro","signup":"web"}}`),
	})
	want[0] = `u|false|{"first_seen_plan":"free","late":true,"n":1,"plan":"free","signup":"web"}|09:01`
	if got := personRows(t, h, s, 1); !slices.Equal(got, want) {
		t.Fatalf("persons =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := personRows(t, h, s, 2); !slices.Equal(got, []string{`u|false|{"plan":"other project"}|09:08`}) {
		t.Fatalf("project 2 persons = %v", got)
	}

	// Queries filter on the properties of the resolved person: after the
	// identify, u's history is u@example.com's, whose plan is u's.
	MustAppend(t, s, []event.Event{identify("e7", "u@example.com", "u", at(10), "")})
	res, err := engine.Run(context.Background(), query.Request{ProjectID: 1, DB: s, NoCache: true, Query: &query.LiveEvents{
		Common: query.Common{Filters: []query.Filter{{Type: "person", Prop: "plan", Op: query.OpEq, Value: "free"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range res.(*query.EventsResult).Events {
		got = append(got, e.UUID+"|"+e.PersonID)
	}
	slices.Sort(got)
	wantJoin := []string{"e1|u@example.com", "e2|u@example.com", "e5|u@example.com", "e6|u@example.com", "e7|u@example.com"}
	if !slices.Equal(got, wantJoin) {
		t.Fatalf("events of persons on the free plan = %v, want %v", got, wantJoin)
	}
}
