// Package cityjson imports buildings from CityJSON 2.0 files
// (application/city+json) and CityJSON Text Sequences (CityJSONSeq,
// .city.jsonl) into twin features.
//
// Every Building and BuildingPart with a surface or solid geometry becomes
// one feature: its footprint (a 2D polygon in WGS84 lon/lat) with a base and
// a height in metres, its 3D geometry kept as a go-geom MultiPolygonZ
// (Feature.Solid), and its attributes as properties. Coordinates are
// converted from the reference system the file declares
// (metadata.referenceSystem) with package scenes/crs.
//
// Errors name the place in the file, as in
// `CityObjects["b1"].geometry[0].boundaries[0][1]: vertex index 99 out of range (12 vertices)`;
// in a sequence they also name the line.
package cityjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kiruna-twin/kiruna-twin/scenes/internal/inputcheck"
	"math"
	"strconv"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes/crs"
	"github.com/kiruna-twin/kiruna-twin/twin"
)

// MediaType is CityJSON's media type; SeqMediaType that of CityJSONSeq.
const (
	MediaType    = "application/city+json"
	SeqMediaType = "application/city+json-seq"
)

// Sentinel errors: test with errors.Is. Errors from package crs
// (crs.ErrUnsupported, crs.ErrBadIdentifier) pass through too.
var (
	ErrBadCityJSON  = errors.New("bad CityJSON")
	ErrVertexIndex  = errors.New("vertex index out of range")
	ErrLimit        = errors.New("over a limit")
	ErrNoCRS        = errors.New("no reference system")
	ErrDuplicateID  = errors.New("duplicate id")
	ErrBadFootprint = errors.New("bad footprint")
	ErrOutsideCRS   = errors.New("coordinate outside the reference system's area")
)

// Limits bound what one import may hold; zero fields take the defaults.
type Limits struct {
	Vertices int // vertices in the file (or in one line of a sequence)
	Objects  int // city objects
	Surfaces int // surfaces of one object's geometries
	Rings    int // rings in one surface
	RingSize int // vertex indexes in one ring
	LineSize int // bytes in one line of a sequence
}

// DefaultLimits are generous for real city models and small enough that a
// hostile file fails fast.
var DefaultLimits = Limits{
	Vertices: 50_000_000,
	Objects:  5_000_000,
	Surfaces: 100_000,
	Rings:    1_000,
	RingSize: 50_000,
	LineSize: 64 << 20,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.Vertices > 0 {
		d.Vertices = l.Vertices
	}
	if l.Objects > 0 {
		d.Objects = l.Objects
	}
	if l.Surfaces > 0 {
		d.Surfaces = l.Surfaces
	}
	if l.Rings > 0 {
		d.Rings = l.Rings
	}
	if l.RingSize > 0 {
		d.RingSize = l.RingSize
	}
	if l.LineSize > 0 {
		d.LineSize = l.LineSize
	}
	return d
}

// DefaultFrom is the start of life of a building whose file gives no
// yearOfConstruction, unless Options.From says otherwise.
var DefaultFrom = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// Options steer an import. The zero value imports into the buildings layer.
type Options struct {
	// Layer the features go into; default twin.Buildings.
	Layer twin.Layer
	// From is the start of life of buildings without yearOfConstruction;
	// default DefaultFrom. Such features carry the property
	// from_default: true.
	From time.Time
	// CRS is the reference system of files that declare none (an EPSG
	// code or URL, see crs.Parse). A file's own declaration wins.
	CRS string
	// IDPrefix is put before every object id.
	IDPrefix string
	// Source is written to every feature's Source; default "CityJSON"
	// followed by the file's metadata.title when it has one.
	Source string
	// SkipInvalid skips a building whose footprint or height cannot be
	// used, recording it in Result.Skipped, instead of failing the import.
	// Malformed input (wrong types, vertex indexes out of range, limits)
	// always fails.
	SkipInvalid bool
	// NoSolid leaves Feature.Solid empty, for imports that only need
	// footprints.
	NoSolid bool
	// Limits bound the input; zero fields take DefaultLimits.
	Limits Limits
	// Progress, when set, is called now and then with the city objects
	// done and their total (for a sequence: lines done, total 0).
	Progress func(done, total int)
}

// Skip names an object that was not imported and why.
type Skip struct {
	ID     string
	Reason string
}

// Result is what an import found.
type Result struct {
	Features []*twin.Feature
	// CRS is the reference system the coordinates were read in.
	CRS *crs.CRS
	// Title is metadata.title, when the file has one.
	Title string
	// Skipped lists buildings not imported (with SkipInvalid) and why.
	Skipped []Skip
	// Ignored counts the city objects of other types, by type.
	Ignored map[string]int
}

type rawTransform struct {
	Scale     []float64 `json:"scale"`
	Translate []float64 `json:"translate"`
}

type rawMetadata struct {
	ReferenceSystem any `json:"referenceSystem"`
	Title           any `json:"title"`
}

type rawFile struct {
	Type        string          `json:"type"`
	Version     any             `json:"version"`
	ID          any             `json:"id"`
	Transform   *rawTransform   `json:"transform"`
	Metadata    *rawMetadata    `json:"metadata"`
	CityObjects json.RawMessage `json:"CityObjects"`
	Vertices    json.RawMessage `json:"vertices"`
}

// Decode reads a CityJSON 2.0 file (type "CityJSON"). A CityJSONSeq
// stream is read by DecodeSeq; DecodeAny tells them apart.
func Decode(data []byte, opts Options) (*Result, error) {
	if err := checkUTF8(data); err != nil {
		return nil, err
	}
	var f rawFile
	if err := unmarshal(data, &f); err != nil {
		return nil, err
	}
	if f.Type != "CityJSON" {
		return nil, fmt.Errorf("%w: type: %q, want \"CityJSON\"", ErrBadCityJSON, f.Type)
	}
	if err := checkVersion(f.Version); err != nil {
		return nil, err
	}
	d, err := newDecoder(&f, opts)
	if err != nil {
		return nil, err
	}
	if err := d.chunk(&f, true); err != nil {
		return nil, err
	}
	return d.res, nil
}

