package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// One flipped byte in the middle of the live log: the server refuses to
// start, naming the file and the offset and the way out; the repair
// command keeps every other batch and sets the damaged bytes aside; the
// server then starts with all the readings but the damaged batch's.
func TestCorruptLogRefusedThenRepaired(t *testing.T) {
	data := t.TempDir()
	tok := mustTenant(t, data, "acme")
	scene := liveScene(t)
	base, stop := startServer(t, "--data", data, "--scene", scene, "--simulate=false")
	postJSON(t, base+"/api/sensors", tok, map[string]any{"id": "acme-1", "type": "snow_depth", "lon": 10.05, "lat": 60.06}, 201)
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	const batches = 30
	for i := 0; i < batches; i++ {
		postJSON(t, base+"/api/readings", tok, map[string]any{"readings": []any{
			map[string]any{"sensor": "acme-1", "time": t0.Add(time.Duration(i) * time.Minute).Format(time.RFC3339), "value": i},
		}}, 202)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(data, "live", "0000000000000001.wal")
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/3] ^= 0x20
	os.WriteFile(seg, b, 0o644)

	var out, errb bytes.Buffer
	listening := make(chan net.Addr, 1)
	err = serveCmd(context.Background(), []string{"--addr", "127.0.0.1:0", "--data", data, "--scene", scene, "--simulate=false", "--log-level", "error"}, &out, &errb, listening)
	if err == nil || !strings.Contains(err.Error(), seg+" at offset ") || !strings.Contains(err.Error(), "kiruna-twin repair --data "+data) {
		t.Fatalf("serve on a corrupt log: %v; want a refusal naming %s, the offset and the repair", err, seg)
	}

	out.Reset()
	if code := run(context.Background(), []string{"repair", "--data", data}, &out, &errb); code != 0 {
		t.Fatalf("repair: exit %d\n%s%s", code, out.String(), errb.String())
	}
	t.Logf("repair says:\n%s", out.String())
	if !strings.Contains(out.String(), "0000000000000001.wal: kept ") || !strings.Contains(out.String(), "set aside") ||
		!strings.Contains(out.String(), "pilots: nothing to repair") {
		t.Fatalf("repair's report:\n%s", out.String())
	}
	aside, _ := filepath.Glob(seg + ".damaged-*")
	if len(aside) != 1 {
		t.Fatalf("damaged bytes set aside in %v, want one file", aside)
	}

	base, _ = startServer(t, "--data", data, "--scene", scene, "--simulate=false")
	code, body := call(t, "GET", base+"/api/sensors/acme-1/readings?from="+t0.Add(-time.Minute).Format(time.RFC3339), "", "", "")
	var hist struct{ Readings []json.RawMessage }
	if code != 200 || json.Unmarshal([]byte(body), &hist) != nil {
		t.Fatalf("history after the repair: %d %s", code, body)
	}
	// The flip at a third of the log hit one batch (or the registration,
	// and then none of the readings has a sensor to go to: that would show
	// here as 0).
	if n := len(hist.Readings); n != batches-1 {
		t.Fatalf("%d readings after the repair, want %d (all but the damaged batch)", n, batches-1)
	}
}
