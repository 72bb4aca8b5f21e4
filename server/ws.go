package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// client is one WebSocket connection. Its reader goroutine handles the
// client's messages; what goes out — the latest snapshot, control messages
// (errors, invalidations, pings), then one frame of every coalesced update —
// is written by whoever has something for it (the hub's tick, the reader
// after a subscribe), straight into the socket without waiting. Only when
// the socket is full does the client get a goroutine of its own, which
// finishes the write, blocking, while the others are served.
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

	// the naive design (HubOptions.Naive): a writer goroutine per client
	wake   chan struct{}
	naiveQ chan []byte

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
	if sc, ok := c.raw.(syscall.Conn); ok {
		c.rc, _ = sc.SyscallConn()
	}
	if h.opts.Naive {
		c.wake = make(chan struct{}, 1)
		c.naiveQ = make(chan []byte, 256)
	}
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
		c.close("too slow: more than its queue bound waits", websocket.ClosePolicyViolation)
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

// send writes what waits for the client, unless another goroutine is
// writing to it already (that one sends it too, before it stops). It never
// waits for the client: what the socket does not take is finished by a
// goroutine of the client's own.
func (c *client) send() {
	if c.wake != nil { // naive: the client's writer goroutine sends
		select {
		case c.wake <- struct{}{}:
		default:
		}
		return
	}
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
			c.close("write failed", websocket.CloseGoingAway)
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
		size := len(updatePrefix) + len(updateSuffix) + len(c.queue) - 1
		for _, u := range c.queue {
			size += len(u.data)
		}
		out.buf = appendFrameHeader(out.buf, opText, size)
		out.buf = append(out.buf, updatePrefix...)
		for i, u := range c.queue {
			if i > 0 {
				out.buf = append(out.buf, ',')
			}
			out.buf = append(out.buf, u.data...)
		}
		out.buf = append(out.buf, updateSuffix...)
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

const (
	updatePrefix = `{"type":"update","sensors":[`
	updateSuffix = `]}`
)

// sent counts a finished write in the metrics.
func (c *client) sent(out outgoing) {
	m := c.hub.m
	m.frames.Add(float64(out.frames))
	if len(out.ups) > 0 {
		now := time.Now()
		for _, u := range out.ups {
			m.delay.Observe(now.Sub(u.at).Seconds())
		}
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
			c.close("write failed", websocket.CloseGoingAway)
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
	n, failed := 0, false
	err := c.rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			k, err := syscall.Write(int(fd), b[n:])
			if k > 0 {
				n += k
			}
			switch {
			case err == syscall.EINTR:
			case err == syscall.EAGAIN:
				return true // full: not waiting here
			case err != nil || k <= 0:
				failed = true
				return true
			}
		}
		return true
	})
	if err != nil || failed {
		return -1
	}
	return n
}

// close ends the connection with a close frame: written now when no write
// is under way, else by the goroutine writing, after its write (a frame
// must not be cut in two); a connection whose write does not end within a
// second is closed without one (the naive design always is).
func (c *client) close(reason string, code int) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	bye := appendFrame(nil, opClose, websocket.FormatCloseMessage(code, reason))
	c.closed = true
	idle := !c.writing && c.wake == nil
	if idle {
		c.writing = true // this goroutine's, for the close frame
	} else if c.wake == nil {
		c.bye = bye
	}
	c.queue, c.spare, c.snapshot, c.ctrl = nil, nil, nil, nil
	c.mu.Unlock()
	close(c.done)
	c.hub.remove(c)
	c.hub.m.disconnects.WithLabelValues(disconnectReason(reason)).Inc()
	if idle {
		c.tryWrite(bye)
		_ = c.raw.Close()
		return
	}
	if c.wake != nil {
		_ = c.raw.Close()
		return
	}
	time.AfterFunc(time.Second, func() { _ = c.raw.Close() })
}

func disconnectReason(reason string) string {
	switch {
	case strings.HasPrefix(reason, "too slow"):
		return "slow"
	case strings.HasPrefix(reason, "server"):
		return "shutdown"
	case strings.HasPrefix(reason, "write"):
		return "write_error"
	}
	return "client"
}

// naiveWriter is the writer goroutine of the naive design: every update
// frame from the hub's channel, and what send queued, written in turn,
// each write waiting for the client. (No close frame: it could cut one of
// these writes in two.)
func (c *client) naiveWriter() {
	write := func(b []byte) bool {
		_ = c.raw.SetWriteDeadline(time.Now().Add(c.hub.opts.WriteTimeout))
		if _, err := c.raw.Write(b); err != nil {
			c.close("write failed", websocket.CloseGoingAway)
			return false
		}
		return true
	}
	var buf []byte
	for {
		select {
		case <-c.done:
			return
		case f := <-c.naiveQ:
			buf = appendFrame(buf[:0], opText, f)
			if !write(buf) {
				return
			}
			c.hub.m.frames.Inc()
			c.hub.m.updates.Inc()
		case <-c.wake:
			for {
				out, ok := c.take()
				if !ok {
					break
				}
				if !write(out.buf) {
					out.release()
					return
				}
				c.sent(out)
			}
		}
	}
}

