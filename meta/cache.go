package meta

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// CacheOptions tune a Cache; zero fields take the defaults.
type CacheOptions struct {
	// TTL bounds how long a project is served from memory: a change made on
	// another node (or by another process) shows after at most TTL. Changes
	// made through this node's Store are seen at once. Default 10 s.
	TTL time.Duration
	// NegativeTTL is how long an unknown token is remembered as unknown.
	// Default 10 s.
	NegativeTTL time.Duration
	// MaxEntries caps the map, so that requests with random well-formed
	// tokens cannot grow it without bound. Default 10,000.
	MaxEntries int
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// Cache answers ProjectByToken from memory for the capture hot path. At
// 100k events/s in batches of ~100 that is 1–2k lookups/s per node: a hit
// costs a map read under a read lock and no allocation, a miss one indexed
// query, with concurrent misses for the same token sharing it.
//
// Unknown tokens are cached too (negative caching), so a misconfigured site
// hammering with a wrong token costs one query per NegativeTTL; tokens that
// are not even well formed are refused before the map. Errors other than
// "not found" are never cached.
type Cache struct {
	store  *Store
	ttl    time.Duration
	negTTL time.Duration
	max    int
	now    func() time.Time

	mu      sync.RWMutex
	entries map[string]cacheEntry
	// gen counts invalidations. A lookup that started before one may have
	// read the old row, so its result is not stored.
	gen    uint64
	flight singleflight.Group
}

type cacheEntry struct {
	p       Project
	found   bool
	expires int64 // Unix nanoseconds
}

// NewCache returns a cache in front of s.ProjectByToken. It subscribes to
// s's local project changes.
func NewCache(s *Store, o CacheOptions) *Cache {
	c := &Cache{
		store:   s,
		ttl:     o.TTL,
		negTTL:  o.NegativeTTL,
		max:     o.MaxEntries,
		now:     o.Now,
		entries: make(map[string]cacheEntry),
	}
	if c.ttl <= 0 {
		c.ttl = 10 * time.Second
	}
	if c.negTTL <= 0 {
		c.negTTL = 10 * time.Second
	}
	if c.max <= 0 {
		c.max = 10000
	}
	if c.now == nil {
		c.now = time.Now
	}
	s.onTokenChange(c.Invalidate)
	return c
}

var errUnknownToken = fmt.Errorf("meta: project by token: %w", ErrNotFound)

// ProjectByToken returns the project whose public token is tok, or an error
// wrapping ErrNotFound. The returned Settings.AllowedOrigins slice is shared
// with the cache: read it, do not modify it.
func (c *Cache) ProjectByToken(ctx context.Context, tok string) (Project, error) {
	if !ValidProjectToken(tok) {
		return Project{}, errUnknownToken
	}
	now := c.now().UnixNano()
	c.mu.RLock()
	e, ok := c.entries[tok]
	c.mu.RUnlock()
	if ok && now < e.expires {
		if !e.found {
			return Project{}, errUnknownToken
		}
		return e.p, nil
	}

	ch := c.flight.DoChan(tok, func() (any, error) {
		c.mu.RLock()
		gen := c.gen
		c.mu.RUnlock()
		// Detached from the first caller's context: its cancellation must
		// not fail the other callers sharing this lookup.
		p, err := c.store.ProjectByToken(context.WithoutCancel(ctx), tok)
		found := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return Project{}, err
		}
		c.put(tok, gen, cacheEntry{p: p, found: found})
		if !found {
			return Project{}, errUnknownToken
		}
		return p, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Project{}, r.Err
		}
		return r.Val.(Project), nil
	case <-ctx.Done():
		return Project{}, fmt.Errorf("meta: project by token: %w", ctx.Err())
	}
}

func (c *Cache) put(tok string, gen uint64, e cacheEntry) {
	now := c.now()
	if e.found {
		e.expires = now.Add(c.ttl).UnixNano()
	} else {
		e.expires = now.Add(c.negTTL).UnixNano()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if _, exists := c.entries[tok]; !exists && len(c.entries) >= c.max {
		c.evict(now.UnixNano())
	}
	c.entries[tok] = e
}

// evict makes room: first every expired entry, then, if the map is still
// full (a flood of distinct tokens), an arbitrary eighth of it. Go's map
// iteration order is unspecified and in practice varies, which is all the
// randomness this needs: an evicted real project costs one query.
func (c *Cache) evict(now int64) {
	for k, e := range c.entries {
		if now >= e.expires {
			delete(c.entries, k)
		}
	}
	if len(c.entries) < c.max {
		return
	}
	drop := max(c.max/8, 1)
	for k := range c.entries {
		if drop == 0 {
			break
		}
		delete(c.entries, k)
		drop--
	}
}

// Invalidate forgets tok, so that the next lookup reads the store. The
// Store calls it for its own changes; a cluster-wide notification (such as
// PostgreSQL LISTEN/NOTIFY) can call it for other nodes' changes.
func (c *Cache) Invalidate(tok string) {
	c.mu.Lock()
	c.gen++
	delete(c.entries, tok)
	c.mu.Unlock()
	// A lookup in flight may have read the old row; later callers must
	// not join it.
	c.flight.Forget(tok)
}

// Len returns the number of cached entries, positive and negative.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
