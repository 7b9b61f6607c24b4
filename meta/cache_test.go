package meta

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func newTestCache(t testing.TB, o CacheOptions) (*Cache, *Store, *clock) {
	t.Helper()
	s, _ := openTest(t)
	clk := newClock()
	o.Now = clk.Now
	return NewCache(s, o), s, clk
}

func TestCacheHitAndTTL(t *testing.T) {
	ctx := context.Background()
	c, s, clk := newTestCache(t, CacheOptions{TTL: 10 * time.Second})
	p, _ := mustProject(t, s, "p")

	got, err := c.ProjectByToken(ctx, p.Token)
	if err != nil || got.ID != p.ID || got.Token != p.Token {
		t.Fatalf("first lookup = %+v, %v", got, err)
	}
	// Behind the cache's back (as another node would): the cache keeps
	// answering from memory until the TTL runs out.
	if _, err := s.w.Exec(`DELETE FROM projects WHERE id = $1`, p.ID); err != nil {
		t.Fatal(err)
	}
	clk.Advance(9 * time.Second)
	if got, err := c.ProjectByToken(ctx, p.Token); err != nil || got.ID != p.ID {
		t.Fatalf("lookup within TTL = %+v, %v; want the cached project", got, err)
	}
	clk.Advance(time.Second)
	_, err = c.ProjectByToken(ctx, p.Token)
	wantErr(t, err, ErrNotFound)
}

func TestCacheNegative(t *testing.T) {
	ctx := context.Background()
	c, s, clk := newTestCache(t, CacheOptions{NegativeTTL: 5 * time.Second})
	tok := randomToken(projectTokenPrefix, projectTokenBytes)

	_, err := c.ProjectByToken(ctx, tok)
	wantErr(t, err, ErrNotFound)
	if c.Len() != 1 {
		t.Fatalf("Len = %d after a miss, want 1 negative entry", c.Len())
	}
	// The token appears behind the cache's back: still unknown until the
	// negative entry expires.
	if _, err := s.w.Exec(`INSERT INTO projects (name, token, settings, created_at, updated_at) VALUES ('late', $1, '{}', 0, 0)`, tok); err != nil {
		t.Fatal(err)
	}
	clk.Advance(4 * time.Second)
	_, err = c.ProjectByToken(ctx, tok)
	wantErr(t, err, ErrNotFound)
	clk.Advance(time.Second)
	if got, err := c.ProjectByToken(ctx, tok); err != nil || got.Name != "late" {
		t.Fatalf("after negative TTL = %+v, %v", got, err)
	}

	// Malformed tokens never reach the map.
	for _, bad := range []string{"", "x", "slp_short", tok + "x"} {
		_, err := c.ProjectByToken(ctx, bad)
		wantErr(t, err, ErrNotFound)
	}
	if c.Len() != 1 {
		t.Fatalf("Len = %d, malformed tokens were cached", c.Len())
	}
}