// reader handles the client's messages until the connection ends.
func (c *client) reader() {
	defer c.close("closed by the client", websocket.CloseNormalClosure)
	pongWait := 2 * c.hub.opts.PingInterval
	c.conn.SetReadLimit(c.hub.opts.MaxMessageBytes)
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
	for {
		kind, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(pongWait))
		if kind != websocket.TextMessage {
			c.sendError("messages are JSON text frames")
			continue
		}
		msg, err := decodeClientMessage(data)
		if err != nil {
			c.sendError(err.Error())
			continue
		}
		switch msg.Type {
		case "subscribe":
			// Each subscribe costs a snapshot: at most about 10 a second.
			now := time.Now()
			c.budget = min(c.budget+now.Sub(c.lastSub).Seconds()*10, 20)
			c.lastSub = now
			if c.budget < 1 {
				c.sendError("too many subscribes; at most 10 a second (the last one was not taken)")
				continue
			}
			c.budget--
			c.subscribe(msg.Box)
		case "unsubscribe":
			c.unsubscribe()
		}
	}
}

func (c *client) sendError(text string) {
	c.hub.m.badMessages.Inc()
	b, _ := json.Marshal(struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	}{"error", text})
	c.control(opText, b)
}

// subscribe replaces the client's view: from now on the ticks deliver the
// sensors inside b; the snapshot, read after that, holds every state up to
// its sequence number, so queued states at or below it are dropped.
func (c *client) subscribe(b orb.Bound) {
	c.hub.setBox(c, b, true)
	var states []twin.SensorState
	var seq uint64
	if ss := c.hub.sensors.Load(); ss != nil {
		states, seq = ss.Search(b)
	}
	frame := make([]byte, 0, 64+len(states)*160)
	frame = append(frame, `{"type":"snapshot","sensors":[`...)
	for i, st := range states {
		if i > 0 {
			frame = append(frame, ',')
		}
		frame = encodeWSSensor(frame, st)
	}
	frame = append(frame, "]}"...)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
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

// Scratch shared by every client: idle connections hold no buffers.
var (
	framePool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}
	seenPool  = sync.Pool{New: func() any { return map[string]int{} }}
)

// coalesce keeps, in place, only the newest state of each sensor (the
// highest sequence number), in the order of their first arrival, and
// returns how many it dropped.
func coalesce(q *[]*update) int {
	in := *q
	seen := seenPool.Get().(map[string]int)
	defer func() { clear(seen); seenPool.Put(seen) }()
	out := in[:0]
	for _, u := range in {
		if i, ok := seen[u.id]; ok {
			if u.seq > out[i].seq {
				out[i] = u
			}
			continue
		}
		seen[u.id] = len(out)
		out = append(out, u)
	}
	dropped := len(in) - len(out)
	clear(in[len(out):])
	*q = out
	return dropped
}

// clientMessage is a decoded client message.
type clientMessage struct {
	Type string
	Box  orb.Bound
}

// decodeClientMessage reads {"type":"subscribe","bbox":[w,s,e,n]} or
// {"type":"unsubscribe"}; the error says, for the client, what is wrong.
func decodeClientMessage(data []byte) (clientMessage, error) {
	var raw struct {
		Type *string          `json:"type"`
		BBox *json.RawMessage `json:"bbox"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return clientMessage{}, fmt.Errorf("not a JSON message object: %s", jsonProblem(err))
	}
	if dec.More() {
		return clientMessage{}, errors.New("one JSON object per message")
	}
	if raw.Type == nil {
		return clientMessage{}, errors.New(`missing "type" (known: subscribe, unsubscribe)`)
	}
	switch *raw.Type {
	case "subscribe":
		if raw.BBox == nil {
			return clientMessage{}, errors.New(`subscribe needs "bbox": [west, south, east, north]`)
		}
		var bb []float64
		if err := json.Unmarshal(*raw.BBox, &bb); err != nil || len(bb) != 4 {
			return clientMessage{}, errors.New(`"bbox" must be four numbers: [west, south, east, north]`)
		}
		b, err := checkBBox(bb)
		if err != nil {
			return clientMessage{}, fmt.Errorf(`"bbox": %w`, err)
		}
		return clientMessage{Type: "subscribe", Box: b}, nil
	case "unsubscribe":
		return clientMessage{Type: "unsubscribe"}, nil
	}
	return clientMessage{}, fmt.Errorf("unknown message type %q (known: subscribe, unsubscribe)", *raw.Type)
}

// checkBBox turns [w,s,e,n] into a bound, clamping longitudes to ±180 (a
// map showing copies of the world) and refusing what is not a box.
func checkBBox(bb []float64) (orb.Bound, error) {
	for _, v := range bb {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return orb.Bound{}, errors.New("not a finite number")
		}
	}
	w, s, e, n := max(bb[0], -180), bb[1], min(bb[2], 180), bb[3]
	switch {
	case s < -90 || n > 90:
		return orb.Bound{}, fmt.Errorf("latitudes must be within −90…90, got %v and %v", s, n)
	case s > n:
		return orb.Bound{}, fmt.Errorf("south %v is north of north %v", s, n)
	case w > e:
		return orb.Bound{}, fmt.Errorf("west %v is east of east %v (split a box across the antimeridian in two)", bb[0], bb[2])
	}
	return orb.Bound{Min: orb.Point{w, s}, Max: orb.Point{e, n}}, nil
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v at byte %d", se, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%q must be %s, not %s", te.Field, te.Type, te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// hijacker lets gorilla reach the connection behind the server's
// response wrappers (which unwrap for http.ResponseController).
type hijacker struct{ http.ResponseWriter }

func (h hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(h.ResponseWriter).Hijack()
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
		writeError(w, http.StatusTooManyRequests, "too many live connections (%d); try again later", h.opts.MaxClients)
		return
	}
	// One address holds at most Config.PerClient WebSockets; the place is
	// given back when this handler returns, which is when the socket ends.
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
		msg := websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "too many live connections")
		_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		_ = conn.Close()
		return
	}
	if c.wake != nil {
		go c.naiveWriter()
	}
	c.reader()
}
