// Package scenes reads scene bundles — a scene.json and one GeoJSON file per
// layer — into twin features, and holds the importers for outside formats.
package scenes

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"time"

	"github.com/kiruna-twin/kiruna-twin/terrain"
	"github.com/kiruna-twin/kiruna-twin/twin"
)

// Scene is the metadata of a scene bundle, as read from its scene.json.
type Scene struct {
	ID     string            `json:"id"`
	Title  string            `json:"title"`
	Titles map[string]string `json:"titles,omitempty"` // per language, e.g. {"sv": …, "en": …}
	// Bounds is [west, south, east, north] in degrees.
	Bounds [4]float64 `json:"bounds"`
	// Center is [lon, lat]; Zoom, Pitch and Bearing the opening camera.
	Center  [2]float64 `json:"center"`
	Zoom    float64    `json:"zoom"`
	Pitch   float64    `json:"pitch,omitempty"`
	Bearing float64    `json:"bearing,omitempty"`
	// Frame is [west, south, east, north]: what the opening camera must
	// show, whatever the screen's shape (see View.Frame).
	Frame    *[4]float64 `json:"frame,omitempty"`
	Timeline Timeline    `json:"timeline"`
	// Timezone is the IANA name of the place's local time (e.g.
	// "Europe/Stockholm"), for daily rhythms such as the simulator's.
	Timezone string      `json:"timezone,omitempty"`
	Layers   []LayerInfo `json:"layers"`
	Views    []View      `json:"views,omitempty"`
	Events   []Event     `json:"events,omitempty"`
	Sources  []Source    `json:"sources,omitempty"`
	// Generated says, in words, which features a generator made;
	// GeneratedTexts says it per language, for the viewer.
	Generated      string            `json:"generated,omitempty"`
	GeneratedTexts map[string]string `json:"generatedTexts,omitempty"`
	// Terrain names the scene's elevation model; absent when it has none.
	Terrain *Terrain `json:"terrain,omitempty"`
}

// Terrain is a scene's elevation model: a GeoTIFF in the bundle (WGS84,
// as kiruna-twin import --dem writes it, or any system scenes/crs knows).
type Terrain struct {
	File   string `json:"file"`
	Source string `json:"source,omitempty"` // where the heights come from, with its licence
}

// Timeline is the span of the scene in decimal years. Now is the scene's
// present; zero means "today" (clamped to the span).
type Timeline struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Now   float64 `json:"now,omitempty"`
}

// LayerInfo describes one layer and the file that holds its features.
type LayerInfo struct {
	ID     twin.Layer        `json:"id"`
	Title  string            `json:"title"`
	Titles map[string]string `json:"titles,omitempty"`
	// Kind is the geometry the layer holds: "polygon", "line", "point" or "mixed".
	Kind string `json:"kind"`
	// File is the GeoJSON file, relative to scene.json; empty for a layer
	// that starts empty (pilots).
	File string `json:"file,omitempty"`
}

// View is a named camera for the guided tour.
type View struct {
	ID      string            `json:"id"`
	Title   map[string]string `json:"title"`
	Text    map[string]string `json:"text,omitempty"`
	Center  [2]float64        `json:"center"`
	Zoom    float64           `json:"zoom"`
	Pitch   float64           `json:"pitch,omitempty"`
	Bearing float64           `json:"bearing,omitempty"`
	Year    float64           `json:"year,omitempty"`
	// Frame is [west, south, east, north]: what the view must show,
	// whatever the screen's shape; a viewer that can fit the camera to it
	// does, else it uses Center and Zoom.
	Frame *[4]float64 `json:"frame,omitempty"`
	// Route is a journey the view shows: a building carried from one site
	// to another.
	Route *Route `json:"route,omitempty"`
}

// Route is a path that a view draws and follows. Year is the year shown
// while the journey runs (the building still at its first site); the view's
// own Year is shown once it has arrived.
type Route struct {
	Path [][2]float64 `json:"path"` // [lon, lat], at least two
	Year float64      `json:"year"`
}

// Event is a dated moment of the scene's story, marked on the timeline.
type Event struct {
	Date    string            `json:"date"`
	Year    float64           `json:"year"` // filled from Date when loading
	Title   map[string]string `json:"title"`
	Center  [2]float64        `json:"center,omitempty"`
	Zoom    float64           `json:"zoom,omitempty"`
	Feature string            `json:"feature,omitempty"` // id of the feature it concerns
	Layer   twin.Layer        `json:"layer,omitempty"`   // the layer that holds Feature
	Source  string            `json:"source,omitempty"`
}

