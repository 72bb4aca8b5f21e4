package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
)

// TestNaiveHubOneFramePerUpdate: the child server of --mode naive takes
// registrations and readings as the twin does, and its /ws sends a
// snapshot, then one frame per update; a bad message gets an error.
func TestNaiveHubOneFramePerUpdate(t *testing.T) {
	dir := t.TempDir()
	token, err := live.AddTenant(dir, "load", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h, closeServer, err := newServer(config{mode: "naive", data: dir, tick: 50 * time.Millisecond, clients: 10}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer func() { ts.Close(); closeServer() }()
	post := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
	}
	for i := range 2 {
		post("/api/sensors", fmt.Sprintf(`{"id":"L%05d","type":"load_counter","unit":"n","lon":20.2%d,"lat":67.85}`, i, i))
	}
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type msg struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Sensors []struct {
			ID    string   `json:"id"`
			Value *float64 `json:"value"`
		} `json:"sensors"`
	}
	next := func() msg {
		t.Helper()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var m msg
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		return m
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"dance"}`)); err != nil {
		t.Fatal(err)
	}
	if m := next(); m.Type != "error" || !strings.Contains(m.Message, "unknown message type") {
		t.Fatalf("a bad message: %+v", m)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","bbox":[20,67,21,68]}`)); err != nil {
		t.Fatal(err)
	}
	if m := next(); m.Type != "snapshot" || len(m.Sensors) != 2 {
		t.Fatalf("snapshot %+v", m)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	post("/api/readings", fmt.Sprintf(`{"readings":[{"sensor":"L00000","time":%q,"value":1},{"sensor":"L00001","time":%q,"value":2}]}`, now, now))
	for _, want := range []string{"L00000", "L00001"} {
		m := next()
		if m.Type != "update" || len(m.Sensors) != 1 || m.Sensors[0].ID != want {
			t.Fatalf("naive frame %+v, want one update of %s", m, want)
		}
	}
}
