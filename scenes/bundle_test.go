package scenes

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/kiruna-twin/kiruna-twin/twin"
)

const testScene = `{
  "id": "t", "title": "Test", "bounds": [20, 67, 21, 68], "center": [20.5, 67.5], "zoom": 12,
  "timeline": {"start": 1900, "end": 2040},
  "layers": [
    {"id": "buildings", "title": "Byggnader", "kind": "polygon", "file": "buildings.geojson"},
    {"id": "landmarks", "title": "Platser", "kind": "point", "file": "landmarks.geojson"},
    {"id": "pilots", "title": "Pilotprojekt", "kind": "mixed"}
  ],
  "events": [{"date": "2025-08-20", "title": {"sv": "Kyrkan flyttas"}}]
}`

const square = `{"type":"Polygon","coordinates":[[[20.1,67.1],[20.2,67.1],[20.2,67.2],[20.1,67.1]]]}`

func building(id, geom, props string) string {
	idPart := ""
	if id != "" {
		idPart = `"id":"` + id + `",`
	}
	return `{"type":"Feature",` + idPart + `"geometry":` + geom + `,"properties":{"from":"1950"` + props + `}}`
}

func collection(features ...string) string {
	return `{"type":"FeatureCollection","features":[` + strings.Join(features, ",") + `]}`
}

func bundle(buildings string) fstest.MapFS {
	return fstest.MapFS{
		"scene.json":        {Data: []byte(testScene)},
		"buildings.geojson": {Data: []byte(buildings)},
		"landmarks.geojson": {Data: []byte(collection(`{"type":"Feature","id":"lm1","geometry":{"type":"Point","coordinates":[20.5,67.5]},"properties":{"from":1900,"name":"Torget"}}`))},
	}
}

func TestLoadGood(t *testing.T) {
	b, err := Load(bundle(collection(
		building("b1", square, `,"to":"2019-06-01","status":"demolished","height":12.5,"kind":"town_hall","architect":"von Schmalensee"`),
		building("b2", square, `,"status":"moved","lineage":"L","to":"2025-08-20"`),
		building("b3", square, `,"status":"moved","lineage":"L"`),
	)))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Features) != 4 {
		t.Fatalf("%d features, want 4", len(b.Features))
	}
	m := twin.NewModel()
	if err := b.Into(m); err != nil {
		t.Fatal(err)
	}
	s := m.Snapshot()
	f, ok := s.Get(twin.Buildings, "b1")
	if !ok || f.Height != 12.5 || f.Status != twin.Demolished || f.Kind != "town_hall" || f.Prop("architect") != "von Schmalensee" {
		t.Fatalf("b1 = %+v", f)
	}
	if got := len(s.Lineage("L")); got != 2 {
		t.Errorf("lineage L has %d sites", got)
	}
	if b.Scene.Events[0].Year < 2025.63 || b.Scene.Events[0].Year > 2025.64 {
		t.Errorf("event year = %v", b.Scene.Events[0].Year)
	}
}

// sceneWith is the test bundle with the scene's events replaced by field.
func sceneWith(field string) fstest.MapFS {
	b := bundle(collection(building("b1", square, "")))
	b["scene.json"] = &fstest.MapFile{Data: []byte(strings.Replace(testScene, `"events": [{"date": "2025-08-20", "title": {"sv": "Kyrkan flyttas"}}]`, field, 1))}
	return b
}

// A view may carry a frame and a route, an event the layer of its feature.
func TestLoadViewsAndEventLayers(t *testing.T) {
	b, err := Load(sceneWith(`"views": [{"id": "v", "title": {"sv": "v"}, "center": [20.5, 67.5], "zoom": 13, "frame": [20.4, 67.4, 20.6, 67.6],
	  "route": {"path": [[20.45, 67.5], [20.55, 67.52]], "year": 2025.6}}],
	  "events": [{"date": "2025", "title": {"sv": "x"}, "feature": "lm1", "layer": "landmarks"}]`))
	if err != nil {
		t.Fatal(err)
	}
	v := b.Scene.Views[0]
	if v.Frame == nil || *v.Frame != [4]float64{20.4, 67.4, 20.6, 67.6} || v.Route == nil || len(v.Route.Path) != 2 || v.Route.Year != 2025.6 {
		t.Errorf("view = %+v", v)
	}
	if ev := b.Scene.Events[0]; ev.Layer != twin.Landmarks || ev.Year != 2025 {
		t.Errorf("event = %+v", ev)
	}
}

