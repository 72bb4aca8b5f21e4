package tiles

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/clip"
	"google.golang.org/protobuf/encoding/protowire"
)

// MVT geometry commands.
const (
	cmdMoveTo    = 1
	cmdLineTo    = 2
	cmdClosePath = 7
)

// encoder writes one tile at a time into reused buffers. It is not safe
// for concurrent use: pool it.
type encoder struct {
	o Options

	tile  []byte
	feats []byte // the features of the layer being written
	tail  []byte // the keys, values, extent and version of that layer
	tags  []byte
	geom  []byte
	cmds  []uint32
	pts   []ipt
	cands []*feat
	clipA []orb.Point // scratch rings for clipping
	clipB []orb.Point

	// Local key and value tables of the layer being written, as maps from
	// the layer's global tables.
	keyLocal []uint32 // global key → local index+1, valid when keyStamp matches
	keyStamp []uint32
	stamp    uint32
	usedKeys []uint32
	valLocal []uint32 // shared global value → local index, valid when valStamp matches
	valStamp []uint32
	usedVals []uint32

	cx, cy int32 // the geometry cursor
	x, y   int   // the tile being written

	dropped []Dropped // of the last tile encoded
}

type ipt struct{ x, y int32 }

// xform maps a point to tile units: p*s - o.
type xform struct{ s, ox, oy float64 }

func (t xform) apply(p orb.Point) ipt {
	return ipt{int32(math.Floor(p[0]*t.s - t.ox + 0.5)), int32(math.Floor(p[1]*t.s - t.oy + 0.5))}
}

func newEncoder(o Options) *encoder {
	return &encoder{o: o}
}

// encode returns the MVT bytes of tile z/x/y of the prepared layers, in
// e's buffer (valid until the next call), or nil when no feature meets it;
// e.dropped then says what the per-tile cap left out.
func (e *encoder) encode(layers []*layerData, z, x, y int) []byte {
	e.tile = e.tile[:0]
	e.x, e.y = x, y
	e.dropped = e.dropped[:0]
	n := float64(uint64(1) << z)
	mb := MercatorBound(z, x, y, e.o.Buffer)
	t := xform{s: Extent * n, ox: float64(x) * Extent, oy: float64(y) * Extent}
	buf := float64(e.o.Buffer)
	clipBox := orb.Bound{Min: orb.Point{-buf, -buf}, Max: orb.Point{Extent + buf, Extent + buf}}
	pixel := 1 / (TileSize * n)
	for _, d := range layers {
		if d == nil || d.n == 0 {
			continue
		}
		e.cands = e.cands[:0]
		generalise := z < e.o.FullZoom
		d.tree.Search(mb.Min, mb.Max, func(_, _ [2]float64, f *feat) bool {
			if generalise && !f.keep && f.size < pixel {
				return true
			}
			e.cands = append(e.cands, f)
			return true
		})
		if len(e.cands) == 0 {
			continue
		}
		limit := len(e.cands)
		if z < e.o.MaxZoom && !d.spec.Labels && len(e.cands) > e.o.MaxFeatures {
			// Too many: the smallest go first (see largestFirst), and
			// the cap counts the features written, not those found.
			slices.SortFunc(e.cands, largestFirst)
			limit = e.o.MaxFeatures
		}
		if left := e.layer(d, z, t, clipBox, limit); left > 0 {
			// What the cap left out, counted where a viewer would miss
			// it: on the tile itself, not only in its buffer.
			tb := MercatorBound(z, x, y, 0)
			n := 0
			for _, f := range e.cands[len(e.cands)-left:] {
				if f.bound.Intersects(tb) {
					n++
				}
			}
			if n > 0 {
				e.dropped = append(e.dropped, Dropped{Layer: d.layer, Features: n})
			}
		}
	}
	if len(e.tile) == 0 {
		return nil
	}
	return e.tile
}

