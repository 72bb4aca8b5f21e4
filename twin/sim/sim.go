// Package sim is the built-in sensor simulator: it feeds the scene's own
// sensors (those of live.SystemOwner) with readings that behave like the
// real thing, through the same ingest path as a company's readings
// (validation, durable write, fan-out).
//
// What it knows is generic — a sub-arctic climate from the latitude, local
// time from the longitude, mining towns' nightly blasting — and each
// sensor's feature may tune it: creep_mm_per_year (ground deformation),
// peak_mm_per_s (blast vibration), peak_cm (snow depth).
package sim

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/paulmach/orb"
)

var emptyBound orb.Bound // every sensor

// Config is what the simulator runs on.
type Config struct {
	Store *live.Store
	// Model holds the sensors' features (for their tuning properties).
	Model *twin.Model
	// Clock is the wall clock (time.Now when nil).
	Clock func() time.Time
	// Location is the local time of the scene, for daily rhythms and the
	// nightly blast; when nil, the standard time of the sensors' mean
	// longitude (UTC+1 at 20° E).
	Location *time.Location
	// Backfill is how much history to generate at start for sensors that
	// have none, or fill since their latest reading (24 h when zero;
	// negative for none).
	Backfill time.Duration
	// Seed makes a run repeatable.
	Seed   uint64
	Logger *slog.Logger
	// Publish, when set, takes the readings instead of Store.Ingest: a
	// device that sends them another way, as a real one would (over MQTT:
	// server/mqtt.Device). It returns once they are durable.
	Publish func(ctx context.Context, rs []live.Reading) error
}

// Period of readings by type (others: a minute).
var periods = map[live.SensorType]time.Duration{
	live.GroundDeformation: time.Minute,
	live.DistrictHeating:   30 * time.Second,
	live.WasteFill:         time.Minute,
	live.SnowDepth:         5 * time.Minute,
	live.BlastVibration:    time.Minute, // the peak of the last minute
	live.AirQuality:        time.Minute,
}

// Sensor simulates one sensor.
type Sensor struct {
	ID     string
	Type   live.SensorType
	Period time.Duration

	rng      *rand.Rand
	w        *World
	creep    float64   // mm per year (ground deformation)
	since    time.Time // installation (ground deformation)
	peak     float64   // blast mm/s, snow cm
	offset   float64   // a sensor's own bias
	fillRate float64   // % per hour in the day (waste)
	fill     float64   // waste state
	lastT    time.Time
}

// World is what all sensors of a scene share: the weather and local time.
type World struct {
	Lat   float64
	Loc   *time.Location
	phase [3]float64
}

// NewWorld returns the weather of a place at latitude lat.
func NewWorld(lat float64, loc *time.Location, seed uint64) *World {
	r := rand.New(rand.NewPCG(seed, 0x77656174686572))
	w := &World{Lat: lat, Loc: loc}
	for i := range w.phase {
		w.phase[i] = r.Float64() * 2 * math.Pi
	}
	return w
}

// seasonal is the mean temperature of the day of year: a sub-arctic
// climate at 68° N has a year mean near −1 °C and a swing of ±13 °C.
func (w *World) seasonal(t time.Time) float64 {
	lat := math.Abs(w.Lat)
	mean := 29.5 - 0.45*lat
	amp := 5 + 0.12*lat
	doy := dayOfYear(t)
	if w.Lat < 0 {
		doy += 182.6
	}
	return mean - amp*math.Cos(2*math.Pi*(doy-20)/365.25)
}

func dayOfYear(t time.Time) float64 {
	t = t.UTC()
	return float64(t.YearDay()-1) + (float64(t.Hour())+float64(t.Minute())/60)/24
}

// Outdoor is the outdoor temperature in °C: season, day and passing weather.
func (w *World) Outdoor(t time.Time) float64 {
	lt := t.In(w.Loc)
	h := float64(lt.Hour()) + float64(lt.Minute())/60
	days := float64(t.Unix()) / 86400
	weather := 3.5*math.Sin(2*math.Pi*days/5.3+w.phase[0]) + 2.5*math.Sin(2*math.Pi*days/2.9+w.phase[1]) + 1.5*math.Sin(2*math.Pi*days/1.3+w.phase[2])
	return w.seasonal(t) + 3*math.Sin(2*math.Pi*(h-9)/24) + weather
}

