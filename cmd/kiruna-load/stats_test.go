package main

import (
	"math"
	"testing"
)

func TestQuantiles(t *testing.T) {
	counts := make([]int64, 200)
	counts[10] = 50 // 50 updates in 10–11 ms
	counts[20] = 49 // 49 in 20–21 ms
	counts[150] = 1 // one in 150–151 ms
	p50, p99, maxMs := quantiles(counts)
	if p50 != 10.5 || p99 != 20.5 || maxMs != 151 {
		t.Fatalf("p50 %v, p99 %v, max %v; want 10.5, 20.5, 151", p50, p99, maxMs)
	}
	if a, b, c := quantiles(make([]int64, 10)); a != 0 || b != 0 || c != 0 {
		t.Fatal("an empty histogram has no quantiles")
	}
}

// TestHistQuantile: the difference of two scrapes of a cumulative
// Prometheus histogram, read as histogram_quantile would.
func TestHistQuantile(t *testing.T) {
	const name = "kiruna_ws_update_delay_seconds"
	m0 := map[string]float64{name + `_bucket{le="0.05"}`: 10, name + `_bucket{le="0.1"}`: 10, name + `_bucket{le="+Inf"}`: 10}
	m1 := map[string]float64{name + `_bucket{le="0.05"}`: 60, name + `_bucket{le="0.1"}`: 110, name + `_bucket{le="+Inf"}`: 110}
	// In the window: 50 states under 50 ms, 50 more in 50–100 ms.
	for _, tc := range []struct{ q, want float64 }{{0.5, 50}, {0.25, 25}, {0.99, 99}} {
		if got := histQuantile(m0, m1, name, tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("q %v: %v ms, want %v", tc.q, got, tc.want)
		}
	}
	if got := histQuantile(m0, m0, name, 0.5); got != 0 {
		t.Errorf("no states in the window: %v, want 0", got)
	}
}

// A reading's value carries its sequence number and its POST's moment,
// exactly, through the float64 the server keeps it in.
func TestReadingValue(t *testing.T) {
	epoch := int64(1_764_583_812_000_000_000)
	r := &run{epoch: epoch}
	for _, c := range []struct{ seq, after int64 }{{1, 0}, {maxSeq, maxTime}, {70_000, 35e9 + 99_999}} {
		v := readingValue(c.seq, epoch+c.after, epoch)
		if int64(float64(v)) != v || v >= 1e12 {
			t.Errorf("value %d is not exact as a float64 or not below 10^12", v)
		}
		if v&maxSeq != c.seq {
			t.Errorf("seq %d came back as %d", c.seq, v&maxSeq)
		}
		if got, want := r.sentAt(v), epoch+c.after/timeUnit*timeUnit; got != want {
			t.Errorf("sent %d came back as %d", want, got)
		}
	}
}
