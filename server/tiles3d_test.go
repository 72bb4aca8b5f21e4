package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// contentURIs lists the content URIs of a tileset.json.
func contentURIs(t *testing.T, body []byte) []string {
	t.Helper()
	var tile struct {
		Content  *struct{ URI string }
		Children []json.RawMessage
	}
	var ts struct {
		Asset struct{ Version string }
		Root  json.RawMessage
	}
	if err := json.Unmarshal(body, &ts); err != nil {
		t.Fatal(err)
	}
	if ts.Asset.Version != "1.1" {
		t.Errorf("asset.version %q, want 1.1", ts.Asset.Version)
	}
	var out []string
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		tile.Content, tile.Children = nil, nil
		if err := json.Unmarshal(raw, &tile); err != nil {
			t.Fatal(err)
		}
		if tile.Content != nil {
			out = append(out, tile.Content.URI)
		}
		for _, c := range tile.Children {
			walk(c)
		}
	}
	walk(ts.Root)
	return out
}

func TestTileset3D(t *testing.T) {
	s, m := kirunaServer(t)
	w := get(t, s, "/3dtiles/tileset.json")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("tileset: %d %v", w.Code, w.Header())
	}
	tag := w.Header().Get("ETag")
	if w2 := get(t, s, "/3dtiles/tileset.json", "If-None-Match", tag); w2.Code != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", w2.Code)
	}
	uris := contentURIs(t, w.Body.Bytes())
	if len(uris) < 2 {
		t.Fatalf("contents %v", uris)
	}
	c := get(t, s, "/3dtiles/"+uris[0], "Accept-Encoding", "gzip")
	if c.Code != http.StatusOK || c.Header().Get("Content-Type") != "model/gltf-binary" || c.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("content: %d %v", c.Code, c.Header())
	}
	zr, err := gzip.NewReader(c.Body)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	if !bytes.HasPrefix(raw, []byte("glTF")) {
		t.Errorf("content starts %q, want glTF", raw[:8])
	}
	plain := get(t, s, "/3dtiles/"+uris[0])
	if !bytes.Equal(plain.Body.Bytes(), raw) || plain.Header().Get("Content-Encoding") != "" {
		t.Error("the plain content differs from the gzipped one")
	}
	ctag := c.Header().Get("ETag")
	if w2 := get(t, s, "/3dtiles/"+uris[0], "If-None-Match", ctag); w2.Code != http.StatusNotModified {
		t.Errorf("content revalidation: %d, want 304", w2.Code)
	}
	for path, code := range map[string]int{
		"/3dtiles/0/0/0.glb":        http.StatusNotFound,
		"/3dtiles/1/2/x.glb":        http.StatusBadRequest,
		"/3dtiles/1/2/3.mvt":        http.StatusBadRequest,
		"/3dtiles/-1/0/0.glb":       http.StatusBadRequest,
		"/3dtiles/solids/0/0/0.glb": http.StatusNotFound,
	} {
		if w := get(t, s, path); w.Code != code || !strings.Contains(w.Header().Get("Content-Type"), "json") {
			t.Errorf("%s: %d %s, want %d with a JSON error", path, w.Code, w.Header().Get("Content-Type"), code)
		}
	}

	// A pilot in the old centre changes the tileset and the content that
	// holds it, and no other.
	var before = map[string]string{}
	for _, u := range uris {
		before[u] = get(t, s, "/3dtiles/"+u).Header().Get("ETag")
	}
	at := orb.Point{20.232972, 67.852}
	p := &twin.Feature{ID: "pilot:p:1", Layer: twin.Pilots, Kind: "building", Geometry: synth.Footprint(synth.Offset(at, 30, 30), 10, 10, 0, 0),
		Height: 6, Life: twin.Lifespan{From: synth.Year(2024)}, Props: map[string]any{twin.PropPilot: "p", twin.PropCompany: "acme"}}
	if _, err := m.Apply(twin.Edit{Layer: twin.Pilots, Add: []*twin.Feature{p}}); err != nil {
		t.Fatal(err)
	}
	if w2 := get(t, s, "/3dtiles/tileset.json", "If-None-Match", tag); w2.Code != http.StatusOK {
		t.Errorf("tileset after a pilot: %d, want 200", w2.Code)
	}
	changed := 0
	for _, u := range contentURIs(t, get(t, s, "/3dtiles/tileset.json").Body.Bytes()) {
		if tag, ok := before[u]; !ok || get(t, s, "/3dtiles/"+u).Header().Get("ETag") != tag {
			changed++
		}
	}
	if changed != 1 {
		t.Errorf("%d contents changed with one pilot, want 1", changed)
	}
}

func TestTileset3DSolids(t *testing.T) {
	s, _ := kirunaServer(t)
	w := get(t, s, "/3dtiles/solids/tileset.json")
	if w.Code != http.StatusOK {
		t.Fatalf("%d", w.Code)
	}
	for _, u := range contentURIs(t, w.Body.Bytes()) {
		if c := get(t, s, "/3dtiles/solids/"+u); c.Code != http.StatusOK {
			t.Errorf("%s: %d", u, c.Code)
		}
	}
}
