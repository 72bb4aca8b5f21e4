package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"strconv"
	"syscall"
)

// net/http answers a request it cannot parse — a malformed request line
// or header, headers over the limit (431), an unknown transfer coding
// (501) — by itself, before any handler, in plain text. JSONErrorListener
// rewrites those answers as JSON, so that every error body a client sees
// is {"error": …}.

// JSONErrorListener wraps l so that net/http's own error answers on its
// connections are JSON. Everything else passes through untouched; a
// connection still gives its syscall.RawConn (the WebSocket hub writes
// through it).
func JSONErrorListener(l net.Listener) net.Listener { return jsonErrorListener{l} }

type jsonErrorListener struct{ net.Listener }

func (l jsonErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorConn{Conn: c}, nil
}

type jsonErrorConn struct{ net.Conn }

// earlyErrorHeaders is what net/http puts between the status line and the
// body of its own error answers (net/http's errorHeaders). A handler's
// answer never has these two headers first: net/http writes a handler's
// headers sorted, Connection before Content-Type.
var earlyErrorHeaders = []byte("\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n")

func (c *jsonErrorConn) Write(b []byte) (int, error) {
	if out, ok := rewriteEarlyError(b); ok {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// SyscallConn gives the connection's own, when it has one.
func (c *jsonErrorConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// rewriteEarlyError turns one of net/http's own error answers,
// "HTTP/1.1 431 Request Header Fields Too Large" + earlyErrorHeaders +
// text, into the same status with a JSON body.
func rewriteEarlyError(b []byte) ([]byte, bool) {
	const proto = "HTTP/1.1 "
	if len(b) < len(proto)+3 || string(b[:len(proto)]) != proto {
		return nil, false
	}
	status, text, ok := bytes.Cut(b[len(proto):], earlyErrorHeaders)
	if !ok || bytes.IndexByte(status, '\n') >= 0 {
		return nil, false
	}
	code, err := strconv.Atoi(string(status[:3]))
	if err != nil || code < 400 || code > 599 {
		return nil, false
	}
	body, _ := json.Marshal(ErrorBody{Error: string(text)})
	out := make([]byte, 0, 128+len(body))
	out = append(out, proto...)
	out = append(out, status...)
	out = append(out, "\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: "...)
	out = strconv.AppendInt(out, int64(len(body)+1), 10)
	out = append(out, "\r\nConnection: close\r\n\r\n"...)
	out = append(out, body...)
	return append(out, '\n'), true
}
