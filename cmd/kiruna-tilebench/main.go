// Command kiruna-tilebench is the tile benchmark's server, a dev-only
// tool: it serves tiles of a generated city on loopback for an outside
// load tool (wrk) and writes the list of tile paths to request. It is how
// the wrk figures in BENCHMARKS.md were taken:
//
//	go run ./cmd/kiruna-tilebench --mode cold --zoom 16 --paths /tmp/paths.txt &
//	wrk -t2 -c8 -d10s -s cmd/kiruna-tilebench/paths.lua http://127.0.0.1:8089
//
// Modes: cold (the twin's server, tile cache off), warm (the twin's server,
// every listed tile cached first), ceiling (a bare net/http handler
// serving the same gzipped tiles with the same headers from a map) and
// compare (see compare.go), which runs servers of the other modes as
// processes of their own and loads them in alternating rounds:
//
//	go build -o /tmp/tilebench ./cmd/kiruna-tilebench
//	/tmp/tilebench --mode compare --zoom 15 --rounds 3 --duration 6s
//
// and with --target, any servers of these modes, e.g. cold tiles gzipped
// at two levels against the same tiles not gzipped:
//
//	/tmp/tilebench --mode compare --zoom 16 \
//	  --target name=gzip1,mode=cold --target 'name=gzip-2,mode=cold,args=--gzip-level -2' \
//	  --target name=identity,mode=cold,ae=identity
//
// The twin's server is wired as `kiruna-twin serve` wires it: behind
// connlimit's listener, with the per-client limits, the body guard, its
// metrics and an http.Server of the same timeouts.
package main

import (
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	_ "net/http/pprof" // only with --pprof
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/server"
	"github.com/kiruna-twin/kiruna-twin/server/connlimit"
	"github.com/kiruna-twin/kiruna-twin/tiles"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

type flags struct {
	mode      string
	city      int
	zooms     string
	max       int
	addr      string
	paths     string
	pprof     string
	gzipLevel int
	// compare only
	rounds   int
	duration time.Duration
	conns    int
	client   string
	twins    string
	targets  targetList
}

// targetList is the repeatable --target flag.
type targetList []string

func (l *targetList) String() string     { return strings.Join(*l, "; ") }
func (l *targetList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var f flags
	flag.StringVar(&f.mode, "mode", "cold", "cold, warm, ceiling or compare")
	flag.IntVar(&f.city, "city", 100_000, "buildings in the generated city")
	flag.StringVar(&f.zooms, "zoom", "16", "zooms of the listed tiles, comma-separated")
	flag.IntVar(&f.max, "max", 1500, "at most this many tiles per zoom")
	flag.StringVar(&f.addr, "addr", "127.0.0.1:8089", "where to listen")
	flag.StringVar(&f.paths, "paths", "/tmp/paths.txt", "where to write the tile paths, one a line")
	flag.StringVar(&f.pprof, "pprof", "", "if set, HOST:PORT for net/http/pprof")
	flag.IntVar(&f.gzipLevel, "gzip-level", 0, "the tiles' gzip level (tiles.Options.GzipLevel; 0: the default)")
	flag.IntVar(&f.rounds, "rounds", 3, "compare: rounds, each loading every server once, in rotating order")
	flag.DurationVar(&f.duration, "duration", 6*time.Second, "compare: how long each server is loaded in a round")
	flag.IntVar(&f.conns, "conns", 8, "compare: keep-alive connections of the load client")
	flag.StringVar(&f.client, "client", "wrk", "compare: the load client, wrk (Debian's) or go (internal/load, in this process)")
	flag.StringVar(&f.twins, "twins", "twin=", "compare: the twin servers to load, NAME=BINARY,… (a kiruna-tilebench binary, e.g. built from an older commit; empty: this one)")
	flag.Var(&f.targets, "target", "compare: a server to load instead of --twins and the ceiling, repeatable: name=NAME,mode=warm|cold|ceiling,bin=BINARY,ae=gzip|identity,args=EXTRA FLAGS (the last one is the reference)")
	flag.Parse()
	if f.mode == "compare" {
		if err := compare(f); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := serve(f); err != nil {
		log.Fatal(err)
	}
}

func serve(f flags) error {
	if f.pprof != "" {
		go func() { log.Println(http.ListenAndServe(f.pprof, nil)) }()
	}
	m := twin.NewModel()
	if err := m.Load(synth.City(f.city, 1, orb.Point{20.25, 67.85})); err != nil {
		return err
	}
	opts := tiles.Options{GzipLevel: f.gzipLevel}
	if f.mode == "cold" {
		opts.CacheBytes = -1
	}
	ln0, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	// As serve.go wires it (its defaults for the limits).
	ln := connlimit.Listen(ln0, connlimit.ListenOptions{PerAddr: server.DefaultPerClient, Max: 60_000})
	s := server.New(server.Config{Model: m, Tiles: opts, Logger: logger, Conns: ln})
	s.Tiler().Warm()
	paths, err := tilePaths(m.Snapshot().Bound(), f.zooms, f.max)
	if err != nil {
		return err
	}
	if err := os.WriteFile(f.paths, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	var h http.Handler = s
	if f.mode == "warm" || f.mode == "ceiling" {
		type answer struct {
			header http.Header
			body   []byte
		}
		answers := map[string]answer{}
		for _, p := range paths {
			r := httptest.NewRequest(http.MethodGet, p, nil)
			r.Header.Set("Accept-Encoding", "gzip")
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			answers[p] = answer{w.Header().Clone(), w.Body.Bytes()}
		}
		if f.mode == "ceiling" {
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				a, ok := answers[r.URL.Path]
				if !ok {
					w.WriteHeader(http.StatusNotFound)
					return
				}
				hd := w.Header()
				for k, v := range a.header { // the twin's headers, byte for byte
					hd[k] = v
				}
				_, _ = w.Write(a.body)
			})
			ln = nil
		}
	}
	var l net.Listener = ln0
	if ln != nil {
		l = ln
	}
	// Compare reads this line for the address.
	fmt.Printf("serving %s on http://%s, %d paths in %s\n", f.mode, l.Addr(), len(paths), f.paths)
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return hs.Serve(l)
}

// tilePaths lists up to max tiles of each zoom over b, spread evenly.
func tilePaths(b orb.Bound, zooms string, max int) ([]string, error) {
	var paths []string
	for _, zs := range strings.Split(zooms, ",") {
		z, err := strconv.Atoi(zs)
		if err != nil {
			return nil, fmt.Errorf("--zoom: %v", err)
		}
		lo := maptile.At(orb.Point{b.Min[0], b.Max[1]}, maptile.Zoom(z))
		hi := maptile.At(orb.Point{b.Max[0], b.Min[1]}, maptile.Zoom(z))
		var all []string
		for x := lo.X; x <= hi.X; x++ {
			for y := lo.Y; y <= hi.Y; y++ {
				all = append(all, fmt.Sprintf("/tiles/%d/%d/%d.mvt", z, x, y))
			}
		}
		for i := 0; i < min(max, len(all)); i++ {
			paths = append(paths, all[i*len(all)/min(max, len(all))])
		}
	}
	return paths, nil
}
