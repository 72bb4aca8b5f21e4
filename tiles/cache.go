package tiles

import (
	"container/list"
	"math"
	"sync"
	"sync/atomic"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// Tile is an encoded tile as the cache holds it and a server sends it.
type Tile struct {
	// Data is the MVT, gzipped when Gzipped is true. Empty when the tile
	// holds no feature. Do not modify it: it is shared.
	Data    []byte
	Gzipped bool
	// ETag is a weak HTTP validator (W/"…") of the tile's content, the same
	// for its plain and gzipped forms and across restarts.
	ETag string
	// Size is the length of the plain MVT.
	Size int
	// Dropped lists the layers whose features meeting the tile were more
	// than Options.MaxFeatures, and how many of those the tile leaves out
	// (the smallest). Nil when nothing was left out.
	Dropped []Dropped
}

// Dropped is what the per-tile cap left out of one layer of a tile.
type Dropped struct {
	Layer    twin.Layer
	Features int
}

// Empty reports whether the tile holds no feature.
func (t *Tile) Empty() bool { return t.Size == 0 }

// entryOverhead is what the cache counts for one tile besides its bytes:
// the map slot, the list element, the entry, the Tile and its ETag, and
// the allocator's rounding of the data (measured by BenchmarkCacheMemory:
// about 415 bytes a tile).
const entryOverhead = 416

const cacheShards = 16

// Cache holds gzipped tiles up to a number of bytes, evicting the least
// recently used. Invalidate drops exactly the tiles that a change touches;
// Put refuses a tile built before a change that it may not have seen, so the
// cache never serves a tile older than an edit that touches it.
type Cache struct {
	buffer  int
	minZoom int
	maxZoom int
	epoch   atomic.Uint64
	shards  [cacheShards]cacheShard

	hits, misses, evictions, invalidated atomic.Uint64
}

type cacheShard struct {
	mu       sync.Mutex
	max      int64
	bytes    int64
	lru      list.List // of *cacheEntry, most recent first
	entries  map[uint64]*list.Element
	_padding [64]byte
}

type cacheEntry struct {
	key  uint64
	tile *Tile
}

// NewCache returns a cache of at most maxBytes for tiles of the given zoom
// range whose features reach buffer MVT units past their edges.
func NewCache(maxBytes int64, minZoom, maxZoom, buffer int) *Cache {
	c := &Cache{buffer: buffer, minZoom: minZoom, maxZoom: maxZoom}
	for i := range c.shards {
		c.shards[i].max = maxBytes / cacheShards
		c.shards[i].entries = map[uint64]*list.Element{}
	}
	return c
}

func tileKey(z, x, y int) uint64 { return uint64(z)<<58 | uint64(x)<<29 | uint64(y) }

func splitKey(k uint64) (z, x, y int) {
	return int(k >> 58), int(k >> 29 & (1<<29 - 1)), int(k & (1<<29 - 1))
}

func (c *Cache) shard(k uint64) *cacheShard {
	h := k * 0x9E3779B97F4A7C15
	return &c.shards[h>>60]
}

// Epoch returns the cache's change counter. Read it before reading the
// state a tile is built from, and hand it to Put.
func (c *Cache) Epoch() uint64 { return c.epoch.Load() }

// Get returns the cached tile z/x/y.
func (c *Cache) Get(z, x, y int) (*Tile, bool) {
	k := tileKey(z, x, y)
	s := c.shard(k)
	var t *Tile
	s.mu.Lock()
	el, ok := s.entries[k]
	if ok {
		s.lru.MoveToFront(el)
		t = el.Value.(*cacheEntry).tile
	}
	s.mu.Unlock()
	if !ok {
		c.misses.Add(1)
		return nil, false
	}
	c.hits.Add(1)
	return t, true
}

// Put stores a tile built from state read after Epoch returned epoch. It
// stores nothing, and reports false, if a change came in since.
func (c *Cache) Put(z, x, y int, t *Tile, epoch uint64) bool {
	k := tileKey(z, x, y)
	s := c.shard(k)
	size := int64(len(t.Data) + entryOverhead)
	if size > s.max {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.epoch.Load() != epoch {
		return false
	}
	if el, ok := s.entries[k]; ok {
		old := el.Value.(*cacheEntry)
		s.bytes += size - int64(len(old.tile.Data)+entryOverhead)
		old.tile = t
		s.lru.MoveToFront(el)
	} else {
		s.entries[k] = s.lru.PushFront(&cacheEntry{key: k, tile: t})
		s.bytes += size
	}
	for s.bytes > s.max {
		el := s.lru.Back()
		s.remove(el)
		c.evictions.Add(1)
	}
	return true
}

func (s *cacheShard) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	s.lru.Remove(el)
	delete(s.entries, e.key)
	s.bytes -= int64(len(e.tile.Data) + entryOverhead)
}

// Len returns the number of tiles held and their bytes as counted against
// the bound.
func (c *Cache) Len() (tiles int, bytes int64) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		tiles += len(s.entries)
		bytes += s.bytes
		s.mu.Unlock()
	}
	return tiles, bytes
}

