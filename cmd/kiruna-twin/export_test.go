package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/scenes/kiruna"
	"github.com/kiruna-twin/kiruna-twin/server"
	"github.com/kiruna-twin/kiruna-twin/twin"
)

// export --3dtiles writes the tileset the server serves, as files.
func TestExport3DTiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tiles")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"export", "--3dtiles", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "contents") {
		t.Errorf("stdout %q", stdout.String())
	}
	file, err := os.ReadFile(filepath.Join(dir, "tileset.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The server's, for the same scene.
	b, err := scenes.Load(kiruna.Bundle())
	if err != nil {
		t.Fatal(err)
	}
	m := twin.NewModel()
	if err := b.Into(m); err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Model: m})
	defer srv.Close()
	served, _, err := srv.Tiles3D().Tileset()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, served) {
		t.Error("the exported tileset.json differs from the served one")
	}
	for _, k := range srv.Tiles3D().Contents() {
		want, _, err := srv.Tiles3D().Encode(k[0], k[1], k[2])
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(strings.Join([]string{itoa(k[0]), itoa(k[1]), itoa(k[2]) + ".glb"}, "/"))))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("content %v: %v, or it differs from the served one", k, err)
		}
	}
	var ts map[string]any
	if err := json.Unmarshal(file, &ts); err != nil {
		t.Fatal(err)
	}
	if code := run(context.Background(), []string{"export"}, &stdout, &stderr); code != 2 {
		t.Errorf("export without --3dtiles: exit %d, want 2", code)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
