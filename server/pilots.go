package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes/upload"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// maxPilotBody bounds one pilot upload.
const maxPilotBody = 32 << 20

// sceneMargin is how far (in degrees) a pilot may reach past the scene's
// bounds: a pipe may run out of town, a pilot in another county is a
// mistake.
const sceneMargin = 0.2

func (s *Server) pilotRoutes() {
	s.mux.HandleFunc("GET /api/pilots", s.withPilots(s.handleListPilots))
	s.mux.HandleFunc("GET /api/pilots/{pilot}", s.withPilots(s.handleGetPilot))
	s.mux.HandleFunc("PUT /api/pilots/{pilot}", s.withPilots(s.handlePutPilot))
	s.mux.HandleFunc("DELETE /api/pilots/{pilot}", s.withPilots(s.handleDeletePilot))
}

// SetPilots publishes the opened pilot store; until then /api/pilots
// answers 503.
func (s *Server) SetPilots(p *live.PilotStore) { s.pilots.Store(p) }

func (s *Server) withPilots(h func(http.ResponseWriter, *http.Request, *live.PilotStore)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := s.pilots.Load()
		if p == nil {
			w.Header().Set("Retry-After", "2")
			writeError(w, http.StatusServiceUnavailable, "the pilots are still loading")
			return
		}
		h(w, r, p)
	}
}

type pilotJSON struct {
	ID       string     `json:"id"`
	Company  string     `json:"company"`
	Updated  time.Time  `json:"updated"`
	Features int        `json:"features"`
	BBox     [4]float64 `json:"bbox"`
	Sensors  []string   `json:"sensors,omitempty"`
}

func toPilotJSON(p live.PilotInfo) pilotJSON {
	b := p.Bound
	return pilotJSON{ID: p.ID, Company: p.Company, Updated: p.Updated, Features: p.Features,
		BBox: [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}}
}

func (s *Server) handleListPilots(w http.ResponseWriter, r *http.Request, ps *live.PilotStore) {
	list := ps.List()
	out := make([]pilotJSON, len(list))
	for i, p := range list {
		out[i] = toPilotJSON(p)
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{"pilots": out})
}

// handleGetPilot answers the pilot's features as a GeoJSON
// FeatureCollection, with the pilot's metadata in a "pilot" member.
func (s *Server) handleGetPilot(w http.ResponseWriter, r *http.Request, ps *live.PilotStore) {
	id := r.PathValue("pilot")
	var info *live.PilotInfo
	for _, p := range ps.List() {
		if p.ID == id {
			info = &p
			break
		}
	}
	if info == nil {
		writeError(w, http.StatusNotFound, "no pilot %q", id)
		return
	}
	fc := geojson.NewFeatureCollection()
	prefix := live.PilotFeatureID(id, "")
	for _, f := range s.cfg.Model.Snapshot().Features(twin.Pilots) {
		if !strings.HasPrefix(f.ID, prefix) {
			continue
		}
		gf := geojson.NewFeature(f.Geometry)
		gf.ID = f.ID
		gf.Properties = f.Properties(twin.RFC3339Time)
		fc.Append(gf)
	}
	fc.ExtraMembers = geojson.Properties{"pilot": toPilotJSON(*info)}
	w.Header().Set("Content-Type", "application/geo+json")
	w.Header().Set("Cache-Control", "no-cache")
	writeJSONAs(w, http.StatusOK, fc)
}

