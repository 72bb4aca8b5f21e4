package scenes

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
)

// A feature's solid goes into a bundle line and comes back the same: its
// surfaces, their order, their types, coordinates to 1e-7° and 1 mm.
func TestSolidRoundTrip(t *testing.T) {
	mp := geom.NewMultiPolygon(geom.XYZ)
	for _, face := range [][]geom.Coord{
		{{20.1, 67.1, 0}, {20.1001, 67.1, 0}, {20.1001, 67.1001, 0}, {20.1, 67.1, 0}},
		{{20.1, 67.1, 0}, {20.1001, 67.1, 0}, {20.1001, 67.1, 4.123456}, {20.1, 67.1, 0}},
		{{20.1, 67.1, 4.1}, {20.1001, 67.1, 4.1}, {20.10005, 67.10005, 7.25}, {20.1, 67.1, 4.1}},
	} {
		p, err := geom.NewPolygon(geom.XYZ).SetCoords([][]geom.Coord{face})
		if err != nil {
			t.Fatal(err)
		}
		if err := mp.Push(p); err != nil {
			t.Fatal(err)
		}
	}
	f := &twin.Feature{ID: "s1", Layer: twin.Buildings, Kind: "house",
		Geometry: orb.Polygon{{{20.1, 67.1}, {20.1001, 67.1}, {20.1001, 67.1001}, {20.1, 67.1}}},
		Height:   7.25, Life: twin.Lifespan{From: twin.FromDecimalYear(1912)},
		Solid: mp, Surfaces: []twin.SurfaceType{twin.GroundSurface, twin.WallSurface, twin.RoofSurface}}
	line, err := MarshalFeature(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(line), `"semantics":["ground","wall","roof"]`) || !strings.Contains(string(line), `4.123`) || strings.Contains(string(line), `4.1234`) {
		t.Errorf("line %s", line)
	}
	fs, err := DecodeGeoJSON([]byte(`{"type":"FeatureCollection","features":[`+string(line)+`]}`), twin.Buildings)
	if err != nil {
		t.Fatal(err)
	}
	g := fs[0]
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(g.Surfaces) != fmt.Sprint(f.Surfaces) {
		t.Errorf("surfaces %v, want %v", g.Surfaces, f.Surfaces)
	}
	got := g.SolidPolygons()
	if got == nil || got.NumPolygons() != 3 {
		t.Fatalf("solid %v", g.Solid)
	}
	if z := got.Polygon(1).LinearRing(0).Coord(2)[2]; z != 4.123 {
		t.Errorf("z %v, want 4.123", z)
	}
	if c := got.Polygon(2).LinearRing(0).Coord(2); c[0] != 20.10005 || c[1] != 67.10005 {
		t.Errorf("apex %v", c)
	}
	// A feature without a solid is written as before, without the member.
	f.Solid, f.Surfaces = nil, nil
	line, _ = MarshalFeature(f)
	if strings.Contains(string(line), "solid") {
		t.Errorf("line %s", line)
	}
}

func TestSolidErrors(t *testing.T) {
	for _, c := range []struct{ solid, field string }{
		{`{"type":"Polygon","coordinates":[]}`, "solid.type"},
		{`{"type":"MultiPolygon","coordinates":[[[[1,2],[1,3],[2,2],[1,2]]]]}`, "solid.coordinates[0][0][0]"},
		{`{"type":"MultiPolygon","semantics":["attic"],"coordinates":[[[[1,2,0],[1,3,0],[2,2,0],[1,2,0]]]]}`, "solid.semantics[0]"},
		{`{"type":"MultiPolygon","lod":2,"coordinates":[]}`, "solid"},
	} {
		_, err := DecodeGeoJSON([]byte(collection(`{"type":"Feature","id":"a","geometry":`+square+`,"properties":{"from":"1900"},"solid":`+c.solid+`}`)), twin.Buildings)
		var fe *twin.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: error %v, want one of field %s", c.solid, err, c.field)
		}
	}
	// Semantics that do not match the surfaces fail validation.
	fs, err := DecodeGeoJSON([]byte(collection(`{"type":"Feature","id":"a","geometry":`+square+`,"properties":{"from":"1900"},"solid":{"type":"MultiPolygon","semantics":["roof","wall"],"coordinates":[[[[20.1,67.1,0],[20.2,67.1,0],[20.2,67.2,1],[20.1,67.1,0]]]]}}`)), twin.Buildings)
	if err != nil {
		t.Fatal(err)
	}
	if err := fs[0].Validate(); !errors.Is(err, twin.ErrBadSolid) {
		t.Errorf("validate: %v, want ErrBadSolid", err)
	}
}
