package cityjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes/crs"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/twpayne/go-geom"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encode writes features as the bundle writer does, one a line.
func encode(t testing.TB, fs []*twin.Feature) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, f := range fs {
		gf := geojson.NewFeature(orb.Round(orb.Clone(f.Geometry), 1e7))
		gf.ID = f.ID
		gf.Properties = f.Properties(twin.RFC3339Time)
		b, err := json.Marshal(gf)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func byID(fs []*twin.Feature) map[string]*twin.Feature {
	m := map[string]*twin.Feature{}
	for _, f := range fs {
		m[f.ID] = f
	}
	return m
}

func TestDecodeSweref(t *testing.T) {
	res, err := Decode(readFile(t, "sweref.city.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.CRS.Code != 3006 || res.Title != "Test blocks in SWEREF 99 TM" {
		t.Errorf("CRS %v, title %q", res.CRS, res.Title)
	}
	if res.Ignored["TINRelief"] != 1 || res.Ignored["+NoiseBuilding"] != 1 {
		t.Errorf("ignored = %v", res.Ignored)
	}
	if len(res.Skipped) != 0 {
		t.Errorf("skipped = %v", res.Skipped)
	}
	got := byID(res.Features)
	if len(got) != 4 {
		t.Fatalf("features %v, want b1, b2-p1, b2-p2, b3", len(got))
	}

	b1 := got["b1"]
	// The footprint's south-west corner is at (674032, 6580822) in
	// SWEREF 99 TM, Stockholm Central Station's published coordinates:
	// WGS84 59.330231 N, 18.059196 E (to the metre).
	poly, ok := b1.Geometry.(orb.Polygon)
	if !ok || len(poly) != 1 || len(poly[0]) != 5 {
		t.Fatalf("b1 footprint = %v, want one closed ring of 4 corners", b1.Geometry)
	}
	sw := poly[0][0]
	for _, p := range poly[0] {
		if p[0] <= sw[0] && p[1] <= sw[1] {
			sw = p
		}
	}
	if d := metres(sw, orb.Point{18.059196, 59.330231}); d > 1.5 {
		t.Errorf("b1 south-west corner %v is %.2f m from the control point", sw, d)
	}
	if poly[0].Orientation() != orb.CCW {
		t.Error("b1 footprint is not counter-clockwise")
	}
	if b1.Height != 12.5 || b1.Base != 0 {
		t.Errorf("b1 height %v base %v, want 12.5 and 0", b1.Height, b1.Base)
	}
	if !b1.Life.From.Equal(time.Date(1963, 1, 1, 0, 0, 0, 0, time.UTC)) || !b1.Life.To.IsZero() {
		t.Errorf("b1 life %v", b1.Life)
	}
	wantProps := map[string]any{
		"cityjson_type": "Building", "lod": "1", "function": "office", "attributes.height": 12.5,
		"owner.name": "X", "owner.org.nr": 5.0, "yearOfConstruction": 1963.0,
	}
	for k, v := range wantProps {
		if b1.Props[k] != v {
			t.Errorf("b1 props[%q] = %v, want %v", k, b1.Props[k], v)
		}
	}
	for _, k := range []string{"owner.org.deep.x", "tags", "nothing", "from_default", "footprint"} {
		if _, ok := b1.Props[k]; ok {
			t.Errorf("b1 props has %q", k)
		}
	}
	if b1.Name != "Testhuset" || b1.Source != "CityJSON: Test blocks in SWEREF 99 TM" || b1.Confidence != twin.Sourced {
		t.Errorf("b1 name %q source %q confidence %q", b1.Name, b1.Source, b1.Confidence)
	}
	mp, ok := b1.Solid.(*geom.MultiPolygon)
	if !ok || mp.NumPolygons() != 6 || mp.Layout() != geom.XYZ {
		t.Fatalf("b1 solid = %T, want a MultiPolygonZ of 6 faces", b1.Solid)
	}
	if b := mp.Bounds(); b.Min(2) != 5 || b.Max(2) != 17.5 {
		t.Errorf("b1 solid z %v to %v, want 5 to 17.5", b.Min(2), b.Max(2))
	}

	p1, p2 := got["b2-p1"], got["b2-p2"]
	if p1.Kind != "building_part" || p1.Props["building"] != "b2" || p1.Name != "Flygel" || p1.Props["roofType"] != "flat" {
		t.Errorf("b2-p1 = %+v", p1)
	}
	if p1.Base != 0 || p1.Height != 10 || p2.Base != 4 || p2.Height != 16 {
		t.Errorf("parts: p1 base %v height %v, p2 base %v height %v; want 0/10 and 4/16", p1.Base, p1.Height, p2.Base, p2.Height)
	}
	if !p1.Life.From.Equal(time.Date(2010, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("b2-p1 from %v, want the building's 2010-06", p1.Life.From)
	}
	if p2.Status != twin.Demolished || p2.Life.To.Year() != 2030 {
		t.Errorf("b2-p2 status %v to %v", p2.Status, p2.Life.To)
	}
	if _, ok := p2.Props["footprint"]; ok {
		t.Error("b2-p2 has marked ground surfaces, yet its footprint was not taken from them")
	}

	b3 := got["b3"]
	if b3.Props["footprint"] != "convex hull" || b3.Height != 4 || b3.Props["from_default"] != true || !b3.Life.From.Equal(DefaultFrom) {
		t.Errorf("b3 = footprint %v height %v props %v from %v", b3.Props["footprint"], b3.Height, b3.Props, b3.Life.From)
	}

	golden(t, "sweref.geojson", encode(t, res.Features))

	// What the model indexes, the importer made valid.
	m := twin.NewModel()
	if err := m.Load(res.Features); err != nil {
		t.Fatal(err)
	}
}

func metres(a, b orb.Point) float64 {
	dy := (a[1] - b[1]) * 111_320
	dx := (a[0] - b[0]) * 111_320 * math.Cos(a[1]*math.Pi/180)
	return math.Hypot(dx, dy)
}

// The same buildings as a CityJSONSeq stream give the same features.
func TestDecodeSeqMatchesFile(t *testing.T) {
	file, err := Decode(readFile(t, "sweref.city.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	data := readFile(t, "sweref.city.jsonl")
	if !IsSeq(data) || IsSeq(readFile(t, "sweref.city.json")) {
		t.Fatal("IsSeq cannot tell a sequence from a file")
	}
	var calls int
	seq, err := DecodeAny(data, Options{Progress: func(int, int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if calls == 0 {
		t.Error("Progress never called")
	}
	if got, want := encode(t, seq.Features), encode(t, file.Features); !bytes.Equal(got, want) {
		t.Errorf("sequence:\n%s\nfile:\n%s", got, want)
	}
}

// The conformance corpus of 3DGI: every case reads, or fails with a
// clear error, never a panic.
func TestCorpus(t *testing.T) {
	tests := []struct {
		file     string
		features int
		err      error
		errText  string
	}{
		{file: "cityjson_minimal.city.json"},
		{file: "cityjson_extended.city.json"},
		{file: "cityjsonfeature_minimal.city.jsonl"},
		{file: "appearance_complete.city.json", features: 2},
		{file: "cityobject_all_types.city.json"},
		{file: "cityobject_building_address.city.json"},
		{file: "cityobject_complete.city.json"},
		{file: "geometry_instance.city.json"},
		{file: "geometry_semantics_solid.city.json"},
		{file: "geometry_semantics_multisolid.city.json"},
		{file: "vertices.city.json"},
		{file: "coordinates_precision_wgs84.city.json"},
		{file: "coordinates_precision_utm.city.json"},
		{file: "metadata_complete.city.json", err: crs.ErrUnsupported, errText: "EPSG:2355"},
		{file: "cityjson_fake_complete.city.json", err: crs.ErrUnsupported, errText: "EPSG:2355"},
		// Its building's only surfaces are two collinear triangles.
		{file: "semantic_complete.city.json", err: ErrBadFootprint, errText: `CityObjects["fixture"].geometry[0]`},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			// The cases are in local metres; read them as Web Mercator
			// metres near (0, 0) where they declare no system.
			res, err := DecodeAny(readFile(t, filepath.Join("corpus", tc.file)), Options{CRS: "EPSG:3857"})
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want %v naming %q", err, tc.err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Features) != tc.features {
				t.Errorf("%d features, want %d", len(res.Features), tc.features)
			}
		})
	}
	// With SkipInvalid the degenerate building is skipped, not fatal.
	res, err := Decode(readFile(t, "corpus/semantic_complete.city.json"), Options{CRS: "EPSG:3857", SkipInvalid: true})
	if err != nil || len(res.Skipped) != 1 || res.Skipped[0].ID != "fixture" {
		t.Errorf("SkipInvalid: %v, skipped %v", err, res.Skipped)
	}
}

const box = `"vertices":[[0,0,0],[10,0,0],[10,10,0],[0,10,0],[0,0,5],[10,0,5],[10,10,5],[0,10,5]]`

func file(objects string, extra ...string) string {
	s := `{"type":"CityJSON","version":"2.0","transform":{"scale":[1,1,1],"translate":[500000,6600000,0]},` +
		`"metadata":{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/3006"},` +
		`"CityObjects":` + objects + `,` + box
	for _, e := range extra {
		s += "," + e
	}
	return s + "}"
}

const solid = `{"type":"Solid","lod":"1","boundaries":[[[[0,3,2,1]],[[4,5,6,7]],[[0,1,5,4]],[[1,2,6,5]],[[2,3,7,6]],[[3,0,4,7]]]]}`

// Hostile and broken input: each fails with an error that names the
// place, and none panics.
func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts Options
		err  error
		text string
	}{
		{"not JSON", `{"type":`, Options{}, ErrBadCityJSON, "unexpected end"},
		{"wrong type", `{"type":"FeatureCollection"}`, Options{}, ErrBadCityJSON, `want "CityJSON"`},
		{"old version", `{"type":"CityJSON","version":"0.9"}`, Options{}, ErrBadCityJSON, `version: "0.9"`},
		{"invalid UTF-8", "{\"type\":\"CityJSON\",\"x\":\"\xff\"}", Options{}, ErrBadCityJSON, "invalid UTF-8 at byte 24"},
		{"no CRS", `{"type":"CityJSON","version":"2.0","CityObjects":{},"vertices":[]}`, Options{}, ErrNoCRS, "metadata.referenceSystem"},
		{"unsupported CRS", `{"type":"CityJSON","version":"2.0","metadata":{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/7415"},"CityObjects":{},"vertices":[]}`,
			Options{}, crs.ErrUnsupported, "EPSG:7415"},
		{"CRS not a string", `{"type":"CityJSON","metadata":{"referenceSystem":7415},"CityObjects":{},"vertices":[]}`, Options{}, ErrBadCityJSON, "referenceSystem"},
		{"bad transform", `{"type":"CityJSON","transform":{"scale":[0,1,1],"translate":[0,0,0]},"CityObjects":{},"vertices":[]}`, Options{CRS: "3006"}, ErrBadCityJSON, "scale[0]"},
		{"short transform", `{"type":"CityJSON","transform":{"scale":[1,1],"translate":[0,0,0]},"CityObjects":{},"vertices":[]}`, Options{CRS: "3006"}, ErrBadCityJSON, "transform"},
		{"huge number", `{"type":"CityJSON","CityObjects":{},"vertices":[[1e999,0,0]]}`, Options{CRS: "3006"}, ErrBadCityJSON, "vertices"},
		{"overflow after transform", `{"type":"CityJSON","transform":{"scale":[1e308,1,1],"translate":[0,0,0]},"CityObjects":{},"vertices":[[1e308,0,0]]}`,
			Options{CRS: "3006"}, ErrBadCityJSON, "vertices[0]: coordinate 0 is not finite"},
		{"two-number vertex", `{"type":"CityJSON","CityObjects":{},"vertices":[[1,2,3],[1,2]]}`, Options{CRS: "3006"}, ErrBadCityJSON, "vertices[1]: want 3 numbers, got 2"},
		{"vertex index out of range",
			file(`{"b":{"type":"Building","geometry":[{"type":"MultiSurface","lod":"0","boundaries":[[[0,1,99]]]}]}}`),
			Options{}, ErrVertexIndex, `CityObjects["b"].geometry[0].boundaries[0][0][2]: vertex index 99 out of range (8 vertices)`},
		{"negative vertex index",
			file(`{"b":{"type":"Building","geometry":[{"type":"Solid","lod":"1","boundaries":[[[[0,1,-1]]]]}]}}`),
			Options{}, ErrVertexIndex, `boundaries[0][0][0][2]`},
		{"fractional vertex index",
			file(`{"b":{"type":"Building","geometry":[{"type":"MultiSurface","lod":"0","boundaries":[[[0,1.5,2]]]}]}}`),
			Options{}, ErrBadCityJSON, `CityObjects["b"].geometry[0].boundaries`},
		{"boundaries nested wrongly",
			file(`{"b":{"type":"Building","geometry":[{"type":"Solid","lod":"1","boundaries":[[0,1,2]]}]}}`),
			Options{}, ErrBadCityJSON, "for a Solid"},
		{"ring of two",
			file(`{"b":{"type":"Building","geometry":[{"type":"MultiSurface","lod":"0","boundaries":[[[0,1]]]}]}}`),
			Options{}, ErrBadCityJSON, "boundaries[0][0]: bad CityJSON: a ring needs at least 3 vertices"},
		{"unknown geometry type",
			file(`{"b":{"type":"Building","geometry":[{"type":"Blob","lod":"0","boundaries":[]}]}}`),
			Options{}, ErrBadCityJSON, `geometry[0].type: bad CityJSON: unknown geometry type "Blob"`},
		{"bad lod", file(`{"b":{"type":"Building","geometry":[{"type":"MultiSurface","lod":"high","boundaries":[[[0,1,2]]]}]}}`),
			Options{}, ErrBadCityJSON, "geometry[0].lod"},
		{"self-intersecting footprint",
			`{"type":"CityJSON","metadata":{"referenceSystem":"EPSG:3006"},"vertices":[[500000,6600000,0],[500010,6600010,0],[500010,6600000,0],[500000,6600005,0]],` +
				`"CityObjects":{"b":{"type":"Building","geometry":[{"type":"MultiSurface","lod":"0","boundaries":[[[0,1,2,3]]]}]}}}`,
			Options{}, ErrBadFootprint, `CityObjects["b"].geometry[0].boundaries[0][0]: bad footprint: ring crosses itself`},
		{"duplicate id", strings.Replace(file(`{"b":{"type":"Building"},"b":{"type":"Building"}}`), "", "", 1),
			Options{}, ErrDuplicateID, `CityObjects["b"]`},
		{"object without type", file(`{"b":{"geometry":[]}}`), Options{}, ErrBadCityJSON, `CityObjects["b"].type`},
		{"object of wrong type", file(`{"b":[1,2]}`), Options{}, ErrBadCityJSON, `CityObjects["b"]`},
		{"CityObjects missing", `{"type":"CityJSON","vertices":[]}`, Options{CRS: "3006"}, ErrBadCityJSON, "CityObjects: missing"},
		{"too many vertices", file(`{}`), Options{Limits: Limits{Vertices: 4}}, ErrLimit, "vertices: more than 4"},
		{"too many objects", file(`{"a":{"type":"Road"},"b":{"type":"Road"},"c":{"type":"Road"}}`), Options{Limits: Limits{Objects: 2}}, ErrLimit, "more than 2 city objects"},
		{"too many surfaces", file(`{"b":{"type":"Building","geometry":[` + solid + `]}}`), Options{Limits: Limits{Surfaces: 3}}, ErrLimit, "more than 3 surfaces"},
		{"outside the area",
			strings.Replace(file(`{"b":{"type":"Building","geometry":[`+solid+`]}}`), "[500000,6600000,0]", "[6600000,500000,0]", 1),
			Options{}, ErrOutsideCRS, "with easting first"},
		{"parts nested in a loop are read once",
			file(`{"b":{"type":"Building","children":["p"]},"p":{"type":"BuildingPart","parents":["b"],"children":["b","p"],"geometry":[` + solid + `]}}`),
			Options{}, nil, ""},
		{"too tall",
			strings.Replace(file(`{"b":{"type":"Building","geometry":[`+solid+`]}}`), "[10,10,5]", "[10,10,5000]", 1),
			Options{}, twin.ErrBadHeight, `CityObjects["b"]: properties.height`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.in), tc.opts)
			if tc.err == nil {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if !strings.Contains(err.Error(), tc.text) {
				t.Errorf("err = %q, want it to contain %q", err, tc.text)
			}
		})
	}
}

func TestSeqErrors(t *testing.T) {
	header := `{"type":"CityJSON","version":"2.0","transform":{"scale":[1,1,1],"translate":[500000,6600000,0]},"metadata":{"referenceSystem":"EPSG:3006"},"CityObjects":{},"vertices":[]}`
	feat := func(id string) string {
		return `{"type":"CityJSONFeature","id":"` + id + `","CityObjects":{"` + id + `":{"type":"Building","geometry":[` + solid + `]}},` + box + `}`
	}
	tests := []struct {
		name string
		in   string
		opts Options
		err  error
		text string
	}{
		{"duplicate id across lines", header + "\n" + feat("a") + "\n\n" + feat("a") + "\n", Options{}, ErrDuplicateID, `line 4: CityObjects["a"]: duplicate id (also on line 2)`},
		{"bad JSON on a line", header + "\n" + feat("a") + "\n{oops\n", Options{}, ErrBadCityJSON, "line 3:"},
		{"second header", header + "\n" + header + "\n", Options{}, ErrBadCityJSON, "line 2: bad CityJSON: a second CityJSON header"},
		{"wrong type", header + "\n" + `{"type":"Feature"}` + "\n", Options{}, ErrBadCityJSON, "line 2"},
		{"line too long", header + "\n" + feat("a") + "\n", Options{Limits: Limits{LineSize: 250}}, ErrLimit, "line 2: over a limit: a value longer than 250 bytes"},
		{"vertex out of range", header + "\n" + strings.Replace(feat("a"), "[[0,3,2,1]]", "[[0,3,2,8]]", 1), Options{}, ErrVertexIndex, `line 2: CityObjects["a"].geometry[0].boundaries[0][0][0][3]`},
		{"empty", "\n\n", Options{}, ErrBadCityJSON, "empty sequence"},
		{"headless without a CRS", feat("a"), Options{}, ErrNoCRS, "line 1"},
		{"invalid UTF-8", header + "\n\"\xfe\"\n", Options{}, ErrBadCityJSON, "line 2: bad CityJSON: invalid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeSeq(strings.NewReader(tc.in), tc.opts)
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.err, tc.text)
			}
		})
	}
	// A last line without a newline is read; CRLF endings too.
	res, err := DecodeSeq(strings.NewReader(header+"\r\n"+feat("a")+"\r\n"+feat("b")), Options{})
	if err != nil || len(res.Features) != 2 {
		t.Fatalf("err %v, %d features", err, len(res.Features))
	}
}

