//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/gorilla/websocket"
	"github.com/kiruna-twin/kiruna-twin/server/mqtt"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/mochi-mqtt/server/v2/packets"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkMQTT measures the MQTT listener of a server started as a
// process of its own (see TestMain), in alternating rounds
// (KIRUNA_BENCH_ROUNDS, 3), each KIRUNA_BENCH_SECONDS (5) long, and
// reports medians:
//
//   - mqtt-readings/s: QoS 1, one reading a message, 4 connections with
//     32 messages in flight each, every message acknowledged (durable);
//
//   - http1-readings/s and http100-readings/s: POST /api/readings with 1
//     and with 100 readings a batch, 128 requests in flight;
//
//   - p50-ms/p99-ms: from a QoS 1 publish to the reading's update at a
//     /ws client, 50 messages a second over 5 sensors, 250 a round;
//
//   - KiB/conn: the server's RSS and Go heap per MQTT connection, with
//     KIRUNA_BENCH_MQTT_CONNS (5000) idle 3.1.1 connections open.
//
//     go test -run '^$' -bench '^BenchmarkMQTT$' -benchtime 1x ./cmd/kiruna-twin
func BenchmarkMQTT(b *testing.B) {
	rounds, secs, nConns := envInt("KIRUNA_BENCH_ROUNDS", 3), envInt("KIRUNA_BENCH_SECONDS", 5), envInt("KIRUNA_BENCH_MQTT_CONNS", 5000)
	dur := time.Duration(secs) * time.Second
	data, scene := b.TempDir(), liveScene(b)
	token, err := live.AddTenant(data, "acme", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	many := strconv.Itoa(4 * nConns)
	srv := startChild(b, data, scene, "--write-rate", "1000000", "--write-burst", "1000000", "--mqtt-conn-rate", "1000000",
		"--max-conns-per-client", many, "--mqtt-conns-per-company", many)
	// One sensor per writer, each written in time order (a reading older
	// than its sensor's latest takes the store's slow path).
	for i := 0; i < writers; i++ {
		registerTyped(b, srv.base, token, fmt.Sprintf("t-%d", i), "ground_deformation")
	}
	for i := 0; i < latSensors; i++ {
		registerTyped(b, srv.base, token, fmt.Sprintf("lat-%d", i), "ground_deformation")
	}

	var mq, h1, h100, p50, p99 []float64
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		mq = append(mq, mqttThroughput(b, srv, token, dur))
		h1 = append(h1, httpThroughput(b, srv, token, dur, 1))
		h100 = append(h100, httpThroughput(b, srv, token, dur, 100))
		a, z := wsLatency(b, srv, token, 250)
		p50, p99 = append(p50, a), append(p99, z)
		b.Logf("round %d: MQTT %.0f readings/s, HTTP×1 %.0f, HTTP×100 %.0f; publish→/ws p50 %.1f ms p99 %.1f ms", r+1,
			mq[r], h1[r], h100[r], p50[r], p99[r])
	}
	rss, heap := memoryPerConn(b, srv, token, nConns)
	b.ReportMetric(median(mq), "mqtt-readings/s")
	b.ReportMetric(median(h1), "http1-readings/s")
	b.ReportMetric(median(h100), "http100-readings/s")
	b.ReportMetric(median(p50), "p50-ms")
	b.ReportMetric(median(p99), "p99-ms")
	b.ReportMetric(rss, "RSS-KiB/conn")
	b.ReportMetric(heap, "heap-KiB/conn")
	b.ReportMetric(0, "ns/op")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

var benchSeq atomic.Int64 // distinct reading times across rounds

func readingJSON(v int64) string {
	t := time.Now().Add(-time.Hour).Add(time.Duration(benchSeq.Add(1)) * time.Microsecond)
	return fmt.Sprintf(`{"value": %d, "time": %q}`, v%1000, t.UTC().Format(time.RFC3339Nano))
}

// writers is how many publish or post at once, in both protocols.
const writers = 128

func mqttThroughput(b *testing.B, srv *child, token string, dur time.Duration) float64 {
	const conns, inflight = 4, writers / 4
	var done atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(dur)
	for c := 0; c < conns; c++ {
		cl := dialMQTT(b, srv.mqtt, "acme", token, fmt.Sprintf("bench-%d-%d", c, time.Now().UnixNano()))
		for w := 0; w < inflight; w++ {
			wg.Add(1)
			go func(sensor string) {
				defer wg.Done()
				for i := int64(0); time.Now().Before(stop); i++ {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					pr, err := cl.Publish(ctx, &paho.Publish{Topic: mqtt.ReadingsTopic("acme", sensor), QoS: 1, Payload: []byte(readingJSON(i))})
					cancel()
					if err != nil || pr.ReasonCode != 0 {
						b.Errorf("publish: %+v %v", pr, err)
						return
					}
					done.Add(1)
				}
			}(fmt.Sprintf("t-%d", c*inflight+w))
		}
		defer cl.Disconnect(&paho.Disconnect{})
	}
	start := time.Now()
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

func httpThroughput(b *testing.B, srv *child, token string, dur time.Duration, batch int) float64 {
	const inflight = writers
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: inflight}}
	var done atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(dur)
	start := time.Now()
	for w := 0; w < inflight; w++ {
		wg.Add(1)
		go func(sensor string) {
			defer wg.Done()
			var body bytes.Buffer
			for i := int64(0); time.Now().Before(stop); i++ {
				body.Reset()
				body.WriteString(`{"readings":[`)
				for k := 0; k < batch; k++ {
					if k > 0 {
						body.WriteByte(',')
					}
					r := readingJSON(i)
					fmt.Fprintf(&body, `{"sensor":%q,%s`, sensor, r[1:])
				}
				body.WriteString(`]}`)
				req, _ := http.NewRequest("POST", srv.base+"/api/readings", bytes.NewReader(body.Bytes()))
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					b.Errorf("POST: %v", err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					b.Errorf("POST: %s", resp.Status)
					return
				}
				done.Add(int64(batch))
			}
		}(fmt.Sprintf("t-%d", w))
	}
	wg.Wait()
	client.CloseIdleConnections()
	return float64(done.Load()) / time.Since(start).Seconds()
}

