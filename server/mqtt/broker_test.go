package mqtt

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/kiruna-twin/kiruna-twin/server"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// env is a broker on a fresh store with two companies: acme owns a-1
// (snow depth), beta owns b-1.
type env struct {
	dir            string
	store          *live.Store
	b              *Broker
	addr           string
	tokAcme, tokBt string
}

func newEnv(t *testing.T, lim Limits, hooks ...func(*Config)) *env {
	t.Helper()
	e := &env{dir: t.TempDir()}
	m := twin.NewModel()
	if err := m.Load([]*twin.Feature{{ID: "sys-1", Layer: twin.Sensors, Name: "Snow", Geometry: orb.Point{20.2, 67.85},
		Life: twin.Lifespan{From: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}, Props: map[string]any{"type": "snow_depth"}}}); err != nil {
		t.Fatal(err)
	}
	var err error
	if e.store, err = live.OpenStore(e.dir+"/live", m, live.StoreOptions{Logger: quietLog}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	now := time.Now()
	if e.tokAcme, err = live.AddTenant(e.dir, "acme", now); err != nil {
		t.Fatal(err)
	}
	if e.tokBt, err = live.AddTenant(e.dir, "beta", now); err != nil {
		t.Fatal(err)
	}
	tenants, err := live.OpenTenants(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for owner, id := range map[string]string{"acme": "a-1", "beta": "b-1"} {
		if _, _, err := e.store.Register(ctx, owner, live.Sensor{ID: id, Type: live.SnowDepth, Pos: orb.Point{20.2, 67.85}}); err != nil {
			t.Fatal(err)
		}
	}
	e.b, err = newWith(Config{Store: e.store, Tenants: tenants, StateJSON: server.AppendSensorJSON, Logger: quietLog,
		Tick: 10 * time.Millisecond, Limits: lim}, hooks...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.b.Serve(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.b.Close() })
	e.addr = ln.Addr().String()
	return e
}

// connect opens a v5 client; received gets the messages it is sent.
func newWith(cfg Config, hooks ...func(*Config)) (*Broker, error) {
	for _, h := range hooks {
		h(&cfg)
	}
	return New(cfg)
}

func (e *env) connect(t *testing.T, cp *paho.Connect, received chan<- *paho.Publish) (*paho.Client, *paho.Connack, error) {
	t.Helper()
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg := paho.ClientConfig{Conn: conn}
	if received != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			received <- pr.Packet
			return true, nil
		}}
	}
	c := paho.NewClient(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, cp)
	if err == nil {
		t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	} else {
		conn.Close()
	}
	return c, ca, err
}

func (e *env) acme(t *testing.T) *paho.Client {
	t.Helper()
	c, _, err := e.connect(t, &paho.Connect{ClientID: "dev-" + t.Name(), CleanStart: true, KeepAlive: 30,
		Username: "acme", UsernameFlag: true, Password: []byte(e.tokAcme), PasswordFlag: true}, nil)
	if err != nil {
		t.Fatalf("connecting as acme: %v", err)
	}
	return c
}

