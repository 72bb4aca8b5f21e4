package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/internal/load"
	"github.com/kiruna-twin/kiruna-twin/tiles/tiles3d"
)

// BenchmarkHTTP3DTiles serves the .glb contents of the 100,000-building
// city over 8 connections: cold (every request builds its content, the
// cache off) and cached. Run with -benchtime 1x:
//
//	go test ./server -run '^$' -bench 'BenchmarkHTTP3DTiles' -benchtime 1x
func BenchmarkHTTP3DTiles(b *testing.B) {
	m := city100k()
	s := New(Config{Model: m})
	for _, c := range []struct {
		name  string
		tiler *tiles3d.Tiler
	}{
		{"cold", tiles3d.New(m, tiles3d.Options{CacheBytes: -1})},
		{"cached", tiles3d.New(m, tiles3d.Options{CacheBytes: 1 << 30})},
	} {
		b.Run(c.name, func(b *testing.B) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /3dtiles/{z}/{x}/{file}", s.handleContent3D(c.tiler))
			ts := httptest.NewServer(mux)
			defer ts.Close()
			var paths []string
			for _, k := range c.tiler.Contents() {
				paths = append(paths, "/3dtiles/"+tiles3d.ContentURI(k[0], k[1], k[2]))
			}
			if c.name == "cached" {
				for _, p := range paths { // fill the cache
					if w := get(b, mux, p, "Accept-Encoding", "gzip"); w.Code != http.StatusOK {
						b.Fatalf("%s: %d", p, w.Code)
					}
				}
			}
			b.ResetTimer()
			var r load.Result
			for i := 0; i < b.N; i++ {
				r = load.Run(context.Background(), ts.URL, paths, 8, loadFor, gzipHeader)
			}
			b.StopTimer()
			if r.Errors > 0 {
				b.Fatalf("%d errors", r.Errors)
			}
			b.ReportMetric(r.PerSecond(), "tiles/s")
			b.ReportMetric(float64(r.P50.Microseconds()), "p50-µs")
			b.ReportMetric(float64(r.P99.Microseconds()), "p99-µs")
			b.ReportMetric(float64(len(paths)), "distinct")
			b.Logf("%s: %v", c.name, r)
		})
	}
}
