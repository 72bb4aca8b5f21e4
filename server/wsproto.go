package server

// The WebSocket protocol of /ws, in one place: every message type, how
// each message is encoded and decoded, and why the server ends a
// connection. API.md ("WebSocket") is the contract; the golden files in
// testdata/ws hold each message's bytes.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/paulmach/orb"
)

// WSMessageType is the "type" member of every WebSocket message.
type WSMessageType string

// The messages of /ws. Client → server: subscribe, unsubscribe. Server →
// client: snapshot, update, invalidate, error (and pings, pongs and the
// close frame, which are WebSocket control frames).
const (
	// {"type":"subscribe","bbox":[w,s,e,n]}: the sensors inside, from now
	// on; a new subscribe replaces the old one.
	WSSubscribe WSMessageType = "subscribe"
	// {"type":"unsubscribe"}: no more sensors.
	WSUnsubscribe WSMessageType = "unsubscribe"
	// {"type":"snapshot","sensors":[…]}: every sensor inside the box, after
	// each subscribe.
	WSSnapshot WSMessageType = "snapshot"
	// {"type":"update","sensors":[…]}: the sensors that changed.
	WSUpdate WSMessageType = "update"
	// {"type":"invalidate","bbox":[w,s,e,n]}: features there changed.
	WSInvalidate WSMessageType = "invalidate"
	// {"type":"error","message":…}: a bad client message; the connection
	// stays.
	WSError WSMessageType = "error"
)

// WSClientMessage is a decoded client message.
type WSClientMessage struct {
	Type WSMessageType
	BBox orb.Bound // for subscribe
}

