package tiles3d

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes/shape"
	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/qmuntal/gltf"
	"github.com/qmuntal/gltf/modeler"
)

// Known points: the equator at Greenwich, the pole, and Kiruna church at
// 500 m, whose round trip must hold to well under a millimetre.
func TestECEF(t *testing.T) {
	for _, c := range []struct {
		lon, lat, h float64
		want        [3]float64
	}{
		{0, 0, 0, [3]float64{6378137, 0, 0}},
		{90, 0, 100, [3]float64{0, 6378237, 0}},
		{0, 90, 0, [3]float64{0, 0, 6356752.314245}},
		// Computed separately (Python, the closed form with WGS84's a and
		// 1/f: N = a / sqrt(1 - e² sin²φ)).
		{20.232972, 67.852, 500, [3]float64{2262867.860, 834052.069, 5885352.673}},
	} {
		p := ToECEF(c.lon, c.lat, c.h)
		for i := range 3 {
			if math.Abs(p[i]-c.want[i]) > 0.002 {
				t.Errorf("ToECEF(%v, %v, %v) = %v, want %v", c.lon, c.lat, c.h, p, c.want)
				break
			}
		}
		lon, lat, h := FromECEF(p)
		if math.Abs(lon-c.lon)*111320*math.Cos(c.lat*math.Pi/180) > 1e-4 || math.Abs(lat-c.lat)*111320 > 1e-4 || math.Abs(h-c.h) > 1e-4 {
			t.Errorf("FromECEF(ToECEF(%v, %v, %v)) = %v, %v, %v", c.lon, c.lat, c.h, lon, lat, h)
		}
	}
	// A metre north is a metre.
	a, b := ToECEF(20.2, 67.85, 0), ToECEF(20.2, 67.85+1/111_600.0, 0)
	if d := math.Sqrt(dot(sub(a, b), sub(a, b))); math.Abs(d-1) > 0.01 {
		t.Errorf("1/111600 degree of latitude is %v m", d)
	}
}

var church = orb.Point{20.232972, 67.852}

func block(id string, c orb.Point, w, d, h float64, from, to int) *twin.Feature {
	f := &twin.Feature{ID: id, Layer: twin.Buildings, Kind: "house", Name: "Hus " + id,
		Geometry: synth.Footprint(c, w, d, 0.2, 0), Height: h, Status: twin.Standing,
		Life: twin.Lifespan{From: synth.Year(from)}, Source: "test", Confidence: twin.Guess}
	if to > 0 {
		f.Life.To = synth.Year(to)
		f.Status = twin.Demolished
	}
	return f
}

func load(t testing.TB, fs ...*twin.Feature) *twin.Model {
	t.Helper()
	m := twin.NewModel()
	if err := m.Load(fs); err != nil {
		t.Fatal(err)
	}
	return m
}

// tileset parses tileset.json.
func tilesetOf(t testing.TB, tl *Tiler) tilesetJSON {
	t.Helper()
	b, _, err := tl.Tileset()
	if err != nil {
		t.Fatal(err)
	}
	var ts tilesetJSON
	if err := json.Unmarshal(b, &ts); err != nil {
		t.Fatal(err)
	}
	return ts
}