// CacheStats are the cache's counters since it was made.
type CacheStats struct {
	Hits, Misses, Evictions, Invalidated uint64
	Tiles                                int
	Bytes                                int64
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	n, b := c.Len()
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(),
		Invalidated: c.invalidated.Load(), Tiles: n, Bytes: b}
}

// Clear drops every tile.
func (c *Cache) Clear() {
	c.epoch.Add(1)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		c.invalidated.Add(uint64(len(s.entries)))
		s.entries = map[uint64]*list.Element{}
		s.lru.Init()
		s.bytes = 0
		s.mu.Unlock()
	}
}

// enumerateLimit is the largest number of tiles of one zoom that
// Invalidate deletes by key for one box; past it, it scans the cache.
const enumerateLimit = 256

// Invalidate drops every cached tile whose features' box (the tile grown
// by the buffer) meets one of bounds, given in lon/lat, and refuses the
// Put of every tile whose build began before. Every other tile stays.
func (c *Cache) Invalidate(bounds []orb.Bound) {
	c.epoch.Add(1)
	type scan struct {
		z int
		b orb.Bound // Mercator
	}
	var scans []scan
	keys := map[*cacheShard][]uint64{}
	for _, lb := range bounds {
		mb := LonLatToMercator(lb)
		for z := c.minZoom; z <= c.maxZoom; z++ {
			n := float64(uint64(1) << z)
			grow := float64(c.buffer)/Extent + 1e-9
			x0 := clampTile(math.Floor(mb.Min[0]*n-grow), n)
			x1 := clampTile(math.Floor(mb.Max[0]*n+grow), n)
			y0 := clampTile(math.Floor(mb.Min[1]*n-grow), n)
			y1 := clampTile(math.Floor(mb.Max[1]*n+grow), n)
			if (x1-x0+1)*(y1-y0+1) > enumerateLimit {
				scans = append(scans, scan{z, mb})
				continue
			}
			for x := x0; x <= x1; x++ {
				for y := y0; y <= y1; y++ {
					k := tileKey(z, x, y)
					s := c.shard(k)
					keys[s] = append(keys[s], k)
				}
			}
		}
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for _, k := range keys[s] {
			if el, ok := s.entries[k]; ok {
				s.remove(el)
				c.invalidated.Add(1)
			}
		}
		if len(scans) > 0 {
			for k, el := range s.entries {
				z, x, y := splitKey(k)
				tb := MercatorBound(z, x, y, c.buffer)
				for _, sc := range scans {
					if sc.z == z && sc.b.Intersects(tb) {
						s.remove(el)
						c.invalidated.Add(1)
						break
					}
				}
			}
		}
		s.mu.Unlock()
	}
}

func clampTile(v, n float64) int { return int(math.Max(0, math.Min(n-1, v))) }
