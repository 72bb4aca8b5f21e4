// Package upload reads what a company uploads as a pilot layer — GeoJSON
// or CityJSON — as hostile input: bounded in size, nesting, features,
// vertices and properties; every ring closed, simple and inside the scene;
// no property that is the scene's own (twin.CheckCompanyFeature: a
// lineage, status moved); every error naming the place, e.g.
// "features[12].geometry.coordinates[0]: ring crosses itself (edges 1 and 3)".
package upload

import (
	"errors"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/scenes/cityjson"
	"github.com/kiruna-twin/kiruna-twin/scenes/internal/footprint"
	"github.com/kiruna-twin/kiruna-twin/scenes/internal/inputcheck"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// Errors, for errors.Is. ErrTooLarge maps to 413, ErrMediaType to 415,
// every other error to 400.
var (
	ErrTooLarge  = errors.New("over a limit")
	ErrMediaType = errors.New("unsupported media type")
	ErrInvalid   = errors.New("invalid upload")
)

// Limits bound one upload.
type Limits struct {
	Features           int // features in the upload
	Vertices           int // vertices in all
	VerticesPerFeature int
	Props              int // properties of one feature
	PropBytes          int // bytes of one property's key or value
	Depth              int // nesting of JSON arrays and objects
}

// DefaultLimits suit a pilot layer: a district's worth of pipes, bins and
// buildings, not a country.
var DefaultLimits = Limits{Features: 50_000, Vertices: 2_000_000, VerticesPerFeature: 100_000, Props: 100, PropBytes: 4096, Depth: 32}

// The media types an upload may have.
const (
	GeoJSON     = "application/geo+json"
	CityJSON    = "application/city+json"
	CityJSONSeq = "application/city+json-seq"
)

// Options steer Decode.
type Options struct {
	// Area, when not zero, must hold every feature (the scene's bounds).
	Area orb.Bound
	// Now is the start of life of features that give no "from"; they carry
	// the property from_default: true.
	Now time.Time
	// Limits; zero fields take DefaultLimits.
	Limits Limits
}

// Decode reads an upload of the given Content-Type into features of the
// pilots layer.
func Decode(data []byte, contentType string, opts Options) ([]*twin.Feature, error) {
	lim := opts.Limits.withDefaults()
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		return nil, fmt.Errorf("%w: Content-Type %q: %v", ErrMediaType, contentType, err)
	}
	if err := checkUTF8(data); err != nil {
		return nil, err
	}
	if err := checkDepth(data, lim.Depth); err != nil {
		return nil, err
	}
	var fs []*twin.Feature
	switch mt {
	case GeoJSON, "application/json":
		if fs, err = scenes.DecodeGeoJSON(data, twin.Pilots); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		for _, f := range fs {
			delete(f.Props, twin.PropFromDefault) // the twin's to give (see check)
		}
	case CityJSON, CityJSONSeq:
		// A building without yearOfConstruction is in the twin from
		// its upload on, like a GeoJSON feature without from.
		res, err := cityjson.DecodeAny(data, cityjson.Options{Layer: twin.Pilots, From: opts.Now.UTC().Truncate(time.Second),
			Limits: cityjson.Limits{Vertices: lim.Vertices, Objects: lim.Features, RingSize: lim.VerticesPerFeature}})
		if err != nil {
			if errors.Is(err, cityjson.ErrLimit) {
				return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
			}
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		fs = res.Features
	default:
		return nil, fmt.Errorf("%w %q: send %s (GeoJSON) or %s (CityJSON 2.0)", ErrMediaType, contentType, GeoJSON, CityJSON)
	}
	if err := check(fs, opts, lim); err != nil {
		return nil, err
	}
	return fs, nil
}

func checkUTF8(data []byte) error {
	if i := inputcheck.InvalidUTF8(data); i >= 0 {
		return fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrInvalid, i)
	}
	return nil
}

