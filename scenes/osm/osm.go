// Package osm imports buildings, roads and railways from OpenStreetMap
// data (.osm XML and .osm.pbf) into twin features.
//
// Buildings are closed ways and multipolygon relations tagged building=*,
// with their height from height=* or building:levels=* (three metres a
// level) or else DefaultHeight. Roads (highway=*) and railways
// (railway=rail and kin) go to the infrastructure layer. start_date gives
// a feature's from; without it, Options.From (DefaultFrom by default) and
// the property from_default. Every feature's source is "OpenStreetMap
// contributors (ODbL)": data imported this way must be attributed
// "© OpenStreetMap contributors".
//
// OpenStreetMap data is edited by hand and an extract is cut at a
// boundary, so a broken or cut feature is skipped and listed in
// Result.Skipped rather than failing the import; input that cannot be read
// at all (bad XML or PBF, limits) fails it.
package osm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kiruna-twin/kiruna-twin/scenes/internal/footprint"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	posm "github.com/paulmach/osm"
	"github.com/paulmach/osm/osmgeojson"
	"github.com/paulmach/osm/osmpbf"
	"github.com/paulmach/osm/osmxml"
)

// Source is the source of every imported feature; the data is under the
// Open Database License and must be attributed "© OpenStreetMap contributors".
const Source = "OpenStreetMap contributors (ODbL)"

// Sentinel errors: test with errors.Is.
var (
	ErrBadOSM = errors.New("bad OpenStreetMap data")
	ErrLimit  = errors.New("over a limit")
)

// Format is the encoding of an OpenStreetMap file.
type Format int

// The formats.
const (
	XML Format = iota // .osm
	PBF               // .osm.pbf
)

func (f Format) String() string {
	if f == PBF {
		return "PBF"
	}
	return "XML"
}

// FormatOf guesses the format from a file name: .pbf is PBF, else XML.
func FormatOf(name string) Format {
	if strings.HasSuffix(strings.ToLower(name), ".pbf") {
		return PBF
	}
	return XML
}

// Limits bound one import; zero fields take DefaultLimits.
type Limits struct {
	Nodes       int // nodes in the file
	Ways        int // ways
	Relations   int // relations
	WayNodes    int // nodes in one way
	Members     int // members of one relation
	TagsPerItem int // tags on one element
}

// DefaultLimits hold a large city with room to spare.
var DefaultLimits = Limits{
	Nodes:       100_000_000,
	Ways:        20_000_000,
	Relations:   2_000_000,
	WayNodes:    100_000,
	Members:     100_000,
	TagsPerItem: 1_000,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	for _, p := range []struct{ own, def *int }{
		{&l.Nodes, &d.Nodes}, {&l.Ways, &d.Ways}, {&l.Relations, &d.Relations},
		{&l.WayNodes, &d.WayNodes}, {&l.Members, &d.Members}, {&l.TagsPerItem, &d.TagsPerItem},
	} {
		if *p.own > 0 {
			*p.def = *p.own
		}
	}
	return d
}

// Defaults for what the data does not say.
var (
	// DefaultFrom starts the life of a feature without start_date.
	DefaultFrom = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
)

const (
	// DefaultHeight is a building's height without height or levels
	// (about two storeys).
	DefaultHeight = 6.0
	// LevelHeight is the height of one level of building:levels.
	LevelHeight = 3.0
)

// Options steer an import; the zero value is usable.
type Options struct {
	// From starts the life of features without start_date; default
	// DefaultFrom. Such features carry the property from_default: true.
	From time.Time
	// Buildings and Infrastructure are the layers the features go to;
	// default twin.Buildings and twin.Infrastructure.
	Buildings, Infrastructure twin.Layer
	// Limits bound the input; zero fields take DefaultLimits.
	Limits Limits
	// Procs is the number of PBF decoders; default the number of CPUs.
	Procs int
}

// Skip names an element that was not imported and why.
type Skip struct {
	ID     string // e.g. "way/123"
	Reason string
}

// MaxSkipsListed bounds Result.Skipped; Result.SkippedCount counts them all.
const MaxSkipsListed = 1000

// Result is what an import found.
type Result struct {
	Features []*twin.Feature // buildings first, then infrastructure, each by id
	// Counts of imported features, by layer.
	Buildings, Infrastructure int
	// Skipped lists the first MaxSkipsListed elements not imported.
	Skipped      []Skip
	SkippedCount int
	// Elements read: nodes, ways and relations.
	Nodes, Ways, Relations int
}

