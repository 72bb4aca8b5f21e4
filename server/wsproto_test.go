package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/paulmach/orb"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/NAME, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update ./server writes it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the golden file:\n got %s\nwant %s", name, got, want)
	}
}

// The states of the golden messages: one that has reported (a company's,
// with a name, a unit outside ASCII and a time outside UTC), one that has
// not (the scene's).
var goldenStates = []live.SensorState{
	{Sensor: live.Sensor{ID: "acme-aq-1", Type: "air_quality", Unit: "µg/m³", Name: "Stadshuset \"norr\"", Owner: "acme",
		Pos: orb.Point{20.2253, 67.8558}, Since: time.Date(2025, 8, 1, 10, 0, 0, 0, time.UTC)},
		Value: 12.5, Time: time.Date(2025, 8, 20, 3, 30, 0, 250e6, time.FixedZone("CEST", 2*3600)), Status: live.SensorOK, Seq: 7},
	{Sensor: live.Sensor{ID: "snow-3", Type: "snow_depth", Unit: "cm", Owner: live.SystemOwner,
		Pos: orb.Point{20.3, 67.86}, Since: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}, Status: live.SensorStale, Seq: 0},
}

// TestWSMessagesGolden: every message of the protocol, byte for byte.
func TestWSMessagesGolden(t *testing.T) {
	box := orb.Bound{Min: orb.Point{20.15, 67.81}, Max: orb.Point{20.36, 67.88}}
	var ups []*update
	for _, st := range goldenStates {
		ups = append(ups, &update{id: st.ID, seq: st.Seq, pos: st.Pos, data: appendSensor(nil, st, sensorLive)})
	}
	hubUpdate := appendUpdate(nil, ups)
	if len(hubUpdate) != updateLen(ups) {
		t.Fatalf("updateLen %d, the update is %d bytes", updateLen(ups), len(hubUpdate))
	}
	if one := AppendWSUpdate(nil, goldenStates...); !bytes.Equal(hubUpdate, one) {
		t.Fatalf("the hub's update\n%s\nand AppendWSUpdate's\n%s\ndiffer", hubUpdate, one)
	}
	for _, tc := range []struct {
		name string
		typ  WSMessageType
		msg  []byte
	}{
		{"subscribe", WSSubscribe, AppendWSClientMessage(nil, WSClientMessage{Type: WSSubscribe, BBox: box})},
		{"unsubscribe", WSUnsubscribe, AppendWSClientMessage(nil, WSClientMessage{Type: WSUnsubscribe})},
		{"snapshot", WSSnapshot, AppendWSSnapshot(nil, goldenStates)},
		{"snapshot-empty", WSSnapshot, AppendWSSnapshot(nil, nil)},
		{"update", WSUpdate, hubUpdate},
		{"invalidate", WSInvalidate, AppendWSInvalidate(nil, box)},
		{"error", WSError, AppendWSError(nil, `"bbox": south 68 is north of north 67 <&> ✓`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m struct {
				Type WSMessageType `json:"type"`
			}
			if err := json.Unmarshal(tc.msg, &m); err != nil || m.Type != tc.typ {
				t.Fatalf("%s: type %q, %v; want JSON of type %q", tc.msg, m.Type, err, tc.typ)
			}
			golden(t, "ws/"+tc.name+".json", append(tc.msg, '\n'))
		})
	}
	// The REST API's form of the same sensors.
	var rest []byte
	for _, st := range goldenStates {
		rest = append(appendSensor(rest, st, sensorFull), '\n')
	}
	golden(t, "ws/sensors-rest.jsonl", rest)
	// The close frames, as code and reason.
	var closes bytes.Buffer
	for _, d := range disconnects {
		if len(d.Reason) > 123 {
			t.Errorf("%s: the reason is over 123 bytes", d.Name)
		}
		fmt.Fprintf(&closes, "%s\t%d\t%s\n", d.Name, d.Code, d.Reason)
	}
	golden(t, "ws/disconnects.tsv", closes.Bytes())
}

// The client messages a client encodes decode to what was encoded.
func TestWSClientMessageRoundTrip(t *testing.T) {
	for _, m := range []WSClientMessage{
		{Type: WSSubscribe, BBox: orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}},
		{Type: WSSubscribe, BBox: orb.Bound{Min: orb.Point{20.000001, 67.1}, Max: orb.Point{20.5, 67.25}}},
		{Type: WSUnsubscribe},
	} {
		b := AppendWSClientMessage(nil, m)
		got, err := DecodeWSClientMessage(b)
		if err != nil || got != m {
			t.Fatalf("%s decodes to %+v, %v; want %+v", b, got, err, m)
		}
	}
}

