package server

import (
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/rtree"
)

// HubOptions tune the WebSocket hub. Zero values take the defaults.
type HubOptions struct {
	// Tick is how often updates are batched into one frame per client (50 ms).
	Tick time.Duration
	// MaxQueueBytes bounds what waits for one client after coalescing
	// (1 MiB); a client still over it is disconnected.
	MaxQueueBytes int
	// MaxClients caps open connections; more get 429 (20,000).
	MaxClients int
	// WriteTimeout is how long a write to a client whose socket is full
	// may wait (10 s); the client is disconnected after it.
	WriteTimeout time.Duration
	// PingInterval is how often the server pings (30 s); a client that
	// answers nothing for twice that is disconnected.
	PingInterval time.Duration
	// MaxMessageBytes is the largest client message (4 KiB).
	MaxMessageBytes int64
	// AllowedOrigins lists the Origin values a browser may connect from
	// besides the server's own host; "*" allows any. Clients that send no
	// Origin (scripts, kiosks' own tools) are always allowed.
	AllowedOrigins []string
}

func (o *HubOptions) defaults() {
	if o.Tick <= 0 {
		o.Tick = 50 * time.Millisecond
	}
	if o.MaxQueueBytes <= 0 {
		o.MaxQueueBytes = 1 << 20
	}
	if o.MaxClients <= 0 {
		o.MaxClients = 20000
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 4 << 10
	}
}

// Hub fans sensor states out to WebSocket clients by viewport. States
// arrive from the store (OnStates) and wait, coalesced per sensor, for the
// next tick; each tick finds the clients whose subscribed box holds each
// changed sensor (an R-tree of boxes), appends every client's share to its
// queue and hands the client to the writers (one goroutine per core), which
// put its frame into the socket without waiting. A client's queue keeps
// only the newest state per sensor, so a slow client costs memory bounded
// by the sensors in its view, and never delays the others.
type Hub struct {
	opts    HubOptions
	log     *slog.Logger
	m       *hubMetrics
	sensors atomic.Pointer[live.SensorSet]

	pmu     sync.Mutex
	pending map[string]pendingState

	imu     sync.Mutex
	invalid []orb.Bound // boxes of changed features since the last tick; see Invalidate

	cmu     sync.RWMutex
	clients map[*client]struct{}
	boxes   rtree.RTreeG[*client]
	count   atomic.Int64
	// Who watches each sensor, kept as clients subscribe and sensors
	// appear, so that a tick walks a list per changed sensor instead of
	// searching the boxes. Guarded by cmu; slots is written only by the
	// tick goroutine, under cmu's write lock.
	slots   map[string]int32    // sensor id → slot
	spos    []orb.Point         // slot → the position its watchers were found by
	watch   [][]*client         // slot → the clients whose box holds spos[slot]
	sensorT rtree.RTreeG[int32] // slots by spos

	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
	ready chan *client // clients with frames to write, for the writers
}

type hubMetrics struct {
	clients     prometheus.Gauge
	frames      prometheus.Counter
	updates     prometheus.Counter
	coalesced   prometheus.Counter
	dropped     prometheus.Counter
	disconnects *prometheus.CounterVec
	badMessages prometheus.Counter
	tick        prometheus.Histogram
	delay       *delayHistogram
}

// pendingState is a state waiting for the next tick, with the moment the
// store handed it over (durable).
type pendingState struct {
	st live.SensorState
	at time.Time
}

func newHubMetrics(reg prometheus.Registerer) *hubMetrics {
	m := &hubMetrics{
		clients: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kiruna_ws_clients", Help: "Open WebSocket connections."}),
		frames:  prometheus.NewCounter(prometheus.CounterOpts{Name: "kiruna_ws_frames_total", Help: "WebSocket frames written to clients."}),
		updates: prometheus.NewCounter(prometheus.CounterOpts{Name: "kiruna_ws_updates_total", Help: "Sensor states delivered to clients in update frames."}),
		coalesced: prometheus.NewCounter(prometheus.CounterOpts{Name: "kiruna_ws_coalesced_total",
			Help: "Sensor states replaced by a newer state of the same sensor before they were sent."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "kiruna_ws_dropped_updates_total",
			Help: "Sensor states discarded because their client was disconnected for being too slow."}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiruna_ws_disconnects_total",
			Help: "WebSocket connections ended or refused by the server, and those the client ended, by reason."}, []string{"reason"}),
		badMessages: prometheus.NewCounter(prometheus.CounterOpts{Name: "kiruna_ws_bad_messages_total", Help: "Client messages answered with an error."}),
		tick: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kiruna_ws_tick_seconds", Help: "Time to fan one tick's updates out to the clients' queues.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .025, .05, .1}}),
		delay: newDelayHistogram("kiruna_ws_update_delay_seconds",
			"Time from a sensor state being durable to the frame that carries it written to a client.",
			[]float64{.01, .025, .05, .075, .1, .15, .2, .3, .5, 1, 2, 5}),
	}
	reg.MustRegister(m.clients, m.frames, m.updates, m.coalesced, m.dropped, m.disconnects, m.badMessages, m.tick, m.delay)
	for _, d := range disconnects {
		m.disconnects.WithLabelValues(d.Name) // every reason listed, from 0
	}
	return m
}

