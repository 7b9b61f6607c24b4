package store

import (
	"testing"
	"time"
)

func TestViewportBucket(t *testing.T) {
	for _, c := range []struct {
		width  int
		device string
		want   int
	}{
		{1, "desktop", ViewportMobile}, {767, "", ViewportMobile}, {768, "mobile", ViewportTablet},
		{1023, "", ViewportTablet}, {1024, "mobile", ViewportDesktop}, {3840, "", ViewportDesktop},
		// Without a width, the device type decides.
		{0, "mobile", ViewportMobile}, {0, "tablet", ViewportTablet}, {-5, "desktop", ViewportDesktop},
		{0, "bot", ViewportUnknown}, {0, "", ViewportUnknown}, {0, "Desktop", ViewportUnknown},
	} {
		if got := ViewportBucket(c.width, c.device); got != c.want {
			t.Errorf("ViewportBucket(%d, %q) = %d, want %d", c.width, c.device, got, c.want)
		}
	}
	// The buckets' ranges agree with the function.
	for name, b := range ViewportBuckets {
		if ViewportBucket(b.Min, "") != b.Code || b.Max > 0 && ViewportBucket(b.Max, "") != b.Code || ViewportBucket(0, name) != b.Code {
			t.Errorf("bucket %s %+v disagrees with ViewportBucket", name, b)
		}
	}
}

func TestUTCDay(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want int64
	}{
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), 0},
		{time.Date(1970, 1, 1, 23, 59, 59, 999, time.UTC), 0},
		{time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), -1},
		{time.Date(2026, 11, 29, 0, 30, 0, 0, time.FixedZone("+01", 3600)), 20785}, // 2026-11-28 23:30 UTC
		{time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC), 20786},
	} {
		if got := UTCDay(c.t); got != c.want {
			t.Errorf("UTCDay(%v) = %d, want %d", c.t, got, c.want)
		}
	}
}
