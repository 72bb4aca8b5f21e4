package crs

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		code int
		bad  bool
	}{
		{"https://www.opengis.net/def/crs/EPSG/0/3006", 3006, false},
		{"http://www.opengis.net/def/crs/EPSG/0/7415", 7415, false},
		{"https://www.opengis.net/def/crs/EPSG/0/3006/", 3006, false},
		{"urn:ogc:def:crs:EPSG::4326", 4326, false},
		{"urn:ogc:def:crs:EPSG:9.8.15:3857", 3857, false},
		{"EPSG:3006", 3006, false},
		{"epsg:32634", 32634, false},
		{" 3006 ", 3006, false},
		{"", 0, true},
		{"EPSG:", 0, true},
		{"EPSG:-4", 0, true},
		{"https://www.opengis.net/def/crs/OGC/1.3/CRS84x", 0, true},
		{"SWEREF99 TM", 0, true},
		{"EPSG:99999999999999999999", 0, true},
	}
	for _, tc := range tests {
		code, err := Parse(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrBadIdentifier) {
				t.Errorf("Parse(%q) = %d, %v; want ErrBadIdentifier", tc.in, code, err)
			}
			continue
		}
		if err != nil || code != tc.code {
			t.Errorf("Parse(%q) = %d, %v; want %d", tc.in, code, err, tc.code)
		}
	}
}

func TestUnsupportedNamesTheCode(t *testing.T) {
	_, err := Lookup("https://www.opengis.net/def/crs/EPSG/0/7415")
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
	if !strings.Contains(err.Error(), "EPSG:7415") || !strings.Contains(err.Error(), "3006") {
		t.Errorf("error %q should name the code and the supported ones", err)
	}
}

// Lantmäteriet's worked example of Krüger's formulas, from "Gauss Conformal
// Projection (Transverse Mercator), Krüger's Formulas" (Lantmäteriet,
// geodesy formula collection): on GRS 80, central meridian 13°35'07.692"
// (13.58547°), scale 1.000002540000, false northing −6 226 307.8640 m,
// false easting 84 182.8790 m, the point φ 66°, λ 24° is x (north)
// 1 135 809.4138 m, y (east) 555 304.0166 m. (The same figures are the
// test case of the kasper-i/sweref99 implementation of those formulas.)
func TestKrugerLantmaterietExample(t *testing.T) {
	p := tm{e: grs80, lon0: 13.58547, k0: 1.000002540000, fe: 84182.8790, fn: -6226307.8640}
	p.init()
	e, n := p.forward(24, 66)
	if math.Abs(n-1135809.4138) > 0.001 || math.Abs(e-555304.0166) > 0.001 {
		t.Errorf("forward(24, 66) = E %.4f N %.4f, want E 555304.0166 N 1135809.4138 (±1 mm)", e, n)
	}
	lon, lat := p.inverse(555304.016555, 1135809.413803)
	// 1e-8 degrees is about a millimetre.
	if math.Abs(lon-24) > 1e-8 || math.Abs(lat-66) > 1e-8 {
		t.Errorf("inverse = %.10f, %.10f; want 24, 66", lon, lat)
	}
}

