package cityjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes/crs"
	"github.com/kiruna-twin/kiruna-twin/scenes/internal/footprint"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/xy"
)

type rawObject struct {
	Type       string            `json:"type"`
	Attributes map[string]any    `json:"attributes"`
	Geometry   []json.RawMessage `json:"geometry"`
	Parents    []string          `json:"parents"`
	Children   []string          `json:"children"`
}

type rawGeometry struct {
	Type       string          `json:"type"`
	LoD        any             `json:"lod"`
	Boundaries json.RawMessage `json:"boundaries"`
	Semantics  *struct {
		Surfaces []struct {
			Type string `json:"type"`
		} `json:"surfaces"`
		Values json.RawMessage `json:"values"`
	} `json:"semantics"`
}

// object is one city object of a file or of one line of a sequence.
type object struct {
	id  string
	raw rawObject
}

// surface is one polygon of a geometry: its rings as vertex indexes.
type surface struct {
	rings [][]int
	sem   string // the semantic surface type, e.g. "GroundSurface"
	path  []int  // its indexes in boundaries
}

// shape is the geometry of an object the import uses.
type shape struct {
	index    int // in the object's geometry array
	typ      string
	lod      float64
	lodText  string
	solid    bool
	surfaces []surface
	minZ     float64
	maxZ     float64
}

// vertices holds the real coordinates of one file or line.
type vertices struct {
	xyz []float64 // x, y, z of each vertex after the transform
	ll  []orb.Point
	has []bool // ll[i] is computed
}

// lonLat converts vertex i to WGS84 once.
func (v *vertices) lonLat(c *crs.CRS, i int) orb.Point {
	if v.ll == nil {
		v.ll = make([]orb.Point, v.n())
		v.has = make([]bool, v.n())
	}
	if !v.has[i] {
		lon, lat := c.ToWGS84(v.xyz[3*i], v.xyz[3*i+1])
		v.ll[i], v.has[i] = orb.Point{lon, lat}, true
	}
	return v.ll[i]
}

func (v *vertices) n() int { return len(v.xyz) / 3 }

func (v *vertices) at(i int) (x, y, z float64) { return v.xyz[3*i], v.xyz[3*i+1], v.xyz[3*i+2] }

// chunk imports the city objects of one file, or of one line of a sequence.
func (d *decoder) chunk(f *rawFile, progress bool) error {
	verts, err := d.vertices(f.Vertices)
	if err != nil {
		return d.where(err)
	}
	objs, err := d.objects(f.CityObjects)
	if err != nil {
		return d.where(err)
	}
	byID := make(map[string]*object, len(objs))
	for i := range objs {
		byID[objs[i].id] = &objs[i]
	}
	for i := range objs {
		o := &objs[i]
		if progress && d.opts.Progress != nil && i%1000 == 0 {
			d.opts.Progress(i, len(objs))
		}
		switch o.raw.Type {
		case "Building":
		case "BuildingPart":
			if hasBuildingParent(o, byID) {
				continue // imported with its building
			}
		default:
			d.res.Ignored[o.raw.Type]++
			continue
		}
		if err := d.building(o, byID, verts); err != nil {
			return d.where(err)
		}
	}
	if progress && d.opts.Progress != nil {
		d.opts.Progress(len(objs), len(objs))
	}
	return nil
}

func hasBuildingParent(o *object, byID map[string]*object) bool {
	for _, p := range o.raw.Parents {
		if po, ok := byID[p]; ok && (po.raw.Type == "Building" || po.raw.Type == "BuildingPart") {
			return true
		}
	}
	return false
}

