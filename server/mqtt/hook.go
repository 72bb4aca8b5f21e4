package mqtt

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin/live"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/time/rate"
)

// session is what the broker knows of a connected client.
type session struct {
	company string
	system  bool // the in-process device: no rates
	conn    *rate.Limiter
	acks    *acker // QoS 1 acknowledgements, in order; made at the first QoS 1 message
	cl      *mochi.Client
	qos0    chan struct{} // QoS 0 messages in hand (best effort)
	lastLog time.Time     // of a refused message; only the client's goroutine touches it
	token   string        // checked again at most once a second: a revoked one ends the session
	authAt  time.Time
}

// hook is the broker's rules, plugged into mochi.
type hook struct {
	mochi.HookBase
	b *Broker
}

func (h *hook) ID() string { return "kiruna-twin" }

func (h *hook) Provides(x byte) bool {
	return bytes.IndexByte([]byte{mochi.OnConnect, mochi.OnConnectAuthenticate, mochi.OnACLCheck,
		mochi.OnPublish, mochi.OnDisconnect, mochi.OnPacketProcessed}, x) >= 0
}

// OnPacketProcessed sends a client that has just subscribed (and had its
// SUBACK) the retained states its filters match.
func (h *hook) OnPacketProcessed(cl *mochi.Client, pk packets.Packet, err error) {
	if err == nil && pk.FixedHeader.Type == packets.Subscribe && connOf(cl) != nil {
		h.b.states.sendRetained(cl, pk.Filters)
	}
}

// refuseConnect answers a CONNECT with code (v5) or its 3.1.1 equivalent.
func (h *hook) refuseConnect(cl *mochi.Client, reason string, code packets.Code) error {
	h.b.m.connRefused.WithLabelValues(reason).Inc()
	if cl.Properties.ProtocolVersion < 5 && code != packets.ErrBadUsernameOrPassword {
		code = packets.ErrServerUnavailable
	}
	_ = h.b.srv.SendConnack(cl, code, false, nil)
	return code
}

// OnConnect checks the company's name and token and takes its places
// (per address, per company); a refused client gets its CONNACK here.
func (h *hook) OnConnect(cl *mochi.Client, pk packets.Packet) error {
	c := connOf(cl)
	if c == nil {
		return nil
	}
	user, pass := string(pk.Connect.Username), string(pk.Connect.Password)
	s := &session{company: user, token: pass, authAt: time.Now()}
	switch {
	case user == live.SystemOwner && subtle.ConstantTimeCompare([]byte(pass), []byte(h.b.systemPass)) == 1:
		s.system = true
	case user == "" || h.b.cfg.Tenants == nil:
		return h.refuseConnect(cl, "auth", packets.ErrBadUsernameOrPassword)
	default:
		t, err := h.b.cfg.Tenants.Authenticate(pass)
		if err != nil || t.Name != user {
			h.b.log.Info("MQTT connection refused: wrong company name or token", "user", user, "remote", cl.Net.Remote)
			return h.refuseConnect(cl, "auth", packets.ErrBadUsernameOrPassword)
		}
	}
	if !s.system {
		release, ok := h.b.perAddr.Acquire(c.addr)
		if !ok {
			return h.refuseConnect(cl, "per_address", packets.ErrQuotaExceeded)
		}
		c.hold(release)
		if release, ok = h.b.holdCompany(user); !ok {
			return h.refuseConnect(cl, "per_company", packets.ErrQuotaExceeded)
		}
		c.hold(release)
		s.conn = rate.NewLimiter(rate.Limit(h.b.lim.ConnRate), h.b.lim.ConnBurst)
	}
	s.qos0 = make(chan struct{}, h.b.lim.Inflight)
	s.cl = cl
	c.sess.Store(s)
	// A company's client ids are its own: another company's "dev-1" is
	// another session, never taken over.
	cl.ID = user + "/" + cl.ID
	return nil
}

// OnConnectAuthenticate admits the clients OnConnect accepted.
func (h *hook) OnConnectAuthenticate(cl *mochi.Client, _ packets.Packet) bool {
	c := connOf(cl)
	return c != nil && c.sess.Load() != nil
}

// OnACLCheck: subscriptions stay under kiruna/ (where only states are
// published); publishing is judged per message in OnPublish, which can
// answer with a reason code rather than disconnect.
func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	return write || readableFilter(topic)
}

func (h *hook) OnDisconnect(cl *mochi.Client, _ error, _ bool) {
	if c := connOf(cl); c != nil {
		if s := c.sess.Load(); s != nil && s.acks != nil {
			s.acks.close()
		}
	}
}

