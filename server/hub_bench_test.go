package server

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkHubTick measures one tick of the hub without the network: 100
// changed sensors (2 000 readings/s at 20 ticks/s) fanned out to 10 000
// clients with random views (about 5% of the area each), each client's
// share appended to its queue, by the tick's workers. The frames' writes
// are not included.
//
//	go test -run '^$' -bench HubTick -benchtime 200x ./server
func BenchmarkHubTick(b *testing.B) {
	h := &Hub{opts: HubOptions{}, m: newHubMetrics(prometheus.NewRegistry()), pending: map[string]pendingState{},
		clients: map[*client]struct{}{}}
	h.opts.defaults()
	r := rand.New(rand.NewPCG(1, 2))
	area := orb.Bound{Min: orb.Point{20.15, 67.81}, Max: orb.Point{20.36, 67.88}}
	pt := func() orb.Point {
		return orb.Point{area.Min[0] + r.Float64()*(area.Max[0]-area.Min[0]), area.Min[1] + r.Float64()*(area.Max[1]-area.Min[1])}
	}
	var clients []*client
	for i := 0; i < 10000; i++ {
		// As if each client's own goroutine were writing: the tick only
		// queues, and the frames are not part of this benchmark.
		c := &client{hub: h, writing: true, done: make(chan struct{})}
		p := pt()
		w, ht := 0.01+r.Float64()*0.08, 0.005+r.Float64()*0.02
		h.clients[c] = struct{}{}
		h.setBox(c, orb.Bound{Min: orb.Point{p[0] - w/2, p[1] - ht/2}, Max: orb.Point{p[0] + w/2, p[1] + ht/2}}, true)
		clients = append(clients, c)
	}
	sensors := make([]live.Sensor, 2000)
	for i := range sensors {
		sensors[i] = live.Sensor{ID: fmt.Sprintf("L%05d", i), Type: "load_counter", Unit: "n", Pos: pt()}
	}
	now := time.Now()
	var seq uint64
	delivered := 0
	b.ResetTimer()
	for b.Loop() {
		batch := make(map[string]pendingState, 100)
		for j := 0; j < 100; j++ {
			seq++
			s := sensors[r.IntN(len(sensors))]
			batch[s.ID] = pendingState{live.SensorState{Sensor: s, Value: float64(seq), Time: now, Status: live.SensorOK, Seq: seq}, now}
		}
		h.fanOut(batch)
		b.StopTimer()
		for _, c := range clients {
			delivered += len(c.queue)
			c.queue, c.bytes, c.ticks = c.queue[:0], 0, 0
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(delivered)/float64(b.N), "updates/tick")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(delivered), "ns/update")
}

// The hub's per-sensor lists of watchers stay what a search of the boxes
// would find, through subscribes, moves, unsubscribes, departures and
// sensors that appear or move.
func TestHubWatchLists(t *testing.T) {
	h := &Hub{m: newHubMetrics(prometheus.NewRegistry()), pending: map[string]pendingState{}, clients: map[*client]struct{}{}}
	h.opts.defaults()
	r := rand.New(rand.NewPCG(5, 6))
	pt := func() orb.Point { return orb.Point{r.Float64(), r.Float64()} }
	box := func() orb.Bound {
		p := pt()
		return orb.Bound{Min: p, Max: orb.Point{p[0] + r.Float64()*0.3, p[1] + r.Float64()*0.3}}
	}
	var clients []*client
	for i := 0; i < 60; i++ {
		c := &client{hub: h, writing: true, done: make(chan struct{})}
		h.clients[c] = struct{}{}
		clients = append(clients, c)
	}
	pos := map[string]orb.Point{}
	check := func(step int) {
		t.Helper()
		for id, slot := range h.slots {
			want := map[*client]bool{}
			for _, c := range clients {
				if _, in := h.clients[c]; in && c.subscribed && c.box.Contains(pos[id]) {
					want[c] = true
				}
			}
			got := map[*client]bool{}
			for _, c := range h.watch[slot] {
				if got[c] {
					t.Fatalf("step %d: sensor %s lists a client twice", step, id)
				}
				got[c] = true
			}
			if len(got) != len(want) {
				t.Fatalf("step %d: sensor %s has %d watchers, want %d", step, id, len(got), len(want))
			}
			for c := range want {
				if !got[c] {
					t.Fatalf("step %d: sensor %s misses a watcher", step, id)
				}
			}
		}
	}
	for step := 0; step < 2000; step++ {
		switch k := r.IntN(10); {
		case k < 4:
			h.setBox(clients[r.IntN(len(clients))], box(), true)
		case k == 4:
			h.setBox(clients[r.IntN(len(clients))], orb.Bound{}, false)
		case k == 5:
			c := clients[r.IntN(len(clients))]
			h.remove(c)
			h.clients[c] = struct{}{} // back, unsubscribed, as a new connection would be
		default: // a tick: a sensor appears or moves, and another changes in place
			id := fmt.Sprintf("s%d", r.IntN(40))
			if _, ok := pos[id]; !ok || k == 9 {
				pos[id] = pt()
			}
			st := live.SensorState{Sensor: live.Sensor{ID: id, Pos: pos[id]}, Seq: uint64(step + 1)}
			h.fanOut(map[string]pendingState{id: {st: st}})
			for _, c := range clients {
				c.queue, c.bytes, c.ticks = c.queue[:0], 0, 0
			}
		}
		check(step)
	}
}
