// Package importer turns imported features into a scene bundle: it
// computes the scene's bounds, camera and timeline from the data and
// writes scene.json and one GeoJSON file per layer, which scenes.Load reads
// back and `kiruna-twin --scene DIR` serves.
package importer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/terrain"
	"github.com/kiruna-twin/kiruna-twin/terrain/geotiff"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// ErrNoFeatures marks an import that found nothing to put in a scene.
var ErrNoFeatures = errors.New("no features to write")

// ErrNotEmpty marks an output directory that already holds files.
var ErrNotEmpty = errors.New("directory is not empty")

// Meta is what the caller knows of the scene that the data does not say.
type Meta struct {
	ID, Title string
	Sources   []scenes.Source
	// Now is the wall clock, for the end of the timeline; zero means
	// time.Now().
	Now time.Time
	// Extent, when not empty, is an area the scene covers besides its
	// features (an elevation model's); a scene of an extent alone is
	// allowed, its timeline starting at From.
	Extent orb.Bound
	From   time.Time
}

// NewScene describes a scene holding features: bounds around them (with a
// small margin), the camera centred on them at the zoom that fits them in
// a 1280×800 view, a timeline from the earliest start to five years past
// the latest date or today, a layer for each layer with features, and an
// empty pilots layer for companies' uploads.
func NewScene(features []*twin.Feature, meta Meta) (scenes.Scene, error) {
	if len(features) == 0 && meta.Extent.IsZero() {
		return scenes.Scene{}, ErrNoFeatures
	}
	now := meta.Now
	if now.IsZero() {
		now = time.Now()
	}
	var bound orb.Bound
	first := true
	kinds := map[twin.Layer]string{}
	minYear, maxYear := math.Inf(1), twin.DecimalYear(now)
	if !meta.Extent.IsZero() {
		bound, first = meta.Extent, false
		if !meta.From.IsZero() {
			minYear = twin.DecimalYear(meta.From)
		}
	}
	if math.IsInf(minYear, 1) && len(features) == 0 {
		minYear = 1900
	}
	for _, f := range features {
		b := f.Geometry.Bound()
		if first {
			bound, first = b, false
		} else {
			bound = bound.Union(b)
		}
		kinds[f.Layer] = mergeKind(kinds[f.Layer], geometryKind(f.Geometry))
		minYear = min(minYear, twin.DecimalYear(f.Life.From))
		maxYear = max(maxYear, twin.DecimalYear(f.Life.From))
		if !f.Life.To.IsZero() {
			maxYear = max(maxYear, twin.DecimalYear(f.Life.To))
		}
	}
	// A margin of 5 % (at least about 100 m), inside Web Mercator's range.
	dx := max((bound.Max[0]-bound.Min[0])*0.05, 0.001)
	dy := max((bound.Max[1]-bound.Min[1])*0.05, 0.001)
	w, s := max(bound.Min[0]-dx, -180), max(bound.Min[1]-dy, -85.05)
	e, n := min(bound.Max[0]+dx, 180), min(bound.Max[1]+dy, 85.05)
	sc := scenes.Scene{
		ID:     meta.ID,
		Title:  meta.Title,
		Bounds: [4]float64{round(w, 1e6), round(s, 1e6), round(e, 1e6), round(n, 1e6)},
		Zoom:   fitZoom(orb.Bound{Min: orb.Point{w, s}, Max: orb.Point{e, n}}, 1280, 800),
		Pitch:  45,
		Timeline: scenes.Timeline{
			Start: math.Floor(minYear),
			End:   math.Ceil(maxYear) + 5,
		},
		Sources: meta.Sources,
	}
	c := orb.Bound{Min: orb.Point{w, s}, Max: orb.Point{e, n}}.Center()
	sc.Center = [2]float64{round(c[0], 1e6), round(c[1], 1e6)}
	if sc.ID == "" {
		sc.ID = "imported"
	}
	if sc.Title == "" {
		sc.Title = "Imported scene"
	}
	for _, spec := range twin.Layers() {
		l := spec.ID
		k, ok := kinds[l]
		if !ok && !spec.Writable {
			continue
		}
		li := scenes.LayerInfo{ID: l, Title: spec.Title("en"), Titles: map[string]string{"sv": spec.Title("sv"), "en": spec.Title("en")}, Kind: k}
		if ok {
			li.File = string(l) + ".geojson"
		} else {
			li.Kind = string(spec.Geometry)
		}
		sc.Layers = append(sc.Layers, li)
	}
	return sc, nil
}

func round(v, k float64) float64 { return math.Round(v*k) / k }

