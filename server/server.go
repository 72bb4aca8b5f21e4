// Package server speaks HTTP and WebSocket for the twin: routes, limits,
// auth and metrics. It holds no domain logic: that lives in twin, tiles and
// scenes.
package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/tiles"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is what a Server serves.
type Config struct {
	Model *twin.Model
	// Logger receives one line per failed request and every recovered panic.
	Logger *slog.Logger
	// Registry collects the server's metrics; a new one when nil.
	Registry *prometheus.Registry
	// Clock is the wall clock; time.Now when nil.
	Clock func() time.Time
	// Tiles tunes the vector tiles and their cache (see tiles.Options);
	// the zero value means the defaults.
	Tiles tiles.Options
	// Tenants authenticates companies' writes; without it every write is 401.
	Tenants twin.Authenticator
	// Hub tunes the WebSocket hub at /ws (see HubOptions).
	Hub HubOptions
	// RateLimit bounds each company's writes (429 beyond it).
	RateLimit RateLimit
	// Ready, when set, is asked by /readyz once the scene is loaded: an
	// error answers 503 with it; details (e.g. "store": "ok", "bus":
	// "down") join the answer either way. Replicas use it.
	Ready func() (details map[string]string, err error)
}

// Server is the twin's HTTP face. Create it with New.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	scene   atomic.Pointer[scenes.Scene]
	metrics *httpMetrics
	tiles   *tiles.Tiler                    // follows cfg.Model; see tiles.go
	tiles3d *tilesets3D                     // 3D Tiles; see tiles3d.go
	static  *staticFiles                    // the viewer; see static.go
	live    *liveState                      // sensors, readings, /ws; see live.go
	pilots  atomic.Pointer[twin.PilotStore] // see pilots.go
	limiter *tenantLimiter                  // writes per company; see ratelimit.go
}

// New wires every route. The server answers /healthz at once and /readyz
// only after SetScene.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
		cfg.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Model == nil {
		cfg.Model = twin.NewModel()
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), metrics: newHTTPMetrics(cfg.Registry), limiter: newTenantLimiter(cfg.RateLimit)}
	s.tiles = tiles.New(cfg.Model, cfg.Tiles)
	s.tiles3d = newTilesets3D(s)
	s.static = mustStaticFiles()
	s.live = newLiveState(s)
	s.routes()
	return s
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "up"})
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.scene.Load() == nil {
			writeError(w, http.StatusServiceUnavailable, "the scene is still loading")
			return
		}
		body := map[string]string{}
		if s.cfg.Ready != nil {
			details, err := s.cfg.Ready()
			if err != nil {
				writeError(w, http.StatusServiceUnavailable, "not ready: %v", err)
				return
			}
			for k, v := range details {
				body[k] = v
			}
		}
		body["status"] = "ready"
		writeJSON(w, http.StatusOK, body)
	})
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("GET /api/scene", s.handleScene)
	s.tileRoutes()                                                        // tiles.go
	s.tiles3DRoutes()                                                     // tiles3d.go
	s.featureRoutes()                                                     // features.go
	s.liveRoutes()                                                        // live.go: sensors, readings, /ws
	s.pilotRoutes()                                                       // pilots.go: companies' overlays
	s.mux.HandleFunc("GET /{$}", s.handleIndex)                           // static.go: the viewer
	s.mux.HandleFunc("GET "+viewerPrefix+"{path...}", s.handleViewerFile) // static.go
}

// SetScene publishes the loaded scene; from then on /readyz answers 200.
func (s *Server) SetScene(sc *scenes.Scene) { s.scene.Store(sc) }

// Scene returns the published scene, or nil while loading.
func (s *Server) Scene() *scenes.Scene { return s.scene.Load() }

// ServeHTTP serves every route behind panic recovery, JSON errors and
// request metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if r.URL.Path == "/" && r.Method == http.MethodGet && wantsLandingJSON(r) {
		h, pattern = http.HandlerFunc(s.handleLanding), "GET / (OGC API landing page)" // features.go
	} else {
		h = s.mux // ServeMux.ServeHTTP sets the path values ({id}, {z}…); Handler alone does not
	}
	if pattern == "" {
		pattern = "unmatched"
		w = &jsonErrors{ResponseWriter: w}
	}
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.cfg.Logger.Error("panic serving a request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !rec.wrote {
				writeError(rec, http.StatusInternalServerError, "internal error; it has been logged")
			}
		}
		s.metrics.observe(pattern, rec.status, time.Since(start))
	}()
	h.ServeHTTP(rec, r)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (WebSocket
// upgrades, flushes, deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kiruna_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "kiruna_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *httpMetrics) observe(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, fmt.Sprint(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}
