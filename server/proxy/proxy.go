// Package proxy decides which peers are trusted reverse proxies, and so
// whether a request's X-Forwarded-For, X-Forwarded-Host and
// X-Forwarded-Proto say anything: from any other peer they are a client's
// claim, and are dropped before a handler sees them.
package proxy

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Headers are the forwarding headers a trusted proxy sets and anyone else's
// request loses.
var Headers = []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}

// Trusted is a set of networks whose peers are reverse proxies. The zero
// value (and nil) trusts no one.
type Trusted struct {
	nets []netip.Prefix
}

// Parse reads CIDRs ("127.0.0.1/32", "10.0.0.0/8", "::1/128") or bare
// addresses ("127.0.0.1"); an error names the one that is neither.
func Parse(cidrs []string) (*Trusted, error) {
	t := &Trusted{}
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return nil, fmt.Errorf("%q is neither a CIDR nor an address", c)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		t.nets = append(t.nets, p.Masked())
	}
	return t, nil
}

// Any reports whether any proxy is trusted.
func (t *Trusted) Any() bool { return t != nil && len(t.nets) > 0 }

// Contains reports whether a is a trusted proxy.
func (t *Trusted) Contains(a netip.Addr) bool {
	if t == nil || !a.IsValid() {
		return false
	}
	a = a.Unmap()
	for _, p := range t.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Peer is the address of the other end of r's connection.
func Peer(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// Sanitize removes the forwarding headers from r unless its peer is a
// trusted proxy, and returns the client's address: the peer's, or behind
// trusted proxies the nearest address in X-Forwarded-For that is not one
// of them (the entries before it were written by the client, and prove
// nothing).
func (t *Trusted) Sanitize(r *http.Request) netip.Addr {
	peer := Peer(r)
	if !t.Contains(peer) {
		for _, h := range Headers {
			// The names are canonical: a plain delete, no canonicalizing.
			delete(r.Header, h)
		}
		return peer
	}
	client := peer
	vals := r.Header.Values("X-Forwarded-For")
	for i := len(vals) - 1; i >= 0; i-- {
		parts := strings.Split(vals[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client // a malformed hop: trust no further
			}
			client = a.Unmap()
			if !t.Contains(client) {
				return client
			}
		}
	}
	return client
}