func (d *decoder) vertices(raw json.RawMessage) (*vertices, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return &vertices{}, nil
	}
	// Count before decoding, so that a hostile file is refused before it
	// is held in memory twice.
	if n := bytes.Count(raw, []byte("[")) - 1; n > d.lim.Vertices {
		return nil, fmt.Errorf("%w: vertices: more than %d", ErrLimit, d.lim.Vertices)
	}
	var vs [][]float64
	if err := json.Unmarshal(raw, &vs); err != nil {
		return nil, fmt.Errorf("%w: vertices: %s", ErrBadCityJSON, jsonErr(err))
	}
	out := &vertices{xyz: make([]float64, 0, 3*len(vs))}
	for i, v := range vs {
		if len(v) != 3 {
			return nil, fmt.Errorf("%w: vertices[%d]: want 3 numbers, got %d", ErrBadCityJSON, i, len(v))
		}
		for k := range 3 {
			c := v[k]*d.scale[k] + d.translate[k]
			if !finite(c) {
				return nil, fmt.Errorf("%w: vertices[%d]: coordinate %d is not finite after the transform (%v × %v + %v)", ErrBadCityJSON, i, k, v[k], d.scale[k], d.translate[k])
			}
			out.xyz = append(out.xyz, c)
		}
	}
	return out, nil
}

// objects reads CityObjects in order, refusing duplicate ids (which a
// plain JSON decoder would silently merge).
func (d *decoder) objects(raw json.RawMessage) ([]object, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("%w: CityObjects: missing", ErrBadCityJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: CityObjects: want an object", ErrBadCityJSON)
	}
	var objs []object
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: CityObjects: %s", ErrBadCityJSON, jsonErr(err))
		}
		id, _ := tok.(string)
		where := fmt.Sprintf("CityObjects[%q]", id)
		if id == "" {
			return nil, fmt.Errorf("%w: %s: empty id", ErrBadCityJSON, where)
		}
		if line, dup := d.seen[id]; dup {
			also := ""
			if line > 0 {
				also = fmt.Sprintf(" (also on line %d)", line)
			}
			return nil, &twin.FieldError{Field: where, Err: fmt.Errorf("%w%s", ErrDuplicateID, also)}
		}
		d.seen[id] = d.line
		if len(d.seen) > d.lim.Objects {
			return nil, fmt.Errorf("%w: more than %d city objects", ErrLimit, d.lim.Objects)
		}
		var o rawObject
		if err := dec.Decode(&o); err != nil {
			return nil, &twin.FieldError{Field: where, Err: fmt.Errorf("%w: %s", ErrBadCityJSON, jsonErr(err))}
		}
		if o.Type == "" {
			return nil, &twin.FieldError{Field: where + ".type", Err: fmt.Errorf("%w: missing", ErrBadCityJSON)}
		}
		objs = append(objs, object{id: id, raw: o})
	}
	return objs, nil
}

// part is one feature-to-be: a building or one of its parts.
type part struct {
	o     *object
	shape *shape
	attrs map[string]any
	root  string // the building's id, for parts
}

