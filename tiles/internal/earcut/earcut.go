// Package earcut triangulates simple polygons with holes by ear clipping:
// each hole is first joined to the outer ring by a bridge to a vertex it
// can see (after David Eberly, "Triangulation by Ear Clipping"), then ears
// are cut off the single ring until one triangle is left. It is O(n²) in
// the vertices of one polygon, fine for building faces; callers bound n.
//
// No Go module of a maintained earcut port was at hand; this one is small
// and tested against polygons whose areas are known, and fuzzed.
package earcut

import (
	"math"
	"sort"
)

// Triangulate returns triangles as triples of indexes into the points of
// rings: rings[0] is the outer ring, the others holes; rings are open (the
// first point not repeated) and may run either way. Indexes count the
// points of all rings in order. Degenerate input (fewer than 3 points,
// zero area) gives fewer triangles or none, never a panic.
func Triangulate(rings [][][2]float64) []int {
	if len(rings) == 0 || len(rings[0]) < 3 {
		return nil
	}
	var pts [][2]float64
	for _, r := range rings {
		pts = append(pts, r...)
	}
	// The outer ring counter-clockwise, the holes clockwise, as index lists.
	outer := ringIdx(0, len(rings[0]))
	if signedArea(pts, outer) < 0 {
		reverse(outer)
	}
	type hole struct {
		idx  []int
		left int // index of its leftmost point
	}
	var holes []hole
	off := len(rings[0])
	for _, r := range rings[1:] {
		idx := ringIdx(off, len(r))
		off += len(r)
		if len(idx) < 3 || signedArea(pts, idx) == 0 {
			continue
		}
		if signedArea(pts, idx) > 0 {
			reverse(idx)
		}
		l := 0
		for i := range idx {
			if p, q := pts[idx[i]], pts[idx[l]]; p[0] < q[0] || p[0] == q[0] && p[1] < q[1] {
				l = i
			}
		}
		holes = append(holes, hole{idx, l})
	}
	// Bridge the holes from left to right: each bridge runs leftwards from
	// its hole, so every hole it could cross is already in the ring.
	sort.SliceStable(holes, func(i, j int) bool {
		return pts[holes[i].idx[holes[i].left]][0] < pts[holes[j].idx[holes[j].left]][0]
	})
	ring := outer
	for _, h := range holes {
		ring = bridge(pts, ring, h.idx, h.left)
	}
	return clip(pts, ring)
}

func ringIdx(off, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = off + i
	}
	return out
}

func reverse(s []int) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

func signedArea(pts [][2]float64, idx []int) float64 {
	s := 0.0
	for i := range idx {
		a, b := pts[idx[i]], pts[idx[(i+1)%len(idx)]]
		s += a[0]*b[1] - b[0]*a[1]
	}
	return s / 2
}

