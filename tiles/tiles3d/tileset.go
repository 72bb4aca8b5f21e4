package tiles3d

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// The tileset is a quadtree on the Web Mercator tile grid, the grid of the
// vector tiles: a tile is split into its four children while it holds more
// than Options.MaxFeatures features or is above Options.MinLeafZoom, down
// to Options.MaxZoom; each feature
// belongs to the one tile holding the centre of its box, so no feature is
// in two contents. Only leaves have content, named z/x/y.glb like the
// vector tiles, so a tile keeps its name while other parts of the tree
// change, and an edit drops from the cache exactly the tiles its features
// touch.
//
// Bounding volumes are regions (west, south, east, north in radians and
// heights in metres) around the tile's features, which 3D Tiles does not
// transform. Each tile's content is in an east-north-up frame at its
// region's centre: the tile's transform says where that frame is, as a
// change from its parent's frame (3D Tiles composes them).

// item is a feature placed in the tree.
type item struct {
	f      *twin.Feature
	cx, cy float64   // the centre of its box in the Web Mercator unit square
	bound  orb.Bound // lon/lat
	top    float64   // metres above the ground
	size   float64   // metres: its longest dimension, the error of leaving it out
}

type node struct {
	z, x, y  int
	items    []item // leaves only
	children []*node
	bound    orb.Bound
	lo, hi   float64 // heights
	err      float64 // geometric error
	frame    frame
}

func (n *node) leaf() bool { return len(n.children) == 0 }

func (n *node) key() uint64 { return uint64(n.z)<<58 | uint64(n.x)<<29 | uint64(n.y) }

// drawable reports whether f has a shape in 3D: an area of an extruded
// layer with a height, or a solid. With onlySolids, only a solid.
func drawable(f *twin.Feature, onlySolids bool) bool {
	if f.SolidPolygons() != nil {
		return true
	}
	if onlySolids || f.Height <= 0 {
		return false
	}
	switch f.Geometry.(type) {
	case orb.Polygon, orb.MultiPolygon:
		return true
	}
	return false
}

// collect returns the drawable features of every extruded layer.
func collect(snap *twin.Snapshot, onlySolids bool) []item {
	var out []item
	for _, spec := range twin.Layers() {
		if !spec.Extruded {
			continue
		}
		for _, f := range snap.Features(spec.ID) {
			if !drawable(f, onlySolids) {
				continue
			}
			b := f.Bound()
			if mp := f.SolidPolygons(); mp != nil {
				sb := mp.Bounds()
				b = b.Union(orb.Bound{Min: orb.Point{sb.Min(0), sb.Min(1)}, Max: orb.Point{sb.Max(0), sb.Max(1)}})
			}
			c := maptile.Fraction(b.Center(), 0)
			top := f.Base + f.Height
			if f.SolidPolygons() != nil {
				lo, hi := f.SolidZRange()
				top = f.Base + hi - lo
			}
			w := (b.Max[0] - b.Min[0]) * 111_320 * math.Cos(b.Center()[1]*math.Pi/180)
			h := (b.Max[1] - b.Min[1]) * 111_320
			out = append(out, item{f: f, cx: c[0], cy: c[1], bound: b, top: top, size: max(math.Hypot(w, h), top-f.Base)})
		}
	}
	return out
}

// buildTree places items in the quadtree.
func buildTree(items []item, o Options) *node {
	if len(items) == 0 {
		return nil
	}
	// The root: the smallest grid tile holding every centre.
	z, x, y := 0, 0, 0
	for z < o.MaxZoom {
		n := float64(uint64(1) << (z + 1))
		x0, y0 := int(items[0].cx*n), int(items[0].cy*n)
		same := true
		for _, it := range items[1:] {
			if int(it.cx*n) != x0 || int(it.cy*n) != y0 {
				same = false
				break
			}
		}
		if !same {
			break
		}
		z, x, y = z+1, x0, y0
	}
	return split(z, x, y, items, o)
}

