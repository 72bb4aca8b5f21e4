package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/scenes/kiruna"
	"github.com/kiruna-twin/kiruna-twin/tiles/tiles3d"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/spf13/pflag"
)

type exportConfig struct {
	tiles3d    string
	scene      string
	onlySolids bool
}

func parseExport(args []string, stderr io.Writer) (exportConfig, error) {
	var c exportConfig
	fl := pflag.NewFlagSet("export", pflag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&c.tiles3d, "3dtiles", "", "directory to write the 3D Tiles 1.1 tileset to (tileset.json and z/x/y.glb)")
	fl.StringVar(&c.scene, "scene", "", "the scene bundle to export (default: the built-in Kiruna scene)")
	fl.BoolVar(&c.onlySolids, "solids-only", false, "only the features with a 3D shape (as /3dtiles/solids/ serves them)")
	fl.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kiruna-twin export --3dtiles DIR [--scene DIR]\n\n"+
			"Writes the scene's buildings in 3D as static files, the same tileset as\n"+
			"GET /3dtiles/tileset.json, for CesiumJS, QGIS, ArcGIS or any 3D Tiles client.\n\nFlags:\n%s", fl.FlagUsages())
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return c, errHelp
		}
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fl.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected arguments %q", errUsage, fl.Args())
	}
	if c.tiles3d == "" {
		return c, fmt.Errorf("%w: export needs --3dtiles DIR", errUsage)
	}
	return c, nil
}

// exportCmd runs "kiruna-twin export".
func exportCmd(args []string, stdout, stderr io.Writer) error {
	c, err := parseExport(args, stderr)
	if err != nil {
		return err
	}
	var bundle fs.FS = kiruna.Bundle()
	if c.scene != "" {
		bundle = os.DirFS(c.scene)
	}
	start := time.Now()
	b, err := scenes.Load(bundle)
	if err != nil {
		return err
	}
	m := twin.NewModel()
	if err := b.Into(m); err != nil {
		return err
	}
	tl := tiles3d.New(m, tiles3d.Options{OnlySolids: c.onlySolids, CacheBytes: -1})
	defer tl.Close()
	st, err := tl.Export(c.tiles3d)
	if err != nil {
		return fmt.Errorf("--3dtiles %s: %w", c.tiles3d, err)
	}
	fmt.Fprintf(stdout, "%s: %d contents, %d features (%d with a 3D shape), %d triangles, %d bytes, in %s\n",
		c.tiles3d, st.Tiles, st.Features, st.Solids, st.Triangles, st.Bytes, time.Since(start).Round(time.Millisecond))
	return nil
}
