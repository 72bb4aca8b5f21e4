package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/paulmach/orb"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// liveEnv is a server with a small scene of sensors, a store and two
// companies.
type liveEnv struct {
	srv    *Server
	ts     *httptest.Server
	store  *live.Store
	model  *twin.Model
	dir    string
	tokA   string // company "acme"
	tokB   string // company "beta"
	tokRev string // revoked company "gone"
}

// sceneSensors: a grid of 10 × 10 scene sensors over [20.0, 20.9] × [67.0, 67.9].
func sceneSensors() []*twin.Feature {
	var fs []*twin.Feature
	types := []string{"waste_fill", "snow_depth", "air_quality", "district_heating"}
	for i := 0; i < 10; i++ {
		for j := 0; j < 10; j++ {
			typ := types[(i+j)%len(types)]
			fs = append(fs, &twin.Feature{
				ID: fmt.Sprintf("s%d%d", i, j), Layer: twin.Sensors, Name: fmt.Sprintf("Sensor %d,%d", i, j),
				Geometry: orb.Point{20 + float64(i)/10, 67 + float64(j)/10},
				Life:     twin.Lifespan{From: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
				Props:    map[string]any{"type": typ},
			})
		}
	}
	return fs
}

func newLiveEnv(t testing.TB, hub HubOptions) *liveEnv {
	t.Helper()
	e := &liveEnv{dir: t.TempDir(), model: twin.NewModel()}
	if err := e.model.Load(sceneSensors()); err != nil {
		t.Fatal(err)
	}
	var err error
	now := time.Now()
	if e.tokA, err = live.AddTenant(e.dir, "acme", now); err != nil {
		t.Fatal(err)
	}
	e.tokB, _ = live.AddTenant(e.dir, "beta", now)
	e.tokRev, _ = live.AddTenant(e.dir, "gone", now)
	if err := live.RevokeTenant(e.dir, "gone", now); err != nil {
		t.Fatal(err)
	}
	tenants, err := live.OpenTenants(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	if hub.Tick == 0 {
		hub.Tick = 10 * time.Millisecond
	}
	e.srv = New(Config{Model: e.model, Logger: quietLog, Tenants: tenants, Hub: hub})
	e.ts = httptest.NewServer(e.srv)
	e.store, err = live.OpenStore(e.dir+"/live", e.model, live.StoreOptions{Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.SetLive(e.store)
	t.Cleanup(func() {
		e.srv.Close()
		e.ts.Close()
		e.store.Close()
	})
	return e
}

func (e *liveEnv) do(t testing.TB, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, e.ts.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %q", method, path, data)
	}
	return resp.StatusCode, out
}

func TestLiveNotReady(t *testing.T) {
	srv := New(Config{Logger: quietLog})
	defer srv.Close()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/api/sensors", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "error") {
		t.Fatalf("before SetLive: %d %s", rec.Code, rec.Body)
	}
}

func TestRegisterSensor(t *testing.T) {
	e := newLiveEnv(t, HubOptions{})
	for _, tc := range []struct {
		name, token, body string
		code              int
		errHas            string
	}{
		{"no token", "", `{"id":"a1","type":"snow_depth","lon":20.1,"lat":67.1}`, 401, "Bearer"},
		{"unknown token", "kt_nope", `{"id":"a1","type":"snow_depth","lon":20.1,"lat":67.1}`, 401, "unknown token"},
		{"revoked token", "REV", `{"id":"a1","type":"snow_depth","lon":20.1,"lat":67.1}`, 401, "revoked"},
		{"created", "A", `{"id":"a1","type":"snow_depth","unit":"cm","lon":20.1,"lat":67.1,"name":"Snö"}`, 201, ""},
		{"updated by its owner", "A", `{"id":"a1","type":"snow_depth","lon":20.11,"lat":67.1,"name":"Snö 2"}`, 200, ""},
		{"taken by another company", "B", `{"id":"a1","type":"snow_depth","lon":20.1,"lat":67.1}`, 409, "taken"},
		{"a scene sensor's id", "B", `{"id":"s00","type":"waste_fill","lon":20.1,"lat":67.1}`, 409, "taken"},
		{"wrong unit", "A", `{"id":"a2","type":"snow_depth","unit":"m","lon":20.1,"lat":67.1}`, 400, "unit"},
		{"missing lat", "A", `{"id":"a2","type":"snow_depth","lon":20.1}`, 400, "lat"},
		{"bad id", "A", `{"id":"a 2","type":"snow_depth","lon":20.1,"lat":67.1}`, 400, "id"},
		{"unknown field", "A", `{"id":"a2","type":"snow_depth","lon":20.1,"lat":67.1,"colour":"red"}`, 400, "colour"},
		{"not JSON", "A", `{"id":`, 400, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := map[string]string{"A": e.tokA, "B": e.tokB, "REV": e.tokRev}[tc.token]
			if tok == "" {
				tok = tc.token
			}
			code, body := e.do(t, "POST", "/api/sensors", tok, tc.body)
			if code != tc.code {
				t.Fatalf("got %d %v, want %d", code, body, tc.code)
			}
			if tc.errHas != "" && !strings.Contains(fmt.Sprint(body["error"]), tc.errHas) {
				t.Fatalf("error %q does not mention %q", body["error"], tc.errHas)
			}
		})
	}
	if f, ok := e.model.Snapshot().Get(twin.Sensors, "a1"); !ok || f.Name != "Snö 2" {
		t.Fatal("the registered sensor is not in the sensors layer (for the tiles)")
	}
	code, body := e.do(t, "GET", "/api/sensors/a1", "", "")
	if code != 200 || body["owner"] != "acme" || body["unit"] != "cm" || body["value"] != nil {
		t.Fatalf("GET /api/sensors/a1: %d %v", code, body)
	}
}

func TestIngestAndRead(t *testing.T) {
	e := newLiveEnv(t, HubOptions{})
	e.do(t, "POST", "/api/sensors", e.tokA, `{"id":"a1","type":"waste_fill","lon":20.05,"lat":67.05}`)
	e.do(t, "POST", "/api/sensors", e.tokB, `{"id":"b1","type":"waste_fill","lon":20.05,"lat":67.05}`)
	now := time.Now().UTC().Truncate(time.Second)
	ts := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	good := fmt.Sprintf(`{"sensor":"a1","time":%q,"value":10}`, ts(-time.Minute))
	batch := func(rs ...string) string { return `{"readings":[` + strings.Join(rs, ",") + `]}` }
	big := make([]string, maxBatch+1)
	for i := range big {
		big[i] = good
	}
	for _, tc := range []struct {
		name, token, body string
		code              int
		errHas            string
	}{
		{"no token", "", batch(good), 401, "Bearer"},
		{"revoked", "REV", batch(good), 401, "revoked"},
		{"another company's sensor", "B", batch(fmt.Sprintf(`{"sensor":"b1","time":%q,"value":1}`, ts(0)), good), 403, "readings[1].sensor"},
		{"a scene sensor", "A", batch(good, fmt.Sprintf(`{"sensor":"s00","time":%q,"value":1}`, ts(0))), 403, "readings[1].sensor"},
		{"unknown sensor", "A", batch(good, `{"sensor":"zz","time":"2025-01-01T00:00:00Z","value":1}`), 400, "readings[1].sensor"},
		{"sensor not a string", "A", batch(`{"sensor":5,"time":"2025-01-01T00:00:00Z","value":1}`), 400, "readings[0].sensor"},
		{"value a string", "A", batch(good, good, fmt.Sprintf(`{"sensor":"a1","time":%q,"value":"7"}`, ts(0))), 400, "readings[2].value"},
		{"value missing", "A", batch(fmt.Sprintf(`{"sensor":"a1","time":%q}`, ts(0))), 400, "readings[0].value"},
		{"value null", "A", batch(fmt.Sprintf(`{"sensor":"a1","time":%q,"value":null}`, ts(0))), 400, "readings[0].value"},
		{"value not finite", "A", batch(fmt.Sprintf(`{"sensor":"a1","time":%q,"value":1e999}`, ts(0))), 400, "readings[0].value"},
		{"value out of range", "A", batch(fmt.Sprintf(`{"sensor":"a1","time":%q,"value":140}`, ts(0))), 400, "readings[0].value"},
		{"time missing", "A", batch(`{"sensor":"a1","value":1}`), 400, "readings[0].time"},
		{"time not RFC 3339", "A", batch(`{"sensor":"a1","time":"yesterday","value":1}`), 400, "readings[0].time"},
		{"time a number", "A", batch(`{"sensor":"a1","time":1700000000,"value":1}`), 400, "readings[0].time"},
		{"time in the future", "A", batch(good, fmt.Sprintf(`{"sensor":"a1","time":%q,"value":1}`, ts(time.Hour))), 400, "readings[1].time"},
		{"unknown field", "A", batch(`{"sensor":"a1","time":"2025-01-01T00:00:00Z","value":1,"unit":"%"}`), 400, "readings[0]"},
		{"no readings", "A", `{}`, 400, "readings: missing"},
		{"empty batch", "A", `{"readings":[]}`, 400, "empty"},
		{"readings not a list", "A", `{"readings":{}}`, 400, "readings"},
		{"not JSON", "A", `readings`, 400, "body"},
		{"two objects", "A", batch(good) + batch(good), 400, "one JSON object"},
		{"batch too large", "A", batch(big...), 413, "at most"},
		{"body too large", "A", `{"readings":[` + strings.Repeat(" ", maxLiveBody) + `]}`, 413, "larger"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := map[string]string{"A": e.tokA, "B": e.tokB, "REV": e.tokRev}[tc.token]
			code, body := e.do(t, "POST", "/api/readings", tok, tc.body)
			if code != tc.code || !strings.Contains(fmt.Sprint(body["error"]), tc.errHas) {
				t.Fatalf("got %d %v, want %d mentioning %q", code, body, tc.code, tc.errHas)
			}
		})
	}
	if st, _ := e.store.Sensors().Get("a1"); !st.Time.IsZero() {
		t.Fatal("a rejected batch left a reading")
	}
	code, body := e.do(t, "POST", "/api/readings", e.tokA, batch(good,
		fmt.Sprintf(`{"sensor":"a1","time":%q,"value":95.5}`, ts(0))))
	if code != 202 || body["accepted"] != 2.0 {
		t.Fatalf("good batch: %d %v", code, body)
	}
	code, body = e.do(t, "GET", "/api/sensors/a1/readings", "", "")
	rs, _ := body["readings"].([]any)
	if code != 200 || len(rs) != 2 || body["unit"] != "%" {
		t.Fatalf("history: %d %v", code, body)
	}
	code, body = e.do(t, "GET", "/api/sensors/a1/readings?from="+ts(-30*time.Second), "", "")
	if rs, _ := body["readings"].([]any); code != 200 || len(rs) != 1 {
		t.Fatalf("history from: %d %v", code, body)
	}
	code, body = e.do(t, "GET", "/api/sensors?bbox=20.0,67.0,20.06,67.06", "", "")
	list, _ := body["sensors"].([]any)
	if code != 200 || len(list) != 3 { // s00, a1, b1
		t.Fatalf("bbox search: %d %v", code, body)
	}
	for _, x := range list {
		m := x.(map[string]any)
		if m["id"] == "a1" && (m["value"] != 95.5 || m["status"] != "alarm") {
			t.Fatalf("a1 in the list: %v", m)
		}
	}
	for _, q := range []string{"/api/sensors?bbox=1,2,3", "/api/sensors?bbox=a,b,c,d", "/api/sensors?bbox=0,81,10,80", "/api/sensors?bbox=-200,0,0,1",
		"/api/sensors/a1/readings?from=never", "/api/sensors/a1/readings?limit=0"} {
		if code, _ := e.do(t, "GET", q, "", ""); code != 400 {
			t.Errorf("GET %s: %d, want 400", q, code)
		}
	}
	if code, _ := e.do(t, "GET", "/api/sensors/nope/readings", "", ""); code != 404 {
		t.Errorf("unknown sensor's readings: %d, want 404", code)
	}
	// Metrics show the ingest.
	resp, _ := http.Get(e.ts.URL + "/metrics")
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"kiruna_ingest_readings_total 2", "kiruna_store_commit_seconds_count", "kiruna_ws_clients 0", "kiruna_ingest_rejected_total"} {
		if !bytes.Contains(m, []byte(name)) {
			t.Errorf("metrics lack %q", name)
		}
	}
}

