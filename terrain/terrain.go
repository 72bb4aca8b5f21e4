// Package terrain owns a scene's elevation model: it reads a GeoTIFF DEM
// (WGS84, Web Mercator or SWEREF 99 TM, or any system scenes/crs knows),
// resamples it to a regular WGS84 grid that a bundle stores as dem.tif, and
// serves it as raster-dem tiles in the Terrarium encoding (PNG), the tiles
// MapLibre draws terrain and hillshade from.
package terrain

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/kiruna-twin/kiruna-twin/scenes/crs"
	"github.com/kiruna-twin/kiruna-twin/terrain/geotiff"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// Errors; test with errors.Is.
var (
	ErrOutOfRange = errors.New("tile out of range")
	ErrNoDEM      = errors.New("no elevation model")
)

// DEM is an elevation model on a regular WGS84 grid: cell (col, row)
// covers longitudes West + col·DLon to West + (col+1)·DLon and latitudes
// North − row·DLat down to North − (row+1)·DLat. Z holds metres, NaN where
// the model has no value.
type DEM struct {
	W, H        int
	West, North float64
	DLon, DLat  float64
	Z           []float32
}

// Bounds is [west, south, east, north].
func (d *DEM) Bounds() [4]float64 {
	return [4]float64{d.West, d.North - float64(d.H)*d.DLat, d.West + float64(d.W)*d.DLon, d.North}
}

// Range is the lowest and highest value, ignoring cells without one.
func (d *DEM) Range() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, z := range d.Z {
		if !math.IsNaN(float64(z)) {
			lo, hi = math.Min(lo, float64(z)), math.Max(hi, float64(z))
		}
	}
	return lo, hi
}

// At returns the elevation at lon, lat, interpolated bilinearly between
// the cells' centres (clamped to the grid's edge); false outside the grid
// or where no neighbouring cell has a value.
func (d *DEM) At(lon, lat float64) (float64, bool) {
	b := d.Bounds()
	if lon < b[0] || lon > b[2] || lat < b[1] || lat > b[3] {
		return 0, false
	}
	fx := (lon-d.West)/d.DLon - 0.5
	fy := (d.North-lat)/d.DLat - 0.5
	x0, y0 := int(math.Floor(fx)), int(math.Floor(fy))
	tx, ty := fx-float64(x0), fy-float64(y0)
	var sum, wsum float64
	for _, c := range [4]struct {
		dx, dy int
		w      float64
	}{{0, 0, (1 - tx) * (1 - ty)}, {1, 0, tx * (1 - ty)}, {0, 1, (1 - tx) * ty}, {1, 1, tx * ty}} {
		x := min(max(x0+c.dx, 0), d.W-1)
		y := min(max(y0+c.dy, 0), d.H-1)
		z := float64(d.Z[y*d.W+x])
		if math.IsNaN(z) || c.w == 0 {
			continue
		}
		sum += z * c.w
		wsum += c.w
	}
	if wsum == 0 {
		return 0, false
	}
	return sum / wsum, true
}

// MaxZoom is the zoom at which a 256-pixel tile's pixel is about the size
// of a cell (at least 1, at most 16); clients overzoom beyond.
func (d *DEM) MaxZoom() int {
	b := d.Bounds()
	lat := (b[1] + b[3]) / 2
	cellMetres := d.DLat * 111_320
	z := math.Log2(2 * math.Pi * 6_378_137 * math.Cos(lat*math.Pi/180) / (256 * cellMetres))
	return min(max(int(math.Ceil(z)), 1), 16)
}

// Limits on a DEM: its cells.
const maxCells = 64 << 20