// checkDepth refuses JSON nested deeper than max, before any decoder
// recurses into it.
func checkDepth(data []byte, max int) error {
	depth, inString, escaped := 0, false, false
	for i, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			if depth > max {
				return fmt.Errorf("%w: JSON nested deeper than %d levels (at byte %d)", ErrTooLarge, max, i)
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return nil
}

// check applies the limits and the geometry rules to decoded features.
func check(fs []*twin.Feature, opts Options, lim Limits) error {
	area := opts.Area
	if len(fs) == 0 {
		return fmt.Errorf("%w: features: the upload holds no feature", ErrInvalid)
	}
	if len(fs) > lim.Features {
		return fmt.Errorf("%w: features: %d, at most %d", ErrTooLarge, len(fs), lim.Features)
	}
	total := 0
	for i, f := range fs {
		at := func(field string, err error) error {
			return &twin.IndexError{Index: i, Err: &twin.FieldError{Field: field, Err: err}}
		}
		n := twin.VertexCount(f.Geometry)
		if mp := f.SolidPolygons(); mp != nil {
			n += len(mp.FlatCoords()) / 3 // the 3D shape counts too
		}
		if n > lim.VerticesPerFeature {
			return fmt.Errorf("%w: %w", ErrTooLarge, at("geometry.coordinates", fmt.Errorf("%d vertices, at most %d", n, lim.VerticesPerFeature)))
		}
		if total += n; total > lim.Vertices {
			return fmt.Errorf("%w: %w", ErrTooLarge, at("geometry.coordinates", fmt.Errorf("the upload passes %d vertices in all", lim.Vertices)))
		}
		if len(f.Props) > lim.Props {
			return fmt.Errorf("%w: %w", ErrTooLarge, at("properties", fmt.Errorf("%d properties, at most %d", len(f.Props), lim.Props)))
		}
		for k, v := range f.Props {
			if s, ok := v.(string); len(k) > lim.PropBytes || ok && len(s) > lim.PropBytes {
				return fmt.Errorf("%w: %w", ErrTooLarge, at("properties."+truncate(k, 40), fmt.Errorf("longer than %d bytes", lim.PropBytes)))
			}
		}
		for _, s := range []struct{ name, v string }{{"name", f.Name}, {"kind", f.Kind}, {"id", f.ID}, {"source", f.Source}} {
			if len(s.v) > lim.PropBytes {
				return fmt.Errorf("%w: %w", ErrTooLarge, at("properties."+s.name, fmt.Errorf("longer than %d bytes", lim.PropBytes)))
			}
		}
		if r, pos, ok := inputcheck.Unprintable(f.ID); ok {
			return fmt.Errorf("%w: %w", ErrInvalid, at("id", fmt.Errorf("%U at byte %d: an id may hold no control or bidirectional formatting character", r, pos)))
		}
		for k := range f.Props {
			if r, pos, ok := inputcheck.Unprintable(k); ok {
				return fmt.Errorf("%w: %w", ErrInvalid, at("properties."+strconv.Quote(truncate(k, 40)), fmt.Errorf("%U at byte %d: a property's name may hold no control or bidirectional formatting character", r, pos)))
			}
		}
		if err := twin.CheckCompanyFeature(f); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, &twin.IndexError{Index: i, Err: err})
		}
		if f.Life.From.IsZero() && !opts.Now.IsZero() {
			// A pilot is in the twin from its upload on, unless it says
			// otherwise.
			f.Life.From = opts.Now.UTC().Truncate(time.Second)
			if !f.Life.To.IsZero() && !f.Life.To.After(f.Life.From) {
				return fmt.Errorf("%w: %w", ErrInvalid, at("properties.to", fmt.Errorf("%w: to is before the upload and no from is given", twin.ErrToBeforeFrom)))
			}
			f.Props = withDefaultFrom(f.Props)
		}
		if err := f.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, &twin.IndexError{Index: i, Err: err})
		}
		if err := simple(f.Geometry); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, &twin.IndexError{Index: i, Err: err})
		}
		if area != (orb.Bound{}) {
			if b := f.Geometry.Bound(); !area.Contains(b.Min) || !area.Contains(b.Max) {
				return fmt.Errorf("%w: %w", ErrInvalid, at("geometry.coordinates",
					fmt.Errorf("outside the scene (%.4f, %.4f to %.4f, %.4f): the feature spans %.4f, %.4f to %.4f, %.4f",
						area.Min[0], area.Min[1], area.Max[0], area.Max[1], b.Min[0], b.Min[1], b.Max[0], b.Max[1])))
			}
		}
	}
	return nil
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	for _, f := range []struct{ dst, src *int }{
		{&d.Features, &l.Features}, {&d.Vertices, &l.Vertices}, {&d.VerticesPerFeature, &l.VerticesPerFeature},
		{&d.Props, &l.Props}, {&d.PropBytes, &l.PropBytes}, {&d.Depth, &l.Depth},
	} {
		if *f.src > 0 {
			*f.dst = *f.src
		}
	}
	return d
}

func withDefaultFrom(p map[string]any) map[string]any {
	if p == nil {
		p = map[string]any{}
	}
	p[twin.PropFromDefault] = true
	return p
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// simple checks that no ring of a polygon crosses itself.
func simple(g orb.Geometry) error {
	var polys []orb.Polygon
	switch g := g.(type) {
	case orb.Polygon:
		polys = []orb.Polygon{g}
	case orb.MultiPolygon:
		polys = g
	default:
		return nil
	}
	for pi, p := range polys {
		path := "geometry.coordinates"
		if len(polys) > 1 || isMulti(g) {
			path = fmt.Sprintf("geometry.coordinates[%d]", pi)
		}
		for ri, r := range p {
			if len(r) > footprint.MaxRingPoints {
				continue // refused by the vertex limits first
			}
			if i, j, ok := footprint.SelfIntersection(r); ok {
				path := fmt.Sprintf("geometry.coordinates[%d]", ri)
				if len(polys) > 1 || isMulti(g) {
					path = fmt.Sprintf("geometry.coordinates[%d][%d]", pi, ri)
				}
				return &twin.FieldError{Field: path, Err: fmt.Errorf("ring crosses itself (edges %d and %d)", i, j)}
			}
		}
		if err := footprint.Holes(p); err != nil && !errors.Is(err, footprint.ErrTooManyRings) {
			// A polygon of more edges is left unchecked, like a ring
			// above: the sweep is quadratic at worst.
			return &twin.FieldError{Field: path, Err: err}
		}
	}
	return nil
}

func isMulti(g orb.Geometry) bool { return strings.HasPrefix(g.GeoJSONType(), "Multi") }
