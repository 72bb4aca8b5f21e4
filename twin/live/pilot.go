package live

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/wal"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/twpayne/go-geom"
	geomwkb "github.com/twpayne/go-geom/encoding/wkb"
)

// A pilot is a company's overlay in the testbed: a named set of features
// in the pilots layer, created, replaced and withdrawn whole. Pilot names
// are unique across companies; a pilot belongs to the company that first
// put it.

// Errors of pilots, for errors.Is.
var (
	ErrBadPilotName   = errors.New("a pilot name is 1–64 lower-case letters, digits, '_' or '-'")
	ErrNotPilotOwner  = errors.New("the pilot belongs to another company")
	ErrPilotNotFound  = errors.New("no such pilot")
	ErrPilotTooLarge  = errors.New("the pilot is too large")
	ErrPilotsReadOnly = errors.New("pilots are closed for writing")
)

// PilotInfo describes a stored pilot.
type PilotInfo struct {
	ID       string
	Company  string
	Updated  time.Time
	Features int
	Vertices int // in all its features' geometry
	Bound    orb.Bound
}

type pilot struct {
	info     PilotInfo
	features []*twin.Feature
}

// PilotStore is the durable store of every company's pilots, in its own
// append-only log; it keeps the model's pilots layer equal to what the log
// holds. Its methods are safe for concurrent use.
type PilotStore struct {
	model  *twin.Model
	log    Journal
	unlock func()
	clock  func() time.Time

	mu     sync.Mutex // guards pilots; writes are ordered by the log
	pilots map[string]*pilot

	// quota bounds each company's pilots; putMu makes a Put's check of
	// it and its commit one step.
	quota PilotQuota
	putMu sync.Mutex
}

// SetQuota sets the bounds of each company's pilots (checked by Put).
func (p *PilotStore) SetQuota(q PilotQuota) {
	p.putMu.Lock()
	defer p.putMu.Unlock()
	p.quota = q
}

// checkQuota reports whether company may hold pilot id with vertices
// vertices in place of what it holds now.
func (p *PilotStore) checkQuota(company, id string, vertices int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	pilots, total := 0, 0
	for _, pl := range p.pilots {
		if pl.info.Company != company {
			continue
		}
		pilots++
		total += pl.info.Vertices
	}
	_, replacing := p.pilots[id]
	after, afterV := pilots, total+vertices
	if replacing {
		afterV -= p.pilots[id].info.Vertices
	} else {
		after++
	}
	if q := p.quota.Pilots; q > 0 && after > q && after > pilots {
		return &QuotaError{What: "pilots", Limit: q, Have: pilots, Want: after}
	}
	if q := p.quota.Vertices; q > 0 && afterV > q && afterV > total {
		return &QuotaError{What: "vertices", Limit: q, Have: total, Want: afterV}
	}
	return nil
}

// PilotFeatureID is the model id of feature fid of pilot p.
func PilotFeatureID(p, fid string) string { return "pilot:" + p + ":" + fid }

// ValidPilotName reports whether s can name a pilot.
func ValidPilotName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// OpenPilots opens (or creates) the pilots log in dir and puts every
// stored pilot into the model's pilots layer.
func OpenPilots(dir string, model *twin.Model, logger *slog.Logger) (*PilotStore, error) {
	return openPilots(dir, nil, model, logger)
}

// OpenPilotsOn opens the pilots kept in a journal other than the embedded
// log (the shared store of several replicas, see twin/pgstore) and puts
// every stored pilot into the model's pilots layer.
func OpenPilotsOn(open JournalOpener, model *twin.Model, logger *slog.Logger) (*PilotStore, error) {
	return openPilots("", open, model, logger)
}

