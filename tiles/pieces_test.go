package tiles

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/planar"
)

// TestPiecesDrawWhatTheWholeDraws: a MaxZoom tile drawn from a feature's
// piece shows what it shows drawn from the whole feature — the same area
// of a ring and the same length of a line inside the tile and its buffer,
// to a grid unit — and tiles the feature does not reach stay empty.
func TestPiecesDrawWhatTheWholeDraws(t *testing.T) {
	const n = 20_000
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := orb.Point{20.30, 67.85}
	ring := make(orb.Ring, 0, n)
	for i := range n - 1 {
		a := 2 * math.Pi * float64(i) / float64(n-1)
		r := 0.002 * (1 + 0.2*math.Sin(7*a))
		ring = append(ring, orb.Point{c[0] + 2.6*r*math.Cos(a), c[1] + r*math.Sin(a)})
	}
	ring = append(ring, ring[0])
	hole := orb.Ring{{20.299, 67.8495}, {20.299, 67.8505}, {20.301, 67.8505}, {20.301, 67.8495}, {20.299, 67.8495}}
	// Clockwise holes for orb's area sign do not matter: the test sums
	// absolute areas per ring.
	line := make(orb.LineString, 0, n)
	for i := range n {
		f := float64(i) / float64(n-1)
		line = append(line, orb.Point{20.29 + 0.02*f, 67.853 + 0.001*math.Sin(20*math.Pi*f)})
	}
	m := twin.NewModel()
	if err := m.Load([]*twin.Feature{
		{ID: "ring", Layer: twin.Pilots, Geometry: orb.Polygon{ring, hole}, Life: twin.Lifespan{From: from}},
		{ID: "line", Layer: twin.Pilots, Geometry: line, Life: twin.Lifespan{From: from}},
	}); err != nil {
		t.Fatal(err)
	}
	o := Options{}.withDefaults()
	pieced := buildLayer(m.Snapshot(), twin.Pilots, o, nil)
	whole := buildLayer(m.Snapshot(), twin.Pilots, o, nil)
	cut := 0
	whole.tree.Scan(func(_, _ [2]float64, f *feat) bool {
		if f.pieces != nil {
			cut++
		}
		f.pieces = nil
		return true
	})
	if cut != 2 {
		t.Fatalf("%d features cut into pieces, want 2", cut)
	}
	z := o.MaxZoom
	lo := maptile.At(orb.Point{20.28, 67.86}, maptile.Zoom(z))
	hi := maptile.At(orb.Point{20.32, 67.84}, maptile.Zoom(z))
	tiles := 0
	for x := lo.X; x <= hi.X; x++ {
		for y := lo.Y; y <= hi.Y; y++ {
			a := measure(t, newEncoder(o).encode([]*layerData{pieced}, z, int(x), int(y)))
			b := measure(t, newEncoder(o).encode([]*layerData{whole}, z, int(x), int(y)))
			if math.Abs(a.area-b.area) > 2*Extent || math.Abs(a.length-b.length) > 4 || a.features != b.features {
				t.Errorf("tile %d/%d/%d: pieces draw %+v, the whole %+v", z, x, y, a, b)
			}
			if a.features > 0 {
				tiles++
			}
		}
	}
	if tiles < 10 {
		t.Fatalf("only %d tiles drawn", tiles)
	}
}

type drawn struct {
	features     int
	area, length float64 // inside the tile and its buffer, tile units
}

func measure(t *testing.T, data []byte) drawn {
	t.Helper()
	var d drawn
	if data == nil {
		return d
	}
	layers, err := mvt.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	// The tile with its buffer: what a client draws at the seams.
	buf := float64(Options{}.withDefaults().Buffer)
	box := orb.Bound{Min: orb.Point{-buf + 1, -buf + 1}, Max: orb.Point{Extent + buf - 1, Extent + buf - 1}}
	for _, l := range layers {
		for _, f := range l.Features {
			d.features++
			switch g := f.Geometry.(type) {
			case orb.Polygon:
				d.area += ringsArea(box, g)
			case orb.MultiPolygon:
				for _, p := range g {
					d.area += ringsArea(box, p)
				}
			case orb.LineString:
				d.length += lengthIn(box, orb.MultiLineString{g})
			case orb.MultiLineString:
				d.length += lengthIn(box, g)
			default:
				panic(fmt.Sprintf("%T", g))
			}
		}
	}
	return d
}

