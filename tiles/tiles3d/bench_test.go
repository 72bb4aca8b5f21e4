package tiles3d

import (
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/scenes/kiruna"
	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// BenchmarkTileset builds the whole tileset — tileset.json and every
// content — of the built-in Kiruna scene and of the 100,000-building
// synthetic city, as export does, and reports its size:
//
//	go test ./tiles/tiles3d -run '^$' -bench BenchmarkTileset -benchtime 3x
func BenchmarkTileset(b *testing.B) {
	for _, c := range []struct {
		name string
		load func() []*twin.Feature
	}{
		{"kiruna", func() []*twin.Feature {
			bd, err := scenes.Load(kiruna.Bundle())
			if err != nil {
				b.Fatal(err)
			}
			return bd.Features
		}},
		{"city100k", func() []*twin.Feature { return synth.City(100_000, 1, orb.Point{20.25, 67.85}) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			m := twin.NewModel()
			if err := m.Load(c.load()); err != nil {
				b.Fatal(err)
			}
			var st Stats
			var took time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tl := New(m, Options{CacheBytes: -1})
				start := time.Now()
				if _, _, err := tl.Tileset(); err != nil {
					b.Fatal(err)
				}
				st = Stats{}
				for _, k := range tl.Contents() {
					_, s, err := tl.Encode(k[0], k[1], k[2])
					if err != nil {
						b.Fatal(err)
					}
					st.add(s)
				}
				took = time.Since(start)
				tl.Close()
			}
			b.ReportMetric(float64(st.Features), "features")
			b.ReportMetric(float64(st.Tiles), "contents")
			b.ReportMetric(float64(st.Bytes)/float64(st.Features), "bytes/feature")
			b.ReportMetric(float64(st.Triangles)/float64(st.Features), "triangles/feature")
			b.ReportMetric(float64(st.Triangles), "triangles")
			b.ReportMetric(took.Seconds(), "s/build")
		})
	}
}