// NewHub starts a hub; Close stops it.
func NewHub(opts HubOptions, reg prometheus.Registerer, log *slog.Logger) *Hub {
	opts.defaults()
	h := &Hub{opts: opts, log: log, m: newHubMetrics(reg), pending: map[string]pendingState{},
		clients: map[*client]struct{}{}, quit: make(chan struct{}), done: make(chan struct{}),
		ready: make(chan *client, 2*opts.MaxClients)}
	for range runtime.GOMAXPROCS(0) {
		go h.write()
	}
	go h.run()
	return h
}

// SetSensors gives the hub the sensors it takes snapshots from.
func (h *Hub) SetSensors(ss *live.SensorSet) { h.sensors.Store(ss) }

// Clients is the number of open connections.
func (h *Hub) Clients() int { return int(h.count.Load()) }

// Close stops the ticks and disconnects every client.
func (h *Hub) Close() {
	h.once.Do(func() {
		close(h.quit)
		<-h.done
		for _, c := range h.allClients() {
			c.close(disconnectShutdown)
		}
	})
}

// OnStates takes new sensor states (a live.Store listener): quick, it only
// records them for the next tick.
func (h *Hub) OnStates(states []live.SensorState) {
	now := time.Now()
	h.pmu.Lock()
	for _, st := range states {
		if _, ok := h.pending[st.ID]; ok {
			h.m.coalesced.Inc()
		}
		h.pending[st.ID] = pendingState{st, now}
	}
	h.pmu.Unlock()
}

func (h *Hub) run() {
	defer close(h.done)
	t := time.NewTicker(h.opts.Tick)
	defer t.Stop()
	ping := time.NewTicker(h.opts.PingInterval)
	defer ping.Stop()
	spare := map[string]pendingState{}
	for {
		select {
		case <-h.quit:
			return
		case <-ping.C:
			h.pingAll()
			continue
		case <-t.C:
		}
		h.flushInvalid()
		h.pmu.Lock()
		batch := h.pending
		h.pending = spare
		h.pmu.Unlock()
		if len(batch) > 0 {
			start := time.Now()
			h.fanOut(batch)
			h.m.tick.Observe(time.Since(start).Seconds())
		}
		clear(batch)
		spare = batch
	}
}

// pingAll pings every client; one that answers nothing for twice the
// interval is disconnected by its reader's deadline.
func (h *Hub) pingAll() {
	for _, c := range h.allClients() {
		c.control(opPing, nil)
	}
}

// allClients is the connected clients, at this moment.
func (h *Hub) allClients() []*client {
	h.cmu.RLock()
	defer h.cmu.RUnlock()
	cs := make([]*client, 0, len(h.clients))
	for c := range h.clients {
		cs = append(cs, c)
	}
	return cs
}

// update is one sensor's state, encoded once per tick for every client.
type update struct {
	id   string
	slot int32 // the sensor's slot in the hub (Hub.slots): a dense index
	seq  uint64
	pos  orb.Point
	at   time.Time // when the store handed the state over
	data []byte
}

