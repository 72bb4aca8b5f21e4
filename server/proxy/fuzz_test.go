package proxy

import (
	"net/http/httptest"
	"testing"
)

// FuzzSanitize: any X-Forwarded-For from a trusted peer gives a valid
// client address, never a trusted proxy's unless every hop is one.
func FuzzSanitize(f *testing.F) {
	f.Add("198.51.100.1")
	f.Add("1.1.1.1, 198.51.100.1, 10.0.0.7")
	f.Add("evil, ::1, [::1]")
	tr, _ := Parse([]string{"127.0.0.1/32", "10.0.0.0/8"})
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "127.0.0.1:1"
		r.Header.Set("X-Forwarded-For", xff)
		if a := tr.Sanitize(r); !a.IsValid() {
			t.Fatalf("no client address for %q", xff)
		}
	})
}
