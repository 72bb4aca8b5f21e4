//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes/importer"
	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// childEnv set to "1" makes the test binary run kiruna-twin itself with
// its arguments (see TestMain): a benchmark can then start the server as
// a process of its own and measure it from outside.
const childEnv = "KIRUNA_TWIN_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

var startCentre = orb.Point{20.25, 67.85}

// BenchmarkStartFromDisk measures what a user waits for after a restart:
// from starting the server process on a bundle of N synthetic buildings
// on disk (KIRUNA_BENCH_BUILDINGS, default 100 000) to the first tile of
// the city's centre served over HTTP, and the process's peak RSS. With
// KIRUNA_BENCH_BINARY it starts that binary instead (to compare builds in
// one run).
func BenchmarkStartFromDisk(b *testing.B) {
	n := 100_000
	if v := os.Getenv("KIRUNA_BENCH_BUILDINGS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("KIRUNA_BENCH_BUILDINGS: %v", err)
		}
	}
	dir := os.Getenv("KIRUNA_BENCH_BUNDLE")
	if dir == "" {
		dir = filepath.Join(b.TempDir(), "city")
	}
	if _, err := os.Stat(filepath.Join(dir, "scene.json")); err != nil {
		fs := synth.City(n, 1, startCentre)
		sc, err := importer.NewScene(fs, importer.Meta{ID: "city", Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			b.Fatal(err)
		}
		if err := importer.Write(dir, sc, fs, true); err != nil {
			b.Fatal(err)
		}
	}
	bin, prefix := os.Args[0], []string{}
	if v := os.Getenv("KIRUNA_BENCH_BINARY"); v != "" {
		bin = v
	}
	tile := maptile.At(startCentre, 14)
	var total time.Duration
	var peak int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d, rss := startOnce(b, bin, prefix, dir, tile)
		total += d
		peak = max(peak, rss)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-first-tile")
	b.ReportMetric(float64(peak)/1024, "peak-RSS-MiB")
	b.ReportMetric(0, "ns/op")
}

var listenRE = regexp.MustCompile(`url=http://(\S+)`)

// startOnce starts the server, waits for /readyz and one tile, stops it
// and returns the time to the tile and the peak RSS in KiB.
func startOnce(b *testing.B, bin string, prefix []string, scene string, tile maptile.Tile) (time.Duration, int64) {
	b.Helper()
	args := append(prefix, "serve", "--addr", "127.0.0.1:0", "--scene", scene, "--data", b.TempDir(),
		"--simulate=false", "--log-level", "info")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout = io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-time.After(60 * time.Second):
		b.Fatal("the server did not say where it listens within 60 s")
	}
	url := fmt.Sprintf("%s/tiles/%d/%d/%d.mvt", base, tile.Z, tile.X, tile.Y)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatal("not ready within 5 minutes")
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusOK || len(body) < 100 {
		b.Fatalf("first tile: %d, %d bytes", resp.StatusCode, len(body))
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return d, rss
}