func (s *Server) handlePutPilot(w http.ResponseWriter, r *http.Request, ps *live.PilotStore) {
	tenant, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	id := r.PathValue("pilot")
	if !live.ValidPilotName(id) {
		writeError(w, http.StatusBadRequest, "pilot name %q: %v", id, live.ErrBadPilotName)
		return
	}
	if owner, ok := ps.Owner(id); ok && owner != tenant.Name {
		writeError(w, http.StatusForbidden, "pilot %q belongs to another company", id)
		return
	}
	release, ok := s.uploadRoom(w, r)
	if !ok {
		return
	}
	defer release()
	data, ok := readBody(w, r, maxPilotBody)
	if !ok {
		return
	}
	opts := upload.Options{Now: s.cfg.Clock(), Area: s.sceneArea()}
	features, err := upload.Decode(data, r.Header.Get("Content-Type"), opts)
	switch {
	case errors.Is(err, upload.ErrMediaType):
		writeError(w, http.StatusUnsupportedMediaType, "%v", err)
		return
	case errors.Is(err, upload.ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "%v", err)
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}

	// Sensor points of the pilot become the company's sensors; check them
	// all before anything is written.
	store := s.live.store.Load()
	sensors, err := pilotSensors(tenant.Name, id, features)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if store == nil {
		if len(sensors) > 0 {
			w.Header().Set("Retry-After", "2")
			writeError(w, http.StatusServiceUnavailable, "the live state is still loading; the pilot's sensors cannot be registered yet")
			return
		}
		info, created, err := ps.Put(r.Context(), tenant.Name, id, features)
		s.pilotPut(w, r, id, info, created, err)
		return
	}
	for i, sn := range sensors {
		if st, ok := store.Sensors().Get(sn.ID); ok && st.Owner != tenant.Name {
			writeError(w, http.StatusConflict, "sensor %d of the pilot: id %q is taken by another owner", i, sn.ID)
			return
		}
	}
	// The sensors of the pilot as it is now that the new one drops.
	dropped := droppedSensors(store, tenant.Name, id, sensors)
	if max := store.MaxSensorsPerOwner(); max > 0 {
		have := len(store.Sensors().Owned(tenant.Name))
		added := 0
		for _, sn := range sensors {
			if _, ok := store.Sensors().Get(sn.ID); !ok {
				added++
			}
		}
		if want := have - len(dropped) + added; want > max && added > 0 {
			writeQuotaError(w, &live.QuotaError{What: "sensors", Limit: max, Have: have, Want: want})
			return
		}
	}

	info, created, err := ps.Put(r.Context(), tenant.Name, id, features)
	if err != nil {
		s.pilotPut(w, r, id, info, created, err)
		return
	}
	body := toPilotJSON(info)
	for _, sid := range dropped {
		if err := store.Delete(r.Context(), tenant.Name, sid); err != nil && !errors.Is(err, live.ErrUnknownSensor) {
			s.cfg.Logger.Error("a sensor the pilot dropped could not be deleted", "pilot", id, "sensor", sid, "err", err)
			writeError(w, http.StatusServiceUnavailable, "the pilot is stored, but its dropped sensor %q could not be deleted: %v; send the pilot again", sid, err)
			return
		}
	}
	for _, sn := range sensors {
		if _, _, err := store.Register(r.Context(), tenant.Name, sn); err != nil {
			s.cfg.Logger.Error("a pilot's sensor could not be registered", "pilot", id, "sensor", sn.ID, "err", err)
			writeError(w, http.StatusServiceUnavailable, "the pilot is stored, but its sensor %q could not be registered: %v; send the pilot again", sn.ID, err)
			return
		}
		body.Sensors = append(body.Sensors, sn.ID)
	}
	answerPut(w, id, created, body)
}

// pilotPut answers a Put of pilot id: its error, or the pilot.
func (s *Server) pilotPut(w http.ResponseWriter, r *http.Request, id string, info live.PilotInfo, created bool, err error) {
	switch {
	case errors.Is(err, live.ErrNotPilotOwner):
		writeError(w, http.StatusForbidden, "pilot %q belongs to another company", id)
	case errors.Is(err, live.ErrPilotTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "%v", err)
	case errors.Is(err, live.ErrQuota):
		writeQuotaError(w, err)
	case isInputError(err):
		writeError(w, http.StatusBadRequest, "%v", err)
	case err != nil:
		s.storeError(w, r, err)
	default:
		answerPut(w, id, created, toPilotJSON(info))
	}
}

func answerPut(w http.ResponseWriter, id string, created bool, body pilotJSON) {
	code := http.StatusOK
	if created {
		code = http.StatusCreated
		w.Header().Set("Location", "/api/pilots/"+id)
	}
	writeJSON(w, code, body)
}

