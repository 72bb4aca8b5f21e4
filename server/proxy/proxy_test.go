package proxy

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      []string
		in4, ok bool
		addr    string
	}{
		{[]string{"127.0.0.1/32"}, true, true, "127.0.0.1"},
		{[]string{"127.0.0.0/8"}, true, true, "127.9.9.9"},
		{[]string{"10.1.2.3"}, true, true, "10.1.2.3"},
		{[]string{"::1"}, false, true, "::1"},
		{[]string{"::ffff:10.0.0.0/104"}, true, true, "10.200.0.1"},
		{[]string{"127.0.0.1/32"}, true, false, "127.0.0.2"},
		{nil, true, false, "127.0.0.1"},
	} {
		tr, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		if got := tr.Contains(netip.MustParseAddr(tc.addr)); got != tc.ok {
			t.Errorf("Parse(%q).Contains(%s) = %v, want %v", tc.in, tc.addr, got, tc.ok)
		}
	}
	for _, bad := range []string{"localhost", "10.0.0.0/33", "1.2.3"} {
		if _, err := Parse([]string{bad}); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestSanitize(t *testing.T) {
	tr, _ := Parse([]string{"127.0.0.1/32", "10.0.0.0/8"})
	for _, tc := range []struct {
		name, peer, xff string
		client          string
		keep            bool
	}{
		{"untrusted peer: headers dropped", "203.0.113.5:4000", "198.51.100.1", "203.0.113.5", false},
		{"trusted peer, one hop", "127.0.0.1:4000", "198.51.100.1", "198.51.100.1", true},
		{"trusted chain, client spoofs the first entry", "127.0.0.1:4000", "1.1.1.1, 198.51.100.1, 10.0.0.7", "198.51.100.1", true},
		{"trusted peer, no header", "127.0.0.1:4000", "", "127.0.0.1", true},
		{"trusted peer, malformed hop", "127.0.0.1:4000", "evil, 10.0.0.7", "10.0.0.7", true},
		{"IPv6 peer untrusted", "[2001:db8::1]:4000", "127.0.0.1", "2001:db8::1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/style.json", nil)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			r.Header.Set("X-Forwarded-Host", "evil.example")
			r.Header.Set("X-Forwarded-Proto", "https")
			got := tr.Sanitize(r)
			if got != netip.MustParseAddr(tc.client) {
				t.Errorf("client %s, want %s", got, tc.client)
			}
			kept := r.Header.Get("X-Forwarded-Host") != ""
			if kept != tc.keep || (r.Header.Get("X-Forwarded-Proto") != "") != tc.keep {
				t.Errorf("forwarded headers kept: %v, want %v", kept, tc.keep)
			}
		})
	}
}
