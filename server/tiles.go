package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/kiruna-twin/kiruna-twin/tiles"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/prometheus/client_golang/prometheus"
)

// Vector tiles, as API.md sets them out:
//
//	GET /tiles.json             TileJSON 3.0.0 (tiles[0] is the absolute tile URL)
//	GET /tiles/{z}/{x}/{y}.mvt  MVT 2.1; gzip when accepted; ETag and 304;
//	                            204 where no feature is; 400 out of range
//	GET /style.json             the viewer's MapLibre style, {{origin}} filled in
//
// Tiles and TileJSON are revalidated on every use (Cache-Control: no-cache)
// and answer 304 while unchanged: an edit changes exactly the tiles it
// touches, and a client must never keep drawing a tile older than an edit.

// tilePath is the tile URL template below the origin.
const tilePath = "/tiles/{z}/{x}/{y}.mvt"

// Header values set on every tile, allocated once.
var (
	hdrMVT        = []string{"application/vnd.mapbox-vector-tile"}
	hdrGzip       = []string{"gzip"}
	hdrNoCache    = []string{"no-cache"}
	hdrVaryAE     = []string{"Accept-Encoding"}
	hdrCORSAny    = []string{"*"}
	hdrExposeETag = []string{"ETag, X-Tile-Dropped"}
)

func (s *Server) tileRoutes() {
	if c := s.tiles.Cache(); c != nil {
		stat := func(f func(tiles.CacheStats) float64) func() float64 {
			return func() float64 { return f(c.Stats()) }
		}
		s.cfg.Registry.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kiruna_tile_cache_hits_total", Help: "Tiles served from the cache."},
				stat(func(st tiles.CacheStats) float64 { return float64(st.Hits) })),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kiruna_tile_cache_misses_total", Help: "Tiles built because the cache did not hold them."},
				stat(func(st tiles.CacheStats) float64 { return float64(st.Misses) })),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kiruna_tile_cache_evictions_total", Help: "Tiles dropped to stay within the cache's bytes."},
				stat(func(st tiles.CacheStats) float64 { return float64(st.Evictions) })),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kiruna_tile_cache_invalidated_total", Help: "Tiles dropped because an edit touched them."},
				stat(func(st tiles.CacheStats) float64 { return float64(st.Invalidated) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kiruna_tile_cache_bytes", Help: "Bytes held by the tile cache, as counted against its bound."},
				stat(func(st tiles.CacheStats) float64 { return float64(st.Bytes) })),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kiruna_tile_cache_tiles", Help: "Tiles held by the tile cache."},
				stat(func(st tiles.CacheStats) float64 { return float64(st.Tiles) })),
		)
	}
	s.mux.HandleFunc("GET /tiles.json", s.handleTileJSON)
	s.mux.HandleFunc("GET /tiles/{z}/{x}/{file}", s.handleTile)
	s.mux.HandleFunc("GET /style.json", s.handleStyle)
}

// Tiler returns the tiles the server serves.
func (s *Server) Tiler() *tiles.Tiler { return s.tiles }

// tileRoute is the tile route's pattern, as the metrics name it.
const tileRoute = "GET /tiles/{z}/{x}/{file}"

