package tiles_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/tiles"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/encoding/mvt/vectortile"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/planar"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var centre = orb.Point{20.25, 67.85}

func year(y int) time.Time { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC) }

// fixture is a small scene with one of everything: a building with a
// hole, a moved building (two sites), a demolished one, a road that
// crosses tiles, a zone, a sensor, a landmark and a pilot with props.
func fixture(t testing.TB) *twin.Model {
	t.Helper()
	ring := func(c orb.Point, w, d float64) orb.Ring { return synth.Footprint(c, w, d, 0, 0)[0] }
	hole := ring(centre, 10, 10)
	slices.Reverse(hole)
	fs := []*twin.Feature{
		{ID: "b-hall", Layer: twin.Buildings, Kind: "town_hall", Name: "Stadshuset",
			Geometry: orb.Polygon{ring(centre, 40, 30), hole}, Height: 18, Base: 0,
			Life: twin.Lifespan{From: year(1963)}, Status: twin.Standing, Confidence: twin.Sourced},
		{ID: "b-church-old", Layer: twin.Buildings, Kind: "church", Name: "Kyrkan",
			Geometry: orb.Polygon{ring(synth.Offset(centre, -120, 40), 30, 20)}, Height: 35,
			Life: twin.Lifespan{From: year(1912), To: time.Date(2025, 8, 20, 0, 0, 0, 0, time.UTC)}, Status: twin.Moved, Lineage: "church"},
		{ID: "b-church-new", Layer: twin.Buildings, Kind: "church", Name: "Kyrkan",
			Geometry: orb.Polygon{ring(synth.Offset(centre, 150, -60), 30, 20)}, Height: 35,
			Life: twin.Lifespan{From: time.Date(2025, 8, 20, 0, 0, 0, 0, time.UTC)}, Status: twin.Moved, Lineage: "church"},
		{ID: "b-gone", Layer: twin.Buildings, Kind: "house", Name: "",
			Geometry: orb.Polygon{ring(synth.Offset(centre, 60, 60), 12, 9)}, Height: 6, Base: 1.5,
			Life: twin.Lifespan{From: year(1950), To: year(2014)}, Status: twin.Demolished},
		{ID: "road-1", Layer: twin.Infrastructure, Kind: "road", Name: "Malmvägen",
			Geometry: orb.LineString{synth.Offset(centre, -3000, -20), synth.Offset(centre, 0, -20), synth.Offset(centre, 3000, 400)},
			Life:     twin.Lifespan{From: year(1930)}},
		{ID: "zone-2020", Layer: twin.Zones, Kind: "fracture", Name: "Sprickzon",
			Geometry: orb.Polygon{ring(synth.Offset(centre, -200, -100), 600, 500)},
			Life:     twin.Lifespan{From: year(2020), To: year(2021)}},
		{ID: "s-1", Layer: twin.Sensors, Kind: "ground_deformation", Name: "Reflektor 1",
			Geometry: synth.Offset(centre, 20, -40), Life: twin.Lifespan{From: year(2012)},
			Props: map[string]any{"unit": "mm", "type": "ground_deformation"}},
		{ID: "l-1", Layer: twin.Landmarks, Kind: "square", Name: "Stadshustorget",
			Geometry: synth.Offset(centre, 10, 30), Life: twin.Lifespan{From: year(1900)}},
		{ID: "p-1", Layer: twin.Pilots, Kind: "charger", Name: "Laddare",
			Geometry: synth.Offset(centre, -30, -10), Life: twin.Lifespan{From: year(2024)},
			Props: map[string]any{"pilot": "ev", "company": "acme", "kw": 50.0, "public": true}},
	}
	m := twin.NewModel()
	if err := m.Load(fs); err != nil {
		t.Fatal(err)
	}
	return m
}

func tileAt(p orb.Point, z int) (int, int) {
	t := maptile.At(p, maptile.Zoom(z))
	return int(t.X), int(t.Y)
}

// decoded is a tile in a form that reads well in a golden file.
type decodedLayer struct {
	Name     string           `json:"name"`
	Version  uint32           `json:"version"`
	Extent   uint32           `json:"extent"`
	Features []decodedFeature `json:"features"`
}

type decodedFeature struct {
	Props    map[string]any `json:"properties"`
	Type     string         `json:"type"`
	Geometry orb.Geometry   `json:"-"`
	Coords   any            `json:"coordinates"`
}

