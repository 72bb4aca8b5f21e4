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
	"time"

	"github.com/gorilla/websocket"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// client is one WebSocket connection. Its reader handles subscriptions;
// its writer sends, in order: the latest snapshot, control messages
// (errors, invalidations), then one frame of every coalesced update.
type client struct {
	hub  *Hub
	conn *websocket.Conn

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
	ctrl     [][]byte
	queue    []*update // in arrival order; may hold older states of a sensor
	ticks    int       // enqueues since the writer last took the queue
	bytes    int
	closed   bool
	wake     chan struct{}
	done     chan struct{}

	naiveQ chan []byte

	// owned by the reader
	budget  float64
	lastSub time.Time
}

func newClient(h *Hub, conn *websocket.Conn) *client {
	c := &client{hub: h, conn: conn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if h.opts.Naive {
		c.naiveQ = make(chan []byte, 256)
	}
	return c
}

func (c *client) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// enqueue adds this tick's updates for the client, replacing older states
// of the same sensors; a client whose queue is still over its bound after
// that is disconnected.
func (c *client) enqueue(ups []*update) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
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
		return
	}
	c.signal()
}

// control queues a small message (error, invalidate) to go before updates.
func (c *client) control(msg []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if len(c.ctrl) >= 64 {
		c.ctrl = c.ctrl[1:] // a client this far behind only needs the newest
	}
	c.ctrl = append(c.ctrl, msg)
	c.mu.Unlock()
	c.signal()
}

func (c *client) close(reason string, code int) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	c.queue, c.snapshot, c.ctrl = nil, nil, nil
	c.mu.Unlock()
	close(c.done)
	c.hub.remove(c)
	c.hub.m.disconnects.WithLabelValues(disconnectReason(reason)).Inc()
	// The close frame may wait for a writer stuck on a stalled peer: never
	// on the caller's goroutine (the hub's tick, for a slow client).
	go func() {
		msg := websocket.FormatCloseMessage(code, reason)
		_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		_ = c.conn.Close()
	}()
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

// writer sends what is queued until the connection ends.
func (c *client) writer() {
	ping := time.NewTicker(c.hub.opts.PingInterval)
	defer ping.Stop()
	var queue []*update
	for {
		select {
		case <-c.done:
			return
		case <-ping.C:
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.hub.opts.WriteTimeout)); err != nil {
				c.close("write failed", websocket.CloseGoingAway)
				return
			}
			continue
		case f := <-c.naiveQ: // nil channel unless naive
			if !c.write(f) {
				return
			}
			continue
		case <-c.wake:
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		snap, ctrl, ticks := c.snapshot, c.ctrl, c.ticks
		c.snapshot, c.ctrl, c.ticks = nil, nil, 0
		queue, c.queue = c.queue, queue[:0]
		c.bytes = 0
		c.mu.Unlock()
		if ticks > 1 {
			// Several ticks waited: send each sensor once, newest state.
			if n := coalesce(&queue); n > 0 {
				c.hub.m.coalesced.Add(float64(n))
			}
		}

		if snap != nil && !c.write(snap) {
			return
		}
		for _, m := range ctrl {
			if !c.write(m) {
				return
			}
		}
		if len(queue) > 0 {
			fp := framePool.Get().(*[]byte)
			frame := append((*fp)[:0], `{"type":"update","sensors":[`...)
			for i, u := range queue {
				if i > 0 {
					frame = append(frame, ',')
				}
				frame = append(frame, u.data...)
			}
			frame = append(frame, "]}"...)
			ok := c.write(frame)
			if cap(frame) <= 256<<10 {
				*fp = frame
				framePool.Put(fp)
			}
			if !ok {
				return
			}
			written := time.Now()
			for _, u := range queue {
				c.hub.m.delay.Observe(written.Sub(u.at).Seconds())
			}
			c.hub.m.updates.Add(float64(len(queue)))
			clear(queue)
			if cap(queue) > 4096 {
				queue = nil
			}
		}
	}
}

func (c *client) write(b []byte) bool {
	_ = c.conn.SetWriteDeadline(time.Now().Add(c.hub.opts.WriteTimeout))
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		c.close("write failed", websocket.CloseGoingAway)
		return false
	}
	c.hub.m.frames.Inc()
	return true
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
	c.control(b)
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
	defer c.signal()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.view, c.viewOn, c.snapSeq, c.snapshot = b, true, seq, frame
	c.filterQueue()
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
	go c.writer()
	c.reader()
}