func (s *Server) handleTile(w http.ResponseWriter, r *http.Request) {
	z, x, y, err := parseTileCoords(r.PathValue("z"), r.PathValue("x"), r.PathValue("file"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	s.serveTile(w, r, z, x, y)
}

// tileRequest reads a well-formed tile request, GET or HEAD
// /tiles/{z}/{x}/{y}.mvt, for ServeHTTP's way round the mux. Anything else,
// a bad tile path included, is left to the mux (and so to handleTile's
// error).
func tileRequest(r *http.Request) (z, x, y int, ok bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || r.URL.RawPath != "" {
		return 0, 0, 0, false
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/tiles/")
	if !ok {
		return 0, 0, 0, false
	}
	zs, rest, ok1 := strings.Cut(rest, "/")
	xs, file, ok2 := strings.Cut(rest, "/")
	if !ok1 || !ok2 {
		return 0, 0, 0, false
	}
	z, x, y, err := parseTileCoords(zs, xs, file) // digits only: a clean path
	return z, x, y, err == nil
}

func (s *Server) serveTile(w http.ResponseWriter, r *http.Request, z, x, y int) {
	gz := acceptsGzip(r.Header)
	t, err := s.tiles.Get(z, x, y, gz)
	if errors.Is(err, tiles.ErrOutOfRange) {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if err != nil {
		s.cfg.Logger.Error("building a tile", "z", z, "x", x, "y", y, "err", err)
		writeError(w, http.StatusInternalServerError, "could not build tile %d/%d/%d; it has been logged", z, x, y)
		return
	}
	if len(t.Dropped) > 0 {
		w.Header()["X-Tile-Dropped"] = []string{droppedHeader(t.Dropped)}
	}
	writeTile(w, r, t.ETag, hdrMVT, t.Data, t.Gzipped, true, t.Empty())
}

// writeTile answers a built tile of any kind (vector, 3D, terrain): the
// caching headers, 304 when If-None-Match has its ETag, 204 when it is
// empty, else the body. varyAE says the body depends on Accept-Encoding.
func writeTile(w http.ResponseWriter, r *http.Request, etag string, ctype []string, body []byte, gzipped, varyAE, empty bool) {
	h := w.Header()
	h["Cache-Control"] = hdrNoCache
	if varyAE {
		h["Vary"] = hdrVaryAE
	}
	h["Access-Control-Allow-Origin"] = hdrCORSAny
	h["Access-Control-Expose-Headers"] = hdrExposeETag
	h["Etag"] = []string{etag}
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if empty {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h["Content-Type"] = ctype
	if gzipped {
		h["Content-Encoding"] = hdrGzip
	}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// droppedHeader is X-Tile-Dropped's value: "buildings=1318", or for
// several layers "buildings=1318, infrastructure=20".
func droppedHeader(ds []tiles.Dropped) string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(string(d.Layer))
		b.WriteByte('=')
		b.WriteString(strconv.Itoa(d.Features))
	}
	return b.String()
}

// parseTileCoords reads z, x and "y.mvt" from a tile path.
func parseTileCoords(zs, xs, file string) (z, x, y int, err error) {
	ys, ok := strings.CutSuffix(file, ".mvt")
	if !ok {
		return 0, 0, 0, fmt.Errorf("tile path: want /tiles/{z}/{x}/{y}.mvt, got a last part %q", file)
	}
	parse := func(name, s string) (int, error) {
		// Plain decimal digits only: no sign, no spaces, at most 9 digits.
		if s == "" || len(s) > 9 || strings.TrimLeft(s, "0123456789") != "" {
			return 0, fmt.Errorf("tile %s: want a whole number ≥ 0, got %q", name, s)
		}
		return strconv.Atoi(s)
	}
	if z, err = parse("z", zs); err != nil {
		return
	}
	if x, err = parse("x", xs); err != nil {
		return
	}
	y, err = parse("y", ys)
	return
}

// etagMatches applies the weak comparison of If-None-Match (RFC 9110
// 13.1.2) to a list of entity tags.
func etagMatches(ifNoneMatch, etag string) bool {
	if ifNoneMatch == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for ifNoneMatch != "" {
		var tag string
		tag, ifNoneMatch, _ = strings.Cut(ifNoneMatch, ",")
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == want {
			return true
		}
	}
	return false
}

// originVary returns origin(r) and tells caches that the answer, which
// names it, depends on the headers it comes from.
func originVary(w http.ResponseWriter, r *http.Request) string {
	w.Header().Add("Vary", "X-Forwarded-Host, X-Forwarded-Proto")
	return origin(r)
}

// origin returns the scheme and host the client used to reach the server.
// Behind a trusted reverse proxy, X-Forwarded-Proto and X-Forwarded-Host
// say what the client saw (ServeHTTP has dropped them from anyone else);
// they are used only when they are well formed. A handler whose answer
// names the origin calls originVary instead.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := strings.ToLower(strings.TrimSpace(firstValue(r.Header.Get("X-Forwarded-Proto")))); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if h := strings.TrimSpace(firstValue(r.Header.Get("X-Forwarded-Host"))); h != "" && validHost(h) {
		host = h
	}
	if host == "" || !validHost(host) {
		host = "localhost"
	}
	return scheme + "://" + host
}

func firstValue(s string) string {
	v, _, _ := strings.Cut(s, ",")
	return v
}

// validHost accepts a DNS name or IP literal with an optional port.
func validHost(h string) bool {
	if len(h) > 255 {
		return false
	}
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_':
		default:
			return false
		}
	}
	return true
}

