package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/kiruna-twin/kiruna-twin/twin/natsbus/natstest"
	"github.com/kiruna-twin/kiruna-twin/twin/pgstore/pgtest"
)

// buildBinary builds this command for tests that need a process to kill.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kiruna-twin")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitReady(t *testing.T, base string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %s", base, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// inStore counts how many of the acknowledged readings the store holds.
func inStore(t *testing.T, store, sensor string, acked []reading) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	times := make([]time.Time, len(acked))
	for i, r := range acked {
		times[i] = r.Time
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(DISTINCT time) FROM kiruna_readings WHERE sensor = $1 AND time = ANY($2)`, sensor, times).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// load runs writers against each base until stop, and gathers what they
// saw.
type load struct {
	wg     sync.WaitGroup
	mu     sync.Mutex
	acked  []reading
	codes  map[int]int
	stopCh chan struct{}
}

func startLoad(bases []string, token, sensor string, t0 time.Time) *load {
	l := &load{codes: map[int]int{}, stopCh: make(chan struct{})}
	for i, base := range bases {
		for k := 0; k < 2; k++ {
			l.wg.Add(1)
			go func(from int, base string) {
				defer l.wg.Done()
				acked, codes := writeLoad(base, token, sensor, t0, from, l.stopCh)
				l.mu.Lock()
				defer l.mu.Unlock()
				l.acked = append(l.acked, acked...)
				for c, n := range codes {
					l.codes[c] += n
				}
			}((i*2+k)*1_000_000, base)
		}
	}
	return l
}

func (l *load) stop() {
	close(l.stopCh)
	l.wg.Wait()
}

// TestKillReplicaUnderLoad: replica A is killed with SIGKILL while
// companies write to it. Every write it acknowledged is in the store, B
// serves on and has them all, and a new A catches up.
func TestKillReplicaUnderLoad(t *testing.T) {
	store := pgtest.Database(t)
	if testing.Short() {
		t.Skip("builds the binary; not in -short")
	}
	bus := natstest.Run(t, -1).ClientURL()
	scene := liveScene(t)
	token := sharedTenant(t, store, "acme")
	bin := buildBinary(t)
	port := freePort(t)
	a := fmt.Sprintf("http://127.0.0.1:%d", port)
	proc := exec.Command(bin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--data", t.TempDir(), "--scene", scene,
		"--store", store, "--bus", bus, "--log-level", "warn", "--write-rate", "100000", "--write-burst", "100000")
	proc.Stderr = os.Stderr
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proc.Process.Kill(); _ = proc.Wait() })
	waitReady(t, a, 60*time.Second)
	b, _ := startServer(t, "--scene", scene, "--store", store, "--bus", bus)

	postJSON(t, a+"/api/sensors", token, map[string]any{"id": "acme-fill", "type": "waste_fill", "lon": 10.05, "lat": 60.06}, http.StatusCreated)
	t0 := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Millisecond)
	l := startLoad([]string{a}, token, "acme-fill", t0)
	time.Sleep(1500 * time.Millisecond)
	if err := proc.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = proc.Wait()
	time.Sleep(200 * time.Millisecond)
	l.stop()
	if len(l.acked) < 10 {
		t.Fatalf("only %d writes were acknowledged before the kill (codes %v)", len(l.acked), l.codes)
	}
	t.Logf("%d readings acknowledged by A before SIGKILL; codes %v", len(l.acked), l.codes)
	if n := inStore(t, store, "acme-fill", l.acked); n != len(l.acked) {
		t.Fatalf("the store holds %d of the %d acknowledged readings", n, len(l.acked))
	}
	waitReady(t, b, 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for m := missing(l.acked, history(t, b, "acme-fill")); m > 0; m = missing(l.acked, history(t, b, "acme-fill")) {
		if time.Now().After(deadline) {
			t.Fatalf("B lacks %d acknowledged readings 5 s after the kill", m)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a2, _ := startServer(t, "--scene", scene, "--store", store, "--bus", bus)
	if m := missing(l.acked, history(t, a2, "acme-fill")); m > 0 {
		t.Fatalf("a new A lacks %d acknowledged readings", m)
	}
	postJSON(t, a2+"/api/readings", token, map[string]any{"readings": []any{
		map[string]any{"sensor": "acme-fill", "time": time.Now().UTC().Format(time.RFC3339Nano), "value": 99}}}, http.StatusAccepted)
}

// TestBusAndStoreRestartDuringWrites: NATS restarts, then PostgreSQL stops
// and starts, while companies write to both replicas. Writes answer 503
// while the store is down and /readyz says so, reads go on; then both
// resume by themselves, no acknowledged write is lost and both replicas
// converge on the store.
func TestBusAndStoreRestartDuringWrites(t *testing.T) {
	// PostgreSQL of its own, to stop and start: the shared test server
	// serves other tests meanwhile.
	pg := pgtest.NewCluster(t)
	store := pg.URL
	nats := natstest.Run(t, -1)
	natsPort := natstest.Port(t, nats)
	bus := nats.ClientURL()
	scene := liveScene(t)
	token := sharedTenant(t, store, "acme")
	limits := []string{"--write-rate", "100000", "--write-burst", "100000"}
	a, _ := startServer(t, append([]string{"--scene", scene, "--store", store, "--bus", bus}, limits...)...)
	b, _ := startServer(t, append([]string{"--scene", scene, "--store", store, "--bus", bus}, limits...)...)
	postJSON(t, a+"/api/sensors", token, map[string]any{"id": "acme-fill", "type": "waste_fill", "lon": 10.05, "lat": 60.06}, http.StatusCreated)
	waitFor := func(what string, within time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(within)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("not within %s: %s", within, what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	waitFor("B knows the sensor registered on A", 5*time.Second, func() bool {
		code, _ := call(t, http.MethodGet, b+"/api/sensors/acme-fill", "", "", "")
		return code == 200
	})
	t0 := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Millisecond)
	l := startLoad([]string{a, b}, token, "acme-fill", t0)
	time.Sleep(500 * time.Millisecond)
	nats.Shutdown()
	nats.WaitForShutdown()
	time.Sleep(500 * time.Millisecond)
	natstest.Run(t, natsPort)
	time.Sleep(500 * time.Millisecond)

	pg.Stop()
	waitFor("A's /readyz says 503 with the store down", 5*time.Second, func() bool {
		code, body := call(t, http.MethodGet, a+"/readyz", "", "", "")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "store")
	})
	code, body := call(t, http.MethodPost, b+"/api/readings", token, "application/json",
		fmt.Sprintf(`{"readings":[{"sensor":"acme-fill","time":%q,"value":1}]}`, time.Now().UTC().Format(time.RFC3339Nano)))
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"error"`) {
		t.Fatalf("a write with the store down: %d %s, want 503 with an error", code, body)
	}
	for _, base := range []string{a, b} {
		if code, body := call(t, http.MethodGet, base+"/api/sensors/acme-fill", "", "", ""); code != 200 {
			t.Fatalf("a read with the store down: %d %s", code, body)
		}
	}
	pg.Start()
	waitFor("both replicas ready again", 15*time.Second, func() bool {
		ca, _ := call(t, http.MethodGet, a+"/readyz", "", "", "")
		cb, _ := call(t, http.MethodGet, b+"/readyz", "", "", "")
		return ca == 200 && cb == 200
	})
	l.mu.Lock()
	before := len(l.acked)
	l.mu.Unlock()
	time.Sleep(700 * time.Millisecond)
	l.stop()
	t.Logf("%d readings acknowledged; codes %v", len(l.acked), l.codes)
	if len(l.acked) <= before {
		t.Fatalf("no write was acknowledged after the store came back (codes %v)", l.codes)
	}
	for c := range l.codes {
		if c != http.StatusAccepted && c != http.StatusServiceUnavailable {
			t.Errorf("writers saw status %d (codes %v); want only 202 and 503", c, l.codes)
		}
	}
	if n := inStore(t, store, "acme-fill", l.acked); n != len(l.acked) {
		t.Fatalf("the store holds %d of the %d acknowledged readings", n, len(l.acked))
	}
	for _, base := range []string{a, b} {
		waitFor("every acknowledged reading on "+base, 10*time.Second, func() bool {
			return missing(l.acked, history(t, base, "acme-fill")) == 0
		})
	}
	waitFor("both replicas at the same position", 5*time.Second, func() bool {
		_, ba := call(t, http.MethodGet, a+"/readyz", "", "", "")
		_, bb := call(t, http.MethodGet, b+"/readyz", "", "", "")
		return position(ba) != "" && position(ba) == position(bb)
	})
}

func position(readyz string) string {
	_, rest, ok := strings.Cut(readyz, `"position":"`)
	if !ok {
		return ""
	}
	p, _, _ := strings.Cut(rest, `"`)
	return p
}
