package server

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestDuplicateNamesRefused: a body that names a member twice is refused
// with the member's path (encoding/json would keep the last silently: a
// reading naming its sensor twice was stored under the second).
func TestDuplicateNamesRefused(t *testing.T) {
	e := newLiveEnv(t, HubOptions{})
	if code, body := e.do(t, "POST", "/api/sensors", e.tokA, `{"id":"acme-1","type":"snow_depth","lon":20.1,"lat":67.1}`); code != 201 {
		t.Fatalf("register: %d %v", code, body)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	for _, c := range []struct {
		name, path, body, want string
	}{
		{"a reading naming its sensor twice", "/api/readings",
			`{"readings":[{"sensor":"acme-1","sensor":"s00","time":"` + now + `","value":1}]}`, "readings[0].sensor: given twice"},
		{"a value twice", "/api/readings",
			`{"readings":[{"sensor":"acme-1","time":"` + now + `","value":1},{"sensor":"acme-1","time":"` + now + `","value":1,"value":2}]}`, "readings[1].value: given twice"},
		{"readings twice", "/api/readings",
			`{"readings":[{"sensor":"acme-1","time":"` + now + `","value":1}],"readings":[]}`, "readings: given twice"},
		{"a sensor's id twice", "/api/sensors", `{"id":"acme-2","id":"s00","type":"snow_depth","lon":20.1,"lat":67.1}`, "id: given twice"},
		{"invalid UTF-8", "/api/sensors", "{\"id\":\"acme-2\",\"type\":\"snow_depth\",\"lon\":20.1,\"lat\":67.1,\"name\":\"\xff\"}", "invalid UTF-8"},
	} {
		code, body := e.do(t, "POST", c.path, e.tokA, c.body)
		if code != 400 || !strings.Contains(fmt.Sprint(body["error"]), c.want) {
			t.Errorf("%s: %d %v, want 400 with %q", c.name, code, body, c.want)
		}
	}
	if st, _ := e.store.Sensors().Get("acme-1"); !st.Time.IsZero() {
		t.Errorf("a refused batch was stored: %+v", st)
	}
}

// TestReadingsNeedJSON: POST /api/readings takes application/json only.
func TestReadingsNeedJSON(t *testing.T) {
	e := newLiveEnv(t, HubOptions{})
	e.do(t, "POST", "/api/sensors", e.tokA, `{"id":"acme-1","type":"snow_depth","lon":20.1,"lat":67.1}`)
	body := fmt.Sprintf(`{"readings":[{"sensor":"acme-1","time":%q,"value":1}]}`, time.Now().UTC().Format(time.RFC3339))
	for _, c := range []struct {
		ctype string
		code  int
	}{
		{"", 415}, {"text/plain", 415}, {"application/x-www-form-urlencoded", 415}, {"multipart/form-data; boundary=x", 415},
		{"application/jsonx", 415}, {"application/json; charset", 415},
		{"application/json", 202}, {"application/json; charset=utf-8", 202}, {"Application/JSON", 202},
	} {
		req, _ := http.NewRequest("POST", e.ts.URL+"/api/readings", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+e.tokA)
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out ErrorBody
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != c.code || c.code == 415 && !strings.Contains(out.Error, "application/json") {
			t.Errorf("Content-Type %q: %d %q, want %d", c.ctype, resp.StatusCode, out.Error, c.code)
		}
	}
}

// TestItemRefusesUnknownParameters: /items/{id}, like /items, refuses a
// parameter it does not know; so do the other OGC API documents.
func TestItemRefusesUnknownParameters(t *testing.T) {
	e := newLiveEnv(t, HubOptions{})
	for _, c := range []struct {
		path string
		code int
		want string
	}{
		{"/collections/sensors/items/s00", 200, ""},
		{"/collections/sensors/items/s00?f=json", 200, ""},
		{"/collections/sensors/items/s00?bbox=1,2,3,4", 400, "bbox: unknown parameter"},
		{"/collections/sensors/items/s00?limti=5", 400, "limti: unknown parameter"},
		{"/collections/sensors/items/s00?f=json&f=json", 400, "f: given 2 times"},
		{"/collections/sensors?foo=1", 400, "foo: unknown parameter"},
		{"/collections?foo=1", 400, "foo: unknown parameter"},
		{"/conformance?foo=1", 400, "foo: unknown parameter"},
	} {
		code, body := e.do(t, "GET", c.path, "", "")
		if code != c.code || c.want != "" && !strings.Contains(fmt.Sprint(body["error"]), c.want) {
			t.Errorf("%s: %d %v, want %d %q", c.path, code, body, c.code, c.want)
		}
	}
}

// TestEveryErrorIsJSON: net/http's own answers — to a request it cannot
// parse (400), headers over the limit (431), an unknown transfer coding
// (501) — and the mux's redirects to a cleaned path are JSON too.
func TestEveryErrorIsJSON(t *testing.T) {
	e := newLiveEnv(t, HubOptions{})
	ts := httptest.NewUnstartedServer(e.srv)
	ts.Listener = JSONErrorListener(ts.Listener)
	ts.Config.MaxHeaderBytes = 4096
	ts.Start()
	defer ts.Close()
	addr := ts.Listener.Addr().String()
	raw := func(req string) (*http.Response, string) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		go io.WriteString(c, req) // a server that answers early may not read it all
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", req[:min(len(req), 40)], err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	for _, c := range []struct {
		name, req string
		code      int
		want      string
	}{
		{"a malformed request line", "GET\r\n\r\n", 400, "Bad Request"},
		{"no Host", "GET /healthz HTTP/1.1\r\n\r\n", 400, "missing required Host header"},
		{"a malformed header", "GET /healthz HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", 400, "Bad Request"},
		{"headers over the limit", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n", 431, "Request Header Fields Too Large"},
		{"an unknown transfer coding", "POST /api/readings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: rot13\r\n\r\n", 501, "Unsupported transfer encoding"},
		{"a path to clean", "GET /collections/../healthz HTTP/1.1\r\nHost: x\r\n\r\n", 307, "/healthz"},
		{"a double slash", "GET //healthz HTTP/1.1\r\nHost: x\r\n\r\n", 307, "/healthz"},
		{"not found", "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 404, "Not Found"},
	} {
		resp, body := raw(c.req)
		var out ErrorBody
		err := json.Unmarshal([]byte(body), &out)
		if resp.StatusCode != c.code || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || err != nil || !strings.Contains(out.Error, c.want) {
			t.Errorf("%s: %d %s %q, want %d JSON with %q", c.name, resp.StatusCode, resp.Header.Get("Content-Type"), body, c.code, c.want)
		}
	}
	// A request on a kept-alive connection after a good one, and a good
	// answer, pass through untouched.
	resp, body := raw("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 200 || !strings.Contains(body, `"up"`) {
		t.Errorf("healthz: %d %s", resp.StatusCode, body)
	}
}

func TestRewriteEarlyError(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // "" when left alone
	}{
		{"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n431 Request Header Fields Too Large",
			"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 48\r\nConnection: close\r\n\r\n{\"error\":\"431 Request Header Fields Too Large\"}\n"},
		{"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi", ""},
		{"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nhi", ""},
		{"HTTP/1.1 400 X\r\nDate: now\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nx", ""},
		{"\x81\x05hello", ""},
	} {
		out, ok := rewriteEarlyError([]byte(c.in))
		if ok != (c.want != "") || string(out) != c.want {
			t.Errorf("%q → %q %v", c.in, out, ok)
		}
	}
}
