package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/scenes/cityjson"
	"github.com/kiruna-twin/kiruna-twin/scenes/importer"
	"github.com/kiruna-twin/kiruna-twin/scenes/osm"
	"github.com/kiruna-twin/kiruna-twin/terrain"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// importConfig is the import command's command line.
type importConfig struct {
	osm, cityjson, geojson []string
	dem                    string
	out, title, id         string
	from                   string
	crs                    string
	force, strict          bool
}

func parseImport(args []string, stderr io.Writer) (importConfig, error) {
	var c importConfig
	fl := pflag.NewFlagSet("import", pflag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringArrayVar(&c.osm, "osm", nil, "OpenStreetMap file (.osm XML or .osm.pbf) for buildings, roads, railways, water, land use and places; repeatable")
	fl.StringArrayVar(&c.cityjson, "cityjson", nil, "CityJSON 2.0 file (.city.json) or CityJSONSeq (.city.jsonl) for buildings; repeatable")
	fl.StringArrayVar(&c.geojson, "geojson", nil, "GeoJSON FeatureCollection for the buildings layer, with the bundle's properties; repeatable")
	fl.StringVar(&c.dem, "dem", "", "elevation model, a GeoTIFF in WGS84, Web Mercator or SWEREF 99 TM (or another system the importer knows), stored in the bundle for terrain")
	fl.StringVar(&c.out, "out", "", "directory to write the scene bundle to (required; must be empty unless --force)")
	fl.StringVar(&c.title, "title", "", "the scene's title (default: from the first input's name)")
	fl.StringVar(&c.id, "id", "", "the scene's id (default: from the title)")
	fl.StringVar(&c.from, "from", "1900", "start of life of features whose data has no date (start_date, yearOfConstruction)")
	fl.StringVar(&c.crs, "crs", "", "reference system of CityJSON files that declare none, e.g. EPSG:3006")
	fl.BoolVar(&c.force, "force", false, "write into --out even if it holds files (the bundle's files are replaced)")
	fl.BoolVar(&c.strict, "strict", false, "fail on the first building that cannot be imported instead of skipping it")
	fl.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kiruna-twin import [--osm FILE] [--cityjson FILE] [--geojson FILE] [--dem FILE.tif] --out DIR [flags]\n\n"+
			"Imports OpenStreetMap, CityJSON and GeoJSON data into a scene bundle that\n"+
			"\"kiruna-twin --scene DIR\" serves. Bounds, camera and timeline come from the data.\n\nFlags:\n%s", fl.FlagUsages())
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fl.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected arguments %q", errUsage, fl.Args())
	}
	if c.out == "" {
		return c, fmt.Errorf("%w: import needs --out DIR", errUsage)
	}
	if len(c.osm)+len(c.cityjson)+len(c.geojson) == 0 && c.dem == "" {
		return c, fmt.Errorf("%w: import needs at least one --osm, --cityjson, --geojson or --dem file", errUsage)
	}
	return c, nil
}

