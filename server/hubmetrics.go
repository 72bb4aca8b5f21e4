package server

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// delayHistogram is a Prometheus histogram of the delay of every state a
// write delivered, counted a write at a time: a frame carries hundreds of
// states, and one prometheus.Histogram observation each (atomic adds on
// counters every writer shares) was a fifth of the hub's own CPU. A write
// counts its states into buckets of its own, then adds each bucket once.
// What /metrics shows is the same histogram.
type delayHistogram struct {
	desc   *prometheus.Desc
	upper  []float64       // the buckets' upper bounds, seconds
	bounds []time.Duration // the same, as durations
	counts []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sumNs  atomic.Int64
}

func newDelayHistogram(name, help string, buckets []float64) *delayHistogram {
	h := &delayHistogram{desc: prometheus.NewDesc(name, help, nil, nil), upper: buckets,
		counts: make([]atomic.Uint64, len(buckets)+1)}
	for _, b := range buckets {
		h.bounds = append(h.bounds, time.Duration(math.Round(b*1e9)))
	}
	return h
}

// observeSince counts, for each state, the time from its arrival to now.
func (h *delayHistogram) observeSince(now time.Time, ups []*update) {
	var local [32]uint64
	counts := local[:0]
	if len(h.counts) <= len(local) {
		counts = local[:len(h.counts)]
	} else {
		counts = make([]uint64, len(h.counts))
	}
	var sum time.Duration
	for _, u := range ups {
		d := now.Sub(u.at)
		sum += d
		i := 0
		for i < len(h.bounds) && d > h.bounds[i] {
			i++
		}
		counts[i]++
	}
	for i, n := range counts {
		if n > 0 {
			h.counts[i].Add(n)
		}
	}
	h.sumNs.Add(int64(sum))
}

// Describe implements prometheus.Collector.
func (h *delayHistogram) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

// Collect implements prometheus.Collector.
func (h *delayHistogram) Collect(ch chan<- prometheus.Metric) {
	cum := make(map[float64]uint64, len(h.upper))
	var n uint64
	for i, b := range h.upper {
		n += h.counts[i].Load()
		cum[b] = n
	}
	n += h.counts[len(h.upper)].Load()
	ch <- prometheus.MustNewConstHistogram(h.desc, n, float64(h.sumNs.Load())/1e9, cum)
}
