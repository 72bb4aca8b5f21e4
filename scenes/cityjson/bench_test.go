package cityjson

import (
	"bytes"
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// cityJSON generates a CityJSON 2.0 file in SWEREF 99 TM of n buildings,
// each an LoD1 box (a Solid of six faces on eight vertices) with a few
// attributes, in a grid: about what a municipality's LoD1 export holds.
func cityJSON(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"type":"CityJSON","version":"2.0","transform":{"scale":[0.001,0.001,0.001],"translate":[700000,7500000,0]},` +
		`"metadata":{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/3006","title":"benchmark"},"CityObjects":{`)
	side := 1
	for side*side < n {
		side++
	}
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		v := 8 * i
		fmt.Fprintf(&b, `"b%d":{"type":"Building","attributes":{"yearOfConstruction":%d,"function":"residential","storeys":%d},`+
			`"geometry":[{"type":"Solid","lod":"1","boundaries":[[[[%d,%d,%d,%d]],[[%d,%d,%d,%d]],[[%d,%d,%d,%d]],[[%d,%d,%d,%d]],[[%d,%d,%d,%d]],[[%d,%d,%d,%d]]]]}]}`,
			i, 1900+i%120, 1+i%6,
			v, v+3, v+2, v+1, v+4, v+5, v+6, v+7, v, v+1, v+5, v+4, v+1, v+2, v+6, v+5, v+2, v+3, v+7, v+6, v+3, v, v+4, v+7)
	}
	b.WriteString(`},"vertices":[`)
	for i := range n {
		x, y := (i%side)*25_000, (i/side)*25_000 // millimetres: 25 m apart
		h := 3_000 * (1 + i%6)
		for k, c := range [][3]int{{x, y, 0}, {x + 12_000, y, 0}, {x + 12_000, y + 9_000, 0}, {x, y + 9_000, 0},
			{x, y, h}, {x + 12_000, y, h}, {x + 12_000, y + 9_000, h}, {x, y + 9_000, h}} {
			if i > 0 || k > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "[%d,%d,%d]", c[0], c[1], c[2])
		}
	}
	b.WriteString("]}\n")
	return b.Bytes()
}

func peakHeap(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	read := func() {
		metrics.Read(sample)
		peak = max(peak, sample[0].Value.Uint64())
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				read()
			}
		}
	}()
	f()
	close(stop)
	<-done
	read()
	return peak
}

// BenchmarkImportCityJSON10k imports 10,000 LoD1 buildings from a CityJSON
// file in SWEREF 99 TM, keeping their solids.
func BenchmarkImportCityJSON10k(b *testing.B) {
	data := cityJSON(10_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	runtime.GC()
	var peak uint64
	b.ResetTimer()
	for range b.N {
		var res *Result
		p := peakHeap(func() {
			var err error
			res, err = Decode(data, Options{})
			if err != nil {
				b.Fatal(err)
			}
		})
		peak = max(peak, p)
		if len(res.Features) != 10_000 {
			b.Fatalf("%d features", len(res.Features))
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(len(data))/(1<<20), "input-MiB")
}
