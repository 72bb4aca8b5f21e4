package importer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

func features() []*twin.Feature {
	sq := func(x, y float64) orb.Polygon {
		return orb.Polygon{{{x, y}, {x + 0.001, y}, {x + 0.001, y + 0.001}, {x, y + 0.001}, {x, y}}}
	}
	return []*twin.Feature{
		{ID: "a", Layer: twin.Buildings, Geometry: sq(20.2, 67.85), Height: 9, Life: twin.Lifespan{From: time.Date(1963, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{ID: "b", Layer: twin.Buildings, Geometry: sq(20.3, 67.86), Height: 6, Status: twin.Demolished,
			Life: twin.Lifespan{From: time.Date(1920, 5, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{ID: "r", Layer: twin.Infrastructure, Kind: "road", Geometry: orb.LineString{{20.2, 67.84}, {20.31, 67.87}}, Life: twin.Lifespan{From: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
}

func TestNewScene(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	sc, err := NewScene(features(), Meta{ID: "t", Title: "Test", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	b := orb.Bound{Min: orb.Point{sc.Bounds[0], sc.Bounds[1]}, Max: orb.Point{sc.Bounds[2], sc.Bounds[3]}}
	for _, f := range features() {
		if !b.Contains(f.Geometry.Bound().Min) || !b.Contains(f.Geometry.Bound().Max) {
			t.Errorf("bounds %v do not hold %s", sc.Bounds, f.ID)
		}
	}
	if !b.Contains(orb.Point(sc.Center)) {
		t.Errorf("center %v outside %v", sc.Center, sc.Bounds)
	}
	// About 0.11° × 0.03° at 68° N fits a 1280×800 view near zoom 12.
	if sc.Zoom < 11 || sc.Zoom > 13 {
		t.Errorf("zoom %v", sc.Zoom)
	}
	if sc.Timeline.Start != 1900 || sc.Timeline.End != 2050 {
		t.Errorf("timeline %+v, want 1900 to 2050 (the latest date 2045, plus five)", sc.Timeline)
	}
	var ids []twin.Layer
	for _, l := range sc.Layers {
		ids = append(ids, l.ID)
	}
	if len(ids) != 3 || ids[0] != twin.Infrastructure || ids[1] != twin.Buildings || ids[2] != twin.Pilots ||
		sc.Layers[0].Kind != "line" || sc.Layers[1].Kind != "polygon" || sc.Layers[2].File != "" {
		t.Errorf("layers %+v", sc.Layers)
	}
	if _, err := NewScene(nil, Meta{}); !errors.Is(err, ErrNoFeatures) {
		t.Errorf("no features: %v", err)
	}
}

func TestWriteLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "scene")
	sc, err := NewScene(features(), Meta{ID: "t", Title: "Test", Sources: []scenes.Source{{Name: "tests", Licence: "none"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, sc, features(), false); err != nil {
		t.Fatal(err)
	}
	b, err := scenes.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Features) != 3 || b.Scene.ID != "t" || b.Scene.Sources[0].Name != "tests" {
		t.Errorf("loaded %d features, scene %+v", len(b.Features), b.Scene)
	}
	if err := Write(dir, sc, features(), false); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("second write: %v, want ErrNotEmpty", err)
	}
	if err := Write(dir, sc, features(), true); err != nil {
		t.Errorf("overwrite: %v", err)
	}
	// A feature the model refuses is not written.
	bad := append(features(), &twin.Feature{ID: "x", Layer: twin.Buildings, Geometry: orb.Point{500, 0}})
	badDir := t.TempDir()
	if err := Write(badDir, sc, bad, false); !errors.Is(err, twin.ErrOutOfRange) {
		t.Errorf("bad feature: %v", err)
	}
	if left, _ := os.ReadDir(badDir); len(left) != 0 {
		t.Errorf("a failed write left %v", left)
	}
}

// A feature the loader would refuse is refused before anything is written.
func TestWriteRefusesWhatWouldNotLoad(t *testing.T) {
	f := &twin.Feature{ID: "r1", Layer: twin.Infrastructure, Kind: "road", Geometry: orb.LineString{{20, 67}, {20.01, 67}},
		Life: twin.Lifespan{From: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)}, Props: map[string]any{"height": "3.2"}}
	sc, err := NewScene([]*twin.Feature{f}, Meta{ID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	err = Write(dir, sc, []*twin.Feature{f}, false)
	if !errors.Is(err, scenes.ErrNotWritable) {
		t.Fatalf("got %v, want ErrNotWritable", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("wrote %d files", len(entries))
	}
}

// Water and land use go to their own files, listed in scene.json, and
// read back.
func TestWriteBaseLayers(t *testing.T) {
	from := time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	fs := []*twin.Feature{
		{ID: "b", Layer: twin.Buildings, Kind: "house", Geometry: orb.Polygon{{{20, 67}, {20.001, 67}, {20.001, 67.001}, {20, 67}}}, Height: 6, Life: twin.Lifespan{From: from}},
		{ID: "w", Layer: scenes.Water, Kind: "lake", Geometry: orb.Polygon{{{20.01, 67}, {20.02, 67}, {20.02, 67.01}, {20.01, 67}}}, Life: twin.Lifespan{From: from}},
		{ID: "l", Layer: scenes.Landuse, Kind: "forest", Geometry: orb.Polygon{{{20.03, 67}, {20.04, 67}, {20.04, 67.01}, {20.03, 67}}}, Life: twin.Lifespan{From: from}},
	}
	sc, err := NewScene(fs, Meta{ID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := Write(dir, sc, fs, false); err != nil {
		t.Fatal(err)
	}
	b, err := scenes.Load(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	n := map[twin.Layer]int{}
	for _, f := range b.Features {
		n[f.Layer]++
	}
	files := map[twin.Layer]string{}
	for _, li := range sc.Layers {
		files[li.ID] = li.File
	}
	for _, l := range scenes.BaseLayers {
		if n[l] != 1 || files[l] != string(l)+".geojson" {
			t.Errorf("%s: %d features read back, file %q", l, n[l], files[l])
		}
	}
}
