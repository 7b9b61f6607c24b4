package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store"
)

// FuzzCapture feeds arbitrary bodies, plain and as gzip, through the whole
// handler: it must answer 200, 4xx or 503 (never 500 or a panic), always
// with a JSON body, and a 200 must account for every event.
func FuzzCapture(f *testing.F) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	ts := now.Add(-time.Minute)
	f.Add(body(f, testToken, ev(1, ts), ev(2, ts)), false)
	f.Add(body(f, testToken), false)
	f.Add([]byte(`{"token":"slp_test","sent_at":"2026-11-20T12:00:00Z","events":[{"uuid":"0193a1b2-c3d4-7e5f-8a6b-000000000001","event":"$click","distinct_id":"d","timestamp":"2026-11-20T11:59:00Z","elements":[{"tag":"button","id":"buy","classes":["a","b"],"attrs":{"data-x":"1"},"nth_child":2}],"x":10.5,"y":-3,"properties":{"a":[1,{"b":null}],"$set":{"plan":"pro"}}}]}`), false)
	f.Add([]byte(`{"token":"slp_test","events":[{"uuid":1,"event":[],"distinct_id":{},"timestamp":true}]}`), false)
	f.Add([]byte(`{"token":"slp_test","events":[{"uuid":"u","event":"e","distinct_id":"d","timestamp":1,"properties":{"n":1e400}}]}`), false)
	f.Add(gz(body(f, testToken, ev(3, ts))), true)
	f.Add([]byte(`{"token": 5}`), false)
	f.Add([]byte("\x1f\x8b\x08\x00"), true)

	fx := newFixture(f, Project{}, Options{Now: func() time.Time { return now }})
	reader := fx.spool.NewReader(store.Checkpoint{Spool: fx.spool.ID()})
	f.Fuzz(func(t *testing.T, b []byte, gzipped bool) {
		req := httptest.NewRequest(http.MethodPost, "/api/capture", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if gzipped {
			req.Header.Set("Content-Encoding", "gzip")
		}
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && (rec.Code < 400 || rec.Code >= 500) && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d for %q: %s", rec.Code, b, rec.Body)
		}
		var out Response
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("answer is not JSON: %q", rec.Body)
		}
		if rec.Code == http.StatusOK {
			var req Request
			if out.Accepted == 0 {
				t.Fatalf("200 with nothing accepted: %s", rec.Body)
			}
			if !gzipped && json.Unmarshal(b, &req) == nil && out.Accepted+len(out.Rejected) != len(req.Events) {
				t.Fatalf("accepted %d + rejected %d != %d events", out.Accepted, len(out.Rejected), len(req.Events))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			payload, _, err := reader.Next(ctx)
			cancel()
			if err != nil {
				t.Fatalf("accepted %d events but nothing was spooled: %v", out.Accepted, err)
			}
			evs, err := event.DecodeBatch(payload, nil)
			if err != nil || len(evs) != out.Accepted {
				t.Fatalf("accepted %d but spooled %d (%v)", out.Accepted, len(evs), err)
			}
		}
	})
}
