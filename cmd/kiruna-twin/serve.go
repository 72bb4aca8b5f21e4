package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/scenes/kiruna"
	"github.com/kiruna-twin/kiruna-twin/server"
	"github.com/kiruna-twin/kiruna-twin/server/connlimit"
	"github.com/kiruna-twin/kiruna-twin/server/proxy"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/spf13/pflag"
)

var errHelp = pflag.ErrHelp

// serveConfig is the server's command line.
type serveConfig struct {
	addr     string
	data     string
	scene    string
	simulate bool
	store    string
	bus      string
	logLevel string
	origins  []string // --allow-origin: browser origins that may open /ws
	rate     float64  // --write-rate: writes per second per company
	burst    int      // --write-burst
	shared   *shared  // what --store and --bus opened (replicas.go); nil when embedded
	proxies  []string // --trusted-proxy: CIDRs of reverse proxies whose X-Forwarded-* count
	trusted  *proxy.Trusted
	perConn  int           // --max-conns-per-client
	maxConns int           // --max-conns
	body     time.Duration // --body-timeout
	bodyRate int           // --body-min-rate

	// Each company's quotas: --max-sensors, --max-pilots, --max-pilot-vertices.
	maxSensors, maxPilots, maxPilotVertices int
	uploadInflight                          int        // --upload-inflight, MiB
	mqtt                                    mqttConfig // --mqtt…: the MQTT listener (mqtt.go)
}

