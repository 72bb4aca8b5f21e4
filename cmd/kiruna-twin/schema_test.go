package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes/crs"
	"github.com/kiruna-twin/kiruna-twin/scenes/importer"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata")

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// box is a closed square ring of side d degrees at (lon, lat).
func box(lon, lat, d float64) orb.Polygon {
	return orb.Polygon{{{lon, lat}, {lon + d, lat}, {lon + d, lat + d/2}, {lon, lat + d/2}, {lon, lat}}}
}

// schemaFeatures is the table of the golden property test: one feature of
// each sort the twin serves (the pilot comes in through the API).
func schemaFeatures() []*twin.Feature {
	return []*twin.Feature{
		{ID: "house", Layer: twin.Buildings, Kind: "house", Name: "Bläckhornet", Geometry: box(20.2200, 67.8560, 0.0004),
			Height: 7.5, Life: twin.Lifespan{From: day(1963, 1, 1), To: day(2019, 6, 1)}, Status: twin.Demolished,
			Source: "a survey", Confidence: twin.Sourced, Props: map[string]any{"storeys": 2.0, "heritage": true}},
		{ID: "church-old", Layer: twin.Buildings, Kind: "church", Name: "Kyrkan", Geometry: box(20.2250, 67.8540, 0.0005),
			Height: 35, Life: twin.Lifespan{From: day(1912, 1, 1), To: day(2025, 8, 20)}, Status: twin.Moved, Lineage: "church",
			Confidence: twin.Sourced},
		{ID: "church-new", Layer: twin.Buildings, Kind: "church", Name: "Kyrkan", Geometry: box(20.3000, 67.8500, 0.0005),
			Height: 35, Life: twin.Lifespan{From: day(2025, 8, 20)}, Status: twin.Moved, Lineage: "church",
			Confidence: twin.Approx},
		{ID: "gd-1", Layer: twin.Sensors, Kind: "ground_deformation", Name: "Reflektor 1", Geometry: orb.Point{20.2300, 67.8550},
			Life: twin.Lifespan{From: day(2020, 1, 1)}, Confidence: twin.Generated,
			Props: map[string]any{"type": "ground_deformation", "unit": "mm"}},
		{ID: "caved-2020", Layer: twin.Zones, Kind: "caved", Name: "Rasområde", Geometry: box(20.2100, 67.8500, 0.01),
			Life: twin.Lifespan{From: day(2020, 1, 1), To: day(2021, 1, 1)}, Source: "a model", Confidence: twin.Guess},
	}
}

