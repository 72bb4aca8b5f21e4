//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/kiruna-twin/kiruna-twin/server/mqtt"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
)

var mqttAddrRE = regexp.MustCompile(`mqtt_addr=(\S+)`)

// child is the serve command in a process of its own (see TestMain), so
// that a test can kill it with SIGKILL.
type child struct {
	cmd        *exec.Cmd
	base, mqtt string
}

func startChild(t testing.TB, data, scene string, extra ...string) *child {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", data, "--scene", scene, "--simulate=false",
		"--mqtt", "127.0.0.1:0", "--log-level", "info"}, extra...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := &child{cmd: cmd}
	found := make(chan struct{})
	var logs bytes.Buffer
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			logs.WriteString(sc.Text() + "\n")
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				c.base = "http://" + m[1]
			}
			if m := mqttAddrRE.FindStringSubmatch(sc.Text()); m != nil {
				c.mqtt = m[1]
				close(found)
			}
			logMu.Unlock()
		}
	}()
	select {
	case <-found:
	case <-time.After(60 * time.Second):
		logMu.Lock()
		defer logMu.Unlock()
		t.Fatalf("the server did not say where MQTT listens within 60 s:\n%s", logs.String())
	}
	logMu.Lock()
	base := c.base
	logMu.Unlock()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("not ready within 60 s")
		}
	}
	return c
}

func registerSensor(t testing.TB, base, token, id string) {
	t.Helper()
	registerTyped(t, base, token, id, "snow_depth")
}

func registerTyped(t testing.TB, base, token, id, typ string) {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"type":%q,"lon":10.05,"lat":60.05}`, id, typ)
	req, _ := http.NewRequest("POST", base+"/api/sensors", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("registering %s: %s", id, resp.Status)
	}
}

func readingsOf(t testing.TB, base, id string) []json.RawMessage {
	t.Helper()
	resp, err := http.Get(base + "/api/sensors/" + id + "/readings")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Readings []json.RawMessage `json:"readings"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.Readings
}

func dialMQTT(t testing.TB, addr, user, pass, clientID string) *paho.Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn, OnClientError: func(error) {}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: clientID, CleanStart: true, KeepAlive: 30,
		Username: user, UsernameFlag: true, Password: []byte(pass), PasswordFlag: true}); err != nil {
		t.Fatalf("connecting as %s: %v", user, err)
	}
	return c
}

// TestMQTTKillNineAfterPUBACK: 1,000 readings published with QoS 1 from
// several goroutines; the server is killed with SIGKILL right after the
// last PUBACK; after a restart all 1,000 are there.
func TestMQTTKillNineAfterPUBACK(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server twice as a child process")
	}
	data, scene := t.TempDir(), liveScene(t)
	token, err := live.AddTenant(data, "acme", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	fast := []string{"--write-rate", "100000", "--write-burst", "100000", "--mqtt-conn-rate", "100000"}
	srv := startChild(t, data, scene, fast...)
	registerSensor(t, srv.base, token, "k-1")
	c := dialMQTT(t, srv.mqtt, "acme", token, "killer")
	const n, workers = 1000, 16
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	var next, acked atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				payload := fmt.Sprintf(`{"value": %d, "time": %q}`, i%500, base.Add(time.Duration(i)*time.Second).Format(time.RFC3339))
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				pr, err := c.Publish(ctx, &paho.Publish{Topic: mqtt.ReadingsTopic("acme", "k-1"), QoS: 1, Payload: []byte(payload)})
				cancel()
				if err != nil || pr.ReasonCode != 0 {
					t.Errorf("reading %d: %+v %v", i, pr, err)
					return
				}
				acked.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := srv.cmd.Process.Kill(); err != nil { // SIGKILL, right after the last PUBACK
		t.Fatal(err)
	}
	_ = srv.cmd.Wait()
	if acked.Load() != n {
		t.Fatalf("%d PUBACKs of %d", acked.Load(), n)
	}
	again := startChild(t, data, scene)
	if got := len(readingsOf(t, again.base, "k-1")); got != n {
		t.Fatalf("after kill -9 and a restart: %d readings of %d acknowledged", got, n)
	}
}

