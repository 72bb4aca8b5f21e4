package osm

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/scenes/importer"
	"github.com/kiruna-twin/kiruna-twin/twin"
)

// Every fixture imports, is written as a bundle and loads back: the
// importer writes nothing it would refuse (issue: a road's height "3.2"
// kept as a string made the bundle unloadable).
func TestRoundTripEveryFixture(t *testing.T) {
	for _, name := range []string{"town.osm", "town.osm.pbf", "smalltown.osm.pbf"} {
		t.Run(name, func(t *testing.T) {
			res := decodeFile(t, name, Options{})
			sc, err := importer.NewScene(res.Features, importer.Meta{ID: "rt", Title: name})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := importer.Write(dir, sc, res.Features, false); err != nil {
				t.Fatal(err)
			}
			b, err := scenes.Load(os.DirFS(dir))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(b.Features); n != len(res.Features) {
				t.Errorf("wrote %d features, read back %d", len(res.Features), len(b.Features))
			}
		})
	}
}

// The small town's tags come out as the schema wants them: heights are
// numbers, bad values are counted, not written.
func TestSmallTownTags(t *testing.T) {
	res := decodeFile(t, "smalltown.osm.pbf", Options{})
	t.Logf("%d buildings (%d parts), %d infrastructure, %d water, %d land use, %d places; lenient %v; dropped %v; examples %v",
		res.Buildings, res.Parts, res.Infrastructure, res.Water, res.Landuse, res.Places, res.Lenient, res.Dropped, res.DroppedExamples)
	if res.Parts != 30 || res.Places != 13 {
		t.Errorf("%d building parts and %d places, want 30 and 13", res.Parts, res.Places)
	}
	for _, k := range []string{"height", "building:levels", "min_height", "roof:levels"} {
		if res.Dropped[k] == 0 {
			t.Errorf("no %s value dropped; the fixture has bad ones", k)
		}
	}
	for _, k := range []string{"height", "building:levels", "ele"} {
		if res.Lenient[k] == 0 {
			t.Errorf("no %s value read leniently; the fixture has \"12 m\", \"2;3\", \"450 m\"", k)
		}
	}
	bridges := 0
	for _, f := range res.Features {
		for k, v := range f.Props {
			if _, isString := v.(string); isString && (k == "height" || k == "min_height" || k == "ele" || strings.HasSuffix(k, "levels")) {
				t.Fatalf("%s: %s kept as the string %q", f.ID, k, v)
			}
		}
		if f.Layer == twin.Infrastructure && f.Props["bridge"] == "yes" && f.Height > 0 {
			bridges++
		}
		if f.Kind == "building_part" && f.Props["roof:shape"] == nil {
			t.Errorf("%s: building part without its roof:shape", f.ID)
		}
		if f.Kind == "building_part" {
			if o := byID(res.Features)[f.Prop("building")]; o == nil || o.Props["building_parts"] != 2.0 {
				t.Errorf("%s: not tied to an outline with two parts (%q)", f.ID, f.Prop("building"))
			}
		}
	}
	if bridges != 3 { // "3.2", "4.5 m", "3;4"; "low" is dropped
		t.Errorf("%d bridges with a height, want 3", bridges)
	}
}

// The small town's counts match GDAL's OSM driver (ogrinfo) within 3 %:
// buildings, water areas, land-use areas, waterways, places. Needs gdal-bin.
func TestSmallTownMatchesGDAL(t *testing.T) {
	if _, err := exec.LookPath("ogrinfo"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("ogrinfo (Debian gdal-bin) is needed under CI")
		}
		t.Skip("ogrinfo not found: apt-get install gdal-bin")
	}
	path := filepath.Join("testdata", "smalltown.osm.pbf")
	start := time.Now()
	res := decodeFile(t, "smalltown.osm.pbf", Options{})
	t.Logf("imported %s in %v", path, time.Since(start))
	ours := map[string]int{"buildings": res.Buildings - res.Parts, "places": res.Places}
	for _, f := range res.Features {
		switch {
		case f.Layer == scenes.Water && isPolygonal(f):
			ours["water areas"]++
		case f.Layer == scenes.Water:
			ours["waterways"]++
		case f.Layer == scenes.Landuse:
			ours["land-use areas"]++
		}
	}
	natural := quoteList(naturalLand)
	leisure := quoteList(leisureLand)
	water := `"natural" = 'water' OR landuse IN ('reservoir','basin','salt_pond') OR other_tags LIKE '%"water"=>%'`
	queries := map[string]string{
		"buildings":   `SELECT COUNT(*) FROM multipolygons WHERE building IS NOT NULL AND building <> 'no'`,
		"water areas": `SELECT COUNT(*) FROM multipolygons WHERE building IS NULL AND (` + water + `)`,
		"land-use areas": `SELECT COUNT(*) FROM multipolygons WHERE building IS NULL AND NOT (` + water + `) AND ((landuse IS NOT NULL AND landuse <> 'no') OR "natural" IN (` +
			natural + `) OR leisure IN (` + leisure + `))`,
		"waterways": `SELECT COUNT(*) FROM lines WHERE waterway IN ('river','stream','canal','ditch','drain','brook','tidal_channel')`,
		"places":    `SELECT COUNT(*) FROM points WHERE (place IS NOT NULL OR other_tags LIKE '%"natural"=>"peak"%') AND name IS NOT NULL`,
	}
	for what, q := range queries {
		out, err := exec.Command("ogrinfo", "-q", "-ro", "-sql", q, path).CombinedOutput()
		if err != nil {
			t.Fatalf("ogrinfo %s: %v\n%s", what, err, out)
		}
		gdal := -1
		for _, line := range strings.Split(string(out), "\n") {
			if _, v, ok := strings.Cut(line, "COUNT_* (Integer) = "); ok {
				gdal, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		if gdal <= 0 {
			t.Fatalf("ogrinfo %s: no count in\n%s", what, out)
		}
		t.Logf("%s: ours %d, GDAL %d", what, ours[what], gdal)
		if math.Abs(float64(ours[what]-gdal)) > 0.03*float64(gdal) {
			t.Errorf("%s: ours %d, GDAL's %d: more than 3 %% apart", what, ours[what], gdal)
		}
	}
}

func isPolygonal(f *twin.Feature) bool {
	switch f.Geometry.GeoJSONType() {
	case "Polygon", "MultiPolygon":
		return true
	}
	return false
}

func quoteList(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, "'"+k+"'")
	}
	return strings.Join(out, ",")
}

// BenchmarkSmallTown times the import of the small town's PBF.
func BenchmarkSmallTown(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "smalltown.osm.pbf"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Decode(context.Background(), strings.NewReader(string(data)), PBF, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