// FromImage turns a decoded GeoTIFF into a DEM on a WGS84 grid. A grid in
// WGS84 (EPSG:4326) is taken as it is; any other system is resampled
// (bilinearly) to a WGS84 grid of about the same cell size that covers it.
func FromImage(im *geotiff.Image) (*DEM, error) {
	c, err := crs.EPSG(im.EPSG)
	if err != nil {
		return nil, fmt.Errorf("dem: %w", err)
	}
	value := func(col, row int) float32 {
		v := im.At(col, row)
		if im.HasNoData && (v == im.NoData || (math.IsNaN(im.NoData) && math.IsNaN(v))) {
			return float32(math.NaN())
		}
		return float32(v)
	}
	if c.Geographic() {
		d := &DEM{W: im.Width, H: im.Height, West: im.OriginX, North: im.OriginY, DLon: im.ScaleX, DLat: im.ScaleY,
			Z: make([]float32, im.Width*im.Height)}
		for row := 0; row < im.Height; row++ {
			for col := 0; col < im.Width; col++ {
				d.Z[row*im.Width+col] = value(col, row)
			}
		}
		return d, d.check()
	}
	// The source's footprint in WGS84, from its edge.
	west, south, east, north := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	x1, y1 := im.OriginX+float64(im.Width)*im.ScaleX, im.OriginY-float64(im.Height)*im.ScaleY
	for i := 0; i <= 32; i++ {
		t := float64(i) / 32
		for _, p := range [][2]float64{
			{im.OriginX + t*(x1-im.OriginX), im.OriginY}, {im.OriginX + t*(x1-im.OriginX), y1},
			{im.OriginX, im.OriginY + t*(y1-im.OriginY)}, {x1, im.OriginY + t*(y1-im.OriginY)},
		} {
			lon, lat := c.ToWGS84(p[0], p[1])
			if !c.InArea(lon, lat) {
				return nil, fmt.Errorf("dem: the grid's corner %v converts to %.4f, %.4f, outside %s's area of use", p, lon, lat, c)
			}
			west, east = math.Min(west, lon), math.Max(east, lon)
			south, north = math.Min(south, lat), math.Max(north, lat)
		}
	}
	// Cells of about the source's size: metres to degrees at the middle.
	cell := math.Min(im.ScaleX, im.ScaleY)
	if im.EPSG == 3857 {
		cell *= math.Cos((south + north) / 2 * math.Pi / 180) // Web Mercator's metres shrink north
	}
	dlat := cell / 111_320
	dlon := cell / (111_320 * math.Cos((south+north)/2*math.Pi/180))
	w, h := int(math.Ceil((east-west)/dlon)), int(math.Ceil((north-south)/dlat))
	if w <= 0 || h <= 0 || w*h > maxCells {
		return nil, fmt.Errorf("dem: resampled to %d × %d cells (at most %d)", w, h, maxCells)
	}
	d := &DEM{W: w, H: h, West: west, North: north, DLon: dlon, DLat: dlat, Z: make([]float32, w*h)}
	for row := 0; row < h; row++ {
		lat := north - (float64(row)+0.5)*dlat
		for col := 0; col < w; col++ {
			lon := west + (float64(col)+0.5)*dlon
			x, y := c.FromWGS84(lon, lat)
			fx := (x-im.OriginX)/im.ScaleX - 0.5
			fy := (im.OriginY-y)/im.ScaleY - 0.5
			d.Z[row*w+col] = sample(im, fx, fy, value)
		}
	}
	return d, d.check()
}

// sample interpolates the image bilinearly at pixel position (fx, fy),
// pixel centres at whole numbers; NaN outside or where a neighbour has no
// value.
func sample(im *geotiff.Image, fx, fy float64, value func(col, row int) float32) float32 {
	if fx < -0.5 || fy < -0.5 || fx > float64(im.Width)-0.5 || fy > float64(im.Height)-0.5 {
		return float32(math.NaN())
	}
	x0, y0 := int(math.Floor(fx)), int(math.Floor(fy))
	tx, ty := fx-float64(x0), fy-float64(y0)
	get := func(x, y int) float64 {
		return float64(value(min(max(x, 0), im.Width-1), min(max(y, 0), im.Height-1)))
	}
	v := get(x0, y0)*(1-tx)*(1-ty) + get(x0+1, y0)*tx*(1-ty) + get(x0, y0+1)*(1-tx)*ty + get(x0+1, y0+1)*tx*ty
	return float32(v)
}

func (d *DEM) check() error {
	if d.W <= 0 || d.H <= 0 || len(d.Z) != d.W*d.H || d.W*d.H > maxCells {
		return fmt.Errorf("dem: %d × %d cells", d.W, d.H)
	}
	b := d.Bounds()
	if !(b[0] >= -180 && b[2] <= 180 && b[1] >= -85.06 && b[3] <= 85.06 && d.DLon > 0 && d.DLat > 0) {
		return fmt.Errorf("dem: bounds %v are not inside WGS84's range", b)
	}
	lo, hi := d.Range()
	if lo < -12_000 || hi > 9_000 {
		return fmt.Errorf("dem: heights from %v to %v m are not believable elevations", lo, hi)
	}
	return nil
}

// Image is the DEM as a GeoTIFF image in EPSG:4326, to store in a bundle.
func (d *DEM) Image() *geotiff.Image {
	im := &geotiff.Image{Width: d.W, Height: d.H, Data: make([]float64, len(d.Z)), OriginX: d.West, OriginY: d.North,
		ScaleX: d.DLon, ScaleY: d.DLat, EPSG: 4326, NoData: -32768, HasNoData: true}
	for i, z := range d.Z {
		if math.IsNaN(float64(z)) {
			im.Data[i] = -32768
		} else {
			im.Data[i] = float64(z)
		}
	}
	return im
}