func (e *env) history(t *testing.T, id string) []live.Sample {
	t.Helper()
	h, err := e.store.Sensors().History(id, time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func publish(c *paho.Client, topic string, qos byte, payload string) (*paho.PublishResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Publish(ctx, &paho.Publish{Topic: topic, QoS: qos, Payload: []byte(payload)})
}

func TestPublishEachQoS(t *testing.T) {
	e := newEnv(t, Limits{})
	c := e.acme(t)
	topic := ReadingsTopic("acme", "a-1")
	base := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	at := func(i int) string { return base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339) }
	cases := []struct {
		qos     byte
		payload string
		want    int // readings of a-1 after it
	}{
		{1, fmt.Sprintf(`{"value": 12.5, "time": %q}`, at(0)), 1},
		{1, fmt.Sprintf(`[{"value": 13, "time": %q}, {"value": 14, "time": %q}]`, at(1), at(2)), 3},
		{2, fmt.Sprintf(`{"value": 15, "time": %q}`, at(3)), 4},
		{1, `{"value": 16}`, 5}, // the broker's clock
		{0, fmt.Sprintf(`{"value": 17, "time": %q}`, at(4)), 6},
	}
	for _, tc := range cases {
		pr, err := publish(c, topic, tc.qos, tc.payload)
		if err != nil {
			t.Fatalf("QoS %d %s: %v", tc.qos, tc.payload, err)
		}
		if tc.qos > 0 && pr.ReasonCode != 0 {
			t.Fatalf("QoS %d %s: reason code %#x", tc.qos, tc.payload, pr.ReasonCode)
		}
		if tc.qos > 0 { // acknowledged: durable and applied already
			if n := len(e.history(t, "a-1")); n != tc.want {
				t.Fatalf("after the QoS %d %s: %d readings, want %d", tc.qos, tc.payload, n, tc.want)
			}
		}
	}
	waitFor(t, func() bool { return len(e.history(t, "a-1")) == 6 }, "the QoS 0 reading")
	h := e.history(t, "a-1")
	if h[0].Value != 12.5 || !h[0].Time.Equal(base) {
		t.Errorf("first reading %+v, want 12.5 at %s", h[0], base)
	}
	if got := testutil.ToFloat64(e.b.m.readings); got != 6 {
		t.Errorf("kiruna_mqtt_readings_total %v, want 6", got)
	}
	if got := testutil.ToFloat64(e.b.m.messages.WithLabelValues("0", "stored")); got != 1 {
		t.Errorf("QoS 0 stored %v, want 1", got)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5 s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConnectRefused(t *testing.T) {
	e := newEnv(t, Limits{})
	cases := []struct {
		name, user, pass string
	}{
		{"wrong token", "acme", "kt_nope"},
		{"another company's token", "acme", ""}, // filled in below
		{"no user", "", ""},
		{"the system owner without its password", live.SystemOwner, "x"},
	}
	cases[1].pass = e.tokBt
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cp := &paho.Connect{ClientID: "x", CleanStart: true, Username: tc.user, UsernameFlag: tc.user != "",
				Password: []byte(tc.pass), PasswordFlag: tc.pass != ""}
			_, ca, err := e.connect(t, cp, nil)
			if err == nil {
				t.Fatal("connected")
			}
			if ca == nil || ca.ReasonCode != packets.ErrBadUsernameOrPassword.Code {
				t.Fatalf("CONNACK %+v (%v), want reason 0x86", ca, err)
			}
		})
	}
	if got := testutil.ToFloat64(e.b.m.connRefused.WithLabelValues("auth")); got != float64(len(cases)) {
		t.Errorf("refused for auth: %v, want %d", got, len(cases))
	}
}

func TestPublishRefused(t *testing.T) {
	e := newEnv(t, Limits{MaxPayload: 1000})
	c := e.acme(t)
	own := ReadingsTopic("acme", "a-1")
	cases := []struct {
		name, topic, payload, reason string
		code                         byte
	}{
		{"another company's topic", ReadingsTopic("beta", "b-1"), `{"value": 1}`, "topic", 0x87},
		{"another company's sensor", ReadingsTopic("acme", "b-1"), `{"value": 1}`, "not_owner", 0x87},
		{"an unknown sensor", ReadingsTopic("acme", "nope"), `{"value": 1}`, "unknown_sensor", 0x87},
		{"a state topic", StateTopic("acme", "a-1"), `{"value": 1}`, "topic", 0x87},
		{"another tree", "devices/a-1/up", `{"value": 1}`, "topic", 0x87},
		{"not JSON", own, `value=1`, "payload", 0x99},
		{"an empty payload", own, ``, "payload", 0x99},
		{"an empty array", own, `[]`, "payload", 0x99},
		{"an unknown field", own, `{"value": 1, "sensor": "a-1"}`, "payload", 0x99},
		{"a value as a string", own, `{"value": "1"}`, "value", 0x99},
		{"no value", own, `{"time": "2026-01-01T00:00:00Z"}`, "value", 0x99},
		{"a value out of range", own, `{"value": -5}`, "value", 0x99},
		{"a bad time", own, `{"value": 1, "time": "yesterday"}`, "time", 0x99},
		{"a time far ahead", own, `{"value": 1, "time": "2999-01-01T00:00:00Z"}`, "time", 0x99},
		{"one bad reading of two", own, `[{"value": 1}, {"value": -1}]`, "value", 0x99},
		{"two JSON values", own, `{"value": 1} {"value": 2}`, "payload", 0x99},
		{"too large", own, `[` + strings.Repeat(`{"value": 1},`, 100) + `{"value": 1}]`, "too_large", 0x99},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := testutil.ToFloat64(e.b.m.refused.WithLabelValues(tc.reason))
			for _, qos := range []byte{1, 2} {
				pr, err := publish(c, tc.topic, qos, tc.payload)
				if pr == nil {
					t.Fatalf("QoS %d: no answer: %v", qos, err)
				}
				if pr.ReasonCode != tc.code {
					t.Errorf("QoS %d: reason code %#x, want %#x", qos, pr.ReasonCode, tc.code)
				}
			}
			if got := testutil.ToFloat64(e.b.m.refused.WithLabelValues(tc.reason)); got != before+2 {
				t.Errorf("kiruna_mqtt_refused_total{reason=%q} %v, want %v", tc.reason, got, before+2)
			}
		})
	}
	for _, id := range []string{"a-1", "b-1"} {
		if h := e.history(t, id); len(h) != 0 {
			t.Errorf("%s has readings %v; refused messages must store nothing", id, h)
		}
	}
	// The client is still connected and can publish.
	if _, err := publish(c, own, 1, `{"value": 3}`); err != nil {
		t.Fatalf("after the refusals: %v", err)
	}
}

