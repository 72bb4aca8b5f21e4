//go:build unix

package live

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// The crash test runs a child process (this test binary, in
// crashChild, started by TestMain) that ingests under load from several goroutines and
// prints every acknowledged batch; the parent kills it with SIGKILL at a
// random moment, reopens the store and checks that every acknowledged
// reading is there. KIRUNA_CRASH_KILLS sets the number of kills (.ci/run
// runs many; go test a few).

const crashWriters = 4

var crashBase = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

func crashOpts() StoreOptions {
	// Small segments, so that rotations and checkpoints happen under the kills.
	return StoreOptions{SegmentSize: 16 << 10, HistoryLimit: 1 << 20, Logger: quietLog, MaxFuture: 1 << 62}
}

func TestMain(m *testing.M) {
	if dir := os.Getenv("KIRUNA_CRASH_CHILD"); dir != "" {
		crashChild(dir) // never returns: it is killed
	}
	os.Exit(m.Run())
}

// crashChild ingests into the store in dir until it is killed.
func crashChild(dir string) {
	s, err := OpenStore(dir, twin.NewModel(), crashOpts())
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	ctx := context.Background()
	var out sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := 0; g < crashWriters; g++ {
		id := fmt.Sprintf("w%d", g)
		if _, _, err := s.Register(ctx, "crash", Sensor{ID: id, Type: "counter", Pos: orb.Point{float64(g), 0}}); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		next := 1
		if st, _ := s.Sensors().Get(id); !st.Time.IsZero() {
			next = int(st.Value) + 1
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for {
				n := 1 + r.IntN(40)
				batch := make([]Reading, n)
				for i := range batch {
					seq := next + i
					batch[i] = Reading{Sensor: id, Time: crashBase.Add(time.Duration(seq) * time.Millisecond), Value: float64(seq)}
				}
				if err := s.Ingest(ctx, "crash", batch); err != nil {
					fmt.Println("error", err)
					os.Exit(3)
				}
				next += n
				out.Lock()
				fmt.Fprintf(w, "ack %d %d\n", g, next-1)
				w.Flush()
				out.Unlock()
			}
		}()
	}
	wg.Wait()
	os.Exit(0)
}

func TestKillNineLosesNoAcknowledgedReading(t *testing.T) {
	kills := 4
	if v, err := strconv.Atoi(os.Getenv("KIRUNA_CRASH_KILLS")); err == nil && v > 0 {
		kills = v
	}
	dir := t.TempDir()
	acked := make([]int, crashWriters)
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	for k := 0; k < kills; k++ {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "KIRUNA_CRASH_CHILD="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Let it ingest for a random while after its first acknowledgement.
		deadline := time.After(10 * time.Second)
		var killAt <-chan time.Time
		ackedNow := 0
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				var g, seq int
				if _, err := fmt.Sscanf(l, "ack %d %d", &g, &seq); err != nil {
					if strings.HasPrefix(l, "error") {
						t.Fatalf("child: %s", l)
					}
					continue
				}
				if seq > acked[g] {
					acked[g] = seq
				}
				ackedNow++
				if killAt == nil {
					killAt = time.After(time.Duration(20+rng.IntN(300)) * time.Millisecond)
				}
			case <-killAt:
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killAt = nil
				// Acknowledgements already printed still count: drain them.
				for l := range lines {
					var g, seq int
					if _, err := fmt.Sscanf(l, "ack %d %d", &g, &seq); err == nil && seq > acked[g] {
						acked[g] = seq
					}
				}
				break read
			case <-deadline:
				_ = cmd.Process.Kill()
				t.Fatal("the child acknowledged nothing within 10 s")
			}
		}
		_ = cmd.Wait()
		if ackedNow == 0 {
			t.Fatalf("kill %d: nothing acknowledged", k)
		}

		s, err := OpenStore(dir, twin.NewModel(), crashOpts())
		if err != nil {
			t.Fatalf("kill %d: reopening: %v", k, err)
		}
		for g := 0; g < crashWriters; g++ {
			h, err := s.Sensors().History(fmt.Sprintf("w%d", g), time.Time{}, time.Time{}, 0)
			if err != nil {
				t.Fatalf("kill %d: %v", k, err)
			}
			if len(h) < acked[g] {
				t.Fatalf("kill %d: writer %d had %d readings acknowledged, %d survived", k, g, acked[g], len(h))
			}
			for i := 0; i < len(h); i++ {
				if h[i].Value != float64(i+1) {
					t.Fatalf("kill %d: writer %d: reading %d is %v, want %d (lost or reordered)", k, g, i, h[i].Value, i+1)
				}
			}
		}
		s.Close()
	}
	t.Logf("%d kills; acknowledged per writer: %v", kills, acked)
}
