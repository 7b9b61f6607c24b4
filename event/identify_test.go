package event

import (
	"encoding/json"
	"testing"
)

func TestIdentifyAnonID(t *testing.T) {
	cases := []struct {
		name, event, distinctID, props, want string
	}{
		{"identify", "$identify", "user-42", `{"$anon_distinct_id":"anon-1"}`, "anon-1"},
		{"escaped id", "$identify", "user-42", `{"x":{"$anon_distinct_id":"no"},"$anon_distinct_id":"an\"on"}`, `an"on`},
		{"not an identify", "$pageview", "user-42", `{"$anon_distinct_id":"anon-1"}`, ""},
		{"no anon id", "$identify", "user-42", `{"$set":{"a":1}}`, ""},
		{"anon id not a string", "$identify", "user-42", `{"$anon_distinct_id":42}`, ""},
		{"same id", "$identify", "anon-1", `{"$anon_distinct_id":"anon-1"}`, ""},
		{"placeholder anon id", "$identify", "user-42", `{"$anon_distinct_id":"undefined"}`, ""},
		{"placeholder distinct id", "$identify", "null", `{"$anon_distinct_id":"anon-1"}`, ""},
		{"placeholder any case", "$identify", "user-42", `{"$anon_distinct_id":"Anonymous"}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := Event{Event: c.event, DistinctID: c.distinctID, Properties: json.RawMessage(c.props)}
			if got := IdentifyAnonID(&e); got != c.want {
				t.Errorf("IdentifyAnonID = %q, want %q", got, c.want)
			}
		})
	}
}

func TestPersonPropsFromCorpus(t *testing.T) {
	var e Event
	if err := Normalize(ptr(rawFromJSON(t, identifyJSON)), testBatch(), &e); err != nil {
		t.Fatal(err)
	}
	if e.UUID != "0195510a-3c4e-7b7e-8f1a-2b3c4d5e6f72" {
		t.Errorf("uuid = %q", e.UUID)
	}
	if got := IdentifyAnonID(&e); got != "0195510a-0000-7000-8000-00000000abcd" {
		t.Errorf("anon id = %q", got)
	}
	set, setOnce := PersonProps(&e)
	// $set is exempt from scrubbing (an email set on purpose stays), but a
	// password never reaches the store.
	if string(set) != `{"email":"jane@example.com","plan":"pro"}` {
		t.Errorf("$set = %s", set)
	}
	if string(setOnce) != `{"signup_date":"2026-03-01"}` {
		t.Errorf("$set_once = %s", setOnce)
	}
}

func TestPersonProps(t *testing.T) {
	cases := []struct{ props, set, setOnce string }{
		{`{}`, "", ""},
		{`{"$set":{"a":[1,{"b":"}"}]},"$set_once":{"c":true}}`, `{"a":[1,{"b":"}"}]}`, `{"c":true}`},
		{`{"$set":"not an object","$set_once":null}`, "", ""},
		{`{"x":{"$set":{"a":1}}}`, "", ""},
		{``, "", ""},
	}
	for _, c := range cases {
		set, setOnce := PersonProps(&Event{Properties: json.RawMessage(c.props)})
		if string(set) != c.set || string(setOnce) != c.setOnce {
			t.Errorf("PersonProps(%s) = %s, %s; want %s, %s", c.props, set, setOnce, c.set, c.setOnce)
		}
	}
}