// snowFraction is the share of the season's peak snow depth lying at t:
// it builds from when the mean temperature drops below −1 °C (late
// October at 68° N), peaks about 45 days before it is gone, and melts
// away some 25 days after the mean passes +2 °C (end of May).
func (w *World) snowFraction(t time.Time) float64 {
	lat := math.Abs(w.Lat)
	mean, amp := 29.5-0.45*lat, 5+0.12*lat
	if mean-amp > -1 {
		return 0 // no winter to speak of
	}
	// Days (from the coldest point, day 20) where the mean crosses a level.
	cross := func(level float64) float64 {
		c := (mean - level) / amp
		if c >= 1 {
			return 182.6 // always below the level
		}
		return math.Acos(c) * 365.25 / (2 * math.Pi)
	}
	onset := 20 - cross(-1)    // going down, before the coldest day
	gone := 20 + cross(2) + 25 // melted
	peak := gone - 45          // deepest
	d := dayOfYear(t)
	if w.Lat < 0 {
		d += 182.6
	}
	d = math.Mod(d-onset+365.25, 365.25) // days since onset
	season, toPeak := gone-onset, peak-onset
	switch {
	case d < toPeak:
		return d / toPeak
	case d < season:
		return (season - d) / (season - toPeak)
	}
	return 0
}

// NewSensor prepares the simulation of one scene sensor.
func NewSensor(st live.SensorState, f *twin.Feature, w *World, seed uint64) *Sensor {
	h := fnv.New64a()
	h.Write([]byte(st.ID))
	r := rand.New(rand.NewPCG(seed, h.Sum64()))
	s := &Sensor{ID: st.ID, Type: st.Type, Period: periods[st.Type], rng: r, w: w, since: st.Since}
	if s.Period == 0 {
		s.Period = time.Minute
	}
	prop := func(key string, def float64) float64 {
		if f != nil {
			if v, ok := f.Props[key].(float64); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
				return v
			}
		}
		return def
	}
	s.creep = prop("creep_mm_per_year", 2)
	switch st.Type {
	case live.BlastVibration:
		s.peak = prop("peak_mm_per_s", 1+2*r.Float64())
	case live.SnowDepth:
		s.peak = prop("peak_cm", 60+50*r.Float64())
	}
	s.offset = r.NormFloat64()
	s.fillRate = 2 + 4*r.Float64()
	s.fill = 100 * r.Float64() * 0.7
	if !st.Time.IsZero() {
		s.fill, s.lastT = st.Value, st.Time
	}
	if s.since.IsZero() || s.since.Year() < 2000 {
		s.since = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return s
}

// Value is the reading at t; calls must come in time order (the waste
// bin's level carries over).
func (s *Sensor) Value(t time.Time) float64 {
	lt := t.In(s.w.Loc)
	h := float64(lt.Hour()) + float64(lt.Minute())/60 + float64(lt.Second())/3600
	var v float64
	switch s.Type {
	case live.GroundDeformation:
		years := max(0, t.Sub(s.since).Hours()/(24*365.25))
		frost := 0.8 * math.Max(0, -s.w.seasonal(t)) / 15 // frost heave in winter
		v = s.creep*years + frost + 0.3*s.rng.NormFloat64()
	case live.BlastVibration:
		v = 0.03 + 0.04*s.rng.Float64() // traffic and machines
		if lt.Weekday() != time.Sunday || s.rng.IntN(3) == 0 {
			// The night's blast: about 01:30, a few minutes either way.
			day := time.Date(lt.Year(), lt.Month(), lt.Day(), 1, 30, 0, 0, s.w.Loc)
			jitter := time.Duration(math.Sin(float64(day.Unix()/86400))*180) * time.Second
			blast := day.Add(jitter)
			since := t.Sub(blast)
			if since >= 0 && since < s.Period {
				v = s.peak * math.Exp(0.3*s.rng.NormFloat64())
			} else if since >= s.Period && since < 4*s.Period {
				v += 0.05 * s.peak // rock settling after the blast
			}
		}
	case live.DistrictHeating:
		v = 68 + 1.25*math.Max(0, 17-s.w.Outdoor(t)) + 2*s.offset + 0.4*s.rng.NormFloat64()
		v = math.Max(60, math.Min(112, v))
	case live.WasteFill:
		dt := s.Period.Hours()
		if !s.lastT.IsZero() {
			dt = math.Min(t.Sub(s.lastT).Hours(), 6)
		}
		rate := 0.3
		if h >= 7 && h < 22 {
			rate = s.fillRate
		}
		s.fill += rate * dt * (0.5 + s.rng.Float64())
		workday := lt.Weekday() != time.Saturday && lt.Weekday() != time.Sunday
		if s.fill > 75 && workday && h >= 6 && h < 15 && s.rng.Float64() < dt*0.6 {
			s.fill = 3 * s.rng.Float64() // emptied
		}
		s.fill = math.Min(s.fill, 100)
		v = s.fill
	case live.SnowDepth:
		v = s.peak*s.w.snowFraction(t) + 2*s.offset*s.w.snowFraction(t) + 0.3*s.rng.NormFloat64()
		v = math.Max(0, v)
	case live.AirQuality:
		workday := lt.Weekday() != time.Saturday && lt.Weekday() != time.Sunday
		rush := 0.5
		if workday {
			rush = 1
		}
		v = 6 + rush*(14*math.Exp(-math.Pow((h-8)/1.3, 2))+10*math.Exp(-math.Pow((h-16.5)/1.8, 2)))
		if m := lt.Month(); m == time.March || m == time.April {
			v *= 1.8 // road dust from studded tyres as the snow goes
		}
		if s.w.Outdoor(t) < -15 {
			v *= 1.5 // cold inversions keep it near the ground
		}
		v *= math.Exp(0.2 * s.rng.NormFloat64())
	default:
		v = 10 + s.offset + s.rng.NormFloat64()
	}
	s.lastT = t
	p := s.Type.Profile()
	return math.Round(math.Max(p.Min, math.Min(p.Max, v))*100) / 100
}

