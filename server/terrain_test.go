package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/terrain"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// hill is a small made-up elevation model round the old centre of
// Kiruna: a cone of 300 m on a plain at 500 m, 0.001° cells.
func hill() *terrain.DEM {
	d := &terrain.DEM{W: 120, H: 60, West: 20.15, North: 67.88, DLon: 0.001, DLat: 0.0005}
	d.Z = make([]float32, d.W*d.H)
	for r := 0; r < d.H; r++ {
		for c := 0; c < d.W; c++ {
			dist := math.Hypot(float64(c-60), float64(r-30)*2)
			d.Z[r*d.W+c] = float32(500 + math.Max(0, 300-10*dist))
		}
	}
	return d
}

func TestTerrainTiles(t *testing.T) {
	s, _ := kirunaServer(t)
	// Without an elevation model: no tiles, no terrain in the style or the scene.
	if w := get(t, s, "/terrain/12/2277/1052.png"); w.Code != http.StatusNotFound {
		t.Errorf("terrain tile without a DEM: %d", w.Code)
	}
	if strings.Contains(get(t, s, "/style.json").Body.String(), "raster-dem") {
		t.Error("the style announces terrain for a scene without a DEM")
	}
	var sc struct {
		Terrain *json.RawMessage `json:"terrain"`
	}
	if err := json.Unmarshal(get(t, s, "/api/scene").Body.Bytes(), &sc); err != nil || sc.Terrain != nil {
		t.Errorf("/api/scene terrain %v (%v), want null", sc.Terrain, err)
	}

	d := hill()
	s.SetTerrain(d)
	peak := orb.Point{d.West + 60.5*d.DLon, d.North - 30.5*d.DLat}
	tile := maptile.At(peak, 13)
	path := fmt.Sprintf("/terrain/13/%d/%d.png", tile.X, tile.Y)
	w := get(t, s, path)
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/png" || w.Header().Get("ETag") == "" || w.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("%s: %d %v", path, w.Code, w.Header())
	}
	img, err := png.Decode(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	top := 0.0
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			top = math.Max(top, terrain.TerrariumHeight(uint8(r>>8), uint8(g>>8), uint8(b>>8)))
		}
	}
	if top < 750 || top > 800 {
		t.Errorf("the highest pixel of the peak's tile is %v m, want near the cone's 800 m", top)
	}
	if w2 := get(t, s, path, "If-None-Match", w.Header().Get("ETag")); w2.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", w2.Code)
	}
	for _, bad := range []string{"/terrain/13/1/2.mvt", "/terrain/3/9/0.png", "/terrain/x/0/0.png"} {
		if w := get(t, s, bad); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, w.Code)
		}
	}

	// The style: a raster-dem source on this server, terrain, hillshade
	// just above the background.
	var style struct {
		Sources map[string]struct {
			Type     string   `json:"type"`
			Tiles    []string `json:"tiles"`
			Encoding string   `json:"encoding"`
			MaxZoom  int      `json:"maxzoom"`
		} `json:"sources"`
		Terrain struct {
			Source string `json:"source"`
		} `json:"terrain"`
		Layers []struct {
			ID, Type, Source string
		} `json:"layers"`
	}
	body := get(t, s, "/style.json").Body.Bytes()
	if err := json.Unmarshal(body, &style); err != nil {
		t.Fatal(err)
	}
	src := style.Sources[style.Terrain.Source]
	if src.Type != "raster-dem" || src.Encoding != "terrarium" || len(src.Tiles) != 1 || src.Tiles[0] != "http://example.com/terrain/{z}/{x}/{y}.png" || src.MaxZoom < 10 {
		t.Errorf("terrain source %+v", src)
	}
	if len(style.Layers) < 2 || style.Layers[0].Type != "background" || style.Layers[1].Type != "hillshade" {
		t.Errorf("layers start %+v", style.Layers[:min(3, len(style.Layers))])
	}
	if err := json.Unmarshal(get(t, s, "/api/scene").Body.Bytes(), &sc); err != nil || sc.Terrain == nil {
		t.Errorf("/api/scene says no terrain (%v)", err)
	}
}
