// Package crs converts coordinates from the reference systems that imported
// files declare (CityJSON's metadata.referenceSystem, for one) to WGS84
// longitude and latitude.
//
// It knows a small, tested set of systems: WGS84 and ETRS89 geographic,
// Web Mercator, SWEREF 99 TM and the twelve local SWEREF 99 zones (also with
// RH 2000 heights), and the UTM zones on WGS84 and ETRS89. The transverse
// Mercator systems use Krüger's formulas as Lantmäteriet publishes them
// (exact to a millimetre across a zone); SWEREF 99, ETRS89 and WGS84 are
// taken as one datum, as Lantmäteriet does for mapping (they differ by
// well under a metre).
package crs

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// ErrUnsupported marks a reference system this package cannot convert from.
var ErrUnsupported = errors.New("unsupported reference system")

// ErrBadIdentifier marks a reference system identifier that cannot be read.
var ErrBadIdentifier = errors.New("cannot read reference system identifier")

// CRS is a coordinate reference system that can be converted to WGS84.
type CRS struct {
	// Code is the EPSG code, e.g. 3006.
	Code int
	// Name is the system's name, e.g. "SWEREF 99 TM".
	Name string
	// Area is the system's area of use, widened by a margin, as
	// [west, south, east, north] degrees: a point converted to outside it
	// means the file's coordinates are not in this system.
	Area [4]float64

	toLonLat func(x, y float64) (lon, lat float64)
	fromLL   func(lon, lat float64) (x, y float64)
}

// String is "EPSG:3006 (SWEREF 99 TM)".
func (c *CRS) String() string { return fmt.Sprintf("EPSG:%d (%s)", c.Code, c.Name) }

// ToWGS84 converts x (easting or longitude) and y (northing or latitude) to
// WGS84 longitude and latitude in degrees. It does not check the result:
// see InArea.
func (c *CRS) ToWGS84(x, y float64) (lon, lat float64) { return c.toLonLat(x, y) }

// FromWGS84 is the inverse of ToWGS84.
func (c *CRS) FromWGS84(lon, lat float64) (x, y float64) { return c.fromLL(lon, lat) }

// InArea reports whether a converted point lies in the system's area of
// use (with its margin) and is finite.
func (c *CRS) InArea(lon, lat float64) bool {
	return lon >= c.Area[0] && lon <= c.Area[2] && lat >= c.Area[1] && lat <= c.Area[3]
}

// Geographic reports whether the system's coordinates are degrees.
func (c *CRS) Geographic() bool {
	return c.Code == 4326 || c.Code == 4258 || c.Code == 4979 || c.Code == 4619
}

