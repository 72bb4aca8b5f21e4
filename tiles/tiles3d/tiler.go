// Package tiles3d writes the twin's buildings and pilots as a 3D Tiles 1.1
// tileset: tileset.json and one binary glTF (.glb) per content tile, with
// every feature's id in EXT_mesh_features (a feature id per vertex) and its
// properties in an EXT_structural_metadata property table — id, name,
// kind, layer, from and to as decimal years, status, height and the rest
// of the feature schema — so that any 3D Tiles client can pick a feature
// and filter time. A feature with a solid (twin.Feature.Solid: CityJSON's
// LoD2, a roof from package scenes/shape) is drawn as it; the others as
// their footprint extruded from base to base + height (LoD1). Positions are
// in an east-north-up frame per tile with the tile's transform into ECEF,
// float32 within a tile, exact to the millimetre.
//
// A Tiler follows a twin.Model like the vector tiles do (package tiles):
// the tree is rebuilt for each change, and the cache of contents drops the
// tiles an edit touches. It knows nothing of HTTP.
package tiles3d

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/kiruna-twin/kiruna-twin/tiles"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/klauspost/compress/gzip"
	"github.com/paulmach/orb"
)

// Options tune a tileset; the zero value of a field means its default.
type Options struct {
	// MaxFeatures is the most features in one content tile before it is
	// split in four (default 2,000).
	MaxFeatures int
	// MaxZoom is the deepest level of the grid (default 17, tiles of
	// about 150 m at 60° north); a tile there holds what it holds.
	MaxZoom int
	// MinLeafZoom is the shallowest level with content (default 15,
	// tiles of about 600 m at 60° north, 460 m at Kiruna): a tile above
	// it is split whatever it holds, so that a content is small enough
	// for a client to place it by a linear map from ECEF to its own
	// projection (as the viewer does into Web Mercator, within about a
	// centimetre) and for float32 positions.
	MinLeafZoom int
	// OnlySolids leaves out features without a solid: a tileset of the
	// shapes that an extrusion cannot draw, for a viewer that extrudes
	// the rest itself.
	OnlySolids bool
	// CacheBytes bounds the cache of contents (default 128 MiB); negative
	// turns it off.
	CacheBytes int64
}

func (o Options) withDefaults() Options {
	if o.MaxFeatures <= 0 {
		o.MaxFeatures = 2000
	}
	if o.MaxZoom <= 0 || o.MaxZoom > 24 {
		o.MaxZoom = 17
	}
	if o.MinLeafZoom <= 0 {
		o.MinLeafZoom = 15
	}
	o.MinLeafZoom = min(o.MinLeafZoom, o.MaxZoom)
	if o.CacheBytes == 0 {
		o.CacheBytes = 128 << 20
	}
	return o
}

// ErrNoTile is returned for a z/x/y that is not a content tile of the
// current tileset.
var ErrNoTile = errors.New("no such content tile")

// Tiler serves the tileset of a model. Safe for concurrent use.
type Tiler struct {
	o      Options
	model  *twin.Model
	state  atomic.Pointer[state]
	cache  *tiles.Cache
	cancel func()
	follow sync.Mutex
}

// state is the tileset of one snapshot, built on first use.
type state struct {
	snap    *twin.Snapshot
	o       Options
	once    sync.Once
	root    *node
	leaves  map[uint64]*node
	tileset []byte
	etag    string
	err     error
}

func (s *state) build() {
	s.once.Do(func() {
		s.root = buildTree(collect(s.snap, s.o.OnlySolids), s.o)
		s.leaves = map[uint64]*node{}
		var walk func(n *node)
		walk = func(n *node) {
			if n.leaf() {
				s.leaves[n.key()] = n
			}
			for _, c := range n.children {
				walk(c)
			}
		}
		if s.root != nil {
			walk(s.root)
		}
		s.tileset, s.err = encodeTileset(s.root, fmt.Sprint(s.snap.Version()))
		s.etag = etag(s.tileset)
		s.snap = nil
	})
}

// New returns a Tiler of m's extruded layers that follows m's changes
// until Close.
func New(m *twin.Model, o Options) *Tiler {
	o = o.withDefaults()
	t := &Tiler{o: o, model: m}
	if o.CacheBytes > 0 {
		t.cache = tiles.NewCache(o.CacheBytes, 0, o.MaxZoom, 0)
	}
	t.cancel = m.Subscribe(t.onChange)
	t.onChange(twin.Change{})
	return t
}

// Close stops following the model.
func (t *Tiler) Close() { t.cancel() }

// Cache returns the cache of contents, or nil when it is off.
func (t *Tiler) Cache() *tiles.Cache { return t.cache }

// onChange publishes the model's new snapshot and drops the contents the
// change touched. It runs on the model's writer goroutine, so it only
// swaps pointers: the tree is built on first use.
func (t *Tiler) onChange(c twin.Change) {
	t.follow.Lock()
	defer t.follow.Unlock()
	if spec, ok := c.Layer.Spec(); ok && !spec.Extruded && t.state.Load() != nil {
		return // nothing of 3D changed
	}
	t.state.Store(&state{snap: t.model.Snapshot(), o: t.o})
	if t.cache == nil {
		return
	}
	if c.Layer == "" {
		t.cache.Clear()
		return
	}
	// A feature belongs to the tile of its box's centre; a solid may reach
	// a little past the footprint's box, so grow the boxes by about 100 m.
	grown := make([]orb.Bound, len(c.Bounds))
	for i, b := range c.Bounds {
		grown[i] = b.Pad(0.001)
	}
	t.cache.Invalidate(grown)
}