// layer writes one layer of the candidates in e.cands, at most limit
// features that draw, and returns how many candidates it did not reach.
func (e *encoder) layer(d *layerData, z int, t xform, clipBox orb.Bound, limit int) (left int) {
	e.feats = e.feats[:0]
	e.stamp++
	if len(e.keyLocal) < len(d.keys) {
		e.keyLocal = make([]uint32, len(d.keys))
		e.keyStamp = make([]uint32, len(d.keys))
	}
	e.usedKeys = e.usedKeys[:0]
	e.usedVals = e.usedVals[:0]
	if len(e.valLocal) < d.shared {
		e.valLocal = make([]uint32, d.shared)
		e.valStamp = make([]uint32, d.shared)
	}
	count := 0
	for i, f := range e.cands {
		if count == limit {
			left = len(e.cands) - i
			break
		}
		if !e.geometry(f, z, t, clipBox) {
			continue
		}
		e.featureTags(d, f)
		e.geom = e.geom[:0]
		for _, c := range e.cmds {
			e.geom = protowire.AppendVarint(e.geom, uint64(c))
		}
		size := protowire.SizeTag(1) + protowire.SizeVarint(f.id)
		size += protowire.SizeTag(2) + protowire.SizeBytes(len(e.tags))
		size += protowire.SizeTag(3) + 1
		size += protowire.SizeTag(4) + protowire.SizeBytes(len(e.geom))
		b := e.feats
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(size))
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, f.id)
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, e.tags)
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(f.typ))
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, e.geom)
		e.feats = b
		count++
	}
	if count == 0 {
		return left
	}
	tl := e.tail[:0]
	for _, k := range e.usedKeys {
		tl = protowire.AppendTag(tl, 3, protowire.BytesType)
		tl = protowire.AppendString(tl, d.keys[k])
	}
	for _, v := range e.usedVals {
		tl = protowire.AppendTag(tl, 4, protowire.BytesType)
		tl = protowire.AppendBytes(tl, d.values[v])
	}
	tl = protowire.AppendTag(tl, 5, protowire.VarintType)
	tl = protowire.AppendVarint(tl, Extent)
	tl = protowire.AppendTag(tl, 15, protowire.VarintType)
	tl = protowire.AppendVarint(tl, 2) // MVT version 2
	e.tail = tl
	name := string(d.layer)
	size := protowire.SizeTag(1) + protowire.SizeBytes(len(name)) + len(e.feats) + len(e.tail)
	b := e.tile
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(size))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = append(b, e.feats...)
	b = append(b, e.tail...)
	e.tile = b
	return left
}

// featureTags writes f's tags, as indices into the layer's local tables,
// into e.tags, adding to those tables what f uses first.
func (e *encoder) featureTags(d *layerData, f *feat) {
	e.tags = e.tags[:0]
	for i := 0; i+1 < len(f.tags); i += 2 {
		gk, gv := f.tags[i], f.tags[i+1]
		if e.keyStamp[gk] != e.stamp {
			e.keyStamp[gk] = e.stamp
			e.keyLocal[gk] = uint32(len(e.usedKeys))
			e.usedKeys = append(e.usedKeys, gk)
		}
		var lv uint32
		switch {
		case int(gv) >= d.shared: // used by this feature only
			lv = uint32(len(e.usedVals))
			e.usedVals = append(e.usedVals, gv)
		case e.valStamp[gv] == e.stamp:
			lv = e.valLocal[gv]
		default:
			lv = uint32(len(e.usedVals))
			e.valStamp[gv], e.valLocal[gv] = e.stamp, lv
			e.usedVals = append(e.usedVals, gv)
		}
		e.tags = protowire.AppendVarint(e.tags, uint64(e.keyLocal[gk]))
		e.tags = protowire.AppendVarint(e.tags, uint64(lv))
	}
}

