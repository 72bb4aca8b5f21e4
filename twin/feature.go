// Package twin holds the read model of Kiruna Twin: features with a life in
// time, the layers they belong to, the spatial index over them and the
// immutable snapshots readers take. It knows nothing of HTTP, tiles or JSON
// wire formats, nor of who writes: sensors and readings, pilots, companies
// and the durable logs behind them are package twin/live's, which writes
// through Model.Apply.
package twin

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
)

// Status is a building's fate over the scene's life.
type Status string

// The statuses a building can have. A feature that is neither demolished,
// moved nor planned is standing.
const (
	Standing   Status = "standing"   // stands, possibly with a dated end
	Demolished Status = "demolished" // its life ends with demolition (To is set)
	Moved      Status = "moved"      // one site of a building carried whole (Lineage is set)
	Planned    Status = "planned"    // not yet built at the scene's present
)

// ParseStatus checks s against the known statuses; "" means Standing.
func ParseStatus(s string) (Status, error) {
	switch Status(s) {
	case "":
		return Standing, nil
	case Standing, Demolished, Moved, Planned:
		// The constant, not s: a million features share four strings.
		for _, c := range []Status{Standing, Demolished, Moved, Planned} {
			if Status(s) == c {
				return c, nil
			}
		}
	}
	return "", fmt.Errorf("%w %q (known: standing, demolished, moved, planned)", ErrUnknownStatus, s)
}

// Confidence says how far a feature's position can be trusted.
type Confidence string

// The confidences, from most to least trusted.
const (
	Sourced   Confidence = "sourced"   // a published coordinate
	Approx    Confidence = "approx"    // a published point near the feature
	Guess     Confidence = "guess"     // placed from a description
	Generated Confidence = "generated" // made up by a generator to stand for the real thing
)

// ParseConfidence checks s against the known confidences; "" means Guess.
func ParseConfidence(s string) (Confidence, error) {
	switch Confidence(s) {
	case "":
		return Guess, nil
	case Sourced, Approx, Guess, Generated:
		for _, c := range []Confidence{Sourced, Approx, Guess, Generated} {
			if Confidence(s) == c {
				return c, nil
			}
		}
	}
	return "", fmt.Errorf("%w %q (known: sourced, approx, guess, generated)", ErrUnknownConfidence, s)
}

// Feature is one thing on the map with a life in time. A Feature is
// immutable once it has been added to a Model: to change it, add a new one
// with the same ID.
type Feature struct {
	ID    string
	Layer Layer
	Kind  string // e.g. "house", "church", "road", "rail", "caved"
	Name  string

	// Geometry is the 2D footprint, line or point in WGS84 lon/lat.
	Geometry orb.Geometry
	// Solid optionally holds the 3D shape (LoD1, LoD2 or LoD3): a
	// *geom.MultiPolygon of layout XYZ, lon/lat in degrees and z in metres,
	// one polygon per boundary surface. Its lowest point stands at Base
	// above the ground, whatever datum its z is in (see solid.go).
	Solid geom.T
	// Surfaces says what each polygon of Solid is (ground, wall, roof), in
	// order; nil when unknown (a writer infers it from each face's slope).
	Surfaces []SurfaceType

	Height float64 // metres above Base (buildings)
	Base   float64 // metres above ground of the lowest part (buildings)

	Life    Lifespan
	Status  Status
	Lineage string // shared by the sites of a building carried whole

	Source     string
	Confidence Confidence

	// Props holds any further properties (pilot, company, sensor type…).
	// Values are strings, float64s or bools.
	Props map[string]any

	bound orb.Bound
	merc  orb.Geometry
}

// Bound is the feature's bounding box in lon/lat, computed when indexed.
func (f *Feature) Bound() orb.Bound { return f.bound }

// Mercator is the geometry projected once, at index time, to Web Mercator
// in the unit square (x east, y south, both 0..1): a tile at zoom z maps it
// with one multiply and one subtract per coordinate. Do not modify it.
func (f *Feature) Mercator() orb.Geometry { return f.merc }

