package tiles

import (
	"cmp"
	"math"
	"slices"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/paulmach/orb/simplify"
	"github.com/tidwall/rtree"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field types as TileJSON's vector_layers name them.
const (
	FieldString  = "String"
	FieldNumber  = "Number"
	FieldBoolean = "Boolean"
)

type geomType uint8

// MVT geometry types (vector_tile.proto GeomType).
const (
	geomPoint   geomType = 1
	geomLine    geomType = 2
	geomPolygon geomType = 3
)

// feat is one feature made ready for tiles once, when its layer is
// prepared: geometry in the Mercator unit square with per-zoom simplified
// copies, its size for generalisation, and its properties as indices into
// the layer's key and value tables.
type feat struct {
	f     *twin.Feature
	id    uint64 // MVT's feature id: f.NumericID()
	geom  orb.Geometry
	poly  orb.Polygon    // geom when it is one polygon, without the interface
	simpl []orb.Geometry // by zoom below MaxZoom; nil entries use geom
	// pieces cut a feature of many vertices by MaxZoom tile (pieces.go):
	// a MaxZoom tile draws its own piece, or nothing when it has none.
	pieces map[uint64]piece
	bound  orb.Bound // of geom, Mercator unit square
	size   float64   // the larger side of bound
	typ    geomType
	keep   bool     // never dropped by generalisation (points, landmarks)
	area   float32  // what the per-tile cap ranks by (see rankArea)
	tags   []uint32 // pairs: index into layerData.keys, index into layerData.values
}

// geometryAt returns the geometry to draw at zoom z.
func (f *feat) geometryAt(z int) orb.Geometry {
	if z < len(f.simpl) && f.simpl[z] != nil {
		return f.simpl[z]
	}
	return f.geom
}

// layerData is one layer of one snapshot, prepared: an R-tree over the
// features in Mercator, and the property tables every tile of the layer
// draws its keys and values from. Immutable once built.
type layerData struct {
	layer  twin.Layer
	spec   twin.LayerSpec
	tree   rtree.RTreeG[*feat]
	n      int
	keys   []string
	values [][]byte // encoded vector_tile.Tile.Value messages
	// shared is the number of values that more than one feature uses;
	// they come first in values. A tile dedups only those: the others
	// occur once in the layer, so at most once in a tile.
	shared int
	fields map[string]string
	// heavy is the heavy geometry of the features that have some, for the
	// next preparation of the layer to take over.
	heavy map[*twin.Feature]heavyGeom
}

type valueKey struct {
	kind byte // 's', 'n', 'b'
	s    string
	n    float64
}

type tableBuilder struct {
	keys     []string
	keyIdx   map[string]uint32 // keys beyond the first few
	keyTypes []string          // by key index: FieldString, FieldNumber or FieldBoolean
	values   [][]byte
	valIdx   map[valueKey]uint32
	slab     []byte // values are cut from slabs: one allocation for many
}

func newTableBuilder(features int) *tableBuilder {
	return &tableBuilder{keyIdx: map[string]uint32{}, valIdx: make(map[valueKey]uint32, features)}
}

// fewKeys is how many keys are looked up by a scan instead of the map: a
// layer's features share a dozen keys, which a scan finds faster.
const fewKeys = 24

func (t *tableBuilder) key(k string) uint32 {
	for i := 0; i < len(t.keys) && i < fewKeys; i++ {
		if t.keys[i] == k {
			return uint32(i)
		}
	}
	if len(t.keys) > fewKeys {
		if i, ok := t.keyIdx[k]; ok {
			return i
		}
	}
	i := uint32(len(t.keys))
	t.keys = append(t.keys, k)
	t.keyTypes = append(t.keyTypes, "")
	if i >= fewKeys {
		t.keyIdx[k] = i
	}
	return i
}

// value returns the index of v in the table, adding it if new. A unique
// value (a feature's id) is added without looking for it.
func (t *tableBuilder) value(v valueKey, unique bool) uint32 {
	if !unique {
		if i, ok := t.valIdx[v]; ok {
			return i
		}
	}
	if cap(t.slab)-len(t.slab) < 16+len(v.s) {
		t.slab = make([]byte, 0, max(64<<10, 16+len(v.s)))
	}
	at := len(t.slab)
	b := t.slab
	switch v.kind {
	case 's':
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, v.s)
	case 'n':
		b = protowire.AppendTag(b, 3, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(v.n))
	case 'b':
		b = protowire.AppendTag(b, 7, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(v.n))
	}
	t.slab = b
	i := uint32(len(t.values))
	t.values = append(t.values, b[at:len(b):len(b)])
	if !unique {
		t.valIdx[v] = i
	}
	return i
}

