package connlimit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestKey(t *testing.T) {
	for in, want := range map[string]string{
		"10.1.2.3":                 "10.1.2.3",
		"::ffff:10.1.2.3":          "10.1.2.3",
		"2001:db8:1:2:aaaa::1":     "2001:db8:1:2::",
		"2001:db8:1:2:ffff:ffff::": "2001:db8:1:2::",
	} {
		if got := Key(netip.MustParseAddr(in)); got != netip.MustParseAddr(want) {
			t.Errorf("Key(%s) = %s, want %s", in, got, want)
		}
	}
}

// One address may hold PerAddr connections; the next is answered 429 in
// JSON and closed at once; another address is not affected; an exempt
// peer is not counted; a closed connection gives its place back.
func TestListenerPerAddress(t *testing.T) {
	ln0, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	exempt := netip.MustParseAddr("127.0.0.9")
	ln := Listen(ln0, ListenOptions{PerAddr: 3, Max: 8, Exempt: func(a netip.Addr) bool { return a == exempt }})
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	addr := ln.Addr().String()
	var held []net.Conn
	for i := 0; i < 3; i++ {
		held = append(held, dialFrom(t, "127.0.0.2", addr))
	}
	waitOpen(t, ln, 3)
	over := dialFrom(t, "127.0.0.2", addr)
	over.SetReadDeadline(time.Now().Add(2 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(over), nil)
	if err != nil {
		t.Fatalf("the 4th connection from one address: %v, want a 429", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 429 || !strings.Contains(string(body), `"error":"too many connections from your address`) {
		t.Fatalf("the 4th connection: %d %s", resp.StatusCode, body)
	}
	for i := 0; i < 4; i++ { // exempt: not counted per address
		dialFrom(t, "127.0.0.9", addr)
	}
	dialFrom(t, "127.0.0.3", addr) // another address
	waitOpen(t, ln, 8)
	full := dialFrom(t, "127.0.0.4", addr)
	full.SetReadDeadline(time.Now().Add(2 * time.Second))
	if resp, err := http.ReadResponse(bufio.NewReader(full), nil); err != nil || resp.StatusCode != 503 {
		t.Fatalf("a connection beyond Max: %v %v, want 503", resp, err)
	}
	held[0].Close()
	waitOpen(t, ln, 7)
	dialFrom(t, "127.0.0.2", addr)
	waitOpen(t, ln, 8)
	if ln.Refused() != 2 {
		t.Errorf("Refused() = %d, want 2", ln.Refused())
	}
}

func waitOpen(t *testing.T, ln *Listener, n int) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); ln.Open() != n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open, want %d", ln.Open(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCounter(t *testing.T) {
	c := NewCounter(2)
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	r1, ok1 := c.Acquire(a)
	_, ok2 := c.Acquire(a)
	_, ok3 := c.Acquire(a)
	_, okB := c.Acquire(b)
	if !ok1 || !ok2 || ok3 || !okB {
		t.Fatalf("acquire: %v %v %v %v, want true true false true", ok1, ok2, ok3, okB)
	}
	r1()
	r1() // twice is once
	if _, ok := c.Acquire(a); !ok {
		t.Fatal("a released place was not given back")
	}
	if _, ok := c.Acquire(a); ok {
		t.Fatal("a second release gave back a place twice")
	}
}

func TestCounterEnterLeave(t *testing.T) {
	c := NewCounter(2)
	a := netip.MustParseAddr("2001:db8::1")
	sameNet := netip.MustParseAddr("2001:db8::2") // the same /64: one key
	if !c.Enter(a) || !c.Enter(sameNet) {
		t.Fatal("the first two places were refused")
	}
	if c.Enter(a) {
		t.Fatal("a third place of one /64 was given")
	}
	c.Leave(sameNet)
	if !c.Enter(a) {
		t.Fatal("a place left was not given back")
	}
	c.Leave(a)
	c.Leave(a)
	if len(c.m) != 0 {
		t.Fatalf("%d addresses still counted after every place was left", len(c.m))
	}
	var unbounded *Counter
	if !unbounded.Enter(a) {
		t.Fatal("a nil counter refused")
	}
	unbounded.Leave(a)
}

// A body that trickles is cut once it falls below the floor after the
// grace, whether the handler reads it or answers without reading it (the
// early 401); a body that arrives in time is read whole.
func TestGuardBody(t *testing.T) {
	o := BodyOptions{Grace: 300 * time.Millisecond, MinRate: 1000, Timeout: 2 * time.Second}
	cut := make(chan error, 4)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		GuardBody(w, r, o)
		if r.URL.Path == "/early" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, err := io.ReadAll(r.Body)
		if err != nil {
			cut <- err
			w.WriteHeader(http.StatusRequestTimeout)
			return
		}
		w.WriteHeader(http.StatusOK)
	})}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()

	for _, tc := range []struct {
		path         string
		chunk, every int // bytes at a time, ms between
		n            int
		want         string // how the connection ends
	}{
		{"/read", 5000, 0, 5000, "200"},
		{"/read", 100, 50, 1000, "200"}, // 2 000 B/s, above the floor
		{"/read", 1, 200, 100, "408"},   // 5 B/s
		{"/early", 1, 200, 100, "closed"},
	} {
		t.Run(fmt.Sprintf("%s %d B every %d ms", tc.path, tc.chunk, tc.every), func(t *testing.T) {
			c := dialFrom(t, "127.0.0.1", ln.Addr().String())
			conn := "close"
			if tc.path == "/early" {
				conn = "keep-alive" // net/http reads what is left of the body after the answer, to reuse the connection
			}
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nConnection: %s\r\nContent-Length: %d\r\n\r\n", tc.path, conn, tc.n)
			start := time.Now()
			go func() {
				for sent := 0; sent < tc.n; sent += tc.chunk {
					if _, err := c.Write([]byte(strings.Repeat("x", tc.chunk))); err != nil {
						return
					}
					time.Sleep(time.Duration(tc.every) * time.Millisecond)
				}
			}()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			all, err := io.ReadAll(c)
			took := time.Since(start)
			if err != nil && !strings.Contains(err.Error(), "reset") {
				t.Fatalf("reading the answer: %v", err)
			}
			got := string(all)
			switch tc.want {
			case "200":
				if !strings.Contains(got, " 200 ") {
					t.Fatalf("a body in time: %q", got)
				}
			case "408":
				if !strings.Contains(got, " 408 ") || took > 2*time.Second {
					t.Fatalf("a trickle: %q after %s, want 408 within about the grace", got, took)
				}
			case "closed":
				if !strings.Contains(got, " 401 ") || took < 200*time.Millisecond || took > 2*time.Second {
					t.Fatalf("after an early answer (%q) the trickle held the connection %s, want about the grace", got, took)
				}
			}
		})
	}
	select {
	case err := <-cut:
		if !errors.Is(err, ErrSlowBody) {
			t.Errorf("the handler's read error %v is not ErrSlowBody", err)
		}
	default:
		t.Error("no read was cut")
	}
}