// building imports a Building (or an orphan BuildingPart) and its parts.
func (d *decoder) building(o *object, byID map[string]*object, verts *vertices) error {
	self, err := d.shape(o, verts)
	if err != nil {
		return err
	}
	var parts []part
	visited := map[string]bool{o.id: true}
	var walk func(p *object, depth int, attrs map[string]any) error
	walk = func(p *object, depth int, attrs map[string]any) error {
		if depth > 16 {
			return &twin.FieldError{Field: fmt.Sprintf("CityObjects[%q].children", p.id), Err: fmt.Errorf("%w: parts nested deeper than 16", ErrLimit)}
		}
		for _, cid := range p.raw.Children {
			c, ok := byID[cid]
			if !ok || visited[cid] || c.raw.Type != "BuildingPart" {
				continue
			}
			visited[cid] = true
			s, err := d.shape(c, verts)
			if err != nil {
				return err
			}
			merged := merge(attrs, c.raw.Attributes)
			if s != nil {
				parts = append(parts, part{o: c, shape: s, attrs: merged, root: o.id})
			}
			if err := walk(c, depth+1, merged); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(o, 0, o.raw.Attributes); err != nil {
		return err
	}
	if len(parts) == 0 {
		if self == nil {
			d.skip(o.id, "no surface or solid geometry")
			return nil
		}
		parts = []part{{o: o, shape: self, attrs: o.raw.Attributes}}
	}
	// The ground is the lowest point of the building and all its parts.
	ground := math.Inf(1)
	for _, p := range parts {
		ground = min(ground, p.shape.minZ)
	}
	if self != nil {
		ground = min(ground, self.minZ)
	}
	for _, p := range parts {
		f, err := d.feature(p, verts, ground)
		if err != nil {
			if d.opts.SkipInvalid && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrVertexIndex) {
				d.skip(p.o.id, err.Error())
				continue
			}
			return err
		}
		d.res.Features = append(d.res.Features, f)
	}
	return nil
}

func (d *decoder) skip(id, reason string) {
	d.res.Skipped = append(d.res.Skipped, Skip{ID: id, Reason: reason})
}

func merge(parent, own map[string]any) map[string]any {
	if len(parent) == 0 {
		return own
	}
	m := make(map[string]any, len(parent)+len(own))
	for k, v := range parent {
		m[k] = v
	}
	for k, v := range own {
		m[k] = v
	}
	return m
}

// shape reads an object's geometries, checks them, and returns the one to
// import: the highest level of detail among its surfaces and solids
// (solids first on a tie), or nil when it has none.
func (d *decoder) shape(o *object, verts *vertices) (*shape, error) {
	var best *shape
	for gi, raw := range o.raw.Geometry {
		where := fmt.Sprintf("CityObjects[%q].geometry[%d]", o.id, gi)
		s, err := d.readGeometry(raw, where, verts.n())
		if err != nil {
			return nil, err
		}
		if s == nil {
			continue
		}
		s.index = gi
		if best == nil || s.lod > best.lod || (s.lod == best.lod && s.solid && !best.solid) {
			best = s
		}
	}
	if best == nil {
		return nil, nil
	}
	best.minZ, best.maxZ = math.Inf(1), math.Inf(-1)
	for _, sf := range best.surfaces {
		for _, r := range sf.rings {
			for _, vi := range r {
				_, _, z := verts.at(vi)
				best.minZ = min(best.minZ, z)
				best.maxZ = max(best.maxZ, z)
			}
		}
	}
	return best, nil
}

// readGeometry decodes one geometry object; nil for types the import does
// not use (points, lines, instances of templates).
func (d *decoder) readGeometry(raw json.RawMessage, where string, nverts int) (*shape, error) {
	var g rawGeometry
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, &twin.FieldError{Field: where, Err: fmt.Errorf("%w: %s", ErrBadCityJSON, jsonErr(err))}
	}
	s := &shape{typ: g.Type}
	switch v := g.LoD.(type) {
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !finite(f) {
			return nil, &twin.FieldError{Field: where + ".lod", Err: fmt.Errorf("%w: %q is not a level of detail such as \"2.2\"", ErrBadCityJSON, v)}
		}
		s.lod, s.lodText = f, v
	case float64:
		s.lod, s.lodText = v, strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
	default:
		return nil, &twin.FieldError{Field: where + ".lod", Err: fmt.Errorf("%w: want a string such as \"2.2\"", ErrBadCityJSON)}
	}
	bad := func(err error) error {
		return &twin.FieldError{Field: where + ".boundaries", Err: fmt.Errorf("%w: %s for a %s", ErrBadCityJSON, jsonErr(err), g.Type)}
	}
	var sem []any // semantic values, nested as the boundaries
	if g.Semantics != nil && len(g.Semantics.Values) > 0 {
		if err := json.Unmarshal(g.Semantics.Values, &sem); err != nil {
			return nil, &twin.FieldError{Field: where + ".semantics.values", Err: fmt.Errorf("%w: %s", ErrBadCityJSON, jsonErr(err))}
		}
	}
	semType := func(path []int) string {
		// Walk the values down the path's shell/solid levels to the surface.
		var cur any = sem
		for _, i := range path {
			arr, ok := cur.([]any)
			if !ok || i >= len(arr) {
				return ""
			}
			cur = arr[i]
		}
		k, ok := cur.(float64)
		if !ok || g.Semantics == nil || k < 0 || k != math.Trunc(k) || int(k) >= len(g.Semantics.Surfaces) {
			return ""
		}
		return g.Semantics.Surfaces[int(k)].Type
	}
	add := func(rings [][]int, path []int) error {
		if len(s.surfaces) >= d.lim.Surfaces {
			return &twin.FieldError{Field: where + ".boundaries", Err: fmt.Errorf("%w: more than %d surfaces", ErrLimit, d.lim.Surfaces)}
		}
		if len(rings) == 0 {
			return &twin.FieldError{Field: where + ".boundaries" + idx(path), Err: fmt.Errorf("%w: a surface without rings", ErrBadCityJSON)}
		}
		if len(rings) > d.lim.Rings {
			return &twin.FieldError{Field: where + ".boundaries" + idx(path), Err: fmt.Errorf("%w: more than %d rings", ErrLimit, d.lim.Rings)}
		}
		for ri, r := range rings {
			rp := append(append([]int(nil), path...), ri)
			if len(r) < 3 {
				return &twin.FieldError{Field: where + ".boundaries" + idx(rp), Err: fmt.Errorf("%w: a ring needs at least 3 vertices, got %d", ErrBadCityJSON, len(r))}
			}
			if len(r) > d.lim.RingSize {
				return &twin.FieldError{Field: where + ".boundaries" + idx(rp), Err: fmt.Errorf("%w: more than %d vertices in a ring", ErrLimit, d.lim.RingSize)}
			}
			for k, vi := range r {
				if vi < 0 || vi >= nverts {
					return &twin.FieldError{Field: where + ".boundaries" + idx(append(rp, k)), Err: &VertexIndexError{Index: vi, Vertices: nverts}}
				}
			}
		}
		s.surfaces = append(s.surfaces, surface{rings: rings, sem: semType(path), path: path})
		return nil
	}
	switch g.Type {
	case "MultiSurface", "CompositeSurface":
		var b [][][]int
		if err := json.Unmarshal(g.Boundaries, &b); err != nil {
			return nil, bad(err)
		}
		for i, sf := range b {
			if err := add(sf, []int{i}); err != nil {
				return nil, err
			}
		}
	case "Solid":
		s.solid = true
		var b [][][][]int
		if err := json.Unmarshal(g.Boundaries, &b); err != nil {
			return nil, bad(err)
		}
		for i, shell := range b {
			for j, sf := range shell {
				if err := add(sf, []int{i, j}); err != nil {
					return nil, err
				}
			}
		}
	case "MultiSolid", "CompositeSolid":
		s.solid = true
		var b [][][][][]int
		if err := json.Unmarshal(g.Boundaries, &b); err != nil {
			return nil, bad(err)
		}
		for i, solid := range b {
			for j, shell := range solid {
				for k, sf := range shell {
					if err := add(sf, []int{i, j, k}); err != nil {
						return nil, err
					}
				}
			}
		}
	case "MultiPoint", "MultiLineString", "GeometryInstance":
		return nil, nil
	default:
		return nil, &twin.FieldError{Field: where + ".type", Err: fmt.Errorf("%w: unknown geometry type %q", ErrBadCityJSON, g.Type)}
	}
	if len(s.surfaces) == 0 {
		return nil, nil
	}
	return s, nil
}