func (t *tableBuilder) add(tags []uint32, k string, v valueKey) []uint32 {
	typ := FieldString
	switch v.kind {
	case 'n':
		typ = FieldNumber
	case 'b':
		typ = FieldBoolean
	}
	ki := t.key(k)
	if old := t.keyTypes[ki]; old != "" && old != typ {
		typ = FieldString // mixed types: clients should read it as text
	}
	t.keyTypes[ki] = typ
	return append(tags, ki, t.value(v, k == twin.PropID))
}

// fields returns the type of every key met.
func (t *tableBuilder) fields() map[string]string {
	out := make(map[string]string, len(t.keys))
	for i, k := range t.keys {
		out[k] = t.keyTypes[i]
	}
	return out
}

func str(s string) valueKey  { return valueKey{kind: 's', s: s} }
func num(n float64) valueKey { return valueKey{kind: 'n', n: n} }
func boolean(b bool) valueKey {
	if b {
		return valueKey{kind: 'b', n: 1}
	}
	return valueKey{kind: 'b'}
}

// heavyGeom is the costly part of preparing a feature of many vertices:
// its simplified copies and its pieces. Features are immutable, so a
// layer prepared again after a change takes them over for the features
// the change left alone: a company that sends a small pilot again and
// again does not make the twin simplify another's large one each time.
type heavyGeom struct {
	simpl  []orb.Geometry
	pieces map[uint64]piece
}

// buildLayer prepares every feature of layer l of snap, taking the heavy
// geometry of a feature from reuse when it is there.
func buildLayer(snap *twin.Snapshot, l twin.Layer, o Options, reuse map[*twin.Feature]heavyGeom) *layerData {
	fs := snap.Features(l)
	spec, _ := l.Spec()
	d := &layerData{layer: l, spec: spec, n: len(fs), heavy: map[*twin.Feature]heavyGeom{}}
	tb := newTableBuilder(len(fs))
	// Fix the order of the keys every layer has.
	for _, k := range []string{"id", "name", "kind", "from", "to"} {
		tb.key(k)
	}
	// Lay the features out in memory in spatial (Z-) order, with their
	// rings, points, tags and unique values in arenas in that same order:
	// a tile's features then sit side by side, and the encoder, whose time
	// goes mostly to waiting on memory, reads a few cache lines per feature
	// instead of chasing a pointer per ring.
	items := make([]feat, 0, len(fs))
	for _, f := range fs {
		if pf, ok := prepareFeature(f, spec, o, reuse); ok {
			items = append(items, pf)
			if pf.simpl != nil || pf.pieces != nil {
				d.heavy[f] = heavyGeom{pf.simpl, pf.pieces}
			}
		}
	}
	keys := make([]uint64, len(items))
	for i := range items {
		keys[i] = zorder(items[i].bound.Center())
	}
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(keys[a], keys[b]) })
	sorted := make([]feat, len(items))
	nPoints, nRings := 0, 0
	for i, j := range order {
		sorted[i] = items[j]
		if p, ok := sorted[i].geom.(orb.Polygon); ok {
			nRings += len(p)
			nPoints += twin.VertexCount(p)
		}
	}
	items = nil
	points := make([]orb.Point, 0, nPoints)
	rings := make([]orb.Ring, 0, nRings)
	prepared := make([]*feat, len(sorted))
	for i := range sorted {
		pf := &sorted[i]
		if p, ok := pf.geom.(orb.Polygon); ok {
			start := len(rings)
			for _, r := range p {
				at := len(points)
				points = append(points, r...)
				rings = append(rings, orb.Ring(points[at:len(points):len(points)]))
			}
			pf.poly = orb.Polygon(rings[start:len(rings):len(rings)])
			pf.geom = pf.poly
		}
		pf.tags = featureTags(tb, pf.f)
		prepared[i] = pf
	}
	d.keys = tb.keys
	d.values, d.shared = sharedFirst(tb.values, prepared)
	size := 0
	for _, v := range d.values {
		size += len(v)
	}
	arena := make([]byte, 0, size)
	for i, v := range d.values {
		at := len(arena)
		arena = append(arena, v...)
		d.values[i] = arena[at:len(arena):len(arena)]
	}
	tags := make([]uint32, 0, func() int {
		n := 0
		for _, pf := range prepared {
			n += len(pf.tags)
		}
		return n
	}())
	for _, pf := range prepared {
		at := len(tags)
		tags = append(tags, pf.tags...)
		pf.tags = tags[at:len(tags):len(tags)]
		d.tree.Insert(pf.bound.Min, pf.bound.Max, pf)
	}
	d.fields = wireFields(spec)
	for k, t := range tb.fields() {
		if old, ok := d.fields[k]; ok && old != t {
			t = FieldString
		}
		d.fields[k] = t
	}
	return d
}