func parseServe(args []string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	fl := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&c.addr, "addr", ":8080", "HOST:PORT to listen on")
	fl.StringVar(&c.data, "data", "./data", "directory that holds everything written at run time (tenants, sensors, readings, pilots)")
	fl.StringVar(&c.scene, "scene", "", "directory of a scene bundle to serve instead of the built-in Kiruna scene")
	fl.BoolVar(&c.simulate, "simulate", true, "run the built-in sensor simulator, which feeds the scene's own sensors")
	fl.Float64Var(&c.rate, "write-rate", 50, "write requests per second each company may send (readings, sensors, pilots); more answer 429")
	fl.IntVar(&c.burst, "write-burst", 100, "write requests a company may send at once above --write-rate")
	fl.IntVar(&c.maxSensors, "max-sensors", 1000, "sensors each company may register, its pilots' included; more answer 429 (0: no bound)")
	fl.IntVar(&c.maxPilots, "max-pilots", 50, "pilots each company may keep; more answer 429 (0: no bound)")
	fl.IntVar(&c.uploadInflight, "upload-inflight", 64, "MiB of pilot uploads read and decoded at once, all companies together; more wait up to 10 s, then answer 503")
	fl.IntVar(&c.maxPilotVertices, "max-pilot-vertices", 2_000_000, "vertices each company's pilots may hold in all; more answer 413 (0: no bound)")
	fl.StringSliceVar(&c.origins, "allow-origin", nil, "browser origins (e.g. https://kiosk.example) that may open /ws besides this server's own; \"*\" for any")
	fl.StringVar(&c.store, "store", "", "postgres://… URL of a PostgreSQL/PostGIS store shared by several replicas: companies, sensors, readings and pilots live there instead of under --data (the simulator is then off unless --simulate is given)")
	fl.StringVar(&c.bus, "bus", "", "nats://… URL of a NATS server that carries changes between replicas at once (needs --store; without it they poll the store)")
	fl.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fl.IntVar(&c.perConn, "max-conns-per-client", server.DefaultPerClient, "connections, requests in flight and WebSockets one client address may hold (an IPv6 client: its /64); beyond it 429")
	fl.IntVar(&c.maxConns, "max-conns", 0, "connections open in all; beyond it 503 (default: the open-files limit less 256 for the data files)")
	fl.DurationVar(&c.body, "body-timeout", 5*time.Minute, "the longest a request body may take to arrive, whatever its rate")
	fl.IntVar(&c.bodyRate, "body-min-rate", 8<<10, "bytes a second a request body must average after its first 10 s; a slower one is cut and its connection closed")
	fl.StringArrayVar(&c.proxies, "trusted-proxy", nil, "CIDR (or address) of a reverse proxy whose X-Forwarded-For, -Host and -Proto are believed, e.g. 127.0.0.1/32 behind a local nginx; repeatable. From any other peer those headers are ignored")
	addMQTTFlags(fl, &c.mqtt) // mqtt.go
	fl.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kiruna-twin [serve] [flags]\n\nServes the twin over HTTP and WebSocket.\n\nFlags:\n%s", fl.FlagUsages())
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fl.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected arguments %q", errUsage, fl.Args())
	}
	var err error
	if c.trusted, err = proxy.Parse(c.proxies); err != nil {
		return c, fmt.Errorf("%w: --trusted-proxy: %v", errUsage, err)
	}
	if c.perConn < 1 || c.maxConns < 0 || c.body <= 0 || c.bodyRate < 1 {
		return c, fmt.Errorf("%w: --max-conns-per-client, --body-timeout and --body-min-rate must be positive, --max-conns not negative", errUsage)
	}
	if c.maxConns == 0 {
		c.maxConns = max(openFilesLimit()-256, 64)
	}
	if err := c.mqtt.check(); err != nil {
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if c.mqtt.simulate {
		c.simulate = true
	}
	if err := checkShared(&c); err != nil { // replicas.go
		return c, err
	}
	if c.store != "" && !fl.Changed("simulate") {
		c.simulate = false // one simulator for all the replicas, where the operator asks for it
	}
	return c, nil
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("%w: --log-level: %v", errUsage, err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// serveCmd runs the server until ctx ends. When listening is not nil it
// receives the bound address once the listener is open (for tests).
func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer, listening chan<- net.Addr) error {
	c, err := parseServe(args, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, c.logLevel)
	if err != nil {
		return err
	}

	var bundleFS fs.FS = kiruna.Bundle()
	sceneName := "built-in Kiruna scene"
	if c.scene != "" {
		if st, err := os.Stat(c.scene); err != nil || !st.IsDir() {
			return fmt.Errorf("--scene %s: not a directory of a scene bundle", c.scene)
		}
		bundleFS, sceneName = os.DirFS(c.scene), c.scene
	}

	model := twin.NewModel()
	// --store and --bus (replicas.go): nil for the embedded default.
	if c.shared, err = openShared(ctx, c, log); err != nil {
		return err
	}
	defer c.shared.close()
	tenants, err := c.shared.tenants(c.data) // companies' tokens
	if err != nil {
		return err
	}
	ln0, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", c.addr, err)
	}
	// What one client may hold: connections per address (a trusted proxy's
	// clients are counted by the address it forwards, in the server), and
	// connections in all, below the open-files limit.
	ln0 = server.JSONErrorListener(ln0) // net/http's own 400/431/501 answers in JSON too
	ln := connlimit.Listen(ln0, connlimit.ListenOptions{PerAddr: c.perConn, Max: c.maxConns, Exempt: c.trusted.Contains})
	srv := server.New(server.Config{Model: model, Logger: log, Tenants: tenants, Ready: c.shared.ready(), TrustedProxies: c.trusted,
		Hub: server.HubOptions{AllowedOrigins: c.origins}, RateLimit: server.RateLimit{PerSecond: c.rate, Burst: c.burst},
		PerClient: c.perConn, Body: connlimit.BodyOptions{MinRate: c.bodyRate, Timeout: c.body}, Conns: ln,
		UploadMemory: int64(c.uploadInflight) << 20})
	defer srv.Close() // the WebSocket hub
	if listening != nil {
		listening <- ln.Addr()
	}
	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "url", "http://"+displayAddr(ln.Addr()))

	// Load the scene while /healthz already answers; /readyz follows.
	start := time.Now()
	// Loading makes much garbage (the files' bytes, decoding) beside a
	// fast-growing live heap: collect more often meanwhile, so that the
	// peak stays nearer what is kept (about 10 % less RSS for a million
	// buildings, no slower).
	gcPercent := debug.SetGCPercent(50)
	b, err := scenes.Load(bundleFS)
	if err == nil {
		err = b.Into(model)
	}
	if err != nil {
		_ = httpSrv.Close()
		debug.SetGCPercent(gcPercent)
		return fmt.Errorf("loading the %s: %w", sceneName, err)
	}
	srv.Tiler().Warm() // prepare the tile layers before the first tile asks
	debug.SetGCPercent(gcPercent)
	srv.SetTerrain(b.DEM) // nil: the scene has no elevation model
	// The live state: sensors and readings, durable under --data (live.go),
	// open before /readyz says ready.
	stopLive, err := startLive(ctx, c, model, b.Scene.Location(), srv, tenants, log)
	if err != nil {
		_ = httpSrv.Close()
		return err
	}
	defer stopLive()
	stopPilots, err := openPilots(c, model, srv, log) // pilots.go
	if err != nil {
		_ = httpSrv.Close()
		return err
	}
	defer stopPilots()
	srv.SetScene(&b.Scene)
	snap := model.Snapshot()
	log.Info("scene loaded", "scene", b.Scene.ID, "from", sceneName, "features", len(b.Features),
		"buildings", snap.Count(twin.Buildings), "took", time.Since(start).Round(time.Millisecond))

	select {
	case err := <-serveErr:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	log.Info("stopped")
	return nil
}

func displayAddr(a net.Addr) string {
	s := a.String()
	if strings.HasPrefix(s, "[::]:") || strings.HasPrefix(s, "0.0.0.0:") {
		return "localhost:" + s[strings.LastIndex(s, ":")+1:]
	}
	return s
}
