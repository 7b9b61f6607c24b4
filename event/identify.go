package event

import "encoding/json"

// Identify is the event name with which the SDK links an anonymous visitor
// to an identified person.
const Identify = "$identify"

// IdentifyAnonID returns the anonymous distinct id that an $identify event
// merges into its distinct_id (property $anon_distinct_id), or "" when e is
// not an $identify event, has no such property, or either id is one that
// would merge unrelated visitors (see IllegalDistinctID) or is the same id.
func IdentifyAnonID(e *Event) string {
	if e.Event != Identify {
		return ""
	}
	raw := lookupTop(e.Properties, "$anon_distinct_id")
	if len(raw) < 2 || raw[0] != '"' {
		return ""
	}
	id := string(raw[1 : len(raw)-1])
	for i := 0; i < len(id); i++ {
		if id[i] == '\\' {
			// Rare: an escaped id. Normalize wrote valid JSON.
			if json.Unmarshal(raw, &id) != nil {
				return ""
			}
			break
		}
	}
	if id == "" || id == e.DistinctID || IllegalDistinctID(id) || IllegalDistinctID(e.DistinctID) {
		return ""
	}
	return id
}

// IllegalDistinctID reports whether id is a placeholder that buggy
// integrations send for every visitor ("undefined", "null", "anonymous",
// "0", …). Merging persons on it would join everyone, so identify ignores
// it (as PostHog does).
func IllegalDistinctID(id string) bool {
	if id == "" {
		return true
	}
	for _, s := range illegalIDs {
		if eqFold(id, s) {
			return true
		}
	}
	return false
}

var illegalIDs = []string{
	"0", "anonymous", "guest", "distinctid", "distinct_id", "id", "not_authenticated",
	"email", "undefined", "true", "false", "null", "none", "nan", "[object object]",
}

// PersonProps returns the person properties that e sets: $set (overwrite)
// and $set_once (only where unset). Each is a JSON object sharing memory
// with e.Properties, or nil when absent or not an object. Properties must be
// compact, as Normalize and DecodeBatch give them.
func PersonProps(e *Event) (set, setOnce json.RawMessage) {
	set = lookupTop(e.Properties, "$set")
	if len(set) == 0 || set[0] != '{' {
		set = nil
	}
	setOnce = lookupTop(e.Properties, "$set_once")
	if len(setOnce) == 0 || setOnce[0] != '{' {
		setOnce = nil
	}
	return set, setOnce
}
