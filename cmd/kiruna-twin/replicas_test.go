package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kiruna-twin/kiruna-twin/twin/natsbus/natstest"
	"github.com/kiruna-twin/kiruna-twin/twin/pgstore/pgtest"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// sharedTenant adds a company to the shared store with the tenant command.
func sharedTenant(t testing.TB, store, name string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"tenant", "add", name, "--store", store}, &out, &errb); code != 0 {
		t.Fatalf("tenant add --store: %d %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// metric reads one unlabelled sample of the server's /metrics.
func metric(t testing.TB, base, name string) float64 {
	t.Helper()
	code, body := call(t, http.MethodGet, base+"/metrics", "", "", "")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

func tileURL(base string, p orb.Point, z maptile.Zoom) string {
	tile := maptile.At(p, z)
	return fmt.Sprintf("%s/tiles/%d/%d/%d.mvt", base, tile.Z, tile.X, tile.Y)
}

// TestReplicasShareOneTwin: two replicas on one PostgreSQL and one NATS. A
// reading posted to A reaches a WebSocket client of B within a second; a
// pilot put on A is in B's tiles and collections within a second, and B's
// tile cache drops exactly the tile it touched.
func TestReplicasShareOneTwin(t *testing.T) {
	store := pgtest.Database(t)
	bus := natstest.Run(t, -1).ClientURL()
	scene := liveScene(t)
	token := sharedTenant(t, store, "acme")
	a, _ := startServer(t, "--scene", scene, "--store", store, "--bus", bus)
	b, _ := startServer(t, "--scene", scene, "--store", store, "--bus", bus)

	code, body := call(t, http.MethodGet, b+"/readyz", "", "", "")
	if code != 200 || !strings.Contains(body, `"store":"ok"`) || !strings.Contains(body, `"bus":"ok"`) {
		t.Fatalf("B's /readyz: %d %s", code, body)
	}

	ws, _, err := websocket.DefaultDialer.Dial(wsURL(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	postJSON(t, a+"/api/sensors", token, map[string]any{"id": "acme-snow", "type": "snow_depth", "lon": 10.05, "lat": 60.06}, http.StatusCreated)
	// The registration reaches B too: its snapshot holds the new sensor.
	for deadline := time.Now().Add(5 * time.Second); ; {
		ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","bbox":[10,60,10.2,60.1]}`))
		if snap := readMsg(t, ws, "snapshot"); len(snap.Sensors) == 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("A's new sensor is not in B's snapshot within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, v := range []float64{41.5, 42.5, 43.5} {
		start := time.Now()
		postJSON(t, a+"/api/readings", token, map[string]any{"readings": []any{
			map[string]any{"sensor": "acme-snow", "time": time.Now().UTC().Add(time.Duration(i-5) * time.Second).Format(time.RFC3339Nano), "value": v},
		}}, http.StatusAccepted)
		for {
			ws.SetReadDeadline(start.Add(time.Second))
			m := readMsg(t, ws, "update")
			if len(m.Sensors) > 0 && m.Sensors[0].ID == "acme-snow" && m.Sensors[0].Value != nil && *m.Sensors[0].Value == v {
				t.Logf("reading %d: A's 202 to B's WebSocket client in %s", i, time.Since(start))
				break
			}
		}
	}

	// B's tile cache holds the tile where the pilot will go and one far
	// from it.
	pilotAt, farAt := orb.Point{10.0502, 60.0501}, orb.Point{10.19, 60.01}
	for _, u := range []string{tileURL(b, pilotAt, 15), tileURL(b, farAt, 15)} {
		call(t, http.MethodGet, u, "", "", "")
	}
	if pilotInTile(t, b, pilotAt, "pilot:heat:pipe") {
		t.Fatal("the pilot is in B's tile before it was put")
	}
	invalidated := metric(t, b, "kiruna_tile_cache_invalidated_total")
	misses := metric(t, b, "kiruna_tile_cache_misses_total")
	hits := metric(t, b, "kiruna_tile_cache_hits_total")
	pilot := `{"type":"FeatureCollection","features":[
	 {"type":"Feature","id":"pipe","geometry":{"type":"LineString","coordinates":[[10.0501,60.0501],[10.0503,60.0502]]},"properties":{"kind":"district_heating","name":"Slinga","from":"2026-01"}}]}`
	start := time.Now()
	if code, body := call(t, http.MethodPut, a+"/api/pilots/heat", token, "application/geo+json", pilot); code != http.StatusCreated {
		t.Fatalf("put pilot on A: %d %s", code, body)
	}
	for !pilotOnB(t, b) {
		if time.Since(start) > time.Second {
			t.Fatal("A's pilot is not in B's collection within a second")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("pilot: A's 201 to B's collection in %s", time.Since(start))
	if d := metric(t, b, "kiruna_tile_cache_invalidated_total") - invalidated; d != 1 {
		t.Fatalf("B's tile cache dropped %v tiles, want exactly the 1 cached tile the pilot touched", d)
	}
	if !pilotInTile(t, b, pilotAt, "pilot:heat:pipe") {
		t.Fatal("A's pilot is not in B's tile")
	}
	call(t, http.MethodGet, tileURL(b, farAt, 15), "", "", "")
	if dh, dm := metric(t, b, "kiruna_tile_cache_hits_total")-hits, metric(t, b, "kiruna_tile_cache_misses_total")-misses; dh != 1 || dm != 1 {
		t.Fatalf("after the pilot: %v hits, %v misses; want the far tile still cached (1 hit) and the pilot's rebuilt (1 miss)", dh, dm)
	}
}

func pilotOnB(t *testing.T, b string) bool {
	code, body := call(t, http.MethodGet, b+"/collections/pilots/items?limit=100", "", "", "")
	if code != 200 {
		t.Fatalf("B's pilots collection: %d %s", code, body)
	}
	return strings.Contains(body, `"pilot:heat:pipe"`)
}

// reading is one acknowledged reading of the load below.
type reading struct {
	Time  time.Time
	Value float64
}

// writeLoad posts one reading per request to base until stop closes and
// returns the acknowledged ones and the status codes seen.
func writeLoad(base, token, sensor string, t0 time.Time, from int, stop <-chan struct{}) (acked []reading, codes map[int]int) {
	codes = map[int]int{}
	client := &http.Client{Timeout: 5 * time.Second}
	for i := from; ; i++ {
		select {
		case <-stop:
			return acked, codes
		default:
		}
		r := reading{Time: t0.Add(time.Duration(i) * time.Millisecond), Value: float64(i % 100)}
		body, _ := json.Marshal(map[string]any{"readings": []any{map[string]any{"sensor": sensor, "time": r.Time.Format(time.RFC3339Nano), "value": r.Value}}})
		req, _ := http.NewRequest(http.MethodPost, base+"/api/readings", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			codes[0]++
			time.Sleep(10 * time.Millisecond)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		codes[resp.StatusCode]++
		if resp.StatusCode == http.StatusAccepted {
			acked = append(acked, r)
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// history returns the times of a sensor's readings as base serves them.
func history(t *testing.T, base, sensor string) map[int64]bool {
	t.Helper()
	code, body := call(t, http.MethodGet, base+"/api/sensors/"+sensor+"/readings?limit=10000", "", "", "")
	if code != 200 {
		t.Fatalf("history on %s: %d %s", base, code, body)
	}
	var h struct {
		Readings []struct {
			Time time.Time `json:"time"`
		} `json:"readings"`
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatal(err)
	}
	out := map[int64]bool{}
	for _, r := range h.Readings {
		out[r.Time.UnixNano()] = true
	}
	return out
}

func missing(acked []reading, have map[int64]bool) int {
	n := 0
	for _, r := range acked {
		if !have[r.Time.UnixNano()] {
			n++
		}
	}
	return n
}