func split(z, x, y int, items []item, o Options) *node {
	n := &node{z: z, x: x, y: y}
	if (len(items) <= o.MaxFeatures && z >= o.MinLeafZoom) || z >= o.MaxZoom {
		n.items = items
	} else {
		var parts [4][]item
		k := float64(uint64(1) << (z + 1))
		for _, it := range items {
			cx, cy := min(int(it.cx*k), 2*x+1), min(int(it.cy*k), 2*y+1)
			cx, cy = max(cx, 2*x), max(cy, 2*y)
			parts[(cy-2*y)*2+(cx-2*x)] = append(parts[(cy-2*y)*2+(cx-2*x)], it)
		}
		for i, p := range parts {
			if len(p) > 0 {
				n.children = append(n.children, split(z+1, 2*x+i%2, 2*y+i/2, p, o))
			}
		}
	}
	first := true
	n.lo, n.hi = math.Inf(1), math.Inf(-1)
	add := func(b orb.Bound, lo, hi float64) {
		if first {
			n.bound, first = b, false
		} else {
			n.bound = n.bound.Union(b)
		}
		n.lo, n.hi = min(n.lo, lo), max(n.hi, hi)
	}
	for _, it := range n.items {
		add(it.bound, it.f.Base, it.top)
	}
	for _, c := range n.children {
		add(c.bound, c.lo, c.hi)
		n.err = max(n.err, c.err, c.maxSize())
	}
	c := n.bound.Center()
	n.frame = newFrame(c[0], c[1])
	return n
}

// maxSize is the largest feature of a leaf (the error of not drawing it).
func (n *node) maxSize() float64 {
	s := 0.0
	for _, it := range n.items {
		s = max(s, it.size)
	}
	return s
}

// The tileset.json document.
type tilesetJSON struct {
	Asset          assetJSON `json:"asset"`
	GeometricError float64   `json:"geometricError"`
	Root           *tileJSON `json:"root"`
}

type assetJSON struct {
	Version        string `json:"version"`
	TilesetVersion string `json:"tilesetVersion,omitempty"`
	Generator      string `json:"generator"`
}

type tileJSON struct {
	BoundingVolume struct {
		Region [6]float64 `json:"region"`
	} `json:"boundingVolume"`
	GeometricError float64      `json:"geometricError"`
	Refine         string       `json:"refine,omitempty"`
	Transform      *[16]float64 `json:"transform,omitempty"`
	Content        *contentJSON `json:"content,omitempty"`
	Children       []*tileJSON  `json:"children,omitempty"`
}

type contentJSON struct {
	URI string `json:"uri"`
}

// ContentURI is the name of a tile's content, relative to tileset.json.
func ContentURI(z, x, y int) string { return fmt.Sprintf("%d/%d/%d.glb", z, x, y) }

func (n *node) json(parent *frame) *tileJSON {
	t := &tileJSON{GeometricError: round(n.err, 100)}
	const rad = math.Pi / 180
	lo, hi := n.lo, n.hi
	if hi <= lo {
		hi = lo + 1
	}
	t.BoundingVolume.Region = [6]float64{n.bound.Min[0] * rad, n.bound.Min[1] * rad, n.bound.Max[0] * rad, n.bound.Max[1] * rad, lo, hi}
	var m [16]float64
	if parent == nil {
		m = n.frame.matrix()
		t.Refine = "ADD"
	} else {
		m = n.frame.relativeTo(*parent)
	}
	t.Transform = &m
	if n.leaf() {
		t.Content = &contentJSON{URI: ContentURI(n.z, n.x, n.y)}
	}
	for _, c := range n.children {
		t.Children = append(t.Children, c.json(&n.frame))
	}
	return t
}

func round(v, k float64) float64 { return math.Round(v*k) / k }

// encodeTileset writes tileset.json for the tree (an empty tileset, a root
// without content, when there is nothing to draw).
func encodeTileset(root *node, version string) ([]byte, error) {
	ts := tilesetJSON{Asset: assetJSON{Version: "1.1", TilesetVersion: version, Generator: "kiruna-twin"}}
	if root == nil {
		empty := &tileJSON{}
		empty.BoundingVolume.Region = [6]float64{0, 0, 0, 0, 0, 1}
		ts.Root = empty
		return json.Marshal(ts)
	}
	ts.Root = root.json(nil)
	ts.GeometricError = max(root.err, root.maxSize(), 1)
	ts.Root.GeometricError = max(ts.Root.GeometricError, 0)
	return json.Marshal(ts)
}
