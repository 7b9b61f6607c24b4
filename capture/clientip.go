package capture

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP is the address of the client that sent r, shared by capture (IP
// enrichment) and the API (login throttling), so both agree on who a
// client is.
//
// Without trustProxy it is the connection's peer, whatever the headers
// say: a client must not choose its own address. With trustProxy (the
// server sits behind a reverse proxy it trusts) it is read from
// X-Forwarded-For, walking from the right: proxies append the peer they
// saw, so the entries on the left are whatever the client sent and can be
// forged, while the rightmost ones were written by the proxies. Private,
// loopback and link-local entries are taken for internal proxies and
// skipped; the first public one is the client. When every entry is
// internal, the rightmost is (a client on the proxy's own network). A
// request without X-Forwarded-For falls back to X-Real-IP, which proxies
// such as nginx set (rather than append) to the peer they saw, then to the
// connection's peer.
//
// The result is an address without port or brackets, a substring of the
// header or of RemoteAddr (no allocation on the capture path).
func ClientIP(r *http.Request, trustProxy bool) string {
	if trustProxy {
		if ip, ok := forwardedFor(r.Header.Values("X-Forwarded-For")); ok {
			return ip
		}
		if ip, ok := parseHostIP(strings.TrimSpace(r.Header.Get("X-Real-IP"))); ok {
			return ip
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// forwardedFor picks the client from X-Forwarded-For header lines (a proxy
// may add a line rather than extend the last one, so all lines count, in
// order).
func forwardedFor(lines []string) (string, bool) {
	rightmost := ""
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		for rest != "" {
			entry := rest
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				entry, rest = rest[j+1:], rest[:j]
			} else {
				rest = ""
			}
			ip, ok := parseHostIP(strings.TrimSpace(entry))
			if !ok {
				continue
			}
			addr, _ := netip.ParseAddr(ip)
			addr = addr.Unmap()
			if !addr.IsPrivate() && !addr.IsLoopback() && !addr.IsLinkLocalUnicast() && !addr.IsUnspecified() {
				return ip, true
			}
			if rightmost == "" {
				rightmost = ip
			}
		}
	}
	return rightmost, rightmost != ""
}

// parseHostIP accepts "192.0.2.1", "192.0.2.1:443", "2001:db8::1" and
// "[2001:db8::1]:443", and returns the address part.
func parseHostIP(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	if _, err := netip.ParseAddr(s); err == nil {
		return s, true
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return "", false
	}
	return host, true
}