// Prop returns a further property as a string ("" when absent).
func (f *Feature) Prop(key string) string {
	switch v := f.Props[key].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// prepare validates f and computes what the index needs from it.
func (f *Feature) prepare() error {
	if err := f.Validate(); err != nil {
		return err
	}
	f.bound = f.Geometry.Bound()
	f.merc = ToMercator(f.Geometry)
	return nil
}

// VertexCount returns the number of positions in g (every ring's closing
// position included).
func VertexCount(g orb.Geometry) int {
	switch g := g.(type) {
	case orb.Point:
		return 1
	case orb.MultiPoint:
		return len(g)
	case orb.LineString:
		return len(g)
	case orb.Ring:
		return len(g)
	case orb.MultiLineString:
		n := 0
		for _, l := range g {
			n += len(l)
		}
		return n
	case orb.Polygon:
		n := 0
		for _, r := range g {
			n += len(r)
		}
		return n
	case orb.MultiPolygon:
		n := 0
		for _, p := range g {
			n += VertexCount(p)
		}
		return n
	}
	return 0
}

// Sentinel errors: test with errors.Is.
var (
	ErrMissingID         = errors.New("missing id")
	ErrDuplicateID       = errors.New("duplicate id")
	ErrUnknownStatus     = errors.New("unknown status")
	ErrUnknownConfidence = errors.New("unknown confidence")
	ErrNoGeometry        = errors.New("no geometry")
	ErrRingNotClosed     = errors.New("ring not closed")
	ErrRingTooShort      = errors.New("ring has fewer than 4 positions")
	ErrLineTooShort      = errors.New("line has fewer than 2 positions")
	ErrLineNoLength      = errors.New("line has no length: its positions are all the same")
	ErrRingNoArea        = errors.New("ring encloses no area: its positions are all the same, or on one line")
	ErrOutOfRange        = errors.New("coordinate outside WGS84")
	ErrMissingFrom       = errors.New("missing from")
	ErrToBeforeFrom      = errors.New("to is not after from")
	ErrBadHeight         = errors.New("height must be a finite number ≥ 0")
	ErrMissingLineage    = errors.New("a moved building needs a lineage")
	ErrMissingTo         = errors.New("a demolished building needs a to")
	ErrNotFound          = errors.New("not found")
)

// FieldError says which field of a feature is wrong, as a path such as
// "geometry.coordinates[0]" or "properties.to".
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field string, err error) error { return &FieldError{Field: field, Err: err} }

// Validate checks that f can be indexed: an id, a known layer, a valid
// geometry inside WGS84, a lifespan whose end follows its start, and for
// buildings sane heights and a status that agrees with the rest.
func (f *Feature) Validate() error {
	if f.ID == "" {
		return fieldErr("id", ErrMissingID)
	}
	if layerIndex(f.Layer) < 0 {
		return fieldErr("layer", fmt.Errorf("%w %q", ErrUnknownLayer, f.Layer))
	}
	if f.Geometry == nil {
		return fieldErr("geometry", ErrNoGeometry)
	}
	if err := validateGeometry(f.Geometry, "geometry.coordinates"); err != nil {
		return err
	}
	if f.Life.From.IsZero() {
		return fieldErr("properties.from", ErrMissingFrom)
	}
	if !f.Life.To.IsZero() && !f.Life.To.After(f.Life.From) {
		return fieldErr("properties.to", fmt.Errorf("%w (from %s, to %s)", ErrToBeforeFrom,
			f.Life.From.Format("2006-01-02"), f.Life.To.Format("2006-01-02")))
	}
	if _, err := ParseStatus(string(f.Status)); err != nil {
		return fieldErr("properties.status", err)
	}
	if _, err := ParseConfidence(string(f.Confidence)); err != nil {
		return fieldErr("properties.confidence", err)
	}
	for _, h := range []struct {
		name string
		v    float64
	}{{"properties.height", f.Height}, {"properties.base", f.Base}} {
		if math.IsNaN(h.v) || math.IsInf(h.v, 0) || h.v < 0 || h.v > 1000 {
			return fieldErr(h.name, fmt.Errorf("%w, got %v", ErrBadHeight, h.v))
		}
	}
	if err := f.validateSolid(); err != nil {
		return err
	}
	switch f.Status {
	case Moved:
		if f.Lineage == "" {
			return fieldErr("properties.lineage", ErrMissingLineage)
		}
	case Demolished:
		if f.Life.To.IsZero() {
			return fieldErr("properties.to", ErrMissingTo)
		}
	}
	return nil
}

