package twin

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

func TestUnitMercator(t *testing.T) {
	const eps = 1e-12
	for _, tc := range []struct {
		in   orb.Point
		want orb.Point
	}{
		{orb.Point{0, 0}, orb.Point{0.5, 0.5}},
		{orb.Point{-180, 0}, orb.Point{0, 0.5}},
		{orb.Point{180, 0}, orb.Point{1, 0.5}},
		{orb.Point{90, 0}, orb.Point{0.75, 0.5}},
		// The clamp: at Web Mercator's edge, and beyond it up to the poles
		// and past them, y is 0 in the north and 1 in the south.
		{orb.Point{0, MaxLatitude}, orb.Point{0.5, 0}},
		{orb.Point{0, -MaxLatitude}, orb.Point{0.5, 1}},
		{orb.Point{0, 85.0511}, orb.Point{0.5, 9.267e-7}}, // just inside: not clamped (maptile.Fraction did)
		{orb.Point{0, -85.0511}, orb.Point{0.5, 1 - 9.267e-7}},
		{orb.Point{0, 85.06}, orb.Point{0.5, 0}},
		{orb.Point{0, -85.06}, orb.Point{0.5, 1}},
		{orb.Point{0, 90}, orb.Point{0.5, 0}},
		{orb.Point{0, -90}, orb.Point{0.5, 1}},
		{orb.Point{20, 100}, orb.Point{20.0/360 + 0.5, 0}},
		{orb.Point{20, -1000}, orb.Point{20.0/360 + 0.5, 1}},
	} {
		got := UnitMercator(tc.in)
		if math.Abs(got[0]-tc.want[0]) > eps || math.Abs(got[1]-tc.want[1]) > 1e-9 {
			t.Errorf("UnitMercator(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if got[1] < 0 || got[1] > 1 {
			t.Errorf("UnitMercator(%v) = %v: y outside 0…1", tc.in, got)
		}
	}
	// Beyond the edge is exactly the edge.
	for _, lat := range []float64{85.0512, 89.9, 90, 91, math.Inf(1)} {
		if n, s := UnitMercator(orb.Point{10, lat}), UnitMercator(orb.Point{10, -lat}); n != UnitMercator(orb.Point{10, MaxLatitude}) || s != UnitMercator(orb.Point{10, -MaxLatitude}) {
			t.Errorf("latitude ±%v: %v and %v, not the edge's", lat, n, s)
		}
	}
	// Within the range it agrees with the tiles' own numbering (orb's
	// maptile), to rounding.
	for _, p := range []orb.Point{{20.25, 67.85}, {-73.98, 40.75}, {151.2, -33.9}, {0, 85.05}, {0, -85.05}} {
		got, want := UnitMercator(p), maptile.Fraction(p, 0)
		if math.Abs(got[0]-want[0]) > eps || math.Abs(got[1]-want[1]) > eps {
			t.Errorf("UnitMercator(%v) = %v; maptile.Fraction says %v", p, got, want)
		}
	}
}

func TestToMercatorClampsLikeUnitMercator(t *testing.T) {
	in := orb.LineString{{0, -90}, {0, 0}, {0, 90}}
	got := ToMercator(in).(orb.LineString)
	for i, p := range in {
		if got[i] != UnitMercator(p) {
			t.Errorf("vertex %d: %v, want %v", i, got[i], UnitMercator(p))
		}
	}
	if in[0] != (orb.Point{0, -90}) {
		t.Error("the input was modified")
	}
}