func decode(t testing.TB, raw []byte) map[string]decodedLayer {
	t.Helper()
	ls, err := mvt.Unmarshal(raw)
	if err != nil {
		t.Fatalf("decoding the tile: %v", err)
	}
	out := map[string]decodedLayer{}
	for _, l := range ls {
		dl := decodedLayer{Name: l.Name, Version: l.Version, Extent: l.Extent}
		for _, f := range l.Features {
			// MVT's integer id is the feature's NumericID, the same in
			// every tile and zoom; the string id stays a property.
			id, _ := f.Properties["id"].(string)
			// orb reads it as a float64: exact, as it is below 2^53.
			if n, ok := f.ID.(float64); !ok || n != float64(twin.NumericID(id)) {
				t.Errorf("feature %q has MVT id %v (%T), want %d", id, f.ID, f.ID, twin.NumericID(id))
			}
			dl.Features = append(dl.Features, decodedFeature{Props: f.Properties,
				Type: f.Geometry.GeoJSONType(), Geometry: f.Geometry, Coords: coords(f.Geometry)})
		}
		sort.Slice(dl.Features, func(i, j int) bool {
			return fmt.Sprint(dl.Features[i].Props["id"]) < fmt.Sprint(dl.Features[j].Props["id"])
		})
		out[l.Name] = dl
	}
	return out
}

func coords(g orb.Geometry) any {
	b, _ := json.Marshal(map[string]any{"g": g})
	var v map[string]any
	_ = json.Unmarshal(b, &v)
	return v["g"]
}

func ids(l decodedLayer) []string {
	var out []string
	for _, f := range l.Features {
		out = append(out, f.Props["id"].(string))
	}
	sort.Strings(out)
	return out
}

func TestGolden(t *testing.T) {
	m := fixture(t)
	tl := tiles.New(m, tiles.Options{})
	cases := []struct {
		name string
		z    int
		at   orb.Point
	}{
		{"z14-centre", 14, centre},
		{"z16-centre", 16, centre},
		{"z17-out-of-range", 17, centre},
		{"z10-generalised", 10, centre},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, y := tileAt(c.at, c.z)
			raw, err := tl.Encode(c.z, x, y)
			var got []byte
			if err != nil {
				got = []byte("error: " + err.Error() + "\n")
			} else {
				got, _ = json.MarshalIndent(decode(t, raw), "", " ")
				got = append(got, '\n')
			}
			path := filepath.Join("testdata", "golden", c.name+".json")
			if *update {
				_ = os.MkdirAll(filepath.Dir(path), 0o755)
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./tiles -run TestGolden -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("tile %s differs from %s (rerun with -update after checking):\n%s", c.name, path, got)
			}
		})
	}
}

// TestProperties checks the properties API.md promises on every feature
// of the fixture's z15 tile.
func TestProperties(t *testing.T) {
	m := fixture(t)
	tl := tiles.New(m, tiles.Options{})
	x, y := tileAt(centre, 15)
	raw, err := tl.Encode(15, x, y)
	if err != nil {
		t.Fatal(err)
	}
	d := decode(t, raw)
	for _, name := range []string{"buildings", "infrastructure", "zones", "sensors", "landmarks", "pilots"} {
		l, ok := d[name]
		if !ok || len(l.Features) == 0 {
			t.Errorf("layer %s missing from the tile", name)
			continue
		}
		if l.Version != 2 || l.Extent != tiles.Extent {
			t.Errorf("layer %s: version %d extent %d, want 2 and %d", name, l.Version, l.Extent, tiles.Extent)
		}
		for _, f := range l.Features {
			snapF, ok := m.Snapshot().Find(f.Props["id"].(string))
			if !ok {
				t.Fatalf("%s: unknown id %v", name, f.Props["id"])
			}
			want := map[string]any{"id": snapF.ID, "name": snapF.Name, "kind": snapF.Kind,
				"from": round4(twin.DecimalYear(snapF.Life.From))}
			if !snapF.Life.To.IsZero() {
				want["to"] = round4(twin.DecimalYear(snapF.Life.To))
			} else if _, has := f.Props["to"]; has {
				t.Errorf("%s: has a to but no end", snapF.ID)
			}
			if name == "buildings" {
				want["height"], want["base"], want["status"] = snapF.Height, snapF.Base, string(snapF.Status)
				if snapF.Lineage != "" {
					want["lineage"] = snapF.Lineage
				}
			}
			for k, v := range snapF.Props {
				want[k] = v
			}
			for k, v := range want {
				if f.Props[k] != v {
					t.Errorf("%s: %s = %#v, want %#v", snapF.ID, k, f.Props[k], v)
				}
			}
		}
	}
	if p := d["pilots"].Features[0].Props; p["pilot"] != "ev" || p["company"] != "acme" || p["public"] != true || p["kw"] != 50.0 {
		t.Errorf("pilot props %v", p)
	}
}

