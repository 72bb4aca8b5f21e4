package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func fc(features ...string) string {
	return `{"type":"FeatureCollection","features":[` + strings.Join(features, ",") + `]}`
}

func feat(id, geom, props string) string {
	return `{"type":"Feature","id":"` + id + `","geometry":` + geom + `,"properties":{` + props + `}}`
}

const okSquare = `{"type":"Polygon","coordinates":[[[20.30,67.850],[20.301,67.850],[20.301,67.851],[20.30,67.851],[20.30,67.850]]]}`

func manyProps(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"p%d":%d`, i, i)
	}
	return b.String()
}

func longLine(n int) string {
	var b strings.Builder
	b.WriteString(`{"type":"LineString","coordinates":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[20.3%06d,67.85]", i%1000000)
	}
	b.WriteString("]}")
	return b.String()
}

func cityJSON(crs, boundaries string) string {
	return `{"type":"CityJSON","version":"2.0","transform":{"scale":[1,1,1],"translate":[0,0,0]},"metadata":{"referenceSystem":"https://www.opengis.net/def/crs/EPSG/0/` + crs + `"},
"CityObjects":{"b":{"type":"Building","geometry":[{"type":"MultiSurface","lod":"1","boundaries":` + boundaries + `}]}},"vertices":[[20,67,0],[21,67,0],[21,68,0]]}`
}

