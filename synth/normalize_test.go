package synth

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
)

// TestNormalizesCleanly runs every generated event through the server's
// normalizer: none is rejected, frustration flags land where synth put the
// frustration, user agents parse to the device kind synth chose, landing
// UTM tags are found, and scrubbing finds nothing to change in properties.
func TestNormalizesCleanly(t *testing.T) {
	r := generate(t, Config{Seed: 21, Days: 7, Events: 40_000})
	kind := map[string]string{}
	for _, d := range humanDevices {
		kind[d.ua] = d.kind
	}
	for _, d := range botDevices {
		kind[d.ua] = d.kind
	}
	var dst event.Event
	flags, utm, scrubbed := 0, 0, 0
	wrongDevice := map[string]string{}
	for i := range r.events {
		e := &r.events[i]
		ts := time.UnixMilli(ms(e))
		b := &event.Batch{ProjectID: 1, SentAt: ts.Add(time.Second), ReceivedAt: ts.Add(time.Second)}
		if err := event.Normalize(e, b, &dst); err != nil {
			t.Fatalf("%s %s rejected: %v", e.Event, e.UUID, err)
		}
		if !dst.Timestamp.Equal(ts) || dst.UUID != e.UUID {
			t.Fatalf("timestamp or uuid changed: %v %s", dst.Timestamp, dst.UUID)
		}
		switch e.Event {
		case "$rageclick":
			if !dst.Rage {
				t.Fatalf("$rageclick not flagged rage")
			}
			flags++
		case "$deadclick":
			if !dst.Dead {
				t.Fatalf("$deadclick not flagged dead")
			}
			flags++
		case "$errorclick":
			if !dst.Error {
				t.Fatalf("$errorclick not flagged error")
			}
			flags++
		}
		if e.Event == "$click" && (dst.Rage || dst.Dead || dst.Error) {
			t.Fatalf("plain $click flagged: %+v", dst)
		}
		if dst.Selector != e.Selector || len(dst.Elements) != len(e.Elements) {
			t.Fatalf("selector or chain changed: %q → %q", e.Selector, dst.Selector)
		}
		for k := range e.Elements {
			if dst.Elements[k].Text != e.Elements[k].Text || dst.Elements[k].Href != e.Elements[k].Href {
				t.Fatalf("element %d of %s changed: %+v → %+v", k, e.Selector, e.Elements[k], dst.Elements[k])
			}
		}
		if e.UserAgent != "" && dst.DeviceType != kind[e.UserAgent] {
			wrongDevice[e.UserAgent] = dst.DeviceType
		}
		if dst.UTMSource != "" {
			utm++
			if !strings.Contains(e.URL, "utm_source="+dst.UTMSource) {
				t.Fatalf("utm_source %q from %s", dst.UTMSource, e.URL)
			}
		}
		if len(e.Properties) > 0 && !reflect.DeepEqual(props(t, e), props(t, &event.Raw{Event: e.Event, Properties: dst.Properties})) {
			scrubbed++
			if scrubbed <= 3 {
				t.Logf("properties changed by normalization:\n  sent %s\n  kept %s", e.Properties, dst.Properties)
			}
		}
	}
	for ua, got := range wrongDevice {
		t.Errorf("%s parsed as %q, synth meant %q", ua, got, kind[ua])
	}
	if flags == 0 || utm == 0 {
		t.Errorf("%d frustration flags, %d events with UTM tags", flags, utm)
	}
	if scrubbed > 0 {
		t.Errorf("%d events had their properties changed by normalization", scrubbed)
	}
}
