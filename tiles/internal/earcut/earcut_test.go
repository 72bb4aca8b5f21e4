package earcut

import (
	"math"
	"math/rand/v2"
	"testing"
)

func area(pts [][2]float64, tris []int) float64 {
	s := 0.0
	for i := 0; i+2 < len(tris); i += 3 {
		s += math.Abs(cross(pts[tris[i]], pts[tris[i+1]], pts[tris[i+2]])) / 2
	}
	return s
}

func ringArea(r [][2]float64) float64 {
	s := 0.0
	for i := range r {
		a, b := r[i], r[(i+1)%len(r)]
		s += a[0]*b[1] - b[0]*a[1]
	}
	return math.Abs(s) / 2
}

func flat(rings [][][2]float64) [][2]float64 {
	var out [][2]float64
	for _, r := range rings {
		out = append(out, r...)
	}
	return out
}

func square(x, y, s float64) [][2]float64 {
	return [][2]float64{{x, y}, {x + s, y}, {x + s, y + s}, {x, y + s}}
}

// The triangles cover exactly the polygon's area: none is missing, none
// overlaps another (overlaps would add area), none is outside (checked by
// the triangles' centroids).
func TestTriangulate(t *testing.T) {
	ell := [][2]float64{{0, 0}, {10, 0}, {10, 4}, {4, 4}, {4, 10}, {0, 10}}
	comb := [][2]float64{{0, 0}, {10, 0}, {10, 5}, {8, 5}, {8, 1}, {6, 1}, {6, 5}, {4, 5}, {4, 1}, {2, 1}, {2, 5}, {0, 5}}
	circle := make([][2]float64, 64)
	for i := range circle {
		a := 2 * math.Pi * float64(i) / 64
		circle[i] = [2]float64{30 * math.Cos(a), 30 * math.Sin(a)}
	}
	cw := [][2]float64{{0, 0}, {0, 10}, {10, 10}, {10, 0}}
	for _, c := range []struct {
		name  string
		rings [][][2]float64
		area  float64
		tris  int
	}{
		{"triangle", [][][2]float64{{{0, 0}, {1, 0}, {0, 1}}}, 0.5, 1},
		{"square", [][][2]float64{square(0, 0, 10)}, 100, 2},
		{"clockwise", [][][2]float64{cw}, 100, 2},
		{"L", [][][2]float64{ell}, 64, 4},
		{"comb", [][][2]float64{comb}, 34, -1},
		{"circle", [][][2]float64{circle}, ringArea(circle), 62},
		{"one hole", [][][2]float64{square(0, 0, 10), square(3, 3, 4)}, 84, 8},
		{"two holes", [][][2]float64{square(0, 0, 20), square(2, 2, 4), square(12, 12, 5)}, 400 - 16 - 25, -1},
		{"holes in a row", [][][2]float64{square(0, 0, 30), square(2, 10, 4), square(10, 10, 4), square(18, 10, 4)}, 900 - 48, -1},
		{"hole in a circle", [][][2]float64{circle, square(-5, -5, 10)}, ringArea(circle) - 100, 68},
		{"collinear points", [][][2]float64{{{0, 0}, {5, 0}, {10, 0}, {10, 10}, {5, 10}, {0, 10}}}, 100, -1},
		{"degenerate", [][][2]float64{{{0, 0}, {1, 1}, {2, 2}}}, 0, 0},
		{"too short", [][][2]float64{{{0, 0}, {1, 1}}}, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			tris := Triangulate(c.rings)
			pts := flat(c.rings)
			if got := area(pts, tris); math.Abs(got-c.area) > 1e-9*math.Max(1, c.area) {
				t.Errorf("area %v, want %v (triangles %v)", got, c.area, tris)
			}
			if c.tris >= 0 && len(tris)/3 != c.tris {
				t.Errorf("%d triangles, want %d", len(tris)/3, c.tris)
			}
			for i := 0; i+2 < len(tris); i += 3 {
				a, b, cc := pts[tris[i]], pts[tris[i+1]], pts[tris[i+2]]
				if cross(a, b, cc) < 0 {
					t.Errorf("triangle %d turns clockwise", i/3)
				}
				m := [2]float64{(a[0] + b[0] + cc[0]) / 3, (a[1] + b[1] + cc[1]) / 3}
				if !inside(c.rings, m) {
					t.Errorf("triangle %d (%v %v %v) lies outside the polygon", i/3, a, b, cc)
				}
			}
		})
	}
}

// inside: even-odd rule over every ring.
func inside(rings [][][2]float64, p [2]float64) bool {
	in := false
	for _, r := range rings {
		for i := range r {
			a, b := r[i], r[(i+1)%len(r)]
			if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < a[0]+(p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1]) {
				in = !in
			}
		}
	}
	return in
}

// Random star-shaped polygons with a hole at their centre.
func TestRandomStars(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for k := 0; k < 200; k++ {
		n := 5 + r.IntN(60)
		star := make([][2]float64, n)
		for i := range star {
			a := 2 * math.Pi * float64(i) / float64(n)
			rad := 20 + r.Float64()*30
			star[i] = [2]float64{rad * math.Cos(a), rad * math.Sin(a)}
		}
		rings := [][][2]float64{star, square(-5, -5, 10)}
		want := ringArea(star) - 100
		tris := Triangulate(rings)
		if got := area(flat(rings), tris); math.Abs(got-want) > 1e-6*want {
			t.Fatalf("star %d: area %v, want %v", k, got, want)
		}
	}
}

func FuzzTriangulate(f *testing.F) {
	f.Add(0.0, 0.0, 10.0, 0.0, 10.0, 10.0, 0.0, 10.0, 3.0, 3.0, 4.0)
	f.Add(0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0)
	f.Fuzz(func(t *testing.T, x0, y0, x1, y1, x2, y2, x3, y3, hx, hy, hs float64) {
		for _, v := range []float64{x0, y0, x1, y1, x2, y2, x3, y3, hx, hy, hs} {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1e6 {
				return
			}
		}
		rings := [][][2]float64{{{x0, y0}, {x1, y1}, {x2, y2}, {x3, y3}}, square(hx, hy, hs)}
		tris := Triangulate(rings)
		pts := flat(rings)
		for _, i := range tris {
			if i < 0 || i >= len(pts) {
				t.Fatalf("index %d of %d points", i, len(pts))
			}
		}
		if len(tris)%3 != 0 {
			t.Fatalf("%d indexes", len(tris))
		}
	})
}