// latSensors share the latency test's messages, so that each sensor
// changes less often than the hub's tick (50 ms), which would otherwise
// coalesce its updates.
const latSensors = 5

// wsLatency publishes n readings (value = 1000 + its number) at 50 a
// second, each sensor of latSensors in turn, and times each to its update
// at a /ws client.
func wsLatency(b *testing.B, srv *child, token string, n int) (p50, p99 float64) {
	ws, _, err := websocket.DefaultDialer.Dial(wsURL(srv.base), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","bbox":[10,60,10.2,60.1]}`))
	sent := make([]atomic.Int64, n)
	lat := make(chan float64, n)
	go func() {
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var m struct {
				Type    string `json:"type"`
				Sensors []struct {
					ID    string  `json:"id"`
					Value float64 `json:"value"`
				} `json:"sensors"`
			}
			if json.Unmarshal(msg, &m) != nil || m.Type != "update" {
				continue
			}
			now := time.Now().UnixNano()
			for _, s := range m.Sensors {
				if i := int(s.Value) - 1000; strings.HasPrefix(s.ID, "lat-") && i >= 0 && i < n {
					if t := sent[i].Swap(0); t != 0 {
						lat <- float64(now-t) / 1e6
					}
				}
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // the snapshot first
	cl := dialMQTT(b, srv.mqtt, "acme", token, fmt.Sprintf("lat-%d", time.Now().UnixNano()))
	defer cl.Disconnect(&paho.Disconnect{})
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < n; i++ {
		<-tick.C
		sent[i].Store(time.Now().UnixNano())
		payload := fmt.Sprintf(`{"value": %d}`, 1000+i)
		if _, err := cl.Publish(context.Background(), &paho.Publish{QoS: 1, Payload: []byte(payload), Topic: mqtt.ReadingsTopic("acme", fmt.Sprintf("lat-%d", i%latSensors))}); err != nil {
			b.Fatal(err)
		}
	}
	var ms []float64
	timeout := time.After(10 * time.Second)
	for len(ms) < n {
		select {
		case v := <-lat:
			ms = append(ms, v)
		case <-timeout:
			b.Logf("%d of %d readings reached /ws within 10 s", len(ms), n)
			n = len(ms)
		}
	}
	slices.Sort(ms)
	if len(ms) == 0 {
		b.Fatal("no reading reached /ws")
	}
	return ms[len(ms)/2], ms[min(len(ms)-1, len(ms)*99/100)]
}

// memoryPerConn opens n idle MQTT 3.1.1 connections and returns the
// growth of the server's RSS and Go heap per connection, in KiB.
func memoryPerConn(b *testing.B, srv *child, token string, n int) (rss, heap float64) {
	rss0, heap0 := serverMemory(b, srv)
	var buf bytes.Buffer
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", srv.mqtt)
		if err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		buf.Reset()
		pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
			Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 600, ClientIdentifier: fmt.Sprintf("idle-%d", i),
				UsernameFlag: true, Username: []byte("acme"), PasswordFlag: true, Password: []byte(token)}}
		if err := pk.ConnectEncode(&buf); err != nil {
			b.Fatal(err)
		}
		c.Write(buf.Bytes())
		ack := make([]byte, 4)
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.ReadFull(c, ack); err != nil || ack[3] != 0 {
			b.Fatalf("connection %d: CONNACK % x %v", i, ack, err)
		}
		conns = append(conns, c)
	}
	time.Sleep(time.Second)
	rss1, heap1 := serverMemory(b, srv)
	b.Logf("%d MQTT connections: RSS %d → %d KiB, heap in use %d → %d KiB", n, rss0, rss1, heap0, heap1)
	return float64(rss1-rss0) / float64(n), float64(heap1-heap0) / float64(n)
}

// serverMemory is the child's VmRSS and the Go heap in use it reports
// on /metrics, in KiB.
func serverMemory(b *testing.B, srv *child) (rss, heap int64) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc")
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			rss, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	resp, err := http.Get(srv.base + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			heap = int64(f) / 1024
		}
	}
	return rss, heap
}