func (h *Hub) fanOut(batch map[string]pendingState) {
	ups := make([]*update, 0, len(batch))
	var moved []*update
	for _, p := range batch {
		st := p.st
		u := &update{id: st.ID, seq: st.Seq, pos: st.Pos, at: p.at, data: appendSensor(nil, st, sensorLive)}
		slot, ok := h.slots[st.ID] // only this goroutine writes slots
		if ok && h.spos[slot] == st.Pos {
			u.slot = slot
		} else {
			moved = append(moved, u) // new, or moved: find its watchers
		}
		ups = append(ups, u)
	}
	if len(moved) > 0 {
		h.cmu.Lock()
		for _, u := range moved {
			u.slot = h.place(u.id, u.pos)
		}
		h.cmu.Unlock()
	}
	var touched []*client
	h.cmu.RLock()
	for _, u := range ups {
		for _, c := range h.watch[u.slot] {
			if len(c.tickBuf) == 0 {
				touched = append(touched, c)
			}
			c.tickBuf = append(c.tickBuf, u)
		}
	}
	h.cmu.RUnlock()
	for _, c := range touched {
		if c.enqueue(c.tickBuf) && c.own() {
			h.ready <- c // a client is in it at most once: not full
		}
		clear(c.tickBuf)
		c.tickBuf = c.tickBuf[:0]
	}
}

// write is one of the goroutines that send the ticks' frames: the writes
// never wait for a client, so a few serve them all, in turn.
func (h *Hub) write() {
	for n := 1; ; n++ {
		select {
		case <-h.quit:
			return
		case c := <-h.ready:
			c.flush()
		}
		if n%16 == 0 {
			// Let the ingest and the readers in between: a writer would
			// otherwise keep its core until preempted, 10 ms later.
			runtime.Gosched()
		}
	}
}

func (h *Hub) add(c *client) bool {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	if len(h.clients) >= h.opts.MaxClients {
		return false
	}
	h.clients[c] = struct{}{}
	h.count.Store(int64(len(h.clients)))
	h.m.clients.Set(float64(len(h.clients)))
	return true
}

func (h *Hub) remove(c *client) {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	if _, ok := h.clients[c]; !ok {
		return
	}
	delete(h.clients, c)
	if c.subscribed {
		h.boxes.Delete(c.box.Min, c.box.Max, c)
		h.unwatch(c, c.box)
		c.subscribed = false
	}
	h.count.Store(int64(len(h.clients)))
	h.m.clients.Set(float64(len(h.clients)))
}

// setBox changes the box a client is found by; the zero bound removes it.
func (h *Hub) setBox(c *client, b orb.Bound, on bool) {
	h.cmu.Lock()
	defer h.cmu.Unlock()
	if _, ok := h.clients[c]; !ok {
		return
	}
	if c.subscribed {
		h.boxes.Delete(c.box.Min, c.box.Max, c)
		h.unwatch(c, c.box)
	}
	c.box, c.subscribed = b, on
	if on {
		h.boxes.Insert(b.Min, b.Max, c)
		h.sensorT.Search(b.Min, b.Max, func(_, _ [2]float64, slot int32) bool {
			h.watch[slot] = append(h.watch[slot], c)
			return true
		})
	}
}

// place gives sensor id a slot at pos (a new one, or its own moved) and
// finds the clients whose box holds it; cmu is held for writing.
func (h *Hub) place(id string, pos orb.Point) int32 {
	if h.slots == nil {
		h.slots = map[string]int32{}
	}
	slot, ok := h.slots[id]
	if ok {
		old := h.spos[slot]
		h.sensorT.Delete(old, old, slot)
	} else {
		slot = int32(len(h.spos))
		h.slots[id] = slot
		h.spos = append(h.spos, pos)
		h.watch = append(h.watch, nil)
	}
	h.spos[slot] = pos
	h.sensorT.Insert(pos, pos, slot)
	ws := h.watch[slot][:0]
	h.boxes.Search(pos, pos, func(_, _ [2]float64, c *client) bool {
		ws = append(ws, c)
		return true
	})
	if old := h.watch[slot]; len(ws) < len(old) {
		clear(old[len(ws):])
	}
	h.watch[slot] = ws
	return slot
}

// unwatch takes c off the lists of the sensors in box b, where setBox put
// it; cmu is held for writing.
func (h *Hub) unwatch(c *client, b orb.Bound) {
	h.sensorT.Search(b.Min, b.Max, func(_, _ [2]float64, slot int32) bool {
		ws := h.watch[slot]
		for i, w := range ws {
			if w == c {
				last := len(ws) - 1
				ws[i] = ws[last]
				ws[last] = nil
				h.watch[slot] = ws[:last]
				break
			}
		}
		return true
	})
}
