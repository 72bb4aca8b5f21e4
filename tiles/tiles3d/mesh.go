package tiles3d

import (
	"math"

	"github.com/kiruna-twin/kiruna-twin/tiles/internal/earcut"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// maxFaceVertices bounds one face handed to the ear clipper, which is
// quadratic: a larger face (a hostile or absurd footprint) is left out of
// the mesh, and counted.
const maxFaceVertices = 5000

// mesh is one tile's triangles: flat-shaded, each face with its own
// vertices, in the tile's frame with glTF's axes (x east, y up, z south).
type mesh struct {
	pos    []float32 // x, y, z per vertex
	nrm    []float32
	col    []uint8 // r, g, b, a per vertex: the surface's shade
	fid    []uint32
	idx    []uint32
	frame  frame
	solids int // features drawn from their solid (LoD2+)
	blocks int // features drawn as extruded footprints (LoD1)
	faces  int // faces left out (too many vertices, or no area)
}

// The shades of the surfaces: walls light, roofs dark red-brown, the
// underside grey. A client multiplies them with its own colour per feature.
var shades = map[twin.SurfaceType][4]uint8{
	twin.WallSurface:   {240, 232, 216, 255},
	twin.RoofSurface:   {158, 88, 70, 255},
	twin.GroundSurface: {140, 140, 140, 255},
}

// vertex is a point of the feature in the tile's frame (east, north, up).
type vertex = [3]float64

// addFeature adds f's triangles with feature index id: its solid when it
// has one, else its footprint extruded from Base to Base + Height.
func (m *mesh) addFeature(f *twin.Feature, id uint32) {
	if mp := f.SolidPolygons(); mp != nil {
		lo, _ := f.SolidZRange()
		lift := f.Base - lo
		for i := 0; i < mp.NumPolygons(); i++ {
			p := mp.Polygon(i)
			rings := make([][]vertex, p.NumLinearRings())
			for j := range rings {
				flat := p.LinearRing(j).FlatCoords()
				r := make([]vertex, 0, len(flat)/3)
				for k := 0; k+2 < len(flat); k += 3 {
					r = append(r, m.local(flat[k], flat[k+1], flat[k+2]+lift))
				}
				rings[j] = r
			}
			st := twin.UnknownSurface
			if i < len(f.Surfaces) {
				st = f.Surfaces[i]
			}
			m.face(rings, st, id)
		}
		m.solids++
		return
	}
	var polys []orb.Polygon
	switch g := f.Geometry.(type) {
	case orb.Polygon:
		polys = []orb.Polygon{g}
	case orb.MultiPolygon:
		polys = g
	}
	bottom, top := f.Base, f.Base+f.Height
	for _, poly := range polys {
		floor := make([][]vertex, len(poly))
		roof := make([][]vertex, len(poly))
		for j, r := range poly {
			for _, pt := range r {
				floor[j] = append(floor[j], m.local(pt[0], pt[1], bottom))
				roof[j] = append(roof[j], m.local(pt[0], pt[1], top))
			}
		}
		for j := range poly {
			fl, rf := floor[j], roof[j]
			// A wall faces the right of its bottom edge: out of the
			// building when the outer ring turns counter-clockwise in plan
			// and a hole clockwise; turned round otherwise.
			area := 0.0
			for k := 0; k+1 < len(fl); k++ {
				area += fl[k][0]*fl[k+1][1] - fl[k+1][0]*fl[k][1]
			}
			turn := (area > 0) != (j == 0)
			for k := 0; k+1 < len(fl); k++ {
				q := []vertex{fl[k], fl[k+1], rf[k+1], rf[k]}
				if turn {
					q[0], q[1], q[2], q[3] = q[1], q[0], q[3], q[2]
				}
				if n := newell(q); n != (vertex{}) {
					m.polygon([][]vertex{q}, n, twin.WallSurface, id)
				}
			}
		}
		m.cap(roof, 1, twin.RoofSurface, id)
		if bottom > 0 {
			m.cap(floor, -1, twin.GroundSurface, id)
		}
	}
	m.blocks++
}

// local converts a lon/lat/height point to the tile's frame.
func (m *mesh) local(lon, lat, h float64) vertex { return m.frame.enu(ToECEF(lon, lat, h)) }

// cap adds a horizontal face of an extrusion, facing up (dir 1) or down
// (dir -1) whichever way its rings run.
func (m *mesh) cap(rings [][]vertex, dir float64, st twin.SurfaceType, id uint32) {
	n := newell(rings[0])
	if n == (vertex{}) {
		m.faces++
		return
	}
	if n[2]*dir < 0 {
		n = vertex{-n[0], -n[1], -n[2]}
	}
	m.polygon(rings, n, st, id)
}

// face adds a planar polygon (an outer ring and holes) facing the way its
// outer ring turns, with the surface's shade: st, or from its slope when
// unknown.
func (m *mesh) face(rings [][]vertex, st twin.SurfaceType, id uint32) {
	if len(rings) == 0 || len(rings[0]) < 3 {
		m.faces++
		return
	}
	n := newell(rings[0])
	if n == (vertex{}) {
		m.faces++
		return
	}
	if st == twin.UnknownSurface {
		switch {
		case n[2] < -0.5:
			st = twin.GroundSurface
		case math.Abs(n[2]) < 0.3:
			st = twin.WallSurface
		default:
			st = twin.RoofSurface
		}
	}
	m.polygon(rings, n, st, id)
}

// polygon triangulates rings (closed or open) in the plane of unit normal
// n and appends the triangles, turned to face n.
func (m *mesh) polygon(rings [][]vertex, n vertex, st twin.SurfaceType, id uint32) {
	// Project onto the plane's two axes with the normal's largest
	// component dropped.
	ax := 2
	if math.Abs(n[0]) > math.Abs(n[ax]) {
		ax = 0
	}
	if math.Abs(n[1]) > math.Abs(n[ax]) {
		ax = 1
	}
	u, v := (ax+1)%3, (ax+2)%3
	var flat []vertex
	proj := make([][][2]float64, 0, len(rings))
	total := 0
	for _, r := range rings {
		if len(r) > 1 && r[0] == r[len(r)-1] {
			r = r[:len(r)-1]
		}
		total += len(r)
		if total > maxFaceVertices {
			m.faces++
			return
		}
		pr := make([][2]float64, len(r))
		for k, p := range r {
			pr[k] = [2]float64{p[u], p[v]}
		}
		proj = append(proj, pr)
		flat = append(flat, r...)
	}
	tris := earcut.Triangulate(proj)
	if len(tris) == 0 {
		m.faces++
		return
	}
	// The clipper's triangles all turn one way in the projection: turn
	// them to face n if they do not.
	flip := false
	for t := 0; t+2 < len(tris); t += 3 {
		a, b, c := flat[tris[t]], flat[tris[t+1]], flat[tris[t+2]]
		if d := dot(cross3(sub(b, a), sub(c, a)), n); d != 0 {
			flip = d < 0
			break
		}
	}
	shade := shades[st]
	gn := [3]float32{float32(n[0]), float32(n[2]), float32(-n[1])}
	base := uint32(len(m.pos) / 3)
	for _, p := range flat {
		// glTF is y-up: x east, y up, z south.
		m.pos = append(m.pos, float32(p[0]), float32(p[2]), float32(-p[1]))
		m.nrm = append(m.nrm, gn[0], gn[1], gn[2])
		m.col = append(m.col, shade[0], shade[1], shade[2], shade[3])
		m.fid = append(m.fid, id)
	}
	for t := 0; t+2 < len(tris); t += 3 {
		a, b, c := uint32(tris[t]), uint32(tris[t+1]), uint32(tris[t+2])
		if flip {
			b, c = c, b
		}
		m.idx = append(m.idx, base+a, base+b, base+c)
	}
}

// newell returns the unit normal of a ring by Newell's method (robust for
// any planar polygon, convex or not), or zero when it has no area.
func newell(r []vertex) vertex {
	var n vertex
	for k := range r {
		a, b := r[k], r[(k+1)%len(r)]
		n[0] += (a[1] - b[1]) * (a[2] + b[2])
		n[1] += (a[2] - b[2]) * (a[0] + b[0])
		n[2] += (a[0] - b[0]) * (a[1] + b[1])
	}
	l := math.Sqrt(dot(n, n))
	if l < 1e-9 {
		return vertex{}
	}
	return vertex{n[0] / l, n[1] / l, n[2] / l}
}

func sub(a, b vertex) vertex { return vertex{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }

func cross3(a, b vertex) vertex {
	return vertex{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
