package kiruna

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"
)

// Plane geometry in local metres (east, north) around frameOrigin, for
// shaping the landscape and keeping buildings off streets and water. At
// the scale of the town (10 km) the plane is exact to a few decimetres.

type xy = [2]float64

// toXY is a lon/lat point in local metres.
func toXY(p orb.Point) xy { return metres(p) }

// toLL is the inverse of toXY.
func toLL(q xy) orb.Point {
	return orb.Point{frameOrigin[0] + q[0]/metresPerDegLon, frameOrigin[1] + q[1]/metresPerDegLat}
}

func add(a, b xy) xy            { return xy{a[0] + b[0], a[1] + b[1]} }
func sub(a, b xy) xy            { return xy{a[0] - b[0], a[1] - b[1]} }
func scale(a xy, k float64) xy  { return xy{a[0] * k, a[1] * k} }
func dot(a, b xy) float64       { return a[0]*b[0] + a[1]*b[1] }
func dist(a, b xy) float64      { return math.Hypot(a[0]-b[0], a[1]-b[1]) }
func cross(a, b, c xy) float64  { return (b[0]-a[0])*(c[1]-a[1]) - (b[1]-a[1])*(c[0]-a[0]) }
func bearingVec(deg float64) xy { s, c := math.Sincos(deg * math.Pi / 180); return xy{s, c} }

// ringArea is the area of a ring (closed or not), in square metres.
func ringArea(r []xy) float64 {
	s := 0.0
	for i := range r {
		j := (i + 1) % len(r)
		s += r[i][0]*r[j][1] - r[j][0]*r[i][1]
	}
	return math.Abs(s) / 2
}

// polygonArea is the area of a lon/lat polygon in square metres (holes
// subtracted).
func polygonArea(p orb.Polygon) float64 {
	a := 0.0
	for i, r := range p {
		m := make([]xy, len(r))
		for k, q := range r {
			m[k] = toXY(q)
		}
		if i == 0 {
			a += ringArea(m)
		} else {
			a -= ringArea(m)
		}
	}
	return a
}

// toPolygon closes a ring in metres and turns it into a lon/lat polygon
// wound counter-clockwise, as RFC 7946 asks of exterior rings.
func toPolygon(r []xy) orb.Polygon {
	s := 0.0
	for i := range r {
		j := (i + 1) % len(r)
		s += r[i][0]*r[j][1] - r[j][0]*r[i][1]
	}
	ring := make(orb.Ring, 0, len(r)+1)
	for i := range r {
		k := i
		if s < 0 {
			k = len(r) - 1 - i
		}
		ring = append(ring, roundPt(toLL(r[k])))
	}
	return orb.Polygon{append(ring, ring[0])}
}

func toLine(l []xy) orb.LineString {
	out := make(orb.LineString, 0, len(l))
	for _, q := range l {
		p := roundPt(toLL(q))
		if len(out) > 0 && out[len(out)-1] == p {
			continue
		}
		out = append(out, p)
	}
	return out
}

// roundPt rounds to 1e-7 degrees, as the bundle is written, so that what
// the tests measure is what the bundle holds.
func roundPt(p orb.Point) orb.Point {
	return orb.Point{math.Round(p[0]*1e7) / 1e7, math.Round(p[1]*1e7) / 1e7}
}

// wavyEllipse is a natural-looking outline: an ellipse with semi-axes a
// (along bearing, degrees clockwise from north) and b, its radius rippled
// by two small harmonics whose phase comes from seed, scaled to enclose
// exactly area square metres (when area > 0).
func wavyEllipse(c xy, a, b, bearing float64, seed float64, area float64) []xy {
	const n = 72
	u := bearingVec(bearing)
	v := xy{u[1], -u[0]} // a quarter turn clockwise
	out := make([]xy, n)
	for i := 0; i < n; i++ {
		t := 2 * math.Pi * float64(i) / n
		r := 1 + 0.05*math.Sin(3*t+seed) + 0.03*math.Sin(5*t+2.3*seed) + 0.015*math.Sin(9*t+seed/2)
		out[i] = add(c, add(scale(u, a*r*math.Cos(t)), scale(v, b*r*math.Sin(t))))
	}
	if area > 0 {
		k := math.Sqrt(area / ringArea(out))
		for i := range out {
			out[i] = add(c, scale(sub(out[i], c), k))
		}
	}
	return out
}

// clipHalf keeps the part of a ring where dot(p, n) <= d (Sutherland and
// Hodgman against one line). A ring that the line crosses twice, as every
// outline here is, gives one ring.
func clipHalf(r []xy, n xy, d float64) []xy {
	var out []xy
	for i := range r {
		p, q := r[i], r[(i+1)%len(r)]
		dp, dq := dot(p, n)-d, dot(q, n)-d
		if dp <= 0 {
			out = append(out, p)
		}
		if (dp < 0 && dq > 0) || (dp > 0 && dq < 0) {
			t := dp / (dp - dq)
			out = append(out, add(p, scale(sub(q, p), t)))
		}
	}
	return out
}