func openPilots(dir string, open JournalOpener, model *twin.Model, logger *slog.Logger) (*PilotStore, error) {
	if logger == nil {
		logger = slog.Default()
	}
	p := &PilotStore{model: model, clock: time.Now, pilots: map[string]*pilot{}}
	unlock := func() {}
	if open == nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("opening the pilots: %w", err)
		}
		var err error
		if unlock, err = lockDir(dir); err != nil {
			return nil, fmt.Errorf("opening the pilots in %s: %w", dir, err)
		}
		open = func(replay func(wal.Record) error) (Journal, error) {
			return wal.Open(dir, wal.Options{Snapshot: p.snapshot, Logger: logger}, replay)
		}
	}
	replay := func(r wal.Record) error { return p.applyRecord(r, Replay) }
	log, err := open(replay)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("opening the pilots in %s: %w", dir, err)
	}
	p.log, p.unlock = log, unlock
	var all []*twin.Feature
	for _, pl := range p.pilots {
		all = append(all, pl.features...)
	}
	if _, err := model.Apply(twin.Edit{Layer: twin.Pilots, RemoveIf: func(*twin.Feature) bool { return true }, Add: all}); err != nil {
		log.Close()
		unlock()
		return nil, fmt.Errorf("opening the pilots: %w", err)
	}
	if f, ok := log.(Follower); ok {
		f.Follow(p.ApplyCommitted)
	}
	return p, nil
}

// Close stops accepting writes and closes the log.
func (p *PilotStore) Close() error {
	err := p.log.Close()
	p.unlock()
	return err
}

// Owner returns the company of pilot id.
func (p *PilotStore) Owner(id string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl, ok := p.pilots[id]
	if !ok {
		return "", false
	}
	return pl.info.Company, true
}