// Every kind of bad bundle fails with an error that names the file, the
// feature index and the field.
// TestCRSOfWGS84Passes: a crs member that names WGS84 longitude and
// latitude (as GDAL and QGIS write it), or null, says what RFC 7946
// assumes and is read.
func TestCRSOfWGS84Passes(t *testing.T) {
	for _, crs := range []string{`null`, `{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}}`, `{"type":"name","properties":{"name":"OGC:CRS84"}}`} {
		data := `{"type":"FeatureCollection","crs":` + crs + `,"features":[{"type":"Feature","id":"a","crs":` + crs + `,"geometry":{"type":"Point","crs":` + crs + `,"coordinates":[20,67]},"properties":{"from":"1950"}}]}`
		if fs, err := DecodeGeoJSON([]byte(data), twin.Buildings); err != nil || len(fs) != 1 {
			t.Errorf("crs %s: %v", crs, err)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name  string
		fsys  fstest.MapFS
		is    error
		wants string
	}{
		{"missing id", bundle(collection(building("b1", square, ""), building("", square, ""))),
			twin.ErrMissingID, "buildings.geojson: features[1].id: missing id"},
		{"duplicate id in a file", bundle(collection(building("b1", square, ""), building("b1", square, ""))),
			twin.ErrDuplicateID, `buildings.geojson: features[1].id: duplicate id "b1"`},
		{"duplicate id across files", bundle(collection(building("lm1", square, ""))),
			twin.ErrDuplicateID, `landmarks.geojson: features[0].id: duplicate id "lm1" (also buildings.geojson features[0])`},
		{"unclosed ring", bundle(collection(building("b1", `{"type":"Polygon","coordinates":[[[20.1,67.1],[20.2,67.1],[20.2,67.2],[20.1,67.2]]]}`, ""))),
			twin.ErrRingNotClosed, "buildings.geojson: features[0].geometry.coordinates[0]: ring not closed"},
		{"outside WGS84", bundle(collection(building("b1", `{"type":"Point","coordinates":[20.1,97.1]}`, ""))),
			twin.ErrOutOfRange, "buildings.geojson: features[0].geometry.coordinates: coordinate outside WGS84"},
		{"to before from", bundle(collection(building("b1", square, `,"to":"1949-12-31"`))),
			twin.ErrToBeforeFrom, "buildings.geojson: features[0].properties.to: to is not after from"},
		{"unknown status", bundle(collection(building("b1", square, `,"status":"burnt"`))),
			twin.ErrUnknownStatus, `buildings.geojson: features[0].properties.status: unknown status "burnt"`},
		{"missing from", bundle(collection(`{"type":"Feature","id":"x","geometry":` + square + `,"properties":{}}`)),
			twin.ErrMissingFrom, "buildings.geojson: features[0].properties.from: missing from"},
		{"bad date", bundle(collection(building("b1", square, `,"to":"soon"`))),
			nil, `buildings.geojson: features[0].properties.to: cannot read "soon"`},
		{"no geometry", bundle(collection(`{"type":"Feature","id":"x","geometry":null,"properties":{"from":"1950"}}`)),
			twin.ErrNoGeometry, "buildings.geojson: features[0].geometry: no geometry"},
		{"a foreign member cut short", bundle(`{"type":"FeatureCollection","features":[{"type":"Feature","id":"x","geometry":` + square + `,"extra":{"a":tru}}]}`),
			ErrBadGeoJSON, "buildings.geojson: features[0].extra: bad GeoJSON"},
		{"not json", bundle("{"), ErrBadGeoJSON, "buildings.geojson: bad GeoJSON"},
		{"a crs on the collection", bundle(`{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3006"}},"features":[]}`),
			ErrCRS, `buildings.geojson: crs: bad GeoJSON: crs "urn:ogc:def:crs:EPSG::3006" is not read: RFC 7946 GeoJSON is WGS84`},
		{"a crs on a feature", bundle(collection(`{"type":"Feature","id":"x","crs":{"type":"name","properties":{"name":"EPSG:3857"}},"geometry":` + square + `,"properties":{"from":"1950"}}`)),
			ErrCRS, `buildings.geojson: features[0].crs: bad GeoJSON: crs "EPSG:3857" is not read`},
		{"a crs on a geometry", bundle(collection(building("b1", `{"type":"Point","crs":{"type":"link","properties":{"href":"x"}},"coordinates":[20.1,67.1]}`, ""))),
			ErrCRS, `buildings.geojson: features[0].geometry: crs: bad GeoJSON: a crs member is not read`},
		{"not a collection", bundle(`{"type":"Feature"}`), ErrBadGeoJSON, `buildings.geojson: bad GeoJSON: type is "Feature"`},
		{"missing layer file", fstest.MapFS{"scene.json": {Data: []byte(testScene)}}, nil, "buildings.geojson: open buildings.geojson"},
		{"no scene.json", fstest.MapFS{}, nil, "scene.json: open scene.json"},
		{"unknown scene field", fstest.MapFS{"scene.json": {Data: []byte(`{"id":"x","colour":"red"}`)}}, ErrBadScene, `scene.json: bad scene: json: unknown field "colour"`},
		{"unknown layer", fstest.MapFS{"scene.json": {Data: []byte(strings.Replace(testScene, `"id": "landmarks"`, `"id": "roads"`, 1))}},
			twin.ErrUnknownLayer, `scene.json: bad scene: layers[1].id: unknown layer "roads"`},
		{"bad bounds", fstest.MapFS{"scene.json": {Data: []byte(strings.Replace(testScene, `[20, 67, 21, 68]`, `[21, 67, 20, 68]`, 1))}},
			ErrBadScene, "scene.json: bad scene: bounds"},
		{"unknown time zone", fstest.MapFS{"scene.json": {Data: []byte(strings.Replace(testScene, `"zoom": 12,`, `"zoom": 12, "timezone": "Mars/Olympus",`, 1))}},
			ErrBadScene, "scene.json: bad scene: timezone"},
		{"escaping file", fstest.MapFS{"scene.json": {Data: []byte(strings.Replace(testScene, `"buildings.geojson"`, `"../etc/passwd"`, 1))}},
			ErrBadScene, "scene.json: bad scene: layers[0].file"},
		{"event in an unknown layer", sceneWith(`"events": [{"date": "2025", "title": {"sv": "x"}, "feature": "lm1", "layer": "roads"}]`),
			ErrBadScene, `scene.json: bad scene: events[0].layer: "roads" is not a layer of the scene`},
		{"event in a layer the scene lacks", sceneWith(`"events": [{"date": "2025", "title": {"sv": "x"}, "feature": "lm1", "layer": "zones"}]`),
			ErrBadScene, `scene.json: bad scene: events[0].layer: "zones" is not a layer of the scene`},
		{"event layer without a feature", sceneWith(`"events": [{"date": "2025", "title": {"sv": "x"}, "layer": "landmarks"}]`),
			ErrBadScene, "scene.json: bad scene: events[0].layer: names a layer but no feature"},
		{"event's feature in another layer", sceneWith(`"events": [{"date": "2025", "title": {"sv": "x"}, "feature": "lm1", "layer": "buildings"}]`),
			ErrBadScene, `scene.json: bad scene: events[0].feature: no feature "lm1" in layer buildings`},
		{"event's feature missing", sceneWith(`"events": [{"date": "2025", "title": {"sv": "x"}, "feature": "nope", "layer": "landmarks"}]`),
			ErrBadScene, `scene.json: bad scene: events[0].feature: no feature "nope" in layer landmarks`},
		{"frame outside the bounds", sceneWith(`"views": [{"id": "v", "title": {"sv": "v"}, "center": [20.5, 67.5], "zoom": 13, "frame": [19, 67.1, 20.6, 67.6]}]`),
			ErrBadScene, "scene.json: bad scene: views[0].frame"},
		{"frame turned round", sceneWith(`"views": [{"id": "v", "title": {"sv": "v"}, "center": [20.5, 67.5], "zoom": 13, "frame": [20.6, 67.1, 20.4, 67.6]}]`),
			ErrBadScene, "scene.json: bad scene: views[0].frame"},
		{"route of one point", sceneWith(`"views": [{"id": "v", "title": {"sv": "v"}, "center": [20.5, 67.5], "zoom": 13, "route": {"path": [[20.5, 67.5]], "year": 2025}}]`),
			ErrBadScene, "scene.json: bad scene: views[0].route.path: want at least two points"},
		{"route leaving the bounds", sceneWith(`"views": [{"id": "v", "title": {"sv": "v"}, "center": [20.5, 67.5], "zoom": 13, "route": {"path": [[20.5, 67.5], [22, 67.5]], "year": 2025}}]`),
			ErrBadScene, "scene.json: bad scene: views[0].route.path[1]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(c.fsys)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %v", err, c.is)
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Errorf("error %q is not a *LoadError", err)
			}
			if !strings.HasPrefix(err.Error(), c.wants) {
				t.Errorf("error = %q\nwant prefix %q", err, c.wants)
			}
		})
	}
}

