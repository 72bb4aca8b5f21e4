package twin

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"
)

// Model is the twin's state: every feature of every layer, indexed. Readers
// take an immutable Snapshot and never wait for writers; a writer builds the
// next snapshot beside the current one and publishes it with one atomic
// pointer swap. Writers are serialised among themselves.
type Model struct {
	writeMu sync.Mutex
	cur     atomic.Pointer[Snapshot]

	listenMu  sync.Mutex
	listeners map[int]func(Change)
	nextID    int
}

// NewModel returns a model with every layer empty.
func NewModel() *Model {
	m := &Model{listeners: map[int]func(Change){}}
	s := &Snapshot{layers: make([]*layerIdx, len(registry))}
	for i := range s.layers {
		s.layers[i] = emptyLayer()
	}
	m.cur.Store(s)
	return m
}

// Snapshot returns the current state. It never changes: hold it as long as
// a request needs a consistent view.
func (m *Model) Snapshot() *Snapshot { return m.cur.Load() }

// Change tells listeners what an edit touched, so that caches can drop
// exactly what is stale.
type Change struct {
	Version uint64
	Layer   Layer
	// Bounds are the lon/lat boxes of every removed and every added feature.
	Bounds []orb.Bound
	// IDs of every removed and added feature.
	IDs []string
}

// Subscribe calls fn after every published change, in order, on the
// writer's goroutine (so fn must be quick). It returns a cancel function.
func (m *Model) Subscribe(fn func(Change)) (cancel func()) {
	m.listenMu.Lock()
	defer m.listenMu.Unlock()
	id := m.nextID
	m.nextID++
	m.listeners[id] = fn
	return func() {
		m.listenMu.Lock()
		defer m.listenMu.Unlock()
		delete(m.listeners, id)
	}
}

func (m *Model) notify(c Change) {
	m.listenMu.Lock()
	fns := make([]func(Change), 0, len(m.listeners))
	for _, fn := range m.listeners {
		fns = append(fns, fn)
	}
	m.listenMu.Unlock()
	for _, fn := range fns {
		fn(c)
	}
}

// Load replaces every layer with the given features. Feature IDs must be
// unique across all layers. On error nothing changes; the error names the
// index of the offending feature in features.
func (m *Model) Load(features []*Feature) error {
	if err := prepareAll(features); err != nil {
		return err
	}
	seen := make(map[string]int, len(features))
	for i, f := range features {
		if j, dup := seen[f.ID]; dup {
			return &IndexError{Index: i, Err: fieldErr("id", fmt.Errorf("%w %q (also feature %d)", ErrDuplicateID, f.ID, j))}
		}
		seen[f.ID] = i
	}
	byLayer := make([][]*Feature, len(registry))
	for _, f := range features {
		i := layerIndex(f.Layer)
		byLayer[i] = append(byLayer[i], f)
	}
	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	old := m.cur.Load()
	next := &Snapshot{version: old.version + 1, layers: make([]*layerIdx, len(registry))}
	for i := range next.layers {
		next.layers[i] = buildLayer(byLayer[i])
	}
	m.cur.Store(next)
	m.notify(Change{Version: next.version, Bounds: []orb.Bound{worldBound}})
	return nil
}

var worldBound = orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}

// IndexError wraps an error about the feature at Index of a batch.
type IndexError struct {
	Index int
	Err   error
}

func (e *IndexError) Error() string { return fmt.Sprintf("features[%d].%s", e.Index, e.Err) }
func (e *IndexError) Unwrap() error { return e.Err }

// Prepare validates features and computes what the index needs from each
// (its bound and its Web Mercator form), as Load and Apply do: a writer
// outside this package calls it to check features, and to read their
// Bound, before it commits them. The error is an *IndexError.
func Prepare(features []*Feature) error { return prepareAll(features) }

