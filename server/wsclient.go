package server

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/paulmach/orb"
)

// client is one WebSocket connection. Its reader goroutine handles the
// client's messages; what goes out — the latest snapshot, control messages
// (errors, invalidations, pings), then one frame of every coalesced update —
// waits in the client's queues until the writer (wswriter.go) puts it into
// the socket.
type client struct {
	hub  *Hub
	conn *websocket.Conn // the handshake and the client's messages
	raw  net.Conn        // every frame to the client goes here, whole
	rc   syscall.RawConn // writes that never wait; nil: each write waits in its own goroutine

	// guarded by hub.cmu
	box        orb.Bound
	subscribed bool
	// owned by the hub's tick goroutine
	tickBuf []*update

	mu       sync.Mutex
	view     orb.Bound // the subscribed box, as the queue filters by it
	viewOn   bool
	snapSeq  uint64 // states at or below it are in the last snapshot
	snapshot []byte
	ctrl     []ctrlFrame
	queue    []*update // in arrival order; may hold older states of a sensor
	spare    []*update // the queue's other buffer, while that one is sent
	ticks    int       // enqueues since the last frame was taken
	bytes    int
	writing  bool // one goroutine owns the writes; it sends until nothing waits
	closed   bool
	bye      []byte // the close frame, for the goroutine that owns the writes to send last
	done     chan struct{}

	// owned by the reader
	budget  float64
	lastSub time.Time
}

// ctrlFrame is a message that goes before updates: an error or
// invalidation (text), or a ping or pong.
type ctrlFrame struct {
	op   byte
	data []byte
}

func newClient(h *Hub, conn *websocket.Conn) *client {
	c := &client{hub: h, conn: conn, raw: conn.NetConn(), done: make(chan struct{})}
	c.rc = rawConnOf(c.raw)
	return c
}

// enqueue adds this tick's updates for the client, replacing older states
// of the same sensors; a client whose queue is still over its bound after
// that is disconnected. It reports whether the client is still there.
func (c *client) enqueue(ups []*update) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	for _, u := range ups {
		if u.seq <= c.snapSeq {
			continue // the snapshot has it, or newer
		}
		c.queue = append(c.queue, u)
		c.bytes += len(u.data) + 1
	}
	c.ticks++
	coalesced := 0
	if c.bytes > c.hub.opts.MaxQueueBytes {
		// Behind: keep only the newest state per sensor, then judge.
		coalesced = c.compact()
	}
	over := c.bytes > c.hub.opts.MaxQueueBytes
	dropped := len(c.queue)
	c.mu.Unlock()
	if coalesced > 0 {
		c.hub.m.coalesced.Add(float64(coalesced))
	}
	if over {
		c.hub.m.dropped.Add(float64(dropped))
		c.close(disconnectSlow)
		return false
	}
	return true
}

// control queues a small message (error, invalidate, ping, pong) to go
// before updates, and sends it.
func (c *client) control(op byte, msg []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if len(c.ctrl) >= 64 {
		c.ctrl = c.ctrl[1:] // a client this far behind only needs the newest
	}
	c.ctrl = append(c.ctrl, ctrlFrame{op, msg})
	c.mu.Unlock()
	c.send()
}

// close ends the connection with d's close frame: written now when no
// write is under way, else by the goroutine writing, after its write (a
// frame must not be cut in two); a connection whose write does not end
// within a second is closed without one.
func (c *client) close(d disconnect) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	bye := d.closeFrame()
	c.closed = true
	idle := !c.writing
	if idle {
		c.writing = true // this goroutine's, for the close frame
	} else {
		c.bye = bye
	}
	c.queue, c.spare, c.snapshot, c.ctrl = nil, nil, nil, nil
	c.mu.Unlock()
	close(c.done)
	c.hub.remove(c)
	c.hub.m.disconnects.WithLabelValues(d.Name).Inc()
	switch {
	case idle && c.rc == nil: // no write that never waits: one that waits a second
		go func() {
			_ = c.raw.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.raw.Write(bye)
			_ = c.raw.Close()
		}()
		return
	case idle:
		c.tryWrite(bye)
		_ = c.raw.Close()
		return
	}
	time.AfterFunc(time.Second, func() { _ = c.raw.Close() })
}