func TestCacheInvalidatedByLocalChanges(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newTestCache(t, CacheOptions{TTL: time.Hour})
	p, _ := mustProject(t, s, "p")
	if _, err := c.ProjectByToken(ctx, p.Token); err != nil {
		t.Fatal(err)
	}

	ps := p.Settings
	ps.CaptureDisabled = true
	if _, err := s.UpdateProjectSettings(ctx, p.ID, ps); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ProjectByToken(ctx, p.Token); err != nil || !got.Settings.CaptureDisabled {
		t.Fatalf("after settings update = %+v, %v", got.Settings, err)
	}

	if _, err := s.RenameProject(ctx, p.ID, "renamed"); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.ProjectByToken(ctx, p.Token); got.Name != "renamed" {
		t.Fatalf("after rename: name %q", got.Name)
	}

	rot, err := s.RotateProjectToken(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ProjectByToken(ctx, p.Token)
	wantErr(t, err, ErrNotFound)
	if _, err := c.ProjectByToken(ctx, rot.Token); err != nil {
		t.Fatal(err)
	}

	if err := s.DeleteProject(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	_, err = c.ProjectByToken(ctx, rot.Token)
	wantErr(t, err, ErrNotFound)
}

func TestCacheBounded(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newTestCache(t, CacheOptions{MaxEntries: 64})
	p, _ := mustProject(t, s, "real")
	for i := range 1000 {
		_, err := c.ProjectByToken(ctx, randomToken(projectTokenPrefix, projectTokenBytes))
		wantErr(t, err, ErrNotFound)
		if c.Len() > 64 {
			t.Fatalf("Len = %d after %d random tokens, cap is 64", c.Len(), i+1)
		}
	}
	// Eviction only costs a lookup: the real project still resolves.
	if got, err := c.ProjectByToken(ctx, p.Token); err != nil || got.ID != p.ID {
		t.Fatalf("real project after the flood = %+v, %v", got, err)
	}
}

func TestCacheEvictsExpiredFirst(t *testing.T) {
	ctx := context.Background()
	c, s, clk := newTestCache(t, CacheOptions{MaxEntries: 8, TTL: time.Minute, NegativeTTL: time.Second})
	p, _ := mustProject(t, s, "real")
	c.ProjectByToken(ctx, p.Token)
	for range 7 {
		c.ProjectByToken(ctx, randomToken(projectTokenPrefix, projectTokenBytes))
	}
	clk.Advance(2 * time.Second) // the negative entries expire, the project's does not
	c.ProjectByToken(ctx, randomToken(projectTokenPrefix, projectTokenBytes))
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2 (the project and the new negative entry)", c.Len())
	}
	// The project was kept: it answers from memory even with the row gone.
	if _, err := s.w.Exec(`DELETE FROM projects`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ProjectByToken(ctx, p.Token); err != nil {
		t.Fatalf("live entry was evicted: %v", err)
	}
}

func TestCacheDoesNotCacheErrors(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newTestCache(t, CacheOptions{})
	s.Close()
	_, err := c.ProjectByToken(ctx, randomToken(projectTokenPrefix, projectTokenBytes))
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("lookup on a closed store: err = %v, want a database error", err)
	}
	if c.Len() != 0 {
		t.Fatalf("an error was cached (Len = %d)", c.Len())
	}
}

func TestCacheCancelledContext(t *testing.T) {
	c, s, _ := newTestCache(t, CacheOptions{})
	p, _ := mustProject(t, s, "p")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Either the lookup finished first or the caller gave up; it must not
	// report a wrong answer.
	if got, err := c.ProjectByToken(ctx, p.Token); err == nil && got.ID != p.ID {
		t.Fatalf("got %+v", got)
	} else if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	c, s, _ := newTestCache(t, CacheOptions{MaxEntries: 32})
	var projects []Project
	for i := range 8 {
		p, _ := mustProject(t, s, fmt.Sprint(i))
		projects = append(projects, p)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				p := projects[(g+i)%len(projects)]
				switch i % 10 {
				case 0:
					c.Invalidate(p.Token)
				case 1:
					if _, err := c.ProjectByToken(ctx, randomToken(projectTokenPrefix, projectTokenBytes)); !errors.Is(err, ErrNotFound) {
						errc <- fmt.Errorf("random token: %v", err)
						return
					}
				default:
					got, err := c.ProjectByToken(ctx, p.Token)
					if err != nil || got.ID != p.ID {
						errc <- fmt.Errorf("project %d: got %d, %v", p.ID, got.ID, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func BenchmarkCacheProjectByToken(b *testing.B) {
	ctx := context.Background()
	c, s, _ := newTestCache(b, CacheOptions{TTL: time.Hour})
	p, _ := mustProject(b, s, "p")
	if _, err := c.ProjectByToken(ctx, p.Token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ProjectByToken(ctx, p.Token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCacheProjectByTokenParallel(b *testing.B) {
	ctx := context.Background()
	c, s, _ := newTestCache(b, CacheOptions{TTL: time.Hour})
	p, _ := mustProject(b, s, "p")
	c.ProjectByToken(ctx, p.Token)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.ProjectByToken(ctx, p.Token); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkStoreProjectByToken is the uncached lookup a cache miss costs.
func BenchmarkStoreProjectByToken(b *testing.B) {
	ctx := context.Background()
	s, _ := openTest(b)
	p, _ := mustProject(b, s, "p")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ProjectByToken(ctx, p.Token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProjectByAPIKey(b *testing.B) {
	ctx := context.Background()
	s, _ := openTest(b)
	_, key := mustProject(b, s, "p")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ProjectByAPIKey(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}
