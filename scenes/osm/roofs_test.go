package osm

import (
	"context"
	"strings"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/twin"
)

const roofsOSM = `<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
  <node id="1" lat="59.0000" lon="18.0000"/><node id="2" lat="59.0000" lon="18.0002"/>
  <node id="3" lat="59.0001" lon="18.0002"/><node id="4" lat="59.0001" lon="18.0000"/>
  <node id="11" lat="59.0010" lon="18.0000"/><node id="12" lat="59.0010" lon="18.0004"/>
  <node id="13" lat="59.0012" lon="18.0004"/><node id="14" lat="59.0012" lon="18.0000"/>
  <node id="15" lat="59.0010" lon="18.0003"/><node id="16" lat="59.0012" lon="18.0003"/>
  <node id="21" lat="59.0050" lon="18.0050"/><node id="22" lat="59.0050" lon="18.0051"/>
  <node id="23" lat="59.0051" lon="18.0051"/>
  <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
    <tag k="building" v="house"/><tag k="height" v="9"/><tag k="roof:shape" v="gabled"/><tag k="roof:height" v="4"/></way>
  <way id="200"><nd ref="11"/><nd ref="12"/><nd ref="13"/><nd ref="14"/><nd ref="11"/>
    <tag k="building" v="church"/><tag k="name" v="Kyrkan"/></way>
  <way id="201"><nd ref="11"/><nd ref="15"/><nd ref="16"/><nd ref="14"/><nd ref="11"/>
    <tag k="building:part" v="yes"/><tag k="height" v="12"/><tag k="roof:shape" v="hipped"/><tag k="roof:height" v="6"/></way>
  <way id="202"><nd ref="15"/><nd ref="12"/><nd ref="13"/><nd ref="16"/><nd ref="15"/>
    <tag k="building:part" v="tower"/><tag k="min_height" v="2"/><tag k="height" v="30"/><tag k="roof:shape" v="pyramidal"/><tag k="roof:levels" v="3"/></way>
  <way id="300"><nd ref="21"/><nd ref="22"/><nd ref="23"/><nd ref="21"/>
    <tag k="building:part" v="yes"/></way>
</osm>`

func TestRoofsAndParts(t *testing.T) {
	res, err := Decode(context.Background(), strings.NewReader(roofsOSM), XML, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := byID(res.Features)
	count := func(f *twin.Feature, st twin.SurfaceType) int {
		n := 0
		for _, s := range f.Surfaces {
			if s == st {
				n++
			}
		}
		return n
	}
	house := got["osm-w100"]
	if house == nil || house.SolidPolygons() == nil {
		t.Fatalf("house %+v has no solid", house)
	}
	if r, w := count(house, twin.RoofSurface), count(house, twin.WallSurface); r != 2 || w != 4 {
		t.Errorf("house: %d roofs and %d walls, want 2 and 4", r, w)
	}
	if lo, hi := house.SolidZRange(); lo != 0 || hi != 9 || house.Height != 9 {
		t.Errorf("house: solid %v to %v, height %v", lo, hi, house.Height)
	}
	church := got["osm-w200"]
	if church == nil || church.SolidPolygons() == nil {
		t.Fatalf("church %+v has no solid", church)
	}
	// Nave (hipped: 4 roof faces) and tower (pyramidal: 4), each with a floor.
	if r, g := count(church, twin.RoofSurface), count(church, twin.GroundSurface); r != 8 || g != 2 {
		t.Errorf("church: %d roofs and %d floors, want 8 and 2", r, g)
	}
	if church.Height != 30 || church.Base != 0 || church.Props["parts"] != 2.0 {
		t.Errorf("church: height %v base %v parts %v", church.Height, church.Base, church.Props["parts"])
	}
	// Parts are not features of their own; a part outside every building is skipped.
	if len(res.Features) != 2 {
		t.Errorf("%d features, want 2", len(res.Features))
	}
	skipped := false
	for _, s := range res.Skipped {
		skipped = skipped || s.ID == "way/300"
	}
	if !skipped {
		t.Errorf("skipped %v, want way/300", res.Skipped)
	}
}