// reader handles the client's messages until the connection ends.
func (c *client) reader() {
	why := disconnectClient
	defer func() { c.close(why) }()
	pongWait := 2 * c.hub.opts.PingInterval
	_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(pongWait))
	})
	// The answers go with the client's other frames, never beside them.
	c.conn.SetPingHandler(func(data string) error {
		c.control(opPong, []byte(data))
		return nil
	})
	c.conn.SetCloseHandler(func(int, string) error { return nil }) // close answers it
	limit := c.hub.opts.MaxMessageBytes
	for {
		// The size limit is kept here rather than by gorilla's
		// SetReadLimit, which would write its close frame into the socket
		// itself, beside the writer's frames.
		kind, r, err := c.conn.NextReader()
		var data []byte
		if err == nil {
			data, err = io.ReadAll(io.LimitReader(r, limit+1))
		}
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout(): // the read deadline
			why = disconnectPingTimeout
			return
		case err != nil:
			return
		case int64(len(data)) > limit:
			why = disconnectTooBig
			return
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
		if kind != websocket.TextMessage {
			c.sendError("messages are JSON text frames")
			continue
		}
		msg, err := DecodeWSClientMessage(data)
		if err != nil {
			c.sendError(err.Error())
			continue
		}
		switch msg.Type {
		case WSSubscribe:
			// Each subscribe costs a snapshot: at most about 10 a second.
			now := time.Now()
			c.budget = min(c.budget+now.Sub(c.lastSub).Seconds()*10, 20)
			c.lastSub = now
			if c.budget < 1 {
				c.sendError("too many subscribes; at most 10 a second (the last one was not taken)")
				continue
			}
			c.budget--
			c.subscribe(msg.BBox)
		case WSUnsubscribe:
			c.unsubscribe()
		}
	}
}

func (c *client) sendError(text string) {
	c.hub.m.badMessages.Inc()
	c.control(opText, AppendWSError(nil, text))
}

// subscribe replaces the client's view: from now on the ticks deliver the
// sensors inside b; the snapshot, read after that, holds every state up to
// its sequence number, so queued states at or below it are dropped.
func (c *client) subscribe(b orb.Bound) {
	c.hub.setBox(c, b, true)
	var states []live.SensorState
	var seq uint64
	if ss := c.hub.sensors.Load(); ss != nil {
		states, seq = ss.Search(b)
	}
	frame := AppendWSSnapshot(make([]byte, 0, 64+len(states)*160), states)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	// A snapshot still unsent when the next is asked for: the client is
	// not reading. Snapshots count against the queue's bound like updates,
	// so subscribing again and again without reading ends as any slow
	// client does.
	if len(c.snapshot) > 0 && len(c.snapshot)+len(frame)+c.bytes > c.hub.opts.MaxQueueBytes {
		c.mu.Unlock()
		c.close(disconnectSlow)
		return
	}
	c.view, c.viewOn, c.snapSeq, c.snapshot = b, true, seq, frame
	c.filterQueue()
	c.mu.Unlock()
	c.send()
}

func (c *client) unsubscribe() {
	c.hub.setBox(c, orb.Bound{}, false)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.viewOn = false
	c.filterQueue()
}

// filterQueue drops queued states that the snapshot covers or that lie
// outside the view; c.mu is held.
func (c *client) filterQueue() {
	if c.closed {
		return
	}
	kept := c.queue[:0]
	c.bytes = 0
	for _, u := range c.queue {
		if u.seq <= c.snapSeq || !c.viewOn || !c.view.Contains(u.pos) {
			continue
		}
		kept = append(kept, u)
		c.bytes += len(u.data) + 1
	}
	clear(c.queue[len(kept):])
	c.queue = kept
}

// compact coalesces the queue (c.mu held) and returns how many states it
// dropped.
func (c *client) compact() int {
	n := coalesce(&c.queue)
	if n > 0 {
		c.bytes = 0
		for _, u := range c.queue {
			c.bytes += len(u.data) + 1
		}
	}
	return n
}

// seenPool is coalesce's scratch, shared by every client.
var seenPool = sync.Pool{New: func() any { return new(seen) }}

// seen marks the sensor slots met in one pass: at[slot] is the index of
// the slot's kept state when mark[slot] is the pass's stamp.
type seen struct {
	at    []int32
	mark  []uint32
	stamp uint32
}

// coalesce keeps, in place, only the newest state of each sensor (the
// highest sequence number), in the order of their first arrival, and
// returns how many it dropped.
func coalesce(q *[]*update) int {
	in := *q
	sn := seenPool.Get().(*seen)
	defer seenPool.Put(sn)
	sn.stamp++
	if sn.stamp == 0 { // wrapped: no mark may look current
		clear(sn.mark)
		sn.stamp = 1
	}
	out := in[:0]
	for _, u := range in {
		if int(u.slot) >= len(sn.at) {
			n := max(int(u.slot)+1, 2*len(sn.at))
			sn.at = append(sn.at, make([]int32, n-len(sn.at))...)
			sn.mark = append(sn.mark, make([]uint32, n-len(sn.mark))...)
		}
		if sn.mark[u.slot] == sn.stamp {
			if i := sn.at[u.slot]; u.seq > out[i].seq {
				out[i] = u
			}
			continue
		}
		sn.mark[u.slot], sn.at[u.slot] = sn.stamp, int32(len(out))
		out = append(out, u)
	}
	dropped := len(in) - len(out)
	clear(in[len(out):])
	*q = out
	return dropped
}
