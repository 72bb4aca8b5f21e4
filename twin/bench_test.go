package twin_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

var centre = orb.Point{20.25, 67.85}

// BenchmarkBuild1M builds the model (validate, project, index) from a
// generated city of 1,000,000 buildings. Reported: heap held by the model.
func BenchmarkBuild1M(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		fs := synth.City(1_000_000, 1, centre)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		b.StartTimer()
		m := twin.NewModel()
		if err := m.Load(fs); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		fs = nil
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc)/(1<<20), "heapMiB")
		b.ReportMetric(float64(after.Sys)/(1<<20), "sysMiB")
		runtime.KeepAlive(m)
		b.StartTimer()
	}
}

// BenchmarkQueryZ15At queries z15-tile-sized boxes at a moment in time over
// the 1,000,000-building city and reports the median and p99 latency.
func BenchmarkQueryZ15At(b *testing.B) {
	m := twin.NewModel()
	if err := m.Load(synth.City(1_000_000, 1, centre)); err != nil {
		b.Fatal(err)
	}
	s := m.Snapshot()
	cityBound := s.Bound(twin.Buildings)
	r := rand.New(rand.NewPCG(1, 2))
	const nq = 4096
	boxes := make([]orb.Bound, nq)
	for i := range boxes {
		p := orb.Point{
			cityBound.Min[0] + r.Float64()*(cityBound.Max[0]-cityBound.Min[0]),
			cityBound.Min[1] + r.Float64()*(cityBound.Max[1]-cityBound.Min[1]),
		}
		boxes[i] = maptile.At(p, 15).Bound()
	}
	at := time.Date(2010, 6, 1, 0, 0, 0, 0, time.UTC)
	lat := make([]time.Duration, 0, b.N)
	found := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		s.SearchAt(twin.Buildings, boxes[i%nq], at, func(*twin.Feature) bool { found++; return true })
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1000, "p50-µs")
	b.ReportMetric(float64(lat[int(math.Min(float64(len(lat)-1), float64(len(lat))*0.99))].Nanoseconds())/1000, "p99-µs")
	b.ReportMetric(float64(found)/float64(b.N), "features/query")
}