// Parse reads a reference system identifier in the forms that files use:
// "https://www.opengis.net/def/crs/EPSG/0/3006" (CityJSON 2.0; http too),
// "urn:ogc:def:crs:EPSG::3006", "EPSG:3006", or the bare code "3006". It
// returns the EPSG code.
func Parse(id string) (int, error) {
	s := strings.TrimSpace(id)
	lower := strings.ToLower(s)
	var num string
	switch {
	case strings.HasPrefix(lower, "http://www.opengis.net/def/crs/epsg/"),
		strings.HasPrefix(lower, "https://www.opengis.net/def/crs/epsg/"):
		// .../EPSG/{version}/{code}
		parts := strings.Split(strings.TrimSuffix(s, "/"), "/")
		num = parts[len(parts)-1]
	case strings.HasPrefix(lower, "urn:ogc:def:crs:epsg:"):
		parts := strings.Split(s, ":")
		num = parts[len(parts)-1]
	case strings.HasPrefix(lower, "epsg:"):
		num = s[len("epsg:"):]
	default:
		num = s
	}
	code, err := strconv.Atoi(num)
	if err != nil || code <= 0 || code > 999999 {
		return 0, fmt.Errorf("%w %q (want e.g. https://www.opengis.net/def/crs/EPSG/0/3006 or EPSG:3006)", ErrBadIdentifier, truncate(id, 80))
	}
	return code, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Lookup parses id and returns its system.
func Lookup(id string) (*CRS, error) {
	code, err := Parse(id)
	if err != nil {
		return nil, err
	}
	return EPSG(code)
}

// EPSG returns the system with the given EPSG code, or an error wrapping
// ErrUnsupported that names the code and the supported ones.
func EPSG(code int) (*CRS, error) {
	if c := lookup(code); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("%w EPSG:%d (supported: %s)", ErrUnsupported, code, SupportedSummary)
}

// SupportedSummary lists the supported systems in words.
const SupportedSummary = "EPSG:4326, 4979, 4258 and 4619 (WGS84, ETRS89, SWEREF 99 geographic), 3857 (Web Mercator), " +
	"3006 (SWEREF 99 TM) and 5845 (SWEREF 99 TM + RH 2000), 3007 to 3018 (SWEREF 99 local zones), " +
	"32601 to 32660 and 32701 to 32760 (WGS 84 / UTM), 25828 to 25838 (ETRS89 / UTM)"

// Supported lists every supported EPSG code, ascending.
func Supported() []int {
	codes := []int{4326, 4979, 4258, 4619, 3857, 900913, 3006, 5845}
	for c := 3007; c <= 3018; c++ {
		codes = append(codes, c)
	}
	for z := 1; z <= 60; z++ {
		codes = append(codes, 32600+z, 32700+z)
	}
	for z := 28; z <= 38; z++ {
		codes = append(codes, 25800+z)
	}
	slices.Sort(codes)
	return codes
}

// The ellipsoids: semi-major axis and flattening.
var (
	grs80 = ellipsoid{a: 6378137, f: 1 / 298.257222101}
	wgs84 = ellipsoid{a: 6378137, f: 1 / 298.257223563}
)

// swerefZones are the central meridians of the local SWEREF 99 zones,
// EPSG:3007 to 3018, in order.
var swerefZones = []struct {
	lon0 float64
	name string
}{
	{12, "SWEREF 99 12 00"}, {13.5, "SWEREF 99 13 30"}, {15, "SWEREF 99 15 00"},
	{16.5, "SWEREF 99 16 30"}, {18, "SWEREF 99 18 00"}, {14.25, "SWEREF 99 14 15"},
	{15.75, "SWEREF 99 15 45"}, {17.25, "SWEREF 99 17 15"}, {18.75, "SWEREF 99 18 45"},
	{20.25, "SWEREF 99 20 15"}, {21.75, "SWEREF 99 21 45"}, {23.25, "SWEREF 99 23 15"},
}

// sweden is the area of use of SWEREF 99 (EPSG: 10.03, 54.96, 24.17,
// 69.07), widened by a degree.
var sweden = [4]float64{9, 54, 25.2, 70}

func identity(x, y float64) (float64, float64) { return x, y }

func lookup(code int) *CRS {
	switch {
	case code == 4326 || code == 4979:
		return &CRS{Code: code, Name: "WGS 84", Area: [4]float64{-180, -90, 180, 90}, toLonLat: identity, fromLL: identity}
	case code == 4258:
		return &CRS{Code: code, Name: "ETRS89", Area: [4]float64{-180, -90, 180, 90}, toLonLat: identity, fromLL: identity}
	case code == 4619:
		return &CRS{Code: code, Name: "SWEREF99", Area: [4]float64{-180, -90, 180, 90}, toLonLat: identity, fromLL: identity}
	case code == 3857 || code == 900913:
		return &CRS{Code: code, Name: "WGS 84 / Pseudo-Mercator", Area: [4]float64{-180, -85.07, 180, 85.07},
			toLonLat: webMercatorInverse, fromLL: webMercatorForward}
	case code == 3006 || code == 5845:
		name := "SWEREF 99 TM"
		if code == 5845 {
			name += " + RH2000 height"
		}
		return tmCRS(code, name, sweden, tm{e: grs80, lon0: 15, k0: 0.9996, fe: 500000})
	case code >= 3007 && code <= 3018:
		z := swerefZones[code-3007]
		return tmCRS(code, z.name, sweden, tm{e: grs80, lon0: z.lon0, k0: 1, fe: 150000})
	case code >= 32601 && code <= 32660:
		zone := code - 32600
		return tmCRS(code, fmt.Sprintf("WGS 84 / UTM zone %dN", zone), utmArea(zone, true),
			tm{e: wgs84, lon0: float64(zone*6 - 183), k0: 0.9996, fe: 500000})
	case code >= 32701 && code <= 32760:
		zone := code - 32700
		return tmCRS(code, fmt.Sprintf("WGS 84 / UTM zone %dS", zone), utmArea(zone, false),
			tm{e: wgs84, lon0: float64(zone*6 - 183), k0: 0.9996, fe: 500000, fn: 10000000})
	case code >= 25828 && code <= 25838:
		zone := code - 25800
		return tmCRS(code, fmt.Sprintf("ETRS89 / UTM zone %dN", zone), utmArea(zone, true),
			tm{e: grs80, lon0: float64(zone*6 - 183), k0: 0.9996, fe: 500000})
	}
	return nil
}

func tmCRS(code int, name string, area [4]float64, p tm) *CRS {
	p.init()
	return &CRS{Code: code, Name: name, Area: area, toLonLat: p.inverse, fromLL: p.forward}
}

// utmArea is a zone's six degrees widened by three on each side (UTM is
// often used beyond its zone) and its hemisphere.
func utmArea(zone int, north bool) [4]float64 {
	w := float64(zone*6-186) - 3
	e := float64(zone*6-180) + 3
	if north {
		return [4]float64{w, -1, e, 84.5}
	}
	return [4]float64{w, -80.5, e, 1}
}

// Web Mercator (EPSG:3857) on the sphere of radius a, as EPSG defines it.
const earthRadius = 6378137.0

func webMercatorInverse(x, y float64) (lon, lat float64) {
	lon = x / earthRadius * 180 / math.Pi
	lat = (2*math.Atan(math.Exp(y/earthRadius)) - math.Pi/2) * 180 / math.Pi
	return lon, lat
}

func webMercatorForward(lon, lat float64) (x, y float64) {
	x = earthRadius * lon * math.Pi / 180
	y = earthRadius * math.Log(math.Tan(math.Pi/4+lat*math.Pi/360))
	return x, y
}
