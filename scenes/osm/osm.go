// Package osm imports OpenStreetMap data (.osm XML and .osm.pbf) into twin
// features: buildings and building parts, roads and railways, water, land
// use and place names.
//
// Buildings are closed ways and multipolygon relations tagged building=*,
// with their height from height=* or building:levels=* (three metres a
// level) or else DefaultHeight; building:part=* ways go to the same layer
// with kind building_part. Roads (highway=*) and railways (railway=rail
// and kin) go to the infrastructure layer. Water areas (natural=water,
// water=*, waterway=riverbank, landuse=reservoir or basin) and waterways
// (river, stream, canal, ditch, drain) go to the water layer; land use
// (landuse=*, natural=wood, wetland…, leisure=park…) to the land-use
// layer; named place=* nodes and named peaks to the landmarks layer.
//
// A tag value the twin's schema holds as a number (height, min_height,
// building:levels, ele…) is read leniently ("12 m", "40 ft", "3;4", "8,5")
// or dropped; Result counts both. start_date gives
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

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/scenes/internal/footprint"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
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
	// Buildings, Infrastructure, Water, Landuse and Places are the layers
	// the features go to; default twin.Buildings, twin.Infrastructure,
	// scenes.Water, scenes.Landuse and twin.Landmarks.
	Buildings, Infrastructure, Water, Landuse, Places twin.Layer
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
	Features []*twin.Feature // buildings, infrastructure, water, land use, places; each by id
	// Counts of imported features, by layer (Parts: the building parts
	// among Buildings).
	Buildings, Parts, Infrastructure, Water, Landuse, Places int
	// Tag values that the schema holds as numbers, by key: Lenient were
	// read with a unit, a decimal comma or from a list ("12 m", "3;4");
	// Dropped could not be read and were left out. LenientExamples and
	// DroppedExamples hold the first such value of each key.
	Lenient, Dropped                 map[string]int
	LenientExamples, DroppedExamples map[string]string
	// Skipped lists the first MaxSkipsListed elements not imported.
	Skipped      []Skip
	SkippedCount int
	// Elements read: nodes, ways and relations.
	Nodes, Ways, Relations int
}

func (r *Result) drop(key, value string) {
	r.Dropped, r.DroppedExamples = count(r.Dropped, r.DroppedExamples, key, value)
}

func (r *Result) lenient(key, value string) {
	r.Lenient, r.LenientExamples = count(r.Lenient, r.LenientExamples, key, value)
}

func count(n map[string]int, ex map[string]string, key, value string) (map[string]int, map[string]string) {
	if n == nil {
		n, ex = map[string]int{}, map[string]string{}
	}
	n[key]++
	if _, ok := ex[key]; !ok {
		if len(value) > 40 {
			value = value[:40] + "…"
		}
		ex[key] = strings.ToValidUTF8(value, "�")
	}
	return n, ex
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
	part
	road
	rail
	waterArea
	waterLine
	landArea
)

// area reports whether the kind is drawn as a polygon.
func (k wayKind) area() bool { return k == building || k == part || k == waterArea || k == landArea }

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
	places    []place
}

