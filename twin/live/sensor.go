package live

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"
)

// SensorType says what a sensor measures; it decides the unit, the range
// of believable values and when the sensor is in alarm or stale.
type SensorType string

// The sensor types the twin knows. Others may be registered; they get no
// alarm thresholds and a one-hour staleness.
const (
	GroundDeformation SensorType = "ground_deformation" // mm of displacement since installation
	DistrictHeating   SensorType = "district_heating"   // °C supply temperature
	WasteFill         SensorType = "waste_fill"         // % of a bin filled
	SnowDepth         SensorType = "snow_depth"         // cm of snow on the ground
	BlastVibration    SensorType = "blast_vibration"    // mm/s peak particle velocity
	AirQuality        SensorType = "air_quality"        // µg/m³ of PM10
)

// SensorStatus is a sensor's condition at an instant.
type SensorStatus string

// The statuses of a sensor.
const (
	SensorOK    SensorStatus = "ok"
	SensorStale SensorStatus = "stale" // no reading for longer than its type allows (or none yet)
	SensorAlarm SensorStatus = "alarm" // the latest value crossed its type's threshold
)

// SensorProfile is what the twin knows about a sensor type.
type SensorProfile struct {
	Unit string
	// Min and Max bound a believable value; readings outside are rejected.
	Min, Max float64
	// AlarmBelow and AlarmAbove are the alarm thresholds (NaN: none).
	AlarmBelow, AlarmAbove float64
	// StaleAfter is how long a latest value stays current.
	StaleAfter time.Duration
}

var nan = math.NaN()

// SensorProfiles holds the known types. The thresholds are guide values:
// PM10 50 µg/m³ is the EU daily limit; 10 mm/s is a common guide value for
// blast vibration at buildings; 100 mm of ground displacement is where the
// deformation monitoring of a mining town starts asking questions.
var SensorProfiles = map[SensorType]SensorProfile{
	GroundDeformation: {Unit: "mm", Min: -10000, Max: 10000, AlarmBelow: -100, AlarmAbove: 100, StaleAfter: 15 * time.Minute},
	DistrictHeating:   {Unit: "°C", Min: -60, Max: 200, AlarmBelow: 55, AlarmAbove: 120, StaleAfter: 10 * time.Minute},
	WasteFill:         {Unit: "%", Min: 0, Max: 100, AlarmBelow: nan, AlarmAbove: 90, StaleAfter: 30 * time.Minute},
	SnowDepth:         {Unit: "cm", Min: 0, Max: 1000, AlarmBelow: nan, AlarmAbove: 150, StaleAfter: 2 * time.Hour},
	BlastVibration:    {Unit: "mm/s", Min: 0, Max: 1000, AlarmBelow: nan, AlarmAbove: 10, StaleAfter: 15 * time.Minute},
	AirQuality:        {Unit: "µg/m³", Min: 0, Max: 10000, AlarmBelow: nan, AlarmAbove: 50, StaleAfter: 30 * time.Minute},
}

var otherProfile = SensorProfile{Min: -1e12, Max: 1e12, AlarmBelow: nan, AlarmAbove: nan, StaleAfter: time.Hour}

// Profile returns the profile of a type (a permissive one for unknown types).
func (t SensorType) Profile() SensorProfile {
	if p, ok := SensorProfiles[t]; ok {
		return p
	}
	return otherProfile
}

// Status of a value read at t, seen at now.
func (p SensorProfile) Status(v float64, t, now time.Time) SensorStatus {
	switch {
	case t.IsZero() || now.Sub(t) > p.StaleAfter:
		return SensorStale
	case v < p.AlarmBelow || v > p.AlarmAbove: // false for NaN thresholds
		return SensorAlarm
	}
	return SensorOK
}

// unitAliases accepts plain-ASCII spellings of units.
var unitAliases = map[string]string{"C": "°C", "degC": "°C", "ug/m3": "µg/m³", "µg/m3": "µg/m³", "μg/m³": "µg/m³", "mm/sec": "mm/s"}

