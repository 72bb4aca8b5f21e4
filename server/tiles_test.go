package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/scenes/kiruna"
	"github.com/kiruna-twin/kiruna-twin/server/proxy"
	"github.com/kiruna-twin/kiruna-twin/tiles"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
)

// builtIn is the built-in scene loaded once for every test that reads it.
var builtIn = sync.OnceValues(func() (*scenes.Bundle, error) { return scenes.Load(kiruna.Bundle()) })

// kirunaServer serves the built-in scene.
func kirunaServer(t testing.TB) (*Server, *twin.Model) {
	t.Helper()
	b, err := builtIn()
	if err != nil {
		t.Fatal(err)
	}
	m := twin.NewModel()
	if err := b.Into(m); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Model: m})
	s.SetScene(&b.Scene)
	return s, m
}

func get(t testing.TB, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func tilePathAt(p orb.Point, z int) string {
	t := maptile.At(p, maptile.Zoom(z))
	return fmt.Sprintf("/tiles/%d/%d/%d.mvt", z, t.X, t.Y)
}

func TestTileJSON(t *testing.T) {
	s, _ := kirunaServer(t)
	s.cfg.TrustedProxies, _ = proxy.Parse([]string{"192.0.2.1"}) // httptest's peer
	w := get(t, s, "/tiles.json", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "twin.example.org")
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var tj struct {
		TileJSON     string     `json:"tilejson"`
		Tiles        []string   `json:"tiles"`
		MinZoom      *int       `json:"minzoom"`
		MaxZoom      int        `json:"maxzoom"`
		Bounds       [4]float64 `json:"bounds"`
		Center       []float64  `json:"center"`
		VectorLayers []struct {
			ID     string            `json:"id"`
			Fields map[string]string `json:"fields"`
		} `json:"vector_layers"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &tj); err != nil {
		t.Fatal(err)
	}
	if tj.TileJSON != "3.0.0" || len(tj.Tiles) != 1 || tj.Tiles[0] != "https://twin.example.org/tiles/{z}/{x}/{y}.mvt" {
		t.Errorf("tilejson %q tiles %v", tj.TileJSON, tj.Tiles)
	}
	if tj.MinZoom == nil || *tj.MinZoom != 0 || tj.MaxZoom != 16 || len(tj.Center) != 3 {
		t.Errorf("zooms %v..%d centre %v", tj.MinZoom, tj.MaxZoom, tj.Center)
	}
	sc := s.Scene()
	if !(tj.Bounds[0] <= sc.Bounds[0] && tj.Bounds[1] <= sc.Bounds[1] && tj.Bounds[2] >= sc.Bounds[2] && tj.Bounds[3] >= sc.Bounds[3]) {
		t.Errorf("bounds %v do not cover the scene's %v", tj.Bounds, sc.Bounds)
	}
	var got []string
	for _, l := range tj.VectorLayers {
		got = append(got, l.ID)
		for _, f := range []string{"id", "name", "kind", "from", "to"} {
			if l.Fields[f] == "" {
				t.Errorf("layer %s lacks field %s", l.ID, f)
			}
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "buildings,infrastructure,landmarks,landuse,pilots,sensors,water,zones" {
		t.Errorf("vector layers %v", got)
	}
	// Without proxy headers the request's own host is used.
	w = get(t, s, "/tiles.json")
	if !strings.Contains(w.Body.String(), `"http://example.com/tiles/{z}/{x}/{y}.mvt"`) {
		t.Errorf("template without proxy headers: %s", w.Body.String()[:200])
	}
	// A malformed forwarded host is ignored.
	w = get(t, s, "/tiles.json", "X-Forwarded-Host", "evil.org/<script>")
	if strings.Contains(w.Body.String(), "evil") {
		t.Error("a malformed X-Forwarded-Host was used")
	}
}

func TestTileEndpoint(t *testing.T) {
	s, _ := kirunaServer(t)
	sc := s.Scene()
	c := orb.Point{sc.Center[0], sc.Center[1]}
	path := tilePathAt(c, 15)

	w := get(t, s, path, "Accept-Encoding", "gzip")
	if w.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", path, w.Code, w.Body)
	}
	h := w.Header()
	if h.Get("Content-Type") != "application/vnd.mapbox-vector-tile" || h.Get("Content-Encoding") != "gzip" ||
		h.Get("ETag") == "" || h.Get("Cache-Control") == "" || !strings.Contains(h.Get("Vary"), "Accept-Encoding") {
		t.Errorf("headers %v", h)
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	layers, err := mvt.Unmarshal(raw)
	if err != nil || len(layers) == 0 {
		t.Fatalf("decoding: %v, %d layers", err, len(layers))
	}

	plain := get(t, s, path)
	if plain.Code != http.StatusOK || plain.Header().Get("Content-Encoding") != "" || !bytes.Equal(plain.Body.Bytes(), raw) {
		t.Errorf("plain tile: %d %v, same bytes %v", plain.Code, plain.Header(), bytes.Equal(plain.Body.Bytes(), raw))
	}
	if plain.Header().Get("ETag") != h.Get("ETag") {
		t.Errorf("etags differ: %s %s", plain.Header().Get("ETag"), h.Get("ETag"))
	}
	nm := get(t, s, path, "If-None-Match", `"other", `+h.Get("ETag"))
	if nm.Code != http.StatusNotModified || nm.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d, %d bytes", nm.Code, nm.Body.Len())
	}
	if w := get(t, s, path, "If-None-Match", `W/"nope"`); w.Code != http.StatusOK {
		t.Errorf("a stale ETag got %d", w.Code)
	}
	// Nothing in the middle of the Pacific.
	if w := get(t, s, "/tiles/14/100/8000.mvt"); w.Code != http.StatusNoContent || w.Body.Len() != 0 {
		t.Errorf("empty tile: %d %q", w.Code, w.Body)
	}
}

func TestTileBadRequests(t *testing.T) {
	s, _ := kirunaServer(t)
	for _, c := range []struct{ path, want string }{
		{"/tiles/17/0/0.mvt", "z 17"},
		{"/tiles/3/8/0.mvt", "x 8"},
		{"/tiles/3/0/8.mvt", "y 8"},
		{"/tiles/a/0/0.mvt", "tile z"},
		{"/tiles/3/-1/0.mvt", "tile x"},
		{"/tiles/3/0/0.png", "/tiles/{z}/{x}/{y}.mvt"},
		{"/tiles/3/0/1e3.mvt", "tile y"},
		{"/tiles/99999999999/0/0.mvt", "tile z"},
	} {
		w := get(t, s, c.path)
		var body ErrorBody
		if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &body) != nil || !strings.Contains(body.Error, c.want) {
			t.Errorf("%s: %d %s, want 400 naming %q", c.path, w.Code, w.Body, c.want)
		}
	}
}

// TestTileAfterEdit: an edit shows in the next request for its tile, with a
// new ETag, and the tiles it does not touch keep theirs.
func TestTileAfterEdit(t *testing.T) {
	s, m := kirunaServer(t)
	sc := s.Scene()
	c := orb.Point{sc.Center[0], sc.Center[1]}
	far := orb.Point{sc.Bounds[0] + 0.001, sc.Bounds[1] + 0.001}
	path, farPath := tilePathAt(c, 16), tilePathAt(far, 16)
	before, farBefore := get(t, s, path), get(t, s, farPath)
	f := &twin.Feature{ID: "pilot-box", Layer: twin.Pilots, Kind: "box", Geometry: c,
		Life: twin.Lifespan{From: twin.FromDecimalYear(2024)}, Props: map[string]any{"pilot": "p", "company": "acme"}}
	if _, err := m.Apply(twin.Edit{Layer: twin.Pilots, Add: []*twin.Feature{f}}); err != nil {
		t.Fatal(err)
	}
	after := get(t, s, path, "If-None-Match", before.Header().Get("ETag"))
	if after.Code != http.StatusOK || after.Header().Get("ETag") == before.Header().Get("ETag") {
		t.Fatalf("after the edit: %d, etag %s (was %s)", after.Code, after.Header().Get("ETag"), before.Header().Get("ETag"))
	}
	layers, err := mvt.Unmarshal(after.Body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range layers {
		for _, ft := range l.Features {
			if l.Name == "pilots" && ft.Properties["id"] == "pilot-box" && ft.Properties["company"] == "acme" {
				found = true
			}
		}
	}
	if !found {
		t.Error("the new pilot is not in its tile")
	}
	if w := get(t, s, farPath, "If-None-Match", farBefore.Header().Get("ETag")); w.Code != http.StatusNotModified {
		t.Errorf("an untouched tile changed: %d", w.Code)
	}
}

// TestTilesHoldTheModelInTime checks, on the built-in scene, that the tile
// under each view of the guided tour, filtered at the view's year (and at
// 2010 and 2030) by from/to as the viewer does, holds exactly the
// buildings the model says stand there then.
func TestTilesHoldTheModelInTime(t *testing.T) {
	s, m := kirunaServer(t)
	snap := m.Snapshot()
	sc := s.Scene()
	if len(sc.Views) == 0 {
		t.Fatal("the built-in scene has no views")
	}
	type probe struct {
		name string
		at   orb.Point
		year float64
	}
	var probes []probe
	for _, v := range sc.Views {
		p := orb.Point{v.Center[0], v.Center[1]}
		for _, y := range []float64{v.Year, 2010, 2030} {
			if y != 0 {
				probes = append(probes, probe{fmt.Sprintf("%s@%v", v.ID, y), p, y})
			}
		}
	}
	nonEmpty := 0
	for _, p := range probes {
		for _, z := range []int{13, 15} {
			tt := maptile.At(p.at, maptile.Zoom(z))
			w := get(t, s, fmt.Sprintf("/tiles/%d/%d/%d.mvt", z, tt.X, tt.Y))
			inTile := map[string]bool{}
			if w.Code == http.StatusOK {
				layers, err := mvt.Unmarshal(w.Body.Bytes())
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range layers {
					if l.Name != "buildings" {
						continue
					}
					for _, f := range l.Features {
						from, _ := f.Properties["from"].(float64)
						to, hasTo := f.Properties["to"].(float64)
						if from <= p.year && (!hasTo || p.year < to) {
							inTile[f.Properties["id"].(string)] = true
						}
					}
				}
			}
			// The model's answer: buildings standing at that instant whose
			// box lies inside the tile must be there; none that does not
			// stand then or lies outside the buffered tile may be.
			at := twin.FromDecimalYear(p.year)
			inner := tiles.TileBound(z, int(tt.X), int(tt.Y))
			outer := bufferedLonLat(z, int(tt.X), int(tt.Y), s.Tiler().Options().Buffer)
			standing := map[string]bool{}
			snap.SearchAt(twin.Buildings, outer, at, func(f *twin.Feature) bool {
				standing[f.ID] = true
				if inner.Contains(f.Bound().Min) && inner.Contains(f.Bound().Max) && !inTile[f.ID] {
					t.Errorf("%s z%d: %s stands there then but is not in the tile", p.name, z, f.ID)
				}
				return true
			})
			for id := range inTile {
				if !standing[id] {
					t.Errorf("%s z%d: the tile shows %s, which the model does not have standing there then", p.name, z, id)
				}
			}
			if len(inTile) > 0 {
				nonEmpty++
			}
		}
	}
	if nonEmpty < len(probes) {
		t.Errorf("only %d of %d probe tiles show buildings", nonEmpty, 2*len(probes))
	}
}

func bufferedLonLat(z, x, y, buffer int) orb.Bound {
	b := tiles.TileBound(z, x, y)
	dx := (b.Max[0] - b.Min[0]) * float64(buffer) / tiles.Extent
	dy := (b.Max[1] - b.Min[1]) * float64(buffer) / tiles.Extent
	return orb.Bound{Min: orb.Point{b.Min[0] - dx, b.Min[1] - dy}, Max: orb.Point{b.Max[0] + dx, b.Max[1] + dy}}
}

// TestStyle checks that /style.json is a MapLibre style over this
// server's TileJSON that draws every vector layer, buildings extruded.
func TestStyle(t *testing.T) {
	s, _ := kirunaServer(t)
	w := get(t, s, "/style.json")
	if w.Code != http.StatusOK || w.Header().Get("ETag") == "" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	if strings.Contains(w.Body.String(), "{{origin}}") {
		t.Error("{{origin}} left in the style")
	}
	var style struct {
		Version int `json:"version"`
		Sources map[string]struct {
			Type string `json:"type"`
			URL  string `json:"url"`
		} `json:"sources"`
		Layers []struct {
			ID          string         `json:"id"`
			Type        string         `json:"type"`
			Source      string         `json:"source"`
			SourceLayer string         `json:"source-layer"`
			Paint       map[string]any `json:"paint"`
		} `json:"layers"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &style); err != nil {
		t.Fatalf("style is not JSON: %v", err)
	}
	if style.Version != 8 {
		t.Errorf("style version %d", style.Version)
	}
	twinSources := map[string]bool{}
	for name, src := range style.Sources {
		if src.Type == "vector" && src.URL == "http://example.com/tiles.json" {
			twinSources[name] = true
		}
	}
	if len(twinSources) == 0 {
		t.Fatalf("no vector source points at this server's /tiles.json: %+v", style.Sources)
	}
	drawn := map[string]bool{}
	extruded := false
	for _, l := range style.Layers {
		if !twinSources[l.Source] {
			continue
		}
		drawn[l.SourceLayer] = true
		if l.SourceLayer == "buildings" && l.Type == "fill-extrusion" {
			_, h := l.Paint["fill-extrusion-height"]
			_, b := l.Paint["fill-extrusion-base"]
			extruded = h && b
		}
	}
	for _, vl := range s.Tiler().Layers() {
		if !drawn[string(vl.ID)] {
			t.Errorf("the style draws no layer of %s", vl.ID)
		}
	}
	if !extruded {
		t.Error("no fill-extrusion layer of buildings with height and base")
	}
	if w := get(t, s, "/style.json", "If-None-Match", w.Header().Get("ETag")); w.Code != http.StatusNotModified {
		t.Errorf("style revalidation: %d", w.Code)
	}
}

func TestETagMatches(t *testing.T) {
	for _, c := range []struct {
		inm, etag string
		want      bool
	}{
		{"", `W/"a"`, false}, {`W/"a"`, `W/"a"`, true}, {`"a"`, `W/"a"`, true}, {`"b", W/"a"`, `W/"a"`, true},
		{"*", `W/"a"`, true}, {`"b"`, `W/"a"`, false},
	} {
		if got := etagMatches(c.inm, c.etag); got != c.want {
			t.Errorf("%q vs %q: %v", c.inm, c.etag, got)
		}
	}
}

// FuzzParseTileCoords: the tile path parser never panics and accepts only
// plain whole numbers with a .mvt suffix.
func FuzzParseTileCoords(f *testing.F) {
	for _, s := range [][3]string{{"0", "0", "0.mvt"}, {"16", "35000", "17000.mvt"}, {"-1", "0", "0.mvt"}, {"1", "2", "3.png"}, {"9999999999", "1", "1.mvt"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, zs, xs, file string) {
		z, x, y, err := parseTileCoords(zs, xs, file)
		if err != nil {
			return
		}
		if z < 0 || x < 0 || y < 0 || !strings.HasSuffix(file, ".mvt") {
			t.Fatalf("accepted %q %q %q as %d/%d/%d", zs, xs, file, z, x, y)
		}
	})
}

func TestTileCacheMetrics(t *testing.T) {
	s, _ := kirunaServer(t)
	sc := s.Scene()
	path := tilePathAt(orb.Point{sc.Center[0], sc.Center[1]}, 15)
	get(t, s, path)
	get(t, s, path)
	body := get(t, s, "/metrics").Body.String()
	for _, want := range []string{"kiruna_tile_cache_hits_total 1", "kiruna_tile_cache_misses_total 1", "kiruna_tile_cache_tiles 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestSceneEdgeTiles: at the corners of the built-in scene's bounds (no
// antimeridian there), every tile and its outward neighbours hold exactly
// the features whose box meets the buffered tile and that lie well inside
// it, with geometry no farther than the buffer past the edge.
func TestSceneEdgeTiles(t *testing.T) {
	s, m := kirunaServer(t)
	snap := m.Snapshot()
	sb := s.Scene().Bounds
	buffer := s.Tiler().Options().Buffer
	corners := []orb.Point{{sb[0], sb[1]}, {sb[0], sb[3]}, {sb[2], sb[1]}, {sb[2], sb[3]}}
	withData := 0
	for z := 12; z <= 16; z++ {
		for _, c := range corners {
			ct := maptile.At(c, maptile.Zoom(z))
			for dx := -1; dx <= 1; dx++ {
				for dy := -1; dy <= 1; dy++ {
					x, y := int(ct.X)+dx, int(ct.Y)+dy
					w := get(t, s, fmt.Sprintf("/tiles/%d/%d/%d.mvt", z, x, y))
					got := map[string]bool{}
					if w.Code == http.StatusOK {
						layers, err := mvt.Unmarshal(w.Body.Bytes())
						if err != nil {
							t.Fatal(err)
						}
						for _, l := range layers {
							for _, f := range l.Features {
								got[f.Properties["id"].(string)] = true
								b := f.Geometry.Bound()
								lim := float64(tiles.Extent + buffer)
								if b.Min[0] < -float64(buffer) || b.Min[1] < -float64(buffer) || b.Max[0] > lim || b.Max[1] > lim {
									t.Errorf("z%d/%d/%d: %v reaches past the buffer: %v", z, x, y, f.Properties["id"], b)
								}
							}
						}
					} else if w.Code != http.StatusNoContent {
						t.Fatalf("z%d/%d/%d: %d", z, x, y, w.Code)
					}
					if len(got) > 0 {
						withData++
					}
					inner := tiles.TileBound(z, x, y)
					outer := bufferedLonLat(z, x, y, buffer)
					meets := map[string]bool{}
					for _, l := range twin.LayerIDs() {
						snap.Search(l, outer, func(f *twin.Feature) bool {
							meets[f.ID] = true
							if _, isPoint := f.Geometry.(orb.Point); (isPoint || f.Bound().Max != f.Bound().Min) &&
								inner.Contains(f.Bound().Min) && inner.Contains(f.Bound().Max) && !got[f.ID] {
								t.Errorf("z%d/%d/%d lacks %s, which lies inside it", z, x, y, f.ID)
							}
							return true
						})
					}
					for id := range got {
						if !meets[id] {
							t.Errorf("z%d/%d/%d holds %s, whose box is outside it", z, x, y, id)
						}
					}
				}
			}
		}
	}
	t.Logf("%d of %d edge tiles hold features", withData, 5*4*9)
	if withData == 0 {
		t.Error("no edge tile holds a feature: the test checks nothing")
	}
}