// DecodeAny reads either a CityJSON file or a CityJSONSeq stream,
// whichever data is: a sequence has more than one JSON value, one a line.
func DecodeAny(data []byte, opts Options) (*Result, error) {
	if IsSeq(data) {
		return DecodeSeq(bytes.NewReader(data), opts)
	}
	return Decode(data, opts)
}

// IsSeq reports whether data is a CityJSONSeq stream: more than one JSON
// value (one a line), or a lone CityJSONFeature.
func IsSeq(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	var v struct {
		Type string `json:"type"`
	}
	if dec.Decode(&v) != nil {
		return false
	}
	rest := bytes.TrimSpace(data[dec.InputOffset():])
	return v.Type == "CityJSONFeature" || (len(rest) > 0 && rest[0] == '{')
}

func checkUTF8(data []byte) error {
	if i := inputcheck.InvalidUTF8(data); i >= 0 {
		return fmt.Errorf("%w: invalid UTF-8 at byte %d", ErrBadCityJSON, i)
	}
	return nil
}

func unmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %s", ErrBadCityJSON, jsonErr(err))
	}
	return nil
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%s: want %s, got %s (at byte %d)", te.Field, te.Type, te.Value, te.Offset)
		}
		return fmt.Sprintf("want %s, got %s (at byte %d)", te.Type, te.Value, te.Offset)
	}
	return err.Error()
}

func checkVersion(v any) error {
	switch v := v.(type) {
	case nil:
		return nil // CityJSONFeature lines and lenient writers
	case string:
		if v == "2.0" || v == "2.0.0" || v == "2.0.1" || v == "1.1" || v == "1.1.0" {
			return nil
		}
		return fmt.Errorf("%w: version: %q is not supported (want \"2.0\")", ErrBadCityJSON, v)
	default:
		return fmt.Errorf("%w: version: want a string such as \"2.0\", got %v", ErrBadCityJSON, v)
	}
}

// decoder holds what the objects of one file or sequence share.
type decoder struct {
	opts      Options
	lim       Limits
	crs       *crs.CRS
	scale     [3]float64
	translate [3]float64
	source    string
	res       *Result
	seen      map[string]int // id → line (0 outside a sequence)
	line      int
}

func newDecoder(f *rawFile, opts Options) (*decoder, error) {
	if opts.Layer == "" {
		opts.Layer = twin.Buildings
	}
	if opts.From.IsZero() {
		opts.From = DefaultFrom
	}
	d := &decoder{opts: opts, lim: opts.Limits.withDefaults(), res: &Result{Ignored: map[string]int{}}, seen: map[string]int{}}
	if err := d.header(f); err != nil {
		return nil, err
	}
	return d, nil
}

// header reads the transform and the metadata.
func (d *decoder) header(f *rawFile) error {
	d.scale = [3]float64{1, 1, 1}
	if t := f.Transform; t != nil {
		if len(t.Scale) != 3 || len(t.Translate) != 3 {
			return fmt.Errorf("%w: transform: want scale and translate of 3 numbers each, got %d and %d", ErrBadCityJSON, len(t.Scale), len(t.Translate))
		}
		for i := range 3 {
			s, tr := t.Scale[i], t.Translate[i]
			if s == 0 || !finite(s) || !finite(tr) {
				return fmt.Errorf("%w: transform: scale[%d] must be a finite number other than 0, translate[%d] finite; got %v and %v", ErrBadCityJSON, i, i, s, tr)
			}
			d.scale[i], d.translate[i] = s, tr
		}
	}
	id := d.opts.CRS
	if m := f.Metadata; m != nil {
		switch rs := m.ReferenceSystem.(type) {
		case nil:
		case string:
			id = rs
		default:
			return fmt.Errorf("%w: metadata.referenceSystem: want a string such as \"https://www.opengis.net/def/crs/EPSG/0/3006\", got %v", ErrBadCityJSON, rs)
		}
		if t, ok := m.Title.(string); ok {
			d.res.Title = t
		}
	}
	if id == "" {
		return fmt.Errorf("%w: the file declares none in metadata.referenceSystem; name one (e.g. EPSG:3006) to import it", ErrNoCRS)
	}
	c, err := crs.Lookup(id)
	if err != nil {
		return fmt.Errorf("metadata.referenceSystem: %w", err)
	}
	d.crs = c
	d.res.CRS = c
	d.source = d.opts.Source
	if d.source == "" {
		d.source = "CityJSON"
		if d.res.Title != "" {
			d.source += ": " + d.res.Title
		}
	}
	return nil
}

// where prefixes an error with the line of a sequence.
func (d *decoder) where(err error) error {
	if d.line > 0 && err != nil {
		return &LineError{Line: d.line, Err: err}
	}
	return err
}

// VertexIndexError is a boundary's reference to a vertex that is not
// there; errors.Is(err, ErrVertexIndex) holds for it.
type VertexIndexError struct {
	Index, Vertices int
}

func (e *VertexIndexError) Error() string {
	return fmt.Sprintf("vertex index %d out of range (%d vertices)", e.Index, e.Vertices)
}

// Is makes errors.Is(err, ErrVertexIndex) true.
func (e *VertexIndexError) Is(target error) bool { return target == ErrVertexIndex }

// LineError names the line of a CityJSONSeq stream an error is on.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Err.Error() }
func (e *LineError) Unwrap() error { return e.Err }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