func round4(y float64) float64 { return math.Round(y*1e4) / 1e4 }

// TestWindingAndVersion reads the raw protobuf: MVT 2 wants version 2 and
// exterior rings with a positive area (clockwise on screen), holes negative.
func TestWindingAndVersion(t *testing.T) {
	m := fixture(t)
	tl := tiles.New(m, tiles.Options{})
	for _, z := range []int{12, 14, 16} {
		x, y := tileAt(centre, z)
		raw, err := tl.Encode(z, x, y)
		if err != nil {
			t.Fatal(err)
		}
		var vt vectortile.Tile
		if err := vt.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		sawHole := false
		for _, l := range vt.Layers {
			if l.GetVersion() != 2 {
				t.Errorf("z%d layer %s version %d", z, l.GetName(), l.GetVersion())
			}
			for _, f := range l.Features {
				if f.GetType() != vectortile.Tile_POLYGON {
					continue
				}
				areas := ringAreas(f.Geometry)
				if len(areas) == 0 || areas[0] <= 0 {
					t.Errorf("z%d %s: first ring area %v, want > 0", z, l.GetName(), areas)
				}
				if l.GetName() == "buildings" && len(areas) == 2 {
					sawHole = true
					if areas[1] >= 0 {
						t.Errorf("z%d: hole area %v, want < 0", z, areas[1])
					}
				}
			}
		}
		if !sawHole {
			t.Errorf("z%d: the town hall's hole is missing", z)
		}
	}
}

// ringAreas decodes polygon commands and returns each ring's area by the
// surveyor's formula in tile units.
func ringAreas(cmds []uint32) []float64 {
	var areas []float64
	var x, y int64
	var ring [][2]int64
	for i := 0; i < len(cmds); {
		id, n := cmds[i]&7, int(cmds[i]>>3)
		i++
		switch id {
		case 1, 2:
			if id == 1 {
				ring = nil
			}
			for k := 0; k < n; k++ {
				x += int64(int32(cmds[i]>>1) ^ -int32(cmds[i]&1))
				y += int64(int32(cmds[i+1]>>1) ^ -int32(cmds[i+1]&1))
				i += 2
				ring = append(ring, [2]int64{x, y})
			}
		case 7:
			var a int64
			for k := range ring {
				p, q := ring[k], ring[(k+1)%len(ring)]
				a += p[0]*q[1] - q[0]*p[1]
			}
			areas = append(areas, float64(a)/2)
		}
	}
	return areas
}

// TestBufferAndClip checks that geometry reaches at most the buffer past
// the tile edge, and that a road crossing the tile is cut there.
func TestBufferAndClip(t *testing.T) {
	m := fixture(t)
	o := tiles.Options{Buffer: 64}
	tl := tiles.New(m, o)
	x, y := tileAt(centre, 16)
	raw, err := tl.Encode(16, x, y)
	if err != nil {
		t.Fatal(err)
	}
	d := decode(t, raw)
	road := d["infrastructure"].Features
	if len(road) != 1 {
		t.Fatalf("want the road in the tile, got %d features", len(road))
	}
	reachesEdge := false
	for _, l := range d {
		for _, f := range l.Features {
			b := f.Geometry.Bound()
			if b.Min[0] < -64 || b.Min[1] < -64 || b.Max[0] > tiles.Extent+64 || b.Max[1] > tiles.Extent+64 {
				t.Errorf("%s %v reaches past the buffer: %v", l.Name, f.Props["id"], b)
			}
			if l.Name == "infrastructure" && (b.Min[0] == -64 || b.Max[0] == tiles.Extent+64) {
				reachesEdge = true
			}
		}
	}
	if !reachesEdge {
		t.Errorf("the road should be clipped at the buffer's edge")
	}
}

