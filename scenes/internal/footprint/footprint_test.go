package footprint

import (
	"errors"
	"math"
	"testing"

	"github.com/paulmach/orb"
)

func TestRing(t *testing.T) {
	square := orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}}
	tests := []struct {
		name string
		in   orb.Ring
		want error
		n    int // points of the result, closed
	}{
		{"open square is closed", square, nil, 5},
		{"closed square", orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}, nil, 5},
		{"repeated points dropped", orb.Ring{{0, 0}, {1, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}, {0, 0}}, nil, 5},
		{"bow tie", orb.Ring{{0, 0}, {2, 2}, {2, 0}, {0, 1}}, ErrSelfIntersection, 0},
		{"symmetric bow tie has no area", orb.Ring{{0, 0}, {1, 1}, {1, 0}, {0, 1}}, ErrZeroArea, 0},
		{"spike back along an edge", orb.Ring{{0, 0}, {2, 0}, {1, 0}, {1, 1}}, ErrSelfIntersection, 0},
		{"touches itself at a vertex", orb.Ring{{0, 0}, {2, 0}, {2, 2}, {1, 0}, {0, 2}}, ErrSelfIntersection, 0},
		{"figure eight through a shared point", orb.Ring{{0, 0}, {1, 1}, {2, 0}, {2, 2}, {1, 1}, {0, 2}}, ErrSelfIntersection, 0},
		{"two points", orb.Ring{{0, 0}, {1, 0}, {0, 0}}, ErrTooFewPoints, 0},
		{"collinear", orb.Ring{{0, 0}, {1, 0}, {2, 0}}, ErrZeroArea, 0},
		{"NaN", orb.Ring{{0, 0}, {math.NaN(), 0}, {1, 1}}, ErrNotFinite, 0},
		{"Inf", orb.Ring{{0, 0}, {1, 0}, {1, math.Inf(1)}}, ErrNotFinite, 0},
		{"concave L", orb.Ring{{0, 0}, {2, 0}, {2, 1}, {1, 1}, {1, 2}, {0, 2}}, nil, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Ring(append(orb.Ring(nil), tc.in...))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && (len(got) != tc.n || got[0] != got[len(got)-1]) {
				t.Errorf("ring = %v, want %d points, closed", got, tc.n)
			}
		})
	}
}

func TestTooManyPoints(t *testing.T) {
	r := make(orb.Ring, MaxRingPoints+1)
	if _, err := Ring(r); !errors.Is(err, ErrTooManyPoints) {
		t.Fatalf("err = %v", err)
	}
}

// A large circle does not cross itself, and the sweep finds a crossing
// put in at any place.
func TestSelfIntersectionLargeRing(t *testing.T) {
	const n = 20000
	r := make(orb.Ring, 0, n+1)
	for i := range n {
		a := 2 * math.Pi * float64(i) / n
		r = append(r, orb.Point{math.Cos(a), math.Sin(a)})
	}
	r = append(r, r[0])
	if i, j, ok := SelfIntersection(r); ok {
		t.Fatalf("circle crosses itself at edges %d and %d", i, j)
	}
	r[n/2], r[n/2+1] = r[n/2+1], r[n/2]
	if _, _, ok := SelfIntersection(r); !ok {
		t.Fatal("swapped points not found")
	}
}

func TestOrient(t *testing.T) {
	p := orb.Polygon{
		{{0, 0}, {0, 4}, {4, 4}, {4, 0}, {0, 0}}, // clockwise
		{{1, 1}, {2, 1}, {2, 2}, {1, 2}, {1, 1}}, // counter-clockwise hole
	}
	Orient(p)
	if p[0].Orientation() != orb.CCW || p[1].Orientation() != orb.CW {
		t.Errorf("orientations %v %v, want CCW outer, CW hole", p[0].Orientation(), p[1].Orientation())
	}
	if a := Area(p[0]); a != 16 {
		t.Errorf("area = %v, want 16", a)
	}
}