func TestLimits(t *testing.T) {
	e := newEnv(t, Limits{PerCompany: 2, ConnRate: 1, ConnBurst: 2})
	cp := func(id string) *paho.Connect {
		return &paho.Connect{ClientID: id, CleanStart: true, Username: "acme", UsernameFlag: true, Password: []byte(e.tokAcme), PasswordFlag: true}
	}
	c1, _, err := e.connect(t, cp("one"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.connect(t, cp("two"), nil); err != nil {
		t.Fatal(err)
	}
	_, ca, err := e.connect(t, cp("three"), nil)
	if err == nil || ca == nil || ca.ReasonCode != packets.ErrQuotaExceeded.Code {
		t.Fatalf("a third connection of a company limited to 2: %+v, %v; want CONNACK 0x97", ca, err)
	}
	// Another company still connects.
	if _, _, err := e.connect(t, &paho.Connect{ClientID: "b", CleanStart: true, Username: "beta", UsernameFlag: true,
		Password: []byte(e.tokBt), PasswordFlag: true}, nil); err != nil {
		t.Fatalf("beta: %v", err)
	}
	// The connection's rate: a burst of 2, then one a second.
	var codes []byte
	for i := 0; i < 3; i++ {
		pr, _ := publish(c1, ReadingsTopic("acme", "a-1"), 1, fmt.Sprintf(`{"value": %d}`, i))
		codes = append(codes, pr.ReasonCode)
	}
	if codes[0] != 0 || codes[1] != 0 || codes[2] != 0x97 {
		t.Errorf("reason codes %x, want 00 00 97", codes)
	}
	if got := testutil.ToFloat64(e.b.m.refused.WithLabelValues("rate_connection")); got != 1 {
		t.Errorf("refused for the connection's rate: %v", got)
	}
}

func TestCompanyRateAndQuotaHooks(t *testing.T) {
	var mu sync.Mutex
	var allows, admits int
	e := newEnv(t, Limits{}, func(c *Config) {
		c.AllowWrite = func(company string) (time.Duration, bool) { // the second write is over the rate
			mu.Lock()
			defer mu.Unlock()
			allows++
			return time.Second, allows != 2
		}
		c.Admit = func(company string, n int) error { // the second admitted is over the quota
			mu.Lock()
			defer mu.Unlock()
			if admits++; admits == 2 {
				return fmt.Errorf("%s is over its quota", company)
			}
			return nil
		}
	})
	c := e.acme(t)
	topic := ReadingsTopic("acme", "a-1")
	for i, want := range []byte{0, 0x97, 0x97, 0} {
		pr, _ := publish(c, topic, 1, fmt.Sprintf(`{"value": %d}`, i))
		if pr == nil || pr.ReasonCode != want {
			t.Fatalf("message %d: %+v, want reason %#x", i, pr, want)
		}
	}
	if n := len(e.history(t, "a-1")); n != 2 {
		t.Errorf("%d readings, want 2", n)
	}
	for _, r := range []string{"rate_company", "quota"} {
		if got := testutil.ToFloat64(e.b.m.refused.WithLabelValues(r)); got != 1 {
			t.Errorf("refused for %s: %v, want 1", r, got)
		}
	}
}

func TestStatesRetained(t *testing.T) {
	e := newEnv(t, Limits{})
	ctx := context.Background()
	when := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	if err := e.store.Ingest(ctx, "beta", []live.Reading{{Sensor: "b-1", Time: when, Value: 42}}); err != nil {
		t.Fatal(err)
	}
	got := make(chan *paho.Publish, 16)
	c, _, err := e.connect(t, &paho.Connect{ClientID: "dash", CleanStart: true, Username: "acme", UsernameFlag: true,
		Password: []byte(e.tokAcme), PasswordFlag: true}, got)
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// Another company's state is readable; $SYS is not.
	sa, err := c.Subscribe(sctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: "kiruna/+/sensors/+/state", QoS: 1}, {Topic: "$SYS/#", QoS: 0}}})
	if err != nil && sa == nil {
		t.Fatal(err)
	}
	if sa.Reasons[0] != 1 || sa.Reasons[1] < 0x80 {
		t.Errorf("SUBACK reasons %x, want 01 and a refusal", sa.Reasons)
	}
	seen := map[string]map[string]any{}
	deadline := time.After(5 * time.Second)
	b1Done := func() bool { return seen[StateTopic("beta", "b-1")]["value"] == 42.0 }
	for len(seen) < 3 || !b1Done() {
		select {
		case p := <-got:
			var st map[string]any
			if err := json.Unmarshal(p.Payload, &st); err != nil {
				t.Fatalf("%s: %v", p.Payload, err)
			}
			if _, again := seen[p.Topic]; !again && !p.Retain {
				t.Errorf("%s: the first state is not the retained one", p.Topic)
			}
			seen[p.Topic] = st
		case <-deadline:
			t.Fatalf("states seen: %v", seen)
		}
	}
	b1 := seen[StateTopic("beta", "b-1")]
	if b1 == nil || b1["value"] != 42.0 || b1["time"] != when.Format(time.RFC3339) || b1["owner"] != "beta" {
		t.Errorf("b-1's state %v", b1)
	}
	if seen[StateTopic(live.SystemOwner, "sys-1")] == nil {
		t.Errorf("no state of the scene's sensor: %v", seen)
	}
	// A change is published.
	if err := e.store.Ingest(ctx, "acme", []live.Reading{{Sensor: "a-1", Time: when, Value: 7}}); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case p := <-got:
			if p.Topic == StateTopic("acme", "a-1") && strings.Contains(string(p.Payload), `"value":7`) {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no state after a reading")
		}
	}
}

