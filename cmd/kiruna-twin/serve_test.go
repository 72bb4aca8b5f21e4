package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startServer runs the serve command in the background on a free loopback
// port and returns its base URL once /readyz answers 200.
func startServer(t testing.TB, args ...string) (base string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan net.Addr, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	args = append([]string{"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--log-level", "warn"}, args...)
	go func() { done <- serveCmd(ctx, args, io.Discard, &logs, listening) }()
	select {
	case a := <-listening:
		base = "http://" + a.String()
	case err := <-done:
		cancel()
		t.Fatalf("serve returned before listening: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not listen within 30 s")
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("not ready within 60 s\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20 s of cancellation")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return base, stop
}

func TestServeBuiltInScene(t *testing.T) {
	base, stop := startServer(t, "--simulate=false")

	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	resp, err = http.Get(base + "/api/scene")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sc struct {
		ID       string
		Bounds   [4]float64
		Timeline struct{ Start, End, Now float64 }
		Layers   []struct{ ID, Title, Kind string }
		Counts   map[string]int
	}
	if err := json.NewDecoder(resp.Body).Decode(&sc); err != nil {
		t.Fatal(err)
	}
	if sc.ID != "kiruna" || sc.Counts["buildings"] < 3000 || sc.Timeline.Start != 1900 || sc.Timeline.End != 2040 {
		t.Errorf("/api/scene = %+v", sc)
	}
	if sc.Timeline.Now < 2026 || sc.Timeline.Now > 2040 {
		t.Errorf("timeline.now = %v", sc.Timeline.Now)
	}
	for _, l := range []string{"buildings", "infrastructure", "zones", "sensors", "pilots", "landmarks"} {
		if _, ok := sc.Counts[l]; !ok {
			t.Errorf("counts lacks %s", l)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the server still answers after stopping")
	}
}

func TestCommandLine(t *testing.T) {
	cases := []struct {
		args []string
		code int
		out  string // in stdout+stderr
	}{
		{[]string{"--help"}, 0, "--addr"},
		{[]string{"serve", "--help"}, 0, "--simulate"},
		{[]string{"help"}, 0, "tenant add"},
		{[]string{"--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"--scene", "/nonexistent/bundle", "--addr", "127.0.0.1:0"}, 1, "not a directory of a scene bundle"},
		{[]string{"--log-level", "loud"}, 2, "--log-level"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), c.args, &out, &errb)
			all := out.String() + errb.String()
			if code != c.code {
				t.Errorf("exit %d, want %d; output:\n%s", code, c.code, all)
			}
			if !strings.Contains(all, c.out) {
				t.Errorf("output lacks %q:\n%s", c.out, all)
			}
		})
	}
}

// Every flag of the server is explained in --help.
func TestHelpExplainsEveryFlag(t *testing.T) {
	var out, errb bytes.Buffer
	run(context.Background(), []string{"serve", "--help"}, &out, &errb)
	for _, f := range []string{"--addr", "--data", "--scene", "--simulate", "--store", "--bus", "--log-level", "--trusted-proxy", "--max-conns-per-client", "--max-conns", "--body-min-rate", "--body-timeout", "--mqtt", "--mqtt-tls-cert", "--simulate-mqtt"} {
		if !strings.Contains(errb.String()+out.String(), f) {
			t.Errorf("--help does not explain %s", f)
		}
	}
}

func TestTrustedProxyFlag(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--trusted-proxy", "localhost", "--addr", "127.0.0.1:0"}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), `--trusted-proxy: "localhost" is neither a CIDR nor an address`) {
		t.Fatalf("exit %d:\n%s", code, errb.String())
	}
}
