package kiruna

import (
	"math"

	"github.com/paulmach/orb"
)

// The mine's deformation front is modelled as a straight line running
// N20°E, parallel to the ore body, that moves east-south-east over the
// years. The line is a model; the dates it is calibrated to are sourced
// (facts/timeline.csv): it reaches the old station in 2013, the east edge
// of Ullspiran in 2017, the old town hall in 2019, the old E10 in 2020,
// Hjalmar Lundbohmsvägen and the church in 2025 and the east edge of the
// old centre in 2035.
//
// Positions are in a local frame in metres around frameOrigin: u across the
// front (east-south-east, growing away from the mine), v along it
// (north-north-east).

var frameOrigin = orb.Point{20.2, 67.85}

const (
	metresPerDegLat = 111_320.0
	frontAzimuth    = 20.0 // degrees east of north
)

var (
	metresPerDegLon = metresPerDegLat * math.Cos(frameOrigin[1]*math.Pi/180)
	// unit vectors in (east, north) metres
	alongE, alongN   = math.Sincos(frontAzimuth * math.Pi / 180)
	acrossE, acrossN = alongN, -alongE
)

// frameUV returns the local frame position of a lon/lat point.
func frameUV(p orb.Point) (u, v float64) {
	dx := (p[0] - frameOrigin[0]) * metresPerDegLon
	dy := (p[1] - frameOrigin[1]) * metresPerDegLat
	return dx*acrossE + dy*acrossN, dx*alongE + dy*alongN
}

// frameLonLat is the inverse of frameUV.
func frameLonLat(u, v float64) orb.Point {
	dx := u*acrossE + v*alongE
	dy := u*acrossN + v*alongN
	return orb.Point{frameOrigin[0] + dx/metresPerDegLon, frameOrigin[1] + dy/metresPerDegLat}
}

// frontCalibration is the front's position u (metres) at the start of each
// year; between them it moves linearly.
var frontCalibration = []struct{ year, u float64 }{
	{1960, -900},
	{1990, -350},
	{2004, 100},  // LKAB's forecast: the centre must move
	{2013, 425},  // the old station (u ≈ 423)
	{2017, 440},  // the east edge of Ullspiran (u ≈ 437)
	{2019, 955},  // the old town hall (u ≈ 950)
	{2020, 1010}, // the old E10, Silfwerbrandsgatan–Stationsgatan (placed at u = 1000)
	{2025, 1230}, // Hjalmar Lundbohmsvägen (u ≈ 1192, west of the church) and the church (u ≈ 1224)
	{2035, 1540}, // the east edge of the old centre (u ≤ 1536)
	{2041, 1660},
}

// frontU returns the front's position in a decimal year.
func frontU(year float64) float64 {
	c := frontCalibration
	if year <= c[0].year {
		return c[0].u
	}
	for i := 1; i < len(c); i++ {
		if year <= c[i].year {
			f := (year - c[i-1].year) / (c[i].year - c[i-1].year)
			return c[i-1].u + f*(c[i].u-c[i-1].u)
		}
	}
	return c[len(c)-1].u
}

// frontReaches returns the first whole year whose front covers position u,
// or 0 if none does before 2041.
func frontReaches(u float64) int {
	for y := 1960; y <= 2040; y++ {
		if frontU(float64(y)) >= u {
			return y
		}
	}
	return 0
}

// The extent of the zones along the front and their inner (mine-side) edge.
const (
	zoneVMin = -1800.0
	zoneVMax = 1420.0
	zoneUMin = -450.0
)

// Zone kinds, from the mine outwards, and how far behind the front each
// one's outer edge lies.
var zoneKinds = []struct {
	kind     string
	sv, en   string
	setback  float64
	fromYear int
}{
	{"caved", "Rasområde", "Caved zone", 650, 1960},
	{"fracture", "Sprickzon", "Fracture zone", 260, 1960},
	{"deformation", "Kontinuerlig deformation", "Continuous deformation", 0, 1960},
}

// zonePolygon is the band from the inner edge to outer (u) between the
// zone's ends along the front.
func zonePolygon(outer float64) orb.Polygon {
	ring := orb.Ring{
		frameLonLat(zoneUMin, zoneVMin),
		frameLonLat(outer, zoneVMin),
		frameLonLat(outer, zoneVMax),
		frameLonLat(zoneUMin, zoneVMax),
	}
	ring = append(ring, ring[0])
	return orb.Polygon{ring}
}

// minU is the smallest u of any vertex of g: where the front first touches it.
func minU(g orb.Geometry) float64 {
	m := math.Inf(1)
	walk(g, func(p orb.Point) {
		if u, _ := frameUV(p); u < m {
			m = u
		}
	})
	return m
}

// inZoneSpan reports whether any vertex of g lies within the zones' extent
// along the front.
func inZoneSpan(g orb.Geometry) bool {
	in := false
	walk(g, func(p orb.Point) {
		if _, v := frameUV(p); v >= zoneVMin && v <= zoneVMax {
			in = true
		}
	})
	return in
}

func walk(g orb.Geometry, fn func(orb.Point)) {
	switch g := g.(type) {
	case orb.Point:
		fn(g)
	case orb.LineString:
		for _, p := range g {
			fn(p)
		}
	case orb.Ring:
		for _, p := range g {
			fn(p)
		}
	case orb.Polygon:
		for _, r := range g {
			walk(r, fn)
		}
	case orb.MultiLineString:
		for _, l := range g {
			walk(l, fn)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			walk(p, fn)
		}
	}
}