func idx(path []int) string {
	var b strings.Builder
	for _, i := range path {
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(i))
		b.WriteByte(']')
	}
	return b.String()
}

// flatTolerance is how far above the lowest point (in the file's vertical
// unit, metres) a face may lie and still count as the bottom.
const flatTolerance = 0.05

// feature makes the twin feature of one building or part.
func (d *decoder) feature(p part, verts *vertices, ground float64) (*twin.Feature, error) {
	where := fmt.Sprintf("CityObjects[%q].geometry[%d]", p.o.id, p.shape.index)
	fp, how, err := d.footprint(p.shape, verts, where)
	if err != nil {
		return nil, err
	}
	f := &twin.Feature{
		ID:         d.opts.IDPrefix + p.o.id,
		Layer:      d.opts.Layer,
		Kind:       "building",
		Geometry:   fp,
		Base:       round(p.shape.minZ-ground, 100),
		Height:     round(p.shape.maxZ-p.shape.minZ, 100),
		Status:     twin.Standing,
		Source:     d.source,
		Confidence: twin.Sourced,
		Props:      map[string]any{"cityjson_type": p.o.raw.Type},
	}
	if p.o.raw.Type == "BuildingPart" {
		f.Kind = "building_part"
		f.Props["building"] = d.opts.IDPrefix + p.root
	}
	if p.shape.lodText != "" {
		f.Props["lod"] = p.shape.lodText
	}
	if how != "" {
		f.Props["footprint"] = how
	}
	flatten(f.Props, "", p.attrs, 0)
	if n, ok := p.attrs["name"].(string); ok {
		f.Name = n
	}
	if f.Height == 0 {
		// A footprint only (LoD 0): CityGML's measuredHeight, when given.
		if h, ok := p.attrs["measuredHeight"].(float64); ok && h > 0 && h <= 1000 {
			f.Height = h
		}
	}
	f.Life.From = d.opts.From
	if y, ok := year(p.attrs["yearOfConstruction"]); ok {
		f.Life.From = y
	} else {
		f.Props[twin.PropFromDefault] = true
	}
	if y, ok := year(p.attrs["yearOfDemolition"]); ok && y.After(f.Life.From) {
		f.Life.To = y
		f.Status = twin.Demolished
	}
	if !d.opts.NoSolid {
		if f.Solid, f.Surfaces, err = d.solid(p.shape, verts); err != nil {
			return nil, &twin.FieldError{Field: where, Err: err}
		}
	}
	if err := f.Validate(); err != nil {
		return nil, &twin.FieldError{Field: fmt.Sprintf("CityObjects[%q]", p.o.id), Err: err}
	}
	return f, nil
}

