// Package server speaks HTTP and WebSocket for the twin: routes, limits,
// auth and metrics. It holds no domain logic: that lives in twin, tiles and
// scenes.
package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/server/connlimit"
	"github.com/kiruna-twin/kiruna-twin/server/proxy"
	"github.com/kiruna-twin/kiruna-twin/terrain"
	"github.com/kiruna-twin/kiruna-twin/tiles"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/semaphore"
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
	Tenants live.Authenticator
	// Hub tunes the WebSocket hub at /ws (see HubOptions).
	Hub HubOptions
	// RateLimit bounds each company's writes (429 beyond it).
	RateLimit RateLimit
	// UploadMemory bounds the bytes of pilot uploads read and decoded at
	// once (64 MiB when zero): an upload waits for room up to UploadWait
	// (10 s when zero), then answers 503 with Retry-After. A body of
	// unknown length counts as the largest allowed.
	UploadMemory int64
	UploadWait   time.Duration
	// Ready, when set, is asked by /readyz once the scene is loaded: an
	// error answers 503 with it; details (e.g. "store": "ok", "bus":
	// "down") join the answer either way. Replicas use it.
	Ready func() (details map[string]string, err error)
	// TrustedProxies are the peers whose X-Forwarded-For, -Host and -Proto
	// count (--trusted-proxy); from any other peer those headers are
	// dropped before a handler sees them. Nil trusts no one.
	TrustedProxies *proxy.Trusted
	// PerClient bounds the requests in flight and the WebSockets open of
	// one client address (behind a trusted proxy, the address it
	// forwards); beyond it 429. 256 when zero; no bound when negative.
	PerClient int
	// Body bounds how long a request body may take to arrive (see
	// connlimit.BodyOptions); a slower one is cut and its connection
	// closed.
	Body connlimit.BodyOptions
	// Conns, when set, is the listener that bounds connections, for
	// /metrics.
	Conns *connlimit.Listener
}

// DefaultPerClient is Config.PerClient's default: room for dozens of
// viewers behind one address (a viewer holds a WebSocket and up to six
// connections for tiles), far below what exhausts the server.
const DefaultPerClient = 256

// Server is the twin's HTTP face. Create it with New.
type Server struct {
	cfg      Config
	mux      *http.ServeMux
	scene    atomic.Pointer[scenes.Scene]
	metrics  *httpMetrics
	tiles    *tiles.Tiler                    // follows cfg.Model; see tiles.go
	static   *staticFiles                    // the viewer; see static.go
	live     *liveState                      // sensors, readings, /ws; see live.go
	pilots   atomic.Pointer[live.PilotStore] // see pilots.go
	limiter  *tenantLimiter                  // writes per company; see ratelimit.go
	inFlight *connlimit.Counter              // requests in flight per client address
	wsOpen   *connlimit.Counter              // WebSockets open per client address
	terrain  atomic.Pointer[terrain.Tiles]   // the elevation model's tiles; see terrain.go
	uploads  *semaphore.Weighted             // bytes of uploads being decoded; see pilots.go
	tiles3d  *tilesets3D                     // 3D Tiles; see tiles3d.go
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
	if cfg.PerClient == 0 {
		cfg.PerClient = DefaultPerClient
	}
	if cfg.UploadMemory <= 0 {
		cfg.UploadMemory = 64 << 20
	}
	if cfg.UploadWait <= 0 {
		cfg.UploadWait = 10 * time.Second
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), metrics: newHTTPMetrics(cfg.Registry), limiter: newTenantLimiter(cfg.RateLimit),
		inFlight: connlimit.NewCounter(cfg.PerClient), wsOpen: connlimit.NewCounter(cfg.PerClient),
		uploads: semaphore.NewWeighted(cfg.UploadMemory)}
	s.registerLimitMetrics()
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
		if err := s.logErr(); err != nil {
			writeError(w, http.StatusServiceUnavailable, "not ready: %v", err)
			return
		}
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
	s.terrainRoutes()                                                     // terrain.go: raster-dem tiles
	s.mux.HandleFunc("GET /{$}", s.handleIndex)                           // static.go: the viewer
	s.mux.HandleFunc("GET "+viewerPrefix+"{path...}", s.handleViewerFile) // static.go
}

// clientAddr is the address r's limits count by: its peer's, or behind a
// trusted proxy the client's it forwards (ServeHTTP has dropped forwarded
// headers from anyone else).
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	return s.cfg.TrustedProxies.Sanitize(r)
}

func (s *Server) registerLimitMetrics() {
	cut := prometheus.NewCounter(prometheus.CounterOpts{Name: "kiruna_http_slow_bodies_cut_total",
		Help: "Request bodies cut for arriving below the rate floor or after the deadline."})
	onCut := s.cfg.Body.OnCut
	s.cfg.Body.OnCut = func() {
		cut.Inc()
		if onCut != nil {
			onCut()
		}
	}
	s.cfg.Registry.MustRegister(cut)
	if l := s.cfg.Conns; l != nil {
		s.cfg.Registry.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "kiruna_http_connections_open", Help: "Connections open now."},
				func() float64 { return float64(l.Open()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "kiruna_http_connections_refused_total",
				Help: "Connections refused at accept: too many from one address, or in all."},
				func() float64 { return float64(l.Refused()) }))
	}
}

