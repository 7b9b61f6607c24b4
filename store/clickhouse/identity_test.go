package clickhouse

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
)

// personOf lists "uuid|person_id" for a project's events, resolved the way
// the query dialect does.
func personOf(t *testing.T, s *Store, project int64) []string {
	t.Helper()
	return queryStrings(t, s, `SELECT e.uuid, if(pd_person_id = '', e.distinct_id, pd_person_id)
		FROM events e ANY LEFT JOIN (SELECT distinct_id, argMax(person_id, version) AS pd_person_id
			FROM person_distinct_ids WHERE project_id = $1 GROUP BY distinct_id) pd USING (distinct_id)
		WHERE e.project_id = $1 ORDER BY e.uuid`, project)
}

func persons(t *testing.T, s *Store, project int64) []string {
	t.Helper()
	return queryStrings(t, s, `SELECT person_id, i, p, formatDateTime(toDateTime(intDiv(c, 1000000), 'UTC'), '%H:%M') FROM (
		SELECT person_id, argMax(is_identified, version) AS i, argMax(properties, version) AS p,
			argMax(created_at, version) AS c, argMax(is_deleted, version) AS del
		FROM persons WHERE project_id = $1 GROUP BY person_id) WHERE del = 0 ORDER BY person_id`, project)
}

func identify(uuid, user, anon string, ts time.Time, extra string) event.Event {
	props := `{"$anon_distinct_id":"` + anon + `"` + extra + `}`
	return ev(1, uuid, "$identify", user, ts, props)
}

func TestIdentifyMergesAnonymousHistory(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name        string
		batches     [][]event.Event
		wantPersons []string // uuid|person_id
		wantRows    []string // persons rows
	}{
		{
			name: "identify in a later batch joins earlier anonymous events",
			batches: [][]event.Event{
				{ev(1, "e1", "$pageview", "anon-1", at(0), ""), ev(1, "e2", "$pageview", "anon-1", at(1), "")},
				{identify("e3", "alice", "anon-1", at(2), ""), ev(1, "e4", "purchase", "alice", at(3), "")},
			},
			wantPersons: []string{"e1|alice", "e2|alice", "e3|alice", "e4|alice"},
			wantRows:    []string{"alice|1|{}|09:02"},
		},
		{
			name: "identify in the same batch, events after it from the anonymous id too",
			batches: [][]event.Event{{
				ev(1, "e1", "$pageview", "anon-1", at(0), ""),
				identify("e2", "alice", "anon-1", at(1), ""),
				ev(1, "e3", "$pageview", "anon-1", at(2), ""),
				ev(1, "e4", "$pageview", "anon-2", at(3), ""),
			}},
			wantPersons: []string{"e1|alice", "e2|alice", "e3|alice", "e4|anon-2"},
			wantRows:    []string{"alice|1|{}|09:01"},
		},
		{
			name: "a second device joins the same person",
			batches: [][]event.Event{
				{ev(1, "e1", "$pageview", "laptop", at(0), ""), identify("e2", "alice", "laptop", at(1), "")},
				{ev(1, "e3", "$pageview", "phone", at(2), ""), identify("e4", "alice", "phone", at(3), "")},
			},
			wantPersons: []string{"e1|alice", "e2|alice", "e3|alice", "e4|alice"},
			wantRows:    []string{"alice|1|{}|09:01"},
		},
		{
			name: "an anonymous id of an identified person is not re-merged",
			batches: [][]event.Event{
				{ev(1, "e1", "$pageview", "shared-pc", at(0), ""), identify("e2", "alice", "shared-pc", at(1), "")},
				// Bob logs in on the same browser without a reset.
				{identify("e3", "bob", "shared-pc", at(2), ""), ev(1, "e4", "$pageview", "bob", at(3), "")},
			},
			wantPersons: []string{"e1|alice", "e2|alice", "e3|bob", "e4|bob"},
			wantRows:    []string{"alice|1|{}|09:01", "bob|1|{}|09:02"},
		},
		{
			name: "identify by an id already merged into a person uses that person",
			batches: [][]event.Event{
				{identify("e1", "alice", "anon-1", at(0), "")},
				{identify("e2", "anon-1", "anon-2", at(1), ""), ev(1, "e3", "$pageview", "anon-2", at(2), "")},
			},
			wantPersons: []string{"e1|alice", "e2|alice", "e3|alice"},
			wantRows:    []string{"alice|1|{}|09:00"},
		},
		{
			name: "identify without an anonymous id only marks the person identified",
			batches: [][]event.Event{
				{ev(1, "e1", "$identify", "carol", at(0), "{}"), ev(1, "e2", "$identify", "dave", at(1), `{"$anon_distinct_id":"dave"}`)},
			},
			wantPersons: []string{"e1|carol", "e2|dave"},
			wantRows:    []string{"carol|1|{}|09:00", "dave|1|{}|09:01"},
		},
		{
			name: "placeholder ids never merge",
			batches: [][]event.Event{{
				ev(1, "e1", "$pageview", "undefined", at(0), ""),
				identify("e2", "alice", "undefined", at(1), ""),
				ev(1, "e3", "$pageview", "anon-1", at(2), ""),
				identify("e4", "null", "anon-1", at(3), ""),
			}},
			wantPersons: []string{"e1|undefined", "e2|alice", "e3|anon-1", "e4|null"},
			wantRows:    []string{"alice|1|{}|09:01"},
		},
		{
			name: "anonymous person properties fill the identified person's",
			batches: [][]event.Event{
				{
					ev(1, "e1", "$pageview", "anon-1", at(0), `{"$set_once":{"initial_referrer":"news"},"$set":{"plan":"free","theme":"dark"}}`),
					ev(1, "e2", "login", "alice", at(1), `{"$set":{"plan":"pro"}}`),
				},
				{identify("e3", "alice", "anon-1", at(2), `,"$set":{"email":"a@example.com"}`)},
			},
			wantPersons: []string{"e1|alice", "e2|alice", "e3|alice"},
			// alice's own plan wins over the anonymous one; created_at is the earliest.
			wantRows: []string{`alice|1|{"email":"a@example.com","initial_referrer":"news","plan":"pro","theme":"dark"}|09:00`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openKind(t, storeKinds[1])
			for _, b := range tt.batches {
				mustAppend(t, s, b)
			}
			check := func(when string) {
				t.Helper()
				if got := personOf(t, s, 1); !slices.Equal(got, tt.wantPersons) {
					t.Fatalf("%s: event persons = %v, want %v", when, got, tt.wantPersons)
				}
				if got := persons(t, s, 1); !slices.Equal(got, tt.wantRows) {
					t.Fatalf("%s: persons =\n%s\nwant\n%s", when, strings.Join(got, "\n"), strings.Join(tt.wantRows, "\n"))
				}
			}
			check("after append")
			// Replaying every batch changes nothing.
			for _, b := range tt.batches {
				mustAppend(t, s, b)
			}
			check("after replay")
		})
	}
}

