package mqtt

import (
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// acker sends one connection's PUBACKs in the order its QoS 1 PUBLISHes
// came (MQTT-4.6.0-2), each once its readings are durable. The readings
// of several messages are written at once meanwhile (the store's group
// commit), so a connection is not held to one fsync per message.
type acker struct {
	b    *Broker
	cl   *mochi.Client
	q    chan *pendingAck
	done chan struct{}
}

// pendingAck is one QoS 1 message waiting for its acknowledgement.
type pendingAck struct {
	id    uint16
	start time.Time
	ready chan struct{} // closed once code (or fail) is set
	code  packets.Code
	fail  bool // the store failed: no acknowledgement, the client is disconnected
}

func newAcker(b *Broker, cl *mochi.Client, size int) *acker {
	a := &acker{b: b, cl: cl, q: make(chan *pendingAck, size), done: make(chan struct{})}
	go a.loop()
	return a
}

// add queues the acknowledgement of packet id; the caller closes its
// ready channel. It waits while size acknowledgements are pending (the
// client then sent more than its receive maximum).
func (a *acker) add(id uint16, start time.Time) *pendingAck {
	p := &pendingAck{id: id, start: start, ready: make(chan struct{})}
	a.q <- p
	return p
}

// addDone queues an acknowledgement already decided.
func (a *acker) addDone(id uint16, start time.Time, code packets.Code) {
	p := &pendingAck{id: id, start: start, ready: make(chan struct{}), code: code}
	close(p.ready)
	a.q <- p
}

// close ends the loop once what is queued is sent; call it from the
// client's reading goroutine (the only one that adds), after its last add.
func (a *acker) close() { close(a.q) }

func (a *acker) loop() {
	defer close(a.done)
	failed := false
	for p := range a.q {
		<-p.ready
		if failed {
			continue
		}
		if p.fail {
			// Not durable: never acknowledged. The client sends it again
			// after reconnecting (a persistent session), or knows it lost it.
			failed = true
			a.b.disconnect(a.cl)
			continue
		}
		_ = a.cl.WritePacket(ackPacket(packets.Puback, p.id, p.code))
		a.b.m.ack.Observe(time.Since(p.start).Seconds())
	}
}

func ackPacket(typ byte, id uint16, code packets.Code) packets.Packet {
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: typ}, PacketID: id, ReasonCode: code.Code}
	if code.Code >= packets.ErrUnspecifiedError.Code {
		pk.Properties.ReasonString = code.Reason
	}
	return pk
}
