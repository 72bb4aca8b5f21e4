package live

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

var t0 = time.Date(2025, 8, 20, 12, 0, 0, 0, time.UTC)

func sceneModel(t testing.TB) *twin.Model {
	t.Helper()
	m := twin.NewModel()
	feats := []*twin.Feature{
		{ID: "s-def", Layer: twin.Sensors, Name: "Deformation 1", Geometry: orb.Point{20.2, 67.85}, Life: twin.Lifespan{From: t0.AddDate(-1, 0, 0)},
			Props: map[string]any{"type": "ground_deformation", "unit": "mm", "creep_mm_per_year": 30.0}},
		{ID: "s-bin", Layer: twin.Sensors, Name: "Bin", Geometry: orb.Point{20.3, 67.86}, Life: twin.Lifespan{From: t0.AddDate(-1, 0, 0)},
			Props: map[string]any{"type": "waste_fill", "unit": "%"}},
	}
	if err := m.Load(feats); err != nil {
		t.Fatal(err)
	}
	return m
}

func openStore(t testing.TB, dir string, m *twin.Model, opts StoreOptions) *Store {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = func() time.Time { return t0 }
	}
	opts.Logger = quietLog
	s, err := OpenStore(dir, m, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStoreSceneSensorsAndIngest(t *testing.T) {
	dir := t.TempDir()
	m := sceneModel(t)
	s := openStore(t, dir, m, StoreOptions{})
	var seen []SensorState
	s.Listen(func(st []SensorState) { seen = append(seen, st...) })
	ctx := context.Background()
	rs := []Reading{
		{Sensor: "s-bin", Time: t0.Add(-2 * time.Minute), Value: 40},
		{Sensor: "s-bin", Time: t0.Add(-time.Minute), Value: 95},
		{Sensor: "s-def", Time: t0.Add(-time.Minute), Value: 12.5},
	}
	if err := s.Ingest(ctx, SystemOwner, rs); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("listeners saw %d changed states, want 2 (one per sensor)", len(seen))
	}
	bin, _ := s.Sensors().Get("s-bin")
	if bin.Value != 95 || bin.Status != SensorAlarm || bin.Unit != "%" {
		t.Fatalf("bin state %+v, want 95 %% in alarm", bin)
	}
	// Company sensor: registered, in the model, owned.
	st, created, err := s.Register(ctx, "acme", Sensor{ID: "acme-1", Type: SnowDepth, Pos: orb.Point{20.25, 67.84}, Name: "Snow"})
	if err != nil || !created || st.Unit != "cm" {
		t.Fatalf("Register: %+v %v %v", st, created, err)
	}
	if _, ok := m.Snapshot().Get(twin.Sensors, "acme-1"); !ok {
		t.Fatal("a registered sensor is not in the sensors layer")
	}
	if _, _, err := s.Register(ctx, "other", Sensor{ID: "acme-1", Type: SnowDepth, Pos: orb.Point{20, 67}}); !errors.Is(err, ErrSensorTaken) {
		t.Fatalf("another company's id: %v, want ErrSensorTaken", err)
	}
	if _, _, err := s.Register(ctx, "acme", Sensor{ID: "s-bin", Type: WasteFill, Pos: orb.Point{20, 67}}); !errors.Is(err, ErrSensorTaken) {
		t.Fatalf("a scene sensor's id: %v, want ErrSensorTaken", err)
	}
	if _, created, err := s.Register(ctx, "acme", Sensor{ID: "acme-1", Type: SnowDepth, Pos: orb.Point{20.26, 67.84}, Name: "Snow 2"}); err != nil || created {
		t.Fatalf("re-register by the owner: created %v, %v", created, err)
	}
	if err := s.Ingest(ctx, "acme", []Reading{{Sensor: "acme-1", Time: t0, Value: 42}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Restart: state, history and the company's sensor come back.
	m2 := sceneModel(t)
	s2 := openStore(t, dir, m2, StoreOptions{})
	defer s2.Close()
	bin, _ = s2.Sensors().Get("s-bin")
	if bin.Value != 95 || !bin.Time.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("after restart bin is %+v", bin)
	}
	h, _ := s2.Sensors().History("s-bin", time.Time{}, time.Time{}, 0)
	if len(h) != 2 || h[0].Value != 40 {
		t.Fatalf("history after restart %+v", h)
	}
	a, ok := s2.Sensors().Get("acme-1")
	if !ok || a.Owner != "acme" || a.Value != 42 || a.Name != "Snow 2" {
		t.Fatalf("company sensor after restart %+v %v", a, ok)
	}
	if f, ok := m2.Snapshot().Get(twin.Sensors, "acme-1"); !ok || f.Prop("owner") != "acme" {
		t.Fatal("the company's sensor is not back in the sensors layer")
	}
}

func TestBadReadings(t *testing.T) {
	m := sceneModel(t)
	s := openStore(t, t.TempDir(), m, StoreOptions{})
	defer s.Close()
	ctx := context.Background()
	if _, _, err := s.Register(ctx, "acme", Sensor{ID: "a1", Type: AirQuality, Pos: orb.Point{20.2, 67.8}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Register(ctx, "other", Sensor{ID: "o1", Type: AirQuality, Pos: orb.Point{20.2, 67.8}}); err != nil {
		t.Fatal(err)
	}
	good := Reading{Sensor: "a1", Time: t0, Value: 10}
	goodFor := map[string]Reading{"acme": good, "other": {Sensor: "o1", Time: t0, Value: 10}}
	for _, tc := range []struct {
		name  string
		owner string
		r     Reading
		field string
		err   error
	}{
		{"unknown sensor", "acme", Reading{Sensor: "nope", Time: t0, Value: 1}, "sensor", ErrUnknownSensor},
		{"another company's sensor", "other", good, "sensor", ErrNotOwner},
		{"a scene sensor", "acme", Reading{Sensor: "s-bin", Time: t0, Value: 1}, "sensor", ErrNotOwner},
		{"NaN", "acme", Reading{Sensor: "a1", Time: t0, Value: math.NaN()}, "value", ErrBadReading},
		{"infinity", "acme", Reading{Sensor: "a1", Time: t0, Value: math.Inf(1)}, "value", ErrBadReading},
		{"out of range for the type", "acme", Reading{Sensor: "a1", Time: t0, Value: -3}, "value", ErrBadReading},
		{"far future", "acme", Reading{Sensor: "a1", Time: t0.Add(time.Hour), Value: 1}, "time", ErrBadReading},
		{"zero time", "acme", Reading{Sensor: "a1", Value: 1}, "time", ErrBadReading},
		{"ancient", "acme", Reading{Sensor: "a1", Time: time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC), Value: 1}, "time", ErrBadReading},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := goodFor[tc.owner]
			err := s.Ingest(ctx, tc.owner, []Reading{g, g, tc.r})
			var re *ReadingError
			if !errors.As(err, &re) || re.Index != 2 || re.Field != tc.field || !errors.Is(err, tc.err) {
				t.Fatalf("got %v, want readings[2].%s: %v", err, tc.field, tc.err)
			}
		})
	}
	if st, _ := s.Sensors().Get("a1"); !st.Time.IsZero() {
		t.Fatal("a rejected batch left a reading behind")
	}
	if err := s.Ingest(ctx, "acme", []Reading{good, {Sensor: "a1", Time: t0.Add(4 * time.Minute), Value: 55}}); err != nil {
		t.Fatalf("a good batch (with a reading 4 min ahead): %v", err)
	}
}