// logErr is what stopped the live state or the pilots accepting writes
// until a restart (a failed log write: a full disk), or nil.
func (s *Server) logErr() error {
	if st := s.live.store.Load(); st != nil {
		if err := st.Err(); err != nil {
			return fmt.Errorf("the live log failed; writes are refused until restart: %w", err)
		}
	}
	if ps := s.pilots.Load(); ps != nil {
		if err := ps.Err(); err != nil {
			return fmt.Errorf("the pilots log failed; writes are refused until restart: %w", err)
		}
	}
	return nil
}

// SetScene publishes the loaded scene; from then on /readyz answers 200.
func (s *Server) SetScene(sc *scenes.Scene) { s.scene.Store(sc) }

// Scene returns the published scene, or nil while loading.
func (s *Server) Scene() *scenes.Scene { return s.scene.Load() }

// ServeHTTP serves every route behind panic recovery, JSON errors and
// request metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// A forwarded header from anyone but a trusted proxy is dropped here,
	// so that no handler can be led by it (origin, client address).
	client := s.cfg.TrustedProxies.Sanitize(r)
	var h http.Handler
	var route *routeMetrics
	z, x, y, isTile := tileRequest(r)
	switch {
	case isTile:
		// The path a map asks for most, served without the mux's two
		// lookups: what the mux would route to handleTile, with the
		// coordinates already read (tiles.go).
		route = s.metrics.tile
	case r.URL.Path == "/" && r.Method == http.MethodGet && wantsLandingJSON(r):
		h, route = http.HandlerFunc(s.handleLanding), s.metrics.route("GET / (OGC API landing page)") // features.go
	default:
		_, pattern := s.mux.Handler(r)
		h = s.mux // ServeMux.ServeHTTP sets the path values ({id}, {z}…); Handler alone does not
		if pattern == "" {
			pattern = "unmatched"
		}
		// net/http's and the mux's own answers (404, 405, redirects) in JSON.
		w = &jsonErrors{ResponseWriter: w, all: pattern == "unmatched"}
		route = s.metrics.route(pattern)
	}
	// JSON answers are gzipped when accepted; tiles negotiate their own.
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK, gzip: !isTile && acceptsGzip(r.Header)}
	switch r.URL.Path {
	case "/healthz", "/readyz", "/ws": // health answers under any load; /ws counts at its handshake
	default:
		connlimit.GuardBody(rec, r, s.cfg.Body) // a body that trickles is cut, read or not
		if !s.inFlight.Enter(client) {
			rec.Header().Set("Retry-After", "1")
			rec.Header().Set("Connection", "close") // and net/http reads none of its body
			writeError(rec, http.StatusTooManyRequests, "too many requests in flight from your address (at most %d); wait for some to finish", s.inFlight.Max())
			route.observe(rec.status, time.Since(start))
			return
		}
		defer s.inFlight.Leave(client)
	}
	defer s.finish(rec, r, route, start)
	if isTile {
		s.serveTile(rec, r, z, x, y)
		return
	}
	h.ServeHTTP(rec, r)
}

// finish recovers a handler's panic and counts the request.
func (s *Server) finish(rec *statusRecorder, r *http.Request, route *routeMetrics, start time.Time) {
	if p := recover(); p != nil {
		if p == http.ErrAbortHandler {
			panic(p)
		}
		s.cfg.Logger.Error("panic serving a request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		if !rec.wrote {
			writeError(rec, http.StatusInternalServerError, "internal error; it has been logged")
		}
	}
	route.observe(rec.status, time.Since(start))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	gzip   bool // the request accepts a gzip answer
}

func (r *statusRecorder) acceptsGzip() bool { return r.gzip }

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

// httpMetrics counts requests by route and status code. The handles of
// each route (and each of its codes) are looked up once and kept, so that
// a request pays no label hashing.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	routes   sync.Map // route pattern → *routeMetrics
	tile     *routeMetrics
}

type routeMetrics struct {
	name     string
	m        *httpMetrics
	duration atomic.Pointer[prometheus.Observer] // made on the first request
	mu       sync.Mutex                          // serialises adding to codes
	codes    atomic.Pointer[[]codeCounter]       // copied on write; a route sees few codes
}

type codeCounter struct {
	code int
	c    prometheus.Counter
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
	m.tile = m.route(tileRoute)
	return m
}

// route returns the handles of a route pattern, made on its first request
// (no series appears before a request, as with WithLabelValues).
func (m *httpMetrics) route(pattern string) *routeMetrics {
	if rm, ok := m.routes.Load(pattern); ok {
		return rm.(*routeMetrics)
	}
	rm, _ := m.routes.LoadOrStore(pattern, &routeMetrics{name: pattern, m: m})
	return rm.(*routeMetrics)
}

func (rm *routeMetrics) observe(code int, d time.Duration) {
	rm.counter(code).Inc()
	o := rm.duration.Load()
	if o == nil {
		h := rm.m.duration.WithLabelValues(rm.name) // the same series whoever makes it first
		o = &h
		rm.duration.Store(o)
	}
	(*o).Observe(d.Seconds())
}

func (rm *routeMetrics) counter(code int) prometheus.Counter {
	if cs := rm.codes.Load(); cs != nil {
		for _, cc := range *cs {
			if cc.code == code {
				return cc.c
			}
		}
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	var next []codeCounter
	if cs := rm.codes.Load(); cs != nil {
		for _, cc := range *cs {
			if cc.code == code {
				return cc.c
			}
		}
		next = append(next, *cs...)
	}
	c := rm.m.requests.WithLabelValues(rm.name, strconv.Itoa(code))
	next = append(next, codeCounter{code, c})
	rm.codes.Store(&next)
	return c
}