// A building as 3DBAG publishes it: the building holds an LoD 0 footprint,
// its part the solids of several levels of detail. The part is imported,
// with its highest level of detail, and not the building besides.
func TestBuildingWithFootprintAndPart(t *testing.T) {
	in := file(`{"b":{"type":"Building","attributes":{"name":"Huset"},"children":["b-0"],` +
		`"geometry":[{"type":"MultiSurface","lod":"0","boundaries":[[[0,1,2,3]]]}]},` +
		`"b-0":{"type":"BuildingPart","parents":["b"],"geometry":[` +
		`{"type":"Solid","lod":"1.2","boundaries":[[[[0,3,2,1]],[[4,5,6,7]],[[0,1,5,4]],[[1,2,6,5]],[[2,3,7,6]],[[3,0,4,7]]]]},` +
		`{"type":"Solid","lod":"2.2","boundaries":[[[[0,3,2,1]],[[4,5,6,7]],[[0,1,5,4]],[[1,2,6,5]],[[2,3,7,6]],[[3,0,4,7]]]]}]}}`)
	res, err := Decode([]byte(in), Options{IDPrefix: "p/", Layer: twin.Pilots})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Features) != 1 {
		t.Fatalf("%d features, want the part alone", len(res.Features))
	}
	f := res.Features[0]
	if f.ID != "p/b-0" || f.Props["building"] != "p/b" || f.Props["lod"] != "2.2" || f.Name != "Huset" || f.Layer != twin.Pilots || f.Height != 5 {
		t.Errorf("part = %+v", f)
	}
}

