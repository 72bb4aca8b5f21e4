package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/terrain"
	"github.com/kiruna-twin/kiruna-twin/terrain/geotiff"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

func TestImportCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bundle")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"import",
		"--osm", "../../scenes/osm/testdata/town.osm.pbf",
		"--cityjson", "../../scenes/cityjson/testdata/sweref.city.json",
		"--out", out, "--title", "Test town", "--from", "1950"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "town.osm.pbf: 5 features, 4 skipped") || !strings.Contains(stdout.String(), "kiruna-twin --scene "+out) {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	b, err := scenes.Load(os.DirFS(out))
	if err != nil {
		t.Fatal(err)
	}
	if b.Scene.ID != "test-town" || len(b.Features) != 9 {
		t.Errorf("scene %q with %d features", b.Scene.ID, len(b.Features))
	}
	osmFound := false
	for _, s := range b.Scene.Sources {
		osmFound = osmFound || (s.Name == "© OpenStreetMap contributors" && s.Licence == "ODbL 1.0")
	}
	if !osmFound {
		t.Errorf("sources %+v lack the OpenStreetMap attribution", b.Scene.Sources)
	}
	for _, f := range b.Features {
		// --from 1950 is the start of every feature without a date.
		if f.Prop("from_default") == "true" && twin.DecimalYear(f.Life.From) != 1950 {
			t.Errorf("%s from %v", f.ID, f.Life.From)
		}
	}
	m := twin.NewModel()
	if err := b.Into(m); err != nil {
		t.Fatal(err)
	}
}

// A GeoJSON file goes to the buildings layer; features without a date
// start at --from.
func TestImportGeoJSON(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "houses.geojson")
	gj := `{"type":"FeatureCollection","features":[{"type":"Feature","id":"h1","properties":{"height":7,"kind":"house"},` +
		`"geometry":{"type":"Polygon","coordinates":[[[10,50],[10.001,50],[10.001,50.001],[10,50.001],[10,50]]]}}]}`
	if err := os.WriteFile(in, []byte(gj), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"import", "--geojson", in, "--out", out, "--from", "2001"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	b, err := scenes.Load(os.DirFS(out))
	if err != nil {
		t.Fatal(err)
	}
	if b.Scene.ID != "houses" || len(b.Features) != 1 || b.Features[0].Layer != twin.Buildings || b.Features[0].Life.From.Year() != 2001 {
		t.Errorf("scene %q, features %+v", b.Scene.ID, b.Features)
	}
}

func TestImportCommandErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no out", []string{"import", "--osm", "x.osm"}, 2, "needs --out"},
		{"no input", []string{"import", "--out", dir}, 2, "at least one"},
		{"bad from", []string{"import", "--osm", "x.osm", "--out", dir, "--from", "soon"}, 2, "--from"},
		{"missing file", []string{"import", "--osm", filepath.Join(dir, "none.osm"), "--out", filepath.Join(dir, "o1")}, 1, "no such file"},
		{"strict", []string{"import", "--strict", "--osm", "../../scenes/osm/testdata/town.osm", "--out", filepath.Join(dir, "o2")}, 1, "way/102"},
		{"unsupported CRS", []string{"import", "--cityjson", "../../scenes/cityjson/testdata/corpus/metadata_complete.city.json", "--out", filepath.Join(dir, "o3")}, 1, "EPSG:2355"},
		{"nothing", []string{"import", "--cityjson", "../../scenes/cityjson/testdata/corpus/cityjson_minimal.city.json", "--crs", "EPSG:3006", "--out", filepath.Join(dir, "o4")}, 1, "nothing to import"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, want %d; stderr %q, want %q", code, tc.code, stderr.String(), tc.want)
			}
		})
	}
}