func TestPersistentSession(t *testing.T) {
	e := newEnv(t, Limits{})
	expiry := uint32(300)
	cp := &paho.Connect{ClientID: "dash", CleanStart: false, KeepAlive: 30, Username: "acme", UsernameFlag: true,
		Password: []byte(e.tokAcme), PasswordFlag: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}}
	got := make(chan *paho.Publish, 16)
	c, ca, err := e.connect(t, cp, got)
	if err != nil {
		t.Fatal(err)
	}
	if ca.SessionPresent {
		t.Fatal("a session present at the first connection")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: StateTopic("acme", "a-1"), QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	<-got // the retained state
	if err := c.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return e.b.open.Load() == 0 }, "the disconnection")
	// While it is away, a-1 gets a reading.
	if err := e.store.Ingest(ctx, "acme", []live.Reading{{Sensor: "a-1", Time: time.Now().Add(-time.Second), Value: 99}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // a few ticks: the state is queued for the session
	got2 := make(chan *paho.Publish, 16)
	_, ca, err = e.connect(t, cp, got2)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.SessionPresent {
		t.Fatal("the session is not present after reconnecting")
	}
	for {
		select {
		case p := <-got2: // (an unacknowledged earlier state may come first)
			if strings.Contains(string(p.Payload), `"value":99`) {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the state published while away was not delivered")
		}
	}
}

// A company revoked while connected is refused and disconnected at its
// next message (a second after it was last checked).
func TestRevokedWhileConnected(t *testing.T) {
	e := newEnv(t, Limits{})
	c := e.acme(t)
	topic := ReadingsTopic("acme", "a-1")
	if _, err := publish(c, topic, 1, `{"value": 1}`); err != nil {
		t.Fatal(err)
	}
	if err := live.RevokeTenant(e.dir, "acme", time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	publish(c, topic, 1, `{"value": 2}`)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the revoked company's client is still connected")
	}
	if n := len(e.history(t, "a-1")); n != 1 {
		t.Errorf("%d readings, want 1", n)
	}
	if got := testutil.ToFloat64(e.b.m.refused.WithLabelValues("revoked")); got != 1 {
		t.Errorf("refused as revoked: %v", got)
	}
}