// List returns every pilot, sorted by name.
func (p *PilotStore) List() []PilotInfo {
	p.mu.Lock()
	out := make([]PilotInfo, 0, len(p.pilots))
	for _, pl := range p.pilots {
		out = append(out, pl.info)
	}
	p.mu.Unlock()
	slices.SortFunc(out, func(a, b PilotInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Put creates or replaces pilot id of company with features (of any layer
// and id: Put gives each the pilots layer, a model id made of the pilot's
// name and its own id, and what the twin gives every company feature,
// twin.CompanyGiven: the source, the properties "pilot" and "company").
// A feature that claims what is the scene's own
// (twin.CheckCompanyFeature: a lineage, status moved) is refused. It
// returns once the pilot is durable and in the model; readers see the old
// pilot or the new one, never a mix. On error nothing changes.
func (p *PilotStore) Put(ctx context.Context, company, id string, features []*twin.Feature) (info PilotInfo, created bool, err error) {
	if !ValidPilotName(id) {
		return PilotInfo{}, false, fmt.Errorf("%w: %q", ErrBadPilotName, id)
	}
	if owner, ok := p.Owner(id); ok && owner != company {
		return PilotInfo{}, false, fmt.Errorf("%w: %s", ErrNotPilotOwner, id)
	}
	fs := make([]*twin.Feature, len(features))
	seen := make(map[string]int, len(features))
	for i, f := range features {
		c := *f
		c.Layer = twin.Pilots
		if c.ID == "" {
			c.ID = fmt.Sprint(i)
		}
		if j, dup := seen[c.ID]; dup {
			return PilotInfo{}, false, &twin.IndexError{Index: i, Err: fieldErr("id", fmt.Errorf("%w %q (also feature %d)", twin.ErrDuplicateID, c.ID, j))}
		}
		seen[c.ID] = i
		if err := twin.CheckCompanyFeature(&c); err != nil {
			return PilotInfo{}, false, &twin.IndexError{Index: i, Err: err}
		}
		c.ID = PilotFeatureID(id, c.ID)
		props := make(map[string]any, len(f.Props)+2)
		for k, v := range f.Props {
			switch v.(type) {
			case string, float64, bool:
				props[k] = v
			case nil:
			default:
				props[k] = fmt.Sprint(v)
			}
		}
		c.Props = props
		twin.CompanyGiven(&c, company, id)
		fs[i] = &c
	}
	if err := twin.Prepare(fs); err != nil {
		return PilotInfo{}, false, err
	}
	info = PilotInfo{ID: id, Company: company, Updated: p.clock().UTC().Truncate(time.Millisecond), Features: len(fs)}
	for i, f := range fs {
		info.Vertices += twin.VertexCount(f.Geometry)
		if i == 0 {
			info.Bound = f.Bound()
		} else {
			info.Bound = info.Bound.Union(f.Bound())
		}
	}
	pl := &pilot{info: info, features: fs}
	data, err := encodePilot(pl)
	if err != nil {
		return PilotInfo{}, false, err
	}
	if len(data) > wal.MaxRecord {
		return PilotInfo{}, false, fmt.Errorf("%w: %d bytes stored, at most %d", ErrPilotTooLarge, len(data), wal.MaxRecord)
	}
	p.putMu.Lock()
	defer p.putMu.Unlock()
	if err := p.checkQuota(company, id, info.Vertices); err != nil {
		return PilotInfo{}, false, err
	}
	if old, same := p.unchanged(company, id, fs); same {
		// Sent again as it is: nothing to write, no tile to drop, no
		// viewer to tell.
		return old, false, nil
	}
	var applyErr error
	err = p.log.Commit(ctx, []wal.Record{{Kind: RecPilotPut, Data: data}}, func() {
		// Runs in log order: a concurrent Put of the same name by another
		// company that won the race is caught here.
		p.mu.Lock()
		defer p.mu.Unlock()
		old, existed := p.pilots[id]
		if existed && old.info.Company != company {
			applyErr = fmt.Errorf("%w: %s", ErrNotPilotOwner, id)
			return
		}
		created = !existed
		if _, err := p.model.Apply(twin.Edit{Layer: twin.Pilots, RemoveIf: isPilot(id), Add: fs}); err != nil {
			applyErr = err
			return
		}
		p.pilots[id] = pl
	})
	if err != nil {
		return PilotInfo{}, false, err
	}
	if applyErr != nil {
		// The record is in the log but was not applied; replay skips it the
		// same way, since replay keeps the first owner too.
		return PilotInfo{}, false, applyErr
	}
	return info, created, nil
}

func isPilot(id string) func(*twin.Feature) bool {
	prefix := PilotFeatureID(id, "")
	return func(f *twin.Feature) bool { return strings.HasPrefix(f.ID, prefix) }
}

// Delete withdraws pilot id of company, durably.
func (p *PilotStore) Delete(ctx context.Context, company, id string) error {
	owner, ok := p.Owner(id)
	if !ok {
		return fmt.Errorf("%w: %s", ErrPilotNotFound, id)
	}
	if owner != company {
		return fmt.Errorf("%w: %s", ErrNotPilotOwner, id)
	}
	var applyErr error
	err := p.log.Commit(ctx, []wal.Record{{Kind: RecPilotDelete, Data: []byte(id)}}, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, ok := p.pilots[id]; !ok {
			applyErr = fmt.Errorf("%w: %s", ErrPilotNotFound, id)
			return
		}
		if _, err := p.model.Apply(twin.Edit{Layer: twin.Pilots, RemoveIf: isPilot(id)}); err != nil {
			applyErr = err
			return
		}
		delete(p.pilots, id)
	})
	if err != nil {
		return err
	}
	return applyErr
}

// snapshot writes every pilot as a put record, for a checkpoint.
func (p *PilotStore) snapshot() func(emit func(wal.Record) error) error {
	p.mu.Lock()
	pls := make([]*pilot, 0, len(p.pilots))
	for _, pl := range p.pilots {
		pls = append(pls, pl)
	}
	p.mu.Unlock()
	return func(emit func(wal.Record) error) error {
		for _, pl := range pls {
			data, err := encodePilot(pl)
			if err != nil {
				return err
			}
			if err := emit(wal.Record{Kind: RecPilotPut, Data: data}); err != nil {
				return err
			}
		}
		return nil
	}
}

// The stored form of a pilot: gob, with geometry as WKB (2D, orb) and
// EWKB-free WKB (3D, go-geom).
type pilotRecord struct {
	ID, Company string
	Updated     time.Time
	Features    []featureRecord
}

type featureRecord struct {
	ID, Kind, Name               string
	Geometry, Solid              []byte
	Height, Base                 float64
	From, To                     time.Time
	Status, Lineage, Source, Con string
	Props                        map[string]any
	Surfaces                     []twin.SurfaceType // one per polygon of Solid
}

func encodePilot(pl *pilot) ([]byte, error) {
	r := pilotRecord{ID: pl.info.ID, Company: pl.info.Company, Updated: pl.info.Updated, Features: make([]featureRecord, len(pl.features))}
	for i, f := range pl.features {
		g, err := wkb.Marshal(f.Geometry)
		if err != nil {
			return nil, fmt.Errorf("storing feature %s: %w", f.ID, err)
		}
		fr := featureRecord{ID: f.ID, Kind: f.Kind, Name: f.Name, Geometry: g, Height: f.Height, Base: f.Base,
			From: f.Life.From, To: f.Life.To, Status: string(f.Status), Lineage: f.Lineage, Source: f.Source,
			Con: string(f.Confidence), Props: f.Props, Surfaces: f.Surfaces}
		if f.Solid != nil {
			if fr.Solid, err = geomwkb.Marshal(f.Solid, geomwkb.NDR); err != nil {
				return nil, fmt.Errorf("storing the 3D geometry of %s: %w", f.ID, err)
			}
		}
		r.Features[i] = fr
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodePilot(data []byte) (*pilot, error) {
	var r pilotRecord
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&r); err != nil {
		return nil, fmt.Errorf("a stored pilot: %w", err)
	}
	pl := &pilot{info: PilotInfo{ID: r.ID, Company: r.Company, Updated: r.Updated, Features: len(r.Features)}}
	for i, fr := range r.Features {
		g, err := wkb.Unmarshal(fr.Geometry)
		if err != nil {
			return nil, fmt.Errorf("stored pilot %s, feature %s: %w", r.ID, fr.ID, err)
		}
		pl.info.Vertices += twin.VertexCount(g)
		f := &twin.Feature{ID: fr.ID, Layer: twin.Pilots, Kind: fr.Kind, Name: fr.Name, Geometry: g, Height: fr.Height, Base: fr.Base,
			Life: twin.Lifespan{From: fr.From, To: fr.To}, Status: twin.Status(fr.Status), Lineage: fr.Lineage, Source: fr.Source,
			Confidence: twin.Confidence(fr.Con), Props: fr.Props, Surfaces: fr.Surfaces}
		if len(fr.Solid) > 0 {
			var s geom.T
			if s, err = geomwkb.Unmarshal(fr.Solid); err != nil {
				return nil, fmt.Errorf("stored pilot %s, feature %s: %w", r.ID, fr.ID, err)
			}
			f.Solid = s
		}
		b := g.Bound()
		if i == 0 {
			pl.info.Bound = b
		} else {
			pl.info.Bound = pl.info.Bound.Union(b)
		}
		pl.features = append(pl.features, f)
	}
	return pl, nil
}

// unchanged reports whether company's pilot id holds exactly the features
// fs already, and returns its info then.
func (p *PilotStore) unchanged(company, id string, fs []*twin.Feature) (PilotInfo, bool) {
	p.mu.Lock()
	old, ok := p.pilots[id]
	p.mu.Unlock()
	if !ok || old.info.Company != company || len(old.features) != len(fs) {
		return PilotInfo{}, false
	}
	byID := make(map[string]*twin.Feature, len(old.features))
	for _, f := range old.features {
		byID[f.ID] = f
	}
	for _, f := range fs {
		o := byID[f.ID]
		if o == nil {
			return PilotInfo{}, false
		}
		c := *f
		if o.Props[twin.PropFromDefault] == true && c.Props[twin.PropFromDefault] == true {
			c.Life.From = o.Life.From // both undated: they began at the first upload
			if err := twin.Prepare([]*twin.Feature{&c}); err != nil {
				return PilotInfo{}, false
			}
		}
		if !reflect.DeepEqual(o, &c) {
			return PilotInfo{}, false
		}
	}
	return old.info, true
}