// bridge splices hole (clockwise) into ring (counter-clockwise) through
// a bridge from the hole's leftmost point to a ring vertex it can see.
func bridge(pts [][2]float64, ring, hole []int, left int) []int {
	m := pts[hole[left]]
	// Cast a ray to the left from m; take the nearest edge it crosses.
	best, bestX := -1, math.Inf(-1)
	for i := range ring {
		a, b := pts[ring[i]], pts[ring[(i+1)%len(ring)]]
		if (a[1] <= m[1]) == (b[1] <= m[1]) {
			continue // the edge does not cross the ray's line
		}
		x := a[0] + (m[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
		if x <= m[0] && x > bestX {
			bestX = x
			// The endpoint further left is the candidate.
			best = i
			if pts[ring[(i+1)%len(ring)]][0] < a[0] {
				best = (i + 1) % len(ring)
			}
		}
	}
	if best < 0 {
		// No edge to the left: join to the nearest vertex instead.
		d := math.Inf(1)
		for i := range ring {
			if q := dist2(pts[ring[i]], m); q < d {
				d, best = q, i
			}
		}
	} else {
		// A reflex vertex inside the triangle (m, hit, candidate) would
		// block the view: take the one at the smallest angle from the ray.
		p := pts[ring[best]]
		hit := [2]float64{bestX, m[1]}
		angle := math.Inf(1)
		for i := range ring {
			q := pts[ring[i]]
			if i == best || !insideTri(m, hit, p, q) {
				continue
			}
			if a := math.Abs(q[1]-m[1]) / math.Max(m[0]-q[0], 1e-300); a < angle || a == angle && dist2(q, m) < dist2(pts[ring[best]], m) {
				angle, best = a, i
			}
		}
	}
	// A vertex that earlier bridges touch is in the ring more than once:
	// leave from the copy whose corner opens towards the hole.
	p := pts[ring[best]]
	for k := range ring {
		if pts[ring[k]] == p && sectorContains(pts, ring, k, m) {
			best = k
			break
		}
	}
	out := make([]int, 0, len(ring)+len(hole)+2)
	out = append(out, ring[:best+1]...)
	for k := 0; k <= len(hole); k++ {
		out = append(out, hole[(left+k)%len(hole)])
	}
	out = append(out, ring[best])
	out = append(out, ring[best+1:]...)
	return out
}

// sectorContains reports whether m lies inside the polygon's corner at
// ring position k (the ring counter-clockwise, inside on the left).
func sectorContains(pts [][2]float64, ring []int, k int, m [2]float64) bool {
	u, p, w := pts[ring[(k+len(ring)-1)%len(ring)]], pts[ring[k]], pts[ring[(k+1)%len(ring)]]
	if cross(u, p, w) >= 0 {
		return cross(u, p, m) > 0 && cross(p, w, m) > 0
	}
	return cross(u, p, m) > 0 || cross(p, w, m) > 0
}

func dist2(a, b [2]float64) float64 { return (a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) }

func cross(o, a, b [2]float64) float64 {
	return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0])
}

// insideTri reports whether q is inside or on triangle abc (either turn).
func insideTri(a, b, c, q [2]float64) bool {
	d1, d2, d3 := cross(a, b, q), cross(b, c, q), cross(c, a, q)
	neg := d1 < 0 || d2 < 0 || d3 < 0
	pos := d1 > 0 || d2 > 0 || d3 > 0
	return !(neg && pos)
}

// strictlyInside reports whether q is inside counter-clockwise triangle
// abc and not on its edges.
func strictlyInside(a, b, c, q [2]float64) bool {
	return cross(a, b, q) > 0 && cross(b, c, q) > 0 && cross(c, a, q) > 0
}

// clip cuts ears off a counter-clockwise ring of point indexes.
func clip(pts [][2]float64, ring []int) []int {
	n := len(ring)
	next := make([]int, n)
	prev := make([]int, n)
	for i := range ring {
		next[i], prev[i] = (i+1)%n, (i+n-1)%n
	}
	out := make([]int, 0, 3*(n-2))
	left := n
	i, stall := 0, 0
	for left > 3 {
		a, b, c := pts[ring[prev[i]]], pts[ring[i]], pts[ring[next[i]]]
		cr := cross(a, b, c)
		if cr == 0 {
			// A straight or doubled-back vertex: drop it without a triangle.
			next[prev[i]], prev[next[i]] = next[i], prev[i]
			left--
			i, stall = next[i], 0
			continue
		}
		// After a round without an ear, points on an ear's edges (where
		// a bridge touches, or collinear vertices) no longer block it;
		// after two, an ear is cut anyway so that the loop ends (a
		// twisted ring).
		relaxed, forced := stall > left, stall > 2*left
		ear := cr > 0
		if ear && !forced {
			for j := next[next[i]]; j != prev[i]; j = next[j] {
				q := pts[ring[j]]
				if q == a || q == b || q == c {
					continue // a bridge's twin vertex
				}
				if relaxed && strictlyInside(a, b, c, q) || !relaxed && insideTri(a, b, c, q) {
					ear = false
					break
				}
			}
		}
		if ear || forced {
			if cr > 0 {
				out = append(out, ring[prev[i]], ring[i], ring[next[i]])
			}
			next[prev[i]], prev[next[i]] = next[i], prev[i]
			left--
			i, stall = next[i], 0
			continue
		}
		i = next[i]
		stall++
	}
	if a, b, c := pts[ring[prev[i]]], pts[ring[i]], pts[ring[next[i]]]; cross(a, b, c) != 0 {
		out = append(out, ring[prev[i]], ring[i], ring[next[i]])
	}
	return out
}