// TestHostileInputs sends what a careless or hostile client might to every
// entry point. Each answer must have its status and a JSON error naming the
// place; nothing is partly applied; after each the server still answers a
// health check and a tile.
func TestHostileInputs(t *testing.T) {
	data := t.TempDir()
	acme := mustTenant(t, data, "acme")
	base, _ := startServer(t, "--data", data, "--simulate=false", "--write-burst", "1000", "--write-rate", "1000")
	now := time.Now().UTC().Format(time.RFC3339)
	geo, city, js := "application/geo+json", "application/city+json", "application/json"

	cases := []struct {
		name, method, path, ctype, body string
		code                            int
		msg                             string
	}{
		// Pilot uploads.
		{"unclosed ring", "PUT", "/api/pilots/p", geo, fc(feat("a", `{"type":"Polygon","coordinates":[[[20.30,67.85],[20.31,67.85],[20.31,67.86],[20.30,67.86]]]}`, "")), 400, "features[0].geometry.coordinates[0]: ring not closed"},
		{"self-intersecting ring", "PUT", "/api/pilots/p", geo, fc(feat("a", `{"type":"Polygon","coordinates":[[[20.30,67.85],[20.31,67.86],[20.31,67.85],[20.30,67.86],[20.30,67.85]]]}`, "")), 400, "features[0].geometry.coordinates[0]: ring crosses itself"},
		{"coordinate outside WGS84", "PUT", "/api/pilots/p", geo, fc(feat("a", okSquare, ""), feat("b", `{"type":"Point","coordinates":[200,67.85]}`, "")), 400, "features[1].geometry.coordinates: coordinate outside WGS84"},
		{"far outside the scene", "PUT", "/api/pilots/p", geo, fc(feat("a", `{"type":"Point","coordinates":[18.07,59.33]}`, "")), 400, "features[0].geometry.coordinates: outside the scene"},
		{"NaN coordinate", "PUT", "/api/pilots/p", geo, fc(feat("a", `{"type":"Point","coordinates":[NaN,67.85]}`, "")), 400, "bad GeoJSON"},
		{"infinite coordinate", "PUT", "/api/pilots/p", geo, fc(feat("a", `{"type":"Point","coordinates":[1e400,67.85]}`, "")), 400, "features[0].geometry"},
		{"height of the wrong type", "PUT", "/api/pilots/p", geo, fc(feat("a", okSquare, `"height":"tall"`)), 400, "features[0].properties.height: want a number"},
		{"nested property", "PUT", "/api/pilots/p", geo, fc(feat("a", okSquare, `"meta":{"x":1}`)), 400, "features[0].properties.meta"},
		{"duplicate ids", "PUT", "/api/pilots/p", geo, fc(feat("a", okSquare, ""), feat("a", okSquare, "")), 400, `features[1].id: duplicate id "a"`},
		{"to before from", "PUT", "/api/pilots/p", geo, fc(feat("a", okSquare, `"from":"2026","to":"2020"`)), 400, "features[0].properties.to: to is not after from"},
		{"unknown status", "PUT", "/api/pilots/p", geo, fc(feat("a", okSquare, `"status":"burnt"`)), 400, `features[0].properties.status: unknown status "burnt"`},
		{"geometry collection", "PUT", "/api/pilots/p", geo, fc(feat("a", `{"type":"GeometryCollection","geometries":[]}`, "")), 400, "features[0].geometry"},
		{"invalid UTF-8", "PUT", "/api/pilots/p", geo, fc(feat("a", okSquare, "\"name\":\"K\xffruna\"")), 400, "invalid UTF-8 at byte"},
		{"deeply nested JSON", "PUT", "/api/pilots/p", geo, `{"type":"FeatureCollection","x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `,"features":[]}`, 413, "nested deeper than 32"},
		{"not JSON", "PUT", "/api/pilots/p", geo, `features: all of them`, 400, "bad GeoJSON"},
		{"not a collection", "PUT", "/api/pilots/p", geo, `{"type":"Feature"}`, 400, `type is "Feature"`},
		{"empty collection", "PUT", "/api/pilots/p", geo, fc(), 400, "holds no feature"},
		{"too many properties", "PUT", "/api/pilots/p", geo, fc(feat("a", okSquare, manyProps(150))), 413, "features[0].properties: 150 properties"},
		{"huge property", "PUT", "/api/pilots/p", geo, fc(feat("a", okSquare, `"note":"`+strings.Repeat("x", 5000)+`"`)), 413, "features[0].properties.note: longer than 4096 bytes"},
		{"too many vertices", "PUT", "/api/pilots/p", geo, fc(feat("a", longLine(100_001), "")), 413, "features[0].geometry.coordinates: 100001 vertices"},
		{"body over the limit", "PUT", "/api/pilots/p", geo, strings.Repeat(" ", 33<<20), 413, "larger than 32 MiB"},
		{"wrong content type", "PUT", "/api/pilots/p", "text/plain", fc(feat("a", okSquare, "")), 415, "unsupported media type"},
		{"bad pilot name", "PUT", "/api/pilots/Bad%20Name", geo, fc(feat("a", okSquare, "")), 400, `pilot name "Bad Name"`},
		{"CityJSON in an unsupported CRS", "PUT", "/api/pilots/p", city, cityJSON("2000", `[[[0,1,2]]]`), 400, "2000"},
		{"CityJSON vertex out of range", "PUT", "/api/pilots/p", city, cityJSON("4326", `[[[0,1,99]]]`), 400, "vertex index"},
		{"pilot sensor that is a line", "PUT", "/api/pilots/p", geo, fc(feat("s", `{"type":"LineString","coordinates":[[20.30,67.85],[20.31,67.85]]}`, `"sensor":true,"type":"snow_depth"`)), 400, "features[0].geometry: a sensor is a Point"},
		// Readings.
		{"reading not a number", "POST", "/api/readings", js, `{"readings":[{"sensor":"x","time":"` + now + `","value":"NaN"}]}`, 400, "readings[0].value"},
		{"reading of an unknown sensor", "POST", "/api/readings", js, `{"readings":[{"sensor":"no-such-sensor","time":"` + now + `","value":1}]}`, 400, "readings[0].sensor"},
		{"reading from the far future", "POST", "/api/readings", js, `{"readings":[{"sensor":"acme-snow","time":"2999-01-01T00:00:00Z","value":1}]}`, 400, "readings[0].time"},
		{"readings not JSON", "POST", "/api/readings", js, `{"readings":[`, 400, "body"},
		{"readings batch too large", "POST", "/api/readings", js, `{"readings":[` + strings.Repeat(`{"sensor":"gd-01","time":"`+now+`","value":1},`, 5000) + `{"sensor":"gd-01","time":"` + now + `","value":1}]}`, 413, "at most 5000"},
		{"readings body over the limit", "POST", "/api/readings", js, `{"readings":[],"pad":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "larger than"},
		// Sensors.
		{"sensor longitude out of range", "POST", "/api/sensors", js, `{"id":"acme-1","type":"snow_depth","lon":500,"lat":67.85}`, 400, "lon"},
		{"sensor with a bad id", "POST", "/api/sensors", js, `{"id":"bad id!","type":"snow_depth","lon":20.3,"lat":67.85}`, 400, "id"},
		{"sensor taking a scene sensor's id", "POST", "/api/sensors", js, `{"id":"gd-01","type":"snow_depth","lon":20.3,"lat":67.85}`, 409, "gd-01"},
		// Query parameters.
		{"tile zoom out of range", "GET", "/tiles/99/0/0.mvt", "", "", 400, "z"},
		{"tile x out of range", "GET", "/tiles/15/99999999/0.mvt", "", "", 400, "x"},
		{"items bbox of three numbers", "GET", "/collections/buildings/items?bbox=1,2,3", "", "", 400, "bbox"},
		{"items bad datetime", "GET", "/collections/buildings/items?datetime=yesterday", "", "", 400, "datetime"},
		{"items negative limit", "GET", "/collections/buildings/items?limit=-5", "", "", 400, "limit"},
		{"unknown collection", "GET", "/collections/nope/items", "", "", 404, "nope"},
		{"sensors bbox not numbers", "GET", "/api/sensors?bbox=a,b,c,d", "", "", 400, "bbox"},
		{"readings from not a time", "GET", "/api/sensors/gd-01/readings?from=soon", "", "", 400, "from"},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d hostile inputs", len(cases))
	}
	code, body := call(t, "POST", base+"/api/sensors", acme, js, `{"id":"acme-snow","type":"snow_depth","lon":20.3,"lat":67.85}`)
	if code != http.StatusCreated {
		t.Fatalf("registering a sensor: %d %s", code, body)
	}
	tileURL := base + "/tiles/13/4589/1955.mvt"
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			token := ""
			if c.method != "GET" {
				token = acme
			}
			code, body := call(t, c.method, base+c.path, token, c.ctype, c.body)
			if code != c.code {
				t.Errorf("status %d, want %d: %s", code, c.code, abbrev(body))
			}
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Error, c.msg) {
				t.Errorf("body %s\nwant a JSON error with %q", abbrev(body), c.msg)
			}
			if code, _ := call(t, "GET", base+"/healthz", "", "", ""); code != 200 {
				t.Fatalf("health check after the input: %d", code)
			}
			if code, body := call(t, "GET", tileURL, "", "", ""); code != 200 && code != 204 {
				t.Fatalf("tile after the input: %d %s", code, abbrev(body))
			}
		})
	}
	// Nothing was partly applied: no pilot exists.
	if code, body := call(t, "GET", base+"/api/pilots", "", "", ""); code != 200 || strings.Contains(body, `"id":"p"`) {
		t.Errorf("a rejected pilot was stored: %s", abbrev(body))
	}
}

