package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

func TestAppendFrameHeader(t *testing.T) {
	for _, tc := range []struct {
		op   byte
		n    int
		want []byte
	}{
		{opText, 0, []byte{0x81, 0}},
		{opText, 125, []byte{0x81, 125}},
		{opText, 126, []byte{0x81, 126, 0, 126}},
		{opText, 65535, []byte{0x81, 126, 0xFF, 0xFF}},
		{opText, 65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{opClose, 2, []byte{0x88, 2}},
		{opPing, 0, []byte{0x89, 0}},
		{opPong, 4, []byte{0x8A, 4}},
	} {
		if got := appendFrameHeader(nil, tc.op, tc.n); !bytes.Equal(got, tc.want) {
			t.Errorf("op %x, %d bytes: % x, want % x", tc.op, tc.n, got, tc.want)
		}
	}
}

// TestWSFramesOfEverySizeReachAClient: error messages that echo a long
// message type, in frames of every length form (7-bit, 16-bit, 64-bit),
// read whole by gorilla's own client.
func TestWSFramesOfEverySizeReachAClient(t *testing.T) {
	e := newLiveEnv(t, HubOptions{MaxMessageBytes: 1 << 20})
	c := e.dial(t, nil)
	for _, n := range []int{1, 60, 125, 126, 300, 65535, 70000, 200000} {
		typ := strings.Repeat("x", n)
		send(t, c, `{"type":"`+typ+`"}`)
		m := next(t, c)
		if m.Type != "error" || !strings.Contains(m.Message, `"`+typ+`"`) {
			t.Fatalf("a type of %d bytes: got %s, %d bytes of message", n, m.Type, len(m.Message))
		}
	}
}

// TestWSPingsAndPongs: the server pings at its interval and a client that
// answers stays past twice that; a client's ping gets its pong.
func TestWSPingsAndPongs(t *testing.T) {
	e := newLiveEnv(t, HubOptions{PingInterval: 200 * time.Millisecond})
	c := e.dial(t, nil)
	pings := make(chan string, 100)
	c.SetPingHandler(func(data string) error {
		pings <- data
		return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	pongs := make(chan string, 1)
	c.SetPongHandler(func(data string) error { pongs <- data; return nil })
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	if err := c.WriteControl(websocket.PingMessage, []byte("kiruna"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-pongs:
		if got != "kiruna" {
			t.Fatalf("pong %q, want the ping's data", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong to the client's ping")
	}
	time.Sleep(time.Second) // five intervals
	if n := len(pings); n < 3 {
		t.Fatalf("%d pings in five intervals", n)
	}
	if e.srv.Hub().Clients() != 1 {
		t.Fatal("a client that answers the pings was disconnected")
	}
}

// TestWSSilentClientIsDisconnected: one that answers no ping is gone
// after twice the interval.
func TestWSSilentClientIsDisconnected(t *testing.T) {
	e := newLiveEnv(t, HubOptions{PingInterval: 100 * time.Millisecond})
	c := e.dial(t, nil)
	c.SetPingHandler(func(string) error { return nil }) // no pong
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.Hub().Clients() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("a client that answers no ping is still connected")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWSShutdownSendsCloseFrame: an idle client gets 1001 and the reason.
func TestWSShutdownSendsCloseFrame(t *testing.T) {
	e := newLiveEnv(t, HubOptions{})
	c := e.dial(t, nil)
	send(t, c, `{"type":"subscribe","bbox":[20,67,21,68]}`)
	nextOf(t, c, "snapshot")
	e.srv.Hub().Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway || !strings.Contains(ce.Text, "shutting down") {
		t.Fatalf("got %v, want close 1001 with the reason", err)
	}
}

// TestClientWithoutRawConnWritesInItsGoroutine: a connection that cannot
// be written without waiting (no syscall.RawConn, as a pipe) gets its
// frames from a goroutine of its own, in order, and the caller never waits.
func TestClientWithoutRawConnWritesInItsGoroutine(t *testing.T) {
	h := NewHub(HubOptions{}, prometheus.NewRegistry(), quietLog)
	defer h.Close()
	a, b := net.Pipe()
	defer b.Close()
	c := &client{hub: h, raw: a, done: make(chan struct{})}
	start := time.Now()
	c.control(opText, []byte(`{"type":"error","message":"one"}`))
	c.control(opText, []byte(`{"type":"error","message":"two"}`))
	if d := time.Since(start); d > time.Second {
		t.Fatalf("control waited %v for a reader", d)
	}
	r := bufio.NewReader(b)
	for _, want := range []string{"one", "two"} {
		var h [2]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			t.Fatal(err)
		}
		if h[0] != 0x81 || h[1]&0x80 != 0 {
			t.Fatalf("header % x: want a whole unmasked text frame", h)
		}
		p := make([]byte, h[1])
		if _, err := io.ReadFull(r, p); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(p), want) {
			t.Fatalf("frame %q, want %q", p, want)
		}
	}
}
