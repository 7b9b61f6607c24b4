package event

import (
	"encoding/json"
	"math"
	"strconv"
)

// ScrollDepth is the deepest point of the page a visitor scrolled to, in
// percent, as the SDK reports it on $pageleave ($max_scroll_pct). Stores keep
// it as a typed column so that heatmaps read a number instead of parsing
// every page leave's properties. A numeric string counts, as it would when
// the property is read from the document; anything else is absent.
func ScrollDepth(e *Event) (float64, bool) {
	if e.Event != "$pageleave" {
		return 0, false
	}
	raw := lookupTop(e.Properties, "$max_scroll_pct")
	if len(raw) == 0 {
		return 0, false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		raw = []byte(s)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}
