package tiles_test

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/tiles"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// hugePilot is a company's pilot at the upload limits: 20 features of
// 100,000 vertices each (2,000,000 in all) near Kiruna's new centre —
// ten rings (a wavy outline 600 m across) and ten lines (a meander 2 km
// long).
func hugePilot() []*twin.Feature {
	const n = 100_000
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var fs []*twin.Feature
	for k := range 10 {
		c := orb.Point{20.28 + 0.004*float64(k), 67.845}
		ring := make(orb.Ring, 0, n)
		for i := range n - 1 {
			a := 2 * math.Pi * float64(i) / float64(n-1)
			r := 0.003 * (1 + 0.05*math.Sin(200*a))
			ring = append(ring, orb.Point{c[0] + 2.6*r*math.Cos(a), c[1] + r*math.Sin(a)})
		}
		ring = append(ring, ring[0])
		fs = append(fs, &twin.Feature{ID: fmt.Sprintf("pilot:huge:ring%d", k), Layer: twin.Pilots, Kind: "zone",
			Geometry: orb.Polygon{ring}, Life: twin.Lifespan{From: from}, Props: map[string]any{"pilot": "huge", "company": "acme"}})
		line := make(orb.LineString, 0, n)
		for i := range n {
			f := float64(i) / float64(n-1)
			line = append(line, orb.Point{20.27 + 0.05*f, 67.855 + 0.001*float64(k) + 0.0005*math.Sin(400*math.Pi*f)})
		}
		fs = append(fs, &twin.Feature{ID: fmt.Sprintf("pilot:huge:line%d", k), Layer: twin.Pilots, Kind: "pipe",
			Geometry: line, Life: twin.Lifespan{From: from}, Props: map[string]any{"pilot": "huge", "company": "acme"}})
	}
	return fs
}

// BenchmarkHugePilotTile builds z16 (and z14) tiles over a 2,000,000-vertex
// pilot with no cache; p50 and max are per tile.
//
//	go test -run '^$' -bench HugePilotTile -benchtime 200x ./tiles
func BenchmarkHugePilotTile(b *testing.B) {
	m := twin.NewModel()
	if err := m.Load(hugePilot()); err != nil {
		b.Fatal(err)
	}
	for _, z := range []int{14, 16} {
		b.Run(fmt.Sprintf("z%d", z), func(b *testing.B) {
			tl := tiles.New(m, tiles.Options{CacheBytes: -1})
			defer tl.Close()
			start := time.Now()
			tl.Warm()
			prepare := time.Since(start)
			list := TilesOver(orb.Bound{Min: orb.Point{20.27, 67.84}, Max: orb.Point{20.32, 67.866}}, z, 400)
			times := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t := list[i%len(list)]
				s := time.Now()
				if _, err := tl.Encode(t[0], t[1], t[2]); err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(s))
			}
			b.StopTimer()
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(times[len(times)-1].Microseconds())/1000, "max-ms")
			b.ReportMetric(float64(prepare.Milliseconds()), "prepare-ms")
		})
	}
}

// BenchmarkHugePilotAfterASmallChange: the pilots layer prepared again
// after another company puts a one-point pilot beside the
// 2,000,000-vertex one (each op is one such change and preparation).
//
//	go test -run '^$' -bench HugePilotAfterASmallChange -benchtime 5x ./tiles
func BenchmarkHugePilotAfterASmallChange(b *testing.B) {
	m := twin.NewModel()
	if err := m.Load(hugePilot()); err != nil {
		b.Fatal(err)
	}
	tl := tiles.New(m, tiles.Options{CacheBytes: -1})
	defer tl.Close()
	tl.Warm()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := &twin.Feature{ID: fmt.Sprintf("pilot:small:%d", i), Layer: twin.Pilots, Geometry: orb.Point{20.3, 67.85},
			Life: twin.Lifespan{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
		if _, err := m.Apply(twin.Edit{Layer: twin.Pilots, Add: []*twin.Feature{f}}); err != nil {
			b.Fatal(err)
		}
		tl.Warm()
	}
}