func (r *Result) skip(id, reason string) {
	r.SkippedCount++
	if len(r.Skipped) < MaxSkipsListed {
		r.Skipped = append(r.Skipped, Skip{ID: id, Reason: reason})
	}
}

// node is a node's position in OSM's own precision, 1e-7 degrees.
type node struct {
	id       int64
	lat, lon int32
}

type wayKind uint8

const (
	other wayKind = iota
	building
	road
	rail
	buildingPart // building:part=*, drawn in 3D as part of its building (roofs.go)
)

type way struct {
	id   int64
	kind wayKind
	refs []int64
	tags posm.Tags
}

// scan holds what the first pass over the file kept.
type scan struct {
	lim       Limits
	res       *Result
	nodes     []node
	sorted    bool
	ways      []way
	wayIndex  map[int64]int // id → index in ways
	relations []*posm.Relation
}

// Decode reads OpenStreetMap data of the given format from r. ctx cancels
// a long import.
func Decode(ctx context.Context, r io.Reader, format Format, opts Options) (*Result, error) {
	if opts.From.IsZero() {
		opts.From = DefaultFrom
	}
	if opts.Buildings == "" {
		opts.Buildings = twin.Buildings
	}
	if opts.Infrastructure == "" {
		opts.Infrastructure = twin.Infrastructure
	}
	s := &scan{lim: opts.Limits.withDefaults(), res: &Result{}, sorted: true, wayIndex: map[int64]int{}}
	if err := s.read(ctx, r, format, opts.Procs); err != nil {
		return nil, err
	}
	s.index()
	b := &builder{scan: s, opts: opts}
	b.build()
	return s.res, nil
}

type scanner interface {
	Scan() bool
	Object() posm.Object
	Err() error
	Close() error
}