// refusal is why a message is refused: the metric's reason and the code
// a v5 client is answered.
type refusal struct {
	reason string
	code   packets.Code
	err    error
}

// OnPublish takes a company's readings: it checks the message, then
// QoS 0: ingests it in the background (best effort); QoS 1: ingests it
// and queues its PUBACK, sent in order once durable; QoS 2: ingests it
// before mochi sends PUBREC. A refused message stores nothing; a v5
// client is answered with the reason code, a 3.1.1 one acknowledged as
// usual (it has no way to hear a refusal) and the message dropped.
func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	c := connOf(cl)
	if cl.Net.Inline || c == nil {
		return pk, nil // the broker's own states
	}
	s := c.sess.Load()
	start := time.Now()
	qos := pk.FixedHeader.Qos
	pk.FixedHeader.Retain = false // readings are never retained
	pk.Ignore = true              // nor forwarded: subscribers read states
	rs, ref := h.check(s, pk)
	if ref != nil {
		pk, err := h.refuse(cl, s, pk, start, ref)
		if ref.reason == "revoked" {
			h.b.disconnect(cl)
		}
		return pk, err
	}
	switch qos {
	case 0:
		select {
		case s.qos0 <- struct{}{}:
		default:
			h.b.m.messages.WithLabelValues("0", "dropped").Inc()
			return pk, packets.ErrRejectPacket
		}
		h.b.work.Add(1)
		go func() {
			defer h.b.work.Done()
			defer func() { <-s.qos0 }()
			h.ingest(cl, s, pk, rs)
		}()
		return pk, packets.ErrRejectPacket
	case 1:
		p := h.b.ackerOf(s).add(pk.PacketID, start)
		h.b.work.Add(1)
		go func() {
			defer h.b.work.Done()
			defer close(p.ready)
			p.code, p.fail = h.ingest(cl, s, pk, rs)
		}()
		return pk, packets.ErrRejectPacket // the acker acknowledges
	default:
		code, fail := h.ingest(cl, s, pk, rs)
		switch {
		case fail:
			h.b.disconnect(cl)
			return pk, packets.ErrRejectPacket
		case code != packets.CodeSuccess && cl.Properties.ProtocolVersion == 5:
			_ = cl.WritePacket(ackPacket(packets.Pubrec, pk.PacketID, code))
			return pk, packets.ErrRejectPacket
		}
		h.b.m.ack.Observe(time.Since(start).Seconds())
		return pk, nil // mochi sends PUBREC and completes the flow
	}
}

// check is everything judged before the store: the topic, the size, the
// rates, the payload and the readings themselves (Validate).
func (h *hook) check(s *session, pk packets.Packet) ([]live.Reading, *refusal) {
	if now := time.Now(); !s.system && now.Sub(s.authAt) >= time.Second {
		if _, err := h.b.cfg.Tenants.Authenticate(s.token); err != nil {
			return nil, &refusal{"revoked", packets.ErrNotAuthorized, fmt.Errorf("the company's token is no longer accepted: %w", err)}
		}
		s.authAt = now
	}
	owner, sensor, leaf, ok := parseTopic(pk.TopicName)
	if !ok || leaf != "readings" || owner != s.company {
		return nil, &refusal{"topic", packets.ErrNotAuthorized,
			fmt.Errorf("a company publishes only to %s", ReadingsTopic(s.company, "{sensor}"))}
	}
	if len(pk.Payload) > h.b.lim.MaxPayload {
		return nil, &refusal{"too_large", packets.ErrPayloadFormatInvalid,
			fmt.Errorf("a payload of %d bytes, at most %d", len(pk.Payload), h.b.lim.MaxPayload)}
	}
	if !s.system {
		if !s.conn.Allow() {
			return nil, &refusal{"rate_connection", packets.ErrQuotaExceeded,
				fmt.Errorf("more than %g messages a second on one connection", h.b.lim.ConnRate)}
		}
		if h.b.cfg.AllowWrite != nil {
			if retry, ok := h.b.cfg.AllowWrite(s.company); !ok {
				return nil, &refusal{"rate_company", packets.ErrQuotaExceeded,
					fmt.Errorf("the company's write rate is used up; the next in %s", retry.Round(time.Millisecond))}
			}
		}
	}
	rs, err := DecodeReadings(pk.Payload, sensor, h.b.cfg.Clock())
	if err == nil {
		err = h.b.cfg.Store.Validate(s.company, rs)
	}
	if err != nil {
		return nil, classify(err)
	}
	if h.b.cfg.Admit != nil && !s.system {
		if err := h.b.cfg.Admit(s.company, len(rs)); err != nil {
			return nil, &refusal{"quota", packets.ErrQuotaExceeded, err}
		}
	}
	return rs, nil
}

