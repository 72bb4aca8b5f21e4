package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/paulmach/orb"
)

type wsSensor struct {
	ID     string   `json:"id"`
	Type   string   `json:"type"`
	Unit   string   `json:"unit"`
	Lon    float64  `json:"lon"`
	Lat    float64  `json:"lat"`
	Value  *float64 `json:"value"`
	Time   *string  `json:"time"`
	Status string   `json:"status"`
}

type wsMsg struct {
	Type    string     `json:"type"`
	Sensors []wsSensor `json:"sensors"`
	BBox    []float64  `json:"bbox"`
	Message string     `json:"message"`
}

func (e *liveEnv) dial(t testing.TB, d *websocket.Dialer) *websocket.Conn {
	t.Helper()
	if d == nil {
		d = websocket.DefaultDialer
	}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(e.ts.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t testing.TB, c *websocket.Conn, msg string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

func next(t testing.TB, c *websocket.Conn) wsMsg {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m wsMsg
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("frame is not JSON: %q", data)
	}
	return m
}

// nextOf reads until a message of the given type.
func nextOf(t testing.TB, c *websocket.Conn, typ string) wsMsg {
	t.Helper()
	for {
		if m := next(t, c); m.Type == typ {
			return m
		}
	}
}

func (e *liveEnv) ingest(t testing.TB, rs ...live.Reading) {
	t.Helper()
	if err := e.store.Ingest(context.Background(), live.SystemOwner, rs); err != nil {
		t.Fatal(err)
	}
}

func inside(b orb.Bound, s wsSensor) bool { return b.Contains(orb.Point{s.Lon, s.Lat}) }

func TestWSSnapshotAndUpdatesInsideTheBox(t *testing.T) {
	e := newLiveEnv(t, HubOptions{})
	now := time.Now().UTC()
	e.ingest(t, live.Reading{Sensor: "s11", Time: now.Add(-time.Second), Value: 42})
	c := e.dial(t, nil)
	box := orb.Bound{Min: orb.Point{20.05, 67.05}, Max: orb.Point{20.35, 67.25}} // i 1..3, j 1..2: 6 sensors
	send(t, c, `{"type":"subscribe","bbox":[20.05,67.05,20.35,67.25]}`)
	snap := next(t, c)
	if snap.Type != "snapshot" || len(snap.Sensors) != 6 {
		t.Fatalf("snapshot: %+v", snap)
	}
	for _, s := range snap.Sensors {
		if !inside(box, s) {
			t.Fatalf("snapshot holds %s outside the box", s.ID)
		}
		if s.ID == "s11" && (s.Value == nil || *s.Value != 42 || s.Time == nil || s.Unit != "µg/m³") {
			t.Fatalf("s11 in the snapshot: %+v", s)
		}
		if s.ID == "s12" && (s.Value != nil || s.Status != "stale") {
			t.Fatalf("a sensor without readings: %+v", s)
		}
	}
	// Readings inside and outside: only the inside ones arrive, batched.
	e.ingest(t,
		live.Reading{Sensor: "s00", Time: now, Value: 1}, // outside
		live.Reading{Sensor: "s12", Time: now, Value: 5},
		live.Reading{Sensor: "s99", Time: now, Value: 1}, // outside
		live.Reading{Sensor: "s21", Time: now, Value: 60},
	)
	got := map[string]float64{}
	for len(got) < 2 {
		m := nextOf(t, c, "update")
		for _, s := range m.Sensors {
			if !inside(box, s) {
				t.Fatalf("update for %s outside the box", s.ID)
			}
			got[s.ID] = *s.Value
		}
	}
	if got["s12"] != 5 || got["s21"] != 60 {
		t.Fatalf("updates %v", got)
	}
	// Resubscribe replaces the box.
	send(t, c, `{"type":"subscribe","bbox":[20.75,67.75,20.95,67.95]}`)
	snap = nextOf(t, c, "snapshot")
	if len(snap.Sensors) != 4 {
		t.Fatalf("second snapshot has %d sensors, want 4", len(snap.Sensors))
	}
	e.ingest(t, live.Reading{Sensor: "s12", Time: now.Add(time.Millisecond), Value: 6}, live.Reading{Sensor: "s99", Time: now.Add(time.Millisecond), Value: 9})
	m := nextOf(t, c, "update")
	if len(m.Sensors) != 1 || m.Sensors[0].ID != "s99" || *m.Sensors[0].Value != 9 {
		t.Fatalf("after resubscribe: %+v", m)
	}
	// Each delivered state's delay, durable → written, is measured: three
	// states so far (s12, s21, s99), each well under the test's seconds.
	deadline := time.Now().Add(5 * time.Second)
	for {
		count, sum := e.metric(t, "kiruna_ws_update_delay_seconds_count"), e.metric(t, "kiruna_ws_update_delay_seconds_sum")
		if count == 3 && sum > 0 && sum < 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("update delay histogram: count %v, sum %v s; want 3 states taking less than 5 s in all", count, sum)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// metric reads one unlabelled value off /metrics (-1 when it is absent).
func (e *liveEnv) metric(t testing.TB, name string) float64 {
	t.Helper()
	resp, err := http.Get(e.ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return -1
}

func TestWSBadMessagesKeepTheConnection(t *testing.T) {
	e := newLiveEnv(t, HubOptions{})
	c := e.dial(t, nil)
	for _, tc := range []struct{ msg, want string }{
		{`hello`, "not a JSON"},
		{`{"type":"dance"}`, "unknown message type"},
		{`{"bbox":[1,2,3,4]}`, `missing "type"`},
		{`{"type":"subscribe"}`, "needs \"bbox\""},
		{`{"type":"subscribe","bbox":[1,2,3]}`, "four numbers"},
		{`{"type":"subscribe","bbox":"all"}`, "four numbers"},
		{`{"type":"subscribe","bbox":[20,68,21,67]}`, "north"},
		{`{"type":"subscribe","bbox":[20,-95,21,67]}`, "latitudes"},
		{`{"type":"subscribe","bbox":[20,67,21,68],"zoom":3}`, "zoom"},
		{`{"type":"subscribe","bbox":[20,67,21,68]}{}`, "one JSON object"},
	} {
		send(t, c, tc.msg)
		m := next(t, c)
		if m.Type != "error" || !strings.Contains(m.Message, tc.want) {
			t.Fatalf("%s: got %+v, want an error mentioning %q", tc.msg, m, tc.want)
		}
	}
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if m := next(t, c); m.Type != "error" {
		t.Fatalf("a binary frame: %+v", m)
	}
	send(t, c, `{"type":"subscribe","bbox":[19,66,21,68]}`)
	if m := next(t, c); m.Type != "snapshot" || len(m.Sensors) != 100 {
		t.Fatalf("after the errors, subscribe gave %s with %d sensors", m.Type, len(m.Sensors))
	}
}

func TestWSTooLargeMessageCloses(t *testing.T) {
	e := newLiveEnv(t, HubOptions{MaxMessageBytes: 256})
	c := e.dial(t, nil)
	send(t, c, `{"type":"subscribe","bbox":[20,67,21,68]}`+strings.Repeat(" ", 300))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("got %v, want close 1009 (message too big)", err)
	}
}

// stalledDialer opens connections with a tiny receive buffer, for a client
// that never reads.
func stalledDialer() *websocket.Dialer {
	return &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(4096)
		}
		return c, err
	}}
}

