package tiles

import (
	"math"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
)

// A feature of many vertices (a company's pilot may hold 100,000 in one
// line or ring) would make every MaxZoom tile it touches walk and clip all
// of them. Such a feature is cut once, when its layer is prepared, into
// one piece per MaxZoom tile it reaches, each clipped to that tile and its
// buffer: a MaxZoom tile then draws only its own piece. Below MaxZoom the
// simplified copies keep tiles small.

// pieceFrom is the number of vertices above which a line or area is cut
// into pieces for MaxZoom.
const pieceFrom = 4096

// piece is the part of a feature inside one MaxZoom tile and its buffer.
type piece struct {
	geom  orb.Geometry // Mercator unit square
	bound orb.Bound
}

// cutPieces cuts g (Mercator unit square) into pieces keyed by
// pieceKey(x, y) of zoom z, each clipped to its tile grown by buffer
// (in tile units of Extent). It cuts by quadrants from the zoom at which g
// spans a few tiles down to z, so that each level clips only what the
// level above kept: about a vertex count's worth of work per level.
func cutPieces(g orb.Geometry, z int, buffer int) map[uint64]piece {
	b := g.Bound()
	size := max(b.Max[0]-b.Min[0], b.Max[1]-b.Min[1], 1e-12)
	z0 := min(z, max(0, int(math.Floor(math.Log2(1/size)))))
	grow := float64(buffer) / Extent / float64(uint64(1)<<z)
	cell := func(zz, x, y int) orb.Bound {
		n := float64(uint64(1) << zz)
		return orb.Bound{Min: orb.Point{float64(x)/n - grow, float64(y)/n - grow}, Max: orb.Point{float64(x+1)/n + grow, float64(y+1)/n + grow}}
	}
	type part struct {
		x, y int
		g    orb.Geometry
	}
	n0 := float64(uint64(1) << z0)
	var level []part
	for x := int(b.Min[0] * n0); x <= int(b.Max[0]*n0) && float64(x) < n0; x++ {
		for y := int(b.Min[1] * n0); y <= int(b.Max[1]*n0) && float64(y) < n0; y++ {
			if c := clipped(cell(z0, x, y), g); c != nil {
				level = append(level, part{x, y, c})
			}
		}
	}
	for zz := z0 + 1; zz <= z; zz++ {
		next := make([]part, 0, 2*len(level))
		for _, p := range level {
			for _, d := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				x, y := 2*p.x+d[0], 2*p.y+d[1]
				if c := clipped(cell(zz, x, y), p.g); c != nil {
					next = append(next, part{x, y, c})
				}
			}
		}
		level = next
	}
	out := make(map[uint64]piece, len(level))
	for _, p := range level {
		out[pieceKey(p.x, p.y)] = piece{geom: p.g, bound: p.g.Bound()}
	}
	return out
}

// clipped returns g clipped to b, a new geometry (nil when nothing is
// left), leaving g as it was.
func clipped(b orb.Bound, g orb.Geometry) orb.Geometry {
	if !b.Intersects(g.Bound()) {
		return nil
	}
	c := clip.Geometry(b, orb.Clone(g))
	if c == nil || twin.VertexCount(c) == 0 {
		return nil
	}
	return c
}

func pieceKey(x, y int) uint64 { return uint64(x)<<32 | uint64(uint32(y)) }
