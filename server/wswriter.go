package server

import (
	"sync"
	"time"
)

// The writer: what waits for a client goes into its socket, whole frames
// only, written by whoever has something for the client (the hub's
// writers after a tick, the reader after a subscribe) without waiting.
// Only when the socket is full does the client get a goroutine of its own,
// which finishes the write, blocking, while the others are served. Where
// the system offers no write that never waits (wsrawwrite_other.go),
// every write is finished that way.

// send writes what waits for the client, unless another goroutine is
// writing to it already (that one sends it too, before it stops). It never
// waits for the client: what the socket does not take is finished by a
// goroutine of the client's own.
func (c *client) send() {
	if c.own() {
		c.flush()
	}
}

// own takes the right to write to the client, if no one has it.
func (c *client) own() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writing || c.closed {
		return false
	}
	c.writing = true
	return true
}

// flush writes, by the goroutine that owns the writes, until nothing
// waits or the socket is full.
func (c *client) flush() {
	for {
		out, ok := c.take()
		if !ok {
			return
		}
		n := c.tryWrite(out.buf)
		if n < 0 {
			out.release()
			c.close(disconnectWriteFailed)
			_ = c.raw.Close()
			return
		}
		if n < len(out.buf) {
			go c.finish(out, n)
			return
		}
		c.sent(out)
		if out.last {
			_ = c.raw.Close()
			return
		}
	}
}

// outgoing is one write: the frames taken from the client's queues.
type outgoing struct {
	buf    []byte
	pool   *[]byte // where buf goes back to, if anywhere
	frames int
	ups    []*update // the states in buf, for the metrics
	last   bool      // the close frame: the connection ends after it
}

// framePool holds the writes' buffers, shared by every client: idle
// connections hold none.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func (o outgoing) release() {
	if o.pool != nil && cap(o.buf) <= 256<<10 {
		*o.pool = o.buf[:0]
		framePool.Put(o.pool)
	}
}

// take builds the next write from what waits, or, when nothing does,
// gives up the right to write (c.writing) and reports false.
func (c *client) take() (outgoing, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spare != nil {
		clear(c.spare) // the last write's states
	}
	if c.closed && c.bye != nil {
		out := outgoing{buf: c.bye, frames: 1, last: true}
		c.bye = nil
		return out, true
	}
	if c.closed || (c.snapshot == nil && len(c.ctrl) == 0 && len(c.queue) == 0) {
		c.writing = false
		return outgoing{}, false
	}
	pool := framePool.Get().(*[]byte)
	out := outgoing{buf: (*pool)[:0], pool: pool}
	if c.snapshot != nil {
		out.buf = appendFrame(out.buf, opText, c.snapshot)
		out.frames++
		c.snapshot = nil
	}
	for _, m := range c.ctrl {
		out.buf = appendFrame(out.buf, m.op, m.data)
		out.frames++
	}
	c.ctrl = nil
	if len(c.queue) > 0 {
		if c.ticks > 1 {
			// Several ticks waited: send each sensor once, newest state.
			if n := coalesce(&c.queue); n > 0 {
				c.hub.m.coalesced.Add(float64(n))
			}
		}
		out.buf = appendFrameHeader(out.buf, opText, updateLen(c.queue))
		out.buf = appendUpdate(out.buf, c.queue)
		out.frames++
		out.ups = c.queue
		c.queue, c.spare = c.spare[:0], c.queue
		if cap(c.queue) > 4096 {
			c.queue = nil
		}
	}
	c.ticks, c.bytes = 0, 0
	return out, true
}

// sent counts a finished write in the metrics.
func (c *client) sent(out outgoing) {
	m := c.hub.m
	m.frames.Add(float64(out.frames))
	if len(out.ups) > 0 {
		m.delay.observeSince(time.Now(), out.ups)
		m.updates.Add(float64(len(out.ups)))
	}
	out.release()
}

// finish is the goroutine of a client whose socket was full: it writes the
// rest, waiting up to the write timeout, then whatever came meanwhile,
// until nothing waits.
func (c *client) finish(out outgoing, from int) {
	rest := out.buf[from:]
	for {
		_ = c.raw.SetWriteDeadline(time.Now().Add(c.hub.opts.WriteTimeout))
		if _, err := c.raw.Write(rest); err != nil {
			out.release()
			c.close(disconnectWriteFailed)
			_ = c.raw.Close()
			return
		}
		c.sent(out)
		if out.last {
			_ = c.raw.Close()
			return
		}
		var ok bool
		if out, ok = c.take(); !ok {
			return
		}
		rest = out.buf
	}
}

// tryWrite writes as much of b as the socket takes now, without waiting,
// and returns how much that was, or -1 when the connection failed.
func (c *client) tryWrite(b []byte) int {
	if c.rc == nil {
		return 0 // no way to write without waiting: the client's goroutine will
	}
	return writeNoWait(c.rc, b)
}