// importCmd runs "kiruna-twin import".
func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseImport(args, stderr)
	if err != nil {
		return err
	}
	from, err := twin.ParseInstant(c.from)
	if err != nil {
		return fmt.Errorf("%w: --from: %v", errUsage, err)
	}
	var (
		all               []*twin.Feature
		sources           []scenes.Source
		skipped           int
		lenient, dropped  = map[string]int{}, map[string]int{}
		lenientEx, dropEx = map[string]string{}, map[string]string{}
	)
	report := func(name string, n int, skips []string, total int) {
		fmt.Fprintf(stdout, "%s: %d features", name, n)
		if total > 0 {
			fmt.Fprintf(stdout, ", %d skipped", total)
		}
		fmt.Fprintln(stdout)
		for _, s := range skips {
			fmt.Fprintf(stdout, "  skipped %s\n", s)
		}
		if total > len(skips) {
			fmt.Fprintf(stdout, "  … and %d more\n", total-len(skips))
		}
		skipped += total
	}

	for _, path := range c.osm {
		res, err := importOSM(ctx, path, from, stderr)
		if err != nil {
			return err
		}
		if c.strict && res.SkippedCount > 0 {
			s := res.Skipped[0]
			return fmt.Errorf("%s: %s: %s", path, s.ID, s.Reason)
		}
		all = append(all, res.Features...)
		report(path, len(res.Features), skipLines(res.Skipped, func(s osm.Skip) string { return s.ID + ": " + s.Reason }), res.SkippedCount)
		fmt.Fprintf(stdout, "  %d buildings (%d of them building parts), %d roads and railways, %d water, %d land use, %d places\n",
			res.Buildings, res.Parts, res.Infrastructure, res.Water, res.Landuse, res.Places)
		merge(lenient, lenientEx, res.Lenient, res.LenientExamples)
		merge(dropped, dropEx, res.Dropped, res.DroppedExamples)
		sources = appendSource(sources, scenes.Source{Name: "© OpenStreetMap contributors", Licence: "ODbL 1.0",
			URL: "https://www.openstreetmap.org/copyright", Note: "buildings, roads, railways, water, land use and places imported from " + filepath.Base(path)})
	}
	for _, path := range c.cityjson {
		res, err := importCityJSON(path, cityjson.Options{From: from, CRS: c.crs, SkipInvalid: !c.strict}, stderr)
		if err != nil {
			return err
		}
		all = append(all, res.Features...)
		report(path, len(res.Features), skipLines(res.Skipped, func(s cityjson.Skip) string { return s.ID + ": " + s.Reason }), len(res.Skipped))
		name := res.Title
		if name == "" {
			name = filepath.Base(path)
		}
		sources = appendSource(sources, scenes.Source{Name: name, Licence: "see the data's own terms",
			Note: fmt.Sprintf("buildings imported from CityJSON %s (%v)", filepath.Base(path), res.CRS)})
	}
	for _, path := range c.geojson {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fs, err := scenes.DecodeGeoJSON(data, twin.Buildings)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, f := range fs {
			if f.Life.From.IsZero() {
				f.Life.From = from
			}
		}
		all = append(all, fs...)
		report(path, len(fs), nil, 0)
		sources = appendSource(sources, scenes.Source{Name: filepath.Base(path), Licence: "see the data's own terms", Note: "buildings imported from GeoJSON"})
	}
	var dem *terrain.DEM
	if c.dem != "" {
		data, err := os.ReadFile(c.dem)
		if err != nil {
			return err
		}
		if dem, err = terrain.Decode(data); err != nil {
			return fmt.Errorf("%s: %w", c.dem, err)
		}
		lo, hi := dem.Range()
		b := dem.Bounds()
		fmt.Fprintf(stdout, "%s: elevation model of %d × %d cells in WGS84, %.1f to %.1f m, over [%.5f, %.5f, %.5f, %.5f]\n",
			c.dem, dem.W, dem.H, lo, hi, b[0], b[1], b[2], b[3])
		sources = appendSource(sources, scenes.Source{Name: filepath.Base(c.dem), Licence: "see the data's own terms", Note: "elevation model (terrain)"})
	}
	if len(all) == 0 && dem == nil {
		return fmt.Errorf("nothing to import: the inputs hold no buildings, roads or railways")
	}

	title := c.title
	if title == "" {
		title = firstInputName(c)
	}
	id := c.id
	if id == "" {
		id = slug(title)
	}
	meta := importer.Meta{ID: id, Title: title, Sources: sources, From: from}
	if dem != nil {
		b := dem.Bounds()
		meta.Extent = orb.Bound{Min: orb.Point{b[0], b[1]}, Max: orb.Point{b[2], b[3]}}
	}
	sc, err := importer.NewScene(all, meta)
	if err != nil {
		return err
	}
	if dem != nil {
		sc.Terrain = &scenes.Terrain{Source: filepath.Base(c.dem)}
	}
	if err := importer.WriteBundle(c.out, sc, all, dem, c.force); err != nil {
		return err
	}
	if line := tagCounts(lenient, lenientEx); line != "" {
		fmt.Fprintf(stdout, "tag values read leniently (a unit, a decimal comma, the first of a list): %s\n", line)
	}
	if line := tagCounts(dropped, dropEx); line != "" {
		fmt.Fprintf(stdout, "tag values dropped, not numbers the schema can hold: %s\n", line)
	}
	fmt.Fprintf(stdout, "wrote %s: %d features in %d layers; serve it with: kiruna-twin --scene %s\n", c.out, len(all), len(sc.Layers), c.out)
	return nil
}