// appendFloat writes numbers as encoding/json does, so that a sensor reads
// the same in the REST API and on the WebSocket.
func TestAppendFloatAsEncodingJSON(t *testing.T) {
	for _, v := range []float64{0, -0.0, 1, -1, 0.1, 12.5, 20.2253, 67.85580001, 1234567, 1e20, 1e21, -1e21, 123456789012345678901234.0,
		1e-6, 9.99e-7, 1e-7, 0.00001, -3.2e-9, 1e-300, 5e-324, math.MaxFloat64, math.SmallestNonzeroFloat64, 1.0 / 3} {
		want, _ := json.Marshal(v)
		if got := appendFloat(nil, v); string(got) != string(want) {
			t.Errorf("%v: got %s, encoding/json writes %s", v, got, want)
		}
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if got := appendFloat(nil, v); string(got) != "null" {
			t.Errorf("%v: got %s, want null", v, got)
		}
	}
}

// The REST form: name and owner only when there are, since always.
func TestAppendSensorFullForm(t *testing.T) {
	for i, st := range goldenStates {
		var m map[string]any
		if err := json.Unmarshal(appendSensor(nil, st, sensorFull), &m); err != nil {
			t.Fatal(err)
		}
		_, hasName := m["name"]
		_, hasOwner := m["owner"]
		if hasName != (st.Name != "") || hasOwner != (st.Owner != live.SystemOwner) || m["since"] != st.Since.Format(time.RFC3339Nano) {
			t.Fatalf("state %d: %v", i, m)
		}
		if m["id"] != st.ID || m["status"] != string(st.Status) || (m["value"] == nil) != st.Time.IsZero() {
			t.Fatalf("state %d: %v", i, m)
		}
	}
}

// TestWSDisconnectsCountedByReason: each way a connection ends is counted
// under its reason's name, and the client gets its close code.
func TestWSDisconnectsCountedByReason(t *testing.T) {
	count := func(t *testing.T, e *liveEnv, name string, want float64) {
		t.Helper()
		metric := fmt.Sprintf("kiruna_ws_disconnects_total{reason=%q}", name)
		deadline := time.Now().Add(5 * time.Second)
		for {
			got := e.metric(t, metric)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s = %v, want %v", metric, got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	closedWith := func(t *testing.T, c *websocket.Conn, d disconnect) {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			_, _, err := c.ReadMessage()
			if err == nil {
				continue
			}
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != d.Code || ce.Text != d.Reason {
				t.Fatalf("got %v, want close %d %q", err, d.Code, d.Reason)
			}
			return
		}
	}
	t.Run("every reason listed from 0", func(t *testing.T) {
		e := newLiveEnv(t, HubOptions{})
		for _, d := range disconnects {
			count(t, e, d.Name, 0)
		}
	})
	t.Run("client", func(t *testing.T) {
		e := newLiveEnv(t, HubOptions{})
		c := e.dial(t, nil)
		c.Close()
		count(t, e, disconnectClient.Name, 1)
	})
	t.Run("ping timeout", func(t *testing.T) {
		e := newLiveEnv(t, HubOptions{PingInterval: 50 * time.Millisecond})
		c := e.dial(t, nil) // never reads, so never answers a ping
		count(t, e, disconnectPingTimeout.Name, 1)
		c.SetPingHandler(func(string) error { return nil }) // still no answer
		closedWith(t, c, disconnectPingTimeout)
	})
	t.Run("message too big", func(t *testing.T) {
		e := newLiveEnv(t, HubOptions{MaxMessageBytes: 256})
		c := e.dial(t, nil)
		send(t, c, strings.Repeat(" ", 257))
		closedWith(t, c, disconnectTooBig)
		count(t, e, disconnectTooBig.Name, 1)
	})
	t.Run("shutdown", func(t *testing.T) {
		e := newLiveEnv(t, HubOptions{})
		c := e.dial(t, nil)
		send(t, c, `{"type":"subscribe","bbox":[19,66,21,68]}`)
		nextOf(t, c, "snapshot")
		e.srv.Close()
		closedWith(t, c, disconnectShutdown)
		count(t, e, disconnectShutdown.Name, 1)
	})
}
