package osm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// townXML generates an OpenStreetMap file of n buildings (closed ways of
// four nodes, a third with building:levels, a tenth with start_date) on a
// grid, with a road along every row: what a city extract looks like to
// the importer.
func townXML(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<osm version="0.6" generator="kiruna-twin bench">` + "\n")
	side := 1
	for side*side < n {
		side++
	}
	const step, size = 0.0003, 0.0001 // degrees: about 20 m apart, 7 m wide
	id := int64(1)
	for i := range n {
		x, y := 20.0+float64(i%side)*step, 67.0+float64(i/side)*step
		for _, c := range [][2]float64{{x, y}, {x + size, y}, {x + size, y + size}, {x, y + size}} {
			fmt.Fprintf(&b, ` <node id="%d" lat="%.7f" lon="%.7f" version="1"/>`+"\n", id, c[1], c[0])
			id++
		}
	}
	for r := range side {
		fmt.Fprintf(&b, ` <node id="%d" lat="%.7f" lon="%.7f" version="1"/>`+"\n", id, 67.0+float64(r)*step-step/3, 20.0)
		fmt.Fprintf(&b, ` <node id="%d" lat="%.7f" lon="%.7f" version="1"/>`+"\n", id+1, 67.0+float64(r)*step-step/3, 20.0+float64(side)*step)
		id += 2
	}
	for i := range n {
		first := int64(4*i + 1)
		fmt.Fprintf(&b, ` <way id="%d" version="1"><nd ref="%d"/><nd ref="%d"/><nd ref="%d"/><nd ref="%d"/><nd ref="%d"/><tag k="building" v="yes"/>`,
			i+1, first, first+1, first+2, first+3, first)
		if i%3 == 0 {
			fmt.Fprintf(&b, `<tag k="building:levels" v="%d"/>`, 1+i%5)
		}
		if i%10 == 0 {
			fmt.Fprintf(&b, `<tag k="start_date" v="%d"/>`, 1900+i%120)
		}
		b.WriteString("</way>\n")
	}
	for r := range side {
		first := int64(4*n + 1 + 2*r)
		fmt.Fprintf(&b, ` <way id="%d" version="1"><nd ref="%d"/><nd ref="%d"/><tag k="highway" v="residential"/></way>`+"\n", n+r+1, first, first+1)
	}
	b.WriteString("</osm>\n")
	return b.Bytes()
}

var (
	town100kOnce sync.Once
	town100k     []byte
)

func town100kXML() []byte {
	town100kOnce.Do(func() { town100k = townXML(100_000) })
	return town100k
}

// peakHeap samples the live heap every millisecond while f runs and
// returns its peak in bytes.
func peakHeap(f func()) uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	read := func() {
		metrics.Read(sample)
		peak = max(peak, sample[0].Value.Uint64())
	}
	stop := make(chan struct{})
	done := make(chan struct{})
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

func benchImport(b *testing.B, data []byte, format Format, wantBuildings int) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	runtime.GC()
	var peak uint64
	b.ResetTimer()
	for range b.N {
		var res *Result
		p := peakHeap(func() {
			var err error
			res, err = Decode(context.Background(), bytes.NewReader(data), format, Options{})
			if err != nil {
				b.Fatal(err)
			}
		})
		peak = max(peak, p)
		if res.Buildings != wantBuildings {
			b.Fatalf("%d buildings, want %d", res.Buildings, wantBuildings)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(len(data))/(1<<20), "input-MiB")
}

// BenchmarkImportOSM100k imports 100,000 buildings (and their roads) from
// OpenStreetMap XML.
func BenchmarkImportOSM100k(b *testing.B) {
	benchImport(b, town100kXML(), XML, 100_000)
}

// BenchmarkImportOSMPBF100k imports the same town as PBF, converted with
// osmium-tool (Debian package osmium-tool); without it the benchmark is
// skipped.
func BenchmarkImportOSMPBF100k(b *testing.B) {
	if _, err := exec.LookPath("osmium"); err != nil {
		b.Skip("osmium-tool is not installed")
	}
	dir := b.TempDir()
	src, dst := filepath.Join(dir, "town.osm"), filepath.Join(dir, "town.osm.pbf")
	if err := os.WriteFile(src, town100kXML(), 0o644); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("osmium", "cat", src, "-o", dst, "-O").CombinedOutput(); err != nil {
		b.Fatalf("osmium: %v\n%s", err, out)
	}
	data, err := os.ReadFile(dst)
	if err != nil {
		b.Fatal(err)
	}
	benchImport(b, data, PBF, 100_000)
}