// fitZoom is the zoom at which b fills a view of w×h pixels (512-pixel
// tiles, as MapLibre counts zoom), between 2 and 18.
func fitZoom(b orb.Bound, w, h float64) float64 {
	a := maptile.Fraction(orb.Point{b.Min[0], b.Max[1]}, 0)
	c := maptile.Fraction(orb.Point{b.Max[0], b.Min[1]}, 0)
	fx, fy := math.Abs(c[0]-a[0]), math.Abs(c[1]-a[1])
	z := 18.0
	if fx > 0 {
		z = min(z, math.Log2(w/(512*fx)))
	}
	if fy > 0 {
		z = min(z, math.Log2(h/(512*fy)))
	}
	return round(min(max(z, 2), 18), 10)
}

func geometryKind(g orb.Geometry) string {
	switch g.(type) {
	case orb.Polygon, orb.MultiPolygon, orb.Ring:
		return "polygon"
	case orb.LineString, orb.MultiLineString:
		return "line"
	case orb.Point, orb.MultiPoint:
		return "point"
	}
	return "mixed"
}

func mergeKind(a, b string) string {
	if a == "" || a == b {
		return b
	}
	return "mixed"
}

// Write writes the scene and its features as a bundle in dir, which must
// be empty or absent unless overwrite is set (then the bundle's own files
// are replaced and other files left alone). It then loads the bundle back
// as the server would and returns any error that loading finds.
//
// Every feature is checked first (scenes.CheckWritable), so nothing is
// written that would not load.
func Write(dir string, sc scenes.Scene, features []*twin.Feature, overwrite bool) error {
	return WriteBundle(dir, sc, features, nil, overwrite)
}

// DEMFile is the name of the elevation model in a bundle.
const DEMFile = "dem.tif"

// WriteBundle is Write with an elevation model: when dem is not nil it is
// written as dem.tif (a GeoTIFF in WGS84) and named in the scene's
// terrain.
func WriteBundle(dir string, sc scenes.Scene, features []*twin.Feature, dem *terrain.DEM, overwrite bool) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 && !overwrite {
		return fmt.Errorf("%s: %w (choose another or allow overwriting)", dir, ErrNotEmpty)
	}
	// Check every feature first, so that a bad one writes nothing.
	listed := map[twin.Layer]bool{}
	for _, li := range sc.Layers {
		listed[li.ID] = true
	}
	for _, f := range features {
		if err := scenes.CheckWritable(f); err != nil {
			return fmt.Errorf("feature %s: %w", f.ID, err)
		}
		if !listed[f.Layer] {
			return fmt.Errorf("feature %s: layer %s is not in the scene", f.ID, f.Layer)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	byLayer := map[twin.Layer][]*twin.Feature{}
	for _, f := range features {
		byLayer[f.Layer] = append(byLayer[f.Layer], f)
	}
	files := map[twin.Layer]string{}
	for _, li := range sc.Layers {
		if li.File != "" {
			files[li.ID] = li.File
		}
	}
	for l, file := range files {
		fs := byLayer[l]
		if err := writeFile(filepath.Join(dir, file), func(w io.Writer) error { return EncodeLayer(w, fs) }); err != nil {
			return fmt.Errorf("layer %s: %w", l, err)
		}
	}
	if dem != nil {
		if sc.Terrain == nil {
			sc.Terrain = &scenes.Terrain{}
		}
		sc.Terrain.File = DEMFile
		if err := writeFile(filepath.Join(dir, DEMFile), func(w io.Writer) error { return geotiff.Encode(w, dem.Image()) }); err != nil {
			return fmt.Errorf("elevation model: %w", err)
		}
	}
	b, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "scene.json"), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	}); err != nil {
		return err
	}
	bundle, err := scenes.Load(os.DirFS(dir))
	if err != nil {
		return fmt.Errorf("the written bundle does not load: %w", err)
	}
	if err := bundle.Into(twin.NewModel()); err != nil {
		return fmt.Errorf("the written bundle does not load: %w", err)
	}
	return nil
}

// writeFile writes through a temporary file and a rename, so that a
// reader never sees half a file.
func writeFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// EncodeLayer writes features to w as a GeoJSON FeatureCollection, sorted
// by id, one feature a line, coordinates to 1e-7 degrees (about 1 cm).
func EncodeLayer(w io.Writer, fs []*twin.Feature) error {
	fs = slices.Clone(fs)
	slices.SortStableFunc(fs, func(a, b *twin.Feature) int { return strings.Compare(a.ID, b.ID) })
	if _, err := io.WriteString(w, "{\"type\":\"FeatureCollection\",\"features\":[\n"); err != nil {
		return err
	}
	var line []byte
	for i, f := range fs {
		if err := scenes.Validate(f); err != nil {
			return fmt.Errorf("feature %s: %w", f.ID, err)
		}
		b, err := scenes.MarshalFeature(f)
		if err != nil {
			return fmt.Errorf("feature %s: %w", f.ID, err)
		}
		line = append(line[:0], b...)
		if i < len(fs)-1 {
			line = append(line, ',')
		}
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]}\n")
	return err
}
