package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/kiruna-twin/kiruna-twin/twin/live"
)

// authenticate reads "Authorization: Bearer TOKEN" and returns the
// company (tenant) the token belongs to. Without a good token it answers
// 401 itself, over the company's rate of writes 429, and returns false;
// the caller then returns.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (live.Tenant, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kiruna-twin"`)
		writeError(w, http.StatusUnauthorized, "this needs a company token: send the header \"Authorization: Bearer TOKEN\" (kiruna-twin tenant add NAME creates one)")
		return live.Tenant{}, false
	}
	if s.cfg.Tenants == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kiruna-twin", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "this server has no companies yet")
		return live.Tenant{}, false
	}
	t, err := s.cfg.Tenants.Authenticate(strings.TrimSpace(token))
	switch {
	case errors.Is(err, live.ErrRevoked):
		w.Header().Set("WWW-Authenticate", `Bearer realm="kiruna-twin", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "this token has been revoked")
		return live.Tenant{}, false
	case err != nil:
		w.Header().Set("WWW-Authenticate", `Bearer realm="kiruna-twin", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "unknown token")
		return live.Tenant{}, false
	}
	if !s.limiter.allow(w, t.Name) {
		return live.Tenant{}, false
	}
	return t, true
}
