package mqtt

import (
	"strings"
	"sync"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin/live"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// statePublisher publishes kiruna/{owner}/sensors/{id}/state with each
// sensor's latest state: once a tick, the states the store changed (a
// sensor changed several times in a tick is published once, in its
// latest state), to the subscribers at QoS 1 (queued for a persistent
// session while it is away).
//
// It keeps the retained states itself and sends the matching ones to a
// client once its SUBSCRIBE is answered, as retained messages are sent:
// mochi's own index of retained messages is read without a lock by a
// wildcard subscription while a retained publish writes it
// (mochi-mqtt/server#200), so the twin does not retain through it.
type statePublisher struct {
	b *Broker

	mu      sync.Mutex
	pending map[string]live.SensorState

	retMu    sync.RWMutex
	retained map[string][]byte // topic → the latest state's JSON

	cancel func()
	quit   chan struct{}
	done   chan struct{}
}

func newStates(b *Broker) *statePublisher {
	return &statePublisher{b: b, pending: map[string]live.SensorState{}, retained: map[string][]byte{},
		quit: make(chan struct{}), done: make(chan struct{})}
}

// start publishes every state and then follows the store.
func (p *statePublisher) start() {
	p.cancel = p.b.cfg.Store.Listen(p.note)
	all, _ := p.b.cfg.Store.Sensors().Search(emptyBound)
	p.publish(all)
	go p.loop()
}

// note runs on the store's committing goroutine: it only records.
func (p *statePublisher) note(states []live.SensorState) {
	p.mu.Lock()
	for _, st := range states {
		p.pending[st.ID] = st
	}
	p.mu.Unlock()
}

func (p *statePublisher) loop() {
	defer close(p.done)
	t := time.NewTicker(p.b.cfg.Tick)
	defer t.Stop()
	var batch []live.SensorState
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
		}
		p.mu.Lock()
		for _, st := range p.pending {
			batch = append(batch, st)
		}
		clear(p.pending)
		p.mu.Unlock()
		p.publish(batch)
		clear(batch)
		batch = batch[:0]
	}
}

func (p *statePublisher) publish(states []live.SensorState) {
	for _, st := range states {
		topic := StateTopic(st.Owner, st.ID)
		payload := p.b.cfg.StateJSON(nil, st)
		p.retMu.Lock()
		p.retained[topic] = payload
		p.retMu.Unlock()
		if err := p.b.srv.Publish(topic, payload, false, 1); err != nil {
			p.b.log.Warn("a sensor's state could not be published", "sensor", st.ID, "err", err)
			continue
		}
		p.b.m.states.Inc()
	}
}

// sendRetained sends a client that has just subscribed the retained
// states its filters match (not for a v5 subscription that asks for none:
// retain handling 2).
func (p *statePublisher) sendRetained(cl *mochi.Client, subs packets.Subscriptions) {
	p.retMu.RLock()
	defer p.retMu.RUnlock()
	for _, sub := range subs {
		if sub.RetainHandling == 2 || !readableFilter(sub.Filter) {
			continue
		}
		for topic, payload := range p.retained {
			if !matchFilter(sub.Filter, topic) {
				continue
			}
			_ = cl.WritePacket(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true},
				TopicName: topic, Payload: payload})
		}
	}
}

// matchFilter reports whether an MQTT topic filter (with + and #)
// matches a topic.
func matchFilter(filter, topic string) bool {
	for {
		f, frest, fmore := strings.Cut(filter, "/")
		if f == "#" {
			return true
		}
		t, trest, tmore := strings.Cut(topic, "/")
		if f != "+" && f != t {
			return false
		}
		if !fmore || !tmore {
			return fmore == tmore || (fmore && frest == "#")
		}
		filter, topic = frest, trest
	}
}

func (p *statePublisher) stop() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	close(p.quit)
	<-p.done
}