// TestWSStalledClientDoesNotDelayOthers: one client subscribes to
// everything and never reads; another keeps receiving every update
// promptly, and the stalled one is kept (its coalesced queue is small).
func TestWSStalledClientDoesNotDelayOthers(t *testing.T) {
	e := newLiveEnv(t, HubOptions{WriteTimeout: 30 * time.Second})
	stalled := e.dial(t, stalledDialer())
	send(t, stalled, `{"type":"subscribe","bbox":[19,66,21,68]}`)
	fast := e.dial(t, nil)
	send(t, fast, `{"type":"subscribe","bbox":[19,66,21,68]}`)
	nextOf(t, fast, "snapshot")
	var ids []string
	for _, f := range sceneSensors() {
		ids = append(ids, f.ID)
	}
	base := time.Now().Add(-time.Hour)
	var worst time.Duration
	for round := 0; round < 200; round++ {
		rs := make([]live.Reading, len(ids))
		for i, id := range ids {
			rs[i] = live.Reading{Sensor: id, Time: base.Add(time.Duration(round) * time.Second), Value: float64(round % 100)}
		}
		start := time.Now()
		e.ingest(t, rs...)
		// Wait until the fast client has this round for every sensor.
		seen := map[string]bool{}
		for len(seen) < len(ids) {
			for _, s := range nextOf(t, fast, "update").Sensors {
				if *s.Value == float64(round%100) {
					seen[s.ID] = true
				}
			}
		}
		worst = max(worst, time.Since(start))
	}
	if worst > 2*time.Second {
		t.Fatalf("the fast client waited up to %v for an update", worst)
	}
	if e.srv.Hub().Clients() != 2 {
		t.Fatalf("%d clients connected; the stalled client (whose queue coalesces) should still be", e.srv.Hub().Clients())
	}
	t.Logf("worst delay to the fast client: %v", worst)
}