// sharedFirst renumbers the values so that those used by more than one
// feature come first, rewrites the features' tags to match, and returns
// the reordered values and the number used more than once.
func sharedFirst(values [][]byte, fs []*feat) ([][]byte, int) {
	uses := make([]uint32, len(values))
	for _, f := range fs {
		for i := 1; i < len(f.tags); i += 2 {
			uses[f.tags[i]]++
		}
	}
	renum := make([]uint32, len(values))
	out := make([][]byte, 0, len(values))
	for i, v := range values {
		if uses[i] > 1 {
			renum[i] = uint32(len(out))
			out = append(out, v)
		}
	}
	shared := len(out)
	for i, v := range values {
		if uses[i] == 1 {
			renum[i] = uint32(len(out))
			out = append(out, v)
		}
	}
	for _, f := range fs {
		for i := 1; i < len(f.tags); i += 2 {
			f.tags[i] = renum[f.tags[i]]
		}
	}
	return out, shared
}

// wireFields are the fields every feature of a layer may carry in tiles,
// listed even while the layer is empty.
func wireFields(spec twin.LayerSpec) map[string]string {
	out := map[string]string{}
	for k, t := range spec.WireFields(twin.DecimalYearTime) {
		out[k] = string(t)
	}
	return out
}

// featureTags returns f's properties, as the schema writes them in tiles,
// as pairs of indices into tb's tables.
func featureTags(tb *tableBuilder, f *twin.Feature) []uint32 {
	tags := make([]uint32, 0, 2*(12+len(f.Props)))
	f.EachProperty(twin.DecimalYearTime, func(k string, v twin.Value) {
		switch v.Kind {
		case twin.NumberValue:
			tags = tb.add(tags, k, num(v.Num))
		case twin.BoolValue:
			tags = tb.add(tags, k, boolean(v.Bool))
		default:
			tags = tb.add(tags, k, str(v.Str))
		}
	})
	return slices.Clip(tags)
}

