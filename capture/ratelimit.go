package capture

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiters keeps one token bucket per project token, counting events (not
// requests), so that a client sending large batches is limited as fairly as
// one sending many small ones.
type limiters struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*limiter
	// sweep removes buckets idle for a while so that the map stays bounded
	// by the number of active projects.
	lastSweep time.Time
}

type limiter struct {
	l        *rate.Limiter
	lastUsed time.Time
}

func newLimiters(now func() time.Time) *limiters {
	return &limiters{now: now, m: make(map[string]*limiter), lastSweep: now()}
}

// allow reports whether n events may pass now for token, limited to perSec
// events per second with the given burst. perSec <= 0 means unlimited.
func (ls *limiters) allow(token string, perSec float64, burst, n int) bool {
	if perSec <= 0 {
		return true
	}
	if burst < n {
		// A batch larger than the burst could never pass; let the bucket
		// go into debt instead so that large batches are throttled, not
		// refused forever.
		burst = n
	}
	now := ls.now()
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if now.Sub(ls.lastSweep) > time.Minute {
		for k, l := range ls.m {
			if now.Sub(l.lastUsed) > 10*time.Minute {
				delete(ls.m, k)
			}
		}
		ls.lastSweep = now
	}
	l := ls.m[token]
	if l == nil {
		l = &limiter{l: rate.NewLimiter(rate.Limit(perSec), burst)}
		ls.m[token] = l
	} else {
		if l.l.Limit() != rate.Limit(perSec) {
			l.l.SetLimitAt(now, rate.Limit(perSec))
		}
		if l.l.Burst() < burst {
			l.l.SetBurstAt(now, burst)
		}
	}
	l.lastUsed = now
	return l.l.AllowN(now, n)
}