// geometry writes f's geometry at zoom z as MVT commands into e.cmds,
// clipped to clipBox (in tile units) when it reaches past it. It reports
// false when nothing of it is left to draw.
func (e *encoder) geometry(f *feat, z int, t xform, clipBox orb.Bound) bool {
	e.cmds = e.cmds[:0]
	e.cx, e.cy = 0, 0
	b := f.bound
	var g orb.Geometry
	if f.pieces != nil && z >= e.o.MaxZoom {
		// A feature of many vertices: only this tile's piece.
		p, ok := f.pieces[pieceKey(e.x, e.y)]
		if !ok {
			return false
		}
		g, b = p.geom, p.bound
	}
	inside := b.Min[0]*t.s-t.ox >= clipBox.Min[0] && b.Min[1]*t.s-t.oy >= clipBox.Min[1] &&
		b.Max[0]*t.s-t.ox <= clipBox.Max[0] && b.Max[1]*t.s-t.oy <= clipBox.Max[1]
	if g == nil && f.poly != nil && (z >= len(f.simpl) || f.simpl[z] == nil) {
		// The common case, a building: no interface, no type switch.
		if inside {
			e.polygon(f.poly, t)
		} else {
			e.clippedPolygon(f.poly, t, clipBox)
		}
		return len(e.cmds) > 0
	}
	if g == nil {
		g = f.geometryAt(z)
	}
	if !inside && f.typ == geomPolygon {
		switch g := g.(type) {
		case orb.Polygon:
			e.clippedPolygon(g, t, clipBox)
		case orb.MultiPolygon:
			for _, p := range g {
				e.clippedPolygon(p, t, clipBox)
			}
		case orb.Ring:
			e.clippedPolygon(orb.Polygon{g}, t, clipBox)
		}
		return len(e.cmds) > 0
	}
	if !inside && f.typ == geomLine {
		g = clip.Geometry(clipBox, toTileUnits(g, t))
		if g == nil {
			return false
		}
		t = xform{s: 1}
	}
	switch g := g.(type) {
	case orb.Point:
		e.points([]orb.Point{g}, t, clipBox)
	case orb.MultiPoint:
		e.points(g, t, clipBox)
	case orb.LineString:
		e.line(g, t)
	case orb.MultiLineString:
		for _, l := range g {
			e.line(l, t)
		}
	case orb.Ring:
		e.polygon(orb.Polygon{g}, t)
	case orb.Polygon:
		e.polygon(g, t)
	case orb.MultiPolygon:
		for _, p := range g {
			e.polygon(p, t)
		}
	case orb.Collection:
		// clip.Geometry never returns one for the types prepared.
	}
	return len(e.cmds) > 0
}

func (e *encoder) points(ps []orb.Point, t xform, box orb.Bound) {
	e.pts = e.pts[:0]
	for _, p := range ps {
		q := orb.Point{p[0]*t.s - t.ox, p[1]*t.s - t.oy}
		if !box.Contains(q) {
			continue
		}
		e.pts = append(e.pts, t.apply(p))
	}
	if len(e.pts) == 0 {
		return
	}
	e.cmds = append(e.cmds, command(cmdMoveTo, len(e.pts)))
	for _, p := range e.pts {
		e.moveCursor(p)
	}
}

func (e *encoder) line(l orb.LineString, t xform) {
	e.pts = e.pts[:0]
	for _, p := range l {
		q := t.apply(p)
		if n := len(e.pts); n > 0 && e.pts[n-1] == q {
			continue
		}
		e.pts = append(e.pts, q)
	}
	if len(e.pts) < 2 {
		return
	}
	e.cmds = append(e.cmds, command(cmdMoveTo, 1))
	e.moveCursor(e.pts[0])
	e.cmds = append(e.cmds, command(cmdLineTo, len(e.pts)-1))
	for _, p := range e.pts[1:] {
		e.moveCursor(p)
	}
}

// polygon writes the rings of p that keep an area on the tile grid:
// exterior clockwise on screen (positive area by the surveyor's formula in
// tile units, y down), holes the other way, as MVT 2 requires. A polygon
// whose exterior ring vanishes is left out with its holes.
func (e *encoder) polygon(p orb.Polygon, t xform) {
	for i, r := range p {
		if !e.ring(r, t, i == 0) && i == 0 {
			return
		}
	}
}

func (e *encoder) ring(r orb.Ring, t xform, exterior bool) bool {
	e.pts = e.pts[:0]
	for _, p := range r {
		q := t.apply(p)
		if n := len(e.pts); n > 0 && e.pts[n-1] == q {
			continue
		}
		e.pts = append(e.pts, q)
	}
	if n := len(e.pts); n > 1 && e.pts[0] == e.pts[n-1] {
		e.pts = e.pts[:n-1]
	}
	if len(e.pts) < 3 {
		return false
	}
	var area int64
	for i, p := range e.pts {
		q := e.pts[(i+1)%len(e.pts)]
		area += int64(p.x)*int64(q.y) - int64(q.x)*int64(p.y)
	}
	if area == 0 {
		return false
	}
	if (area > 0) != exterior {
		slices.Reverse(e.pts)
	}
	e.cmds = append(e.cmds, command(cmdMoveTo, 1))
	e.moveCursor(e.pts[0])
	e.cmds = append(e.cmds, command(cmdLineTo, len(e.pts)-1))
	for _, p := range e.pts[1:] {
		e.moveCursor(p)
	}
	e.cmds = append(e.cmds, command(cmdClosePath, 1))
	return true
}