func round(v, k float64) float64 { return math.Round(v*k) / k }

// footprint is the 2D outline of a shape in lon/lat: its ground surfaces
// when the file marks them, else its faces at the lowest level, else the
// convex hull of all its vertices. how says which, when not the first.
func (d *decoder) footprint(s *shape, verts *vertices, where string) (orb.Geometry, string, error) {
	var faces []surface
	how := ""
	for _, sf := range s.surfaces {
		if sf.sem == "GroundSurface" {
			faces = append(faces, sf)
		}
	}
	if len(faces) == 0 {
		for _, sf := range s.surfaces {
			flat := true
			for _, vi := range sf.rings[0] {
				if _, _, z := verts.at(vi); z > s.minZ+flatTolerance {
					flat = false
					break
				}
			}
			if flat && projectedArea(sf.rings[0], verts) > 0 {
				faces = append(faces, sf)
			}
		}
	}
	var mp orb.MultiPolygon
	for _, sf := range faces {
		poly := make(orb.Polygon, 0, len(sf.rings))
		for ri, r := range sf.rings {
			ring := make(orb.Ring, 0, len(r)+1)
			for _, vi := range r {
				x, y, _ := verts.at(vi)
				ring = append(ring, orb.Point{x, y})
			}
			ring, err := footprint.Ring(ring)
			if err != nil {
				return nil, "", &twin.FieldError{Field: where + ".boundaries" + idx(append(append([]int(nil), sf.path...), ri)), Err: fmt.Errorf("%w: %w", ErrBadFootprint, err)}
			}
			poly = append(poly, ring)
		}
		mp = append(mp, poly)
	}
	if len(mp) == 0 {
		how = "convex hull"
		var flat []float64
		for _, sf := range s.surfaces {
			for _, r := range sf.rings {
				for _, vi := range r {
					x, y, _ := verts.at(vi)
					flat = append(flat, x, y)
				}
			}
		}
		hull, ok := xy.ConvexHullFlat(geom.XY, flat).(*geom.Polygon)
		if !ok {
			return nil, "", &twin.FieldError{Field: where, Err: fmt.Errorf("%w: its vertices span no area", ErrBadFootprint)}
		}
		ring := orb.Ring{}
		for _, c := range hull.LinearRing(0).Coords() {
			ring = append(ring, orb.Point{c[0], c[1]})
		}
		ring, err := footprint.Ring(ring)
		if err != nil {
			return nil, "", &twin.FieldError{Field: where, Err: fmt.Errorf("%w: %w", ErrBadFootprint, err)}
		}
		mp = orb.MultiPolygon{{ring}}
	}
	for _, poly := range mp {
		for _, ring := range poly {
			for i, pt := range ring {
				lon, lat := d.crs.ToWGS84(pt[0], pt[1])
				if !d.crs.InArea(lon, lat) || !finite(lon) || !finite(lat) {
					return nil, "", &twin.FieldError{Field: where, Err: fmt.Errorf("%w: (%v, %v) is not in the area of %v (it converts to lon %.5f, lat %.5f); is the declared system right, with easting first?",
						ErrOutsideCRS, pt[0], pt[1], d.crs, lon, lat)}
				}
				ring[i] = orb.Point{lon, lat}
			}
		}
		footprint.Orient(poly)
	}
	if len(mp) == 1 {
		return mp[0], how, nil
	}
	return mp, how, nil
}

