package shape

import (
	"errors"
	"math"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
)

var centre = orb.Point{20.3, 67.85}

// volume of a closed solid whose faces are planar polygons turned
// outwards, by the divergence theorem: it is right only when every face
// is there and faces the right way.
func volume(mp *geom.MultiPolygon) float64 {
	fr := newFrame(centre)
	v := 0.0
	for i := 0; i < mp.NumPolygons(); i++ {
		p := mp.Polygon(i)
		for j := 0; j < p.NumLinearRings(); j++ {
			cs := p.LinearRing(j).Coords()
			xyz := func(c geom.Coord) [3]float64 {
				q := fr.toXY(orb.Point{c[0], c[1]})
				return [3]float64{q[0], q[1], c[2]}
			}
			a := xyz(cs[0])
			for k := 1; k+1 < len(cs)-1; k++ {
				b, c := xyz(cs[k]), xyz(cs[k+1])
				v += (a[0]*(b[1]*c[2]-b[2]*c[1]) - a[1]*(b[0]*c[2]-b[2]*c[0]) + a[2]*(b[0]*c[1]-b[1]*c[0])) / 6
			}
		}
	}
	return v
}

func count(s Solid, t twin.SurfaceType) int {
	n := 0
	for _, x := range s.Surfaces {
		if x == t {
			n++
		}
	}
	return n
}

func TestRoofs(t *testing.T) {
	box := synth.Footprint(centre, 10, 8, 0.3, 0)
	ell := synth.Footprint(centre, 20, 16, -0.2, 0.4)
	for _, c := range []struct {
		name         string
		part         Part
		walls, roofs int
		vol          float64
		top          float64
	}{
		{"flat", Part{Footprint: box, Eaves: 5, Top: 5}, 4, 1, 400, 5},
		{"flat roof ignores the top's excess", Part{Footprint: box, Eaves: 5, Top: 9, Roof: Flat}, 4, 1, 720, 9},
		{"gabled", Part{Footprint: box, Eaves: 5, Top: 9, Roof: Gabled}, 4, 2, 400 + 0.5*8*4*10, 9},
		{"gabled across", Part{Footprint: box, Eaves: 5, Top: 9, Roof: Gabled, Across: true}, 4, 2, 400 + 0.5*10*4*8, 9},
		{"hipped", Part{Footprint: box, Eaves: 5, Top: 9, Roof: Hipped}, 4, 4, 400 + 8*4/6.0*(2*10+2), 9},
		{"pyramidal", Part{Footprint: box, Eaves: 5, Top: 9, Roof: Pyramidal}, 4, 4, 400 + 80*4/3.0, 9},
		{"raised", Part{Footprint: box, Base: 3, Eaves: 8, Top: 8}, 4, 1, 400, 8},
		// An L-shaped plan: 20 × 16 less a 8 × 6.4 corner = 268.8 m².
		{"L gabled", Part{Footprint: ell, Eaves: 6, Top: 10, Roof: Gabled}, 6, 2, -1, 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Build(c.part)
			if err != nil {
				t.Fatal(err)
			}
			if g, w, r := count(s, twin.GroundSurface), count(s, twin.WallSurface), count(s, twin.RoofSurface); g != 1 || w != c.walls || r != c.roofs {
				t.Errorf("%d ground, %d walls, %d roofs; want 1, %d, %d", g, w, r, c.walls, c.roofs)
			}
			if len(s.Surfaces) != s.Polygons.NumPolygons() {
				t.Fatalf("%d types for %d polygons", len(s.Surfaces), s.Polygons.NumPolygons())
			}
			v := volume(s.Polygons)
			if c.vol > 0 && math.Abs(v-c.vol) > 0.01*c.vol {
				t.Errorf("volume %.2f m³, want %.2f", v, c.vol)
			}
			if c.vol < 0 && !(v > 268.8*6 && v < 268.8*10) {
				t.Errorf("volume %.2f m³, want between walls only and a box to the ridge", v)
			}
			f := &twin.Feature{ID: "x", Layer: twin.Buildings, Geometry: c.part.Footprint, Life: twin.Lifespan{From: synth.Year(2000)}}
			s.Apply(f)
			if err := f.Validate(); err != nil {
				t.Fatal(err)
			}
			if math.Abs(f.Base+f.Height-c.top) > 0.01 || f.Base != c.part.Base {
				t.Errorf("base %v height %v, want base %v top %v", f.Base, f.Height, c.part.Base, c.top)
			}
		})
	}
}

// Two parts make one solid: a nave and a tower on it.
func TestBuildParts(t *testing.T) {
	s, err := Build(
		Part{Footprint: synth.Footprint(centre, 30, 12, 0, 0), Eaves: 6, Top: 14, Roof: Gabled},
		Part{Footprint: synth.Footprint(centre, 4, 4, 0, 0), Base: 14, Eaves: 20, Top: 28, Roof: Pyramidal},
	)
	if err != nil {
		t.Fatal(err)
	}
	want := 30*12*6 + 0.5*12*8*30 + 4*4*6 + 16*8/3.0
	if v := volume(s.Polygons); math.Abs(v-want) > 0.01*want {
		t.Errorf("volume %.1f, want %.1f", v, want)
	}
}

func TestBadParts(t *testing.T) {
	box := synth.Footprint(centre, 10, 8, 0, 0)
	for _, p := range []Part{
		{Footprint: box, Eaves: 0, Top: 3},
		{Footprint: box, Eaves: 5, Top: 4},
		{Footprint: box, Eaves: math.NaN(), Top: 4},
		{Footprint: orb.Polygon{{centre, centre, centre, centre}}, Eaves: 5, Top: 5},
		{Eaves: 5, Top: 5},
	} {
		if _, err := Build(p); !errors.Is(err, ErrBadPart) {
			t.Errorf("%+v: error %v, want ErrBadPart", p, err)
		}
	}
}

// A courtyard survives a flat roof and falls back to one under a pitched
// roof whose ridge crosses it.
func TestCourtyard(t *testing.T) {
	outer := synth.Footprint(centre, 40, 30, 0, 0)[0]
	inner := synth.Footprint(centre, 10, 10, 0, 0)[0]
	for i, j := 0, len(inner)-1; i < j; i, j = i+1, j-1 {
		inner[i], inner[j] = inner[j], inner[i]
	}
	for _, roof := range []Roof{Flat, Gabled} {
		s, err := Build(Part{Footprint: orb.Polygon{outer, inner}, Eaves: 9, Top: 12, Roof: roof})
		if err != nil {
			t.Fatal(err)
		}
		want := (1200 - 100) * 12.0
		if v := volume(s.Polygons); math.Abs(v-want) > 0.01*want {
			t.Errorf("%s: volume %.1f, want %.1f", roof, v, want)
		}
	}
}