// Run feeds the scene's sensors until ctx ends. It returns nil then, or
// an error if it cannot start.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Store == nil {
		return errors.New("sim: no store")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Backfill == 0 {
		cfg.Backfill = 24 * time.Hour
	}
	sensors := Sensors(cfg)
	if len(sensors) == 0 {
		cfg.Logger.Info("the simulator has no scene sensors to feed")
		<-ctx.Done()
		return nil
	}
	now := cfg.Clock()
	next := make([]time.Time, len(sensors))
	var backfilled int
	for i, s := range sensors {
		from := now.Add(-cfg.Backfill)
		if !s.lastT.IsZero() && s.lastT.After(from) {
			from = s.lastT.Add(s.Period)
		}
		if cfg.Backfill < 0 {
			from = now
		}
		var batch []live.Reading
		t := from.Truncate(s.Period)
		for ; !t.After(now); t = t.Add(s.Period) {
			if t.Before(from) {
				continue
			}
			batch = append(batch, live.Reading{Sensor: s.ID, Time: t, Value: s.Value(t)})
			if len(batch) == 2000 {
				backfilled += ingest(ctx, cfg, batch)
				batch = batch[:0]
			}
		}
		backfilled += ingest(ctx, cfg, batch)
		// Spread the sensors over the period so that readings trickle in.
		next[i] = t.Add(time.Duration(rand.Int64N(int64(s.Period))))
	}
	cfg.Logger.Info("simulator running", "sensors", len(sensors), "backfilled_readings", backfilled)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var batch []live.Reading
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		now := cfg.Clock()
		batch = batch[:0]
		for i, s := range sensors {
			for !next[i].After(now) {
				batch = append(batch, live.Reading{Sensor: s.ID, Time: now, Value: s.Value(now)})
				next[i] = next[i].Add(s.Period)
				if next[i].Before(now) {
					next[i] = now.Add(s.Period) // after a pause, no catching up burst
				}
			}
		}
		ingest(ctx, cfg, batch)
	}
}

func ingest(ctx context.Context, cfg Config, batch []live.Reading) int {
	if len(batch) == 0 {
		return 0
	}
	write := func(ctx context.Context, rs []live.Reading) error { return cfg.Store.Ingest(ctx, live.SystemOwner, rs) }
	if cfg.Publish != nil {
		write = cfg.Publish
	}
	if err := write(ctx, batch); err != nil {
		if ctx.Err() == nil {
			cfg.Logger.Warn("the simulator's readings were not taken", "err", err)
		}
		return 0
	}
	return len(batch)
}

// Sensors prepares the simulation of every sensor of the system owner.
func Sensors(cfg Config) []*Sensor {
	all, _ := cfg.Store.Sensors().Search(emptyBound)
	var mine []live.SensorState
	lat, lon := 0.0, 0.0
	for _, st := range all {
		if st.Owner == live.SystemOwner {
			mine = append(mine, st)
			lon += st.Pos[0]
			lat += st.Pos[1]
		}
	}
	if len(mine) == 0 {
		return nil
	}
	lat /= float64(len(mine))
	lon /= float64(len(mine))
	loc := cfg.Location
	if loc == nil {
		off := int(math.Round(lon / 15))
		loc = time.FixedZone("", off*3600)
	}
	w := NewWorld(lat, loc, cfg.Seed)
	var snap *twin.Snapshot
	if cfg.Model != nil {
		snap = cfg.Model.Snapshot()
	}
	out := make([]*Sensor, 0, len(mine))
	for _, st := range mine {
		var f *twin.Feature
		if snap != nil {
			f, _ = snap.Get(twin.Sensors, st.ID)
		}
		out = append(out, NewSensor(st, f, w, cfg.Seed))
	}
	return out
}