// city loads a generated city of n buildings.
func city(t testing.TB, n int) *twin.Model {
	t.Helper()
	m := twin.NewModel()
	if err := m.Load(synth.City(n, 7, centre)); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMembership is the property test: at every zoom, every feature whose
// box meets the buffered tile (and that the zoom's generalisation keeps)
// is in the tile unless clipping leaves nothing of it, and no other is.
func TestMembership(t *testing.T) {
	m := city(t, 3000)
	o := tiles.Options{MaxFeatures: 400}
	tl := tiles.New(m, o)
	opts := tl.Options()
	snap := m.Snapshot()
	cityB := snap.Bound(twin.Buildings)
	for z := 9; z <= 16; z++ {
		// Every tile over the city's corners and centre, and a ring of tiles
		// around them: edge tiles and tiles outside the data.
		pts := []orb.Point{cityB.Min, cityB.Max, {cityB.Min[0], cityB.Max[1]}, {cityB.Max[0], cityB.Min[1]}, cityB.Center()}
		seen := map[[2]int]bool{}
		for _, p := range pts {
			cx, cy := tileAt(p, z)
			for dx := -1; dx <= 1; dx++ {
				for dy := -1; dy <= 1; dy++ {
					x, y := cx+dx, cy+dy
					if seen[[2]int{x, y}] {
						continue
					}
					seen[[2]int{x, y}] = true
					checkMembership(t, tl, snap, opts, z, x, y)
				}
			}
		}
	}
}

func checkMembership(t *testing.T, tl *tiles.Tiler, snap *twin.Snapshot, o tiles.Options, z, x, y int) {
	t.Helper()
	raw, err := tl.Encode(z, x, y)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	if raw != nil {
		for _, id := range ids(decode(t, raw)["buildings"]) {
			got[id] = true
		}
	}
	mb := tiles.MercatorBound(z, x, y, o.Buffer)
	pixel := 1 / (tiles.TileSize * math.Exp2(float64(z)))
	type cand struct {
		f    *twin.Feature
		area float32
		must bool
	}
	var cands []cand
	for _, f := range snap.Features(twin.Buildings) {
		b := f.Mercator().Bound()
		if !b.Intersects(mb) {
			if got[f.ID] {
				t.Errorf("z%d/%d/%d holds %s, whose box is outside the tile", z, x, y, f.ID)
			}
			continue
		}
		size := max(b.Max[0]-b.Min[0], b.Max[1]-b.Min[1])
		if z < o.FullZoom && size < pixel {
			if got[f.ID] {
				t.Errorf("z%d/%d/%d holds %s, smaller than a pixel", z, x, y, f.ID)
			}
			continue
		}
		// A feature must be there when a real part of it lies inside the
		// buffered tile (its clipped area is above a square unit).
		clipped := clipArea(f.Mercator(), mb) * math.Pow(tiles.Extent*math.Exp2(float64(z)), 2)
		cands = append(cands, cand{f, float32(planar.Area(f.Mercator())), clipped > 4})
	}
	if z < o.MaxZoom && len(cands) > o.MaxFeatures {
		// The cap keeps the largest by area and counts what it writes:
		// no feature held while a larger one that draws is missing, and
		// the tile full when enough draw.
		sort.Slice(cands, func(i, j int) bool {
			if cands[i].area != cands[j].area {
				return cands[i].area > cands[j].area
			}
			return cands[i].f.ID < cands[j].f.ID
		})
		if len(got) > o.MaxFeatures {
			t.Errorf("z%d/%d/%d holds %d buildings, more than the cap of %d", z, x, y, len(got), o.MaxFeatures)
		}
		smallest, draw := -1, 0
		for i, c := range cands {
			if got[c.f.ID] {
				smallest = i
			}
			if c.must {
				draw++
			}
		}
		for _, c := range cands[:max(smallest, 0)] {
			if c.must && !got[c.f.ID] {
				t.Errorf("z%d/%d/%d lacks %s although it holds a smaller one", z, x, y, c.f.ID)
			}
		}
		if draw >= o.MaxFeatures && len(got) < o.MaxFeatures {
			t.Errorf("z%d/%d/%d holds %d buildings, %d drawable: the cap must count what is written", z, x, y, len(got), draw)
		}
		return
	}
	for _, c := range cands {
		if c.must && !got[c.f.ID] {
			t.Errorf("z%d/%d/%d lacks %s", z, x, y, c.f.ID)
		}
	}
}

// clipArea is the area of polygon g inside box b, by Sutherland–Hodgman.
func clipArea(g orb.Geometry, b orb.Bound) float64 {
	p, ok := g.(orb.Polygon)
	if !ok {
		return 0
	}
	ring := slices.Clone(p[0])
	for edge := 0; edge < 4; edge++ {
		inside := func(q orb.Point) bool {
			switch edge {
			case 0:
				return q[0] >= b.Min[0]
			case 1:
				return q[0] <= b.Max[0]
			case 2:
				return q[1] >= b.Min[1]
			}
			return q[1] <= b.Max[1]
		}
		cut := func(a, c orb.Point) orb.Point {
			var tt float64
			switch edge {
			case 0:
				tt = (b.Min[0] - a[0]) / (c[0] - a[0])
			case 1:
				tt = (b.Max[0] - a[0]) / (c[0] - a[0])
			case 2:
				tt = (b.Min[1] - a[1]) / (c[1] - a[1])
			default:
				tt = (b.Max[1] - a[1]) / (c[1] - a[1])
			}
			return orb.Point{a[0] + tt*(c[0]-a[0]), a[1] + tt*(c[1]-a[1])}
		}
		var out orb.Ring
		for i := range ring {
			a, c := ring[i], ring[(i+1)%len(ring)]
			if inside(c) {
				if !inside(a) {
					out = append(out, cut(a, c))
				}
				out = append(out, c)
			} else if inside(a) {
				out = append(out, cut(a, c))
			}
		}
		ring = out
		if len(ring) == 0 {
			return 0
		}
	}
	return math.Abs(planar.Area(ring))
}

// TestGeneralisation: below FullZoom features under a pixel go, landmarks
// and points stay; from FullZoom on every building is in its tile.
func TestGeneralisation(t *testing.T) {
	m := fixture(t)
	tl := tiles.New(m, tiles.Options{})
	x, y := tileAt(centre, 8)
	raw, err := tl.Encode(8, x, y)
	if err != nil {
		t.Fatal(err)
	}
	d := decode(t, raw)
	if n := len(d["buildings"].Features); n != 0 {
		t.Errorf("z8: %d buildings under a pixel kept", n)
	}
	if n := len(d["landmarks"].Features); n != 1 {
		t.Errorf("z8: landmarks %d, want 1", n)
	}
	if n := len(d["infrastructure"].Features); n != 1 {
		t.Errorf("z8: a 6 km road should stay, got %d", n)
	}
	for _, z := range []int{12, 13} {
		x, y := tileAt(centre, z)
		raw, err := tl.Encode(z, x, y)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(decode(t, raw)["buildings"].Features); n != 4 {
			t.Errorf("z%d: %d buildings, want all 4", z, n)
		}
	}
}

// TestSimplification: a many-sided zone has fewer vertices at low zoom
// than at MaxZoom, and keeps its full detail there.
func TestSimplification(t *testing.T) {
	var ring orb.Ring
	for i := 0; i < 400; i++ {
		a := 2 * math.Pi * float64(i) / 400
		r := 1500 + 40*math.Sin(a*23)
		ring = append(ring, synth.Offset(centre, r*math.Cos(a), r*math.Sin(a)))
	}
	ring = append(ring, ring[0])
	m := twin.NewModel()
	if err := m.Load([]*twin.Feature{{ID: "z", Layer: twin.Zones, Kind: "caved", Geometry: orb.Polygon{ring}, Life: twin.Lifespan{From: year(2000)}}}); err != nil {
		t.Fatal(err)
	}
	tl := tiles.New(m, tiles.Options{})
	count := func(z int) int {
		x, y := tileAt(centre, z)
		raw, err := tl.Encode(z, x, y)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range decode(t, raw)["zones"].Features {
			for _, r := range f.Geometry.(orb.Polygon) {
				n += len(r)
			}
		}
		return n
	}
	low, high := count(9), count(12)
	if !(low < 100 && low >= 4) {
		t.Errorf("z9 keeps %d vertices of 400, want a handful", low)
	}
	if high <= low {
		t.Errorf("z12 has %d vertices, z9 %d: want more detail when nearer", high, low)
	}
}

// TestCap keeps the largest features when a tile has too many.
func TestCap(t *testing.T) {
	m := city(t, 500)
	tl := tiles.New(m, tiles.Options{MaxFeatures: 25})
	x, y := tileAt(centre, 12)
	raw, err := tl.Encode(12, x, y)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(decode(t, raw)["buildings"].Features); n != 25 {
		t.Errorf("capped tile has %d buildings, want 25", n)
	}
	// MaxZoom tiles are never capped: clients overzoom them.
	x, y = tileAt(centre, 16)
	raw, _ = tl.Encode(16, x, y)
	if n := len(decode(t, raw)["buildings"].Features); n <= 25 {
		t.Errorf("z16 tile has %d buildings: the cap must not apply at MaxZoom", n)
	}
}

// building is a standing building of the given footprint, for the cap's
// tests.
func building(id string, g orb.Polygon) *twin.Feature {
	return &twin.Feature{ID: id, Layer: twin.Buildings, Kind: "house", Geometry: g, Height: 6,
		Life: twin.Lifespan{From: year(1950)}, Status: twin.Standing}
}

// TestCapDropsSmallestFirst: over the cap, the smallest by area go first,
// whatever their boxes (long thin buildings have large boxes and small
// areas), and the tile says how many it left out.
func TestCapDropsSmallestFirst(t *testing.T) {
	x, y := tileAt(centre, 14)
	mid := lonLat(tiles.MercatorBound(14, x, y, 0).Center()) // the tile is about 920 m wide here
	var fs []*twin.Feature
	for i := 0; i < 10; i++ {
		at := func(row float64) orb.Point { return synth.Offset(mid, float64(i%5)*120-240, row+float64(i/5)*70) }
		fs = append(fs, building(fmt.Sprintf("big-%d", i), synth.Footprint(at(-250), 40, 40, 0, 0)))  // 1,600 m²
		fs = append(fs, building(fmt.Sprintf("thin-%d", i), synth.Footprint(at(-35), 100, 4, 0, 0)))  // 400 m², 100 m long
		fs = append(fs, building(fmt.Sprintf("small-%d", i), synth.Footprint(at(180), 12, 12, 0, 0))) // 144 m²
	}
	m := twin.NewModel()
	if err := m.Load(fs); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cap     int
		prefix  []string // the kinds kept
		dropped int
	}{
		{10, []string{"big"}, 20},
		{20, []string{"big", "thin"}, 10},
		{30, []string{"big", "thin", "small"}, 0},
	} {
		tl := tiles.New(m, tiles.Options{MaxFeatures: c.cap})
		tile, err := tl.Get(14, x, y, false)
		if err != nil {
			t.Fatal(err)
		}
		held := ids(decode(t, tile.Data)["buildings"])
		kinds := map[string]int{}
		for _, id := range held {
			kind, _, _ := strings.Cut(id, "-")
			kinds[kind]++
		}
		for _, k := range c.prefix {
			if kinds[k] != 10 {
				t.Errorf("cap %d: %d of the 10 %s buildings kept, want all (held %v)", c.cap, kinds[k], k, held)
			}
		}
		if len(held) != min(c.cap, 30) {
			t.Errorf("cap %d: %d buildings held", c.cap, len(held))
		}
		var wantDropped []tiles.Dropped
		if c.dropped > 0 {
			wantDropped = []tiles.Dropped{{Layer: twin.Buildings, Features: c.dropped}}
		}
		if !slices.Equal(tile.Dropped, wantDropped) {
			t.Errorf("cap %d: Dropped %v, want %v", c.cap, tile.Dropped, wantDropped)
		}
		// The same in the gzipped form the cache holds.
		gz, err := tl.Get(14, x, y, true)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gz.Dropped, wantDropped) {
			t.Errorf("cap %d: the cached tile's Dropped %v, want %v", c.cap, gz.Dropped, wantDropped)
		}
		tl.Close()
	}
}

