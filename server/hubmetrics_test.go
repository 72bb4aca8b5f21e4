package server

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The delay histogram, counted a write at a time, reads as a
// prometheus.Histogram observed once per state would.
func TestDelayHistogramMatchesPrometheus(t *testing.T) {
	buckets := []float64{.01, .025, .05, .075, .1, .15, .2, .3, .5, 1, 2, 5}
	ours := newDelayHistogram("d", "help", buckets)
	ref := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "d", Help: "help", Buckets: buckets})
	now := time.Now()
	delays := []time.Duration{0, 10 * time.Millisecond, 10*time.Millisecond + 1, 49 * time.Millisecond, 50 * time.Millisecond,
		300 * time.Millisecond, 999 * time.Millisecond, 5 * time.Second, 6 * time.Second, time.Minute}
	for w := 0; w < 3; w++ { // three writes of the same states
		var ups []*update
		for _, d := range delays {
			ups = append(ups, &update{at: now.Add(-d)})
			ref.Observe(d.Seconds())
		}
		ours.observeSince(now, ups)
	}
	read := func(c prometheus.Collector) *dto.Histogram {
		ch := make(chan prometheus.Metric, 1)
		c.Collect(ch)
		var m dto.Metric
		if err := (<-ch).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetHistogram()
	}
	got, want := read(ours), read(ref)
	if got.GetSampleCount() != want.GetSampleCount() {
		t.Errorf("count %d, want %d", got.GetSampleCount(), want.GetSampleCount())
	}
	if d := got.GetSampleSum() - want.GetSampleSum(); d > 1e-6 || d < -1e-6 {
		t.Errorf("sum %v, want %v", got.GetSampleSum(), want.GetSampleSum())
	}
	for i, b := range want.GetBucket() {
		g := got.GetBucket()[i]
		if g.GetUpperBound() != b.GetUpperBound() || g.GetCumulativeCount() != b.GetCumulativeCount() {
			t.Errorf("bucket le=%v: %d, want le=%v: %d", g.GetUpperBound(), g.GetCumulativeCount(), b.GetUpperBound(), b.GetCumulativeCount())
		}
	}
}
