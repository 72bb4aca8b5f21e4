package server

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/kiruna-twin/kiruna-twin/twin/wal"
	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"
)

// Limits of the live API.
const (
	maxLiveBody   = 1 << 20 // bytes of a POST body
	maxBatch      = 5000    // readings in one POST /api/readings
	maxHistoryOut = 10000   // samples in one answer
)

// liveState is the server's part of the live twin: the hub and the store,
// which arrives once the scene is loaded.
type liveState struct {
	hub      *Hub
	upgrader websocket.Upgrader
	store    atomic.Pointer[live.Store]
	commit   prometheus.Histogram
	records  prometheus.Histogram
	rejected *prometheus.CounterVec
}

func newLiveState(s *Server) *liveState {
	reg := s.cfg.Registry
	l := &liveState{hub: NewHub(s.cfg.Hub, reg, s.cfg.Logger)}
	l.upgrader = newUpgrader(l.hub.opts, l.hub.m)
	l.commit = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kiruna_store_commit_seconds",
		Help: "Time of one group commit of the live log (write and fsync).", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14)})
	l.records = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kiruna_store_commit_records",
		Help: "Records (batches of readings, registrations) written by one group commit.", Buckets: prometheus.ExponentialBuckets(1, 2, 12)})
	l.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiruna_ingest_rejected_total",
		Help: "Batches of readings rejected, by status code."}, []string{"code"})
	ingested := func(readings bool) func() float64 {
		return func() float64 {
			st := l.store.Load()
			if st == nil {
				return 0
			}
			b, r := st.Ingested()
			if readings {
				return float64(r)
			}
			return float64(b)
		}
	}
	reg.MustRegister(l.commit, l.records, l.rejected,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kiruna_ingest_readings_total", Help: "Readings made durable (HTTP and simulator)."}, ingested(true)),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kiruna_ingest_batches_total", Help: "Batches of readings made durable."}, ingested(false)))
	s.cfg.Model.Subscribe(func(c twin.Change) {
		if len(c.Bounds) == 0 {
			return
		}
		b := c.Bounds[0]
		for _, o := range c.Bounds[1:] {
			b = b.Union(o)
		}
		l.hub.Invalidate(b)
	})
	return l
}

func (s *Server) liveRoutes() {
	s.mux.HandleFunc("GET /ws", s.handleWS)
	s.mux.HandleFunc("GET /api/sensors", s.withStore(s.handleListSensors))
	s.mux.HandleFunc("GET /api/sensors/{id}", s.withStore(s.handleGetSensor))
	s.mux.HandleFunc("GET /api/sensors/{id}/readings", s.withStore(s.handleReadings))
	s.mux.HandleFunc("POST /api/sensors", s.withStore(s.handleRegister))
	s.mux.HandleFunc("DELETE /api/sensors/{id}", s.withStore(s.handleDeleteSensor))
	s.mux.HandleFunc("POST /api/readings", s.withStore(s.handleIngest))
}

// SetLive publishes the live state once it is open: the sensor routes
// answer 503 until then. The hub follows the store's changes.
func (s *Server) SetLive(st *live.Store) {
	s.live.store.Store(st)
	s.live.hub.SetSensors(st.Sensors())
	st.Listen(s.live.hub.OnStates)
	st.ObserveCommits(func(c wal.CommitInfo) {
		s.live.commit.Observe(c.Duration.Seconds())
		s.live.records.Observe(float64(c.Records))
	})
}

// Hub is the server's WebSocket hub.
func (s *Server) Hub() *Hub { return s.live.hub }

// Close stops the hub and disconnects WebSocket clients (which
// http.Server.Shutdown does not track).
func (s *Server) Close() { s.live.hub.Close() }

func (s *Server) withStore(h func(http.ResponseWriter, *http.Request, *live.Store)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		st := s.live.store.Load()
		if st == nil {
			w.Header().Set("Retry-After", "2")
			writeError(w, http.StatusServiceUnavailable, "the live state is still loading")
			return
		}
		h(w, r, st)
	}
}

