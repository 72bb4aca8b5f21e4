package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestWSConnAgainstGorilla: the load clients' WebSocket client talks to
// gorilla's server side: its frames arrive whole, messages of every length
// form come back whole, a ping is answered, and a close ends it with the
// code and reason.
func TestWSConnAgainstGorilla(t *testing.T) {
	pong := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetPongHandler(func(s string) error { pong <- s; return nil })
		_, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		_ = c.WriteMessage(websocket.TextMessage, msg) // the echo, unmasked by gorilla
		_ = c.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second))
		for _, n := range []int{0, 125, 126, 65535, 65536, 300000} {
			_ = c.WriteMessage(websocket.TextMessage, bytes.Repeat(msg[:1], n))
		}
		_ = c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "too slow"))
		c.ReadMessage() // the pong, then the end
	}))
	defer srv.Close()
	conn, err := dialWS(context.Background(), strings.TrimPrefix(srv.URL, "http://"), "/")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.writeFrame(0x1, []byte("kiruna")); err != nil {
		t.Fatal(err)
	}
	if p, err := conn.next(); err != nil || string(p) != "kiruna" {
		t.Fatalf("echo %q, %v; want what was sent", p, err)
	}
	for _, n := range []int{0, 125, 126, 65535, 65536, 300000} {
		p, err := conn.next()
		if err != nil {
			t.Fatalf("message of %d bytes: %v", n, err)
		}
		if len(p) != n || (n > 0 && (p[0] != 'k' || p[n-1] != 'k')) {
			t.Fatalf("message of %d bytes came as %d bytes", n, len(p))
		}
	}
	_, err = conn.next()
	var ce *closeError
	if !errors.As(err, &ce) || ce.code != websocket.ClosePolicyViolation || ce.reason != "too slow" {
		t.Fatalf("got %v, want the close frame 1008 too slow", err)
	}
	select {
	case s := <-pong:
		if s != "p" {
			t.Fatalf("pong %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the ping was not answered")
	}
}
