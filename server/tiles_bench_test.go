package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/internal/load"
	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/tiles"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// The HTTP benchmarks run a real server on loopback and the repository's
// closed-loop load client in the same process, on the same cores. Each
// reports tiles/s; run them with -benchtime 1x (each runs for loadFor).
//
//	go test ./server -run '^$' -bench 'BenchmarkHTTP' -benchtime 1x

const loadFor = 5 * time.Second

var city100k = sync.OnceValue(func() *twin.Model {
	m := twin.NewModel()
	if err := m.Load(synth.City(100_000, 1, orb.Point{20.25, 67.85})); err != nil {
		panic(err)
	}
	return m
})

// tilePaths lists the URL paths of up to max tiles of zoom z over b.
func tilePaths(b orb.Bound, z, max int) []string {
	lo := maptile.At(orb.Point{b.Min[0], b.Max[1]}, maptile.Zoom(z))
	hi := maptile.At(orb.Point{b.Max[0], b.Min[1]}, maptile.Zoom(z))
	var all []string
	for x := lo.X; x <= hi.X; x++ {
		for y := lo.Y; y <= hi.Y; y++ {
			all = append(all, fmt.Sprintf("/tiles/%d/%d/%d.mvt", z, x, y))
		}
	}
	if len(all) <= max {
		return all
	}
	out := make([]string, 0, max)
	for i := 0; i < max; i++ {
		out = append(out, all[i*len(all)/max])
	}
	return out
}

var gzipHeader = http.Header{"Accept-Encoding": {"gzip"}}

// BenchmarkHTTPColdTiles: every request builds its tile (the cache is
// off), over 8 connections, on the 100,000-building city.
func BenchmarkHTTPColdTiles(b *testing.B) {
	m := city100k()
	for _, c := range []struct {
		z      int
		header http.Header
	}{{14, gzipHeader}, {16, gzipHeader}, {14, nil}, {16, nil}} {
		z := c.z
		name := fmt.Sprintf("z%d", z)
		if c.header == nil {
			name += "-identity" // a client that does not take gzip
		}
		b.Run(name, func(b *testing.B) {
			s := New(Config{Model: m, Tiles: tiles.Options{CacheBytes: -1}})
			s.Tiler().Warm()
			ts := httptest.NewServer(s)
			defer ts.Close()
			paths := tilePaths(m.Snapshot().Bound(), z, 1<<20)
			b.ResetTimer()
			var r load.Result
			for i := 0; i < b.N; i++ {
				r = load.Run(context.Background(), ts.URL, paths, 8, loadFor, c.header)
			}
			b.StopTimer()
			if r.Errors > 0 {
				b.Fatalf("%d errors", r.Errors)
			}
			b.ReportMetric(r.PerSecond(), "tiles/s")
			b.ReportMetric(float64(r.P50.Microseconds()), "p50-µs")
			b.ReportMetric(float64(r.P99.Microseconds()), "p99-µs")
			b.ReportMetric(float64(len(paths)), "distinct")
			b.Logf("z%d cold: %v", z, r)
		})
	}
}

// BenchmarkHTTPWarmTiles serves a fixed list of tiles from the cache, and
// in the same run the same bytes from a map behind a bare net/http
// handler: the ceiling of this machine. Reported: both rates and their
// ratio.
func BenchmarkHTTPWarmTiles(b *testing.B) {
	m := city100k()
	s := New(Config{Model: m})
	s.Tiler().Warm()
	var paths []string
	for z := 14; z <= 16; z++ {
		paths = append(paths, tilePaths(m.Snapshot().Bound(), z, 1500)...)
	}
	// Fill the cache and copy every tile into the ceiling's map.
	bodies := map[string][]byte{}
	etags := map[string]string{}
	for _, p := range paths {
		w := get(b, s, p, "Accept-Encoding", "gzip")
		bodies[p] = w.Body.Bytes()
		etags[p] = w.Header().Get("ETag")
	}
	ceiling := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		h := w.Header()
		h["Content-Type"] = []string{"application/vnd.mapbox-vector-tile"}
		h["Content-Encoding"] = []string{"gzip"}
		h["Etag"] = []string{etags[r.URL.Path]}
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
		_, _ = w.Write(body)
	})
	twinSrv, ceilSrv := httptest.NewServer(s), httptest.NewServer(ceiling)
	defer twinSrv.Close()
	defer ceilSrv.Close()
	b.ResetTimer()
	var twinR, ceilR load.Result
	for i := 0; i < b.N; i++ {
		ceilR = load.Run(context.Background(), ceilSrv.URL, paths, 8, loadFor, gzipHeader)
		twinR = load.Run(context.Background(), twinSrv.URL, paths, 8, loadFor, gzipHeader)
	}
	b.StopTimer()
	if twinR.Errors+ceilR.Errors > 0 {
		b.Fatalf("errors: twin %d, ceiling %d", twinR.Errors, ceilR.Errors)
	}
	b.ReportMetric(twinR.PerSecond(), "tiles/s")
	b.ReportMetric(ceilR.PerSecond(), "ceiling-tiles/s")
	b.ReportMetric(100*twinR.PerSecond()/ceilR.PerSecond(), "%-of-ceiling")
	b.ReportMetric(float64(len(paths)), "distinct")
	b.Logf("twin: %v", twinR)
	b.Logf("ceiling: %v", ceilR)
}