// FuzzDecodeGeoJSON: no input makes the decoder panic, and whatever it
// accepts either validates or fails with a field error.
func FuzzDecodeGeoJSON(f *testing.F) {
	f.Add([]byte(collection(building("b1", square, `,"height":3,"status":"moved","lineage":"x"`))))
	f.Add([]byte(collection(`{"type":"Feature","id":7,"geometry":{"type":"MultiPolygon","coordinates":[[[[1,2],[3,4],[5,6],[1,2]]]]},"properties":{"from":2025.5,"to":"2030-01"}}`)))
	f.Add([]byte(collection(`{"type":"Feature","id":"l","geometry":{"type":"LineString","coordinates":[[1,2],[3,4]]},"properties":{"from":"1900","x":[1]}}`)))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"GeometryCollection","geometries":[]}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"features":[{"type":"Feature","crs":null,"geometry":{"type":"Point","crs":{"type":"name","properties":{"name":"EPSG:3006"}},"coordinates":[1,2]}}]}`))
	f.Add([]byte(collection(`{"type":"Feature","id":"s","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"from":"1900"},"solid":{"type":"MultiPolygon","semantics":["roof"],"coordinates":[[[[1,2,0],[1.1,2,0],[1,2.1,5],[1,2,0]]]]}}`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := DecodeGeoJSON(data, twin.Buildings)
		if err != nil {
			return
		}
		for i, f := range fs {
			if err := f.Validate(); err != nil {
				var fe *twin.FieldError
				if !errors.As(err, &fe) {
					t.Fatalf("feature %d: error without a field: %v", i, err)
				}
			}
		}
		m := twin.NewModel()
		_ = m.Load(fs)
	})
}