// TestMosquittoClients: Debian's mosquitto_pub and mosquitto_sub, as a
// company would use them, in MQTT 3.1.1 and 5.
func TestMosquittoClients(t *testing.T) {
	for _, tool := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing (apt-get install mosquitto-clients); CI must run this test", tool)
			}
			t.Skipf("%s is not installed (apt-get install mosquitto-clients)", tool)
		}
	}
	data := t.TempDir()
	token, err := live.AddTenant(data, "acme", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	base, _ := startServer(t, "--data", data, "--scene", liveScene(t), "--simulate=false", "--mqtt", addr.String())
	registerSensor(t, base, token, "m-1")
	port := fmt.Sprint(addr.Port)
	common := []string{"-h", "127.0.0.1", "-p", port, "-u", "acme", "-P", token}

	// A dashboard waits for two states of m-1.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub := exec.CommandContext(ctx, "mosquitto_sub", append(common, "-V", "mqttv311", "-t", "kiruna/+/sensors/m-1/state", "-C", "3", "-q", "1")...)
	var subOut bytes.Buffer
	sub.Stdout = &subOut
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // subscribed (and given the retained state)

	for i, v := range []string{"mqttv311", "mqttv5"} {
		out, err := exec.Command("mosquitto_pub", append(common, "-V", v, "-q", "1", "-t", "kiruna/acme/sensors/m-1/readings",
			"-m", fmt.Sprintf(`{"value": %d}`, 30+i))...).CombinedOutput()
		if err != nil {
			t.Fatalf("mosquitto_pub %s: %v\n%s", v, err, out)
		}
		if got := len(readingsOf(t, base, "m-1")); got != i+1 {
			t.Fatalf("after mosquitto_pub %s: %d readings, want %d", v, got, i+1)
		}
		time.Sleep(200 * time.Millisecond) // each reading its own state message
	}
	if err := sub.Wait(); err != nil {
		t.Fatalf("mosquitto_sub: %v\n%s", err, subOut.String())
	}
	lines := strings.Split(strings.TrimSpace(subOut.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[2], `"value":31`) || !strings.Contains(lines[1], `"value":30`) {
		t.Errorf("mosquitto_sub saw:\n%s", subOut.String())
	}

	// A wrong token is refused at CONNECT.
	out, err := exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-u", "acme", "-P", "kt_wrong",
		"-q", "1", "-t", "kiruna/acme/sensors/m-1/readings", "-m", `{"value": 1}`).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "not authori") {
		t.Errorf("a wrong token: %v\n%s", err, out)
	}
	// MQTT 5: another company's topic is answered "not authorized".
	out, _ = exec.Command("mosquitto_pub", append(common, "-V", "mqttv5", "-q", "1", "-t", "kiruna/other/sensors/m-1/readings",
		"-m", `{"value": 1}`)...).CombinedOutput()
	if !strings.Contains(string(out), "Not authorized") {
		t.Errorf("another company's topic:\n%s", out)
	}
	if got := len(readingsOf(t, base, "m-1")); got != 2 {
		t.Errorf("%d readings, want 2", got)
	}
}

// TestSimulateOverMQTT: with --simulate-mqtt the scene's sensors move
// through the MQTT listener, as a device's would.
func TestSimulateOverMQTT(t *testing.T) {
	base, _ := startServer(t, "--scene", liveScene(t), "--mqtt", "127.0.0.1:0", "--simulate-mqtt")
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if m := regexp.MustCompile(`kiruna_mqtt_readings_total (\d+)`).FindSubmatch(body); m != nil && string(m[1]) != "0" {
			if got := len(readingsOf(t, base, "sim-0")); got == 0 {
				t.Fatal("the simulator's readings went over MQTT but sim-0 has none")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no readings over MQTT within 30 s:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