// Source names where data came from and its licence.
type Source struct {
	Name    string `json:"name"`
	Licence string `json:"licence"`
	URL     string `json:"url,omitempty"`
	Note    string `json:"note,omitempty"`
}

// Bundle is a loaded scene: its metadata and every feature, not yet indexed.
type Bundle struct {
	Scene    Scene
	Features []*twin.Feature
	// DEM is the scene's elevation model, nil when it has none.
	DEM     *terrain.DEM
	origins []origin
}

type origin struct {
	file  string
	index int
}

// LoadError names the file, and where known the feature and field, of a
// problem in a bundle, e.g.
// "buildings.geojson: features[12].properties.to: to is not after from".
type LoadError struct {
	File string
	Err  error
}

func (e *LoadError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *LoadError) Unwrap() error { return e.Err }

// ErrBadScene marks a scene.json that cannot be used.
var ErrBadScene = errors.New("bad scene")

// Load reads a bundle from fsys: scene.json at its root, then each layer's
// file. It checks what the model will check too (ids unique across the
// scene, geometry, lifespans), so that an error names the file.
func Load(fsys fs.FS) (*Bundle, error) {
	data, err := fs.ReadFile(fsys, "scene.json")
	if err != nil {
		return nil, &LoadError{File: "scene.json", Err: err}
	}
	var s Scene
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, &LoadError{File: "scene.json", Err: fmt.Errorf("%w: %s", ErrBadScene, jsonErr(err))}
	}
	if err := s.check(); err != nil {
		return nil, &LoadError{File: "scene.json", Err: err}
	}
	b := &Bundle{Scene: s}
	if t := s.Terrain; t != nil {
		data, err := fs.ReadFile(fsys, path.Clean(t.File))
		if err != nil {
			return nil, &LoadError{File: t.File, Err: err}
		}
		if b.DEM, err = terrain.Decode(data); err != nil {
			return nil, &LoadError{File: t.File, Err: err}
		}
	}
	seen := map[string]origin{}
	for _, li := range s.Layers {
		if li.File == "" {
			continue
		}
		data, err := fs.ReadFile(fsys, path.Clean(li.File))
		if err != nil {
			return nil, &LoadError{File: li.File, Err: err}
		}
		feats, err := decodeGeoJSON(data, li.ID, true)
		data = nil // the features hold nothing of it: let it go before the next file
		if err != nil {
			return nil, &LoadError{File: li.File, Err: err}
		}
		if b.Features == nil {
			b.Features = make([]*twin.Feature, 0, len(feats))
			b.origins = make([]origin, 0, len(feats))
		}
		for i, f := range feats {
			if o, dup := seen[f.ID]; dup {
				return nil, &LoadError{File: li.File, Err: &twin.IndexError{Index: i, Err: &twin.FieldError{Field: "id",
					Err: fmt.Errorf("%w %q (also %s features[%d])", twin.ErrDuplicateID, f.ID, o.file, o.index)}}}
			}
			seen[f.ID] = origin{li.File, i}
			b.Features = append(b.Features, f)
			b.origins = append(b.origins, origin{li.File, i})
		}
	}
	if err := b.checkEvents(); err != nil {
		return nil, err
	}
	return b, nil
}

// Into loads the bundle's features into m, replacing what it held.
func (b *Bundle) Into(m *twin.Model) error {
	err := m.Load(b.Features)
	var ie *twin.IndexError
	if errors.As(err, &ie) && ie.Index < len(b.origins) {
		o := b.origins[ie.Index]
		return &LoadError{File: o.file, Err: &twin.IndexError{Index: o.index, Err: ie.Err}}
	}
	return err
}

