package query

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// resultCache is a small LRU of query results. Keys cover the compiled SQL
// (which embeds resolved dates and the expanded action and segment
// definitions), the arguments and the data watermark, so an entry is never
// stale: a new event, a changed definition or a later "now" makes a new key.
type resultCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[string]*list.Element
}

type cacheEntry struct {
	key string
	res Result
}

func newResultCache(n int) *resultCache {
	return &resultCache{max: n, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *resultCache) get(key string) (Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(el)
	return el.Value.(*cacheEntry).res, true
}

func (c *resultCache) put(key string, res Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value.(*cacheEntry).res = res
		c.ll.MoveToFront(el)
		return
	}
	c.items[key] = c.ll.PushFront(&cacheEntry{key, res})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*cacheEntry).key)
	}
}

func cacheKey(dialect string, project int64, watermark string, stmts []Statement) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%s\x00", dialect, project, watermark)
	for _, st := range stmts {
		fmt.Fprintf(h, "%s\x00", st.SQL)
		for _, a := range st.Args {
			if t, ok := a.(time.Time); ok {
				a = t.UTC().Format(time.RFC3339Nano)
			}
			fmt.Fprintf(h, "%T:%v\x00", a, a)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
