package mqtt

import (
	"sync"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin/live"
)

// statePublisher keeps kiruna/{owner}/sensors/{id}/state retained with
// each sensor's latest state: every state at start, then, once a tick,
// those the store changed (a sensor changed several times in a tick is
// published once, in its latest state).
type statePublisher struct {
	b       *Broker
	mu      sync.Mutex
	pending map[string]live.SensorState
	cancel  func()
	quit    chan struct{}
	done    chan struct{}
}

func startStates(b *Broker) *statePublisher {
	p := &statePublisher{b: b, pending: map[string]live.SensorState{}, quit: make(chan struct{}), done: make(chan struct{})}
	p.cancel = b.cfg.Store.Listen(p.note)
	all, _ := b.cfg.Store.Sensors().Search(emptyBound)
	p.publish(all)
	go p.loop()
	return p
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
	var buf []byte
	for _, st := range states {
		buf = p.b.cfg.StateJSON(buf[:0], st)
		// QoS 1: a subscriber with a persistent session and a QoS 1
		// subscription has the states it missed queued for it.
		if err := p.b.srv.Publish(StateTopic(st.Owner, st.ID), append([]byte(nil), buf...), true, 1); err != nil {
			p.b.log.Warn("a sensor's state could not be published", "sensor", st.ID, "err", err)
			continue
		}
		p.b.m.states.Inc()
	}
}

func (p *statePublisher) stop() {
	p.cancel()
	close(p.quit)
	<-p.done
}
