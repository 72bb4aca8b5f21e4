package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kiruna-twin/kiruna-twin/twin/natsbus/natstest"
	"github.com/kiruna-twin/kiruna-twin/twin/pgstore/pgtest"
)

// nginxPath finds nginx: without it the test skips, and fails under CI.
func nginxPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("nginx is not installed: CI must run the deploy/ example (apt-get install nginx)")
	}
	t.Skip("nginx is not installed: apt-get install nginx to run the deploy/ example")
	return ""
}

// TestNginxFrontsThreeReplicas: deploy/nginx.conf passes nginx -t as
// shipped and, pointed at three replicas on one store and one bus, makes
// them one twin: a WebSocket client and writes through nginx land on
// different replicas and still meet.
func TestNginxFrontsThreeReplicas(t *testing.T) {
	nginx := nginxPath(t)
	conf, err := os.ReadFile("../../deploy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 { // as shipped it writes to /run and /var/log/nginx
		if out, err := exec.Command(nginx, "-t", "-c", mustAbs(t, "../../deploy/nginx.conf")).CombinedOutput(); err != nil {
			t.Fatalf("nginx -t on deploy/nginx.conf: %v\n%s", err, out)
		}
	}

	store := pgtest.Database(t)
	bus := natstest.Run(t, -1).ClientURL()
	scene := liveScene(t)
	token := sharedTenant(t, store, "acme")
	text := string(conf)
	var replicas []string
	for i := 1; i <= 3; i++ {
		base, _ := startServer(t, "--scene", scene, "--store", store, "--bus", bus, "--trusted-proxy", "127.0.0.1/32")
		replicas = append(replicas, base)
		text = mustReplace(t, text, fmt.Sprintf("127.0.0.1:808%d", i), strings.TrimPrefix(base, "http://"))
	}
	dir := t.TempDir()
	port := freePort(t)
	text = mustReplace(t, text, "listen 8080;", fmt.Sprintf("listen 127.0.0.1:%d;", port))
	text = mustReplace(t, text, "/run/kiruna-twin-nginx.pid", filepath.Join(dir, "nginx.pid"))
	text = mustReplace(t, text, "/var/log/nginx/kiruna-twin-error.log", filepath.Join(dir, "error.log"))
	text = mustReplace(t, text, "/var/log/nginx/kiruna-twin-access.log", filepath.Join(dir, "access.log"))
	text = strings.Replace(text, "http {", fmt.Sprintf("http {\n    client_body_temp_path %[1]s/body;\n    proxy_temp_path %[1]s/proxy;\n    fastcgi_temp_path %[1]s/fastcgi;\n    uwsgi_temp_path %[1]s/uwsgi;\n    scgi_temp_path %[1]s/scgi;", dir), 1)
	text = strings.Replace(text, "worker_processes auto;", "worker_processes 1;\ndaemon off;", 1)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", confPath, "-e", filepath.Join(dir, "error.log"))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	front := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitReady(t, front, 10*time.Second)

	// nginx sets the forwarding headers itself: a client's are overwritten.
	req, _ := http.NewRequest(http.MethodGet, front+"/style.json", nil)
	req.Header.Set("X-Forwarded-Host", "evil.example")
	req.Header.Set("X-Forwarded-Proto", "https")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Contains(body, []byte("evil.example")) || !bytes.Contains(body, []byte(front+"/")) {
			t.Fatalf("style.json through nginx with a client's X-Forwarded-Host does not name %s alone", front)
		}
	}

	ws, _, err := websocket.DefaultDialer.Dial(wsURL(front), nil)
	if err != nil {
		t.Fatalf("WebSocket through nginx: %v", err)
	}
	defer ws.Close()
	postJSON(t, front+"/api/sensors", token, map[string]any{"id": "acme-snow", "type": "snow_depth", "lon": 10.05, "lat": 60.06}, http.StatusCreated)
	for deadline := time.Now().Add(5 * time.Second); ; {
		ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","bbox":[10,60,10.2,60.1]}`))
		if snap := readMsg(t, ws, "snapshot"); len(snap.Sensors) == 7 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new sensor is not in the snapshot through nginx within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, r := range replicas { // a registration reaches every replica in milliseconds
		for deadline := time.Now().Add(5 * time.Second); ; {
			if code, _ := call(t, http.MethodGet, r+"/api/sensors/acme-snow", "", "", ""); code == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %s does not know the new sensor within 5 s", r)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// Several writes through nginx: they spread over the replicas, and
	// every one reaches the client, wherever it is connected.
	for i := 0; i < 6; i++ {
		v := float64(10 + i)
		postJSON(t, front+"/api/readings", token, map[string]any{"readings": []any{
			map[string]any{"sensor": "acme-snow", "time": time.Now().UTC().Add(time.Duration(i-10) * time.Second).Format(time.RFC3339Nano), "value": v},
		}}, http.StatusAccepted)
		for {
			m := readMsg(t, ws, "update")
			if len(m.Sensors) > 0 && m.Sensors[0].ID == "acme-snow" && m.Sensors[0].Value != nil && *m.Sensors[0].Value == v {
				break
			}
		}
	}
	served := 0
	for _, r := range replicas {
		if metric(t, r, "kiruna_ingest_batches_total") > 0 {
			served++
		}
	}
	if served < 2 {
		t.Fatalf("nginx sent the writes to %d replica(s), want them spread", served)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustReplace(t *testing.T, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("deploy/nginx.conf has no %q", old)
	}
	return strings.Replace(s, old, new, 1)
}