func TestPersonProperties(t *testing.T) {
	s := openKind(t, storeKinds[1])
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	mustAppend(t, s, []event.Event{
		ev(1, "e1", "$pageview", "u", at(5), `{"$set":{"plan":"free","n":1},"$set_once":{"first_seen_plan":"free"}}`),
		ev(1, "e2", "upgrade", "u", at(6), `{"$set":{"plan":"pro"},"$set_once":{"first_seen_plan":"pro","signup":"web"}}`),
		ev(1, "e3", "$pageview", "v", at(7), `{"$set_once":{"a":{"nested":[1,2]}}}`),
		ev(2, "e4", "$pageview", "u", at(8), `{"$set":{"plan":"other project"}}`),
	})
	want := []string{
		`u|0|{"first_seen_plan":"free","n":1,"plan":"pro","signup":"web"}|09:05`,
		`v|0|{"a":{"nested":[1,2]}}|09:07`,
	}
	if got := persons(t, s, 1); !slices.Equal(got, want) {
		t.Fatalf("persons =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A later batch overwrites with $set; an older event arriving late
	// moves created_at back; a retried old batch does not revert anything.
	mustAppend(t, s, []event.Event{
		ev(1, "e5", "downgrade", "u", at(9), `{"$set":{"plan":"free"},"$set_once":{"n":99}}`),
		ev(1, "e6", "late", "u", at(1), `{"$set_once":{"late":true}}`),
	})
	mustAppend(t, s, []event.Event{
		ev(1, "e2", "upgrade", "u", at(6), `{"$set":{"plan":"pro"},"$set_once":{"first_seen_plan":"pro","signup":"web"}}`),
	})
	want[0] = `u|0|{"first_seen_plan":"free","late":true,"n":1,"plan":"free","signup":"web"}|09:01`
	if got := persons(t, s, 1); !slices.Equal(got, want) {
		t.Fatalf("persons =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := persons(t, s, 2); !slices.Equal(got, []string{`u|0|{"plan":"other project"}|09:08`}) {
		t.Fatalf("project 2 persons = %v", got)
	}

	// Person properties join on the resolved person.
	mustAppend(t, s, []event.Event{identify("e7", "u@example.com", "u", at(10), "")})
	got := queryStrings(t, s, `SELECT uuid, pp_values[indexOf(pp_keys, 'plan')]
		FROM (SELECT e.uuid AS uuid, if(pd_person_id = '', e.distinct_id, pd_person_id) AS person_id
			FROM events e ANY LEFT JOIN (SELECT distinct_id, argMax(person_id, version) AS pd_person_id
				FROM person_distinct_ids WHERE project_id = 1 GROUP BY distinct_id) pd USING (distinct_id)
			WHERE e.project_id = 1 AND e.distinct_id IN ('u', 'u@example.com')) x
		ANY LEFT JOIN (SELECT person_id, argMax(prop_keys, version) AS pp_keys, argMax(prop_values, version) AS pp_values
			FROM persons WHERE project_id = 1 GROUP BY person_id) pp USING (person_id)
		ORDER BY uuid`)
	wantJoin := []string{"e1|free", "e2|free", "e5|free", "e6|free", "e7|free"}
	if !slices.Equal(got, wantJoin) {
		t.Fatalf("joined person properties = %v, want %v", got, wantJoin)
	}
}
