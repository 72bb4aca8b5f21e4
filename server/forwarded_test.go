package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/server/proxy"
)

// A poisoned X-Forwarded-Host or -Proto from a peer that is not a trusted
// proxy changes nothing in any answer that names the origin; from a
// trusted proxy it is honoured; either way the answer says it varies with
// them, so that a cache keeps the variants apart.
func TestForwardedHeadersOnlyFromTrustedProxies(t *testing.T) {
	s, _ := kirunaServer(t)
	poison := []string{"X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "https", "X-Forwarded-For", "1.2.3.4"}
	paths := []string{"/style.json", "/tiles.json", "/?f=json", "/collections", "/collections/buildings",
		"/collections/landmarks/items?limit=2", "/api"}
	for _, trusted := range []bool{false, true} {
		s.cfg.TrustedProxies = nil
		if trusted {
			s.cfg.TrustedProxies, _ = proxy.Parse([]string{"192.0.2.0/24"}) // httptest's peer
		}
		for _, p := range paths {
			clean := get(t, s, p)
			w := get(t, s, p, poison...)
			if w.Code != http.StatusOK || clean.Code != http.StatusOK {
				t.Fatalf("%s: %d and %d", p, clean.Code, w.Code)
			}
			vary := strings.Join(w.Header().Values("Vary"), ", ")
			if !strings.Contains(vary, "X-Forwarded-Host") || !strings.Contains(vary, "X-Forwarded-Proto") {
				t.Errorf("%s: Vary %q does not name the forwarded headers", p, vary)
			}
			poisoned := strings.Contains(w.Body.String(), "evil.example")
			switch {
			case !trusted && (poisoned || w.Body.String() != clean.Body.String()):
				t.Errorf("%s: an untrusted peer's X-Forwarded-Host changed the answer", p)
			case trusted && !strings.Contains(w.Body.String(), "https://evil.example"):
				t.Errorf("%s: a trusted proxy's forwarded host and scheme were not used", p)
			}
		}
	}
	// The landing page varies with Accept as well.
	if v := strings.Join(get(t, s, "/?f=json").Header().Values("Vary"), ", "); !strings.Contains(v, "Accept") {
		t.Errorf("landing page Vary %q lacks Accept", v)
	}
}
