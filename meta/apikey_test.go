package meta

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestAPIKeyLifecycle(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s, _ := openTest(t, WithClock(clk.Now))
	p, first := mustProject(t, s, "p")
	other, otherKey := mustProject(t, s, "other")

	second, k, err := s.CreateAPIKey(ctx, p.ID, "ci", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidAPIKey(second) || k.Prefix != second[:apiKeyShown] || !strings.HasPrefix(k.Prefix, "sls_") || !k.Active() {
		t.Fatalf("CreateAPIKey = %q, %+v", second, k)
	}

	// Only the hash is stored: no column of any key row holds the secret.
	if n := countRows(t, s, `SELECT COUNT(*) FROM api_keys WHERE key_hash = $1 OR prefix = $1 OR name = $1`, second); n != 0 {
		t.Fatal("the secret is stored in clear")
	}
	if n := countRows(t, s, `SELECT COUNT(*) FROM api_keys WHERE key_hash = $1`, secretHash(second)); n != 1 {
		t.Fatal("the key's hash is not stored")
	}

	for _, secret := range []string{first, second} {
		got, err := s.ProjectByAPIKey(ctx, secret)
		if err != nil || got.ID != p.ID {
			t.Fatalf("ProjectByAPIKey = %+v, %v", got, err)
		}
	}
	keys, err := s.ListAPIKeys(ctx, p.ID)
	if err != nil || len(keys) != 2 || keys[0].Name != "default" || keys[1].ID != k.ID {
		t.Fatalf("ListAPIKeys = %+v, %v", keys, err)
	}
	if keys[1].LastUsedAt != clk.Now() {
		t.Errorf("LastUsedAt = %v, want %v", keys[1].LastUsedAt, clk.Now())
	}

	// Another project cannot revoke this project's key.
	wantErr(t, s.RevokeAPIKey(ctx, other.ID, k.ID), ErrNotFound)
	if err := s.RevokeAPIKey(ctx, p.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.ProjectByAPIKey(ctx, second)
	wantErr(t, err, ErrNotFound)
	if got, err := s.ProjectByAPIKey(ctx, first); err != nil || got.ID != p.ID {
		t.Fatalf("the unrevoked key stopped working: %v", err)
	}
	if got, err := s.ProjectByAPIKey(ctx, otherKey); err != nil || got.ID != other.ID {
		t.Fatalf("other project's key: %+v, %v", got, err)
	}
	revokedAt := clk.Now()
	clk.Advance(time.Hour)
	if err := s.RevokeAPIKey(ctx, p.ID, k.ID); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	keys, _ = s.ListAPIKeys(ctx, p.ID)
	if keys[1].Active() || !keys[1].RevokedAt.Equal(revokedAt) {
		t.Errorf("revoked key = %+v, want RevokedAt %v", keys[1], revokedAt)
	}
	wantErr(t, s.RevokeAPIKey(ctx, p.ID, 9999), ErrNotFound)

	for _, bad := range []string{"", "sls_", second[:len(second)-1], "slp_" + second[4:], randomToken(apiKeyPrefix, apiKeyBytes)} {
		_, err := s.ProjectByAPIKey(ctx, bad)
		wantErr(t, err, ErrNotFound)
	}
	_, _, err = s.CreateAPIKey(ctx, 9999, "x", 0)
	wantErr(t, err, ErrNotFound)
}

func TestAPIKeyLastUsedThrottled(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s, _ := openTest(t, WithClock(clk.Now))
	p, key := mustProject(t, s, "p")
	lastUsed := func() time.Time {
		keys, err := s.ListAPIKeys(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		return keys[0].LastUsedAt
	}
	if !lastUsed().IsZero() {
		t.Fatal("a fresh key has a last use")
	}
	t0 := clk.Now()
	s.ProjectByAPIKey(ctx, key)
	clk.Advance(30 * time.Second)
	s.ProjectByAPIKey(ctx, key)
	if got := lastUsed(); !got.Equal(t0) {
		t.Errorf("LastUsedAt = %v, want %v (not rewritten within a minute)", got, t0)
	}
	clk.Advance(31 * time.Second)
	s.ProjectByAPIKey(ctx, key)
	if got := lastUsed(); !got.Equal(clk.Now()) {
		t.Errorf("LastUsedAt = %v, want %v", got, clk.Now())
	}
}