func (s *Scene) check() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrBadScene, field, fmt.Sprintf(format, args...))
	}
	if s.ID == "" {
		return bad("id", "missing")
	}
	w, so, e, n := s.Bounds[0], s.Bounds[1], s.Bounds[2], s.Bounds[3]
	if !(w >= -180 && e <= 180 && so >= -85.06 && n <= 85.06 && w < e && so < n) {
		return bad("bounds", "want [west, south, east, north] inside Web Mercator's range, got %v", s.Bounds)
	}
	if c := s.Center; !(c[0] >= w && c[0] <= e && c[1] >= so && c[1] <= n) {
		return bad("center", "%v is outside the bounds", c)
	}
	if !(s.Zoom >= 0 && s.Zoom <= 22) {
		return bad("zoom", "want 0 to 22, got %v", s.Zoom)
	}
	t := s.Timeline
	if !(t.Start > 0 && t.End > t.Start) || math.IsInf(t.End, 0) {
		return bad("timeline", "want 0 < start < end, got %v to %v", t.Start, t.End)
	}
	if t.Now != 0 && (t.Now < t.Start || t.Now > t.End) {
		return bad("timeline.now", "%v is outside %v to %v", t.Now, t.Start, t.End)
	}
	if s.Timezone != "" {
		if _, err := time.LoadLocation(s.Timezone); err != nil {
			return bad("timezone", "%v", err)
		}
	}
	seen := map[twin.Layer]bool{}
	for i, l := range s.Layers {
		if _, err := twin.ParseLayer(string(l.ID)); err != nil {
			return fmt.Errorf("%w: layers[%d].id: %w", ErrBadScene, i, err)
		}
		if seen[l.ID] {
			return bad(fmt.Sprintf("layers[%d].id", i), "layer %q listed twice", l.ID)
		}
		seen[l.ID] = true
		if l.File != "" && !fs.ValidPath(path.Clean(l.File)) {
			return bad(fmt.Sprintf("layers[%d].file", i), "%q must be a path inside the bundle", l.File)
		}
	}
	if s.Terrain != nil && (s.Terrain.File == "" || !fs.ValidPath(path.Clean(s.Terrain.File))) {
		return bad("terrain.file", "%q must be a path inside the bundle", s.Terrain.File)
	}
	inside := func(p [2]float64) bool { return p[0] >= w && p[0] <= e && p[1] >= so && p[1] <= n }
	goodFrame := func(f *[4]float64) bool {
		return f == nil || (f[0] < f[2] && f[1] < f[3] && inside([2]float64{f[0], f[1]}) && inside([2]float64{f[2], f[3]}))
	}
	if !goodFrame(s.Frame) {
		return bad("frame", "want [west, south, east, north] inside the bounds, got %v", *s.Frame)
	}
	for i, v := range s.Views {
		if f := v.Frame; !goodFrame(f) {
			return bad(fmt.Sprintf("views[%d].frame", i), "want [west, south, east, north] inside the bounds, got %v", *f)
		}
		if r := v.Route; r != nil {
			if len(r.Path) < 2 {
				return bad(fmt.Sprintf("views[%d].route.path", i), "want at least two points, got %d", len(r.Path))
			}
			for j, p := range r.Path {
				if !inside(p) {
					return bad(fmt.Sprintf("views[%d].route.path[%d]", i, j), "%v is outside the bounds", p)
				}
			}
		}
	}
	for i := range s.Events {
		ev := &s.Events[i]
		at, err := twin.ParseInstant(ev.Date)
		if err != nil {
			return bad(fmt.Sprintf("events[%d].date", i), "%v", err)
		}
		ev.Year = math.Round(twin.DecimalYear(at)*1000) / 1000
		if ev.Layer != "" {
			if !seen[ev.Layer] {
				return bad(fmt.Sprintf("events[%d].layer", i), "%q is not a layer of the scene", ev.Layer)
			}
			if ev.Feature == "" {
				return bad(fmt.Sprintf("events[%d].layer", i), "names a layer but no feature")
			}
		}
	}
	return nil
}

// checkEvents makes sure every event that names a layer names a feature of
// that layer.
func (b *Bundle) checkEvents() error {
	where := map[string]twin.Layer{}
	for _, f := range b.Features {
		where[f.ID] = f.Layer
	}
	for i, ev := range b.Scene.Events {
		if ev.Layer == "" {
			continue
		}
		if l, ok := where[ev.Feature]; !ok || l != ev.Layer {
			return &LoadError{File: "scene.json", Err: fmt.Errorf("%w: events[%d].feature: no feature %q in layer %s", ErrBadScene, i, ev.Feature, ev.Layer)}
		}
	}
	return nil
}

// Location returns the scene's local time zone, or nil when it names none.
func (s *Scene) Location() *time.Location {
	if s.Timezone == "" {
		return nil
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return nil // checked when the scene was loaded
	}
	return loc
}

// Now returns the scene's present as a decimal year: the timeline's Now if
// set, else the wall clock, clamped to the timeline.
func (s *Scene) Now(clock time.Time) float64 {
	if s.Timeline.Now != 0 {
		return s.Timeline.Now
	}
	y := twin.DecimalYear(clock)
	return math.Round(min(max(y, s.Timeline.Start), s.Timeline.End)*100) / 100
}
