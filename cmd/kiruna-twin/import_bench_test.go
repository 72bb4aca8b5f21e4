package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// writeTownOSM writes an OpenStreetMap file of n buildings on a grid (the
// same town as scenes/osm's benchmark, without its roads).
func writeTownOSM(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<osm version="0.6" generator="kiruna-twin bench">`)
	side := 1
	for side*side < n {
		side++
	}
	const step, size = 0.0003, 0.0001
	for i := range n {
		x, y := 20.0+float64(i%side)*step, 67.0+float64(i/side)*step
		for k, c := range [][2]float64{{x, y}, {x + size, y}, {x + size, y + size}, {x, y + size}} {
			fmt.Fprintf(w, ` <node id="%d" lat="%.7f" lon="%.7f" version="1"/>`+"\n", 4*i+k+1, c[1], c[0])
		}
	}
	for i := range n {
		a := 4*i + 1
		fmt.Fprintf(w, ` <way id="%d" version="1"><nd ref="%d"/><nd ref="%d"/><nd ref="%d"/><nd ref="%d"/><nd ref="%d"/><tag k="building" v="yes"/>`, i+1, a, a+1, a+2, a+3, a)
		if i%3 == 0 {
			fmt.Fprintf(w, `<tag k="building:levels" v="%d"/>`, 1+i%5)
		}
		if i%10 == 0 {
			fmt.Fprintf(w, `<tag k="start_date" v="%d"/>`, 1900+i%120)
		}
		fmt.Fprintln(w, "</way>")
	}
	fmt.Fprintln(w, "</osm>")
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// BenchmarkImportCommandOSM100k runs "kiruna-twin import --osm" on a
// generated file of 100,000 buildings, end to end: read, write the bundle,
// load it back into a model.
func BenchmarkImportCommandOSM100k(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "town.osm")
	if err := writeTownOSM(in, 100_000); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		out := filepath.Join(dir, "out"+strconv.Itoa(i))
		if code := run(context.Background(), []string{"import", "--osm", in, "--out", out}, io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}
