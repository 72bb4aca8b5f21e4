// Package footprint checks and tidies the 2D polygons that importers make
// of buildings: rings closed, finite, not degenerate, not crossing
// themselves, and oriented as RFC 7946 asks (outer counter-clockwise).
package footprint

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// Errors of a ring; test with errors.Is.
var (
	ErrTooFewPoints     = errors.New("ring has fewer than 3 distinct points")
	ErrNotFinite        = errors.New("coordinate is not a finite number")
	ErrSelfIntersection = errors.New("ring crosses itself")
	ErrZeroArea         = errors.New("ring has no area")
	ErrTooManyPoints    = errors.New("ring has too many points")
)

// MaxRingPoints bounds the rings that Ring accepts: the self-intersection
// test is quadratic in the worst case.
const MaxRingPoints = 50_000

// Ring tidies r in place and returns it: consecutive repeated points are
// dropped and the ring is closed. It fails when a coordinate is not finite,
// when fewer than three distinct points remain, when the ring has no area,
// or when two of its edges cross or touch other than at a shared vertex of
// neighbouring edges.
func Ring(r orb.Ring) (orb.Ring, error) {
	if len(r) > MaxRingPoints {
		return nil, fmt.Errorf("%w: %d (at most %d)", ErrTooManyPoints, len(r), MaxRingPoints)
	}
	out := r[:0]
	for i, p := range r {
		if !finite(p[0]) || !finite(p[1]) {
			return nil, fmt.Errorf("%w: point %d is [%v, %v]", ErrNotFinite, i, p[0], p[1])
		}
		if len(out) > 0 && out[len(out)-1] == p {
			continue
		}
		out = append(out, p)
	}
	if len(out) > 1 && out[0] == out[len(out)-1] {
		out = out[:len(out)-1]
	}
	if len(out) < 3 {
		return nil, ErrTooFewPoints
	}
	out = append(out, out[0])
	if area2(out) == 0 {
		return nil, ErrZeroArea
	}
	if i, j, ok := SelfIntersection(out); ok {
		return nil, fmt.Errorf("%w (edges %d and %d)", ErrSelfIntersection, i, j)
	}
	return out, nil
}

// Orient makes the outer ring of p counter-clockwise and the others
// clockwise, as RFC 7946 asks.
func Orient(p orb.Polygon) {
	for i, r := range p {
		ccw := area2(r) > 0
		if (i == 0) != ccw {
			r.Reverse()
		}
	}
}

// Area2 is twice the signed area of a closed ring: positive when it runs
// counter-clockwise.
func area2(r orb.Ring) float64 {
	var s float64
	for i := 0; i+1 < len(r); i++ {
		s += r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
	}
	return s
}

// Area is the unsigned area of a closed ring, in the square of its units.
func Area(r orb.Ring) float64 { return math.Abs(area2(r)) / 2 }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// SelfIntersection reports two edges of the closed ring r (edge i runs from
// r[i] to r[i+1]) that cross or touch, other than neighbours meeting at
// their shared vertex. Edges are swept in order of their west end, so that
// only edges whose x ranges overlap are compared: about n log n for a
// building's footprint, n² at worst.
func SelfIntersection(r orb.Ring) (int, int, bool) {
	n := len(r) - 1 // edges
	if n < 3 {
		return 0, 0, false
	}
	type edge struct {
		i          int
		minX, maxX float64
	}
	edges := make([]edge, n)
	for i := range n {
		a, b := r[i], r[i+1]
		edges[i] = edge{i, min(a[0], b[0]), max(a[0], b[0])}
	}
	slices.SortFunc(edges, func(a, b edge) int { return cmp.Compare(a.minX, b.minX) })
	for k, e := range edges {
		for _, f := range edges[k+1:] {
			if f.minX > e.maxX {
				break
			}
			i, j := min(e.i, f.i), max(e.i, f.i)
			adjacent := j == i+1 || (i == 0 && j == n-1)
			if adjacent {
				// Neighbours share one vertex; they must not overlap along
				// a stretch (a spike that doubles back).
				if collinearOverlap(r, i, j) {
					return i, j, true
				}
				continue
			}
			if segmentsMeet(r[i], r[i+1], r[j], r[j+1]) {
				return i, j, true
			}
		}
	}
	return 0, 0, false
}

func orient(a, b, c orb.Point) float64 {
	return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0])
}

func sign(v float64) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

func onSegment(a, b, p orb.Point) bool {
	return min(a[0], b[0]) <= p[0] && p[0] <= max(a[0], b[0]) &&
		min(a[1], b[1]) <= p[1] && p[1] <= max(a[1], b[1])
}

// segmentsMeet reports whether segments ab and cd share any point.
func segmentsMeet(a, b, c, d orb.Point) bool {
	d1 := sign(orient(c, d, a))
	d2 := sign(orient(c, d, b))
	d3 := sign(orient(a, b, c))
	d4 := sign(orient(a, b, d))
	if d1*d2 < 0 && d3*d4 < 0 {
		return true
	}
	return (d1 == 0 && onSegment(c, d, a)) || (d2 == 0 && onSegment(c, d, b)) ||
		(d3 == 0 && onSegment(a, b, c)) || (d4 == 0 && onSegment(a, b, d))
}