// prepareFeature makes f ready for tiles, or returns nil if it has no
// geometry a tile can draw; f's heavy geometry comes from reuse when it
// is there.
func prepareFeature(f *twin.Feature, spec twin.LayerSpec, o Options, reuse map[*twin.Feature]heavyGeom) (feat, bool) {
	g := f.Mercator()
	if g == nil {
		return feat{}, false
	}
	pf := feat{f: f, geom: g, id: f.NumericID()}
	switch g := g.(type) {
	case orb.Point, orb.MultiPoint:
		pf.typ = geomPoint
	case orb.LineString, orb.MultiLineString:
		pf.typ = geomLine
	case orb.Ring:
		pf.typ = geomPolygon
		pf.geom = orb.Polygon{g}
	case orb.Polygon, orb.MultiPolygon:
		pf.typ = geomPolygon
	default:
		return feat{}, false
	}
	pf.bound = g.Bound()
	pf.size = max(pf.bound.Max[0]-pf.bound.Min[0], pf.bound.Max[1]-pf.bound.Min[1])
	pf.area = rankArea(pf.geom, pf.typ)
	pf.keep = pf.typ == geomPoint || spec.Labels
	if h, ok := reuse[f]; ok {
		pf.simpl, pf.pieces = h.simpl, h.pieces
	} else if n := twin.VertexCount(g); pf.typ != geomPoint && n > simplifyFrom {
		pf.simpl = simplifyPerZoom(g, o)
		if n > pieceFrom {
			pf.pieces = cutPieces(pf.geom, o.MaxZoom, o.Buffer)
		}
	}
	return pf, true
}

// zorder interleaves the bits of a point of the unit square on a 2^20 grid.
func zorder(p orb.Point) uint64 {
	spread := func(v float64) uint64 {
		x := uint64(max(0, min(1<<20-1, v*(1<<20))))
		x = (x | x<<16) & 0x0000FFFF0000FFFF
		x = (x | x<<8) & 0x00FF00FF00FF00FF
		x = (x | x<<4) & 0x0F0F0F0F0F0F0F0F
		x = (x | x<<2) & 0x3333333333333333
		x = (x | x<<1) & 0x5555555555555555
		return x
	}
	return spread(p[0]) | spread(p[1])<<1
}

// simplifyFrom is the number of vertices above which a feature keeps
// simplified copies for the zooms below MaxZoom. Smaller features are
// simplified enough by rounding to the tile grid.
const simplifyFrom = 32

// simplifyPerZoom returns Douglas–Peucker copies of g for each zoom below
// MaxZoom, sharing a copy between zooms where a coarser tolerance would not
// drop a tenth of the vertices more, and nil where the full geometry is
// kept. Each copy is simplified from the next finer one, not from g: the
// tolerance doubles from zoom to zoom, so a copy stays within twice its
// own tolerance of g (a pixel at the default 0.5), and a feature of
// 100,000 vertices is walked whole once instead of once per zoom.
func simplifyPerZoom(g orb.Geometry, o Options) []orb.Geometry {
	out := make([]orb.Geometry, o.MaxZoom)
	prev, prevN := g, twin.VertexCount(g)
	for z := o.MaxZoom - 1; z >= 0; z-- {
		tol := o.SimplifyPixels / (TileSize * float64(uint64(1)<<z))
		s := simplify.DouglasPeucker(tol).Simplify(orb.Clone(prev))
		n := twin.VertexCount(s)
		if s == nil || n == 0 {
			// Smaller than the tolerance: keep the coarsest copy that drew.
			out[z] = prev
			continue
		}
		if float64(n) > 0.9*float64(prevN) {
			out[z] = prev
			continue
		}
		out[z], prev, prevN = s, s, n
	}
	for z := range out {
		if out[z] == nil {
			continue
		}
		if twin.VertexCount(out[z]) == twin.VertexCount(g) {
			out[z] = nil
		}
	}
	return out
}

// largestFirst orders candidates for the per-tile cap: the largest area
// first (tippecanoe's --drop-smallest-as-needed drops the smallest), then
// by id so that the choice is stable and the same in neighbouring tiles.
func largestFirst(a, b *feat) int {
	if c := cmp.Compare(b.area, a.area); c != 0 {
		return c
	}
	return cmp.Compare(a.f.ID, b.f.ID)
}

// rankArea is what a feature weighs against the per-tile cap, in the
// Mercator unit square: a polygon its area (holes taken out), a line the
// square on its length, a point nothing.
func rankArea(g orb.Geometry, typ geomType) float32 {
	switch typ {
	case geomPolygon:
		return float32(planar.Area(g))
	case geomLine:
		l := planar.Length(g)
		return float32(l * l)
	}
	return 0
}
