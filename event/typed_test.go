package event

import "testing"

func TestScrollDepth(t *testing.T) {
	for _, tc := range []struct {
		event, props string
		want         float64
		ok           bool
	}{
		{"$pageleave", `{"$max_scroll_pct":75}`, 75, true},
		{"$pageleave", `{"$time_on_page_ms":1200,"$max_scroll_pct":12.5}`, 12.5, true},
		{"$pageleave", `{"$max_scroll_pct":"40"}`, 40, true},
		{"$pageleave", `{"$max_scroll_pct":0}`, 0, true},
		{"$pageleave", `{"$max_scroll_pct":"deep"}`, 0, false},
		{"$pageleave", `{"$max_scroll_pct":"NaN"}`, 0, false},
		{"$pageleave", `{"$max_scroll_pct":"-Inf"}`, 0, false},
		{"$pageleave", `{"$max_scroll_pct":null}`, 0, false},
		{"$pageleave", `{"$max_scroll_pct":{"v":1}}`, 0, false},
		{"$pageleave", `{"nested":{"$max_scroll_pct":50}}`, 0, false},
		{"$pageleave", `{}`, 0, false},
		{"$pageleave", ``, 0, false},
		{"$pageview", `{"$max_scroll_pct":75}`, 0, false},
	} {
		e := &Event{Event: tc.event, Properties: []byte(tc.props)}
		got, ok := ScrollDepth(e)
		if ok != tc.ok || got != tc.want {
			t.Errorf("ScrollDepth(%s %s) = %v, %v; want %v, %v", tc.event, tc.props, got, ok, tc.want, tc.ok)
		}
	}
}