// sensorJSON is a sensor with its latest state, as the REST API shows it:
// appendSensor's full form.
type sensorJSON struct{ st live.SensorState }

func (j sensorJSON) MarshalJSON() ([]byte, error) { return appendSensor(nil, j.st, sensorFull), nil }

func toSensorJSON(st live.SensorState) sensorJSON { return sensorJSON{st} }

func (s *Server) handleListSensors(w http.ResponseWriter, r *http.Request, st *live.Store) {
	q := r.URL.Query()
	boxes, inBox := bbox{{}}, false // the zero bound searches every sensor
	if q.Has("bbox") {
		var err error
		if boxes, err = parseBBox(q.Get("bbox")); err != nil {
			writeError(w, http.StatusBadRequest, "bbox: %v", err)
			return
		}
		inBox = true // a box 0,0,0,0 is the zero bound too
	}
	typ := q.Get("type")
	out := []sensorJSON{}
	seen := map[string]bool{} // a sensor on the antimeridian is in both boxes
	for _, b := range boxes {
		states, _ := st.Sensors().Search(b)
		for _, x := range states {
			if (typ == "" || string(x.Type) == typ) && (!inBox || b.Contains(x.Pos)) && !seen[x.ID] {
				seen[x.ID] = true
				out = append(out, toSensorJSON(x))
			}
		}
	}
	slices.SortFunc(out, func(a, b sensorJSON) int { return cmp.Compare(a.st.ID, b.st.ID) })
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{"sensors": out})
}

func (s *Server) handleGetSensor(w http.ResponseWriter, r *http.Request, st *live.Store) {
	x, ok := st.Sensors().Get(r.PathValue("id"))
	if !ok {
		writeError(w, http.StatusNotFound, "no sensor %q", r.PathValue("id"))
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, toSensorJSON(x))
}

func (s *Server) handleReadings(w http.ResponseWriter, r *http.Request, st *live.Store) {
	id := r.PathValue("id")
	x, ok := st.Sensors().Get(id)
	if !ok {
		writeError(w, http.StatusNotFound, "no sensor %q", id)
		return
	}
	q := r.URL.Query()
	var from, to time.Time
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			t, err := parseTimeParam(v)
			if err != nil {
				writeError(w, http.StatusBadRequest, "%s: %v", p.name, err)
				return
			}
			*p.t = t
		}
	}
	limit := maxHistoryOut
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxHistoryOut {
			writeError(w, http.StatusBadRequest, "limit: want 1…%d, got %q", maxHistoryOut, v)
			return
		}
		limit = n
	}
	samples, err := st.Sensors().History(id, from, to, limit)
	if err != nil {
		writeError(w, http.StatusNotFound, "%v", err)
		return
	}
	type reading struct {
		Time  time.Time `json:"time"`
		Value float64   `json:"value"`
	}
	out := make([]reading, len(samples))
	for i, sm := range samples {
		out[i] = reading{sm.Time, sm.Value}
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{"sensor": id, "type": x.Type, "unit": x.Unit, "readings": out})
}