// lonLat is the inverse of Web Mercator on the unit square.
func lonLat(p orb.Point) orb.Point {
	return orb.Point{p[0]*360 - 180, math.Atan(math.Sinh(math.Pi*(1-2*p[1]))) * 180 / math.Pi}
}

// TestCapCountsWhatDraws: features whose boxes meet the tile but whose
// shapes do not take no place under the cap.
func TestCapCountsWhatDraws(t *testing.T) {
	const z = 14
	x, y := tileAt(centre, z)
	mb := tiles.MercatorBound(z, x, y, 64) // the buffered tile the index searches
	side := mb.Max[0] - mb.Min[0]
	var fs []*twin.Feature
	// Ten large triangles over the buffered tile's north-east corner
	// (Mercator's y grows southwards: the corner is (Max x, Min y)),
	// their boxes over it, their shapes beyond the diagonal that misses it.
	for i := 0; i < 10; i++ {
		s, g := side*(0.3+0.01*float64(i)), side*0.02
		cx, cy := mb.Max[0]+g, mb.Min[1]-g
		ring := orb.Ring{lonLat(orb.Point{cx - s, cy - s}), lonLat(orb.Point{cx + s, cy + s}), lonLat(orb.Point{cx + s, cy - s})}
		ring = append(ring, ring[0])
		if planar.Area(ring) > 0 {
			slices.Reverse(ring)
		}
		fs = append(fs, building(fmt.Sprintf("far-%d", i), orb.Polygon{ring}))
	}
	c := lonLat(mb.Center())
	for i := 0; i < 20; i++ {
		fs = append(fs, building(fmt.Sprintf("near-%02d", i), synth.Footprint(synth.Offset(c, float64(i%5)*40-80, float64(i/5)*40-80), 10, 10, 0, 0)))
	}
	m := twin.NewModel()
	if err := m.Load(fs); err != nil {
		t.Fatal(err)
	}
	tl := tiles.New(m, tiles.Options{MaxFeatures: 10})
	defer tl.Close()
	tile, err := tl.Get(z, x, y, false)
	if err != nil {
		t.Fatal(err)
	}
	held := ids(decode(t, tile.Data)["buildings"])
	if len(held) != 10 || !strings.HasPrefix(held[0], "near-") {
		t.Errorf("held %v, want 10 of the near buildings", held)
	}
	if want := []tiles.Dropped{{Layer: twin.Buildings, Features: 10}}; !slices.Equal(tile.Dropped, want) {
		t.Errorf("Dropped %v, want %v", tile.Dropped, want)
	}
}

