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
	"syscall"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
)

// The pilots' crash test: a child process (this test binary, started with
// KIRUNA_PILOT_CRASH_CHILD) puts new versions of four pilots in a loop and
// prints every acknowledged one; the parent kills it with SIGKILL at a
// random moment and checks, after reopening, that every pilot holds its
// last acknowledged version or a later one, whole, exactly as uploaded.
// KIRUNA_CRASH_KILLS sets the number of kills.

func init() {
	if dir := os.Getenv("KIRUNA_PILOT_CRASH_CHILD"); dir != "" {
		pilotCrashChild(dir) // never returns
	}
}

const crashPilots = 4

func pilotSize(v int) int { return 1 + v%5 }

// storedVersions returns each pilot's version and checks it is whole.
func storedVersions(s *twin.Snapshot) (map[string]int, error) {
	out := map[string]int{}
	count := map[string]int{}
	for _, f := range s.Features(twin.Pilots) {
		p := f.Prop("pilot")
		v := int(f.Props["version"].(float64))
		if old, ok := out[p]; ok && old != v {
			return nil, fmt.Errorf("pilot %s mixes versions %d and %d", p, old, v)
		}
		if f.Name != fmt.Sprintf("v%d", v) {
			return nil, fmt.Errorf("pilot %s: feature %s named %q in version %d", p, f.ID, f.Name, v)
		}
		out[p] = v
		count[p]++
	}
	for p, v := range out {
		if count[p] != pilotSize(v) {
			return nil, fmt.Errorf("pilot %s version %d has %d features, want %d", p, v, count[p], pilotSize(v))
		}
	}
	return out, nil
}

func pilotCrashChild(dir string) {
	m := twin.NewModel()
	ps, err := OpenPilots(dir, m, quietLog)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	vs, err := storedVersions(m.Snapshot())
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	v := 0
	for _, x := range vs {
		v = max(v, x)
	}
	w := bufio.NewWriter(os.Stdout)
	for {
		v++
		id := fmt.Sprintf("p%d", v%crashPilots)
		if _, _, err := ps.Put(context.Background(), "crash", id, pilotFeatures(v, pilotSize(v))); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Fprintf(w, "ack %s %d\n", id, v)
		w.Flush()
	}
}

func TestKillNineLosesNoAcknowledgedPilot(t *testing.T) {
	kills := 3
	if v, err := strconv.Atoi(os.Getenv("KIRUNA_CRASH_KILLS")); err == nil && v > 0 {
		kills = v
	}
	dir := t.TempDir()
	acked := map[string]int{}
	rng := rand.New(rand.NewPCG(11, uint64(time.Now().UnixNano())))
	for k := 0; k < kills; k++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "KIRUNA_PILOT_CRASH_CHILD="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		want := 1 + rng.IntN(60)
		n := 0
		for n < want && sc.Scan() {
			l := sc.Text()
			var id string
			var v int
			if _, err := fmt.Sscanf(l, "ack %s %d", &id, &v); err != nil {
				if strings.HasPrefix(l, "error") {
					t.Fatalf("child: %s", l)
				}
				continue
			}
			acked[id] = max(acked[id], v)
			n++
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		for sc.Scan() { // acknowledgements printed before the kill still count
			var id string
			var v int
			if _, err := fmt.Sscanf(sc.Text(), "ack %s %d", &id, &v); err == nil {
				acked[id] = max(acked[id], v)
			}
		}
		_ = cmd.Wait()

		m := twin.NewModel()
		ps, err := OpenPilots(dir, m, quietLog)
		if err != nil {
			t.Fatalf("kill %d: reopening: %v", k, err)
		}
		got, err := storedVersions(m.Snapshot())
		if err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		for id, v := range acked {
			if got[id] < v {
				t.Fatalf("kill %d: pilot %s acknowledged at version %d, stored %d", k, id, v, got[id])
			}
		}
		ps.Close()
	}
	t.Logf("%d kills; last acknowledged versions: %v", kills, acked)
}
