package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kiruna-twin/kiruna-twin/twin/natsbus/natstest"
	"github.com/kiruna-twin/kiruna-twin/twin/pgstore/pgtest"
)

// benchTwin starts the twin the way a benchmark compares it: "embedded"
// is one server on its data directory; "postgres+nats" two replicas on
// one PostgreSQL and one NATS. It returns where to write and where to
// watch (the other replica, when there are two) and a company's token
// with 20 sensors.
func benchTwin(b *testing.B, mode string) (write, watch, token string) {
	b.Helper()
	scene := liveScene(b)
	limits := []string{"--scene", scene, "--simulate=false", "--write-rate", "1000000", "--write-burst", "1000000"}
	switch mode {
	case "embedded":
		data := b.TempDir()
		tok, err := addTenant(data, "acme")
		if err != nil {
			b.Fatal(err)
		}
		write, _ = startServer(b, append(limits, "--data", data)...)
		watch, token = write, tok
	case "postgres+nats":
		store := pgtest.Database(b)
		bus := natstest.Run(b, -1).ClientURL()
		token = sharedTenant(b, store, "acme")
		write, _ = startServer(b, append(limits, "--store", store, "--bus", bus)...)
		watch, _ = startServer(b, append(limits, "--store", store, "--bus", bus)...)
	}
	for i := 0; i < 20; i++ {
		postJSON(b, write+"/api/sensors", token, map[string]any{"id": fmt.Sprintf("acme-%d", i), "type": "snow_depth",
			"lon": 10.01 + float64(i)*0.009, "lat": 60.06}, http.StatusCreated)
	}
	return write, watch, token
}

var benchModes = []string{"embedded", "postgres+nats"}

// BenchmarkReplicaIngest: 16 writers post batches of 20 readings to one
// replica; readings/s is what was acknowledged (durable: fsynced by the
// log, or committed by PostgreSQL).
func BenchmarkReplicaIngest(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode, func(b *testing.B) {
			write, _, token := benchTwin(b, mode)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			var seq atomic.Int64
			t0 := time.Now().UTC().Add(-4 * time.Hour)
			b.SetParallelism(8) // 16 writers on 2 cores
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				rs := make([]map[string]any, 20)
				for pb.Next() {
					for i := range rs {
						n := seq.Add(1)
						rs[i] = map[string]any{"sensor": fmt.Sprintf("acme-%d", i), "time": t0.Add(time.Duration(n) * time.Microsecond).Format(time.RFC3339Nano), "value": float64(n % 100)}
					}
					body, _ := json.Marshal(map[string]any{"readings": rs})
					req, _ := http.NewRequest(http.MethodPost, write+"/api/readings", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+token)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*20)/time.Since(start).Seconds(), "readings/s")
		})
	}
}

// BenchmarkReplicaLatency: one reading at a time, from the POST being sent
// to a WebSocket client reading the update — on the same server when
// embedded, on the other replica with PostgreSQL and NATS. The hub sends
// updates every 50 ms tick in both; each reading waits a random 0–50 ms
// before it is sent, so that it meets the tick at a random phase.
func BenchmarkReplicaLatency(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode, func(b *testing.B) {
			write, watch, token := benchTwin(b, mode)
			ws, _, err := websocket.DefaultDialer.Dial(wsURL(watch), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer ws.Close()
			ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","bbox":[10,60,10.2,60.1]}`))
			next := func(typ string) liveMsg {
				for {
					ws.SetReadDeadline(time.Now().Add(10 * time.Second))
					_, data, err := ws.ReadMessage()
					if err != nil {
						b.Fatal(err)
					}
					var m liveMsg
					json.Unmarshal(data, &m)
					if m.Type == typ {
						return m
					}
				}
			}
			next("snapshot")
			lat := make([]time.Duration, 0, b.N)
			t0 := time.Now().UTC().Add(-time.Hour)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				v := float64(i%100) + 0.5
				b.StopTimer()
				time.Sleep(time.Duration(rand.Int64N(int64(50 * time.Millisecond))))
				b.StartTimer()
				start := time.Now()
				postJSON(b, write+"/api/readings", token, map[string]any{"readings": []any{
					map[string]any{"sensor": "acme-0", "time": t0.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano), "value": v}}}, http.StatusAccepted)
				for {
					m := next("update")
					if len(m.Sensors) > 0 && m.Sensors[0].ID == "acme-0" && m.Sensors[0].Value != nil && *m.Sensors[0].Value == v {
						break
					}
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
