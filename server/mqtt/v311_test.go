package mqtt

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// v311 is a bare MQTT 3.1.1 client: it writes packets with mochi's
// encoder and reads the broker's fixed-size answers as bytes.
type v311 struct {
	t *testing.T
	c net.Conn
}

func dial311(t *testing.T, addr, user, pass string) (*v311, byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	v := &v311{t, c}
	v.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 30, ClientIdentifier: "v3",
			UsernameFlag: true, Username: []byte(user), PasswordFlag: true, Password: []byte(pass)}})
	ack := v.read(4)
	if ack[0] != 0x20 {
		t.Fatalf("not a CONNACK: % x", ack)
	}
	return v, ack[3]
}

func (v *v311) write(pk packets.Packet) {
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	}
	if err != nil {
		v.t.Fatal(err)
	}
	if _, err := v.c.Write(buf.Bytes()); err != nil {
		v.t.Fatal(err)
	}
}

func (v *v311) read(n int) []byte {
	b := make([]byte, n)
	_ = v.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(v.c, b); err != nil {
		v.t.Fatalf("reading %d bytes: %v", n, err)
	}
	return b
}

func (v *v311) publish(topic string, id uint16, payload string) []byte {
	v.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, ProtocolVersion: 4,
		TopicName: topic, PacketID: id, Payload: []byte(payload)})
	return v.read(4)
}

func TestMQTT311(t *testing.T) {
	e := newEnv(t, Limits{})
	if _, code := dial311(t, e.addr, "acme", "kt_wrong"); code != 0x05 {
		t.Errorf("a wrong token: CONNACK return code %#x, want 0x05 (not authorized)", code)
	}
	v, code := dial311(t, e.addr, "acme", e.tokAcme)
	if code != 0 {
		t.Fatalf("CONNACK return code %#x", code)
	}
	// Refused messages are acknowledged as usual (3.1.1 has no way to
	// say no), dropped and counted.
	for i, tc := range []struct{ topic, payload, reason string }{
		{ReadingsTopic("beta", "b-1"), `{"value": 1}`, "topic"},
		{ReadingsTopic("acme", "a-1"), `{"value": "x"}`, "value"},
		{ReadingsTopic("acme", "a-1"), `nonsense`, "payload"},
	} {
		id := uint16(i + 1)
		if ack := v.publish(tc.topic, id, tc.payload); !bytes.Equal(ack, []byte{0x40, 2, 0, byte(id)}) {
			t.Errorf("%s %s: PUBACK % x", tc.topic, tc.payload, ack)
		}
		if got := testutil.ToFloat64(e.b.m.refused.WithLabelValues(tc.reason)); got != 1 {
			t.Errorf("refused for %s: %v, want 1", tc.reason, got)
		}
	}
	if got := testutil.ToFloat64(e.b.m.messages.WithLabelValues("1", "refused")); got != 3 {
		t.Errorf("QoS 1 refused %v, want 3", got)
	}
	if len(e.history(t, "a-1"))+len(e.history(t, "b-1")) != 0 {
		t.Fatal("a refused message was stored")
	}
	if ack := v.publish(ReadingsTopic("acme", "a-1"), 9, `{"value": 2}`); !bytes.Equal(ack, []byte{0x40, 2, 0, 9}) {
		t.Errorf("PUBACK % x", ack)
	}
	if n := len(e.history(t, "a-1")); n != 1 {
		t.Errorf("%d readings after the PUBACK, want 1", n)
	}
}