// validateGeometry checks g; on error the FieldError's field is
// path followed by the indexes of the offending part. Paths are built only
// on error: validation is on the load path of a million features.
func validateGeometry(g orb.Geometry, path string) error {
	idx, err := checkGeometry(g)
	if err == nil {
		return nil
	}
	var b strings.Builder
	b.WriteString(path)
	for _, i := range idx {
		fmt.Fprintf(&b, "[%d]", i)
	}
	if errors.Is(err, errUnsupportedGeometry) {
		return fieldErr("geometry", fmt.Errorf("unsupported geometry type %s", g.GeoJSONType()))
	}
	return fieldErr(b.String(), err)
}

var errUnsupportedGeometry = errors.New("unsupported geometry")

// checkGeometry returns the index path (outermost first) of what is wrong.
func checkGeometry(g orb.Geometry) ([]int, error) {
	switch g := g.(type) {
	case orb.Point:
		return nil, checkPoint(g)
	case orb.MultiPoint:
		if len(g) == 0 {
			return nil, ErrNoGeometry
		}
		for i, p := range g {
			if err := checkPoint(p); err != nil {
				return []int{i}, err
			}
		}
	case orb.LineString:
		return checkLine(g)
	case orb.MultiLineString:
		if len(g) == 0 {
			return nil, ErrNoGeometry
		}
		for i, l := range g {
			if idx, err := checkLine(l); err != nil {
				return append([]int{i}, idx...), err
			}
		}
	case orb.Polygon:
		return checkPolygon(g)
	case orb.MultiPolygon:
		if len(g) == 0 {
			return nil, ErrNoGeometry
		}
		for i, p := range g {
			if idx, err := checkPolygon(p); err != nil {
				return append([]int{i}, idx...), err
			}
		}
	case orb.Ring:
		return checkRing(g)
	default:
		return nil, errUnsupportedGeometry
	}
	return nil, nil
}

func checkPoint(p orb.Point) error {
	lon, lat := p[0], p[1]
	if math.IsNaN(lon) || math.IsNaN(lat) || lon < -180 || lon > 180 || lat < -90 || lat > 90 {
		return fmt.Errorf("%w: [%v, %v]", ErrOutOfRange, lon, lat)
	}
	return nil
}

func checkLine(l orb.LineString) ([]int, error) {
	if len(l) < 2 {
		return nil, ErrLineTooShort
	}
	length := false
	for i, p := range l {
		if err := checkPoint(p); err != nil {
			return []int{i}, err
		}
		length = length || p != l[0]
	}
	if !length {
		return nil, ErrLineNoLength
	}
	return nil, nil
}

func checkPolygon(p orb.Polygon) ([]int, error) {
	if len(p) == 0 {
		return nil, ErrNoGeometry
	}
	for i, r := range p {
		if idx, err := checkRing(r); err != nil {
			return append([]int{i}, idx...), err
		}
	}
	return nil, nil
}

func checkRing(r orb.Ring) ([]int, error) {
	if len(r) < 4 {
		return nil, ErrRingTooShort
	}
	for i, p := range r {
		if err := checkPoint(p); err != nil {
			return []int{i}, err
		}
	}
	if r[0] != r[len(r)-1] {
		return nil, ErrRingNotClosed
	}
	if onOneLine(r) {
		return nil, ErrRingNoArea
	}
	return nil, nil
}

// onOneLine reports whether every position of r is one point, or on the
// line through the first two distinct ones. (A ring that crosses itself,
// such as a bow tie, may have a signed area of 0 and still not be this.)
func onOneLine(r orb.Ring) bool {
	o := r[0]
	var d orb.Point
	found := false
	for _, p := range r[1:] {
		if p == o {
			continue
		}
		if !found {
			d, found = orb.Point{p[0] - o[0], p[1] - o[1]}, true
			continue
		}
		if d[0]*(p[1]-o[1])-d[1]*(p[0]-o[0]) != 0 {
			return false
		}
	}
	return true
}