// A bad WebSocket message gets an error and the connection stays; an
// oversized one closes only that connection.
func TestHostileWebSocketMessages(t *testing.T) {
	base, _ := startServer(t, "--simulate=false")
	good, _, err := websocket.DefaultDialer.Dial(wsURL(base), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	bad, _, err := websocket.DefaultDialer.Dial(wsURL(base), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	for _, m := range []struct{ msg, want string }{
		{`not json`, "error"},
		{`{"type":"subscribe","bbox":[1,2,3]}`, "bbox"},
		{`{"type":"subscribe","bbox":[20,67,"x",68]}`, "bbox"},
		{`{"type":"dance"}`, "dance"},
		{"{\"type\":\"subscribe\",\"bbox\":[20,67,21,68],\"x\":\"\xff\"}", "error"},
	} {
		bad.WriteMessage(websocket.TextMessage, []byte(m.msg))
		bad.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := bad.ReadMessage()
		if err != nil {
			t.Fatalf("%q: the connection closed: %v", m.msg, err)
		}
		if !strings.Contains(string(data), `"type":"error"`) || !strings.Contains(string(data), m.want) {
			t.Errorf("%q: got %s, want an error naming %q", m.msg, data, m.want)
		}
	}
	// The connection still works after the bad messages.
	bad.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","bbox":[20.1,67.8,20.4,67.9]}`))
	readMsg(t, bad, "snapshot")
	// An oversized message closes that connection only.
	bad.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","pad":"`+strings.Repeat("x", 1<<20)+`"}`))
	bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := bad.ReadMessage(); err != nil {
			break
		}
	}
	good.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","bbox":[20.1,67.8,20.4,67.9]}`))
	readMsg(t, good, "snapshot")
	if code, _ := call(t, "GET", base+"/healthz", "", "", ""); code != http.StatusOK {
		t.Fatal("health check failed after the oversized message")
	}
}

// A company over its rate of writes gets 429 with Retry-After; another
// company is not slowed by it.
func TestWriteRateLimit(t *testing.T) {
	data := t.TempDir()
	acme, beta := mustTenant(t, data, "acme"), mustTenant(t, data, "beta")
	base, _ := startServer(t, "--data", data, "--simulate=false", "--write-rate", "1", "--write-burst", "3")
	body := `{"id":"acme-1","type":"snow_depth","lon":20.3,"lat":67.85}`
	limited := 0
	for i := 0; i < 6; i++ {
		req, _ := http.NewRequest("POST", base+"/api/sensors", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+acme)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
			if resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
	}
	if limited < 2 {
		t.Errorf("%d of 6 quick writes were limited, want at least 2", limited)
	}
	if code, b := call(t, "POST", base+"/api/sensors", beta, "application/json", `{"id":"beta-1","type":"snow_depth","lon":20.3,"lat":67.85}`); code != http.StatusCreated {
		t.Errorf("another company was limited: %d %s", code, b)
	}
}