// TestWSSlowClientOverItsBoundIsDropped: with a bound smaller than one
// view's states, the stalled client is cut off; the other is not.
func TestWSSlowClientOverItsBoundIsDropped(t *testing.T) {
	e := newLiveEnv(t, HubOptions{MaxQueueBytes: 2000, WriteTimeout: 30 * time.Second})
	stalled := e.dial(t, stalledDialer())
	send(t, stalled, `{"type":"subscribe","bbox":[19,66,21,68]}`)
	fast := e.dial(t, nil)
	send(t, fast, `{"type":"subscribe","bbox":[20.05,67.05,20.15,67.15]}`) // one sensor
	nextOf(t, fast, "snapshot")
	deadline := time.Now().Add(10 * time.Second)
	for round := 0; e.srv.Hub().Clients() > 1; round++ {
		if time.Now().After(deadline) {
			t.Fatal("the client over its bound was not dropped")
		}
		var rs []live.Reading
		for _, f := range sceneSensors() {
			rs = append(rs, live.Reading{Sensor: f.ID, Time: time.Now().Add(-time.Minute), Value: float64(round % 50)})
		}
		e.ingest(t, rs...)
		nextOf(t, fast, "update")
	}
	send(t, fast, `{"type":"subscribe","bbox":[19,66,21,68]}`)
	if m := nextOf(t, fast, "snapshot"); len(m.Sensors) != 100 {
		t.Fatalf("the fast client: %d sensors", len(m.Sensors))
	}
	if n := e.metric(t, `kiruna_ws_disconnects_total{reason="slow"}`); n != 1 {
		t.Fatalf("slow disconnects counted %v, want 1", n)
	}
}

func TestWSInvalidateAndNewSensor(t *testing.T) {
	e := newLiveEnv(t, HubOptions{})
	near := e.dial(t, nil)
	send(t, near, `{"type":"subscribe","bbox":[20.0,67.0,20.2,67.2]}`)
	nextOf(t, near, "snapshot")
	far := e.dial(t, nil)
	send(t, far, `{"type":"subscribe","bbox":[20.6,67.6,20.9,67.9]}`)
	nextOf(t, far, "snapshot")
	code, body := e.do(t, "POST", "/api/sensors", e.tokA, `{"id":"acme-1","type":"air_quality","lon":20.12,"lat":67.12}`)
	if code != http.StatusCreated {
		t.Fatalf("register: %d %v", code, body)
	}
	inv := nextOf(t, near, "invalidate")
	if len(inv.BBox) != 4 || inv.BBox[0] > 20.12 || inv.BBox[2] < 20.12 {
		t.Fatalf("invalidate %+v", inv)
	}
	e.do(t, "POST", "/api/readings", e.tokA, fmt.Sprintf(`{"readings":[{"sensor":"acme-1","time":%q,"value":12}]}`, time.Now().UTC().Format(time.RFC3339)))
	for {
		m := nextOf(t, near, "update")
		if len(m.Sensors) == 1 && m.Sensors[0].ID == "acme-1" && m.Sensors[0].Value != nil && *m.Sensors[0].Value == 12 {
			break
		}
	}
	// The far client got neither.
	far.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, data, err := far.ReadMessage(); err == nil {
		t.Fatalf("a client elsewhere received %s", data)
	}
}

func TestWSOriginAndLimits(t *testing.T) {
	e := newLiveEnv(t, HubOptions{AllowedOrigins: []string{"https://kiosk.example"}, MaxClients: 1})
	url := "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/ws"
	if _, resp, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"https://evil.example"}}); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a foreign origin: %v %v", err, resp)
	}
	c, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Origin": {"https://kiosk.example"}})
	if err != nil {
		t.Fatalf("an allowed origin: %v", err)
	}
	defer c.Close()
	// The hub counts the client just after its 101 is written.
	for deadline := time.Now().Add(5 * time.Second); e.srv.Hub().Clients() < 1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if _, resp, err := websocket.DefaultDialer.Dial(url, nil); err == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("over the connection limit: %v %v", err, resp)
	}
	resp, _ := http.Get(e.ts.URL + "/ws")
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain GET /ws: %d", resp.StatusCode)
	}
	for _, d := range []disconnect{disconnectBadOrigin, disconnectTooMany} {
		if n := e.metric(t, `kiruna_ws_disconnects_total{reason="`+d.Name+`"}`); n != 1 {
			t.Fatalf("%s counted %v times, want 1", d.Name, n)
		}
	}
}