func (s *scan) read(ctx context.Context, r io.Reader, format Format, procs int) error {
	var sc scanner
	switch format {
	case PBF:
		if procs <= 0 {
			procs = runtime.GOMAXPROCS(0)
		}
		sc = osmpbf.New(ctx, &pbfGuard{r: r}, procs)
	default:
		sc = osmxml.New(ctx, r)
	}
	defer sc.Close()
	for sc.Scan() {
		if err := s.add(sc.Object()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w (%s): %v", ErrBadOSM, format, err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

func (s *scan) add(o posm.Object) error {
	switch e := o.(type) {
	case *posm.Node:
		s.res.Nodes++
		if s.res.Nodes > s.lim.Nodes {
			return fmt.Errorf("%w: more than %d nodes", ErrLimit, s.lim.Nodes)
		}
		if !(e.Lat >= -90 && e.Lat <= 90 && e.Lon >= -180 && e.Lon <= 180) { // also NaN
			s.res.skip(fmt.Sprintf("node/%d", e.ID), fmt.Sprintf("position lat %v, lon %v is outside WGS84", e.Lat, e.Lon))
			return nil
		}
		n := node{id: int64(e.ID), lat: int32(math.Round(e.Lat * 1e7)), lon: int32(math.Round(e.Lon * 1e7))}
		if k := len(s.nodes); k > 0 && s.nodes[k-1].id >= n.id {
			s.sorted = false
		}
		s.nodes = append(s.nodes, n)
	case *posm.Way:
		s.res.Ways++
		if s.res.Ways > s.lim.Ways {
			return fmt.Errorf("%w: more than %d ways", ErrLimit, s.lim.Ways)
		}
		id := fmt.Sprintf("way/%d", e.ID)
		if len(e.Nodes) > s.lim.WayNodes {
			return fmt.Errorf("%w: %s has %d nodes (at most %d)", ErrLimit, id, len(e.Nodes), s.lim.WayNodes)
		}
		if len(e.Tags) > s.lim.TagsPerItem {
			return fmt.Errorf("%w: %s has %d tags (at most %d)", ErrLimit, id, len(e.Tags), s.lim.TagsPerItem)
		}
		if _, dup := s.wayIndex[int64(e.ID)]; dup {
			s.res.skip(id, "the way appears twice; the first is kept")
			return nil
		}
		w := way{id: int64(e.ID), kind: classify(e.Tags), refs: make([]int64, len(e.Nodes))}
		for i, wn := range e.Nodes {
			w.refs[i] = int64(wn.ID)
		}
		if w.kind != other {
			w.tags = e.Tags
		}
		s.wayIndex[w.id] = len(s.ways)
		s.ways = append(s.ways, w)
	case *posm.Relation:
		s.res.Relations++
		if s.res.Relations > s.lim.Relations {
			return fmt.Errorf("%w: more than %d relations", ErrLimit, s.lim.Relations)
		}
		if len(e.Members) > s.lim.Members {
			return fmt.Errorf("%w: relation/%d has %d members (at most %d)", ErrLimit, e.ID, len(e.Members), s.lim.Members)
		}
		if e.Tags.Find("type") == "multipolygon" && isBuilding(e.Tags) {
			s.relations = append(s.relations, e)
		}
	}
	return nil
}

// index sorts the nodes by id (files are usually sorted already) and drops
// repeated ids, keeping the first.
func (s *scan) index() {
	if !s.sorted {
		slices.SortStableFunc(s.nodes, func(a, b node) int { return cmp.Compare(a.id, b.id) })
	}
	out := s.nodes[:0]
	for i, n := range s.nodes {
		if i > 0 && n.id == s.nodes[i-1].id {
			s.res.skip(fmt.Sprintf("node/%d", n.id), "the node appears twice; the first is kept")
			continue
		}
		out = append(out, n)
	}
	s.nodes = out
}

func (s *scan) node(id int64) (orb.Point, bool) {
	i, ok := slices.BinarySearchFunc(s.nodes, id, func(n node, id int64) int { return cmp.Compare(n.id, id) })
	if !ok {
		return orb.Point{}, false
	}
	n := s.nodes[i]
	return orb.Point{float64(n.lon) / 1e7, float64(n.lat) / 1e7}, true
}

func isBuilding(t posm.Tags) bool {
	v := t.Find("building")
	return v != "" && v != "no"
}

// Railways imported; abandoned, disused, planned and platform ways are not.
var railways = map[string]bool{
	"rail": true, "light_rail": true, "narrow_gauge": true, "subway": true,
	"tram": true, "monorail": true, "funicular": true, "preserved": true,
}

// Highways not imported: they are not roads, or not yet built.
var notRoads = map[string]bool{
	"proposed": true, "platform": true, "elevator": true, "services": true,
	"rest_area": true, "bus_stop": true, "emergency_access_point": true,
}

func classify(t posm.Tags) wayKind {
	switch {
	case isBuilding(t):
		return building
	case t.Find("building:part") != "" && t.Find("building:part") != "no":
		return buildingPart
	case t.Find("highway") != "" && !notRoads[t.Find("highway")] && t.Find("area") != "yes":
		return road
	case railways[t.Find("railway")] && t.Find("area") != "yes":
		return rail
	}
	return other
}

// builder turns what the scan kept into features.
type builder struct {
	*scan
	opts Options
}

func (b *builder) build() {
	var blds, infra []*twin.Feature
	for i := range b.ways {
		w := &b.ways[i]
		switch w.kind {
		case building:
			if f := b.buildingWay(w); f != nil {
				blds = append(blds, f)
			}
		case road, rail:
			if f := b.line(w); f != nil {
				infra = append(infra, f)
			}
		}
	}
	for _, r := range b.relations {
		if f := b.buildingRelation(r); f != nil {
			blds = append(blds, f)
		}
	}
	b.shapes(blds) // roofs.go: roofs and building parts in 3D
	byID := func(a, c *twin.Feature) int { return cmp.Compare(a.ID, c.ID) }
	slices.SortFunc(blds, byID)
	slices.SortFunc(infra, byID)
	b.res.Buildings, b.res.Infrastructure = len(blds), len(infra)
	b.res.Features = append(blds, infra...)
}

func (b *builder) buildingWay(w *way) *twin.Feature {
	oid := fmt.Sprintf("way/%d", w.id)
	if len(w.refs) < 4 || w.refs[0] != w.refs[len(w.refs)-1] {
		b.res.skip(oid, "a building way that is not closed")
		return nil
	}
	ring := make(orb.Ring, 0, len(w.refs))
	for _, ref := range w.refs {
		p, ok := b.node(ref)
		if !ok {
			b.res.skip(oid, fmt.Sprintf("node/%d is not in the file", ref))
			return nil
		}
		ring = append(ring, p)
	}
	ring, err := footprint.Ring(ring)
	if err != nil {
		b.res.skip(oid, "footprint: "+err.Error())
		return nil
	}
	poly := orb.Polygon{ring}
	footprint.Orient(poly)
	return b.building(oid, fmt.Sprintf("osm-w%d", w.id), poly, w.tags)
}

// buildingRelation assembles a multipolygon with osmgeojson from the
// relation and its member ways, positions filled in from the nodes.
func (b *builder) buildingRelation(r *posm.Relation) *twin.Feature {
	oid := fmt.Sprintf("relation/%d", r.ID)
	o := &posm.OSM{Relations: posm.Relations{r}}
	for _, m := range r.Members {
		if m.Type != posm.TypeWay {
			continue
		}
		i, ok := b.wayIndex[m.Ref]
		if !ok {
			b.res.skip(oid, fmt.Sprintf("member way/%d is not in the file", m.Ref))
			return nil
		}
		w := &b.ways[i]
		pw := &posm.Way{ID: posm.WayID(w.id), Nodes: make(posm.WayNodes, len(w.refs)), Tags: w.tags}
		for k, ref := range w.refs {
			p, ok := b.node(ref)
			if !ok {
				b.res.skip(oid, fmt.Sprintf("node/%d of way/%d is not in the file", ref, w.id))
				return nil
			}
			pw.Nodes[k] = posm.WayNode{ID: posm.NodeID(ref), Lon: p[0], Lat: p[1]}
		}
		o.Ways = append(o.Ways, pw)
	}
	fc, err := osmgeojson.Convert(o, osmgeojson.NoMeta(true), osmgeojson.NoRelationMembership(true))
	if err != nil {
		b.res.skip(oid, err.Error())
		return nil
	}
	var g orb.Geometry
	for _, f := range fc.Features {
		if f.Properties["type"] == "relation" {
			g = f.Geometry
		}
	}
	var polys orb.MultiPolygon
	switch g := g.(type) {
	case orb.Polygon:
		polys = orb.MultiPolygon{g}
	case orb.MultiPolygon:
		polys = g
	default:
		b.res.skip(oid, "its member ways do not make closed rings")
		return nil
	}
	for _, p := range polys {
		for k, ring := range p {
			ring, err := footprint.Ring(ring)
			if err != nil {
				b.res.skip(oid, "footprint: "+err.Error())
				return nil
			}
			p[k] = ring
		}
		footprint.Orient(p)
	}
	var geom orb.Geometry = polys
	if len(polys) == 1 {
		geom = polys[0]
	}
	return b.building(oid, fmt.Sprintf("osm-r%d", r.ID), geom, r.Tags)
}

// Tags kept as properties besides those the twin reads.
var keptTags = []string{
	"building", "building:levels", "height", "min_height", "start_date", "end_date",
	"roof:shape", "roof:height", "roof:levels", "roof:orientation",
	"addr:street", "addr:housenumber", "addr:postcode", "addr:city",
	"highway", "railway", "ref", "bridge", "tunnel", "layer", "service", "usage", "electrified", "maxspeed", "surface", "oneway",
	"wikidata", "wikipedia", "name:sv", "name:en", "name:se", "name:fi",
}

func (b *builder) common(oid, id string, tags posm.Tags) (*twin.Feature, bool) {
	for _, t := range tags {
		if !utf8.ValidString(t.Key) || !utf8.ValidString(t.Value) {
			b.res.skip(oid, fmt.Sprintf("tag %q is not valid UTF-8", strings.ToValidUTF8(t.Key, "�")))
			return nil, false
		}
	}
	f := &twin.Feature{
		ID:         id,
		Name:       tags.Find("name"),
		Source:     Source,
		Confidence: twin.Sourced,
		Props:      map[string]any{"osm_id": oid},
	}
	for _, k := range keptTags {
		if v := tags.Find(k); v != "" {
			f.Props[k] = v
		}
	}
	f.Life.From = b.opts.From
	if t, ok := parseDate(tags.Find("start_date")); ok {
		f.Life.From = t
	} else {
		f.Props[twin.PropFromDefault] = true
	}
	if t, ok := parseDate(tags.Find("end_date")); ok && t.After(f.Life.From) {
		f.Life.To = t
	}
	return f, true
}

func (b *builder) building(oid, id string, g orb.Geometry, tags posm.Tags) *twin.Feature {
	f, ok := b.common(oid, id, tags)
	if !ok {
		return nil
	}
	f.Layer = b.opts.Buildings
	f.Geometry = g
	f.Kind = kindOf(tags.Find("building"), "building")
	f.Status = twin.Standing
	if !f.Life.To.IsZero() {
		f.Status = twin.Demolished
	}
	top, how := buildingTop(tags)
	base := 0.0
	if v, ok := metres(tags.Find("min_height")); ok {
		base = v
	} else if v, ok := number(tags.Find("building:min_level")); ok {
		base = v * LevelHeight
	}
	if top <= base {
		top, how = base+DefaultHeight, "default"
	}
	f.Base = round(base)
	f.Height = round(top - base)
	f.Props["height_source"] = how
	if err := f.Validate(); err != nil {
		b.res.skip(oid, err.Error())
		return nil
	}
	return f
}

func round(v float64) float64 { return math.Round(v*100) / 100 }

// buildingTop is the height of a building's top above the ground and
// where it comes from: "height", "levels" or "default".
func buildingTop(tags posm.Tags) (float64, string) {
	if v, ok := metres(tags.Find("height")); ok && v > 0 {
		return v, "height"
	}
	if v, ok := number(tags.Find("building:levels")); ok && v > 0 {
		return (v + roofLevels(tags)) * LevelHeight, "levels"
	}
	return DefaultHeight, "default"
}

func roofLevels(tags posm.Tags) float64 {
	v, _ := number(tags.Find("roof:levels"))
	return v
}

// number reads a plain non-negative number; of "3;4" the first.
func number(s string) (float64, bool) {
	s = strings.TrimSpace(strings.SplitN(s, ";", 2)[0])
	v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", "."), 64)
	if err != nil || !(v >= 0 && v <= 1000) {
		return 0, false
	}
	return v, true
}

// metres reads an OSM length: "12", "12 m", "12.5m", "40 ft", "40'".
func metres(s string) (float64, bool) {
	s = strings.TrimSpace(strings.SplitN(s, ";", 2)[0])
	k := 1.0
	switch {
	case strings.HasSuffix(s, "ft"):
		s, k = strings.TrimSuffix(s, "ft"), 0.3048
	case strings.HasSuffix(s, "'"):
		s, k = strings.TrimSuffix(s, "'"), 0.3048
	case strings.HasSuffix(s, "m"):
		s = strings.TrimSuffix(s, "m")
	}
	v, ok := number(s)
	if !ok || v*k > 1000 {
		return 0, false
	}
	return v * k, true
}

// kindOf makes a kind from a tag value: "yes" means the generic kind.
func kindOf(v, generic string) string {
	v = strings.ToLower(strings.TrimSpace(v))
	if v == "" || v == "yes" || len(v) > 40 {
		return generic
	}
	return v
}

// parseDate reads the common forms of OSM's start_date: "1963",
// "1963-05", "1963-05-20", "~1963" (approximate), "1960s" (the decade's
// start). Others ("C19", "before 1900") are not read.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "~")
	if len(s) == 5 && strings.HasSuffix(s, "s") {
		s = s[:4]
	}
	for _, layout := range []string{"2006", "2006-01", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil && t.Year() >= 1000 {
			return t, true
		}
	}
	return time.Time{}, false
}

// line makes a road or railway. A way cut by the edge of an extract keeps
// the runs of its nodes that are in the file.
func (b *builder) line(w *way) *twin.Feature {
	oid := fmt.Sprintf("way/%d", w.id)
	var runs orb.MultiLineString
	var cur orb.LineString
	missing := 0
	for _, ref := range w.refs {
		p, ok := b.node(ref)
		if !ok {
			missing++
			if len(cur) >= 2 {
				runs = append(runs, cur)
			}
			cur = nil
			continue
		}
		if len(cur) > 0 && cur[len(cur)-1] == p {
			continue
		}
		cur = append(cur, p)
	}
	if len(cur) >= 2 {
		runs = append(runs, cur)
	}
	if len(runs) == 0 {
		b.res.skip(oid, "fewer than two of its nodes are in the file")
		return nil
	}
	f, ok := b.common(oid, fmt.Sprintf("osm-w%d", w.id), w.tags)
	if !ok {
		return nil
	}
	f.Layer = b.opts.Infrastructure
	if w.kind == road {
		f.Kind = "road"
	} else {
		f.Kind = "rail"
	}
	if missing > 0 {
		f.Props["cut"] = true
	}
	f.Geometry = runs
	if len(runs) == 1 {
		f.Geometry = runs[0]
	}
	if err := f.Validate(); err != nil {
		b.res.skip(oid, err.Error())
		return nil
	}
	return f
}
