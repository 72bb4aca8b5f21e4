// Package shape builds simple 3D building shapes — the solids of
// twin.Feature.Solid — from a footprint, heights and a roof shape: LoD1
// blocks and LoD2 roofs of the common kinds that OpenStreetMap's
// roof:shape names (flat, gabled, hipped, pyramidal). Importers use it for
// tagged buildings and building parts, scene generators for landmarks.
//
// A roof is a height field over the footprint: the lowest of a few planes
// (two for a gable, four for a hip or a pyramid), laid along the
// footprint's longest edge. Each plane's part of the footprint is one roof
// face; each wall follows the roof line along its top, so gable ends rise
// to the ridge. Coordinates are lon/lat degrees and metres above the
// ground, as twin.Feature.Solid holds them.
package shape

import (
	"errors"
	"fmt"
	"math"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
)

// Roof is a roof shape, with OpenStreetMap's names.
type Roof string

// The roof shapes.
const (
	Flat      Roof = "flat"
	Gabled    Roof = "gabled"
	Hipped    Roof = "hipped"
	Pyramidal Roof = "pyramidal"
)

// ParseRoof reads an OSM roof:shape value; ok is false for shapes this
// package does not build (they are drawn flat).
func ParseRoof(s string) (Roof, bool) {
	switch r := Roof(s); r {
	case Flat, Gabled, Hipped, Pyramidal:
		return r, true
	}
	return Flat, false
}

// Part is one block of a building: a footprint raised from Base to Eaves,
// with a roof up to Top.
type Part struct {
	Footprint orb.Polygon // lon/lat; the outer ring and any holes
	Base      float64     // metres above the ground of its bottom
	Eaves     float64     // metres above the ground of the top of its walls
	Top       float64     // metres above the ground of the ridge or apex; Eaves for a flat roof
	Roof      Roof
	// Across lays the ridge across the footprint's longest edge instead of
	// along it (OSM roof:orientation=across).
	Across bool
}

// ErrBadPart marks a part that makes no solid.
var ErrBadPart = errors.New("bad building part")

// Solid is a feature's 3D shape: the polygons and what each one is, as
// twin.Feature.Solid and Feature.Surfaces hold them.
type Solid struct {
	Polygons *geom.MultiPolygon
	Surfaces []twin.SurfaceType
}

// Build makes one solid of all the parts.
func Build(parts ...Part) (Solid, error) {
	s := Solid{Polygons: geom.NewMultiPolygon(geom.XYZ)}
	for i, p := range parts {
		if err := p.build(&s); err != nil {
			return Solid{}, fmt.Errorf("part %d: %w", i, err)
		}
	}
	return s, nil
}

// Apply sets f's solid to s, and its Base and Height to the solid's
// lowest and highest points.
func (s Solid) Apply(f *twin.Feature) {
	f.Solid, f.Surfaces = s.Polygons, s.Surfaces
	lo, hi := f.SolidZRange()
	f.Base = math.Round(lo*100) / 100
	f.Height = math.Round((hi-lo)*100) / 100
}

// frame maps lon/lat to metres east and north of an origin, as
// synth.Offset does: exact enough for a building.
type frame struct{ lon0, lat0, kx, ky float64 }

const metresPerDegree = 111_320.0

func newFrame(c orb.Point) frame {
	return frame{c[0], c[1], metresPerDegree * math.Cos(c[1]*math.Pi/180), metresPerDegree}
}

func (f frame) toXY(p orb.Point) [2]float64 {
	return [2]float64{(p[0] - f.lon0) * f.kx, (p[1] - f.lat0) * f.ky}
}

func (f frame) toLL(x, y float64) (float64, float64) { return f.lon0 + x/f.kx, f.lat0 + y/f.ky }

// plane is z = a + bu·u + bv·v in the roof's frame.
type plane struct{ a, bu, bv float64 }

func (p plane) at(u, v float64) float64 { return p.a + p.bu*u + p.bv*v }