// clippedPolygon writes p clipped to box (tile units): each ring by
// Sutherland–Hodgman into the encoder's scratch space, without allocating.
func (e *encoder) clippedPolygon(p orb.Polygon, t xform, box orb.Bound) {
	for i, r := range p {
		a := e.clipA[:0]
		for _, q := range r {
			a = append(a, orb.Point{q[0]*t.s - t.ox, q[1]*t.s - t.oy})
		}
		b := e.clipB[:0]
		for edge := 0; edge < 4 && len(a) > 0; edge++ {
			b = clipEdge(b[:0], a, box, edge)
			a, b = b, a
		}
		e.clipA, e.clipB = a, b
		if !e.ring(a, xform{s: 1}, i == 0) && i == 0 {
			return
		}
	}
}

// clipEdge appends to out the ring in cut by one edge of box (0 west,
// 1 east, 2 north, 3 south, in tile units with y down).
func clipEdge(out, in []orb.Point, box orb.Bound, edge int) []orb.Point {
	inside := func(q orb.Point) bool {
		switch edge {
		case 0:
			return q[0] >= box.Min[0]
		case 1:
			return q[0] <= box.Max[0]
		case 2:
			return q[1] >= box.Min[1]
		}
		return q[1] <= box.Max[1]
	}
	cut := func(a, c orb.Point) orb.Point {
		switch edge {
		case 0, 1:
			x := box.Min[0]
			if edge == 1 {
				x = box.Max[0]
			}
			return orb.Point{x, a[1] + (x-a[0])*(c[1]-a[1])/(c[0]-a[0])}
		}
		y := box.Min[1]
		if edge == 3 {
			y = box.Max[1]
		}
		return orb.Point{a[0] + (y-a[1])*(c[0]-a[0])/(c[1]-a[1]), y}
	}
	n := len(in)
	if n > 1 && in[0] == in[n-1] {
		n-- // work on the open ring
	}
	for i := 0; i < n; i++ {
		a, c := in[(i+n-1)%n], in[i]
		switch ain, cin := inside(a), inside(c); {
		case cin && !ain:
			out = append(out, cut(a, c), c)
		case cin:
			out = append(out, c)
		case ain:
			out = append(out, cut(a, c))
		}
	}
	return out
}

func (e *encoder) moveCursor(p ipt) {
	dx, dy := p.x-e.cx, p.y-e.cy
	e.cx, e.cy = p.x, p.y
	e.cmds = append(e.cmds, uint32(protowire.EncodeZigZag(int64(dx))), uint32(protowire.EncodeZigZag(int64(dy))))
}

func command(id, count int) uint32 { return uint32(id&0x7 | count<<3) }

// toTileUnits returns a copy of g (Mercator unit square) in tile units,
// unrounded, for clipping.
func toTileUnits(g orb.Geometry, t xform) orb.Geometry {
	pt := func(p orb.Point) orb.Point { return orb.Point{p[0]*t.s - t.ox, p[1]*t.s - t.oy} }
	line := func(l []orb.Point) []orb.Point {
		out := make([]orb.Point, len(l))
		for i, p := range l {
			out[i] = pt(p)
		}
		return out
	}
	poly := func(p orb.Polygon) orb.Polygon {
		out := make(orb.Polygon, len(p))
		for i, r := range p {
			out[i] = line(r)
		}
		return out
	}
	switch g := g.(type) {
	case orb.LineString:
		return orb.LineString(line(g))
	case orb.MultiLineString:
		out := make(orb.MultiLineString, len(g))
		for i, l := range g {
			out[i] = line(l)
		}
		return out
	case orb.Ring:
		return orb.Polygon{line(g)}
	case orb.Polygon:
		return poly(g)
	case orb.MultiPolygon:
		out := make(orb.MultiPolygon, len(g))
		for i, p := range g {
			out[i] = poly(p)
		}
		return out
	case orb.Point:
		return pt(g)
	case orb.MultiPoint:
		return orb.MultiPoint(line(g))
	}
	return nil
}
