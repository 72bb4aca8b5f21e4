// Package connlimit bounds what one client can hold of a server: open
// connections per address and in all (counted at accept and refused
// before a byte of the request is read), requests or WebSockets in flight
// per address, and the time a request body may take to arrive (a deadline
// and a rate floor), so that clients that trickle cannot pile up file
// descriptors and goroutines.
package connlimit

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Key is the address a limit counts by: an IPv4 address, or the /64 of an
// IPv6 one (a single host commonly holds a whole /64).
func Key(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

func addrOf(na net.Addr) netip.Addr {
	if ta, ok := na.(*net.TCPAddr); ok {
		a, _ := netip.AddrFromSlice(ta.IP)
		return a.Unmap()
	}
	ap, err := netip.ParseAddrPort(na.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// ListenOptions bound a Listener.
type ListenOptions struct {
	// PerAddr is how many connections one address (see Key) may hold open;
	// beyond it a new one is answered 429 and closed. No bound when <= 0.
	PerAddr int
	// Max is how many connections may be open in all; beyond it a new one
	// is answered 503 and closed. No bound when <= 0.
	Max int
	// Exempt, when set, names peers not counted per address: trusted
	// proxies, which carry many clients (counted per forwarded address by
	// a Counter instead).
	Exempt func(netip.Addr) bool
}

// Listener wraps a net.Listener with the bounds of ListenOptions.
type Listener struct {
	net.Listener
	o       ListenOptions
	mu      sync.Mutex
	perAddr map[netip.Addr]int
	open    int
	refused atomic.Uint64
}

// Listen bounds ln.
func Listen(ln net.Listener, o ListenOptions) *Listener {
	return &Listener{Listener: ln, o: o, perAddr: map[netip.Addr]int{}}
}

// Open is the number of connections open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Refused is the number of connections refused so far.
func (l *Listener) Refused() uint64 { return l.refused.Load() }

// Accept returns the next connection within the bounds; those beyond them
// are answered and closed here, never handed to the server.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := Key(addrOf(c.RemoteAddr()))
		counted := l.o.Exempt == nil || !l.o.Exempt(key)
		l.mu.Lock()
		switch {
		case l.o.Max > 0 && l.open >= l.o.Max:
			l.mu.Unlock()
			l.refuse(c, refusedFull)
			continue
		case counted && l.o.PerAddr > 0 && l.perAddr[key] >= l.o.PerAddr:
			l.mu.Unlock()
			l.refuse(c, refusedPerAddr)
			continue
		}
		l.open++
		if counted {
			l.perAddr[key]++
		}
		l.mu.Unlock()
		return &conn{Conn: c, release: func() { l.release(key, counted) }}, nil
	}
}

func (l *Listener) release(key netip.Addr, counted bool) {
	l.mu.Lock()
	l.open--
	if counted {
		if l.perAddr[key]--; l.perAddr[key] <= 0 {
			delete(l.perAddr, key)
		}
	}
	l.mu.Unlock()
}

var (
	refusedPerAddr = cannedResponse(http.StatusTooManyRequests, "too many connections from your address; close some and try again")
	refusedFull    = cannedResponse(http.StatusServiceUnavailable, "the server holds as many connections as it can; try again later")
)

func cannedResponse(code int, msg string) []byte {
	body := fmt.Sprintf(`{"error":%q}`+"\n", msg)
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\nRetry-After: 5\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), len(body), body)
}

// refuse answers a connection that is beyond a bound, without reading its
// request, and closes it. The socket's buffer is empty, so the write does
// not wait; the deadline is there in case it would.
func (l *Listener) refuse(c net.Conn, answer []byte) {
	l.refused.Add(1)
	_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	_, _ = c.Write(answer)
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.Close()
}

// conn gives its place back once, when closed (also after a hijack: the
// hijacker closes the same conn).
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// SyscallConn reaches the socket (the WebSocket hub writes without
// waiting through it).
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.New("connlimit: not a socket")
}

// CloseWrite half-closes the socket, as net/http does before closing.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Counter bounds things in flight per address: requests, WebSockets.
type Counter struct {
	max int
	mu  sync.Mutex
	m   map[netip.Addr]int
}

// NewCounter allows max at once per address (see Key); no bound when
// max <= 0.
func NewCounter(max int) *Counter { return &Counter{max: max, m: map[netip.Addr]int{}} }

