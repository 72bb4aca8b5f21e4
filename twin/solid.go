package twin

import (
	"errors"
	"fmt"
	"math"

	"github.com/twpayne/go-geom"
)

// A feature's 3D shape. Feature.Solid is a *geom.MultiPolygon of layout
// XYZ: one planar polygon per boundary surface (with holes where a surface
// has them), x and y in WGS84 degrees, z in metres. The z values may be in
// any vertical datum (a CityJSON file's own heights, or metres above the
// ground): writers place the solid's lowest point at the feature's Base
// above the ground, as the 2D footprint's extrusion is. Feature.Surfaces
// says what each polygon is, in the polygons' order. The footprint,
// Height and Base stay what they are without the solid: tiles, features
// and every 2D writer use them.

// SurfaceType is what a boundary surface of a solid is, after CityGML's
// semantic surfaces.
type SurfaceType uint8

// The surface types. Unknown surfaces are classed by their slope when
// drawn (facing down: ground; steep: wall; else roof).
const (
	UnknownSurface SurfaceType = iota
	GroundSurface              // the bottom, on the ground or over it (CityGML Ground-, OuterFloorSurface)
	WallSurface                // walls, with their windows, doors and closures
	RoofSurface                // roofs and the undersides of overhangs (CityGML OuterCeilingSurface)
)

var surfaceNames = [...]string{"", "ground", "wall", "roof"}

// String returns the type's name: "ground", "wall", "roof" or "" (unknown).
func (t SurfaceType) String() string {
	if int(t) < len(surfaceNames) {
		return surfaceNames[t]
	}
	return ""
}

// ErrBadSurface marks a surface type that is not one of the names.
var ErrBadSurface = errors.New("unknown surface type")

// ParseSurfaceType reads a name that String writes; "" is UnknownSurface.
func ParseSurfaceType(s string) (SurfaceType, error) {
	for i, n := range surfaceNames {
		if n == s {
			return SurfaceType(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q (known: ground, wall, roof, or empty)", ErrBadSurface, s)
}

// ErrBadSolid marks a solid that cannot be drawn.
var ErrBadSolid = errors.New("bad solid")

// SolidPolygons returns f's solid as a MultiPolygon, or nil when f has
// none.
func (f *Feature) SolidPolygons() *geom.MultiPolygon {
	mp, _ := f.Solid.(*geom.MultiPolygon)
	return mp
}

// MaxSolidZRange is the most metres between a solid's lowest and highest
// points: the tallest building is under 1 km.
const MaxSolidZRange = 1000

// validateSolid checks the solid, when there is one: a MultiPolygonZ of
// finite coordinates inside WGS84, rings of at least three positions, at
// most MaxSolidZRange metres tall, and Surfaces empty or one per polygon.
func (f *Feature) validateSolid() error {
	if f.Solid == nil {
		if len(f.Surfaces) > 0 {
			return fieldErr("solid.semantics", fmt.Errorf("%w: surfaces without a solid", ErrBadSolid))
		}
		return nil
	}
	mp, ok := f.Solid.(*geom.MultiPolygon)
	if !ok {
		return fieldErr("solid", fmt.Errorf("%w: want a MultiPolygon, got %T", ErrBadSolid, f.Solid))
	}
	if mp.Layout() != geom.XYZ {
		return fieldErr("solid", fmt.Errorf("%w: want coordinates x, y, z, got layout %v", ErrBadSolid, mp.Layout()))
	}
	if mp.NumPolygons() == 0 {
		return fieldErr("solid", fmt.Errorf("%w: no surfaces", ErrBadSolid))
	}
	if len(f.Surfaces) != 0 && len(f.Surfaces) != mp.NumPolygons() {
		return fieldErr("solid.semantics", fmt.Errorf("%w: %d surface types for %d surfaces", ErrBadSolid, len(f.Surfaces), mp.NumPolygons()))
	}
	for i := range f.Surfaces {
		if f.Surfaces[i] > RoofSurface {
			return fieldErr(fmt.Sprintf("solid.semantics[%d]", i), fmt.Errorf("%w: %d", ErrBadSurface, f.Surfaces[i]))
		}
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := 0; i < mp.NumPolygons(); i++ {
		p := mp.Polygon(i)
		for j := 0; j < p.NumLinearRings(); j++ {
			r := p.LinearRing(j)
			if r.NumCoords() < 3 {
				return fieldErr(fmt.Sprintf("solid.coordinates[%d][%d]", i, j), fmt.Errorf("%w: a ring of %d positions", ErrBadSolid, r.NumCoords()))
			}
			flat := r.FlatCoords()
			for k := 0; k+2 < len(flat); k += 3 {
				lon, lat, z := flat[k], flat[k+1], flat[k+2]
				if !(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90) || math.IsNaN(z) || math.IsInf(z, 0) {
					return fieldErr(fmt.Sprintf("solid.coordinates[%d][%d][%d]", i, j, k/3), fmt.Errorf("%w: [%v, %v, %v]", ErrOutOfRange, lon, lat, z))
				}
				lo, hi = min(lo, z), max(hi, z)
			}
		}
	}
	if hi-lo > MaxSolidZRange {
		return fieldErr("solid", fmt.Errorf("%w: %.0f m from its lowest to its highest point (at most %d)", ErrBadSolid, hi-lo, MaxSolidZRange))
	}
	return nil
}

// SolidZRange returns the lowest and highest z of f's solid (0, 0 when it
// has none).
func (f *Feature) SolidZRange() (lo, hi float64) {
	mp := f.SolidPolygons()
	if mp == nil {
		return 0, 0
	}
	flat := mp.FlatCoords()
	if len(flat) < 3 {
		return 0, 0
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for k := 2; k < len(flat); k += 3 {
		lo, hi = min(lo, flat[k]), max(hi, flat[k])
	}
	return lo, hi
}
