package main

import (
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kiruna-twin/kiruna-twin/server"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"
)

// naiveHub is the design the twin's hub is compared with (--mode naive):
// the textbook chat hub — every update its own frame to every subscribed
// client, a hub goroutine fed by a channel (the store waits when it is
// full), a 256-frame queue and a writer goroutine per client, the client
// dropped when its queue is full. It speaks the twin's protocol (the
// server package's encoders) and serves /ws in the child server in place
// of the twin's hub; the rest of that server is the twin's.
type naiveHub struct {
	sensors *live.SensorSet
	in      chan []live.SensorState
	up      websocket.Upgrader
	quit    chan struct{}
	once    sync.Once

	mu    sync.RWMutex
	boxes rtree.RTreeG[*naiveClient]
}

type naiveClient struct {
	hub  *naiveHub
	conn *websocket.Conn
	send chan []byte
	done chan struct{}
	once sync.Once
	// guarded by hub.mu
	box        orb.Bound
	subscribed bool
}

func newNaiveHub(sensors *live.SensorSet) *naiveHub {
	h := &naiveHub{sensors: sensors, in: make(chan []live.SensorState, 256), quit: make(chan struct{}),
		up: websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 4096, WriteBufferPool: &sync.Pool{}}}
	go h.run()
	return h
}

// onStates is the store's listener: the broadcast goes to the hub's
// goroutine over a channel, and waits when it is full.
func (h *naiveHub) onStates(states []live.SensorState) {
	select {
	case h.in <- slices.Clone(states):
	case <-h.quit:
	}
}

func (h *naiveHub) close() { h.once.Do(func() { close(h.quit) }) }

func (h *naiveHub) run() {
	for {
		select {
		case <-h.quit:
			return
		case states := <-h.in:
			h.fanOut(states)
		}
	}
}

// fanOut sends each state, as its own update, to every client whose box
// holds it; a client whose queue is full is dropped.
func (h *naiveHub) fanOut(states []live.SensorState) {
	var drop []*naiveClient
	h.mu.RLock()
	for _, st := range states {
		frame := server.AppendWSUpdate(nil, st)
		h.boxes.Search(st.Pos, st.Pos, func(_, _ [2]float64, c *naiveClient) bool {
			select {
			case c.send <- frame:
			default:
				drop = append(drop, c)
			}
			return true
		})
	}
	h.mu.RUnlock()
	for _, c := range drop {
		c.close()
	}
}

// setBox changes the box a client is found by; a closed client has none.
func (h *naiveHub) setBox(c *naiveClient, b orb.Bound, on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-c.done:
		on = false
	default:
	}
	if c.subscribed {
		h.boxes.Delete(c.box.Min, c.box.Max, c)
	}
	c.box, c.subscribed = b, on
	if on {
		h.boxes.Insert(b.Min, b.Max, c)
	}
}

func (h *naiveHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	conn, err := h.up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c := &naiveClient{hub: h, conn: conn, send: make(chan []byte, 256), done: make(chan struct{})}
	go c.writer()
	c.reader()
}

func (c *naiveClient) close() {
	c.once.Do(func() {
		close(c.done)
		c.hub.setBox(c, orb.Bound{}, false)
		_ = c.conn.Close()
	})
}

// reader handles the client's messages; its answers (snapshots, errors)
// wait in the client's queue with the updates.
func (c *naiveClient) reader() {
	defer c.close()
	c.conn.SetReadLimit(4 << 10)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		msg, err := server.DecodeWSClientMessage(data)
		switch {
		case err != nil:
			c.queue(server.AppendWSError(nil, err.Error()))
		case msg.Type == server.WSSubscribe:
			c.hub.setBox(c, msg.BBox, true)
			states, _ := c.hub.sensors.Search(msg.BBox)
			c.queue(server.AppendWSSnapshot(nil, states))
		case msg.Type == server.WSUnsubscribe:
			c.hub.setBox(c, orb.Bound{}, false)
		}
	}
}

func (c *naiveClient) queue(msg []byte) {
	select {
	case c.send <- msg:
	case <-c.done:
	}
}

// writer writes the client's queue, one frame per message, each write
// waiting for the client.
func (c *naiveClient) writer() {
	for {
		select {
		case <-c.done:
			return
		case msg := <-c.send:
			_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := c.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				c.close()
				return
			}
		}
	}
}
