package capture

import (
	"net/http/httptest"
	"testing"
)

func TestClientIP(t *testing.T) {
	for _, tc := range []struct {
		name   string
		trust  bool
		remote string
		xff    []string // X-Forwarded-For lines
		realIP string
		want   string
	}{
		{name: "peer", remote: "203.0.113.9:5555", want: "203.0.113.9"},
		{name: "peer without port", remote: "203.0.113.9", want: "203.0.113.9"},
		{name: "untrusted headers ignored", remote: "203.0.113.9:5555", xff: []string{"198.51.100.1"}, realIP: "198.51.100.2", want: "203.0.113.9"},
		{name: "one proxy", trust: true, remote: "10.0.0.1:80", xff: []string{"198.51.100.7"}, want: "198.51.100.7"},
		{name: "forged entries on the left", trust: true, remote: "10.0.0.1:80", xff: []string{"1.2.3.4, 5.6.7.8, 198.51.100.7"}, want: "198.51.100.7"},
		{name: "internal proxies skipped", trust: true, remote: "127.0.0.1:80", xff: []string{"1.2.3.4, 198.51.100.7, 10.0.0.2, 172.16.0.3"}, want: "198.51.100.7"},
		{name: "client on the proxy's network", trust: true, remote: "10.0.0.1:80", xff: []string{"192.168.1.20"}, want: "192.168.1.20"},
		{name: "all internal: the rightmost", trust: true, remote: "10.0.0.1:80", xff: []string{"10.9.9.9, 192.168.1.20"}, want: "192.168.1.20"},
		{name: "several header lines", trust: true, remote: "10.0.0.1:80", xff: []string{"1.2.3.4", "198.51.100.7"}, want: "198.51.100.7"},
		{name: "ports and brackets", trust: true, remote: "10.0.0.1:80", xff: []string{"[2001:db8::7]:443"}, want: "2001:db8::7"},
		{name: "v4 with port", trust: true, remote: "10.0.0.1:80", xff: []string{"198.51.100.7:1234"}, want: "198.51.100.7"},
		{name: "garbage skipped", trust: true, remote: "10.0.0.1:80", xff: []string{"198.51.100.7, unknown, "}, want: "198.51.100.7"},
		{name: "only garbage: X-Real-IP", trust: true, remote: "10.0.0.1:80", xff: []string{"unknown"}, realIP: "198.51.100.8", want: "198.51.100.8"},
		{name: "X-Real-IP", trust: true, remote: "10.0.0.1:80", realIP: " 198.51.100.8 ", want: "198.51.100.8"},
		{name: "trusted without headers", trust: true, remote: "10.0.0.1:80", want: "10.0.0.1"},
		{name: "mapped v4", trust: true, remote: "10.0.0.1:80", xff: []string{"::ffff:198.51.100.7, ::ffff:10.0.0.3"}, want: "::ffff:198.51.100.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tc.realIP != "" {
				r.Header.Set("X-Real-IP", tc.realIP)
			}
			if got := ClientIP(r, tc.trust); got != tc.want {
				t.Errorf("ClientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

func BenchmarkClientIP(b *testing.B) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:80"
	r.Header.Set("X-Forwarded-For", "1.2.3.4, 198.51.100.7, 10.0.0.2")
	b.ReportAllocs()
	for b.Loop() {
		ClientIP(r, true)
	}
}