// collinearOverlap reports whether neighbouring edges i and j (j follows i,
// or i is 0 and j the last edge) run back over each other.
func collinearOverlap(r orb.Ring, i, j int) bool {
	var shared, p, q orb.Point
	if j == i+1 {
		shared, p, q = r[j], r[i], r[j+1]
	} else { // i == 0, j == n-1: they share r[0]
		shared, p, q = r[0], r[1], r[j]
	}
	if orient(shared, p, q) != 0 {
		return false
	}
	// Collinear: overlapping when p and q lie on the same side of shared.
	return (p[0]-shared[0])*(q[0]-shared[0])+(p[1]-shared[1])*(q[1]-shared[1]) > 0
}

// Errors of a polygon's holes; test with errors.Is.
var (
	ErrRingsCross   = errors.New("rings cross")
	ErrHoleOutside  = errors.New("hole lies outside its shell")
	ErrTooManyRings = errors.New("polygon has too many points to check its holes")
)

// Holes checks the holes of p (rings 1…) against its shell (ring 0) and
// against each other: no two rings may cross or run along each other
// (touching at a point is allowed), and every hole must lie inside the
// shell. The error names the rings and edges. Each ring is assumed closed
// and simple (see SelfIntersection). Edges are swept as there, so a
// building with a courtyard costs about n log n.
func Holes(p orb.Polygon) error {
	if len(p) < 2 {
		return nil
	}
	type edge struct {
		ring, i    int
		minX, maxX float64
	}
	n := 0
	for _, r := range p {
		n += max(len(r)-1, 0)
	}
	if n > MaxRingPoints {
		return fmt.Errorf("%w: %d (at most %d)", ErrTooManyRings, n, MaxRingPoints)
	}
	edges := make([]edge, 0, n)
	for ri, r := range p {
		for i := 0; i+1 < len(r); i++ {
			a, b := r[i], r[i+1]
			edges = append(edges, edge{ri, i, min(a[0], b[0]), max(a[0], b[0])})
		}
	}
	slices.SortFunc(edges, func(a, b edge) int { return cmp.Compare(a.minX, b.minX) })
	for k, e := range edges {
		for _, f := range edges[k+1:] {
			if f.minX > e.maxX {
				break
			}
			if e.ring == f.ring {
				continue
			}
			a, b := p[e.ring][e.i], p[e.ring][e.i+1]
			c, d := p[f.ring][f.i], p[f.ring][f.i+1]
			if segmentsCross(a, b, c, d) {
				e, f := e, f
				if e.ring > f.ring {
					e, f = f, e
				}
				return fmt.Errorf("%w: ring %d (edge %d) and ring %d (edge %d)", ErrRingsCross, e.ring, e.i, f.ring, f.i)
			}
		}
	}
	shell := p[0]
	for hi, h := range p[1:] {
		for _, q := range h {
			if inside, on := pointInRing(shell, q); !on {
				if !inside {
					return fmt.Errorf("%w: ring %d", ErrHoleOutside, hi+1)
				}
				break
			}
		}
	}
	return nil
}

// segmentsCross reports whether segments ab and cd cross at a point inside
// both, or run along each other for a stretch; meeting at an end is not
// crossing.
func segmentsCross(a, b, c, d orb.Point) bool {
	d1 := sign(orient(c, d, a))
	d2 := sign(orient(c, d, b))
	d3 := sign(orient(a, b, c))
	d4 := sign(orient(a, b, d))
	if d1*d2 < 0 && d3*d4 < 0 {
		return true
	}
	if d1 != 0 || d2 != 0 {
		return false
	}
	// Collinear: do they share more than a point? Project on the longer
	// axis of ab.
	axis := 0
	if math.Abs(b[1]-a[1]) > math.Abs(b[0]-a[0]) {
		axis = 1
	}
	lo1, hi1 := min(a[axis], b[axis]), max(a[axis], b[axis])
	lo2, hi2 := min(c[axis], d[axis]), max(c[axis], d[axis])
	return min(hi1, hi2) > max(lo1, lo2)
}

// pointInRing reports whether q is inside the closed ring r, and whether
// it lies on r's boundary (inside is then meaningless).
func pointInRing(r orb.Ring, q orb.Point) (inside, on bool) {
	for i := 0; i+1 < len(r); i++ {
		a, b := r[i], r[i+1]
		if orient(a, b, q) == 0 && onSegment(a, b, q) {
			return false, true
		}
		if (a[1] > q[1]) != (b[1] > q[1]) && q[0] < (b[0]-a[0])*(q[1]-a[1])/(b[1]-a[1])+a[0] {
			inside = !inside
		}
	}
	return inside, false
}
