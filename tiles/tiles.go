// Package tiles turns the twin into Mapbox Vector Tiles (MVT 2.1): tile
// math, per-zoom generalisation, simplification and clipping, an encoder
// that works from precomputed property tables, and a cache of gzipped tiles
// bounded in bytes that drops exactly the tiles an edit touches. It knows
// nothing of HTTP.
//
// Every feature of every time is in the tiles, with its `from` and `to` as
// decimal years, so that a viewer filters time on the GPU and a timeline
// drag fetches no tile.
package tiles

import (
	"errors"
	"fmt"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// Extent is the size of a tile in MVT units: 4096 per side, the usual
// detail for 512-pixel tiles (8 units per pixel).
const Extent = 4096

// TileSize is the size in pixels at which clients draw a tile (MapLibre's
// default for vector sources). Generalisation thresholds are in these pixels.
const TileSize = 512

// Options tune the tiles. The zero value of a field means its default.
type Options struct {
	// MinZoom and MaxZoom bound the zooms served (defaults 0 and 16).
	// Clients overzoom MaxZoom tiles, so they carry full detail.
	MinZoom, MaxZoom int
	// Buffer is how far, in MVT units, geometry reaches past the tile edge
	// (default 64, 8 pixels): clipped polygons end outside the tile, so
	// extrusions show no walls at tile seams and labels are not cut.
	Buffer int
	// FullZoom is the first zoom at which no feature is dropped for being
	// smaller than a pixel (default 12). Below it, lines and polygons under
	// a pixel are left out; points and landmarks always stay.
	FullZoom int
	// MaxFeatures caps the features of one layer in one tile below MaxZoom,
	// keeping the largest (default 10,000). Landmarks are never capped.
	MaxFeatures int
	// SimplifyPixels is the Douglas–Peucker tolerance in pixels used below
	// MaxZoom (default 0.5).
	SimplifyPixels float64
	// CacheBytes bounds the tile cache (default 256 MiB); negative turns
	// the cache off.
	CacheBytes int64
	// GzipLevel is the compression level of served tiles (klauspost/
	// compress's levels, -3 to 9). By default (0) a tile of under
	// SmallTile bytes is compressed statelessly (-3) and a larger one at
	// level 1: on a busy server the stateless compressor, whose tables
	// live on the stack, costs a small tile a sixth less CPU than level
	// 1's large reused window and hash table, for the same size
	// (BENCHMARKS.md). Any other value applies to every tile.
	GzipLevel int

	autoGzip bool // GzipLevel was left to its default
}

// SmallTile is the raw size under which, by default, a tile is gzipped
// statelessly (see Options.GzipLevel).
const SmallTile = 16 << 10

func (o Options) withDefaults() Options {
	if o.MaxZoom == 0 {
		o.MaxZoom = 16
	}
	if o.Buffer == 0 {
		o.Buffer = 64
	}
	if o.FullZoom == 0 {
		o.FullZoom = 12
	}
	if o.MaxFeatures == 0 {
		o.MaxFeatures = 10_000
	}
	if o.SimplifyPixels == 0 {
		o.SimplifyPixels = 0.5
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = 256 << 20
	}
	if o.GzipLevel == 0 {
		o.GzipLevel = 1
		o.autoGzip = true
	}
	return o
}

// Check reports whether the options can serve tiles.
func (o Options) Check() error {
	o = o.withDefaults()
	switch {
	case o.MinZoom < 0 || o.MaxZoom > 24 || o.MinZoom > o.MaxZoom:
		return fmt.Errorf("tiles: zooms %d to %d: want 0 ≤ min ≤ max ≤ 24", o.MinZoom, o.MaxZoom)
	case o.Buffer < 0 || o.Buffer > Extent:
		return fmt.Errorf("tiles: buffer %d: want 0 to %d", o.Buffer, Extent)
	case o.MaxFeatures < 0:
		return fmt.Errorf("tiles: max features %d: want ≥ 0", o.MaxFeatures)
	case o.GzipLevel < -3 || o.GzipLevel > 9:
		return fmt.Errorf("tiles: gzip level %d: want -3 to 9", o.GzipLevel)
	}
	return nil
}

// ErrOutOfRange is returned for a z/x/y that names no tile of the set.
var ErrOutOfRange = errors.New("tile out of range")

// CheckTile returns an error wrapping ErrOutOfRange, naming the coordinate,
// unless z/x/y names a tile between MinZoom and MaxZoom.
func (o Options) CheckTile(z, x, y int) error {
	o = o.withDefaults()
	if z < o.MinZoom || z > o.MaxZoom {
		return fmt.Errorf("%w: z %d is outside %d to %d", ErrOutOfRange, z, o.MinZoom, o.MaxZoom)
	}
	n := 1 << z
	if x < 0 || x >= n {
		return fmt.Errorf("%w: x %d is outside 0 to %d at zoom %d", ErrOutOfRange, x, n-1, z)
	}
	if y < 0 || y >= n {
		return fmt.Errorf("%w: y %d is outside 0 to %d at zoom %d", ErrOutOfRange, y, n-1, z)
	}
	return nil
}

// MercatorBound returns the box of a tile in the Web Mercator unit square
// (x east, y south, 0..1), grown on each side by buffer MVT units: the box
// whose features the tile holds.
func MercatorBound(z, x, y, buffer int) orb.Bound {
	n := float64(uint64(1) << z)
	b := float64(buffer) / Extent
	return orb.Bound{
		Min: orb.Point{(float64(x) - b) / n, (float64(y) - b) / n},
		Max: orb.Point{(float64(x) + 1 + b) / n, (float64(y) + 1 + b) / n},
	}
}

// LonLatToMercator maps a lon/lat box to the Web Mercator unit square by
// twin.UnitMercator, the projection of twin.Feature.Mercator: latitudes
// beyond Web Mercator's range are clamped the same way.
func LonLatToMercator(b orb.Bound) orb.Bound {
	lo := twin.UnitMercator(orb.Point{b.Min[0], b.Max[1]})
	hi := twin.UnitMercator(orb.Point{b.Max[0], b.Min[1]})
	return orb.Bound{Min: lo, Max: hi}
}

// TileBound returns the lon/lat box of a tile without buffer.
func TileBound(z, x, y int) orb.Bound {
	return maptile.New(uint32(x), uint32(y), maptile.Zoom(z)).Bound()
}