func TestSensorNormalize(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     Sensor
		field string
		unit  string
	}{
		{"ok, unit filled", Sensor{ID: "x", Type: WasteFill, Pos: orb.Point{1, 2}}, "", "%"},
		{"ascii unit alias", Sensor{ID: "x", Type: AirQuality, Unit: "ug/m3", Pos: orb.Point{1, 2}}, "", "µg/m³"},
		{"own type", Sensor{ID: "x", Type: "noise", Unit: "dB", Pos: orb.Point{1, 2}}, "", "dB"},
		{"empty id", Sensor{Type: WasteFill}, "id", ""},
		{"id with space", Sensor{ID: "a b", Type: WasteFill}, "id", ""},
		{"bad type", Sensor{ID: "x", Type: "Snow Depth"}, "type", ""},
		{"wrong unit", Sensor{ID: "x", Type: SnowDepth, Unit: "m"}, "unit", ""},
		{"lon", Sensor{ID: "x", Type: SnowDepth, Pos: orb.Point{200, 1}}, "lon", ""},
		{"lat", Sensor{ID: "x", Type: SnowDepth, Pos: orb.Point{1, math.NaN()}}, "lat", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Normalize()
			if tc.field == "" {
				if err != nil || tc.s.Unit != tc.unit {
					t.Fatalf("got %v, unit %q; want ok, %q", err, tc.s.Unit, tc.unit)
				}
				return
			}
			var fe *twin.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("got %v, want an error in %s", err, tc.field)
			}
		})
	}
}

func TestStatus(t *testing.T) {
	p := DistrictHeating.Profile()
	for _, tc := range []struct {
		v    float64
		age  time.Duration
		zero bool
		want SensorStatus
	}{
		{80, time.Minute, false, SensorOK},
		{130, time.Minute, false, SensorAlarm},
		{40, time.Minute, false, SensorAlarm},
		{80, time.Hour, false, SensorStale},
		{0, 0, true, SensorStale},
	} {
		ts := t0.Add(-tc.age)
		if tc.zero {
			ts = time.Time{}
		}
		if got := p.Status(tc.v, ts, t0); got != tc.want {
			t.Errorf("%v after %v: %s, want %s", tc.v, tc.age, got, tc.want)
		}
	}
	if got := SensorType("noise").Profile().Status(1e9, t0, t0); got != SensorOK {
		t.Errorf("a type without thresholds is %s", got)
	}
}