// FuzzLoadScene: scene.json is outside input too.
func FuzzLoadScene(f *testing.F) {
	f.Add([]byte(testScene))
	f.Add([]byte(`{"id":"x","bounds":[0,0,1,1],"center":[0.5,0.5],"zoom":3,"timeline":{"start":1,"end":2},"layers":[{"id":"zones","file":"/z"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := bundle(collection(building("b1", square, "")))
		fsys["scene.json"] = &fstest.MapFile{Data: data}
		b, err := Load(fsys)
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error is not a *LoadError: %v", err)
			}
			return
		}
		if err := b.Into(twin.NewModel()); err != nil {
			t.Fatalf("a loaded bundle did not index: %v", err)
		}
	})
}

// scanArray delimits the same members as a full JSON parser, whatever the
// strings inside them hold.
func FuzzScanArray(f *testing.F) {
	for _, s := range []string{
		`[]`, ` [ ] `, `[1]`, `[1,2 , 3]`, `[{"a":"]"},{"b":"\"}"}]`, `[[1,[2]],{"x":{"y":[]}}]`,
		`["a\\",{"]`, `[true,false,null,"s"]`, `[{"type":"Feature","id":"x\u00e5"} ,{}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := jsontext.NewDecoder(bytes.NewReader(data))
		tok, err := dec.ReadToken()
		if err != nil || tok.Kind() != '[' {
			return
		}
		start := int(dec.InputOffset())
		var want [][]byte
		for dec.PeekKind() != ']' {
			v, err := dec.ReadValue()
			if err != nil {
				return // not valid JSON: scanArray need only not panic
			}
			want = append(want, bytes.Clone(v))
		}
		if _, err := dec.ReadToken(); err != nil {
			return
		}
		got, end, err := scanArray(data, start)
		if err != nil {
			t.Fatalf("scanArray(%q): %v", data, err)
		}
		if int64(end) != dec.InputOffset() {
			t.Errorf("scanArray(%q) ends at %d, want %d", data, end, dec.InputOffset())
		}
		if len(got) != len(want) {
			t.Fatalf("scanArray(%q): %d members, want %d", data, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Errorf("member %d: %q, want %q", i, got[i], want[i])
			}
		}
	})
}