func projectedArea(r []int, verts *vertices) float64 {
	var s float64
	for i := range r {
		x1, y1, _ := verts.at(r[i])
		x2, y2, _ := verts.at(r[(i+1)%len(r)])
		s += x1*y2 - x2*y1
	}
	return math.Abs(s) / 2
}

// solid is the shape's surfaces as a MultiPolygonZ in lon/lat and metres,
// with what each surface is when the file says (nil when it says of none).
func (d *decoder) solid(s *shape, verts *vertices) (geom.T, []twin.SurfaceType, error) {
	mp := geom.NewMultiPolygon(geom.XYZ)
	types := make([]twin.SurfaceType, 0, len(s.surfaces))
	known := false
	for _, sf := range s.surfaces {
		var rings [][]geom.Coord
		for _, r := range sf.rings {
			ring := make([]geom.Coord, 0, len(r)+1)
			for _, vi := range r {
				_, _, z := verts.at(vi)
				ll := verts.lonLat(d.crs, vi)
				lon, lat := ll[0], ll[1]
				if !finite(lon) || !finite(lat) {
					return nil, nil, fmt.Errorf("%w: vertex %d converts to no position", ErrOutsideCRS, vi)
				}
				ring = append(ring, geom.Coord{lon, lat, z})
			}
			ring = append(ring, ring[0])
			rings = append(rings, ring)
		}
		p, err := geom.NewPolygon(geom.XYZ).SetCoords(rings)
		if err != nil {
			return nil, nil, err
		}
		if err := mp.Push(p); err != nil {
			return nil, nil, err
		}
		t := surfaceType(sf.sem)
		known = known || t != twin.UnknownSurface
		types = append(types, t)
	}
	if !known {
		types = nil
	}
	return mp, types, nil
}

// surfaceType maps CityJSON's semantic surfaces of buildings to the twin's.
func surfaceType(sem string) twin.SurfaceType {
	switch sem {
	case "GroundSurface", "OuterFloorSurface":
		return twin.GroundSurface
	case "WallSurface", "ClosureSurface", "Window", "Door":
		return twin.WallSurface
	case "RoofSurface", "OuterCeilingSurface":
		return twin.RoofSurface
	}
	return twin.UnknownSurface
}

// The properties the importer sets besides the twin's schema
// (twin.IsReserved): an attribute named like either is kept as
// "attributes.<name>".
var ownProps = map[string]bool{
	"cityjson_type": true, "building": true, "lod": true, "footprint": true, twin.PropFromDefault: true,
}

func reserved(k string) bool { return twin.IsReserved(k) || ownProps[k] }

const (
	maxFlattenDepth = 3
	maxProps        = 200
)

// flatten copies strings, numbers and booleans into props; nested objects
// become "outer.inner" keys (three levels at most); arrays and nulls are
// left out.
func flatten(props map[string]any, prefix string, m map[string]any, depth int) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(props) >= maxProps {
			return
		}
		key := prefix + k
		if _, ok := m[k].(string); ok && prefix == "" && k == "name" {
			continue // the feature's name
		}
		if prefix == "" && reserved(k) {
			key = "attributes." + k
		}
		switch v := m[k].(type) {
		case string, float64, bool:
			props[key] = v
		case map[string]any:
			if depth+1 < maxFlattenDepth {
				flatten(props, key+".", v, depth+1)
			}
		}
	}
}

// year reads a year attribute: a number (1963) or a date string.
func year(v any) (time.Time, bool) {
	switch v := v.(type) {
	case float64:
		if v >= 1000 && v < 3000 && v == math.Trunc(v) {
			return time.Date(int(v), 1, 1, 0, 0, 0, 0, time.UTC), true
		}
	case string:
		if t, err := twin.ParseInstant(v); err == nil && t.Year() >= 1000 && t.Year() < 3000 {
			return t, true
		}
	}
	return time.Time{}, false
}
