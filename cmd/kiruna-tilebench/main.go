// Command kiruna-tilebench is the tile benchmark's server, a dev-only
// tool: it serves tiles of a generated city on loopback for an outside
// load tool (wrk) and writes the list of tile paths to request. It is how
// the wrk figures in BENCHMARKS.md were taken:
//
//	go run ./cmd/kiruna-tilebench --mode cold --zoom 16 --paths /tmp/paths.txt &
//	wrk -t2 -c8 -d10s -s cmd/kiruna-tilebench/paths.lua http://127.0.0.1:8089
//
// Modes: cold (the twin's server, tile cache off), warm (the twin's server,
// every listed tile cached first) and ceiling (a bare net/http handler
// serving the same gzipped tiles from a map).
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	_ "net/http/pprof" // only with --pprof
	"os"
	"strconv"
	"strings"

	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/server"
	"github.com/kiruna-twin/kiruna-twin/tiles"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

func main() {
	mode := flag.String("mode", "cold", "cold, warm or ceiling")
	n := flag.Int("city", 100_000, "buildings in the generated city")
	zooms := flag.String("zoom", "16", "zooms of the listed tiles, comma-separated")
	max := flag.Int("max", 1500, "at most this many tiles per zoom")
	addr := flag.String("addr", "127.0.0.1:8089", "where to listen")
	pathsFile := flag.String("paths", "/tmp/paths.txt", "where to write the tile paths, one a line")
	pprofAddr := flag.String("pprof", "", "if set, HOST:PORT for net/http/pprof")
	flag.Parse()
	if *pprofAddr != "" {
		go func() { log.Println(http.ListenAndServe(*pprofAddr, nil)) }()
	}

	m := twin.NewModel()
	if err := m.Load(synth.City(*n, 1, orb.Point{20.25, 67.85})); err != nil {
		log.Fatal(err)
	}
	opts := tiles.Options{}
	if *mode == "cold" {
		opts.CacheBytes = -1
	}
	s := server.New(server.Config{Model: m, Tiles: opts})
	s.Tiler().Warm()
	var paths []string
	b := m.Snapshot().Bound()
	for _, zs := range strings.Split(*zooms, ",") {
		z, err := strconv.Atoi(zs)
		if err != nil {
			log.Fatalf("--zoom: %v", err)
		}
		lo := maptile.At(orb.Point{b.Min[0], b.Max[1]}, maptile.Zoom(z))
		hi := maptile.At(orb.Point{b.Max[0], b.Min[1]}, maptile.Zoom(z))
		var all []string
		for x := lo.X; x <= hi.X; x++ {
			for y := lo.Y; y <= hi.Y; y++ {
				all = append(all, fmt.Sprintf("/tiles/%d/%d/%d.mvt", z, x, y))
			}
		}
		for i := 0; i < min(*max, len(all)); i++ {
			paths = append(paths, all[i*len(all)/min(*max, len(all))])
		}
	}
	if err := os.WriteFile(*pathsFile, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	var h http.Handler = s
	if *mode == "warm" || *mode == "ceiling" {
		bodies := map[string][]byte{}
		etags := map[string]string{}
		for _, p := range paths {
			r := httptest.NewRequest(http.MethodGet, p, nil)
			r.Header.Set("Accept-Encoding", "gzip")
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			bodies[p], etags[p] = w.Body.Bytes(), w.Header().Get("ETag")
		}
		if *mode == "ceiling" {
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, ok := bodies[r.URL.Path]
				if !ok {
					w.WriteHeader(http.StatusNotFound)
					return
				}
				hd := w.Header()
				hd["Content-Type"] = []string{"application/vnd.mapbox-vector-tile"}
				hd["Content-Encoding"] = []string{"gzip"}
				hd["Etag"] = []string{etags[r.URL.Path]}
				hd["Content-Length"] = []string{strconv.Itoa(len(body))}
				_, _ = w.Write(body)
			})
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%s: %d paths in %s; serving on http://%s", *mode, len(paths), *pathsFile, ln.Addr())
	log.Fatal(http.Serve(ln, h))
}