// Decode reads a DEM from a GeoTIFF file's bytes.
func Decode(data []byte) (*DEM, error) {
	im, err := geotiff.Decode(data, geotiff.Limits{})
	if err != nil {
		return nil, err
	}
	return FromImage(im)
}

// Tiles serves a DEM as 256-pixel Terrarium tiles (PNG), keeping the
// tiles it made in a cache bounded in bytes.
type Tiles struct {
	dem     *DEM
	maxZoom int
	mu      sync.Mutex
	cache   map[[3]int]Tile
	order   [][3]int
	bytes   int
	limit   int
}

// Tile is one encoded tile and its ETag.
type Tile struct {
	PNG  []byte
	ETag string
}

// NewTiles serves d; cacheBytes bounds the cache (0: 32 MiB).
func NewTiles(d *DEM, cacheBytes int) *Tiles {
	if cacheBytes <= 0 {
		cacheBytes = 32 << 20
	}
	return &Tiles{dem: d, maxZoom: d.MaxZoom(), cache: map[[3]int]Tile{}, limit: cacheBytes}
}

// DEM is the model served.
func (t *Tiles) DEM() *DEM { return t.dem }

// MaxZoom is the highest zoom tiles are made for; clients overzoom beyond.
func (t *Tiles) MaxZoom() int { return t.maxZoom }

// Covers reports whether tile z/x/y meets the DEM.
func (t *Tiles) Covers(z, x, y int) bool {
	b := t.dem.Bounds()
	tb := maptile.New(uint32(x), uint32(y), maptile.Zoom(z)).Bound()
	return tb.Intersects(orb.Bound{Min: orb.Point{b[0], b[1]}, Max: orb.Point{b[2], b[3]}})
}

// Get returns tile z/x/y: ErrOutOfRange for coordinates outside the zoom's
// grid or a zoom over 22. A tile beyond the DEM's edge holds the nearest
// edge's heights, so that the terrain does not fall off a cliff there.
func (t *Tiles) Get(z, x, y int) (Tile, error) {
	if z < 0 || z > 22 || x < 0 || y < 0 || x >= 1<<z || y >= 1<<z {
		return Tile{}, fmt.Errorf("%w: %d/%d/%d", ErrOutOfRange, z, x, y)
	}
	key := [3]int{z, x, y}
	t.mu.Lock()
	if tile, ok := t.cache[key]; ok {
		t.mu.Unlock()
		return tile, nil
	}
	t.mu.Unlock()
	data, err := t.render(z, x, y)
	if err != nil {
		return Tile{}, err
	}
	tile := Tile{PNG: data, ETag: fmt.Sprintf(`"%016x"`, xxhash.Sum64(data))}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.cache[key]; !ok {
		t.cache[key] = tile
		t.order = append(t.order, key)
		t.bytes += len(data)
		for t.bytes > t.limit && len(t.order) > 0 {
			old := t.order[0]
			t.order = t.order[1:]
			t.bytes -= len(t.cache[old].PNG)
			delete(t.cache, old)
		}
	}
	return tile, nil
}

// TerrariumRGB encodes a height in metres as Terrarium does:
// height = R·256 + G + B/256 − 32768.
func TerrariumRGB(h float64) (r, g, b uint8) {
	v := math.Min(math.Max(h+32768, 0), 65535.996)
	i := math.Floor(v)
	return uint8(int(i) >> 8), uint8(int(i) & 0xff), uint8(math.Floor((v - i) * 256))
}

// TerrariumHeight decodes a Terrarium pixel.
func TerrariumHeight(r, g, b uint8) float64 {
	return float64(r)*256 + float64(g) + float64(b)/256 - 32768
}

func (t *Tiles) render(z, x, y int) ([]byte, error) {
	const size = 256
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	b := t.dem.Bounds()
	n := math.Exp2(float64(z))
	for py := 0; py < size; py++ {
		// Web Mercator: the latitude of the pixel row's centre.
		my := (float64(y) + (float64(py)+0.5)/size) / n
		lat := math.Atan(math.Sinh(math.Pi*(1-2*my))) * 180 / math.Pi
		lat = math.Min(math.Max(lat, b[1]+t.dem.DLat/2), b[3]-t.dem.DLat/2)
		for px := 0; px < size; px++ {
			lon := (float64(x)+(float64(px)+0.5)/size)/n*360 - 180
			lon = math.Min(math.Max(lon, b[0]+t.dem.DLon/2), b[2]-t.dem.DLon/2)
			h, ok := t.dem.At(lon, lat)
			if !ok {
				h = 0
			}
			r, g, bl := TerrariumRGB(h)
			img.SetNRGBA(px, py, color.NRGBA{r, g, bl, 255})
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
