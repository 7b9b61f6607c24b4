package event

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// TestParseUACached checks that the cache answers what parseUA answers, for
// hits, misses and evictions, on long and invalid agents too, and that what
// it returns does not share memory with the caller's string.
func TestParseUACached(t *testing.T) {
	agents := []string{
		uaChromeMac, uaIPhone, "", "curl/8.5.0",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 \xff\xfe broken Chrome/1\xc3",
		"Mozilla/5.0 (Windows NT 10.0) Chrome/131.0.0.0 " + strings.Repeat("x", 3000),
	}
	// Many more distinct agents than slots: every slot sees evictions.
	for i := range 3 * uaCacheSlots {
		agents = append(agents, fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0) Chrome/%d.0.0.0 Safari/537.36", i))
	}
	for round := range 2 {
		for _, ua := range agents {
			want := parseUA(validUTF8(limitString(ua, maxUALen)))
			if got := parseUACached(ua); got != want {
				t.Fatalf("round %d, %.80q:\n got  %+v\n want %+v", round, ua, got, want)
			}
		}
	}

	// The caller's memory is reused (a request body): the cached fields
	// must not point into it.
	buf := []byte("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/977.0.0.0 Safari/537.36")
	ua := unsafe.String(&buf[0], len(buf))
	got := parseUACached(ua)
	if got.browser != "Chrome" || got.browserVersion != "977.0" {
		t.Fatalf("parsed %+v", got)
	}
	copy(buf, strings.Repeat("#", len(buf)))
	if again := parseUACached(uaChromeMac); again.browser != "Chrome" {
		t.Fatalf("parsed %+v", again)
	}
	if got.browserVersion != "977.0" || got.os != "Windows" {
		t.Fatalf("cached result changed with the caller's buffer: %+v", got)
	}
}

func BenchmarkParseUA(b *testing.B) {
	agents := []string{uaChromeMac, uaIPhone,
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"}
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = parseUA(validUTF8(limitString(agents[i%len(agents)], maxUALen)))
		}
	})
	b.Run("cached", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = parseUACached(agents[i%len(agents)])
		}
	})
}