// classify names what is wrong with readings (from the decoder,
// Validate or Ingest); nil for any other error (the store failed).
func classify(err error) *refusal {
	var re *live.ReadingError
	switch {
	case errors.Is(err, errPayload):
		return &refusal{"payload", packets.ErrPayloadFormatInvalid, err}
	case errors.Is(err, live.ErrUnknownSensor):
		return &refusal{"unknown_sensor", packets.ErrNotAuthorized, err}
	case errors.Is(err, live.ErrNotOwner):
		return &refusal{"not_owner", packets.ErrNotAuthorized, err}
	case errors.As(err, &re):
		return &refusal{re.Field, packets.ErrPayloadFormatInvalid, err}
	}
	return nil
}

// ingest writes readings; code is the acknowledgement's (success, or why
// the store refused them), fail says the store failed and nothing may be
// acknowledged.
func (h *hook) ingest(cl *mochi.Client, s *session, pk packets.Packet, rs []live.Reading) (code packets.Code, fail bool) {
	q := qosLabel[pk.FixedHeader.Qos]
	err := h.b.cfg.Store.Ingest(h.b.ctx, s.company, rs)
	if err == nil {
		h.b.m.messages.WithLabelValues(q, "stored").Inc()
		h.b.m.readings.Add(float64(len(rs)))
		return packets.CodeSuccess, false
	}
	if ref := classify(err); ref != nil { // the sensor went meanwhile
		h.count(cl, s, pk, ref)
		return h.ackCode(cl, ref), false
	}
	h.b.m.messages.WithLabelValues(q, "failed").Inc()
	h.b.log.Error("MQTT readings could not be made durable", "client", cl.ID, "topic", pk.TopicName, "err", err)
	return packets.CodeSuccess, true
}

// ackCode is what a refused message's acknowledgement says: the reason
// to a v5 client, success to a 3.1.1 one (the message is dropped).
func (h *hook) ackCode(cl *mochi.Client, ref *refusal) packets.Code {
	if cl.Properties.ProtocolVersion == 5 {
		return packets.Code{Code: ref.code.Code, Reason: ref.err.Error()}
	}
	return packets.CodeSuccess
}

// count counts a refused message and logs it, at most once a second per
// client.
func (h *hook) count(cl *mochi.Client, s *session, pk packets.Packet, ref *refusal) {
	h.b.m.messages.WithLabelValues(qosLabel[pk.FixedHeader.Qos], "refused").Inc()
	h.b.m.refused.WithLabelValues(ref.reason).Inc()
	if now := time.Now(); now.Sub(s.lastLog) >= time.Second {
		s.lastLog = now
		h.b.log.Warn("MQTT message refused", "client", cl.ID, "topic", pk.TopicName, "reason", ref.reason, "err", ref.err)
	}
}

func (h *hook) refuse(cl *mochi.Client, s *session, pk packets.Packet, start time.Time, ref *refusal) (packets.Packet, error) {
	h.count(cl, s, pk, ref)
	code := h.ackCode(cl, ref)
	switch pk.FixedHeader.Qos {
	case 0:
		return pk, packets.ErrRejectPacket
	case 1:
		h.b.ackerOf(s).addDone(pk.PacketID, start, code)
		return pk, packets.ErrRejectPacket
	default:
		if cl.Properties.ProtocolVersion == 5 {
			_ = cl.WritePacket(ackPacket(packets.Pubrec, pk.PacketID, code))
			return pk, packets.ErrRejectPacket
		}
		return pk, nil // PUBREC as usual; Ignore keeps it from anyone
	}
}

// disconnect ends a client whose readings could not be made durable:
// what it has not had acknowledged it sends again after reconnecting.
func (b *Broker) disconnect(cl *mochi.Client) {
	if cl.Properties.ProtocolVersion == 5 {
		_ = b.srv.DisconnectClient(cl, packets.ErrServerBusy)
		return
	}
	cl.Stop(packets.ErrServerBusy)
}

// ackerOf is the session's acker, made at its first QoS 1 message (an
// idle connection holds no goroutine for it). Only the client's reading
// goroutine calls it.
func (b *Broker) ackerOf(s *session) *acker {
	if s.acks == nil {
		s.acks = newAcker(b, s.cl, b.lim.Inflight)
	}
	return s.acks
}