func (p Part) build(s *Solid) error {
	if len(p.Footprint) == 0 || len(p.Footprint[0]) < 4 {
		return fmt.Errorf("%w: a footprint needs a ring of at least 4 positions", ErrBadPart)
	}
	for _, h := range []float64{p.Base, p.Eaves, p.Top} {
		if math.IsNaN(h) || math.IsInf(h, 0) || h < -100 || h > twin.MaxSolidZRange {
			return fmt.Errorf("%w: height %v", ErrBadPart, h)
		}
	}
	if !(p.Eaves > p.Base) || p.Top < p.Eaves {
		return fmt.Errorf("%w: want base < eaves ≤ top, got %v, %v, %v", ErrBadPart, p.Base, p.Eaves, p.Top)
	}
	start := s.Polygons.NumPolygons()
	fr := newFrame(p.Footprint.Bound().Center())
	// Rings in metres, outer counter-clockwise, holes clockwise, open.
	rings := make([][][2]float64, 0, len(p.Footprint))
	for i, r := range p.Footprint {
		pts := make([][2]float64, 0, len(r))
		for _, q := range r {
			xy := fr.toXY(q)
			if n := len(pts); n > 0 && near(pts[n-1], xy) {
				continue
			}
			pts = append(pts, xy)
		}
		if len(pts) > 1 && near(pts[0], pts[len(pts)-1]) {
			pts = pts[:len(pts)-1]
		}
		if len(pts) < 3 {
			return fmt.Errorf("%w: ring %d has fewer than 3 distinct positions", ErrBadPart, i)
		}
		if ccw := area(pts) > 0; ccw != (i == 0) {
			reverse(pts)
		}
		rings = append(rings, pts)
	}
	// The roof's frame: u along the ridge, v across it.
	theta := longestEdge(rings[0])
	if p.Across {
		theta += math.Pi / 2
	}
	sin, cos := math.Sincos(theta)
	toUV := func(q [2]float64) (float64, float64) { return q[0]*cos + q[1]*sin, -q[0]*sin + q[1]*cos }
	u0, u1, v0, v1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, q := range rings[0] {
		u, v := toUV(q)
		u0, u1, v0, v1 = min(u0, u), max(u1, u), min(v0, v), max(v1, v)
	}
	uc, vc, L, W := (u0+u1)/2, (v0+v1)/2, (u1-u0)/2, (v1-v0)/2
	H := p.Top - p.Eaves
	roof := p.Roof
	if H < 0.01 || W < 0.01 || L < 0.01 {
		roof = Flat
	}
	var planes []plane
	// Each plane in u, v: a + bu·u + bv·v.
	across := func(k float64) plane { // falls by H over W from the ridge line v = vc
		return plane{p.Eaves + H + k*H*vc/W, 0, -k * H / W}
	}
	along := func(k, reach float64) plane { // falls by H over W towards the end u = uc ± L
		return plane{p.Eaves + H*reach/W + k*H*uc/W, -k * H / W, 0}
	}
	switch roof {
	case Gabled:
		planes = []plane{across(1), across(-1)}
	case Hipped:
		planes = []plane{across(1), across(-1), along(1, L), along(-1, L)}
	case Pyramidal:
		planes = []plane{across(1), across(-1),
			{p.Eaves + H + H*uc/L, -H / L, 0}, {p.Eaves + H - H*uc/L, H / L, 0}}
	default:
		planes = []plane{{p.Top, 0, 0}}
	}
	field := func(q [2]float64) float64 {
		u, v := toUV(q)
		z := math.Inf(1)
		for _, pl := range planes {
			z = min(z, pl.at(u, v))
		}
		return max(z, p.Eaves)
	}
	push := func(t twin.SurfaceType, rs [][][3]float64) error {
		coords := make([][]geom.Coord, len(rs))
		for i, r := range rs {
			cs := make([]geom.Coord, 0, len(r)+1)
			for _, q := range r {
				lon, lat := fr.toLL(q[0], q[1])
				cs = append(cs, geom.Coord{lon, lat, q[2]})
			}
			coords[i] = append(cs, cs[0])
		}
		poly, err := geom.NewPolygon(geom.XYZ).SetCoords(coords)
		if err != nil {
			return err
		}
		s.Surfaces = append(s.Surfaces, t)
		return s.Polygons.Push(poly)
	}
	// The floor, facing down.
	floor := make([][][3]float64, len(rings))
	for i, r := range rings {
		ring := make([][3]float64, len(r))
		for k, q := range r {
			ring[len(r)-1-k] = [3]float64{q[0], q[1], p.Base}
		}
		floor[i] = ring
	}
	if err := push(twin.GroundSurface, floor); err != nil {
		return err
	}
	// The walls, each edge split where the roof line bends.
	for _, r := range rings {
		for k := range r {
			a, b := r[k], r[(k+1)%len(r)]
			ts := []float64{0, 1}
			au, av := toUV(a)
			bu, bv := toUV(b)
			for i := range planes {
				for j := i + 1; j < len(planes); j++ {
					da := planes[i].at(au, av) - planes[j].at(au, av)
					db := planes[i].at(bu, bv) - planes[j].at(bu, bv)
					if (da < 0) != (db < 0) && da != db {
						if t := da / (da - db); t > 1e-9 && t < 1-1e-9 {
							ts = append(ts, t)
						}
					}
				}
			}
			sortFloats(ts)
			wall := [][3]float64{{a[0], a[1], p.Base}, {b[0], b[1], p.Base}}
			for i := len(ts) - 1; i >= 0; i-- {
				q := [2]float64{a[0] + ts[i]*(b[0]-a[0]), a[1] + ts[i]*(b[1]-a[1])}
				wall = append(wall, [3]float64{q[0], q[1], field(q)})
			}
			if err := push(twin.WallSurface, [][][3]float64{wall}); err != nil {
				return err
			}
		}
	}
	// The roof: each plane over the part of the footprint where it is the
	// lowest.
	for i, pl := range planes {
		var faces [][][3]float64
		for ri, r := range rings {
			clipped := r
			for j, other := range planes {
				if j != i {
					clipped = clipHalf(clipped, pl, other, toUV)
				}
			}
			if len(clipped) < 3 || math.Abs(area(clipped)) < 1e-6 {
				continue
			}
			if ri > 0 && math.Abs(area(clipped)-area(r)) > 1e-6*math.Abs(area(r)) {
				// A courtyard that a roof line crosses: roof the part as
				// flat at its eaves instead of guessing.
				return p.flatInstead(s, start)
			}
			face := make([][3]float64, len(clipped))
			for k, q := range clipped {
				u, v := toUV(q)
				face[k] = [3]float64{q[0], q[1], max(pl.at(u, v), p.Eaves)}
			}
			if ri == 0 {
				faces = append([][][3]float64{face}, faces...)
			} else if len(faces) > 0 {
				faces = append(faces, face)
			}
		}
		if len(faces) > 0 {
			if err := push(twin.RoofSurface, faces); err != nil {
				return err
			}
		}
	}
	return nil
}