// uploadRoom waits for room to read and decode r's body among the
// uploads in flight (Config.UploadMemory): a body costs its length, or
// the largest allowed when its length is not given, since decoding holds
// the body and what it becomes in memory. Without room within
// Config.UploadWait it answers 503 with Retry-After; a body announced
// over the limit is 413 at once. The caller calls release when done.
func (s *Server) uploadRoom(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	if r.ContentLength > maxPilotBody {
		writeError(w, http.StatusRequestEntityTooLarge, "the upload is larger than %d MiB", maxPilotBody>>20)
		return nil, false
	}
	n := int64(maxPilotBody)
	if r.ContentLength >= 0 {
		n = r.ContentLength
	}
	n = max(1, min(n, s.cfg.UploadMemory))
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.UploadWait)
	defer cancel()
	if err := s.uploads.Acquire(ctx, n); err != nil {
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "too many uploads are being read at once (%d MiB in all); try again in a few seconds", s.cfg.UploadMemory>>20)
		return nil, false
	}
	return func() { s.uploads.Release(n) }, true
}

// isInputError tells errors about the upload (400) from failures of the
// store (503).
func isInputError(err error) bool {
	var ie *twin.IndexError
	var fe *twin.FieldError
	return errors.As(err, &ie) || errors.As(err, &fe) || errors.Is(err, live.ErrBadPilotName)
}

// droppedSensors returns the company's sensors of pilot (ids
// COMPANY:PILOT.…) that are not among keep, sorted.
func droppedSensors(store *live.Store, company, pilot string, keep []live.Sensor) []string {
	prefix := live.PilotSensorID(company, pilot, "")
	kept := make(map[string]bool, len(keep))
	for _, sn := range keep {
		kept[sn.ID] = true
	}
	var out []string
	for _, sid := range store.Sensors().Owned(company) {
		if strings.HasPrefix(sid, prefix) && !kept[sid] {
			out = append(out, sid)
		}
	}
	return out
}

// pilotSensors picks the pilot's point features marked as sensors
// ("sensor": true, with "type" and "unit") and makes them sensors named
// COMPANY:PILOT.ID.
func pilotSensors(company, pilot string, fs []*twin.Feature) ([]live.Sensor, error) {
	var out []live.Sensor
	for i, f := range fs {
		if f.Props["sensor"] != true {
			continue
		}
		p, ok := f.Geometry.(orb.Point)
		if !ok {
			return nil, fmt.Errorf("features[%d].geometry: a sensor is a Point, got %s", i, f.Geometry.GeoJSONType())
		}
		sn := live.Sensor{ID: live.PilotSensorID(company, pilot, f.ID), Type: live.SensorType(f.Prop("type")), Unit: f.Prop("unit"), Name: f.Name, Pos: p}
		if err := sn.Normalize(); err != nil {
			return nil, fmt.Errorf("features[%d] (a sensor): %w", i, err)
		}
		out = append(out, sn)
	}
	return out, nil
}

func (s *Server) handleDeletePilot(w http.ResponseWriter, r *http.Request, ps *live.PilotStore) {
	tenant, ok := s.authenticate(w, r)
	if !ok {
		return
	}
	id := r.PathValue("pilot")
	// Its sensors go first: should the pilot's withdrawal then fail, a
	// retry finds the pilot still there and withdraws it.
	if owner, ok := ps.Owner(id); ok && owner == tenant.Name {
		if store := s.live.store.Load(); store != nil {
			for _, sid := range droppedSensors(store, tenant.Name, id, nil) {
				if err := store.Delete(r.Context(), tenant.Name, sid); err != nil && !errors.Is(err, live.ErrUnknownSensor) {
					s.storeError(w, r, err)
					return
				}
			}
		}
	}
	err := ps.Delete(r.Context(), tenant.Name, id)
	switch {
	case errors.Is(err, live.ErrPilotNotFound):
		writeError(w, http.StatusNotFound, "no pilot %q", id)
	case errors.Is(err, live.ErrNotPilotOwner):
		writeError(w, http.StatusForbidden, "pilot %q belongs to another company", id)
	case err != nil:
		s.storeError(w, r, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}