func TestCheckTile(t *testing.T) {
	o := tiles.Options{}
	for _, c := range []struct {
		z, x, y int
		ok      bool
	}{
		{0, 0, 0, true}, {16, 65535, 65535, true}, {17, 0, 0, false}, {-1, 0, 0, false},
		{3, 8, 0, false}, {3, 0, 8, false}, {3, -1, 0, false}, {3, 7, 7, true},
	} {
		err := o.CheckTile(c.z, c.x, c.y)
		if (err == nil) != c.ok {
			t.Errorf("%d/%d/%d: err %v, want ok=%v", c.z, c.x, c.y, err, c.ok)
		}
	}
}

// TestEmpty: a tile far from the data is nil, not an empty protobuf.
func TestEmpty(t *testing.T) {
	tl := tiles.New(fixture(t), tiles.Options{})
	raw, err := tl.Encode(14, 0, 0)
	if err != nil || raw != nil {
		t.Fatalf("far tile: %v, %d bytes", err, len(raw))
	}
	tile, err := tl.Get(14, 0, 0, true)
	if err != nil || !tile.Empty() {
		t.Fatalf("far tile via Get: %v %+v", err, tile)
	}
}

func TestLayersInfo(t *testing.T) {
	tl := tiles.New(fixture(t), tiles.Options{})
	infos := tl.Layers()
	if len(infos) != len(twin.LayerIDs()) {
		t.Fatalf("%d layers", len(infos))
	}
	for _, l := range infos {
		for _, k := range []string{"id", "name", "kind", "from", "to"} {
			if l.Fields[k] == "" {
				t.Errorf("layer %s lacks field %s", l.ID, k)
			}
		}
		if l.ID == twin.Buildings {
			for _, k := range []string{"height", "base", "status", "lineage"} {
				if l.Fields[k] == "" {
					t.Errorf("buildings lack field %s", k)
				}
			}
		}
		if l.ID == twin.Pilots && (l.Fields["kw"] != tiles.FieldNumber || l.Fields["public"] != tiles.FieldBoolean) {
			t.Errorf("pilots fields %v", l.Fields)
		}
	}
}
