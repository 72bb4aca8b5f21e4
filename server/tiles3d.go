package server

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/kiruna-twin/kiruna-twin/tiles/tiles3d"
	"github.com/prometheus/client_golang/prometheus"
)

// 3D Tiles 1.1, beside the vector tiles (package tiles/tiles3d):
//
//	GET /3dtiles/tileset.json           every building and pilot in 3D: solids
//	                                    where they exist, extrusions elsewhere
//	GET /3dtiles/{z}/{x}/{y}.glb        its contents (binary glTF)
//	GET /3dtiles/solids/tileset.json    only the features with a solid, for a
//	GET /3dtiles/solids/{z}/{x}/{y}.glb viewer that extrudes the rest itself
//
// Like the vector tiles: revalidated on every use (Cache-Control:
// no-cache), ETag and 304, gzip when accepted, open to any origin; the
// contents are cached and an edit (a pilot) drops those it touches.

var hdrGLB = []string{"model/gltf-binary"}

// tilesets3D are the two tilesets the server serves.
type tilesets3D struct {
	all, solids *tiles3d.Tiler
}

func newTilesets3D(s *Server) *tilesets3D {
	t := &tilesets3D{
		all:    tiles3d.New(s.cfg.Model, tiles3d.Options{}),
		solids: tiles3d.New(s.cfg.Model, tiles3d.Options{OnlySolids: true}),
	}
	for name, tl := range map[string]*tiles3d.Tiler{"all": t.all, "solids": t.solids} {
		c := tl.Cache()
		if c == nil {
			continue
		}
		labels := prometheus.Labels{"tileset": name}
		s.cfg.Registry.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kiruna_3dtiles_cache_hits_total", Help: "3D Tiles contents served from the cache.", ConstLabels: labels},
				func() float64 { return float64(c.Stats().Hits) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kiruna_3dtiles_cache_misses_total", Help: "3D Tiles contents built because the cache did not hold them.", ConstLabels: labels},
				func() float64 { return float64(c.Stats().Misses) }),
		)
	}
	return t
}

func (s *Server) tiles3DRoutes() {
	s.mux.HandleFunc("GET /3dtiles/tileset.json", s.handleTileset3D(s.tiles3d.all))
	s.mux.HandleFunc("GET /3dtiles/{z}/{x}/{file}", s.handleContent3D(s.tiles3d.all))
	s.mux.HandleFunc("GET /3dtiles/solids/tileset.json", s.handleTileset3D(s.tiles3d.solids))
	s.mux.HandleFunc("GET /3dtiles/solids/{z}/{x}/{file}", s.handleContent3D(s.tiles3d.solids))
}

// Tiles3D returns the tileset of every building and pilot in 3D.
func (s *Server) Tiles3D() *tiles3d.Tiler { return s.tiles3d.all }

func (s *Server) handleTileset3D(tl *tiles3d.Tiler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, tag, err := tl.Tileset()
		if err != nil {
			s.cfg.Logger.Error("building the 3D tileset", "err", err)
			writeError(w, http.StatusInternalServerError, "could not build the tileset; it has been logged")
			return
		}
		h := w.Header()
		h["Cache-Control"] = hdrNoCache
		h["Access-Control-Allow-Origin"] = hdrCORSAny
		h["Access-Control-Expose-Headers"] = hdrExposeETag
		h["Etag"] = []string{tag}
		if etagMatches(r.Header.Get("If-None-Match"), tag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	}
}

func (s *Server) handleContent3D(tl *tiles3d.Tiler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		file := r.PathValue("file")
		ys, ok := strings.CutSuffix(file, ".glb")
		if !ok {
			writeError(w, http.StatusBadRequest, "content path: want /3dtiles/{z}/{x}/{y}.glb, got a last part %q", file)
			return
		}
		z, x, y, err := parseTileCoords(r.PathValue("z"), r.PathValue("x"), ys+".mvt")
		if err != nil {
			writeError(w, http.StatusBadRequest, "%v", err)
			return
		}
		gz := acceptsGzip(r.Header)
		t, err := tl.Get(z, x, y, gz)
		if errors.Is(err, tiles3d.ErrNoTile) {
			writeError(w, http.StatusNotFound, "%v (the tileset names its contents)", err)
			return
		}
		if err != nil {
			s.cfg.Logger.Error("building a 3D content", "z", z, "x", x, "y", y, "err", err)
			writeError(w, http.StatusInternalServerError, "could not build content %d/%d/%d; it has been logged", z, x, y)
			return
		}
		writeTile(w, r, t.ETag, hdrGLB, t.Data, t.Gzipped, true, false)
	}
}
