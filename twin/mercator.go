package twin

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"
)

// MaxLatitude is where Web Mercator's square world ends, north and south:
// atan(sinh(π)) in degrees. The poles themselves cannot be projected.
const MaxLatitude = 85.05112877980659

// halfWorld is the distance from the prime meridian to ±180° in the
// metres of project.WGS84.ToMercator, which clamps y to ±halfWorld.
const halfWorld = orb.EarthRadius * math.Pi

// UnitMercator projects a lon/lat point to Web Mercator in the unit square:
// x east, 0 at −180° and 1 at 180°; y south, 0 at MaxLatitude and 1 at
// −MaxLatitude. Latitudes beyond ±MaxLatitude (up to the poles and past
// them) are clamped to it, so y stays within 0…1. It is the one projection
// of the index (Feature.Mercator) and of the tiles' invalidation.
func UnitMercator(p orb.Point) orb.Point {
	m := project.WGS84.ToMercator(p)
	x, y := 0.5+m[0]/(2*halfWorld), 0.5-m[1]/(2*halfWorld)
	switch { // exactly the edges: ToMercator's own clamp rounds near them
	case p[1] >= MaxLatitude:
		y = 0
	case p[1] <= -MaxLatitude:
		y = 1
	}
	return orb.Point{x, y}
}

// ToMercator projects a lon/lat geometry to the Web Mercator unit square
// by UnitMercator. The input is not modified.
func ToMercator(g orb.Geometry) orb.Geometry {
	return project.Geometry(orb.Clone(g), UnitMercator)
}
