package tiles

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/klauspost/compress/gzip"
	"github.com/paulmach/orb"
)

// Tiler serves the tiles of a model. It follows the model's changes:
// each change re-prepares only the layer it touched (lazily, on the next
// tile that needs it) and drops from the cache only the tiles it touched.
// Safe for concurrent use.
type Tiler struct {
	o      Options
	model  *twin.Model
	state  atomic.Pointer[state]
	cache  *Cache // nil when off
	cancel func()
	follow sync.Mutex // serialises onChange

	// Free lists of encoders and gzip writers. Channels rather than
	// sync.Pool: a pool is emptied at every GC, and a gzip writer or a
	// grown encoder is costly to make again.
	encoders chan *encoder
	gzips    chan *gzipper // at o.GzipLevel
	small    chan *gzipper // stateless, for small tiles when the level is the default

	inflightMu sync.Mutex
	inflight   map[uint64]*call
}

// state is one snapshot of the model with its layers prepared lazily.
type state struct {
	snap   *twin.Snapshot
	layers []*lazyLayer

	once sync.Once
	all  []*layerData // every layer, prepared on first use
}

type lazyLayer struct {
	once  sync.Once
	snap  *twin.Snapshot
	layer twin.Layer
	o     Options
	data  *layerData

	mu    sync.Mutex
	reuse map[*twin.Feature]heavyGeom // the heavy geometry of the layer before; nil once prepared
	heavy map[*twin.Feature]heavyGeom // this layer's, once prepared
}

func (l *lazyLayer) get() *layerData {
	l.once.Do(func() {
		l.mu.Lock()
		reuse := l.reuse
		l.mu.Unlock()
		l.data = buildLayer(l.snap, l.layer, l.o, reuse)
		l.snap = nil
		l.mu.Lock()
		l.reuse, l.heavy = nil, l.data.heavy
		l.mu.Unlock()
	})
	return l.data
}

// heavyGeom returns what the next preparation of the layer may take over:
// this one's heavy geometry, or, when it was never prepared, what it
// would have taken over itself.
func (l *lazyLayer) heavyGeom() map[*twin.Feature]heavyGeom {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.heavy != nil {
		return l.heavy
	}
	return l.reuse
}

// New returns a Tiler of m's features that follows m's changes until
// Close. Options that fail Check are replaced by their defaults.
func New(m *twin.Model, o Options) *Tiler {
	if o.Check() != nil {
		o = Options{}
	}
	o = o.withDefaults()
	t := &Tiler{o: o, model: m, inflight: map[uint64]*call{}}
	if o.CacheBytes > 0 {
		t.cache = NewCache(o.CacheBytes, o.MinZoom, o.MaxZoom, o.Buffer)
	}
	free := 2 * runtime.GOMAXPROCS(0)
	t.encoders, t.gzips, t.small = make(chan *encoder, free), make(chan *gzipper, free), make(chan *gzipper, free)
	// Subscribe before reading the first snapshot, so that no change falls
	// between the two.
	t.cancel = m.Subscribe(t.onChange)
	t.onChange(twin.Change{})
	return t
}

// Close stops following the model.
func (t *Tiler) Close() { t.cancel() }

// Options returns the options in force, defaults filled in.
func (t *Tiler) Options() Options { return t.o }

// Cache returns the tile cache, or nil when it is off.
func (t *Tiler) Cache() *Cache { return t.cache }

// onChange publishes the model's new snapshot and drops the tiles the
// change touched. It runs on the model's writer goroutine, so it only
// swaps pointers: layers are prepared on first use.
func (t *Tiler) onChange(c twin.Change) {
	t.follow.Lock()
	defer t.follow.Unlock()
	snap := t.model.Snapshot()
	old := t.state.Load()
	ids := twin.LayerIDs()
	next := &state{snap: snap, layers: make([]*lazyLayer, len(ids))}
	for i, l := range ids {
		if old != nil && c.Layer != "" && c.Layer != l && i < len(old.layers) {
			next.layers[i] = old.layers[i]
			continue
		}
		next.layers[i] = &lazyLayer{snap: snap, layer: l, o: t.o}
		if old != nil && i < len(old.layers) {
			next.layers[i].reuse = old.layers[i].heavyGeom()
		}
	}
	t.state.Store(next)
	if t.cache == nil {
		return
	}
	if c.Layer == "" {
		t.cache.Clear()
		return
	}
	t.cache.Invalidate(c.Bounds)
}

