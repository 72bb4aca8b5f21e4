package sim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/paulmach/orb"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var cet = time.FixedZone("", 3600)

func world() *World { return NewWorld(67.85, cet, 1) }

func sensor(typ live.SensorType, props map[string]any) *Sensor {
	st := live.SensorState{Sensor: live.Sensor{ID: string(typ), Type: typ, Since: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)}}
	return NewSensor(st, &twin.Feature{Props: props}, world(), 1)
}

// mean of a sensor's values over days at the given local hour.
func mean(s *Sensor, from time.Time, days int, hour float64) float64 {
	sum := 0.0
	for d := 0; d < days; d++ {
		t := from.AddDate(0, 0, d).Add(time.Duration(hour * float64(time.Hour)))
		sum += s.Value(t)
	}
	return sum / float64(days)
}

func local(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, cet) }

func TestSnowLiesFromLateOctoberToMay(t *testing.T) {
	s := sensor(live.SnowDepth, map[string]any{"peak_cm": 90.0})
	for _, tc := range []struct {
		day      time.Time
		min, max float64
	}{
		{local(2025, 7, 15), 0, 1},
		{local(2025, 9, 20), 0, 1},
		{local(2025, 12, 1), 20, 60},
		{local(2026, 3, 25), 70, 95},
		{local(2026, 5, 10), 10, 60},
		{local(2026, 6, 15), 0, 1},
	} {
		if v := s.Value(tc.day.Add(12 * time.Hour)); v < tc.min || v > tc.max {
			t.Errorf("snow on %s: %.1f cm, want %v…%v", tc.day.Format("2006-01-02"), v, tc.min, tc.max)
		}
	}
}

func TestHeatingFollowsTheCold(t *testing.T) {
	s := sensor(live.DistrictHeating, nil)
	jan, jul := mean(s, local(2026, 1, 1), 28, 8), mean(s, local(2026, 7, 1), 28, 8)
	if jan < jul+15 || jan > 112 || jul < 60 {
		t.Fatalf("supply temperature: January %.1f °C, July %.1f °C", jan, jul)
	}
}

func TestBlastAtHalfPastOne(t *testing.T) {
	s := sensor(live.BlastVibration, map[string]any{"peak_mm_per_s": 3.0})
	day := local(2026, 2, 10) // a Tuesday
	peakAt, peak := time.Time{}, 0.0
	for t0 := day; t0.Before(day.Add(24 * time.Hour)); t0 = t0.Add(time.Minute) {
		if v := s.Value(t0); v > peak {
			peak, peakAt = v, t0
		}
	}
	h := float64(peakAt.Hour()) + float64(peakAt.Minute())/60
	if peak < 1 || h < 1.4 || h > 1.65 {
		t.Fatalf("the day's peak is %.2f mm/s at %s, want a blast near 01:30", peak, peakAt.Format("15:04"))
	}
}

func TestWasteBinsFillAndAreEmptied(t *testing.T) {
	s := sensor(live.WasteFill, nil)
	start := local(2026, 3, 2)
	lows, highs, prev, emptied := 0, 0, -1.0, 0
	for t0 := start; t0.Before(start.AddDate(0, 0, 14)); t0 = t0.Add(time.Minute) {
		v := s.Value(t0)
		if v < 0 || v > 100 {
			t.Fatalf("fill %v", v)
		}
		if v < 10 {
			lows++
		}
		if v > 70 {
			highs++
		}
		if prev > 50 && v < prev-40 {
			emptied++
		}
		prev = v
	}
	if emptied < 3 || lows == 0 || highs == 0 {
		t.Fatalf("two weeks of a bin: emptied %d times, %d low and %d high minutes", emptied, lows, highs)
	}
}

func TestAirQualityHasADailyRhythm(t *testing.T) {
	s := sensor(live.AirQuality, nil)
	morning, night := mean(s, local(2026, 2, 2), 5, 8), mean(s, local(2026, 2, 2), 5, 3)
	if morning < 2*night {
		t.Fatalf("PM10 at 08:00 %.1f, at 03:00 %.1f: no rush hour", morning, night)
	}
}

func TestDeformationCreepsFasterNearTheMine(t *testing.T) {
	near := sensor(live.GroundDeformation, map[string]any{"creep_mm_per_year": 40.0})
	far := sensor(live.GroundDeformation, map[string]any{"creep_mm_per_year": 2.0})
	at := local(2026, 6, 1)
	vn, vf := near.Value(at), far.Value(at)
	if vn < 400 || vf > 30 || near.Value(at.AddDate(0, 1, 0)) <= vn {
		t.Fatalf("near %.1f mm, far %.1f mm after 11 years; near must keep creeping", vn, vf)
	}
}

// TestRunFeedsTheStore: the simulator backfills and then streams through
// the store's ingest path, and stops with its context.
func TestRunFeedsTheStore(t *testing.T) {
	m := twin.NewModel()
	types := []live.SensorType{live.GroundDeformation, live.DistrictHeating, live.WasteFill, live.SnowDepth, live.BlastVibration, live.AirQuality}
	var feats []*twin.Feature
	for i, typ := range types {
		feats = append(feats, &twin.Feature{ID: fmt.Sprintf("s%d", i), Layer: twin.Sensors, Geometry: orb.Point{20.2 + float64(i)/100, 67.85},
			Life: twin.Lifespan{From: time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)}, Props: map[string]any{"type": string(typ)}})
	}
	// A company's sensor is not the simulator's to feed.
	if err := m.Load(feats); err != nil {
		t.Fatal(err)
	}
	st, err := live.OpenStore(t.TempDir(), m, live.StoreOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := st.Register(context.Background(), "acme", live.Sensor{ID: "c1", Type: live.SnowDepth, Pos: orb.Point{20.2, 67.8}}); err != nil {
		t.Fatal(err)
	}
	updates := 0
	st.Listen(func(s []live.SensorState) { updates += len(s) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Run(ctx, Config{Store: st, Model: m, Backfill: 2 * time.Hour, Logger: quiet}) }()
	time.Sleep(1500 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i, typ := range types {
		h, _ := st.Sensors().History(fmt.Sprintf("s%d", i), time.Time{}, time.Time{}, 0)
		want := int(2*time.Hour/periods[typ]) - 1
		if len(h) < want {
			t.Errorf("%s: %d readings of backfill, want ≥ %d", typ, len(h), want)
		}
		for _, x := range h {
			if math.IsNaN(x.Value) || typ.CheckValue(x.Value) != nil {
				t.Fatalf("%s: value %v", typ, x.Value)
			}
		}
	}
	if c, _ := st.Sensors().Get("c1"); !c.Time.IsZero() {
		t.Fatal("the simulator fed a company's sensor")
	}
	if updates == 0 {
		t.Fatal("listeners saw nothing: the simulator did not use the ingest path")
	}
}