// prepareAll validates and projects features, in parallel for large loads.
func prepareAll(features []*Feature) error {
	workers := runtime.GOMAXPROCS(0)
	if len(features) < 10000 || workers < 2 {
		for i, f := range features {
			if err := f.prepare(); err != nil {
				return &IndexError{Index: i, Err: err}
			}
		}
		return nil
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	chunk := (len(features) + workers - 1) / workers
	for w := 0; w < workers; w++ {
		lo, hi := w*chunk, min((w+1)*chunk, len(features))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				if err := features[i].prepare(); err != nil {
					errs[w] = &IndexError{Index: i, Err: err}
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Edit changes one layer: first every feature for which RemoveIf is true
// and every feature named in Remove goes, then Add comes in. Added features
// must have IDs unique in the layer after the removals.
type Edit struct {
	Layer    Layer
	Remove   []string
	RemoveIf func(*Feature) bool
	Add      []*Feature
}

// Apply makes an edit atomically: readers see the layer before or after it,
// never half. On error nothing changes.
func (m *Model) Apply(e Edit) (Change, error) {
	li := layerIndex(e.Layer)
	if li < 0 {
		return Change{}, fmt.Errorf("%w %q", ErrUnknownLayer, e.Layer)
	}
	for i, f := range e.Add {
		if f.Layer != e.Layer {
			return Change{}, &IndexError{Index: i, Err: fieldErr("layer", fmt.Errorf("feature of layer %q in an edit of %q", f.Layer, e.Layer))}
		}
	}
	if err := prepareAll(e.Add); err != nil {
		return Change{}, err
	}

	m.writeMu.Lock()
	defer m.writeMu.Unlock()
	old := m.cur.Load()
	ol := old.layers[li]

	gone := map[string]*Feature{}
	for _, id := range e.Remove {
		if f, ok := ol.byID[id]; ok {
			gone[id] = f
		}
	}
	if e.RemoveIf != nil {
		for _, f := range ol.sorted {
			if e.RemoveIf(f) {
				gone[f.ID] = f
			}
		}
	}
	added := make(map[string]int, len(e.Add))
	for i, f := range e.Add {
		if j, dup := added[f.ID]; dup {
			return Change{}, &IndexError{Index: i, Err: fieldErr("id", fmt.Errorf("%w %q (also feature %d)", ErrDuplicateID, f.ID, j))}
		}
		if _, exists := ol.byID[f.ID]; exists {
			if _, removed := gone[f.ID]; !removed {
				return Change{}, &IndexError{Index: i, Err: fieldErr("id", fmt.Errorf("%w %q (already in layer %s)", ErrDuplicateID, f.ID, e.Layer))}
			}
		}
		added[f.ID] = i
	}

	nl := ol.edit(gone, e.Add)
	next := &Snapshot{version: old.version + 1, layers: slices.Clone(old.layers)}
	next.layers[li] = nl
	m.cur.Store(next)

	c := Change{Version: next.version, Layer: e.Layer}
	for _, f := range gone {
		c.Bounds = append(c.Bounds, f.bound)
		c.IDs = append(c.IDs, f.ID)
	}
	for _, f := range e.Add {
		c.Bounds = append(c.Bounds, f.bound)
		c.IDs = append(c.IDs, f.ID)
	}
	m.notify(c)
	return c, nil
}

// Snapshot is an immutable view of the whole model.
type Snapshot struct {
	version uint64
	layers  []*layerIdx // by position in the registry
}

// Version increases with every published change.
func (s *Snapshot) Version() uint64 { return s.version }

type layerIdx struct {
	tree      *rtree.RTreeG[*Feature]
	byID      map[string]*Feature
	byLineage map[string][]*Feature
	sorted    []*Feature // by ID, for stable paging
}

func emptyLayer() *layerIdx {
	return &layerIdx{tree: &rtree.RTreeG[*Feature]{}, byID: map[string]*Feature{}, byLineage: map[string][]*Feature{}}
}

// buildLayer indexes prepared features with unique IDs.
func buildLayer(fs []*Feature) *layerIdx {
	l := &layerIdx{
		tree:      &rtree.RTreeG[*Feature]{},
		byID:      make(map[string]*Feature, len(fs)),
		byLineage: map[string][]*Feature{},
		sorted:    slices.Clone(fs),
	}
	for _, f := range fs {
		l.tree.Insert(f.bound.Min, f.bound.Max, f)
		l.byID[f.ID] = f
		if f.Lineage != "" {
			l.byLineage[f.Lineage] = append(l.byLineage[f.Lineage], f)
		}
	}
	slices.SortFunc(l.sorted, func(a, b *Feature) int { return cmp.Compare(a.ID, b.ID) })
	for _, sites := range l.byLineage {
		sortByFrom(sites)
	}
	return l
}

func sortByFrom(fs []*Feature) {
	slices.SortFunc(fs, func(a, b *Feature) int {
		if c := a.Life.From.Compare(b.Life.From); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

// edit returns a copy of l without gone and with add; l is untouched. The
// R-tree copy is copy-on-write, so the cost is in the maps and the sorted
// slice, linear in the layer's size: edits belong to small, editable layers.
func (l *layerIdx) edit(gone map[string]*Feature, add []*Feature) *layerIdx {
	n := &layerIdx{
		tree:      l.tree.Copy(),
		byID:      make(map[string]*Feature, len(l.byID)+len(add)),
		byLineage: make(map[string][]*Feature, len(l.byLineage)),
		sorted:    make([]*Feature, 0, len(l.sorted)+len(add)),
	}
	for _, f := range gone {
		n.tree.Delete(f.bound.Min, f.bound.Max, f)
	}
	for _, f := range l.sorted {
		if _, g := gone[f.ID]; !g {
			n.sorted = append(n.sorted, f)
		}
	}
	for _, f := range add {
		n.tree.Insert(f.bound.Min, f.bound.Max, f)
		n.sorted = append(n.sorted, f)
	}
	slices.SortFunc(n.sorted, func(a, b *Feature) int { return cmp.Compare(a.ID, b.ID) })
	for _, f := range n.sorted {
		n.byID[f.ID] = f
		if f.Lineage != "" {
			n.byLineage[f.Lineage] = append(n.byLineage[f.Lineage], f)
		}
	}
	for _, sites := range n.byLineage {
		sortByFrom(sites)
	}
	return n
}

func (s *Snapshot) layer(l Layer) *layerIdx {
	i := layerIndex(l)
	if i < 0 {
		return emptyLayer()
	}
	return s.layers[i]
}

// Count returns the number of features in a layer, of all times.
func (s *Snapshot) Count(l Layer) int { return len(s.layer(l).sorted) }

// Features returns a layer's features sorted by ID. The slice is shared:
// do not modify it.
func (s *Snapshot) Features(l Layer) []*Feature { return s.layer(l).sorted }

// Search calls fn for every feature of layer l whose bounding box meets b,
// until fn returns false.
func (s *Snapshot) Search(l Layer, b orb.Bound, fn func(*Feature) bool) {
	s.layer(l).tree.Search(b.Min, b.Max, func(_, _ [2]float64, f *Feature) bool { return fn(f) })
}

// SearchAt is Search restricted to features that exist at instant t.
func (s *Snapshot) SearchAt(l Layer, b orb.Bound, t time.Time, fn func(*Feature) bool) {
	s.layer(l).tree.Search(b.Min, b.Max, func(_, _ [2]float64, f *Feature) bool {
		if !f.Life.At(t) {
			return true
		}
		return fn(f)
	})
}

// Get returns the feature of layer l with the given id.
func (s *Snapshot) Get(l Layer, id string) (*Feature, bool) {
	f, ok := s.layer(l).byID[id]
	return f, ok
}

// Find returns the feature with the given id from any layer.
func (s *Snapshot) Find(id string) (*Feature, bool) {
	for _, l := range s.layers {
		if f, ok := l.byID[id]; ok {
			return f, true
		}
	}
	return nil, false
}

// Lineage returns every site of a lineage, oldest first, from all layers.
func (s *Snapshot) Lineage(lineage string) []*Feature {
	var out []*Feature
	for _, l := range s.layers {
		out = append(out, l.byLineage[lineage]...)
	}
	sortByFrom(out)
	return out
}

// Bound returns the box of every feature of the given layers (all layers
// when none is named), or an empty bound when there are none.
func (s *Snapshot) Bound(layers ...Layer) orb.Bound {
	if len(layers) == 0 {
		layers = LayerIDs()
	}
	var b orb.Bound
	first := true
	for _, l := range layers {
		li := s.layer(l)
		if li.tree.Len() == 0 {
			continue
		}
		mn, mx := li.tree.Bounds()
		lb := orb.Bound{Min: mn, Max: mx}
		if first {
			b, first = lb, false
		} else {
			b = b.Union(lb)
		}
	}
	return b
}