func (s *state) prepared() []*layerData {
	s.once.Do(func() {
		s.all = make([]*layerData, len(s.layers))
		for i, l := range s.layers {
			s.all[i] = l.get()
		}
	})
	return s.all
}

// Warm prepares every layer of the current snapshot now, rather than on
// the first tile request.
func (t *Tiler) Warm() { t.state.Load().prepared() }

// Snapshot returns the model snapshot that tiles are being made from.
func (t *Tiler) Snapshot() *twin.Snapshot { return t.state.Load().snap }

// Encode returns the plain MVT of tile z/x/y, built now (never cached), or
// nil when no feature meets the tile.
func (t *Tiler) Encode(z, x, y int) ([]byte, error) {
	if err := t.o.CheckTile(z, x, y); err != nil {
		return nil, err
	}
	e := t.getEncoder()
	defer t.putEncoder(e)
	b := e.encode(t.state.Load().prepared(), z, x, y)
	if b == nil {
		return nil, nil
	}
	return slices.Clone(b), nil
}

// Get returns tile z/x/y from the cache or builds it. With gzipped true
// the tile's Data is gzipped; otherwise it is plain.
func (t *Tiler) Get(z, x, y int, gzipped bool) (*Tile, error) {
	if err := t.o.CheckTile(z, x, y); err != nil {
		return nil, err
	}
	if t.cache != nil {
		if tile, ok := t.cache.Get(z, x, y); ok {
			return plainIfNeeded(tile, gzipped)
		}
	}
	if t.cache == nil {
		return t.build(z, x, y, gzipped, 0)
	}
	// Concurrent misses of one tile (many viewers reloading after an
	// edit) wait for a single build. A build that began before the latest
	// change may be stale: join only one that began after it.
	k := tileKey(z, x, y)
	t.inflightMu.Lock()
	if c, ok := t.inflight[k]; ok && c.epoch == t.cache.Epoch() {
		t.inflightMu.Unlock()
		<-c.done
		if c.err != nil {
			return nil, c.err
		}
		return plainIfNeeded(c.tile, gzipped)
	}
	c := &call{done: make(chan struct{}), epoch: t.cache.Epoch()}
	t.inflight[k] = c
	t.inflightMu.Unlock()
	func() {
		// Whatever happens, release the waiters: a panic becomes their error.
		defer func() {
			if p := recover(); p != nil {
				c.tile, c.err = nil, fmt.Errorf("tiles: building %d/%d/%d: %v\n%s", z, x, y, p, debug.Stack())
			}
			t.inflightMu.Lock()
			if t.inflight[k] == c {
				delete(t.inflight, k)
			}
			t.inflightMu.Unlock()
			close(c.done)
		}()
		c.tile, c.err = t.build(z, x, y, true, c.epoch)
	}()
	if c.err != nil {
		return nil, c.err
	}
	return plainIfNeeded(c.tile, gzipped)
}

type call struct {
	epoch uint64 // the cache's epoch when the build began
	done  chan struct{}
	tile  *Tile
	err   error
}