// A ground made of several faces (here two triangles) gives a
// MultiPolygon footprint.
func TestTriangulatedGround(t *testing.T) {
	in := file(`{"b":{"type":"Building","geometry":[{"type":"Solid","lod":"2.2","boundaries":[[` +
		`[[0,2,1]],[[0,3,2]],[[4,5,6,7]],[[0,1,5,4]],[[1,2,6,5]],[[2,3,7,6]],[[3,0,4,7]]]]}]}}`)
	res, err := Decode([]byte(in), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mp, ok := res.Features[0].Geometry.(orb.MultiPolygon)
	if !ok || len(mp) != 2 {
		t.Fatalf("footprint %#v, want two triangles", res.Features[0].Geometry)
	}
	for _, p := range mp {
		if p[0].Orientation() != orb.CCW {
			t.Error("a triangle is not counter-clockwise")
		}
	}
}

// A LoD2 house keeps its solid with what each surface is: the ground, the
// four walls (two with gables) and the two slopes of its roof.
func TestLoD2KeepsSemantics(t *testing.T) {
	res, err := Decode(readFile(t, "lod2_house.city.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Features) != 1 {
		t.Fatalf("%d features, want 1", len(res.Features))
	}
	f := res.Features[0]
	mp := f.SolidPolygons()
	if mp == nil || mp.NumPolygons() != 7 {
		t.Fatalf("solid %T, want 7 surfaces", f.Solid)
	}
	want := []twin.SurfaceType{twin.GroundSurface, twin.WallSurface, twin.WallSurface, twin.WallSurface, twin.WallSurface, twin.RoofSurface, twin.RoofSurface}
	if fmt.Sprint(f.Surfaces) != fmt.Sprint(want) {
		t.Errorf("surfaces %v, want %v", f.Surfaces, want)
	}
	if lo, hi := f.SolidZRange(); lo != 460 || hi != 469 {
		t.Errorf("solid z %v to %v, want 460 to 469", lo, hi)
	}
	if f.Height != 9 || f.Base != 0 || f.Props["lod"] != "2.2" {
		t.Errorf("height %v base %v lod %v", f.Height, f.Base, f.Props["lod"])
	}
	// Without semantics (b1's LoD1 box), the types are unknown: nil.
	res, err = Decode(readFile(t, "sweref.city.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Features {
		if f.ID == "b1" && f.Surfaces != nil {
			t.Errorf("%s: surfaces %v from a geometry without semantics", f.ID, f.Surfaces)
		}
	}
}
