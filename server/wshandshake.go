package server

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// The handshake of /ws: the checks before a connection is taken (a
// WebSocket upgrade, the live state loaded, the connection limit, the
// browser's origin), the upgrade, and the client's start.

// newUpgrader is the upgrader of /ws; refused origins are counted under
// disconnectBadOrigin.
func newUpgrader(opts HubOptions, m *hubMetrics) websocket.Upgrader {
	allowed := checkOrigin(opts.AllowedOrigins)
	return websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		// Idle connections hold no write buffer.
		WriteBufferPool: &sync.Pool{},
		CheckOrigin: func(r *http.Request) bool {
			if allowed(r) {
				return true
			}
			m.disconnects.WithLabelValues(disconnectBadOrigin.Name).Inc()
			return false
		},
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			writeError(w, status, "WebSocket upgrade failed: %v", reason)
		},
	}
}

// checkOrigin accepts requests without Origin (not from a browser), from
// the server's own host, or from a configured origin.
func checkOrigin(allowed []string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		origin := r.Header.Get("Origin")
		if origin == "" || slices.Contains(allowed, "*") || slices.Contains(allowed, origin) {
			return true
		}
		u, err := url.Parse(origin)
		return err == nil && strings.EqualFold(u.Host, r.Host)
	}
}

// hijacker lets gorilla reach the connection behind the server's
// response wrappers (which unwrap for http.ResponseController).
type hijacker struct{ http.ResponseWriter }

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(h.ResponseWriter).Hijack()
}

func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	h := s.live.hub
	if !websocket.IsWebSocketUpgrade(r) {
		writeError(w, http.StatusBadRequest, "this is the WebSocket endpoint: connect with a WebSocket client")
		return
	}
	if h.sensors.Load() == nil {
		w.Header().Set("Retry-After", "2")
		writeError(w, http.StatusServiceUnavailable, "the live state is still loading")
		return
	}
	if h.Clients() >= h.opts.MaxClients {
		h.m.disconnects.WithLabelValues(disconnectTooMany.Name).Inc()
		writeError(w, http.StatusTooManyRequests, "too many live connections (%d); try again later", h.opts.MaxClients)
		return
	}
	// One address holds at most Config.PerClient WebSockets; the place is
	// given back when this handler returns, which is when the socket ends
	// (c.reader below returns then).
	release, ok := s.wsOpen.Acquire(s.clientAddr(r))
	if !ok {
		writeError(w, http.StatusTooManyRequests, "too many live connections from your address (at most %d)", s.wsOpen.Max())
		return
	}
	defer release()
	conn, err := s.live.upgrader.Upgrade(hijacker{w}, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := newClient(h, conn)
	if !h.add(c) {
		h.m.disconnects.WithLabelValues(disconnectTooMany.Name).Inc()
		msg := websocket.FormatCloseMessage(disconnectTooMany.Code, disconnectTooMany.Reason)
		_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		_ = conn.Close()
		return
	}
	c.reader()
}
