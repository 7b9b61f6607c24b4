package api

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sightline-analytics/sightline/capture"
)

// throttle limits failed logins per key (a client address, an account) in
// a fixed window: after limit failures within window, the key is refused
// until the window that began with its first failure is over. A success
// clears an account's count, never an address's, so one valid account
// cannot launder guesses at others from the same address.
//
// It lives in memory, per node: a cluster multiplies the limits by its
// node count, which still turns an online guessing attack from millions of
// tries per hour into dozens.
type throttle struct {
	limit  int
	window time.Duration
	max    int // entries kept, bounding memory under a flood of keys
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	failures int
	start    time.Time
}

func newThrottle(limit int, window time.Duration, now func() time.Time) *throttle {
	if now == nil {
		now = time.Now
	}
	return &throttle{limit: limit, window: window, max: 100_000, now: now, entries: map[string]*throttleEntry{}}
}

// blocked reports whether key is over its limit, and for how long more.
func (t *throttle) blocked(key string) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e == nil {
		return 0, false
	}
	left := t.window - t.now().Sub(e.start)
	if left <= 0 {
		delete(t.entries, key)
		return 0, false
	}
	return left, e.failures >= t.limit
}

// fail records a failed attempt for key.
func (t *throttle) fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	e := t.entries[key]
	if e == nil || now.Sub(e.start) >= t.window {
		if e == nil && len(t.entries) >= t.max {
			t.evict(now)
		}
		e = &throttleEntry{start: now}
		t.entries[key] = e
	}
	e.failures++
}

// reset forgets key (after a successful login to that account).
func (t *throttle) reset(key string) {
	t.mu.Lock()
	delete(t.entries, key)
	t.mu.Unlock()
}

func (t *throttle) evict(now time.Time) {
	for k, e := range t.entries {
		if now.Sub(e.start) >= t.window {
			delete(t.entries, k)
		}
	}
	drop := len(t.entries) - t.max + t.max/8
	for k := range t.entries {
		if drop <= 0 {
			break
		}
		delete(t.entries, k)
		drop--
	}
}

// loginThrottle applies both limits of a login attempt.
type loginThrottle struct {
	byAddr    *throttle
	byAccount *throttle
}

// Defaults: 5 wrong passwords per account and 30 failures per address in
// 15 minutes, generous for people who mistype and tiny for a guesser.
func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{
		byAddr:    newThrottle(30, 15*time.Minute, now),
		byAccount: newThrottle(5, 15*time.Minute, now),
	}
}

func (l *loginThrottle) blocked(addr, account string) (time.Duration, bool) {
	if d, ok := l.byAddr.blocked(addr); ok {
		return d, true
	}
	if account != "" {
		return l.byAccount.blocked(account)
	}
	return 0, false
}

func (l *loginThrottle) fail(addr, account string) {
	l.byAddr.fail(addr)
	if account != "" {
		l.byAccount.fail(account)
	}
}

// clientKey is the throttling key of a request's client: its address, and
// for IPv6 its /64, which one subscriber usually holds whole. Behind a
// trusted proxy the address comes from the forwarding headers, exactly as
// capture reads it (capture.ClientIP); otherwise those headers are ignored,
// so a client cannot pick a fresh address for each guess.
func clientKey(r *http.Request, trustProxy bool) string {
	host := capture.ClientIP(r, trustProxy)
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

func accountKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func (s *Server) clientKey(r *http.Request) string { return clientKey(r, s.d.TrustProxy) }
