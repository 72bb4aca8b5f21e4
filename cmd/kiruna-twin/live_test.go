package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// liveScene writes a small scene bundle with a few sensors of each kind.
func liveScene(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	scene := `{"id":"test","title":"Test","bounds":[10,60,10.2,60.1],"center":[10.1,60.05],"zoom":13,
	  "timeline":{"start":1900,"end":2040},
	  "layers":[{"id":"sensors","title":"Sensors","kind":"point","file":"sensors.geojson"}]}`
	var feats []string
	types := []string{"ground_deformation", "district_heating", "waste_fill", "snow_depth", "blast_vibration", "air_quality"}
	for i, typ := range types {
		feats = append(feats, fmt.Sprintf(`{"type":"Feature","id":"sim-%d","geometry":{"type":"Point","coordinates":[%v,60.05]},
		  "properties":{"from":"2018","name":"S %d","kind":"sensor","type":%q}}`, i, 10.01+float64(i)*0.02, i, typ))
	}
	layer := `{"type":"FeatureCollection","features":[` + strings.Join(feats, ",") + `]}`
	if err := os.WriteFile(filepath.Join(dir, "scene.json"), []byte(scene), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sensors.geojson"), []byte(layer), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func wsURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") + "/ws" }

type liveMsg struct {
	Type    string `json:"type"`
	Sensors []struct {
		ID    string   `json:"id"`
		Value *float64 `json:"value"`
	} `json:"sensors"`
}

func readMsg(t *testing.T, c *websocket.Conn, typ string) liveMsg {
	t.Helper()
	for {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var m liveMsg
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		if m.Type == typ {
			return m
		}
	}
}

// TestLiveEndToEnd: the simulator's readings stream to a WebSocket client;
// a company's token registers a sensor whose readings reach the client;
// after a restart the company's sensor and its readings are there.
func TestLiveEndToEnd(t *testing.T) {
	data, sceneDir := t.TempDir(), liveScene(t)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"tenant", "add", "acme", "--data", data}, &out, &errb); code != 0 {
		t.Fatalf("tenant add: %d %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	token := lines[len(lines)-1]
	if !strings.HasPrefix(token, "kt_") {
		t.Fatalf("the last line is not a token: %q", out.String())
	}

	base, stop := startServer(t, "--data", data, "--scene", sceneDir)
	c, _, err := websocket.DefaultDialer.Dial(wsURL(base), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The simulator backfills a day as it starts: soon every scene sensor
	// has a value.
	for deadline := time.Now().Add(10 * time.Second); ; {
		c.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","bbox":[10,60,10.2,60.1]}`))
		snap := readMsg(t, c, "snapshot")
		if len(snap.Sensors) != 6 {
			t.Fatalf("snapshot of %d sensors, want 6", len(snap.Sensors))
		}
		valued := 0
		for _, s := range snap.Sensors {
			if s.Value != nil {
				valued++
			}
		}
		if valued == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 6 scene sensors have a simulated value after 10 s", valued)
		}
		time.Sleep(100 * time.Millisecond)
	}

	postJSON(t, base+"/api/sensors", token, map[string]any{"id": "acme-snow", "type": "snow_depth", "lon": 10.05, "lat": 60.06, "name": "Acme snow"}, http.StatusCreated)
	postJSON(t, base+"/api/readings", "", map[string]any{"readings": []any{}}, http.StatusUnauthorized)
	now := time.Now().UTC()
	postJSON(t, base+"/api/readings", token, map[string]any{"readings": []any{
		map[string]any{"sensor": "acme-snow", "time": now.Add(-time.Minute).Format(time.RFC3339Nano), "value": 41.5},
		map[string]any{"sensor": "acme-snow", "time": now.Format(time.RFC3339Nano), "value": 42.5},
	}}, http.StatusAccepted)
	postJSON(t, base+"/api/readings", token, map[string]any{"readings": []any{
		map[string]any{"sensor": "sim-1", "time": now.Format(time.RFC3339Nano), "value": 80},
	}}, http.StatusForbidden)
	for {
		m := readMsg(t, c, "update")
		if len(m.Sensors) > 0 && m.Sensors[0].ID == "acme-snow" && m.Sensors[0].Value != nil && *m.Sensors[0].Value == 42.5 {
			break
		}
	}
	c.Close()
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	base, _ = startServer(t, "--data", data, "--scene", sceneDir, "--simulate=false")
	resp, err := http.Get(base + "/api/sensors/acme-snow/readings")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var hist struct {
		Readings []struct{ Value float64 } `json:"readings"`
	}
	json.NewDecoder(resp.Body).Decode(&hist)
	if resp.StatusCode != 200 || len(hist.Readings) != 2 || hist.Readings[1].Value != 42.5 {
		t.Fatalf("after a restart: %d %+v", resp.StatusCode, hist)
	}
}

func TestTenantCommand(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"tenant", "add", "acme", "--data", data}, 0, "kt_"},
		{[]string{"tenant", "add", "acme", "--data", data}, 1, "exists"},
		{[]string{"tenant", "add", "no good", "--data", data}, 1, "company name"},
		{[]string{"tenant", "list", "--data", data}, 0, "acme"},
		{[]string{"tenant", "revoke", "acme", "--data", data}, 0, "revoked"},
		{[]string{"tenant", "revoke", "acme", "--data", data}, 1, "revoked"},
		{[]string{"tenant", "revoke", "nobody", "--data", data}, 1, "no such company"},
		{[]string{"tenant", "list", "--data", data}, 0, "revoked 20"},
		{[]string{"tenant", "--data", data}, 2, "add, revoke or list"},
		{[]string{"tenant", "frob", "--data", data}, 2, "unknown tenant subcommand"},
		{[]string{"tenant", "add", "--data", data}, 2, "tenant add NAME"},
		{[]string{"tenant", "--help"}, 0, "tenant add NAME"},
	} {
		t.Run(strings.Join(c.args[:2], " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), c.args, &out, &errb)
			if code != c.code || !strings.Contains(out.String()+errb.String(), c.out) {
				t.Fatalf("exit %d, want %d; output lacks %q?\n%s%s", code, c.code, c.out, out.String(), errb.String())
			}
		})
	}
}

// TestDamagedTenantsStop: a damaged companies file stops the server and
// every tenant command with an error naming the file and the offset, and
// no command cuts it.
func TestDamagedTenantsStop(t *testing.T) {
	data := t.TempDir()
	var out, errb bytes.Buffer
	for _, name := range []string{"acme", "beta"} {
		if code := run(context.Background(), []string{"tenant", "add", name, "--data", data}, &out, &errb); code != 0 {
			t.Fatalf("add: %s", errb.String())
		}
	}
	path := filepath.Join(data, "tenants.log")
	good, _ := os.ReadFile(path)
	bad := bytes.Clone(good)
	bad[20] ^= 0x40 // inside the first record
	os.WriteFile(path, bad, 0o600)
	for _, args := range [][]string{
		{"tenant", "list", "--data", data},
		{"tenant", "add", "gamma", "--data", data},
		{"tenant", "revoke", "acme", "--data", data},
		{"serve", "--data", data, "--addr", "127.0.0.1:0", "--simulate=false"},
	} {
		out.Reset()
		errb.Reset()
		code := run(context.Background(), args, &out, &errb)
		msg := errb.String()
		if code != 1 || !strings.Contains(msg, path) || !strings.Contains(msg, "damaged at offset 0") {
			t.Errorf("%s: exit %d: %s%s", strings.Join(args[:2], " "), code, out.String(), msg)
		}
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, bad) {
		t.Fatal("the damaged file was changed")
	}
}