// tileJSON is TileJSON 3.0.0.
type tileJSON struct {
	TileJSON     string        `json:"tilejson"`
	Name         string        `json:"name,omitempty"`
	Description  string        `json:"description,omitempty"`
	Version      string        `json:"version"`
	Attribution  string        `json:"attribution,omitempty"`
	Scheme       string        `json:"scheme"`
	Tiles        []string      `json:"tiles"`
	MinZoom      int           `json:"minzoom"`
	MaxZoom      int           `json:"maxzoom"`
	Bounds       [4]float64    `json:"bounds"`
	Center       [3]float64    `json:"center"`
	VectorLayers []vectorLayer `json:"vector_layers"`
}

type vectorLayer struct {
	ID          string            `json:"id"`
	Description string            `json:"description,omitempty"`
	MinZoom     int               `json:"minzoom"`
	MaxZoom     int               `json:"maxzoom"`
	Fields      map[string]string `json:"fields"`
}

func (s *Server) handleTileJSON(w http.ResponseWriter, r *http.Request) {
	o := s.tiles.Options()
	tj := tileJSON{
		TileJSON: "3.0.0", Version: "1.0.0", Scheme: "xyz",
		Name:    "Kiruna Twin",
		Tiles:   []string{originVary(w, r) + tilePath},
		MinZoom: o.MinZoom, MaxZoom: o.MaxZoom,
		Bounds: [4]float64{-180, -85.051129, 180, 85.051129},
		Description: "Every feature of every time, with from and to as decimal years: " +
			"filter on them to show one moment.",
	}
	b := s.tiles.Bound()
	if !b.IsZero() {
		tj.Bounds = [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
		c := b.Center()
		tj.Center = [3]float64{c[0], c[1], float64(min(max(13, o.MinZoom), o.MaxZoom))}
	}
	if sc := s.scene.Load(); sc != nil {
		tj.Name = sc.Title
		sb := sc.Bounds
		if b.IsZero() {
			tj.Bounds = sb
		} else {
			tj.Bounds = [4]float64{min(sb[0], b.Min[0]), min(sb[1], b.Min[1]), max(sb[2], b.Max[0]), max(sb[3], b.Max[1])}
		}
		tj.Center = [3]float64{sc.Center[0], sc.Center[1], float64(min(max(int(sc.Zoom), o.MinZoom), o.MaxZoom))}
		var names []string
		for _, src := range sc.Sources {
			names = append(names, src.Name)
		}
		if len(names) > 0 {
			tj.Attribution = strings.Join(names, " · ")
		}
	}
	titles := map[twin.Layer]string{}
	if sc := s.scene.Load(); sc != nil {
		for _, l := range sc.Layers {
			titles[l.ID] = l.Title
		}
	}
	for _, l := range s.tiles.Layers() {
		tj.VectorLayers = append(tj.VectorLayers, vectorLayer{
			ID: string(l.ID), Description: titles[l.ID], MinZoom: l.MinZoom, MaxZoom: l.MaxZoom, Fields: l.Fields,
		})
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, tj)
}

func (s *Server) handleStyle(w http.ResponseWriter, r *http.Request) {
	// The fonts the style names are this release's, cached for good.
	body := s.styleBody(originVary(w, r)) // terrain.go
	etag := fmt.Sprintf(`"%016x"`, xxhash.Sum64(body))
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