// DecodeWSClientMessage reads {"type":"subscribe","bbox":[w,s,e,n]} or
// {"type":"unsubscribe"}; the error says, for the client, what is wrong.
func DecodeWSClientMessage(data []byte) (WSClientMessage, error) {
	var raw struct {
		Type *string          `json:"type"`
		BBox *json.RawMessage `json:"bbox"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return WSClientMessage{}, fmt.Errorf("not a JSON message object: %s", jsonProblem(err))
	}
	if dec.More() {
		return WSClientMessage{}, errors.New("one JSON object per message")
	}
	if raw.Type == nil {
		return WSClientMessage{}, errors.New(`missing "type" (known: subscribe, unsubscribe)`)
	}
	switch t := WSMessageType(*raw.Type); t {
	case WSSubscribe:
		if raw.BBox == nil {
			return WSClientMessage{}, errors.New(`subscribe needs "bbox": [west, south, east, north]`)
		}
		var bb []float64
		if err := json.Unmarshal(*raw.BBox, &bb); err != nil || len(bb) != 4 {
			return WSClientMessage{}, errors.New(`"bbox" must be four numbers: [west, south, east, north]`)
		}
		b, err := subscriptionBBox(bb)
		if err != nil {
			return WSClientMessage{}, fmt.Errorf(`"bbox": %w`, err)
		}
		return WSClientMessage{Type: t, BBox: b}, nil
	case WSUnsubscribe:
		return WSClientMessage{Type: t}, nil
	}
	return WSClientMessage{}, fmt.Errorf("unknown message type %q (known: subscribe, unsubscribe)", *raw.Type)
}

// AppendWSClientMessage appends a client message (for clients: tests and
// the load tool).
func AppendWSClientMessage(b []byte, m WSClientMessage) []byte {
	b = appendType(b, m.Type)
	if m.Type == WSSubscribe {
		b = appendBBox(append(b, `,"bbox":`...), m.BBox)
	}
	return append(b, '}')
}

// AppendWSSnapshot appends a snapshot of the given states.
func AppendWSSnapshot(b []byte, states []live.SensorState) []byte {
	b = append(b, snapshotHead...)
	for i, st := range states {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendSensor(b, st, sensorLive)
	}
	return append(b, sensorsTail...)
}

// AppendWSUpdate appends an update of the given states.
func AppendWSUpdate(b []byte, states ...live.SensorState) []byte {
	b = append(b, updateHead...)
	for i, st := range states {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendSensor(b, st, sensorLive)
	}
	return append(b, sensorsTail...)
}

// The hub encodes each changed sensor once per tick (update.data) and
// joins a client's share into one update: updateLen is that message's
// length, appendUpdate writes it.
const (
	snapshotHead = `{"type":"` + string(WSSnapshot) + `","sensors":[`
	updateHead   = `{"type":"` + string(WSUpdate) + `","sensors":[`
	sensorsTail  = `]}`
)

func updateLen(ups []*update) int {
	n := len(updateHead) + len(sensorsTail) + max(len(ups)-1, 0)
	for _, u := range ups {
		n += len(u.data)
	}
	return n
}

func appendUpdate(b []byte, ups []*update) []byte {
	b = append(b, updateHead...)
	for i, u := range ups {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, u.data...)
	}
	return append(b, sensorsTail...)
}

// AppendWSInvalidate appends an invalidation of the box.
func AppendWSInvalidate(b []byte, box orb.Bound) []byte {
	b = appendType(b, WSInvalidate)
	b = appendBBox(append(b, `,"bbox":`...), box)
	return append(b, '}')
}

// AppendWSError appends an error message for the client.
func AppendWSError(b []byte, message string) []byte {
	b = appendType(b, WSError)
	b = appendJSONString(append(b, `,"message":`...), message)
	return append(b, '}')
}

// appendType opens a message: {"type":"…"
func appendType(b []byte, t WSMessageType) []byte {
	b = append(b, `{"type":`...)
	return appendJSONString(b, string(t))
}

func appendBBox(b []byte, box orb.Bound) []byte {
	b = append(b, '[')
	b = appendFloat(b, box.Min[0])
	b = append(b, ',')
	b = appendFloat(b, box.Min[1])
	b = append(b, ',')
	b = appendFloat(b, box.Max[0])
	b = append(b, ',')
	b = appendFloat(b, box.Max[1])
	return append(b, ']')
}

// sensorForm says which members a sensor carries.
type sensorForm int

const (
	// sensorLive is the WebSocket's form, in snapshots and updates:
	// {"id","type","unit","lon","lat","value","time","status"}.
	sensorLive sensorForm = iota
	// sensorFull is the REST API's (GET /api/sensors…): the live form plus
	// "name" and "owner" (when there are), and "since".
	sensorFull
)

// appendSensor appends a sensor's latest state as JSON, in this order:
// id, type, unit, [name, owner,] lon, lat, value, time, status[, since].
// value and time are null before the first reading; times are RFC 3339
// in UTC. It is the one encoder of a sensor, for the WebSocket and the
// REST API.
func appendSensor(b []byte, st live.SensorState, form sensorForm) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, st.ID)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, string(st.Type))
	b = append(b, `,"unit":`...)
	b = appendJSONString(b, st.Unit)
	if form == sensorFull {
		if st.Name != "" {
			b = append(b, `,"name":`...)
			b = appendJSONString(b, st.Name)
		}
		if st.Owner != "" && st.Owner != live.SystemOwner {
			b = append(b, `,"owner":`...)
			b = appendJSONString(b, st.Owner)
		}
	}
	b = append(b, `,"lon":`...)
	b = appendFloat(b, st.Pos[0])
	b = append(b, `,"lat":`...)
	b = appendFloat(b, st.Pos[1])
	if st.Time.IsZero() {
		b = append(b, `,"value":null,"time":null`...)
	} else {
		b = append(b, `,"value":`...)
		b = appendFloat(b, st.Value)
		b = append(b, `,"time":`...)
		b = appendTime(b, st.Time)
	}
	b = append(b, `,"status":`...)
	b = appendJSONString(b, string(st.Status))
	if form == sensorFull {
		b = append(b, `,"since":`...)
		b = appendTime(b, st.Since)
	}
	return append(b, '}')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendJSONString quotes s as JSON: plain ASCII directly, anything else
// through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendFloat writes v as encoding/json does (1234567, 0.00001, 1e-7,
// 1e+21), and null for NaN and infinities, which JSON lacks.
func appendFloat(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	format := byte('f')
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if format == 'e' {
		// 1e-07 → 1e-7, as encoding/json writes it
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// disconnect is why the server ends a WebSocket connection, or refuses to
// open one: the close code and reason the client is sent in the close
// frame (RFC 6455, 7.4), and the name the connection is counted under in
// kiruna_ws_disconnects_total{reason}.
type disconnect struct {
	Code   int
	Reason string // at most 123 bytes
	Name   string
}

// The reasons, all of them (disconnects lists them for the metrics).
var (
	// The client closed the connection, or it broke.
	disconnectClient = disconnect{websocket.CloseNormalClosure, "closed by the client", "client"}
	// The client's queue, after coalescing, was over HubOptions.MaxQueueBytes.
	disconnectSlow = disconnect{websocket.ClosePolicyViolation, "too slow: more than its queue bound waits", "slow"}
	// A client message over HubOptions.MaxMessageBytes.
	disconnectTooBig = disconnect{websocket.CloseMessageTooBig, "message too big", "message_too_big"}
	// Nothing from the client for twice HubOptions.PingInterval.
	disconnectPingTimeout = disconnect{websocket.CloseGoingAway, "no answer to pings", "ping_timeout"}
	// A write to the client failed or outlasted HubOptions.WriteTimeout.
	disconnectWriteFailed = disconnect{websocket.CloseGoingAway, "write failed", "write_error"}
	// The server is stopping (Hub.Close).
	disconnectShutdown = disconnect{websocket.CloseGoingAway, "server shutting down", "shutdown"}
	// Over HubOptions.MaxClients: refused at the handshake (429) or, in a
	// race, closed right after it.
	disconnectTooMany = disconnect{websocket.CloseTryAgainLater, "too many live connections", "too_many_connections"}
	// A browser origin not allowed (HubOptions.AllowedOrigins): refused at
	// the handshake (403), no close frame.
	disconnectBadOrigin = disconnect{websocket.ClosePolicyViolation, "origin not allowed", "bad_origin"}

	disconnects = []disconnect{disconnectClient, disconnectSlow, disconnectTooBig, disconnectPingTimeout,
		disconnectWriteFailed, disconnectShutdown, disconnectTooMany, disconnectBadOrigin}
)

// closeFrame is the whole close frame that tells the client d.
func (d disconnect) closeFrame() []byte {
	return appendFrame(nil, opClose, websocket.FormatCloseMessage(d.Code, d.Reason))
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