// place is a named node kept for the landmarks: place=* or a peak.
type place struct {
	id   int64
	at   orb.Point
	tags posm.Tags
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
	if opts.Water == "" {
		opts.Water = scenes.Water
	}
	if opts.Landuse == "" {
		opts.Landuse = scenes.Landuse
	}
	if opts.Places == "" {
		opts.Places = twin.Landmarks
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
		if len(e.Tags) > 0 && e.Tags.Find("name") != "" && (e.Tags.Find("place") != "" || e.Tags.Find("natural") == "peak") {
			if len(e.Tags) > s.lim.TagsPerItem {
				return fmt.Errorf("%w: node/%d has %d tags (at most %d)", ErrLimit, e.ID, len(e.Tags), s.lim.TagsPerItem)
			}
			s.places = append(s.places, place{id: int64(e.ID), at: orb.Point{float64(n.lon) / 1e7, float64(n.lat) / 1e7}, tags: e.Tags})
		}
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
		closed := len(e.Nodes) >= 4 && e.Nodes[0].ID == e.Nodes[len(e.Nodes)-1].ID
		w := way{id: int64(e.ID), kind: classify(e.Tags, closed), refs: make([]int64, len(e.Nodes))}
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
		if e.Tags.Find("type") == "multipolygon" && classify(e.Tags, true).area() {
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

// Waterways imported as lines.
var waterways = map[string]bool{"river": true, "stream": true, "canal": true, "ditch": true, "drain": true, "brook": true, "tidal_channel": true}

// Land cover and use from natural=* and leisure=* (landuse=* is taken
// whatever its value).
var (
	naturalLand = map[string]bool{
		"wood": true, "wetland": true, "scrub": true, "heath": true, "grassland": true, "bare_rock": true, "scree": true,
		"shingle": true, "sand": true, "beach": true, "fell": true, "glacier": true, "tundra": true, "moor": true,
	}
	leisureLand = map[string]bool{
		"park": true, "garden": true, "pitch": true, "golf_course": true, "nature_reserve": true, "playground": true,
		"recreation_ground": true, "common": true, "dog_park": true, "sports_centre": true, "stadium": true, "track": true,
	}
	// landuse values that are water.
	waterLanduse = map[string]bool{"reservoir": true, "basin": true, "salt_pond": true}
)

func isWaterArea(t posm.Tags) bool {
	return t.Find("natural") == "water" || t.Find("waterway") == "riverbank" || waterLanduse[t.Find("landuse")] ||
		(t.Find("water") != "" && t.Find("water") != "no")
}

func isLandArea(t posm.Tags) bool {
	lu := t.Find("landuse")
	return (lu != "" && lu != "no") || naturalLand[t.Find("natural")] || leisureLand[t.Find("leisure")]
}

func isPart(t posm.Tags) bool {
	v := t.Find("building:part")
	return v != "" && v != "no"
}

// classify says what a way (or, with closed set, a multipolygon
// relation) is. A building wins over a part, a part over water, water over
// land use, and areas over lines; area=no makes a closed way a line.
func classify(t posm.Tags, closed bool) wayKind {
	areaOK := closed && t.Find("area") != "no"
	switch {
	case isBuilding(t):
		return building
	case isPart(t) && closed:
		return part
	case areaOK && isWaterArea(t):
		return waterArea
	case areaOK && isLandArea(t):
		return landArea
	case t.Find("highway") != "" && !notRoads[t.Find("highway")] && t.Find("area") != "yes":
		return road
	case railways[t.Find("railway")] && t.Find("area") != "yes":
		return rail
	case waterways[t.Find("waterway")] && t.Find("area") != "yes":
		return waterLine
	}
	return other
}

// builder turns what the scan kept into features.
type builder struct {
	*scan
	opts Options
}

func (b *builder) build() {
	var blds, infra, water, land, places []*twin.Feature
	put := func(f *twin.Feature) {
		switch f.Layer {
		case b.opts.Buildings:
			blds = append(blds, f)
			if f.Kind == "building_part" {
				b.res.Parts++
			}
		case b.opts.Water:
			water = append(water, f)
		case b.opts.Landuse:
			land = append(land, f)
		case b.opts.Places:
			places = append(places, f)
		default:
			infra = append(infra, f)
		}
	}
	for i := range b.ways {
		w := &b.ways[i]
		switch {
		case w.kind.area():
			if f := b.areaWay(w); f != nil {
				put(f)
			}
		case w.kind != other:
			if f := b.line(w); f != nil {
				put(f)
			}
		}
	}
	for _, r := range b.relations {
		if f := b.areaRelation(r); f != nil {
			put(f)
		}
	}
	for _, p := range b.places {
		if f := b.place(p); f != nil {
			put(f)
		}
	}
	linkParts(blds)
	byID := func(a, c *twin.Feature) int { return cmp.Compare(a.ID, c.ID) }
	for _, fs := range [][]*twin.Feature{blds, infra, water, land, places} {
		slices.SortFunc(fs, byID)
	}
	b.res.Buildings, b.res.Infrastructure, b.res.Water, b.res.Landuse, b.res.Places = len(blds), len(infra), len(water), len(land), len(places)
	b.res.Features = slices.Concat(blds, infra, water, land, places)
}

func (b *builder) areaWay(w *way) *twin.Feature {
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
	return b.area(w.kind, oid, fmt.Sprintf("osm-w%d", w.id), poly, w.tags)
}

// linkParts ties each building part to the building whose outline holds
// its centre: the part gets the property building (the outline's id), the
// outline building_parts (how many), so that a 3D view can draw the parts
// instead of the outline. Buildings are found through a grid of about
// 100 m cells.
func linkParts(blds []*twin.Feature) {
	const cell = 0.001
	key := func(p orb.Point) [2]int { return [2]int{int(math.Floor(p[0] / cell)), int(math.Floor(p[1] / cell))} }
	grid := map[[2]int][]*twin.Feature{}
	hasParts := false
	for _, f := range blds {
		if f.Kind == "building_part" {
			hasParts = true
			continue
		}
		b := f.Geometry.Bound()
		lo, hi := key(b.Min), key(b.Max)
		if (hi[0]-lo[0]+1)*(hi[1]-lo[1]+1) > 400 {
			continue // over 2 km across: not a building that holds parts
		}
		for x := lo[0]; x <= hi[0]; x++ {
			for y := lo[1]; y <= hi[1]; y++ {
				grid[[2]int{x, y}] = append(grid[[2]int{x, y}], f)
			}
		}
	}
	if !hasParts {
		return
	}
	for _, p := range blds {
		if p.Kind != "building_part" {
			continue
		}
		c := p.Geometry.Bound().Center()
		for _, f := range grid[key(c)] {
			if contains(f.Geometry, c) {
				p.Props["building"] = f.ID
				n, _ := f.Props["building_parts"].(float64)
				f.Props["building_parts"] = n + 1
				break
			}
		}
	}
}

func contains(g orb.Geometry, p orb.Point) bool {
	switch g := g.(type) {
	case orb.Polygon:
		return planar.PolygonContains(g, p)
	case orb.MultiPolygon:
		return planar.MultiPolygonContains(g, p)
	}
	return false
}

// area makes the feature of a building, part, water or land-use area.
func (b *builder) area(kind wayKind, oid, id string, g orb.Geometry, tags posm.Tags) *twin.Feature {
	switch kind {
	case building, part:
		return b.building(kind, oid, id, g, tags)
	}
	f, ok := b.common(oid, id, tags)
	if !ok {
		return nil
	}
	f.Geometry = g
	if kind == waterArea {
		f.Layer = b.opts.Water
		f.Kind = waterKind(tags)
	} else {
		f.Layer = b.opts.Landuse
		f.Kind = landKind(tags)
	}
	if err := scenes.Validate(f); err != nil {
		b.res.skip(oid, err.Error())
		return nil
	}
	return f
}

// waterKind: the water=* value (lake, river, pond…), else reservoir or
// basin from landuse, else river for a riverbank, else water.
func waterKind(t posm.Tags) string {
	switch {
	case t.Find("water") != "":
		return kindOf(t.Find("water"), "water")
	case waterLanduse[t.Find("landuse")]:
		return kindOf(t.Find("landuse"), "water")
	case t.Find("waterway") == "riverbank":
		return "river"
	}
	return "water"
}

// landKind: forest for landuse=forest and natural=wood, mine for
// landuse=industrial with industrial=mine, else the landuse value, else
// the natural or leisure value.
func landKind(t posm.Tags) string {
	lu := t.Find("landuse")
	switch {
	case lu == "forest" || t.Find("natural") == "wood":
		return "forest"
	case lu == "industrial" && t.Find("industrial") == "mine":
		return "mine"
	case lu != "" && lu != "no":
		return kindOf(lu, "landuse")
	case naturalLand[t.Find("natural")]:
		return kindOf(t.Find("natural"), "landuse")
	}
	return kindOf(t.Find("leisure"), "landuse")
}

// place makes a landmark of a named place or peak.
func (b *builder) place(p place) *twin.Feature {
	oid := fmt.Sprintf("node/%d", p.id)
	f, ok := b.common(oid, fmt.Sprintf("osm-n%d", p.id), p.tags)
	if !ok {
		return nil
	}
	f.Layer = b.opts.Places
	f.Geometry = p.at
	f.Kind = kindOf(p.tags.Find("place"), "")
	if f.Kind == "" {
		f.Kind = "summit"
	}
	if err := scenes.Validate(f); err != nil {
		b.res.skip(oid, err.Error())
		return nil
	}
	return f
}

// areaRelation assembles a multipolygon with osmgeojson from the
// relation and its member ways, positions filled in from the nodes.
func (b *builder) areaRelation(r *posm.Relation) *twin.Feature {
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
	return b.area(classify(r.Tags, true), oid, fmt.Sprintf("osm-r%d", r.ID), geom, r.Tags)
}

// Tags kept as properties, as strings, besides those the twin reads.
var keptTags = []string{
	"building", "building:part", "start_date", "end_date",
	"roof:shape", "roof:colour", "roof:material", "building:colour", "building:material",
	"addr:street", "addr:housenumber", "addr:postcode", "addr:city",
	"highway", "railway", "ref", "bridge", "tunnel", "layer", "service", "usage", "electrified", "maxspeed", "surface", "oneway",
	"natural", "landuse", "leisure", "industrial", "water", "waterway", "wetland", "leaf_type", "intermittent", "place", "population",
	"wikidata", "wikipedia", "name:sv", "name:en", "name:se", "name:fi",
}

// Tags the schema holds as numbers, and how each is read: lengths in
// metres ("12", "12 m", "40 ft") or plain counts ("3"). height is the
// feature's height; the others are kept as number properties (for the 3D
// building parts: min_height, roof:height, the levels).
var numericTags = []struct {
	key    string
	length bool
}{
	{"height", true}, {"min_height", true}, {"roof:height", true}, {"ele", true},
	{"building:levels", false}, {"building:min_level", false}, {"roof:levels", false},
}

// plainNumber matches what needs no leniency: digits with an optional
// decimal point.
func plainNumber(s string) bool {
	dot := false
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && !dot && i > 0 && i < len(s)-1:
			dot = true
		default:
			return false
		}
	}
	return s != ""
}

// numberTag reads a numeric tag of tags, counting a lenient reading or a
// value dropped in the result.
func (b *builder) numberTag(tags posm.Tags, key string, length bool) (float64, bool) {
	s := tags.Find(key)
	if s == "" {
		return 0, false
	}
	var v float64
	var ok bool
	if length {
		v, ok = metres(s)
	} else {
		v, ok = number(s)
	}
	switch {
	case !ok:
		b.res.drop(key, s)
	case !plainNumber(s):
		b.res.lenient(key, s)
	}
	return v, ok
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
	for _, n := range numericTags {
		v, ok := b.numberTag(tags, n.key, n.length)
		switch {
		case !ok:
		case n.key == "height":
			f.Height = round(v)
		default:
			f.Props[n.key] = round(v)
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

// building makes a building or a building part: its top from height, else
// levels (+ roof levels) × LevelHeight, else DefaultHeight; its base from
// min_height, else building:min_level × LevelHeight.
func (b *builder) building(kind wayKind, oid, id string, g orb.Geometry, tags posm.Tags) *twin.Feature {
	f, ok := b.common(oid, id, tags)
	if !ok {
		return nil
	}
	f.Layer = b.opts.Buildings
	f.Geometry = g
	f.Kind = kindOf(tags.Find("building"), "building")
	if kind == part {
		f.Kind = "building_part"
	}
	f.Status = twin.Standing
	if !f.Life.To.IsZero() {
		f.Status = twin.Demolished
	}
	top, how := f.Height, "height"
	if top <= 0 {
		if lv, ok := f.Props["building:levels"].(float64); ok && lv > 0 {
			rl, _ := f.Props["roof:levels"].(float64)
			top, how = (lv+rl)*LevelHeight, "levels"
		} else {
			top, how = DefaultHeight, "default"
		}
	}
	base := 0.0
	if v, ok := f.Props["min_height"].(float64); ok {
		base = v
	} else if v, ok := f.Props["building:min_level"].(float64); ok {
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
	switch w.kind {
	case road:
		f.Layer, f.Kind = b.opts.Infrastructure, "road"
	case rail:
		f.Layer, f.Kind = b.opts.Infrastructure, "rail"
	default:
		f.Layer, f.Kind = b.opts.Water, kindOf(w.tags.Find("waterway"), "waterway")
	}
	if missing > 0 {
		f.Props["cut"] = true
	}
	f.Geometry = runs
	if len(runs) == 1 {
		f.Geometry = runs[0]
	}
	if err := scenes.Validate(f); err != nil {
		b.res.skip(oid, err.Error())
		return nil
	}
	return f
}