// segDist is the distance between segments ab and cd.
func segDist(a, b, c, d xy) float64 {
	if segmentsCross(a, b, c, d) {
		return 0
	}
	return math.Min(math.Min(pointSeg(a, c, d), pointSeg(b, c, d)), math.Min(pointSeg(c, a, b), pointSeg(d, a, b)))
}

func pointSeg(p, a, b xy) float64 {
	ab := sub(b, a)
	l := dot(ab, ab)
	if l == 0 {
		return dist(p, a)
	}
	t := math.Max(0, math.Min(1, dot(sub(p, a), ab)/l))
	return dist(p, add(a, scale(ab, t)))
}

func segmentsCross(a, b, c, d xy) bool {
	d1, d2 := cross(c, d, a), cross(c, d, b)
	d3, d4 := cross(a, b, c), cross(a, b, d)
	return ((d1 > 0) != (d2 > 0)) && ((d3 > 0) != (d4 > 0)) && d1 != 0 && d2 != 0 && d3 != 0 && d4 != 0
}

// inRing reports whether p lies inside the ring (even-odd rule).
func inRing(p xy, r []xy) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		if (r[i][1] > p[1]) != (r[j][1] > p[1]) &&
			p[0] < (r[j][0]-r[i][0])*(p[1]-r[i][1])/(r[j][1]-r[i][1])+r[i][0] {
			in = !in
		}
	}
	return in
}

func ringXY(r orb.Ring) []xy {
	out := make([]xy, len(r))
	for i, p := range r {
		out[i] = toXY(p)
	}
	return out
}

// ground is what generated buildings keep off: streets and roads (as
// segments with a half-width) and areas (water, rail yards), in metres.
type ground struct {
	segs  rtree.RTreeG[gseg]
	areas []garea
}

type gseg struct {
	a, b xy
	half float64
}

type garea struct {
	ring     []xy
	min, max xy
}

// addLine keeps buildings at least half metres from every segment of l.
func (g *ground) addLine(l orb.LineString, half float64) {
	for i := 1; i < len(l); i++ {
		g.addSeg(toXY(l[i-1]), toXY(l[i]), half)
	}
}

func (g *ground) addSeg(a, b xy, half float64) {
	mn := xy{math.Min(a[0], b[0]) - half, math.Min(a[1], b[1]) - half}
	mx := xy{math.Max(a[0], b[0]) + half, math.Max(a[1], b[1]) + half}
	g.segs.Insert(mn, mx, gseg{a, b, half})
}

// addArea keeps buildings out of the polygon's outer ring and margin
// metres from its edge.
func (g *ground) addArea(p orb.Polygon, margin float64) {
	r := ringXY(p[0])
	a := garea{ring: r, min: r[0], max: r[0]}
	for _, q := range r {
		a.min = xy{math.Min(a.min[0], q[0]), math.Min(a.min[1], q[1])}
		a.max = xy{math.Max(a.max[0], q[0]), math.Max(a.max[1], q[1])}
	}
	g.areas = append(g.areas, a)
	for i := 1; i < len(r); i++ {
		g.addSeg(r[i-1], r[i], margin)
	}
}

// clear reports whether the footprint keeps margin metres off every street
// and out of every area.
func (g *ground) clear(fp orb.Polygon, margin float64) bool {
	r := ringXY(fp[0])
	mn, mx := r[0], r[0]
	for _, q := range r {
		mn = xy{math.Min(mn[0], q[0]), math.Min(mn[1], q[1])}
		mx = xy{math.Max(mx[0], q[0]), math.Max(mx[1], q[1])}
	}
	ok := true
	g.segs.Search(xy{mn[0] - margin, mn[1] - margin}, xy{mx[0] + margin, mx[1] + margin}, func(_, _ xy, s gseg) bool {
		for i := 1; i < len(r); i++ {
			if segDist(r[i-1], r[i], s.a, s.b) < s.half+margin {
				ok = false
				return false
			}
		}
		if inRing(s.a, r) {
			ok = false
		}
		return ok
	})
	if !ok {
		return false
	}
	for _, a := range g.areas {
		if mx[0] < a.min[0] || mn[0] > a.max[0] || mx[1] < a.min[1] || mn[1] > a.max[1] {
			continue
		}
		if inRing(r[0], a.ring) {
			return false
		}
	}
	return true
}

// lineClear reports whether a street from a to b keeps half metres off
// every footprint in fps (metres, closed rings).
func lineClear(a, b xy, half float64, fps [][]xy) bool {
	for _, r := range fps {
		if inRing(a, r) || inRing(b, r) {
			return false
		}
		for i := 1; i < len(r); i++ {
			if segDist(a, b, r[i-1], r[i]) < half {
				return false
			}
		}
	}
	return true
}
