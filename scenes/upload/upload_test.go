package upload

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

var kiruna = orb.Bound{Min: orb.Point{20, 67.7}, Max: orb.Point{20.5, 68}}

const two = `{"type":"FeatureCollection","features":[{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[20.3,67.85]},"properties":{}},{"type":"Feature","id":"b","geometry":{"type":"Point","coordinates":[20.3,67.85]},"properties":{}}]}`

const good = `{"type":"FeatureCollection","features":[{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[20.3,67.85]},"properties":{"name":"x"}}]}`

func TestDecodeDefaultsAndLimits(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	fs, err := Decode([]byte(good), "application/geo+json; charset=utf-8", Options{Area: kiruna, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || !fs[0].Life.From.Equal(now) || fs[0].Props["from_default"] != true || fs[0].Layer != twin.Pilots {
		t.Errorf("decoded %+v", fs[0])
	}
	// A CityJSON building without yearOfConstruction begins at the upload
	// too, not in 1900.
	cj := `{"type":"CityJSON","version":"2.0","transform":{"scale":[1,1,1],"translate":[0,0,0]},"metadata":{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/4326"},"CityObjects":{"b":{"type":"Building","geometry":[{"type":"MultiSurface","lod":"1","boundaries":[[[0,1,2,3]]]}]}},"vertices":[[20.3,67.85,0],[20.31,67.85,0],[20.31,67.86,5],[20.3,67.86,5]]}`
	fs, err = Decode([]byte(cj), "application/city+json", Options{Area: kiruna, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || !fs[0].Life.From.Equal(now) || fs[0].Props["from_default"] != true {
		t.Errorf("CityJSON without a year: from %v, props %v; want from %v and from_default", fs[0].Life.From, fs[0].Props, now)
	}
	cases := []struct {
		name, ctype, body string
		opts              Options
		is                error
	}{
		{"no content type", "", good, Options{}, ErrMediaType},
		{"xml", "application/xml", good, Options{}, ErrMediaType},
		{"too many features", "application/geo+json", two, Options{Limits: Limits{Features: 1}}, ErrTooLarge},
		{"outside the area", "application/geo+json", good, Options{Area: orb.Bound{Min: orb.Point{0, 0}, Max: orb.Point{1, 1}}}, ErrInvalid},
		{"depth", "application/geo+json", `{"a":[[[[[]]]]]}`, Options{Limits: Limits{Depth: 3}}, ErrTooLarge},
	}
	for _, c := range cases {
		_, err := Decode([]byte(c.body), c.ctype, c.opts)
		if !errors.Is(err, c.is) {
			t.Errorf("%s: %v, want %v", c.name, err, c.is)
		}
	}
}

func TestCheckDepthIgnoresStrings(t *testing.T) {
	if err := checkDepth([]byte(`{"a":"[[[[[[[[\"[[[["}`), 2); err != nil {
		t.Errorf("brackets inside a string counted: %v", err)
	}
	if err := checkDepth([]byte(`[[[`), 2); err == nil {
		t.Error("depth 3 passed a limit of 2")
	}
}

// FuzzDecode: the pilot endpoint's decoder never panics, and what it
// accepts is valid for the model, inside the area and within the limits.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(good), "application/geo+json")
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","id":"p","geometry":{"type":"Polygon","coordinates":[[[20.3,67.85],[20.31,67.85],[20.31,67.86],[20.3,67.86],[20.3,67.85]]]},"properties":{"height":3,"from":"2026","sensor":true}}]}`), "application/geo+json")
	f.Add([]byte(`{"type":"CityJSON","version":"2.0","transform":{"scale":[1,1,1],"translate":[0,0,0]},"metadata":{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/4326"},"CityObjects":{"b":{"type":"Building","geometry":[{"type":"MultiSurface","lod":"1","boundaries":[[[0,1,2]]]}]}},"vertices":[[20.3,67.85,0],[20.31,67.85,0],[20.31,67.86,5]]}`), "application/city+json")
	f.Add([]byte(`{"type":"FeatureCollection","features":[]}`), "application/json")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte, ctype string) {
		lim := Limits{Features: 50, Vertices: 5000, VerticesPerFeature: 1000, Props: 20, PropBytes: 200, Depth: 16}
		fs, err := Decode(data, ctype, Options{Area: kiruna, Now: now, Limits: lim})
		if err != nil {
			return
		}
		if len(fs) == 0 || len(fs) > 50 {
			t.Fatalf("accepted %d features", len(fs))
		}
		for i, f := range fs {
			if err := f.Validate(); err != nil {
				t.Fatalf("feature %d accepted but invalid: %v", i, err)
			}
			if b := f.Geometry.Bound(); !kiruna.Contains(b.Min) || !kiruna.Contains(b.Max) {
				t.Fatalf("feature %d outside the area: %v", i, b)
			}
		}
		m := twin.NewModel()
		if _, err := m.Apply(twin.Edit{Layer: twin.Pilots, Add: fs}); err != nil && !errors.Is(err, twin.ErrDuplicateID) {
			t.Fatalf("accepted features did not index: %v", err)
		}
	})
}

// TestRefusedShapesAndNames: holes outside or crossing their shell, holes
// crossing each other, and ids or property names with control or
// bidirectional formatting characters are refused, naming the place;
// a hole inside, or touching its shell at a point, is fine.
func TestRefusedShapesAndNames(t *testing.T) {
	shell := `[[20.30,67.85],[20.32,67.85],[20.32,67.86],[20.30,67.86],[20.30,67.85]]`
	poly := func(holes ...string) string {
		rings := append([]string{shell}, holes...)
		return `{"type":"Polygon","coordinates":[` + strings.Join(rings, ",") + `]}`
	}
	feature := func(id, geom, props string) string {
		q, _ := json.Marshal(id)
		return `{"type":"FeatureCollection","features":[{"type":"Feature","id":` + string(q) + `,"geometry":` + geom + `,"properties":{"from":"2026"` + props + `}}]}`
	}
	inside := `[[20.305,67.852],[20.305,67.854],[20.307,67.854],[20.307,67.852],[20.305,67.852]]`
	for _, c := range []struct {
		name, body, want string // want "" when accepted
	}{
		{"a hole inside", feature("a", poly(inside), ""), ""},
		{"a hole touching its shell at a corner", feature("a", poly(`[[20.30,67.85],[20.305,67.852],[20.307,67.851],[20.30,67.85]]`), ""), ""},
		{"a hole outside", feature("a", poly(`[[20.33,67.852],[20.33,67.854],[20.34,67.854],[20.34,67.852],[20.33,67.852]]`), ""),
			"features[0].geometry.coordinates: hole lies outside its shell: ring 1"},
		{"a hole around its shell", feature("a", poly(`[[20.2,67.8],[20.4,67.8],[20.4,67.9],[20.2,67.9],[20.2,67.8]]`), ""),
			"features[0].geometry.coordinates: hole lies outside its shell: ring 1"},
		{"a hole crossing its shell", feature("a", poly(`[[20.31,67.852],[20.33,67.852],[20.33,67.854],[20.31,67.854],[20.31,67.852]]`), ""),
			"features[0].geometry.coordinates: rings cross: ring 0 (edge 1) and ring 1"},
		{"a hole along its shell", feature("a", poly(`[[20.30,67.851],[20.305,67.851],[20.305,67.853],[20.30,67.853],[20.30,67.851]]`), ""),
			"features[0].geometry.coordinates: rings cross: ring 0 (edge 3) and ring 1"},
		{"holes crossing each other", feature("a", poly(inside, `[[20.306,67.853],[20.308,67.853],[20.308,67.855],[20.306,67.855],[20.306,67.853]]`), ""),
			"features[0].geometry.coordinates: rings cross: ring 1"},
		{"in a multipolygon", feature("a", `{"type":"MultiPolygon","coordinates":[[`+shell+`],[`+shell+`,[[20.33,67.852],[20.33,67.854],[20.34,67.854],[20.34,67.852],[20.33,67.852]]]]}`, ""),
			"features[0].geometry.coordinates[1]: hole lies outside its shell"},
		{"a ring of one point", feature("a", `{"type":"Polygon","coordinates":[[[20.3,67.85],[20.3,67.85],[20.3,67.85],[20.3,67.85]]]}`, ""),
			"features[0].geometry.coordinates[0]: ring encloses no area"},
		{"a line of no length", feature("a", `{"type":"LineString","coordinates":[[20.3,67.85],[20.3,67.85]]}`, ""),
			"features[0].geometry.coordinates: line has no length"},
		{"NUL in an id", feature("a\x00b", `{"type":"Point","coordinates":[20.3,67.85]}`, ""), "features[0].id: U+0000 at byte 1"},
		{"a bidi override in an id", feature("abc\u202efdp.exe", `{"type":"Point","coordinates":[20.3,67.85]}`, ""), "features[0].id: U+202E at byte 3"},
		{"a bidi isolate in a name", feature("a", `{"type":"Point","coordinates":[20.3,67.85]}`, `,"x\u2066y":1`), `features[0].properties."x\u2066y": U+2066 at byte 1`},
		{"NUL in a name", feature("a", `{"type":"Point","coordinates":[20.3,67.85]}`, `,"k\u0000":1`), `features[0].properties."k\x00": U+0000 at byte 1`},
		{"a C1 control in a name", feature("a", `{"type":"Point","coordinates":[20.3,67.85]}`, `,"k\u0085":1`), "U+0085"},
		{"bidi text in a value is fine", feature("a", `{"type":"Point","coordinates":[20.3,67.85]}`, `,"name":"\u202bשלום\u202c"`), ""},
	} {
		_, err := Decode([]byte(c.body), GeoJSON, Options{Area: kiruna})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(fmt.Sprint(err), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