// build makes a tile from the current state and, when there is a cache,
// stores it (gzipped) unless a change came in since epoch, which the
// caller read from the cache before calling (see Cache.Put).
func (t *Tiler) build(z, x, y int, gzipped bool, epoch uint64) (*Tile, error) {
	st := t.state.Load()
	e := t.getEncoder()
	raw := e.encode(st.prepared(), z, x, y)
	tile := &Tile{Size: len(raw), ETag: etag(raw), Gzipped: gzipped || t.cache != nil}
	if len(e.dropped) > 0 {
		tile.Dropped = slices.Clone(e.dropped)
	}
	if len(raw) > 0 {
		if tile.Gzipped {
			tile.Data = t.gzip(raw)
		} else {
			tile.Data = slices.Clone(raw)
		}
	}
	t.putEncoder(e)
	if t.cache != nil {
		t.cache.Put(z, x, y, tile, epoch)
	}
	return tile, nil
}

func plainIfNeeded(tile *Tile, gzipped bool) (*Tile, error) {
	if gzipped || !tile.Gzipped || len(tile.Data) == 0 {
		return tile, nil
	}
	r, err := gzip.NewReader(bytes.NewReader(tile.Data))
	if err != nil {
		return nil, fmt.Errorf("tiles: reading a cached tile: %w", err)
	}
	raw := make([]byte, 0, tile.Size)
	buf := bytes.NewBuffer(raw)
	if _, err := io.Copy(buf, r); err != nil {
		return nil, fmt.Errorf("tiles: reading a cached tile: %w", err)
	}
	return &Tile{Data: buf.Bytes(), ETag: tile.ETag, Size: tile.Size, Dropped: tile.Dropped}, nil
}

func etag(raw []byte) string {
	return fmt.Sprintf(`W/"%016x"`, xxhash.Sum64(raw))
}

type gzipper struct {
	buf bytes.Buffer
	w   *gzip.Writer
}

func (t *Tiler) getEncoder() *encoder {
	select {
	case e := <-t.encoders:
		return e
	default:
		return newEncoder(t.o)
	}
}

func (t *Tiler) putEncoder(e *encoder) {
	if cap(e.tile) > 4<<20 {
		return // a huge tile's buffers: let them go
	}
	select {
	case t.encoders <- e:
	default:
	}
}

func (t *Tiler) gzip(raw []byte) []byte {
	free, level := t.gzips, t.o.GzipLevel
	if t.o.autoGzip && len(raw) < SmallTile {
		free, level = t.small, gzip.StatelessCompression
	}
	var g *gzipper
	select {
	case g = <-free:
	default:
		g = &gzipper{}
		w, err := gzip.NewWriterLevel(&g.buf, level)
		if err != nil {
			w = gzip.NewWriter(&g.buf) // the level was checked: cannot happen
		}
		g.w = w
	}
	g.buf.Reset()
	g.w.Reset(&g.buf)
	_, _ = g.w.Write(raw) // writes to a bytes.Buffer do not fail
	_ = g.w.Close()
	out := slices.Clone(g.buf.Bytes())
	if g.buf.Cap() <= 4<<20 {
		select {
		case free <- g:
		default:
		}
	}
	return out
}

// LayerInfo describes a tile layer for TileJSON's vector_layers.
type LayerInfo struct {
	ID twin.Layer
	// Fields maps each property name to "String", "Number" or "Boolean".
	Fields  map[string]string
	MinZoom int
	MaxZoom int
	// Count is the number of features of the layer, of all times.
	Count int
}

// Layers describes every tile layer, in drawing order.
func (t *Tiler) Layers() []LayerInfo {
	st := t.state.Load()
	out := make([]LayerInfo, 0, len(st.layers))
	for i, d := range st.prepared() {
		out = append(out, LayerInfo{ID: st.layers[i].layer, Fields: d.fields,
			MinZoom: t.o.MinZoom, MaxZoom: t.o.MaxZoom, Count: d.n})
	}
	return out
}

// FieldNames returns the names of a layer's fields, sorted.
func (l LayerInfo) FieldNames() []string {
	names := make([]string, 0, len(l.Fields))
	for k := range l.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Bound returns the lon/lat box of every feature, or an empty bound.
func (t *Tiler) Bound() orb.Bound { return t.state.Load().snap.Bound() }