// flatInstead replaces what build pushed for this part from polygon start
// on with the same part under a flat roof at its top.
func (p Part) flatInstead(s *Solid, start int) error {
	mp := geom.NewMultiPolygon(geom.XYZ)
	for i := 0; i < start; i++ {
		if err := mp.Push(s.Polygons.Polygon(i)); err != nil {
			return err
		}
	}
	s.Polygons, s.Surfaces = mp, s.Surfaces[:start]
	q := p
	q.Roof, q.Eaves = Flat, p.Top
	return q.build(s)
}

// clipHalf keeps the part of ring r where plane p is not above plane o
// (Sutherland–Hodgman against one half-plane).
func clipHalf(r [][2]float64, p, o plane, toUV func([2]float64) (float64, float64)) [][2]float64 {
	if len(r) == 0 {
		return nil
	}
	d := func(q [2]float64) float64 { u, v := toUV(q); return p.at(u, v) - o.at(u, v) }
	out := make([][2]float64, 0, len(r)+2)
	for k := range r {
		a, b := r[k], r[(k+1)%len(r)]
		da, db := d(a), d(b)
		if da <= 1e-9 {
			out = append(out, a)
		}
		if (da <= 1e-9) != (db <= 1e-9) {
			t := da / (da - db)
			q := [2]float64{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
			if n := len(out); n == 0 || !near(out[n-1], q) {
				out = append(out, q)
			}
		}
	}
	if n := len(out); n > 1 && near(out[0], out[n-1]) {
		out = out[:n-1]
	}
	return out
}

func near(a, b [2]float64) bool { return math.Abs(a[0]-b[0]) < 1e-6 && math.Abs(a[1]-b[1]) < 1e-6 }

// area is the ring's signed area: positive when counter-clockwise.
func area(r [][2]float64) float64 {
	s := 0.0
	for k := range r {
		a, b := r[k], r[(k+1)%len(r)]
		s += a[0]*b[1] - b[0]*a[1]
	}
	return s / 2
}

func reverse(r [][2]float64) {
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
}

// longestEdge is the direction of the ring's longest edge, in radians.
func longestEdge(r [][2]float64) float64 {
	best, theta := -1.0, 0.0
	for k := range r {
		a, b := r[k], r[(k+1)%len(r)]
		if l := math.Hypot(b[0]-a[0], b[1]-a[1]); l > best+1e-9 {
			best, theta = l, math.Atan2(b[1]-a[1], b[0]-a[0])
		}
	}
	return theta
}

func sortFloats(s []float64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