// Published pairs of coordinates of the same point.
func TestControlPoints(t *testing.T) {
	tests := []struct {
		name     string
		code     int
		x, y     float64 // in the system
		lon, lat float64 // WGS84
		tolM     float64 // metres: the precision the pair is published to
		source   string
	}{
		{
			name: "Stockholm Central Station", code: 3006,
			x: 674032, y: 6580822, lon: 18.059196, lat: 59.330231, tolM: 1.5,
			source: "Eniro map (kartor.eniro.se/m/XRCfh), both coordinates to the metre; the test point of MightyLittleGeodesy and sweden_crs_transformations",
		},
		{
			name: "IOGP Guidance Note 7-2 Pseudo-Mercator example", code: 3857,
			x: -11169055.58, y: 2800000.00, lon: -(100 + 20.0/60), lat: 24 + 22.0/60 + 54.433/3600, tolM: 0.01,
			source: "IOGP Publication 373-7-2, §1.3.3.2 (Popular Visualisation Pseudo Mercator), worked example",
		},
		{
			name: "origin of UTM zone 33N", code: 32633,
			x: 500000, y: 0, lon: 15, lat: 0, tolM: 0.001,
			source: "the UTM definition: the central meridian at the equator is (500 000, 0)",
		},
		{
			name: "origin of UTM zone 33S", code: 32733,
			x: 500000, y: 10000000, lon: 15, lat: 0, tolM: 0.001,
			source: "the UTM definition: false northing 10 000 000 m in the south",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := EPSG(tc.code)
			if err != nil {
				t.Fatal(err)
			}
			lon, lat := c.ToWGS84(tc.x, tc.y)
			dn := (lat - tc.lat) * 111_320
			de := (lon - tc.lon) * 111_320 * math.Cos(tc.lat*math.Pi/180)
			if math.Hypot(dn, de) > tc.tolM {
				t.Errorf("ToWGS84(%v, %v) = %.8f, %.8f; want %.8f, %.8f (off by %.3f m, tolerance %.3f m; source: %s)",
					tc.x, tc.y, lon, lat, tc.lon, tc.lat, math.Hypot(dn, de), tc.tolM, tc.source)
			}
			x, y := c.FromWGS84(tc.lon, tc.lat)
			if math.Hypot(x-tc.x, y-tc.y) > tc.tolM {
				t.Errorf("FromWGS84 = %.3f, %.3f; want %.3f, %.3f (source: %s)", x, y, tc.x, tc.y, tc.source)
			}
		})
	}
}

// Every supported system returns to the same point within a millimetre,
// and a point in its area converts to a point in its area.
func TestRoundTripEverySystem(t *testing.T) {
	for _, code := range Supported() {
		c, err := EPSG(code)
		if err != nil {
			t.Fatalf("EPSG(%d): %v", code, err)
		}
		lon := (c.Area[0] + c.Area[2]) / 2
		lat := (c.Area[1] + c.Area[3]) / 2
		if c.Area[3]-c.Area[1] > 150 {
			lat = 45
		}
		for _, d := range [][2]float64{{0, 0}, {1.7, 0.9}, {-2.3, -1.1}} {
			plon, plat := lon+d[0], lat+d[1]
			x, y := c.FromWGS84(plon, plat)
			blon, blat := c.ToWGS84(x, y)
			if math.Abs(blon-plon) > 1e-8 || math.Abs(blat-plat) > 1e-8 {
				t.Errorf("%v: %v,%v → %v,%v → %v,%v", c, plon, plat, x, y, blon, blat)
			}
			if !c.InArea(blon, blat) {
				t.Errorf("%v: %v,%v not in area %v", c, blon, blat, c.Area)
			}
		}
	}
}

// SWEREF 99 TM is UTM zone 33 on GRS 80, extended: the two agree to a
// millimetre (the ellipsoids differ by 0.1 mm in the minor axis).
func TestSwerefTMIsUTM33(t *testing.T) {
	sw, _ := EPSG(3006)
	utm, _ := EPSG(32633)
	for _, p := range [][2]float64{{18.06, 59.33}, {20.22, 67.85}, {13.0, 55.6}, {23.9, 65.8}} {
		x1, y1 := sw.FromWGS84(p[0], p[1])
		x2, y2 := utm.FromWGS84(p[0], p[1])
		if math.Hypot(x1-x2, y1-y2) > 0.001 {
			t.Errorf("%v: SWEREF 99 TM %.4f,%.4f vs UTM 33N %.4f,%.4f", p, x1, y1, x2, y2)
		}
	}
}

func TestLocalZones(t *testing.T) {
	// On its central meridian a local zone's easting is its false easting
	// (150 000 m) and its scale is 1, so its northing is the meridian arc,
	// which SWEREF 99 TM gives times 0.9996 on its own meridian (15°).
	c, _ := EPSG(3017) // SWEREF 99 21 45
	x, _ := c.FromWGS84(21.75, 66)
	if math.Abs(x-150000) > 1e-6 {
		t.Errorf("3017 easting on its meridian = %v, want 150000", x)
	}
	_, yLocal := c.FromWGS84(21.75, 66)
	tmc, _ := EPSG(3006)
	_, yTM := tmc.FromWGS84(15, 66)
	if math.Abs(yLocal*0.9996-yTM) > 0.001 {
		t.Errorf("meridian arc: local %.4f × 0.9996 = %.4f, TM %.4f", yLocal, yLocal*0.9996, yTM)
	}
}