// SystemOwner owns the scene's own sensors. Tenant names cannot contain
// '@', so no token can act as it.
const SystemOwner = "@system"

// Sensor is a registered sensor: what it measures, where, and whose it is.
type Sensor struct {
	ID    string
	Type  SensorType
	Unit  string
	Name  string
	Owner string // a tenant name, or SystemOwner
	Pos   orb.Point
	// Since is when it was registered (or, for a scene sensor, installed).
	Since time.Time
}

// Reading is one value of one sensor at one instant.
type Reading struct {
	Sensor string
	Time   time.Time
	Value  float64
}

// Sample is one entry of a sensor's history.
type Sample struct {
	Time  time.Time
	Value float64
}

// SensorState is a sensor with its latest value as seen at some instant.
// Time is zero when the sensor has not reported yet.
type SensorState struct {
	Sensor
	Value  float64
	Time   time.Time
	Status SensorStatus
	// Seq orders states: every applied reading that changes a sensor's
	// latest value takes the next number of its SensorSet.
	Seq uint64
}

// Errors of sensors and readings, for errors.Is.
var (
	ErrUnknownSensor = errors.New("unknown sensor")
	ErrNotOwner      = errors.New("the sensor belongs to another company")
	ErrSensorTaken   = errors.New("the sensor id is taken by another company")
	ErrBadSensor     = errors.New("bad sensor")
	ErrBadReading    = errors.New("bad reading")
	ErrNamespace     = errors.New("an id with ':' is in a company's namespace: it must begin with your company's name and ':'")
)

// PilotSensorID is the id of the sensor that feature fid of company's
// pilot becomes: COMPANY:PILOT.FEATURE. The company's name in front keeps
// it out of every other company's reach (see CheckNamespace).
func PilotSensorID(company, pilot, fid string) string { return company + ":" + pilot + "." + fid }

// CheckNamespace refuses an id that owner may not register: one with a
// ':' whose part before the first ':' is not owner's name. Company names
// hold no ':', so COMPANY:… ids (a pilot's sensors among them) are
// COMPANY's alone.
func CheckNamespace(owner, id string) error {
	if ns, _, ok := strings.Cut(id, ":"); ok && ns != owner {
		return fieldErr("id", fmt.Errorf("%w (%q is not %q)", ErrNamespace, ns, owner))
	}
	return nil
}

// MaxMercatorLat is the latitude beyond which Web Mercator (every map
// tile) shows nothing.
const MaxMercatorLat = 85.0511287798066

// MaxSensorID is the longest sensor id: room for a pilot's sensor,
// COMPANY:PILOT.FEATURE, of names of 64 bytes each.
const MaxSensorID = 200

