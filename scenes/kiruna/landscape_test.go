package kiruna

import (
	"io/fs"
	"math"
	"strings"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// baseLayer reads water.geojson or landuse.geojson from the built-in
// bundle and checks every feature as the loader will.
func baseLayer(t *testing.T, l twin.Layer) []*twin.Feature {
	t.Helper()
	data, err := fs.ReadFile(Bundle(), string(l)+".geojson")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := scenes.DecodeGeoJSON(data, l)
	if err != nil {
		t.Fatalf("%s: %v", l, err)
	}
	for i, f := range fs {
		if err := scenes.CheckWritable(f); err != nil {
			t.Fatalf("%s features[%d]: %v", l, i, err)
		}
	}
	return fs
}

func landscapeByID(t *testing.T) map[string]*twin.Feature {
	out := map[string]*twin.Feature{}
	for _, l := range []twin.Layer{waterLayer, landuseLayer} {
		for _, f := range baseLayer(t, l) {
			out[f.ID] = f
		}
	}
	return out
}

func centroid(p orb.Polygon) xy {
	r := ringXY(p[0])
	var cx, cy, a float64
	for i := 0; i+1 < len(r); i++ {
		k := r[i][0]*r[i+1][1] - r[i+1][0]*r[i][1]
		a += k
		cx += (r[i][0] + r[i+1][0]) * k
		cy += (r[i][1] + r[i+1][1]) * k
	}
	return xy{cx / (3 * a), cy / (3 * a)}
}

// Every feature of the landscape lies inside the scene's bounds, carries
// a source and a confidence, and every row of landscape.csv is drawn.
func TestLandscapeInsideBoundsWithSources(t *testing.T) {
	b, _ := loadModel(t)
	bound := orb.Bound{Min: orb.Point{b.Scene.Bounds[0], b.Scene.Bounds[1]}, Max: orb.Point{b.Scene.Bounds[2], b.Scene.Bounds[3]}}
	feats := landscapeByID(t)
	if len(feats) < 30 {
		t.Errorf("%d landscape features, want the lakes, streams, the mine, the yards, forest and mire", len(feats))
	}
	for id, f := range feats {
		fb := f.Geometry.Bound()
		if !bound.Contains(fb.Min) || !bound.Contains(fb.Max) {
			t.Errorf("%s (%v) is not inside the scene's bounds %v", id, fb, b.Scene.Bounds)
		}
		if f.Source == "" || f.Confidence == "" || f.Name == "" || f.Kind == "" {
			t.Errorf("%s: source %q, confidence %q, name %q, kind %q", id, f.Source, f.Confidence, f.Name, f.Kind)
		}
	}
	rows, err := readLandscape()
	if err != nil {
		t.Fatal(err)
	}
	drawn := func(id string) bool {
		for fid, f := range feats {
			if fid == id || strings.HasPrefix(fid, id+"-") || f.Prop("facts") == "landscape.csv "+id {
				return true
			}
		}
		return false
	}
	_, s := loadModel(t)
	for _, r := range rows {
		if r.Layer == "infrastructure" {
			n := 0
			for _, f := range s.Features(twin.Infrastructure) {
				if f.Kind == "street" && (f.Prop("facts") == "landscape.csv "+r.ID || strings.Contains(f.Source, "row "+r.ID)) {
					n++
				}
			}
			if n == 0 {
				t.Errorf("row %s: no street drawn", r.ID)
			}
			continue
		}
		if !drawn(r.ID) {
			t.Errorf("row %s is not drawn", r.ID)
		}
	}
}

// Each feature with a stated point lies on it: lakes are centred on it
// within the row's tolerance; the mountains, the works and the places
// contain it.
func TestLandscapeAtSourcedPoints(t *testing.T) {
	feats := landscapeByID(t)
	rows, err := readLandscape()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, r := range rows {
		f, ok := feats[r.ID]
		if !ok || r.At == (orb.Point{}) {
			continue
		}
		p, ok := f.Geometry.(orb.Polygon)
		if !ok {
			continue
		}
		checked++
		if !inRing(toXY(r.At), ringXY(p[0])) {
			t.Errorf("%s does not contain its stated point %v", r.ID, r.At)
		}
		if r.Shape == "lake" && r.Tolerance > 0 {
			if d := dist(centroid(p), toXY(r.At)); d > r.Tolerance {
				t.Errorf("%s is centred %.0f m from its stated point (tolerance %.0f m)", r.ID, d, r.Tolerance)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d features checked against their points", checked)
	}
}

// Areas are those the sources state, within 15 %.
func TestLandscapeAreas(t *testing.T) {
	feats := landscapeByID(t)
	rows, err := readLandscape()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		f, ok := feats[r.ID]
		if !ok || r.Area == 0 {
			continue
		}
		got := polygonArea(f.Geometry.(orb.Polygon)) / 1e6
		if math.Abs(got-r.Area) > 0.15*r.Area {
			t.Errorf("%s: %.3f km², want %.3f km² ± 15 %%", r.ID, got, r.Area)
		}
	}
	// Luossajärvi after the dam is two thirds of the lake before it.
	before := polygonArea(feats["luossajarvi"].Geometry.(orb.Polygon))
	after := polygonArea(feats["luossajarvi-norra"].Geometry.(orb.Polygon))
	if k := after / before; math.Abs(k-2.0/3) > 0.02 {
		t.Errorf("Luossajärvi after the dam is %.2f of the lake before, want 2/3", k)
	}
}

// No building stands in water or on a street or road while both exist.
func TestBuildingsOffStreetsAndWater(t *testing.T) {
	_, s := loadModel(t)
	var water []*twin.Feature
	for _, f := range baseLayer(t, waterLayer) {
		if _, ok := f.Geometry.(orb.Polygon); ok {
			water = append(water, f)
		}
	}
	roads := map[string]bool{"street": true, "road": true, "road_major": true}
	nStreets := 0
	for _, f := range s.Features(twin.Infrastructure) {
		if f.Kind == "street" {
			nStreets++
		}
	}
	if nStreets < 500 {
		t.Errorf("%d streets, want the districts' and the new centre's", nStreets)
	}
	bad := 0
	for _, b := range s.Features(twin.Buildings) {
		fp := ringXY(b.Geometry.(orb.Polygon)[0])
		for _, w := range water {
			if w.Life.Overlaps(b.Life) && overlap(shrunk(b.Geometry), ringXY(w.Geometry.(orb.Polygon)[0])) {
				t.Errorf("%s stands in %s", b.ID, w.ID)
				bad++
			}
		}
		s.Search(twin.Infrastructure, b.Bound(), func(r *twin.Feature) bool {
			if !roads[r.Kind] || !r.Life.Overlaps(b.Life) {
				return true
			}
			walkLines(r.Geometry, func(l orb.LineString) {
				for i := 1; i < len(l); i++ {
					a, c := toXY(l[i-1]), toXY(l[i])
					if inRing(a, fp) || inRing(c, fp) || !lineClear(a, c, 0.5, [][]xy{fp}) {
						t.Errorf("%s (%s) stands on %s (%s)", b.ID, b.Life, r.ID, r.Life)
						bad++
						return
					}
				}
			})
			return bad < 30
		})
		if bad >= 30 {
			t.Fatal("too many")
		}
	}
}

// The new centre: its grid round Kristallen, about 3 km east of the old
// centre; east–west streets run through, north–south ones are offset by
// half a block from one row to the next.
func TestNewCentreGrid(t *testing.T) {
	lms, _ := readLandmarks()
	lm := map[string]landmark{}
	for _, l := range lms {
		lm[l.ID] = l
	}
	if d := dist(toXY(lm["old_town_centre"].At), toXY(lm["kristallen"].At)); d < 2700 || d > 3600 {
		t.Errorf("Kristallen is %.0f m from the old centre, want about 3 km", d)
	}
	ds, _ := readDistricts()
	var nc district
	for _, d := range ds {
		if d.ID == "centrum_new" {
			nc = d
		}
	}
	g := newCentreGrid(nc, lm["kristallen"].At, plans["centrum_new"].angle)
	if len(g.blocks) < 30 {
		t.Fatalf("%d blocks", len(g.blocks))
	}
	// Blocks of neighbouring rows are offset by half a block.
	x := map[int]map[float64]bool{}
	for _, b := range g.blocks {
		if x[b.k] == nil {
			x[b.k] = map[float64]bool{}
		}
		x[b.k][math.Round(dot(sub(b.ring[0], g.c), g.ux))] = true
	}
	for k := range x {
		for xk := range x[k] {
			if x[k+1] != nil && (x[k+1][xk] || x[k+1][xk+1] || x[k+1][xk-1]) {
				t.Errorf("rows %d and %d have a block edge at the same x = %v: the north–south streets are not offset", k, k+1, xk)
			}
		}
	}
	square := false
	for _, b := range g.blocks {
		if b.square && inRing(toXY(lm["kristallen"].At), b.ring) {
			square = true
		}
	}
	if !square {
		t.Error("Kristallen is not on the square block")
	}
}

// Lakes and mountains are labelled; the mountains with their height.
func TestLandscapeLabels(t *testing.T) {
	_, s := loadModel(t)
	for id, ele := range map[string]float64{"kiirunavaara_summit": 733, "luossavaara_summit": 724, "label-luossajarvi": 499.1, "label-ala-lombolo": 491.2} {
		f, ok := s.Get(twin.Landmarks, id)
		if !ok {
			t.Errorf("no landmark %s", id)
			continue
		}
		if f.Props["ele"] != ele {
			t.Errorf("%s: ele %v, want %v", id, f.Props["ele"], ele)
		}
	}
	if f, ok := s.Get(twin.Landmarks, "label-yli-lombolo"); !ok || f.Kind != "lake" {
		t.Error("Yli Lombolo has no lake label")
	}
}
