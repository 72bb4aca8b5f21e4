package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/kiruna-twin/kiruna-twin/scenes/crs"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
)

// call sends one request and returns the status and the body.
func call(t testing.TB, method, u, token, ctype, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustTenant(t *testing.T, data, name string) string {
	t.Helper()
	token, err := addTenant(data, name)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// readInvalidate waits for the next invalidate message and returns its box.
func readInvalidate(t *testing.T, c *websocket.Conn) []float64 {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for invalidate: %v", err)
		}
		var m struct {
			Type string    `json:"type"`
			BBox []float64 `json:"bbox"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		if m.Type == "invalidate" {
			return m.BBox
		}
	}
}

// A pilot near the new centre: a pipe, a bin sensor and a building.
const pilotGeoJSON = `{"type":"FeatureCollection","features":[
 {"type":"Feature","id":"pipe","geometry":{"type":"LineString","coordinates":[[20.300,67.850],[20.305,67.851]]},"properties":{"kind":"district_heating","name":"Ny värmeslinga","from":"2026-01"}},
 {"type":"Feature","id":"bin1","geometry":{"type":"Point","coordinates":[20.3021,67.8502]},"properties":{"kind":"sensor","name":"Kärl 1","sensor":true,"type":"waste_fill","unit":"%"}},
 {"type":"Feature","id":"house","geometry":{"type":"Polygon","coordinates":[[[20.3060,67.8480],[20.3064,67.8480],[20.3064,67.8482],[20.3060,67.8482],[20.3060,67.8480]]]},"properties":{"kind":"proposal","height":12,"from":2027}}
]}`

// pilotInTile reports whether the z15 tile over p holds a pilots feature
// with the given id.
func pilotInTile(t *testing.T, base string, p orb.Point, id string) bool {
	t.Helper()
	tile := maptile.At(p, 15)
	resp, err := http.Get(fmt.Sprintf("%s/tiles/%d/%d/%d.mvt", base, tile.Z, tile.X, tile.Y))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNoContent {
		return false
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("tile: %d %s", resp.StatusCode, data)
	}
	layers, err := mvt.Unmarshal(data)
	if err != nil {
		t.Fatalf("tile: %v", err)
	}
	for _, l := range layers {
		if l.Name != "pilots" {
			continue
		}
		for _, f := range l.Features {
			if f.Properties["id"] == id {
				if f.Properties["company"] == nil || f.Properties["pilot"] == nil {
					t.Errorf("pilot feature %s lacks pilot and company: %v", id, f.Properties)
				}
				return true
			}
		}
	}
	return false
}

func TestPilotsPerCompany(t *testing.T) {
	data := t.TempDir()
	acme, beta, gamma := mustTenant(t, data, "acme"), mustTenant(t, data, "beta"), mustTenant(t, data, "gamma")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"tenant", "revoke", "gamma", "--data", data}, &out, &errb); code != 0 {
		t.Fatalf("tenant revoke: %d %s", code, errb.String())
	}
	base, stop := startServer(t, "--data", data, "--simulate=false")

	// A WebSocket client watching the new centre hears of the upload.
	ws, _, err := websocket.DefaultDialer.Dial(wsURL(base), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","bbox":[20.29,67.84,20.32,67.86]}`))
	readMsg(t, ws, "snapshot")

	pipeAt := orb.Point{20.3025, 67.8505}
	if pilotInTile(t, base, pipeAt, "pilot:heat-loop:pipe") {
		t.Fatal("the pilot is in the tile before the upload")
	}
	code, body := call(t, "PUT", base+"/api/pilots/heat-loop", acme, "application/geo+json", pilotGeoJSON)
	if code != http.StatusCreated || !strings.Contains(body, `"company":"acme"`) || !strings.Contains(body, "acme:heat-loop.bin1") {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if inv := readInvalidate(t, ws); len(inv) != 4 || inv[0] > 20.3 || inv[2] < 20.305 {
		t.Errorf("invalidate bbox %v does not cover the pilot", inv)
	}
	if !pilotInTile(t, base, pipeAt, "pilot:heat-loop:pipe") {
		t.Error("the pilot is not in the tile after the upload")
	}
	code, body = call(t, "GET", base+"/collections/pilots/items?bbox=20.29,67.84,20.32,67.86", "", "", "")
	if code != 200 || !strings.Contains(body, `"numberMatched":3`) || !strings.Contains(body, `"pilot":"heat-loop"`) {
		t.Errorf("collection: %d %s", code, body)
	}
	// The pilot's sensor is acme's: acme posts to it, beta may not.
	reading := fmt.Sprintf(`{"readings":[{"sensor":"acme:heat-loop.bin1","time":%q,"value":40}]}`, time.Now().UTC().Format(time.RFC3339))
	if code, body := call(t, "POST", base+"/api/readings", acme, "application/json", reading); code != http.StatusAccepted {
		t.Errorf("acme's reading: %d %s", code, body)
	}

	cases := []struct {
		name, method, path, token, body string
		code                            int
		msg                             string
	}{
		{"beta replaces acme's pilot", "PUT", "/api/pilots/heat-loop", beta, pilotGeoJSON, 403, "belongs to another company"},
		{"beta deletes acme's pilot", "DELETE", "/api/pilots/heat-loop", beta, "", 403, "belongs to another company"},
		{"beta posts into acme's pilot sensor", "POST", "/api/readings", beta, reading, 403, "acme:heat-loop.bin1"},
		{"no token", "PUT", "/api/pilots/heat-loop", "", pilotGeoJSON, 401, "Authorization: Bearer"},
		{"no token deletes", "DELETE", "/api/pilots/heat-loop", "", "", 401, "Authorization: Bearer"},
		{"revoked token", "PUT", "/api/pilots/other", gamma, pilotGeoJSON, 401, "revoked"},
		{"unknown token", "PUT", "/api/pilots/other", "kt_not-a-token", pilotGeoJSON, 401, "unknown token"},
	}
	for _, c := range cases {
		ctype := "application/geo+json"
		if c.path == "/api/readings" {
			ctype = "application/json"
		}
		code, body := call(t, c.method, base+c.path, c.token, ctype, c.body)
		if code != c.code || !strings.Contains(body, c.msg) {
			t.Errorf("%s: %d %s; want %d with %q", c.name, code, body, c.code, c.msg)
		}
	}

	// Replace: the building goes, the pipe stays.
	replaced := strings.Replace(pilotGeoJSON, `,
 {"type":"Feature","id":"house"`, `,
 {"type":"Feature","id":"house2"`, 1)
	if code, body := call(t, "PUT", base+"/api/pilots/heat-loop", acme, "application/geo+json", replaced); code != 200 {
		t.Fatalf("replace: %d %s", code, body)
	}
	if code, body := call(t, "GET", base+"/collections/pilots/items/pilot:heat-loop:house", "", "", ""); code != 404 {
		t.Errorf("the replaced feature is still served: %d %s", code, body)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	// After a restart the pilot is there as uploaded, and acme withdraws it.
	base, _ = startServer(t, "--data", data, "--simulate=false")
	code, body = call(t, "GET", base+"/api/pilots/heat-loop", "", "", "")
	if code != 200 || !strings.Contains(body, "house2") || strings.Contains(body, `"pilot:heat-loop:house"`) || !strings.Contains(body, "Ny värmeslinga") {
		t.Fatalf("after a restart: %d %s", code, body)
	}
	if code, body := call(t, "DELETE", base+"/api/pilots/heat-loop", acme, "", ""); code != 204 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if pilotInTile(t, base, pipeAt, "pilot:heat-loop:pipe") {
		t.Error("the withdrawn pilot is still in the tile")
	}
	if code, _ := call(t, "GET", base+"/api/pilots/heat-loop", "", "", ""); code != 404 {
		t.Errorf("the withdrawn pilot answers %d", code)
	}
}

// A CityJSON pilot in SWEREF 99 TM (EPSG:3006): a proposed building near
// Kristallen becomes a footprint with its height.
func TestPilotCityJSON(t *testing.T) {
	data := t.TempDir()
	acme := mustTenant(t, data, "acme")
	base, _ := startServer(t, "--data", data, "--simulate=false")
	sweref, err := crs.EPSG(3006)
	if err != nil {
		t.Fatal(err)
	}
	x, y := sweref.FromWGS84(20.3040, 67.8475)
	// A 20 × 12 m box, 15 m tall, as an LoD1 solid in whole millimetres.
	v := func(dx, dy, z float64) string {
		return fmt.Sprintf("[%d,%d,%d]", int((x+dx)*1000), int((y+dy)*1000), int(z*1000))
	}
	doc := `{"type":"CityJSON","version":"2.0","transform":{"scale":[0.001,0.001,0.001],"translate":[0,0,0]},
 "metadata":{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/3006"},
 "CityObjects":{"prop-1":{"type":"Building","attributes":{"yearOfConstruction":2028,"function":"housing"},
  "geometry":[{"type":"Solid","lod":"1","boundaries":[[[[0,3,2,1]],[[4,5,6,7]],[[0,1,5,4]],[[1,2,6,5]],[[2,3,7,6]],[[3,0,4,7]]]]}]}},
 "vertices":[` + strings.Join([]string{v(0, 0, 0), v(20, 0, 0), v(20, 12, 0), v(0, 12, 0), v(0, 0, 15), v(20, 0, 15), v(20, 12, 15), v(0, 12, 15)}, ",") + `]}`
	code, body := call(t, "PUT", base+"/api/pilots/proposal", acme, "application/city+json", doc)
	if code != http.StatusCreated {
		t.Fatalf("PUT CityJSON: %d %s", code, body)
	}
	code, body = call(t, "GET", base+"/api/pilots/proposal", "", "", "")
	var fc struct {
		Features []struct {
			Geometry struct {
				Coordinates [][][2]float64
			}
			Properties map[string]any
		}
	}
	if err := json.Unmarshal([]byte(body), &fc); err != nil || code != 200 || len(fc.Features) != 1 {
		t.Fatalf("GET: %d %s %v", code, body, err)
	}
	f := fc.Features[0]
	if h, _ := f.Properties["height"].(float64); h < 14.9 || h > 15.1 {
		t.Errorf("height %v, want 15", f.Properties["height"])
	}
	c := f.Geometry.Coordinates[0][0]
	if c[0] < 20.3039 || c[0] > 20.3041 || c[1] < 67.8474 || c[1] > 67.8476 {
		t.Errorf("first corner at %v, want about 20.3040, 67.8475", c)
	}
}

// TestPilotCannotJoinTheScenesStory: the attack of a company that writes
// itself into an official building's story — a pilot feature claiming the
// church's lineage, status moved, the municipality as source and a
// sourced confidence — is refused, naming the property; a feature that
// only claims a source and a confidence is stored with the company as
// its source and no confidence; the church keeps its two sites.
func TestPilotCannotJoinTheScenesStory(t *testing.T) {
	data := t.TempDir()
	acme := mustTenant(t, data, "acme")
	base, _ := startServer(t, "--data", data, "--simulate=false")
	feature := func(props string) string {
		return `{"type":"FeatureCollection","features":[{"type":"Feature","id":"kyrka3","geometry":{"type":"Polygon",
		  "coordinates":[[[20.3060,67.8480],[20.3064,67.8480],[20.3064,67.8482],[20.3060,67.8482],[20.3060,67.8480]]]},
		  "properties":{"kind":"church","name":"Kiruna kyrka","height":35,"from":"2030"` + props + `}}]}`
	}
	for _, c := range []struct {
		name, props, want string
	}{
		{"the whole attack", `,"lineage":"kiruna-kyrka","status":"moved","source":"Kiruna kommun","confidence":"sourced"`, "features[0].properties.status"},
		{"a lineage", `,"lineage":"kiruna-kyrka"`, "features[0].properties.lineage"},
		{"moved without a lineage", `,"status":"moved"`, "features[0].properties.status"},
	} {
		code, body := call(t, "PUT", base+"/api/pilots/kyrka", acme, "application/geo+json", feature(c.props))
		if code != http.StatusBadRequest || !strings.Contains(body, c.want) || !strings.Contains(body, "not for a company to set") {
			t.Errorf("%s: %d %s", c.name, code, body)
		}
	}
	code, body := call(t, "PUT", base+"/api/pilots/kyrka", acme, "application/geo+json",
		feature(`,"source":"Kiruna kommun","confidence":"sourced","company":"kiruna-kommun","pilot":"official","from_default":true`))
	if code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", code, body)
	}
	code, body = call(t, "GET", base+"/collections/pilots/items/pilot:kyrka:kyrka3", "", "", "")
	var item struct {
		Properties map[string]any `json:"properties"`
	}
	json.Unmarshal([]byte(body), &item)
	p := item.Properties
	if code != 200 || p["source"] != "acme" || p["confidence"] != nil || p["company"] != "acme" || p["pilot"] != "kyrka" || p["from_default"] != nil {
		t.Errorf("the stored feature: %d %v", code, p)
	}
	code, body = call(t, "GET", base+"/collections/buildings/items/kiruna-kyrka-new", "", "", "")
	var church struct {
		Properties struct {
			History []any `json:"history"`
		} `json:"properties"`
	}
	json.Unmarshal([]byte(body), &church)
	if code != 200 || len(church.Properties.History) != 2 || strings.Count(body, `"rel":"related"`) != 1 {
		t.Errorf("the church's sites: %d %d in %s", code, len(church.Properties.History), body)
	}
}

// TestSensorsGoAndQuotas: a company deletes its sensors, a withdrawn or
// replaced pilot takes its sensors with it, a pilot's sensor ids carry
// the company so no other company can take them first, sensors stay in
// the scene's area, and each company's quotas answer 429 or 413.
func TestSensorsGoAndQuotas(t *testing.T) {
	data := t.TempDir()
	acme, beta := mustTenant(t, data, "acme"), mustTenant(t, data, "beta")
	base, _ := startServer(t, "--data", data, "--simulate=false", "--max-sensors", "3", "--max-pilots", "2", "--max-pilot-vertices", "20")
	js := "application/json"
	sensor := func(id string, lon, lat float64) string {
		return fmt.Sprintf(`{"id":%q,"type":"snow_depth","lon":%v,"lat":%v}`, id, lon, lat)
	}
	type step struct {
		name, method, path, token, ctype, body string
		code                                   int
		msg                                    string
	}
	run := func(steps []step) {
		t.Helper()
		for _, c := range steps {
			code, body := call(t, c.method, base+c.path, c.token, c.ctype, c.body)
			var e struct {
				Error string `json:"error"`
			}
			json.Unmarshal([]byte(body), &e)
			if code != c.code || !strings.Contains(body, c.msg) || code >= 400 && e.Error == "" {
				t.Errorf("%s: %d %s; want %d with %q", c.name, code, body, c.code, c.msg)
			}
		}
	}
	run([]step{
		{"register", "POST", "/api/sensors", acme, js, sensor("acme-1", 20.3, 67.85), 201, ""},
		{"at the south pole", "POST", "/api/sensors", acme, js, sensor("acme-2", 20.3, -89.9), 400, "lat"},
		{"outside the scene", "POST", "/api/sensors", acme, js, sensor("acme-2", 18.0, 67.85), 400, "outside the scene"},
		{"no token deletes", "DELETE", "/api/sensors/acme-1", "", "", "", 401, "Bearer"},
		{"beta deletes acme's", "DELETE", "/api/sensors/acme-1", beta, "", "", 403, "not yours"},
		{"acme deletes the scene's", "DELETE", "/api/sensors/gd-01", acme, "", "", 403, "not yours"},
		{"an unknown one", "DELETE", "/api/sensors/nope", acme, "", "", 404, "no sensor"},
		{"acme deletes its own", "DELETE", "/api/sensors/acme-1", acme, "", "", 204, ""},
		{"gone", "GET", "/api/sensors/acme-1", "", "", "", 404, "no sensor"},
		{"acme's pilot with a sensor", "PUT", "/api/pilots/heat-loop", acme, "application/geo+json", pilotGeoJSON, 201, `"acme:heat-loop.bin1"`},
		{"its sensor", "GET", "/api/sensors/acme:heat-loop.bin1", "", "", "", 200, `"owner":"acme"`},
		{"beta squats acme's pilot namespace", "POST", "/api/sensors", beta, js, sensor("acme:heat-loop.bin2", 20.3, 67.85), 403, "namespace"},
		{"beta's plain id like the old pilot ids", "POST", "/api/sensors", beta, js, sensor("heat-loop.bin2", 20.3, 67.85), 201, ""},
	})
	// Replaced without the sensor: the sensor goes.
	noSensor := strings.Replace(pilotGeoJSON, `"sensor":true,`, ``, 1)
	run([]step{
		{"the pilot without its sensor", "PUT", "/api/pilots/heat-loop", acme, "application/geo+json", noSensor, 200, ""},
		{"the dropped sensor", "GET", "/api/sensors/acme:heat-loop.bin1", "", "", "", 404, ""},
		{"the sensor back", "PUT", "/api/pilots/heat-loop", acme, "application/geo+json", pilotGeoJSON, 200, "acme:heat-loop.bin1"},
		{"the pilot withdrawn", "DELETE", "/api/pilots/heat-loop", acme, "", "", 204, ""},
		{"its sensor with it", "GET", "/api/sensors/acme:heat-loop.bin1", "", "", "", 404, ""},
	})
	// Quotas: 3 sensors, 2 pilots, 20 vertices in all.
	point := func(id string) string {
		return `{"type":"FeatureCollection","features":[{"type":"Feature","id":"` + id + `","geometry":{"type":"Point","coordinates":[20.30,67.85]},"properties":{}}]}`
	}
	line := func(n int) string {
		var pts []string
		for i := range n {
			pts = append(pts, fmt.Sprintf("[%v,67.85]", 20.30+float64(i)*0.0001))
		}
		return `{"type":"FeatureCollection","features":[{"type":"Feature","id":"l","geometry":{"type":"LineString","coordinates":[` + strings.Join(pts, ",") + `]},"properties":{}}]}`
	}
	run([]step{
		{"sensor 1", "POST", "/api/sensors", acme, js, sensor("q1", 20.3, 67.85), 201, ""},
		{"sensor 2", "POST", "/api/sensors", acme, js, sensor("q2", 20.3, 67.85), 201, ""},
		{"sensor 3", "POST", "/api/sensors", acme, js, sensor("q3", 20.3, 67.85), 201, ""},
		{"sensor 4", "POST", "/api/sensors", acme, js, sensor("q4", 20.3, 67.85), 429, "at most 3 sensors"},
		{"a pilot sensor over the quota", "PUT", "/api/pilots/heat-loop", acme, "application/geo+json", pilotGeoJSON, 429, "at most 3 sensors"},
		{"no pilot was stored", "GET", "/api/pilots/heat-loop", "", "", "", 404, ""},
		{"pilot 1", "PUT", "/api/pilots/p1", acme, "application/geo+json", point("a"), 201, ""},
		{"pilot 2", "PUT", "/api/pilots/p2", acme, "application/geo+json", line(19), 201, ""},
		{"pilot 3", "PUT", "/api/pilots/p3", acme, "application/geo+json", point("a"), 429, "at most 2 pilots"},
		{"pilot 2 larger", "PUT", "/api/pilots/p2", acme, "application/geo+json", line(20), 413, "at most 20 vertices"},
		{"beta has its own", "PUT", "/api/pilots/p3", beta, "application/geo+json", line(20), 201, ""},
	})
}
