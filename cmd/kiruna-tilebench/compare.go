package main

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kiruna-twin/kiruna-twin/internal/load"
)

//go:embed paths.lua
var pathsLua []byte

// A target is one server process that compare loads.
type target struct {
	name string
	cmd  *exec.Cmd
	url  string
	ae   string    // the Accept-Encoding the load client sends ("identity": none)
	rate []float64 // requests a second, one a round
	cpu  []float64 // the server's CPU-µs per request, one a round (Linux)
	ccpu []float64 // the load client's (wrk's) CPU-µs per request, one a round
}

// compare starts the twin's warm server (one per --twins entry) and the
// ceiling, or the servers --target lists, as processes of their own, then loads each in turn for
// --duration, round after round, the order rotating every round so that
// no server always follows the same one. It prints every round and the
// medians; the ratio is each twin's median over the ceiling's.
func compare(f flags) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "tilebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "paths.lua")
	if err := os.WriteFile(script, pathsLua, 0o644); err != nil {
		return err
	}
	if f.client == "wrk" {
		if _, err := exec.LookPath("wrk"); err != nil {
			return fmt.Errorf("--client wrk: wrk is not installed (Debian: apt-get install wrk), or use --client go")
		}
	}
	var targets []*target
	defer func() {
		for _, t := range targets {
			if t.cmd.Process != nil {
				_ = t.cmd.Process.Kill()
				_ = t.cmd.Wait()
			}
		}
	}()
	start := func(name, bin, mode, ae string, extra []string) (*target, error) {
		if bin == "" {
			bin = self
		}
		args := []string{"--mode", mode, "--city", strconv.Itoa(f.city), "--zoom", f.zooms, "--max", strconv.Itoa(f.max),
			"--addr", "127.0.0.1:0", "--paths", filepath.Join(dir, "paths.txt")}
		if f.gzipLevel != 0 {
			args = append(args, "--gzip-level", strconv.Itoa(f.gzipLevel))
		}
		args = append(args, extra...)
		t := &target{name: name, cmd: exec.Command(bin, args...), ae: ae}
		t.cmd.Stderr = os.Stderr
		out, err := t.cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := t.cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting %s (%s): %w", name, bin, err)
		}
		targets = append(targets, t)
		sc := bufio.NewScanner(out)
		re := regexp.MustCompile(`on (http://\S+),`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				t.url = m[1]
				go func() { // keep draining
					for sc.Scan() {
					}
				}()
				return t, nil
			}
		}
		return nil, fmt.Errorf("%s ended before it served", name)
	}
	if len(f.targets) > 0 {
		for _, spec := range f.targets {
			o := map[string]string{"mode": "warm", "ae": "gzip"}
			for _, kv := range strings.Split(spec, ",") {
				k, v, _ := strings.Cut(kv, "=")
				o[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			if o["name"] == "" {
				return fmt.Errorf("--target %q: no name", spec)
			}
			if _, err := start(o["name"], o["bin"], o["mode"], o["ae"], strings.Fields(o["args"])); err != nil {
				return err
			}
		}
	} else {
		for _, spec := range strings.Split(f.twins, ",") {
			name, bin, _ := strings.Cut(spec, "=")
			if _, err := start(name, bin, "warm", "gzip", nil); err != nil {
				return err
			}
		}
		if _, err := start("ceiling", "", "ceiling", "gzip", nil); err != nil {
			return err
		}
	}
	paths, err := readLines(filepath.Join(dir, "paths.txt"))
	if err != nil {
		return err
	}
	fmt.Printf("%d paths (zoom %s), %d connections, %s a run, client %s, %d rounds\n", len(paths), f.zooms, f.conns, f.duration, f.client, f.rounds)
	for _, t := range targets { // a short warm-up each: connections, the first GC cycles
		if _, _, err := run(f, t, script, dir, paths, time.Second); err != nil {
			return err
		}
	}
	for r := 0; r < f.rounds; r++ {
		fmt.Printf("round %d (load %s):", r+1, loadAvg())
		for i := range targets {
			t := targets[(i+r)%len(targets)]
			cpu0 := cpuTicks(t.cmd.Process.Pid)
			n, ccpu, err := run(f, t, script, dir, paths, f.duration)
			if err != nil {
				return err
			}
			cpu := float64(cpuTicks(t.cmd.Process.Pid)-cpu0) * 1e6 / clockTicks / (n * f.duration.Seconds())
			ccpu /= n * f.duration.Seconds()
			t.rate, t.cpu, t.ccpu = append(t.rate, n), append(t.cpu, cpu), append(t.ccpu, ccpu)
			fmt.Printf("  %s %.0f/s (%.1f CPU-µs/req, client %.1f)", t.name, n, cpu, ccpu)
		}
		fmt.Println()
	}
	ceil := targets[len(targets)-1] // the reference: the ceiling, or the last --target
	for _, t := range targets {
		// The share of the ceiling in each round (the two measured
		// seconds apart, under the same load), and its median.
		share := make([]float64, len(t.rate))
		for i := range share {
			share[i] = 100 * t.rate[i] / ceil.rate[i]
		}
		fmt.Printf("%-10s median %8.0f req/s  %5.1f CPU-µs/req (client %.1f)  %5.1f %% of the reference's median; per round %s %%, median %.1f %%\n",
			t.name, median(t.rate), median(t.cpu), median(t.ccpu), 100*median(t.rate)/median(ceil.rate), list(share), median(share))
	}
	return nil
}

// run loads t for d and returns its requests a second and the load
// client's CPU time in µs (wrk's; 0 for the Go client, which runs in this
// process).
func run(f flags, t *target, script, dir string, paths []string, d time.Duration) (rate, clientCPU float64, err error) {
	if f.client == "go" {
		var h http.Header
		if t.ae != "identity" {
			h = http.Header{"Accept-Encoding": {t.ae}}
		}
		r := load.Run(context.Background(), t.url, paths, f.conns, d, h)
		if r.Errors > 0 {
			return 0, 0, fmt.Errorf("%s: %d errors", t.name, r.Errors)
		}
		return r.PerSecond(), 0, nil
	}
	cmd := exec.Command("wrk", "-t1", "-c"+strconv.Itoa(f.conns), "-d"+strconv.Itoa(int(d.Seconds()))+"s", "-s", script, t.url)
	cmd.Env = append(os.Environ(), "TILE_PATHS="+filepath.Join(dir, "paths.txt"), "ACCEPT_ENCODING="+t.ae)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("wrk: %v: %s", err, out)
	}
	if strings.Contains(string(out), "Non-2xx") {
		return 0, 0, fmt.Errorf("%s answered errors: %s", t.name, out)
	}
	m := regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		return 0, 0, fmt.Errorf("wrk's output has no rate: %s", out)
	}
	rate, err = strconv.ParseFloat(string(m[1]), 64)
	ps := cmd.ProcessState
	return rate, float64((ps.UserTime() + ps.SystemTime()).Microseconds()), err
}

func readLines(name string) ([]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on Linux).
const clockTicks = 100

// cpuTicks is the user and system time of process pid in clock ticks, or
// 0 where /proc is not.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return u + st
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func list(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(parts, ", ")
}