func decode(t testing.TB, b []byte) *gltf.Document {
	t.Helper()
	doc := new(gltf.Document)
	if err := gltf.NewDecoder(bytes.NewReader(b)).Decode(doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func mul(m [16]float64, p [3]float64) [3]float64 {
	return [3]float64{
		m[0]*p[0] + m[4]*p[1] + m[8]*p[2] + m[12],
		m[1]*p[0] + m[5]*p[1] + m[9]*p[2] + m[13],
		m[2]*p[0] + m[6]*p[1] + m[10]*p[2] + m[14],
	}
}

// findContent walks the tileset to the tile whose content is uri and
// returns its transform composed with every parent's.
func findContent(tj *tileJSON, uri string, parent []([16]float64)) ([]([16]float64), bool) {
	chain := append(append([]([16]float64){}, parent...), *tj.Transform)
	if tj.Content != nil && tj.Content.URI == uri {
		return chain, true
	}
	for _, c := range tj.Children {
		if ch, ok := findContent(c, uri, chain); ok {
			return ch, true
		}
	}
	return nil, false
}

// The corners of a building come back from the .glb, through the tile's
// transforms and ECEF, to within a centimetre of where they are.
func TestPositionsToTheCentimetre(t *testing.T) {
	var fs []*twin.Feature
	// Enough buildings for the tree to split, so that transforms compose.
	for i := 0; i < 30; i++ {
		fs = append(fs, block("b"+string(rune('a'+i)), synth.Offset(church, float64(i%6)*400, float64(i/6)*400), 20, 12, 9, 1950, 0))
	}
	tl := New(load(t, fs...), Options{MaxFeatures: 4})
	ts := tilesetOf(t, tl)
	if ts.Asset.Version != "1.1" || ts.Root == nil || len(ts.Root.Children) == 0 {
		t.Fatalf("tileset %+v: want version 1.1 and a split root", ts.Asset)
	}
	contents := tl.Contents()
	if len(contents) < 8 {
		t.Fatalf("%d contents, want at least 8 of at most 4 features", len(contents))
	}
	checked := 0
	for _, k := range contents {
		b, st, err := tl.Encode(k[0], k[1], k[2])
		if err != nil {
			t.Fatal(err)
		}
		if st.Features > 4 || st.Blocks != st.Features {
			t.Errorf("%v: %+v", k, st)
		}
		chain, ok := findContent(ts.Root, ContentURI(k[0], k[1], k[2]), nil)
		if !ok {
			t.Fatalf("%v is not in the tileset", k)
		}
		doc := decode(t, b)
		prim := doc.Meshes[0].Primitives[0]
		pos, err := modeler.ReadPosition(doc, doc.Accessors[prim.Attributes["POSITION"]], nil)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := modeler.ReadAccessor(doc, doc.Accessors[prim.Attributes["_FEATURE_ID_0"]], nil)
		if err != nil {
			t.Fatal(err)
		}
		names := table(t, doc, "id")
		for vi, p := range pos {
			// glTF's y-up to 3D Tiles' z-up, then each transform, root last.
			q := [3]float64{float64(p[0]), -float64(p[2]), float64(p[1])}
			for i := len(chain) - 1; i >= 0; i-- {
				q = mul(chain[i], q)
			}
			lon, lat, h := FromECEF(q)
			f := byID(fs, names[int(ids.([]float32)[vi])])
			best := math.Inf(1)
			for _, c := range f.Geometry.(orb.Polygon)[0] {
				dx := (lon - c[0]) * 111320 * math.Cos(lat*math.Pi/180)
				dy := (lat - c[1]) * 111320
				best = min(best, math.Hypot(dx, dy))
			}
			if best > 0.01 {
				t.Fatalf("%v vertex %d of %s: %.4f m from the nearest corner", k, vi, f.ID, best)
			}
			if math.Abs(h) > 0.01 && math.Abs(h-9) > 0.01 {
				t.Fatalf("%v vertex %d of %s: height %.4f, want 0 or 9", k, vi, f.ID, h)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no vertex checked")
	}
}

func byID(fs []*twin.Feature, id string) *twin.Feature {
	for _, f := range fs {
		if f.ID == id {
			return f
		}
	}
	panic("no feature " + id)
}

// table reads one column of the content's property table.
func table(t testing.TB, doc *gltf.Document, name string) []string {
	t.Helper()
	raw, _ := json.Marshal(doc.Extensions["EXT_structural_metadata"])
	var meta struct {
		Schema struct {
			Classes map[string]struct {
				Properties map[string]struct {
					Type, ComponentType string
					NoData              any
				}
			}
		}
		PropertyTables []struct {
			Class      string
			Count      int
			Properties map[string]struct{ Values, StringOffsets int }
		}
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatal(err)
	}
	pt := meta.PropertyTables[0]
	prop := meta.Schema.Classes[pt.Class].Properties[name]
	col := pt.Properties[name]
	view := func(i int) []byte {
		b, err := modeler.ReadBufferView(doc, doc.BufferViews[i])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	out := make([]string, pt.Count)
	switch prop.Type {
	case "STRING":
		vals, offs := view(col.Values), view(col.StringOffsets)
		for i := range out {
			a, b := binary.LittleEndian.Uint32(offs[4*i:]), binary.LittleEndian.Uint32(offs[4*i+4:])
			out[i] = string(vals[a:b])
		}
	case "SCALAR":
		vals := view(col.Values)
		for i := range out {
			out[i] = strings.TrimRight(strings.TrimRight(
				jsonNumber(math.Float64frombits(binary.LittleEndian.Uint64(vals[8*i:]))), "0"), ".")
		}
	default:
		t.Fatalf("column %s of type %q", name, prop.Type)
	}
	return out
}

func jsonNumber(v float64) string { b, _ := json.Marshal(v); return string(b) + "." }

// Every feature's metadata: the schema's values, times as decimal years,
// to = 9999 when open, the layer; pilots with pilot and company.
func TestMetadata(t *testing.T) {
	old := block("kyrka", church, 40, 40, 40, 1912, 0)
	old.Life.To = time.Date(2025, 8, 20, 0, 0, 0, 0, time.UTC)
	old.Status, old.Lineage = twin.Moved, "kiruna-kyrka"
	gone := block("rivet", synth.Offset(church, 60, 0), 10, 10, 6, 1930, 2019)
	pilot := block("pilot:heat:h1", synth.Offset(church, 0, 60), 8, 8, 3, 2024, 0)
	pilot.Layer, pilot.Status = twin.Pilots, ""
	pilot.Props = map[string]any{twin.PropPilot: "heat", twin.PropCompany: "acme"}
	m := load(t, old, gone, pilot)
	tl := New(m, Options{})
	cs := tl.Contents()
	if len(cs) != 1 {
		t.Fatalf("contents %v, want one", cs)
	}
	b, _, err := tl.Encode(cs[0][0], cs[0][1], cs[0][2])
	if err != nil {
		t.Fatal(err)
	}
	doc := decode(t, b)
	ids := table(t, doc, "id")
	want := map[string]map[string]string{
		"kyrka":         {"from": "1912", "to": "2025.6329", "status": "moved", "layer": "buildings", "height": "40", "lineage": "kiruna-kyrka", "pilot": ""},
		"rivet":         {"from": "1930", "to": "2019", "status": "demolished", "layer": "buildings", "kind": "house"},
		"pilot:heat:h1": {"from": "2024", "to": "9999", "layer": "pilots", "pilot": "heat", "company": "acme", "status": ""},
	}
	cols := map[string][]string{}
	for _, c := range []string{"from", "to", "status", "layer", "height", "lineage", "pilot", "company", "kind", "name"} {
		cols[c] = table(t, doc, c)
	}
	for row, id := range ids {
		for c, v := range want[id] {
			if cols[c][row] != v {
				t.Errorf("%s.%s = %q, want %q", id, c, cols[c][row], v)
			}
		}
	}
	if len(ids) != 3 {
		t.Errorf("ids %v", ids)
	}
	if ext := doc.Meshes[0].Primitives[0].Extensions["EXT_mesh_features"]; ext == nil {
		t.Error("no EXT_mesh_features on the primitive")
	}
}

// A solid is drawn as it is, lifted to the feature's base; only features
// with solids are in an OnlySolids tileset.
func TestSolidsAndOnlySolids(t *testing.T) {
	roofed := block("roofed", church, 20, 10, 9, 1912, 0)
	s, err := shape.Build(shape.Part{Footprint: roofed.Geometry.(orb.Polygon), Eaves: 5, Top: 9, Roof: shape.Gabled})
	if err != nil {
		t.Fatal(err)
	}
	s.Apply(roofed)
	flat := block("flat", synth.Offset(church, 50, 0), 10, 10, 6, 1950, 0)
	m := load(t, roofed, flat)
	all, _, err := New(m, Options{}).Encode(firstContent(t, New(m, Options{})))
	if err != nil {
		t.Fatal(err)
	}
	if ids := table(t, decode(t, all), "id"); len(ids) != 2 {
		t.Errorf("ids %v, want both", ids)
	}
	only := New(m, Options{OnlySolids: true})
	b, st, err := only.Encode(firstContent(t, only))
	if err != nil {
		t.Fatal(err)
	}
	if ids := table(t, decode(t, b), "id"); len(ids) != 1 || ids[0] != "roofed" || st.Solids != 1 {
		t.Errorf("only solids: ids %v, stats %+v", ids, st)
	}
	// A floor (2 triangles), two long walls (2 each), two gable ends
	// (pentagons, 3 each) and two roof slopes (2 each).
	if st.Triangles != 2+4+6+4 {
		t.Errorf("%d triangles, want 16", st.Triangles)
	}
}

func firstContent(t testing.TB, tl *Tiler) (int, int, int) {
	cs := tl.Contents()
	if len(cs) == 0 {
		t.Fatal("no content")
	}
	return cs[0][0], cs[0][1], cs[0][2]
}

// An edit of a pilot drops its content from the cache and changes the
// tileset; an unknown tile is ErrNoTile.
func TestFollowsEdits(t *testing.T) {
	m := load(t, block("a", church, 20, 10, 9, 1912, 0))
	tl := New(m, Options{})
	_, tag1, _ := tl.Tileset()
	z, x, y := firstContent(t, tl)
	t1, err := tl.Get(z, x, y, true)
	if err != nil || !t1.Gzipped {
		t.Fatal(err)
	}
	if t2, _ := tl.Get(z, x, y, false); t2.ETag != t1.ETag || t2.Gzipped || len(t2.Data) != t1.Size {
		t.Errorf("plain copy %+v of %+v", t2, t1)
	}
	p := block("pilot:p:1", synth.Offset(church, 30, 0), 8, 8, 3, 2024, 0)
	p.Layer, p.Status = twin.Pilots, ""
	if _, err := m.Apply(twin.Edit{Layer: twin.Pilots, Add: []*twin.Feature{p}}); err != nil {
		t.Fatal(err)
	}
	if _, tag2, _ := tl.Tileset(); tag2 == tag1 {
		t.Error("the tileset's ETag did not change")
	}
	z2, x2, y2 := firstContent(t, tl)
	t3, err := tl.Get(z2, x2, y2, true)
	if err != nil {
		t.Fatal(err)
	}
	if t3.ETag == t1.ETag {
		t.Error("the content did not change with the pilot")
	}
	if _, err := tl.Get(0, 0, 0, true); !errors.Is(err, ErrNoTile) {
		t.Errorf("0/0/0: %v, want ErrNoTile", err)
	}
	// A change of a layer that is not drawn in 3D changes nothing.
	s := &twin.Feature{ID: "s", Layer: twin.Sensors, Geometry: church, Life: twin.Lifespan{From: synth.Year(2020)}}
	_, tag3, _ := tl.Tileset()
	if _, err := m.Apply(twin.Edit{Layer: twin.Sensors, Add: []*twin.Feature{s}}); err != nil {
		t.Fatal(err)
	}
	if _, tag4, _ := tl.Tileset(); tag4 != tag3 {
		t.Error("a sensor changed the tileset")
	}
}

func TestEmpty(t *testing.T) {
	tl := New(twin.NewModel(), Options{})
	ts := tilesetOf(t, tl)
	if ts.Root == nil || ts.Root.Content != nil || len(tl.Contents()) != 0 {
		t.Errorf("empty tileset %+v", ts)
	}
}
