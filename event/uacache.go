package event

import (
	"hash/maphash"
	"strings"
	"sync/atomic"
)

// The user agents of a site's traffic repeat: a few hundred strings make up
// nearly all of it, while a capture batch usually mixes several visitors, so
// the per-batch memo misses and parseUA (a scan of the rule tables) was a
// tenth of Normalize. uaCache remembers recent results process-wide.
//
// It is direct-mapped: a string hashes to one slot, and a new string evicts
// the slot's previous one. That bounds its memory whatever the traffic sends
// (uaCacheSlots entries of at most maxUALen bytes), costs one atomic load per
// lookup, and lets a hostile stream of unique agents cost nothing more than
// parsing them would.
const (
	uaCacheSlots = 1024
	maxUALen     = 1024 // longer agents are cut before parsing
)

type uaEntry struct {
	key  string // the agent as given (cut to maxUALen), owned by the entry
	info uaInfo // substrings of key
}

var (
	uaCache     [uaCacheSlots]atomic.Pointer[uaEntry]
	uaCacheSeed = maphash.MakeSeed()
)

// parseUACached is parseUA(validUTF8(limitString(ua, maxUALen))) through the
// cache. The result never shares memory with ua, which callers may reuse.
func parseUACached(ua string) uaInfo {
	ua = limitString(ua, maxUALen)
	slot := &uaCache[maphash.String(uaCacheSeed, ua)%uaCacheSlots]
	if e := slot.Load(); e != nil && e.key == ua {
		return e.info
	}
	// The parsed fields are substrings of what is parsed: parse a copy, so
	// that the cached entry owns its memory.
	key := strings.Clone(ua)
	e := &uaEntry{key: key, info: parseUA(validUTF8(key))}
	slot.Store(e)
	return e.info
}