// parseTimeParam reads RFC 3339 or the scene's forms (a year, a day…).
func parseTimeParam(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return twin.ParseInstant(v)
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request, st *live.Store) {
	tenant, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	data, ok := readBody(w, r, maxLiveBody)
	if !ok {
		return
	}
	sn, err := decodeSensorBody(data)
	if err == nil {
		err = s.inSceneArea(sn.Pos)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	state, created, err := st.Register(r.Context(), tenant.Name, sn)
	var fe *twin.FieldError
	switch {
	case errors.Is(err, live.ErrSensorTaken):
		writeError(w, http.StatusConflict, "sensor id %q is taken by another owner; choose another id", sn.ID)
		return
	case errors.Is(err, live.ErrNamespace):
		writeError(w, http.StatusForbidden, "%v", err)
		return
	case errors.Is(err, live.ErrQuota):
		writeQuotaError(w, err)
		return
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	case err != nil:
		s.storeError(w, r, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
		w.Header().Set("Location", "/api/sensors/"+sn.ID)
	}
	writeJSON(w, code, toSensorJSON(state))
}

func (s *Server) handleDeleteSensor(w http.ResponseWriter, r *http.Request, st *live.Store) {
	tenant, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	err := st.Delete(r.Context(), tenant.Name, id)
	switch {
	case errors.Is(err, live.ErrUnknownSensor):
		writeError(w, http.StatusNotFound, "no sensor %q", id)
	case errors.Is(err, live.ErrNotOwner):
		writeError(w, http.StatusForbidden, "sensor %q is not yours to delete", id)
	case err != nil:
		s.storeError(w, r, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// writeQuotaError answers a write that would take a company over a quota:
// 413 for the vertices of its pilots (the upload is too large), 429 for
// the number of its sensors or pilots (delete some first).
func writeQuotaError(w http.ResponseWriter, err error) {
	var qe *live.QuotaError
	if errors.As(err, &qe) && qe.What == "vertices" {
		writeError(w, http.StatusRequestEntityTooLarge, "%v", err)
		return
	}
	writeError(w, http.StatusTooManyRequests, "%v; delete some first", err)
}

// sceneArea is where companies may put pilots and sensors: the scene's
// bounds and sceneMargin around them (nothing before the scene is loaded).
func (s *Server) sceneArea() orb.Bound {
	sc := s.scene.Load()
	if sc == nil {
		return orb.Bound{}
	}
	b := sc.Bounds
	return orb.Bound{Min: orb.Point{b[0] - sceneMargin, b[1] - sceneMargin}, Max: orb.Point{b[2] + sceneMargin, b[3] + sceneMargin}}
}

// inSceneArea refuses a company's sensor outside sceneArea.
func (s *Server) inSceneArea(p orb.Point) error {
	a := s.sceneArea()
	if a.IsZero() || a.Contains(p) {
		return nil
	}
	field := "lon"
	if p[0] >= a.Min[0] && p[0] <= a.Max[0] {
		field = "lat"
	}
	return &twin.FieldError{Field: field, Err: fmt.Errorf("%w: [%v, %v] is outside the scene (%.4f, %.4f to %.4f, %.4f)",
		twin.ErrOutOfRange, p[0], p[1], a.Min[0], a.Min[1], a.Max[0], a.Max[1])}
}

// decodeSensorBody reads {"id","type","unit","lon","lat","name"}.
func decodeSensorBody(data []byte) (live.Sensor, error) {
	var b struct {
		ID   string   `json:"id"`
		Type string   `json:"type"`
		Unit string   `json:"unit"`
		Lon  *float64 `json:"lon"`
		Lat  *float64 `json:"lat"`
		Name string   `json:"name"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return live.Sensor{}, fmt.Errorf("body: %s", jsonProblem(err))
	}
	if dec.More() {
		return live.Sensor{}, errors.New("body: one JSON object, please")
	}
	if err := noDuplicateNames(data); err != nil {
		return live.Sensor{}, err
	}
	if b.Lon == nil {
		return live.Sensor{}, errors.New("lon: missing")
	}
	if b.Lat == nil {
		return live.Sensor{}, errors.New("lat: missing")
	}
	return live.Sensor{ID: b.ID, Type: live.SensorType(b.Type), Unit: b.Unit, Name: b.Name, Pos: orb.Point{*b.Lon, *b.Lat}}, nil
}

func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request, st *live.Store) {
	tenant, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	if !requireJSON(w, r) {
		s.live.rejected.WithLabelValues("415").Inc()
		return
	}
	data, ok := readBody(w, r, maxLiveBody)
	if !ok {
		s.live.rejected.WithLabelValues("413").Inc()
		return
	}
	rs, err := decodeReadingsBody(data)
	if errors.Is(err, errBatchTooLarge) {
		s.live.rejected.WithLabelValues("413").Inc()
		writeError(w, http.StatusRequestEntityTooLarge, "%v", err)
		return
	}
	if err != nil {
		s.live.rejected.WithLabelValues("400").Inc()
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	err = st.Ingest(r.Context(), tenant.Name, rs)
	var re *live.ReadingError
	switch {
	case err == nil:
		writeJSON(w, http.StatusAccepted, map[string]int{"accepted": len(rs)})
	case errors.Is(err, live.ErrNotOwner):
		s.live.rejected.WithLabelValues("403").Inc()
		writeError(w, http.StatusForbidden, "%v", err)
	case errors.As(err, &re):
		s.live.rejected.WithLabelValues("400").Inc()
		writeError(w, http.StatusBadRequest, "%v", err)
	default:
		s.storeError(w, r, err)
	}
}

func (s *Server) storeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return // the client went away; what it sent may or may not be stored
	}
	s.cfg.Logger.Error("a live write failed", "path", r.URL.Path, "err", err)
	if errors.Is(err, wal.ErrFailed) {
		// The disk failed a write: nothing more is acknowledged until an
		// operator has looked and restarted (/readyz says so too).
		writeError(w, http.StatusServiceUnavailable, "the log failed to write; writes are refused until restart, nothing was acknowledged")
		return
	}
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, "the write could not be made durable; nothing was acknowledged, try again later")
}

var errBatchTooLarge = fmt.Errorf("a batch holds at most %d readings; split it", maxBatch)

// decodeReadingsBody reads {"readings":[{"sensor":ID,"time":RFC3339,"value":N}]}.
// Errors name the reading and the field, e.g. readings[3].value.
func decodeReadingsBody(data []byte) ([]live.Reading, error) {
	var body struct {
		Readings *[]json.RawMessage `json:"readings"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("body: %s", jsonProblem(err))
	}
	if dec.More() {
		return nil, errors.New("body: one JSON object, please")
	}
	if err := noDuplicateNames(data); err != nil {
		return nil, err
	}
	if body.Readings == nil {
		return nil, errors.New(`readings: missing (send {"readings":[{"sensor":…,"time":…,"value":…}]})`)
	}
	raws := *body.Readings
	if len(raws) == 0 {
		return nil, errors.New("readings: empty")
	}
	if len(raws) > maxBatch {
		return nil, errBatchTooLarge
	}
	out := make([]live.Reading, len(raws))
	for i, raw := range raws {
		var f struct {
			Sensor json.RawMessage `json:"sensor"`
			Time   json.RawMessage `json:"time"`
			Value  json.RawMessage `json:"value"`
		}
		d := json.NewDecoder(bytes.NewReader(raw))
		d.DisallowUnknownFields()
		if err := d.Decode(&f); err != nil {
			return nil, fmt.Errorf("readings[%d]: %s", i, jsonProblem(err))
		}
		bad := func(field, format string, args ...any) error {
			return &live.ReadingError{Index: i, Field: field, Err: fmt.Errorf(format, args...)}
		}
		if len(f.Sensor) == 0 || f.Sensor[0] != '"' {
			return nil, bad("sensor", "want the sensor's id as a string")
		}
		if err := json.Unmarshal(f.Sensor, &out[i].Sensor); err != nil {
			return nil, bad("sensor", "want the sensor's id as a string")
		}
		var ts string
		if len(f.Time) == 0 || f.Time[0] != '"' || json.Unmarshal(f.Time, &ts) != nil {
			return nil, bad("time", `want an RFC 3339 time as a string, e.g. "2025-08-20T01:30:00Z"`)
		}
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, bad("time", "%q is not an RFC 3339 time (e.g. 2025-08-20T01:30:00Z)", ts)
		}
		out[i].Time = t
		if len(f.Value) == 0 || !(f.Value[0] == '-' || f.Value[0] >= '0' && f.Value[0] <= '9') {
			return nil, bad("value", "want a number")
		}
		v, err := strconv.ParseFloat(string(f.Value), 64)
		if err != nil {
			return nil, bad("value", "%s is not a finite number", f.Value)
		}
		out[i].Value = v
	}
	return out, nil
}