// Tileset returns tileset.json and its ETag.
func (t *Tiler) Tileset() ([]byte, string, error) {
	s := t.state.Load()
	s.build()
	return s.tileset, s.etag, s.err
}

// Encode returns the content z/x/y as plain .glb, built now (never
// cached), with what it holds.
func (t *Tiler) Encode(z, x, y int) ([]byte, Stats, error) {
	s := t.state.Load()
	s.build()
	n, ok := s.leaves[uint64(z)<<58|uint64(x)<<29|uint64(y)]
	if !ok || z < 0 || x < 0 || y < 0 {
		return nil, Stats{}, fmt.Errorf("%w: %d/%d/%d", ErrNoTile, z, x, y)
	}
	return encodeLeaf(n)
}

// Stats say what contents hold.
type Stats struct {
	Tiles     int // content tiles
	Features  int
	Solids    int // features drawn from their solid
	Blocks    int // features drawn as extruded footprints
	Faces     int // faces left out: no area, or too many vertices
	Triangles int
	Vertices  int
	Bytes     int // of the .glb files
}

func (s *Stats) add(o Stats) {
	s.Tiles += o.Tiles
	s.Features += o.Features
	s.Solids += o.Solids
	s.Blocks += o.Blocks
	s.Faces += o.Faces
	s.Triangles += o.Triangles
	s.Vertices += o.Vertices
	s.Bytes += o.Bytes
}

func encodeLeaf(n *node) ([]byte, Stats, error) {
	m := &mesh{frame: n.frame}
	fs := make([]*twin.Feature, len(n.items))
	for i, it := range n.items {
		fs[i] = it.f
		m.addFeature(it.f, uint32(i))
	}
	st := Stats{Tiles: 1, Features: len(fs), Solids: m.solids, Blocks: m.blocks, Faces: m.faces,
		Triangles: len(m.idx) / 3, Vertices: len(m.pos) / 3}
	if len(m.idx) == 0 {
		return nil, st, fmt.Errorf("tiles3d: content %d/%d/%d has no triangle", n.z, n.x, n.y)
	}
	b, err := encodeGLB(m, fs)
	st.Bytes = len(b)
	return b, st, err
}

// Get returns content z/x/y from the cache or builds it; with gzipped
// true its Data is gzipped. A z/x/y that names no content tile of the
// current tileset is ErrNoTile.
func (t *Tiler) Get(z, x, y int, gzipped bool) (*tiles.Tile, error) {
	if t.cache != nil {
		if tile, ok := t.cache.Get(z, x, y); ok {
			return plainIfNeeded(tile, gzipped)
		}
	}
	epoch := uint64(0)
	if t.cache != nil {
		epoch = t.cache.Epoch()
	}
	raw, _, err := t.Encode(z, x, y)
	if err != nil {
		return nil, err
	}
	tile := &tiles.Tile{Data: gzipBytes(raw), Gzipped: true, ETag: etag(raw), Size: len(raw)}
	if t.cache != nil {
		t.cache.Put(z, x, y, tile, epoch)
	}
	return plainIfNeeded(tile, gzipped)
}

func plainIfNeeded(tile *tiles.Tile, gzipped bool) (*tiles.Tile, error) {
	if gzipped || !tile.Gzipped {
		return tile, nil
	}
	r, err := gzip.NewReader(bytes.NewReader(tile.Data))
	if err != nil {
		return nil, fmt.Errorf("tiles3d: reading a cached content: %w", err)
	}
	var buf bytes.Buffer
	buf.Grow(tile.Size)
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("tiles3d: reading a cached content: %w", err)
	}
	return &tiles.Tile{Data: buf.Bytes(), ETag: tile.ETag, Size: tile.Size}, nil
}

func gzipBytes(raw []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // a valid level: no error
	_, _ = w.Write(raw)
	_ = w.Close()
	return slices.Clip(buf.Bytes())
}

func etag(b []byte) string { return fmt.Sprintf(`W/"%016x"`, xxhash.Sum64(b)) }

// Export writes the current tileset into dir as static files:
// dir/tileset.json and dir/z/x/y.glb, which any web server can serve.
func (t *Tiler) Export(dir string) (Stats, error) {
	ts, _, err := t.Tileset()
	if err != nil {
		return Stats{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tileset.json"), ts, 0o644); err != nil {
		return Stats{}, err
	}
	var total Stats
	for _, key := range t.Contents() {
		b, st, err := t.Encode(key[0], key[1], key[2])
		if err != nil {
			return total, err
		}
		total.add(st)
		p := filepath.Join(dir, filepath.FromSlash(ContentURI(key[0], key[1], key[2])))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return total, err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return total, err
		}
	}
	return total, nil
}

// Contents lists the z/x/y of every content tile of the current tileset,
// in order.
func (t *Tiler) Contents() [][3]int {
	s := t.state.Load()
	s.build()
	out := make([][3]int, 0, len(s.leaves))
	for _, n := range s.leaves {
		out = append(out, [3]int{n.z, n.x, n.y})
	}
	slices.SortFunc(out, func(a, b [3]int) int {
		for i := range a {
			if a[i] != b[i] {
				return a[i] - b[i]
			}
		}
		return 0
	})
	return out
}