// TestSensorsAntimeridianBBox: a bbox whose west is east of its east
// crosses the antimeridian on /api/sensors as on /collections: two boxes
// searched, each sensor once, sorted by id.
func TestSensorsAntimeridianBBox(t *testing.T) {
	e := newLiveEnv(t, HubOptions{})
	for _, b := range []string{
		`{"id":"east","type":"snow_depth","lon":179.5,"lat":0}`,
		`{"id":"west","type":"snow_depth","lon":-179.5,"lat":0}`,
		`{"id":"edge","type":"snow_depth","lon":180,"lat":0}`,
		`{"id":"middle","type":"snow_depth","lon":0,"lat":0}`,
	} {
		if code, body := e.do(t, "POST", "/api/sensors", e.tokA, b); code != http.StatusCreated {
			t.Fatalf("register %s: %d %v", b, code, body)
		}
	}
	ids := func(q string) string {
		t.Helper()
		code, body := e.do(t, "GET", "/api/sensors?bbox="+q, "", "")
		if code != http.StatusOK {
			t.Fatalf("bbox=%s: %d %v", q, code, body)
		}
		var out []string
		for _, x := range body["sensors"].([]any) {
			out = append(out, x.(map[string]any)["id"].(string))
		}
		return strings.Join(out, ",")
	}
	for q, want := range map[string]string{
		"179,-1,-179,1":   "east,edge,west",
		"170,60,-170,70":  "",
		"-1,-1,1,1":       "middle",
		"0,0,0,0":         "middle", // a point is a box too, not "no box"
		"179,-1,179.9,1":  "east",
		"-180,-1,-179,1":  "west",
		"179.9,-1,180,1":  "edge",
		"179.9,-1,-180,1": "edge",
	} {
		if got := ids(q); got != want {
			t.Errorf("bbox=%s: %q, want %q", q, got, want)
		}
	}
}

func TestDecodeReadingsBody(t *testing.T) {
	rs, err := decodeReadingsBody([]byte(`{"readings":[{"sensor":"x","time":"2025-08-20T01:30:00.5+02:00","value":-1.5e2}]}`))
	if err != nil || len(rs) != 1 || rs[0].Value != -150 || rs[0].Time.UTC().Format(time.RFC3339Nano) != "2025-08-19T23:30:00.5Z" {
		t.Fatalf("%+v %v", rs, err)
	}
}