// validID is 1–MaxSensorID of letters, digits and . _ : -
func validID(s string) bool {
	if len(s) == 0 || len(s) > MaxSensorID {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func validType(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Normalize checks a sensor that a company registers and fills in the unit
// of a known type. Errors are FieldErrors naming the field.
func (s *Sensor) Normalize() error {
	if !validID(s.ID) {
		return fieldErr("id", fmt.Errorf("%w: want 1–%d letters, digits or . _ : -, got %q", ErrBadSensor, MaxSensorID, truncateID(s.ID)))
	}
	if !validType(string(s.Type)) {
		return fieldErr("type", fmt.Errorf("%w: want 1–32 of a–z, 0–9 and _, e.g. snow_depth, got %q", ErrBadSensor, s.Type))
	}
	if a, ok := unitAliases[s.Unit]; ok {
		s.Unit = a
	}
	if p, known := SensorProfiles[s.Type]; known {
		if s.Unit == "" {
			s.Unit = p.Unit
		} else if s.Unit != p.Unit {
			return fieldErr("unit", fmt.Errorf("%w: a %s sensor reports in %s, got %q", ErrBadSensor, s.Type, p.Unit, s.Unit))
		}
	}
	if len(s.Unit) > 16 || !utf8.ValidString(s.Unit) {
		return fieldErr("unit", fmt.Errorf("%w: at most 16 bytes of UTF-8", ErrBadSensor))
	}
	if len(s.Name) > 200 || !utf8.ValidString(s.Name) {
		return fieldErr("name", fmt.Errorf("%w: at most 200 bytes of UTF-8", ErrBadSensor))
	}
	lon, lat := s.Pos[0], s.Pos[1]
	if math.IsNaN(lon) || lon < -180 || lon > 180 {
		return fieldErr("lon", fmt.Errorf("%w: want −180…180, got %v", twin.ErrOutOfRange, lon))
	}
	if math.IsNaN(lat) || lat < -MaxMercatorLat || lat > MaxMercatorLat {
		return fieldErr("lat", fmt.Errorf("%w: want −85.0511…85.0511 (where Web Mercator maps reach), got %v", twin.ErrOutOfRange, lat))
	}
	return nil
}

func truncateID(s string) string {
	if len(s) > MaxSensorID+8 {
		return s[:MaxSensorID] + "…"
	}
	return s
}

// CheckValue reports whether v is a believable value of the type.
func (t SensorType) CheckValue(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%w: not a finite number", ErrBadReading)
	}
	p := t.Profile()
	if v < p.Min || v > p.Max {
		return fmt.Errorf("%w: %v is outside %v…%v for a %s sensor", ErrBadReading, v, p.Min, p.Max, t)
	}
	return nil
}

// Feature is the sensor as a point of the sensors layer.
func (s Sensor) Feature() *twin.Feature {
	props := map[string]any{"type": string(s.Type), "unit": s.Unit}
	if s.Owner != SystemOwner {
		props["owner"] = s.Owner
	}
	since := s.Since
	if since.IsZero() {
		since = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return &twin.Feature{
		ID: s.ID, Layer: twin.Sensors, Kind: string(s.Type), Name: s.Name,
		Geometry: s.Pos, Life: twin.Lifespan{From: since},
		Source: s.Owner, Confidence: twin.Sourced, Props: props,
	}
}

// SensorFromFeature reads a point of a scene's sensors layer: its type and
// unit come from the properties "type" and "unit".
func SensorFromFeature(f *twin.Feature) (Sensor, bool) {
	p, ok := f.Geometry.(orb.Point)
	if !ok {
		c := f.Geometry.Bound().Center()
		p = c
	}
	s := Sensor{ID: f.ID, Type: SensorType(f.Prop("type")), Unit: f.Prop("unit"), Name: f.Name,
		Owner: SystemOwner, Pos: p, Since: f.Life.From}
	if s.Type == "" {
		s.Type = SensorType(f.Kind)
	}
	if a, ok := unitAliases[s.Unit]; ok {
		s.Unit = a
	}
	if s.Unit == "" {
		s.Unit = s.Type.Profile().Unit
	}
	return s, s.Type != ""
}

// history is a bounded ring of samples in time order.
type history struct {
	buf   []sample
	start int
	n     int
}

type sample struct {
	t int64 // unix nanoseconds
	v float64
}

func (h *history) at(i int) *sample { return &h.buf[(h.start+i)%len(h.buf)] }

// add inserts s in time order (replacing a sample of the same instant);
// when full, the oldest goes.
func (h *history) add(s sample, limit int) {
	if h.n > 0 {
		last := h.at(h.n - 1)
		if s.t == last.t {
			last.v = s.v
			return
		}
		if s.t < last.t {
			h.insert(s, limit)
			return
		}
	}
	if h.n < len(h.buf) {
		*h.at(h.n) = s
		h.n++
		return
	}
	if len(h.buf) < limit {
		h.grow(limit)
		*h.at(h.n) = s
		h.n++
		return
	}
	// Full: the new sample takes the oldest one's place.
	h.buf[h.start] = s
	h.start = (h.start + 1) % len(h.buf)
}

func (h *history) grow(limit int) {
	size := min(max(2*len(h.buf), 16), limit)
	nb := make([]sample, size)
	for i := 0; i < h.n; i++ {
		nb[i] = *h.at(i)
	}
	h.buf, h.start = nb, 0
}

// insert places an out-of-order sample; rare, so linear.
func (h *history) insert(s sample, limit int) {
	all := h.slice()
	i := sort.Search(len(all), func(i int) bool { return all[i].t >= s.t })
	if i < len(all) && all[i].t == s.t {
		all[i].v = s.v
	} else {
		if i == 0 && len(all) >= limit {
			return // older than everything kept
		}
		all = slices.Insert(all, i, s)
		if len(all) > limit {
			all = all[len(all)-limit:]
		}
	}
	h.buf, h.start, h.n = all, 0, len(all)
}

// slice returns a copy of the samples in time order.
func (h *history) slice() []sample {
	out := make([]sample, h.n)
	for i := range out {
		out[i] = *h.at(i)
	}
	return out
}

type sensorEntry struct {
	Sensor
	hist   history
	latest sample
	has    bool
	seq    uint64
}

func (e *sensorEntry) state(now time.Time) SensorState {
	st := SensorState{Sensor: e.Sensor, Seq: e.seq}
	if e.has {
		st.Value, st.Time = e.latest.v, time.Unix(0, e.latest.t).UTC()
	}
	st.Status = e.Type.Profile().Status(st.Value, st.Time, now)
	return st
}

// SensorSet is every sensor with its latest value, a bounded history, and
// a spatial index of positions. Reads are safe for concurrent use with
// writes; writes come through a Store.
type SensorSet struct {
	mu        sync.RWMutex
	byID      map[string]*sensorEntry
	perOwner  map[string]int // sensors of each owner
	tree      rtree.RTreeG[*sensorEntry]
	seq       uint64
	histLimit int
	clock     func() time.Time
}

func newSensorSet(histLimit int, clock func() time.Time) *SensorSet {
	return &SensorSet{byID: map[string]*sensorEntry{}, perOwner: map[string]int{}, histLimit: histLimit, clock: clock}
}

// Len is the number of sensors.
func (ss *SensorSet) Len() int {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	return len(ss.byID)
}

// Get returns one sensor's state.
func (ss *SensorSet) Get(id string) (SensorState, bool) {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	e, ok := ss.byID[id]
	if !ok {
		return SensorState{}, false
	}
	return e.state(ss.clock()), true
}

// Search returns the state of every sensor inside b (all sensors for an
// empty bound), sorted by id, and the sequence number that every returned
// state is at or below: a state with a higher Seq is newer than all of them.
func (ss *SensorSet) Search(b orb.Bound) ([]SensorState, uint64) {
	now := ss.clock()
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	var out []SensorState
	if b.IsZero() {
		out = make([]SensorState, 0, len(ss.byID))
		for _, e := range ss.byID {
			out = append(out, e.state(now))
		}
	} else {
		ss.tree.Search(b.Min, b.Max, func(_, _ [2]float64, e *sensorEntry) bool {
			out = append(out, e.state(now))
			return true
		})
	}
	slices.SortFunc(out, func(a, b SensorState) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, ss.seq
}

// History returns the samples of a sensor in [from, to) (zero bounds are
// open), oldest first, at most limit of them (the newest when cut; all
// when limit ≤ 0).
func (ss *SensorSet) History(id string, from, to time.Time, limit int) ([]Sample, error) {
	ss.mu.RLock()
	e, ok := ss.byID[id]
	if !ok {
		ss.mu.RUnlock()
		return nil, fmt.Errorf("%w %q", ErrUnknownSensor, id)
	}
	all := e.hist.slice()
	ss.mu.RUnlock()
	lo, hi := 0, len(all)
	if !from.IsZero() {
		f := from.UnixNano()
		lo = sort.Search(len(all), func(i int) bool { return all[i].t >= f })
	}
	if !to.IsZero() {
		t := to.UnixNano()
		hi = sort.Search(len(all), func(i int) bool { return all[i].t >= t })
	}
	if hi < lo {
		hi = lo
	}
	if limit > 0 && hi-lo > limit {
		lo = hi - limit
	}
	out := make([]Sample, 0, hi-lo)
	for _, s := range all[lo:hi] {
		out = append(out, Sample{Time: time.Unix(0, s.t).UTC(), Value: s.v})
	}
	return out, nil
}

// put adds a sensor or updates its description and position; its readings
// stay.
func (ss *SensorSet) put(s Sensor) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if e, ok := ss.byID[s.ID]; ok {
		ss.tree.Delete(e.Pos, e.Pos, e)
		ss.perOwner[e.Owner]--
		ss.perOwner[s.Owner]++
		e.Sensor = s
		ss.tree.Insert(s.Pos, s.Pos, e)
		return
	}
	e := &sensorEntry{Sensor: s}
	ss.byID[s.ID] = e
	ss.perOwner[s.Owner]++
	ss.tree.Insert(s.Pos, s.Pos, e)
}

// remove deletes a sensor with its history.
func (ss *SensorSet) remove(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	e, ok := ss.byID[id]
	if !ok {
		return
	}
	ss.tree.Delete(e.Pos, e.Pos, e)
	delete(ss.byID, id)
	ss.perOwner[e.Owner]--
	if ss.perOwner[e.Owner] <= 0 {
		delete(ss.perOwner, e.Owner)
	}
}

// countOwned is the number of owner's sensors.
func (ss *SensorSet) countOwned(owner string) int {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	return ss.perOwner[owner]
}

// owned returns the sensors whose owner keep accepts.
func (ss *SensorSet) owned(keep func(owner string) bool) []Sensor {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	var out []Sensor
	for _, e := range ss.byID {
		if keep(e.Owner) {
			out = append(out, e.Sensor)
		}
	}
	return out
}

// Owned returns the ids of owner's sensors, sorted.
func (ss *SensorSet) Owned(owner string) []string {
	var ids []string
	for _, sn := range ss.owned(func(o string) bool { return o == owner }) {
		ids = append(ids, sn.ID)
	}
	slices.Sort(ids)
	return ids
}

func (ss *SensorSet) lookup(id string) (Sensor, bool) {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	e, ok := ss.byID[id]
	if !ok {
		return Sensor{}, false
	}
	return e.Sensor, true
}

// apply records readings of known sensors and returns the states whose
// latest value changed (one per sensor, the newest). Readings of unknown
// sensors are skipped and counted.
func (ss *SensorSet) apply(rs []Reading, now time.Time) (changed []SensorState, unknown int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var touched []*sensorEntry
	first := ss.seq
	for _, r := range rs {
		e, ok := ss.byID[r.Sensor]
		if !ok {
			unknown++
			continue
		}
		s := sample{t: r.Time.UnixNano(), v: r.Value}
		e.hist.add(s, ss.histLimit)
		if !e.has || s.t >= e.latest.t {
			e.latest, e.has = s, true
			ss.seq++
			if e.seq <= first {
				touched = append(touched, e) // first change in this batch
			}
			e.seq = ss.seq
		}
	}
	for _, e := range touched {
		changed = append(changed, e.state(now))
	}
	return changed, unknown
}

// snapshotEntries copies every sensor with its history, for a checkpoint.
func (ss *SensorSet) snapshotEntries() []sensorCopy {
	ss.mu.RLock()
	defer ss.mu.RUnlock()
	out := make([]sensorCopy, 0, len(ss.byID))
	for _, e := range ss.byID {
		out = append(out, sensorCopy{Sensor: e.Sensor, hist: e.hist.slice()})
	}
	return out
}

type sensorCopy struct {
	Sensor
	hist []sample
}

// turnedStale returns the sensors whose latest value went stale in
// (since, now], each with a fresh sequence number, so that viewers that
// hold its last state hear of the change.
func (ss *SensorSet) turnedStale(since, now time.Time) []SensorState {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	var out []SensorState
	for _, e := range ss.byID {
		if !e.has {
			continue
		}
		at := time.Unix(0, e.latest.t).Add(e.Type.Profile().StaleAfter)
		if at.After(since) && !at.After(now) {
			ss.seq++
			e.seq = ss.seq
			out = append(out, e.state(now))
		}
	}
	return out
}

// fieldErr names the field of a sensor or a pilot that is wrong.
func fieldErr(field string, err error) error { return &twin.FieldError{Field: field, Err: err} }