// TestFeatureSchemaGolden sends one table of features — a building, the
// two sites of a moved building, a sensor, a zone and a company's
// CityJSON building — through every output: the bundle's GeoJSON, OGC API
// items, the pilots API, MVT tags and TileJSON's fields. It compares them
// property by property with each other and with a golden file.
func TestFeatureSchemaGolden(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "scene")
	fs := schemaFeatures()
	sc, err := importer.NewScene(fs, importer.Meta{ID: "schema", Now: day(2026, 1, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := importer.Write(dir, sc, schemaFeatures(), false); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	acme := mustTenant(t, data, "acme")
	base, _ := startServer(t, "--data", data, "--scene", dir, "--simulate=false")

	// The pilot: a CityJSON building, a 20 × 20 m box 12 m high, built in
	// 2027, in SWEREF 99 TM.
	sweref, err := crs.EPSG(3006)
	if err != nil {
		t.Fatal(err)
	}
	x, y := sweref.FromWGS84(20.3040, 67.8475)
	v := func(dx, dy, z float64) string {
		return fmt.Sprintf("[%d,%d,%d]", int((x+dx)*1000), int((y+dy)*1000), int(z*1000))
	}
	doc := `{"type":"CityJSON","version":"2.0","transform":{"scale":[0.001,0.001,0.001],"translate":[0,0,0]},
 "metadata":{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/3006"},
 "CityObjects":{"box":{"type":"Building","attributes":{"yearOfConstruction":2027},
  "geometry":[{"type":"Solid","lod":"1","boundaries":[[[[0,3,2,1]],[[4,5,6,7]],[[0,1,5,4]],[[1,2,6,5]],[[2,3,7,6]],[[3,0,4,7]]]]}]}},
 "vertices":[` + strings.Join([]string{v(0, 0, 0), v(20, 0, 0), v(20, 20, 0), v(0, 20, 0), v(0, 0, 12), v(20, 0, 12), v(20, 20, 12), v(0, 20, 12)}, ",") + `]}`
	if code, body := call(t, "PUT", base+"/api/pilots/proposal", acme, "application/city+json", doc); code != http.StatusCreated {
		t.Fatalf("PUT the CityJSON pilot: %d %s", code, body)
	}
	const pilotID = "pilot:proposal:box"

	type outputs = map[string]map[string]any // output name → properties
	got := map[string]outputs{}
	record := func(id, output string, props map[string]any) {
		if got[id] == nil {
			got[id] = outputs{}
		}
		got[id][output] = props
	}

	// The bundle, as the importer wrote it.
	for _, l := range sc.Layers {
		if l.File == "" {
			continue
		}
		var fc struct {
			Features []struct{ Properties map[string]any }
		}
		readJSONFile(t, filepath.Join(dir, l.File), &fc)
		for _, f := range fc.Features {
			record(f.Properties["id"].(string), "bundle", f.Properties)
		}
	}

	// OGC API items: the page and the single item (which adds history).
	layerOf := map[string]twin.Layer{pilotID: twin.Pilots}
	for _, f := range fs {
		layerOf[f.ID] = f.Layer
	}
	for id, l := range layerOf {
		var page struct {
			Features []struct{ Properties map[string]any }
		}
		getJSONTo(t, base+"/collections/"+string(l)+"/items?limit=100", &page)
		for _, f := range page.Features {
			if f.Properties["id"] == id {
				record(id, "items", f.Properties)
			}
		}
		var one struct{ Properties map[string]any }
		getJSONTo(t, base+"/collections/"+string(l)+"/items/"+id, &one)
		if _, ok := one.Properties["history"]; !ok {
			t.Errorf("%s: the single item has no history", id)
		}
		delete(one.Properties, "history")
		record(id, "item", one.Properties)
	}

	// The pilots API.
	var pilot struct {
		Features []struct{ Properties map[string]any }
	}
	getJSONTo(t, base+"/api/pilots/proposal", &pilot)
	for _, f := range pilot.Features {
		record(f.Properties["id"].(string), "pilots-api", f.Properties)
	}

	// MVT tags of the z15 tile under each feature, and TileJSON's fields.
	var tj struct {
		VectorLayers []struct {
			ID     string            `json:"id"`
			Fields map[string]string `json:"fields"`
		} `json:"vector_layers"`
	}
	getJSONTo(t, base+"/tiles.json", &tj)
	fields := map[string]map[string]string{}
	for _, vl := range tj.VectorLayers {
		fields[vl.ID] = vl.Fields
	}
	at := map[string]orb.Point{pilotID: {20.3041, 67.8476}}
	for _, f := range fs {
		at[f.ID] = f.Geometry.Bound().Center()
	}
	for id, p := range at {
		tile := maptile.At(p, 15)
		resp, err := http.Get(fmt.Sprintf("%s/tiles/%d/%d/%d.mvt", base, tile.Z, tile.X, tile.Y))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		layers, err := mvt.Unmarshal(raw)
		if err != nil {
			t.Fatalf("tile under %s: %v", id, err)
		}
		for _, l := range layers {
			for _, f := range l.Features {
				if f.Properties["id"] != id {
					continue
				}
				record(id, "tile", f.Properties)
				if want := float64(twin.NumericID(id)); f.ID != want {
					t.Errorf("%s: MVT id %v, want %v", id, f.ID, want)
				}
				for k, val := range f.Properties {
					typ := map[bool]string{true: "Number"}[isNumber(val)]
					if typ == "" {
						typ = map[bool]string{true: "Boolean", false: "String"}[isBool(val)]
					}
					if fields[l.Name][k] != typ {
						t.Errorf("%s: tile property %s is a %s; TileJSON's %s fields say %q", id, k, typ, l.Name, fields[l.Name][k])
					}
				}
			}
		}
	}

	// Every output carries the same properties, times in their form.
	for id, outs := range got {
		names := slices.Sorted(func(yield func(string) bool) {
			for k := range outs {
				if !yield(k) {
					return
				}
			}
		})
		ref := outs[names[0]]
		for _, o := range names[1:] {
			if a, b := keys(ref), keys(outs[o]); !slices.Equal(a, b) {
				t.Errorf("%s: %s has %v, %s has %v", id, names[0], a, o, b)
			}
		}
		for _, o := range names {
			for k, val := range outs[o] {
				r := ref[k]
				if k == twin.PropFrom || k == twin.PropTo {
					r, val = asYear(t, r), asYear(t, val)
				}
				if !reflect.DeepEqual(r, val) {
					t.Errorf("%s: %s is %v in %s and %v in %s", id, k, ref[k], names[0], outs[o][k], o)
				}
			}
		}
	}
	for _, o := range []string{"items", "item", "pilots-api", "tile"} {
		p := got[pilotID][o]
		if p == nil {
			t.Errorf("the pilot is missing from %s", o)
			continue
		}
		if h, _ := p["height"].(float64); h < 11.99 || h > 12.01 {
			t.Errorf("the pilot's height in %s is %v, want 12", o, p["height"])
		}
		if _, ok := p["base"]; !ok {
			t.Errorf("the pilot has no base in %s", o)
		}
	}
	for _, o := range []string{"items", "item", "pilots-api"} {
		if f := got[pilotID][o]["from"]; f != "2027-01-01T00:00:00Z" {
			t.Errorf("the pilot's from in %s is %v, want 2027-01-01T00:00:00Z", o, f)
		}
	}

	b, err := json.MarshalIndent(got, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "schema.golden.json")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if strings.TrimSpace(string(want)) != strings.TrimSpace(string(b)) {
		t.Errorf("the properties differ from %s (rerun with -update after checking):\n%s", golden, b)
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func isNumber(v any) bool {
	switch v.(type) {
	case float64, float32, int64, uint64, int:
		return true
	}
	return false
}

func isBool(v any) bool { _, ok := v.(bool); return ok }

// asYear reads a time as JSON outputs write it (RFC 3339) or as tiles do
// (a decimal year) and returns the decimal year as tiles round it.
func asYear(t *testing.T, v any) any {
	switch v := v.(type) {
	case string:
		tm, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			t.Errorf("time %q is not RFC 3339: %v", v, err)
			return v
		}
		return twin.TileYear(tm)
	case float64:
		return v
	}
	return v
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func getJSONTo(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}