func ringsArea(box orb.Bound, p orb.Polygon) float64 {
	a := 0.0
	for i, r := range p {
		c := clipRing(box, r)
		if i == 0 {
			a += math.Abs(planar.Area(c))
		} else {
			a -= math.Abs(planar.Area(c))
		}
	}
	return a
}

func clipRing(box orb.Bound, r orb.Ring) orb.Ring {
	out := append([]orb.Point(nil), r...)
	for edge := range 4 {
		out = clipEdge(nil, out, box, edge)
	}
	return orb.Ring(out)
}

func lengthIn(box orb.Bound, ml orb.MultiLineString) float64 {
	total := 0.0
	for _, l := range ml {
		for i := 0; i+1 < len(l); i++ {
			a, b := l[i], l[i+1]
			// the part of the segment inside the box, sampled finely enough
			// for a test
			const k = 64
			for j := range k {
				p := orb.Point{a[0] + (b[0]-a[0])*(float64(j)+0.5)/k, a[1] + (b[1]-a[1])*(float64(j)+0.5)/k}
				if box.Contains(p) {
					total += planar.Distance(a, b) / k
				}
			}
		}
	}
	return total
}

// TestHeavyGeometryIsReused: when a change re-prepares a layer, a large
// feature the change left alone keeps its simplified copies and pieces
// (a company that sends a small pilot again and again does not make the
// twin simplify another company's large one each time); a feature the
// change replaced gets its own.
func TestHeavyGeometryIsReused(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	big := func(id string, lat float64) *twin.Feature {
		line := make(orb.LineString, 0, 10_000)
		for i := range 10_000 {
			f := float64(i) / 9999
			line = append(line, orb.Point{20.29 + 0.02*f, lat + 0.001*math.Sin(40*math.Pi*f)})
		}
		return &twin.Feature{ID: id, Layer: twin.Pilots, Geometry: line, Life: twin.Lifespan{From: from}}
	}
	m := twin.NewModel()
	if err := m.Load([]*twin.Feature{big("a", 67.85), big("b", 67.86)}); err != nil {
		t.Fatal(err)
	}
	tl := New(m, Options{CacheBytes: -1})
	defer tl.Close()
	heavy := func() map[string]heavyGeom {
		tl.Warm()
		out := map[string]heavyGeom{}
		for f, h := range tl.state.Load().all[slices.Index(twin.LayerIDs(), twin.Pilots)].heavy {
			out[f.ID] = h
		}
		return out
	}
	before := heavy()
	if before["a"].pieces == nil || before["b"].simpl == nil {
		t.Fatalf("no heavy geometry: %+v", before)
	}
	point := &twin.Feature{ID: "p", Layer: twin.Pilots, Geometry: orb.Point{20.3, 67.855}, Life: twin.Lifespan{From: from}}
	if _, err := m.Apply(twin.Edit{Layer: twin.Pilots, Add: []*twin.Feature{point}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(twin.Edit{Layer: twin.Pilots, Remove: []string{"b"}, Add: []*twin.Feature{big("b", 67.865)}}); err != nil {
		t.Fatal(err)
	}
	after := heavy()
	same := func(x, y heavyGeom) bool {
		return reflect.ValueOf(x.pieces).Pointer() == reflect.ValueOf(y.pieces).Pointer()
	}
	if !same(before["a"], after["a"]) {
		t.Error("the untouched feature was prepared again")
	}
	if same(before["b"], after["b"]) {
		t.Error("the replaced feature kept the old one's geometry")
	}
	if len(after) != 2 {
		t.Errorf("%d heavy features, want 2", len(after))
	}
}