func TestCoalesceKeepsTheNewestPerSensor(t *testing.T) {
	slots := map[string]int32{"a": 7, "b": 0, "c": 300} // a slot past the scratch grows it
	u := func(id string, seq uint64) *update { return &update{id: id, slot: slots[id], seq: seq} }
	for pass := 0; pass < 3; pass++ { // the scratch, reused, must not remember a pass
		q := []*update{u("a", 1), u("b", 2), u("a", 5), u("c", 3), u("b", 4), u("a", 3)}
		if n := coalesce(&q); n != 3 {
			t.Fatalf("dropped %d, want 3", n)
		}
		want := []string{"a5", "b4", "c3"}
		for i, x := range q {
			if got := fmt.Sprintf("%s%d", x.id, x.seq); got != want[i] {
				t.Fatalf("pass %d: queue %d is %s, want %s", pass, i, got, want[i])
			}
		}
		q = []*update{u("c", 9)}
		if n := coalesce(&q); n != 0 || len(q) != 1 {
			t.Fatalf("pass %d: one state: dropped %d, kept %d", pass, n, len(q))
		}
	}
}

func TestEncodeWSSensorIsJSON(t *testing.T) {
	for _, st := range []live.SensorState{
		{Sensor: live.Sensor{ID: "plain-1", Type: "snow_depth", Unit: "cm", Pos: orb.Point{20.25, 67.85}}, Value: 1e-7, Time: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), Status: "ok"},
		{Sensor: live.Sensor{ID: "q\"uote\\<&>\u2028\x01", Type: "air_quality", Unit: "µg/m³", Pos: orb.Point{-180, 90}}, Value: 1e21, Time: time.Now(), Status: "alarm"},
		{Sensor: live.Sensor{ID: "none", Type: "x", Unit: ""}, Status: "stale"},
	} {
		b := appendSensor(nil, st, sensorLive)
		var got wsSensor
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s is not JSON: %v", b, err)
		}
		if got.ID != st.ID || got.Unit != st.Unit || got.Lon != st.Pos[0] || (st.Time.IsZero() != (got.Value == nil)) {
			t.Fatalf("%s decodes to %+v", b, got)
		}
		if got.Value != nil && *got.Value != st.Value {
			t.Fatalf("value %v, want %v", *got.Value, st.Value)
		}
	}
}

func TestWSSubscribeRateLimit(t *testing.T) {
	e := newLiveEnv(t, HubOptions{})
	c := e.dial(t, nil)
	limited := false
	for i := 0; i < 40 && !limited; i++ {
		send(t, c, `{"type":"subscribe","bbox":[20,67,20.05,67.05]}`)
		if m := next(t, c); m.Type == "error" && strings.Contains(m.Message, "too many subscribes") {
			limited = true
		}
	}
	if !limited {
		t.Fatal("40 subscribes at once were all taken")
	}
	time.Sleep(300 * time.Millisecond)
	send(t, c, `{"type":"subscribe","bbox":[20,67,20.05,67.05]}`)
	if m := nextOf(t, c, "snapshot"); len(m.Sensors) != 1 {
		t.Fatalf("after a pause: %+v", m)
	}
}

// A storm of invalidations (a pilot of 2,000 sensors, each touching the
// model) reaches a client as one frame a tick with the union of the
// boxes, not one frame each.
func TestWSInvalidateStormCoalesced(t *testing.T) {
	e := newLiveEnv(t, HubOptions{Tick: 50 * time.Millisecond})
	c := e.dial(t, nil)
	send(t, c, `{"type":"subscribe","bbox":[19,66,21,68]}`)
	nextOf(t, c, "snapshot")
	for i := 0; i < 2001; i++ {
		x := 20 + float64(i%100)/1000
		e.srv.Hub().Invalidate(orb.Bound{Min: orb.Point{x, 67}, Max: orb.Point{x + 0.001, 67.001}})
	}
	var frames int
	var union orb.Bound
	c.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			break
		}
		var m struct {
			Type string    `json:"type"`
			BBox []float64 `json:"bbox"`
		}
		if json.Unmarshal(data, &m) != nil || m.Type != "invalidate" || len(m.BBox) != 4 {
			continue
		}
		b := orb.Bound{Min: orb.Point{m.BBox[0], m.BBox[1]}, Max: orb.Point{m.BBox[2], m.BBox[3]}}
		if frames == 0 {
			union = b
		} else {
			union = union.Union(b)
		}
		frames++
	}
	if frames < 1 || frames > 2 {
		t.Errorf("2,001 invalidations in one go came as %d frames, want 1 (2 across a tick)", frames)
	}
	if union.Min[0] > 20 || union.Max[0] < 20.1 {
		t.Errorf("the frames cover %v, not every box", union)
	}
}