func TestHistoryBoundedAndOrdered(t *testing.T) {
	var h history
	for i := 0; i < 100; i++ {
		h.add(sample{t: int64(i * 10), v: float64(i)}, 32)
	}
	h.add(sample{t: 905, v: -1}, 32) // out of order, inside the window
	h.add(sample{t: 5, v: -2}, 32)   // older than everything kept: dropped
	h.add(sample{t: 990, v: 99.5}, 32)
	s := h.slice()
	if len(s) != 32 {
		t.Fatalf("%d samples kept, want 32", len(s))
	}
	for i := 1; i < len(s); i++ {
		if s[i].t <= s[i-1].t {
			t.Fatalf("history out of order at %d: %v", i, s)
		}
	}
	if s[len(s)-1].v != 99.5 {
		t.Fatal("a sample at the same instant did not replace the old one")
	}
	for _, x := range s {
		if x.v == -2 {
			t.Fatal("a sample older than the window was kept")
		}
	}
}

func TestSearchBBox(t *testing.T) {
	m := sceneModel(t)
	s := openStore(t, t.TempDir(), m, StoreOptions{})
	defer s.Close()
	in, _ := s.Sensors().Search(orb.Bound{Min: orb.Point{20.1, 67.8}, Max: orb.Point{20.25, 67.9}})
	if len(in) != 1 || in[0].ID != "s-def" {
		t.Fatalf("search found %v", in)
	}
	all, _ := s.Sensors().Search(orb.Bound{})
	if len(all) != 2 {
		t.Fatalf("empty bound found %d sensors, want all 2", len(all))
	}
}

func TestCheckpointRestoresEverything(t *testing.T) {
	dir := t.TempDir()
	m := sceneModel(t)
	s := openStore(t, dir, m, StoreOptions{SegmentSize: 2048, HistoryLimit: 100})
	ctx := context.Background()
	if _, _, err := s.Register(ctx, "acme", Sensor{ID: "a1", Type: SnowDepth, Pos: orb.Point{20.2, 67.8}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		ts := t0.Add(time.Duration(i-500) * time.Second)
		if err := s.Ingest(ctx, "acme", []Reading{{Sensor: "a1", Time: ts, Value: float64(i)}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Ingest(ctx, SystemOwner, []Reading{{Sensor: "s-bin", Time: ts, Value: float64(i % 100)}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = openStore(t, dir, sceneModel(t), StoreOptions{SegmentSize: 2048, HistoryLimit: 100})
	defer s.Close()
	h, _ := s.Sensors().History("a1", time.Time{}, time.Time{}, 0)
	if len(h) != 100 || h[99].Value != 499 || h[0].Value != 400 {
		t.Fatalf("history after checkpoints: %d samples, %v … %v", len(h), h[0], h[len(h)-1])
	}
	if a, _ := s.Sensors().Get("a1"); a.Owner != "acme" || a.Value != 499 {
		t.Fatalf("sensor after checkpoints %+v", a)
	}
}

func TestReadingsCodecRoundTrip(t *testing.T) {
	rs := []Reading{{Sensor: "a", Time: t0, Value: 1.5}, {Sensor: "ö-2", Time: t0.Add(-time.Hour), Value: -3}}
	got, err := decodeReadings(encodeReadings(nil, rs))
	if err != nil || len(got) != 2 || got[1].Sensor != "ö-2" || !got[1].Time.Equal(rs[1].Time) || got[0].Value != 1.5 {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for cut := 0; cut < len(encodeReadings(nil, rs)); cut++ {
		if _, err := decodeReadings(encodeReadings(nil, rs)[:cut]); err == nil {
			t.Fatalf("a record cut at %d decoded", cut)
		}
	}
}

func TestTurnedStale(t *testing.T) {
	m := sceneModel(t)
	var clock atomic.Int64 // the store's sweeper reads it too
	clock.Store(t0.UnixNano())
	s := openStore(t, t.TempDir(), m, StoreOptions{Clock: func() time.Time { return time.Unix(0, clock.Load()) }})
	defer s.Close()
	if err := s.Ingest(context.Background(), SystemOwner, []Reading{{Sensor: "s-bin", Time: t0, Value: 10}}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Sensors().Get("s-bin")
	stale := WasteFill.Profile().StaleAfter
	if got := s.Sensors().turnedStale(t0, t0.Add(stale-time.Second)); len(got) != 0 {
		t.Fatalf("stale too early: %v", got)
	}
	now := t0.Add(stale + time.Second)
	clock.Store(now.UnixNano())
	got := s.Sensors().turnedStale(t0.Add(stale-time.Second), now)
	if len(got) != 1 || got[0].ID != "s-bin" || got[0].Status != SensorStale || got[0].Seq <= before.Seq {
		t.Fatalf("turned stale: %+v", got)
	}
	if again := s.Sensors().turnedStale(now, now.Add(time.Hour)); len(again) != 0 {
		t.Fatal("reported stale twice")
	}
}