// merge adds one file's tag counts and examples to the import's.
func merge(counts map[string]int, examples map[string]string, n map[string]int, ex map[string]string) {
	for k, v := range n {
		counts[k] += v
		if _, ok := examples[k]; !ok {
			examples[k] = ex[k]
		}
	}
}

// tagCounts says how many values of each tag, most first, with an example.
func tagCounts(counts map[string]int, examples map[string]string) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d (e.g. %q)", k, counts[k], examples[k])
	}
	return strings.Join(parts, ", ")
}

func skipLines[T any](skips []T, line func(T) string) []string {
	const show = 10
	var out []string
	for i, s := range skips {
		if i == show {
			break
		}
		out = append(out, line(s))
	}
	return out
}

func appendSource(ss []scenes.Source, s scenes.Source) []scenes.Source {
	for _, o := range ss {
		if o.Name == s.Name && o.Licence == s.Licence {
			return ss
		}
	}
	return append(ss, s)
}

func firstInputName(c importConfig) string {
	for _, l := range [][]string{c.cityjson, c.osm, c.geojson, {c.dem}} {
		if len(l) > 0 {
			name := filepath.Base(l[0])
			for _, ext := range []string{".tif", ".tiff", ".osm.pbf", ".city.jsonl", ".city.json", ".geojson", ".osm", ".json", ".pbf"} {
				name = strings.TrimSuffix(name, ext)
			}
			return name
		}
	}
	return "Imported scene"
}

// slug makes an id of a title: lower case letters, digits and dashes.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if out == "" {
		return "imported"
	}
	return out
}

func importOSM(ctx context.Context, path string, from time.Time, stderr io.Writer) (*osm.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	p := newProgress(stderr, filepath.Base(path), st.Size())
	res, err := osm.Decode(ctx, io.TeeReader(bufio.NewReaderSize(f, 1<<20), p), osm.FormatOf(path), osm.Options{From: from})
	p.done()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}

func importCityJSON(path string, opts cityjson.Options, stderr io.Writer) (*cityjson.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	p := newProgress(stderr, filepath.Base(path), st.Size())
	var res *cityjson.Result
	if strings.HasSuffix(strings.ToLower(path), ".jsonl") {
		res, err = cityjson.DecodeSeq(io.TeeReader(f, p), opts)
	} else {
		var data []byte
		data, err = io.ReadAll(io.TeeReader(f, p))
		if err == nil {
			res, err = cityjson.DecodeAny(data, opts)
		}
	}
	p.done()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}

// progressFrom is the size from which an import shows its progress.
const progressFrom = 4 << 20

// progress shows how much of a large file an import has read: a bar on a
// terminal, else a line every 10 % or 5 seconds.
type progress struct {
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	w     io.Writer
	name  string
	size  int64
	read  int64
	shown int64 // bytes at the last plain line
	last  time.Time
}

func newProgress(w io.Writer, name string, size int64) *progress {
	p := &progress{w: w, name: name, size: size, last: time.Now()}
	if size < progressFrom {
		p.size = 0 // small: no progress shown
		return p
	}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("importing "+name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// Write counts bytes read (as the writer of an io.TeeReader).
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.read += int64(len(b))
	if p.bar != nil {
		_ = p.bar.Set64(p.read)
		return len(b), nil
	}
	if p.size > 0 && (p.read-p.shown >= p.size/10 || time.Since(p.last) >= 5*time.Second) {
		fmt.Fprintf(p.w, "importing %s: %d%% (%s of %s)\n", p.name, 100*p.read/p.size, mb(p.read), mb(p.size))
		p.shown, p.last = p.read, time.Now()
	}
	return len(b), nil
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		return
	}
	if p.size > 0 && p.shown < p.read {
		fmt.Fprintf(p.w, "importing %s: %d%% (%s of %s)\n", p.name, 100*p.read/p.size, mb(p.read), mb(p.size))
		p.shown = p.read
	}
}

func mb(n int64) string { return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + " MB" }
