// Package synth generates believable, deterministic cities for tests and
// benchmarks, and the footprints that scene generators are built from.
// Nothing here knows any real town.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

const metresPerDegree = 111_320.0

// Offset returns the point dx metres east and dy metres north of p.
func Offset(p orb.Point, dx, dy float64) orb.Point {
	return orb.Point{
		p[0] + dx/(metresPerDegree*math.Cos(p[1]*math.Pi/180)),
		p[1] + dy/metresPerDegree,
	}
}

// Footprint returns a closed rectangular ring of width w and depth d
// metres centred on c, turned by angle radians (counter-clockwise from
// east). With notch > 0 a corner of that fraction is cut away, giving an
// L-shaped plan.
func Footprint(c orb.Point, w, d, angle, notch float64) orb.Polygon {
	hw, hd := w/2, d/2
	local := [][2]float64{{-hw, -hd}, {hw, -hd}, {hw, hd}, {-hw, hd}}
	if notch > 0 {
		nw, nd := w*notch, d*notch
		local = [][2]float64{{-hw, -hd}, {hw, -hd}, {hw, hd - nd}, {hw - nw, hd - nd}, {hw - nw, hd}, {-hw, hd}}
	}
	sin, cos := math.Sincos(angle)
	ring := make(orb.Ring, 0, len(local)+1)
	for _, v := range local {
		ring = append(ring, Offset(c, v[0]*cos-v[1]*sin, v[0]*sin+v[1]*cos))
	}
	ring = append(ring, ring[0])
	return orb.Polygon{ring}
}

// Year returns 1 January of year y, UTC.
func Year(y int) time.Time { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC) }

// City generates n buildings on a grid of blocks around centre, with
// footprints, heights and lifespans like an ordinary Nordic town:
// 1900 to 2040, about a fifth demolished, a tenth planned. The same n and
// seed give the same city.
func City(n int, seed uint64, centre orb.Point) []*twin.Feature {
	r := rand.New(rand.NewPCG(seed, 0x6b6972756e61))
	const perBlock = 8  // buildings per block
	const block = 110.0 // metres between block centres
	side := int(math.Ceil(math.Sqrt(float64(n) / perBlock)))
	origin := Offset(centre, -float64(side)*block/2, -float64(side)*block/2)
	out := make([]*twin.Feature, 0, n)
	kinds := []string{"house", "apartments", "shop", "office", "school", "garage"}
	for i := 0; i < n; i++ {
		b := i / perBlock
		bx, by := b%side, b/side
		slot := i % perBlock
		// Two rows of four buildings per block.
		sx := float64(slot%4)*22 - 33 + r.Float64()*4 - 2
		sy := float64(slot/4)*40 - 20 + r.Float64()*4 - 2
		c := Offset(origin, float64(bx)*block+sx, float64(by)*block+sy)
		w, d := 9+r.Float64()*9, 8+r.Float64()*14
		notch := 0.0
		if r.IntN(5) == 0 {
			notch = 0.3 + r.Float64()*0.2
		}
		f := &twin.Feature{
			ID:         fmt.Sprintf("g%07d", i),
			Layer:      twin.Buildings,
			Kind:       kinds[r.IntN(len(kinds))],
			Name:       fmt.Sprintf("Block %d:%d", b, slot+1),
			Geometry:   Footprint(c, w, d, (r.Float64()-0.5)*0.2, notch),
			Height:     float64(3 * (1 + r.IntN(8))),
			Status:     twin.Standing,
			Confidence: twin.Generated,
			Source:     "generated",
		}
		built := 1900 + r.IntN(126)
		f.Life.From = Year(built).AddDate(0, r.IntN(12), 0)
		switch k := r.IntN(10); {
		case k < 2:
			f.Status = twin.Demolished
			f.Life.To = Year(built+5+r.IntN(60)).AddDate(0, r.IntN(12), 0)
		case k == 2:
			f.Status = twin.Planned
			f.Life.From = Year(2027 + r.IntN(13))
		}
		out = append(out, f)
	}
	return out
}