// Max is the bound per address.
func (c *Counter) Max() int { return c.max }

// Acquire takes a place for a; ok is false when a holds max already. Call
// release exactly once when done.
func (c *Counter) Acquire(a netip.Addr) (release func(), ok bool) {
	if !c.Enter(a) {
		return nil, false
	}
	var once sync.Once
	return func() { once.Do(func() { c.Leave(a) }) }, true
}

// Enter takes a place for a, without allocating (the per-request path);
// it is false when a holds max already. Each Enter that is true needs
// exactly one Leave with the same address.
func (c *Counter) Enter(a netip.Addr) bool {
	if c == nil || c.max <= 0 {
		return true
	}
	key := Key(a)
	c.mu.Lock()
	n := c.m[key]
	if n >= c.max {
		c.mu.Unlock()
		return false
	}
	c.m[key] = n + 1
	c.mu.Unlock()
	return true
}

// Leave gives back the place an Enter took for a.
func (c *Counter) Leave(a netip.Addr) {
	if c == nil || c.max <= 0 {
		return
	}
	key := Key(a)
	c.mu.Lock()
	if c.m[key]--; c.m[key] <= 0 {
		delete(c.m, key)
	}
	c.mu.Unlock()
}

// BodyOptions bound how long a request body may take to arrive.
type BodyOptions struct {
	// Grace is how long the first bytes may take (10 s when zero).
	Grace time.Duration
	// MinRate is the average rate, in bytes a second, the body must keep
	// after Grace (8 KiB/s when zero): a body of n bytes may take Grace +
	// n/MinRate.
	MinRate int
	// Timeout bounds the whole body whatever its rate (5 min when zero).
	Timeout time.Duration
	// OnCut, when set, is called when a body is cut for being slow.
	OnCut func()
}

func (o BodyOptions) withDefaults() BodyOptions {
	if o.Grace <= 0 {
		o.Grace = 10 * time.Second
	}
	if o.MinRate <= 0 {
		o.MinRate = 8 << 10
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	return o
}

// ErrSlowBody is what reading a body that did not arrive in time returns
// (it also matches os.ErrDeadlineExceeded).
var ErrSlowBody = errors.New("the request body did not arrive in time")

// GuardBody sets the read deadline of r's connection for its body and
// replaces r.Body with a reader that moves the deadline on as bytes
// arrive. The deadline also bounds what net/http reads of an unread body
// after the handler has answered (an early 401 or 413). A request without
// a body is left alone. w must reach the connection through
// http.ResponseController (wrappers that Unwrap do).
func GuardBody(w http.ResponseWriter, r *http.Request, o BodyOptions) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return
	}
	o = o.withDefaults()
	rc := http.NewResponseController(w)
	now := time.Now()
	b := &body{ReadCloser: r.Body, rc: rc, o: o, start: now, last: now.Add(o.Grace)}
	if err := rc.SetReadDeadline(b.last); err != nil {
		return // not a connection that takes deadlines (a test's recorder)
	}
	r.Body = b
}

type body struct {
	io.ReadCloser
	rc    *http.ResponseController
	o     BodyOptions
	start time.Time
	last  time.Time // the deadline set
	total int64
	done  bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if b.done {
		return n, err
	}
	b.total += int64(n)
	switch {
	case err == io.EOF:
		// The whole body is in. net/http now watches the connection for
		// the client going away; a deadline must not end that watch.
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		b.done = true
		if b.o.OnCut != nil {
			b.o.OnCut()
		}
		return n, fmt.Errorf("%w: %d bytes in %s, the floor is %d bytes/s after %s, at most %s in all: %w",
			ErrSlowBody, b.total, time.Since(b.start).Round(time.Millisecond), b.o.MinRate, b.o.Grace, b.o.Timeout, err)
	case n > 0:
		d := b.start.Add(b.o.Grace + time.Duration(b.total*int64(time.Second)/int64(b.o.MinRate)))
		if limit := b.start.Add(b.o.Timeout); d.After(limit) {
			d = limit
		}
		if d.Sub(b.last) >= 100*time.Millisecond {
			b.last = d
			_ = b.rc.SetReadDeadline(d)
		}
	}
	return n, err
}