func TestProgressLines(t *testing.T) {
	var w bytes.Buffer
	p := newProgress(&w, "big.osm", 100<<20)
	chunk := make([]byte, 1<<20)
	for range 99 {
		p.Write(chunk)
	}
	p.Write(chunk[:1<<19])
	p.Write(chunk[:1<<19])
	p.done()
	lines := strings.Split(strings.TrimSpace(w.String()), "\n")
	if len(lines) != 10 || !strings.HasPrefix(lines[9], "importing big.osm: 100% (104.9 MB of 104.9 MB)") {
		t.Errorf("progress lines:\n%s", w.String())
	}
	w.Reset()
	small := newProgress(&w, "small.osm", 1000)
	small.Write(make([]byte, 1000))
	if w.Len() != 0 {
		t.Errorf("a small file shows progress: %q", w.String())
	}
}

// --dem stores an elevation model (here in SWEREF 99 TM, made by the test)
// in the bundle, in WGS84; with it alone the scene covers the model.
func TestImportDEM(t *testing.T) {
	dir := t.TempDir()
	im := &geotiff.Image{Width: 60, Height: 40, OriginX: 719_000, OriginY: 7_535_000, ScaleX: 25, ScaleY: 25, EPSG: 3006}
	im.Data = make([]float64, im.Width*im.Height)
	for i := range im.Data {
		im.Data[i] = 450 + float64(i%im.Width)
	}
	var buf bytes.Buffer
	if err := geotiff.Encode(&buf, im); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "kiruna-test-dem.tif")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--dem", in},
		{"--dem", in, "--osm", "../../scenes/osm/testdata/town.osm"},
	} {
		out := filepath.Join(t.TempDir(), "bundle")
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), append([]string{"import", "--out", out}, args...), &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d\n%s\n%s", args, code, stdout.String(), stderr.String())
		}
		if !strings.Contains(stdout.String(), "elevation model of") {
			t.Errorf("stdout:\n%s", stdout.String())
		}
		b, err := scenes.Load(os.DirFS(out))
		if err != nil {
			t.Fatal(err)
		}
		if b.DEM == nil || b.Scene.Terrain == nil || b.Scene.Terrain.File != "dem.tif" {
			t.Fatalf("%v: no elevation model in the bundle (%+v)", args, b.Scene.Terrain)
		}
		lo, hi := b.DEM.Range()
		if lo < 449 || hi > 510 {
			t.Errorf("heights %v to %v, want 450 to 509", lo, hi)
		}
		db := b.DEM.Bounds()
		sb := b.Scene.Bounds
		if sb[0] > db[0] || sb[1] > db[1] || sb[2] < db[2] || sb[3] < db[3] {
			t.Errorf("scene bounds %v do not hold the model's %v", sb, db)
		}
	}
}

// A scene imported with --dem serves terrain: tiles and a style with it.
func TestServeImportedTerrain(t *testing.T) {
	dir := t.TempDir()
	im := &geotiff.Image{Width: 40, Height: 40, OriginX: 20.2, OriginY: 67.86, ScaleX: 0.0005, ScaleY: 0.0002, EPSG: 4326}
	im.Data = make([]float64, im.Width*im.Height)
	for i := range im.Data {
		im.Data[i] = 600
	}
	var buf bytes.Buffer
	if err := geotiff.Encode(&buf, im); err != nil {
		t.Fatal(err)
	}
	in, out := filepath.Join(dir, "flat.tif"), filepath.Join(dir, "scene")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"import", "--dem", in, "--osm", "../../scenes/osm/testdata/town.osm", "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	base, _ := startServer(t, "--simulate=false", "--scene", out)
	tile := maptile.At(orb.Point{20.21, 67.856}, 12)
	resp, err := http.Get(fmt.Sprintf("%s/terrain/12/%d/%d.png", base, tile.X, tile.Y))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("terrain tile: %d %s", resp.StatusCode, body)
	}
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r, g, b, _ := img.At(128, 128).RGBA()
	if h := terrain.TerrariumHeight(uint8(r>>8), uint8(g>>8), uint8(b>>8)); h != 600 {
		t.Errorf("the flat model's tile says %v m, want 600", h)
	}
	resp, err = http.Get(base + "/style.json")
	if err != nil {
		t.Fatal(err)
	}
	style, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(style, []byte(`"raster-dem"`)) || !bytes.Contains(style, []byte(`"hillshade"`)) {
		t.Errorf("the style does not announce the terrain")
	}
}
