package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/kiruna-twin/kiruna-twin/static"
	"github.com/kiruna-twin/kiruna-twin/terrain"
)

// Terrain, for a scene with an elevation model:
//
//	GET /terrain/{z}/{x}/{y}.png  raster-dem tiles, Terrarium encoding, 256 px;
//	                              ETag and 304 like the vector tiles; 404 when
//	                              the scene has no elevation model
//
// /style.json then adds the raster-dem source, MapLibre's terrain and a
// hillshade layer; without a model it is the template as it is.

const terrainPath = "/terrain/{z}/{x}/{y}.png"

var hdrPNG = []string{"image/png"}

func (s *Server) terrainRoutes() {
	s.mux.HandleFunc("GET /terrain/{z}/{x}/{file}", s.handleTerrainTile)
}

// SetTerrain serves the scene's elevation model (nil: none).
func (s *Server) SetTerrain(d *terrain.DEM) {
	if d == nil {
		s.terrain.Store(nil)
		return
	}
	s.terrain.Store(terrain.NewTiles(d, 0))
}

func (s *Server) handleTerrainTile(w http.ResponseWriter, r *http.Request) {
	ts := s.terrain.Load()
	if ts == nil {
		writeError(w, http.StatusNotFound, "this scene has no elevation model")
		return
	}
	file, ok := strings.CutSuffix(r.PathValue("file"), ".png")
	if !ok {
		writeError(w, http.StatusBadRequest, "terrain path: want /terrain/{z}/{x}/{y}.png, got a last part %q", r.PathValue("file"))
		return
	}
	z, x, y, err := parseTileCoords(r.PathValue("z"), r.PathValue("x"), file+".mvt")
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", strings.Replace(err.Error(), "tile path", "terrain path", 1))
		return
	}
	t, err := ts.Get(z, x, y)
	if errors.Is(err, terrain.ErrOutOfRange) {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if err != nil {
		s.cfg.Logger.Error("building a terrain tile", "z", z, "x", x, "y", y, "err", err)
		writeError(w, http.StatusInternalServerError, "could not build terrain tile %d/%d/%d; it has been logged", z, x, y)
		return
	}
	writeTile(w, r, t.ETag, hdrPNG, t.PNG, false, false, false)
}

// terrainInfo is what /api/scene says of the elevation model.
type terrainInfo struct {
	Tiles    string     `json:"tiles"`
	Encoding string     `json:"encoding"`
	Bounds   [4]float64 `json:"bounds"`
	MaxZoom  int        `json:"maxzoom"`
	MinElev  float64    `json:"min_elevation"`
	MaxElev  float64    `json:"max_elevation"`
}

func (s *Server) terrainInfo() *terrainInfo {
	ts := s.terrain.Load()
	if ts == nil {
		return nil
	}
	lo, hi := ts.DEM().Range()
	return &terrainInfo{Tiles: terrainPath, Encoding: "terrarium", Bounds: ts.DEM().Bounds(), MaxZoom: ts.MaxZoom(), MinElev: lo, MaxElev: hi}
}

// styleBody is the style template with the origin filled in and, for a
// scene with an elevation model, its raster-dem sources, terrain and
// hillshade (drawn just above the background, under everything else).
func (s *Server) styleBody(origin string) []byte {
	body := bytes.ReplaceAll(static.Style(), []byte("{{origin}}"+viewerPrefix), []byte(origin+s.static.releasePath()))
	body = bytes.ReplaceAll(body, []byte("{{origin}}"), []byte(origin))
	ts := s.terrain.Load()
	if ts == nil {
		return body
	}
	var style map[string]any
	if err := json.Unmarshal(body, &style); err != nil {
		s.cfg.Logger.Error("the style template is not JSON", "err", err)
		return body
	}
	src := func() map[string]any {
		return map[string]any{"type": "raster-dem", "tiles": []string{origin + terrainPath}, "encoding": "terrarium",
			"tileSize": 256, "minzoom": 0, "maxzoom": ts.MaxZoom(), "bounds": ts.DEM().Bounds()}
	}
	sources, _ := style["sources"].(map[string]any)
	if sources == nil {
		sources = map[string]any{}
		style["sources"] = sources
	}
	// MapLibre advises a source of its own for the hillshade.
	sources["terrain"], sources["hillshade"] = src(), src()
	style["terrain"] = map[string]any{"source": "terrain", "exaggeration": 1}
	hill := map[string]any{"id": "hillshade", "type": "hillshade", "source": "hillshade",
		"paint": map[string]any{"hillshade-shadow-color": "#5b6670", "hillshade-highlight-color": "#ffffff",
			"hillshade-accent-color": "#8a96a0", "hillshade-exaggeration": 0.35}}
	layers, _ := style["layers"].([]any)
	at := 0
	for i, l := range layers {
		if m, ok := l.(map[string]any); ok && m["type"] == "background" {
			at = i + 1
		}
	}
	layers = append(layers[:at], append([]any{hill}, layers[at:]...)...)
	style["layers"] = layers
	out, err := json.Marshal(style)
	if err != nil {
		s.cfg.Logger.Error("encoding the style", "err", err)
		return body
	}
	return out
}
