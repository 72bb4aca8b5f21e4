// Package geotiff reads and writes single-band GeoTIFF rasters, the files
// elevation models come in: classic TIFF (little or big endian), strips or
// tiles, uncompressed or Deflate, with the horizontal or floating-point
// predictor, samples of 8 to 64 bits (unsigned, signed, float), and the
// GeoTIFF tags that place the grid (pixel scale and tie point, or an
// unrotated transformation; the EPSG code of the geographic or projected
// system; GDAL's no-data value).
//
// No well-kept pure-Go GeoTIFF reader was at hand (golang.org/x/image/tiff
// reads neither float samples nor the GeoTIFF tags), so this is a small
// one, tested against files that GDAL writes. BigTIFF, LZW, JPEG, several
// bands and rotated grids are refused with an error that names them.
package geotiff

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// ErrFormat marks input that is not a GeoTIFF this package reads.
var ErrFormat = errors.New("not a GeoTIFF this reader supports")

// ErrLimit marks a raster over a limit.
var ErrLimit = errors.New("over a limit")

// Image is one band on a regular grid. Pixel (col, row) covers x from
// OriginX + col·ScaleX to OriginX + (col+1)·ScaleX and y from
// OriginY − row·ScaleY down to OriginY − (row+1)·ScaleY: row 0 is the
// north edge.
type Image struct {
	Width, Height int
	Data          []float64 // row-major, Width × Height
	NoData        float64
	HasNoData     bool
	// The grid's corner (the north-west corner of pixel 0, 0) and pixel
	// size, in the units of EPSG (degrees or metres).
	OriginX, OriginY float64
	ScaleX, ScaleY   float64
	EPSG             int
}

// At returns the sample at (col, row).
func (im *Image) At(col, row int) float64 { return im.Data[row*im.Width+col] }

// Limits bound what Decode accepts; zero fields take DefaultLimits.
type Limits struct {
	Pixels int   // Width × Height
	Bytes  int64 // the file, and each strip or tile inflated
}

// DefaultLimits hold a town's elevation model at a metre (16 000 × 16 000).
var DefaultLimits = Limits{Pixels: 256 << 20, Bytes: 1 << 30}

// TIFF tags used here.
const (
	tagWidth           = 256
	tagHeight          = 257
	tagBitsPerSample   = 258
	tagCompression     = 259
	tagPhotometric     = 262
	tagStripOffsets    = 273
	tagSamplesPerPixel = 277
	tagRowsPerStrip    = 278
	tagStripByteCounts = 279
	tagPlanarConfig    = 284
	tagPredictor       = 317
	tagTileWidth       = 322
	tagTileLength      = 323
	tagTileOffsets     = 324
	tagTileByteCounts  = 325
	tagSampleFormat    = 339
	tagPixelScale      = 33550
	tagTiepoint        = 33922
	tagTransformation  = 34264
	tagGeoKeys         = 34735
	tagGeoDoubles      = 34736
	tagGeoASCII        = 34737
	tagGDALNoData      = 42113
)

// GeoKeys used here.
const (
	keyModelType     = 1024
	keyRasterType    = 1025
	keyGeographic    = 2048
	keyProjected     = 3072
	rasterPixelPoint = 2
	userDefined      = 32767
)

type entry struct {
	typ   uint16
	count uint64
	data  []byte // the value bytes, count × size of typ
}

type reader struct {
	data []byte
	bo   binary.ByteOrder
	tags map[uint16]entry
}

var typeSize = map[uint16]int{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8, 17: 8}

// Decode reads the first image of a GeoTIFF.
func Decode(data []byte, lim Limits) (*Image, error) {
	if lim.Pixels <= 0 {
		lim.Pixels = DefaultLimits.Pixels
	}
	if lim.Bytes <= 0 {
		lim.Bytes = DefaultLimits.Bytes
	}
	if int64(len(data)) > lim.Bytes {
		return nil, fmt.Errorf("%w: the file has %d bytes (at most %d)", ErrLimit, len(data), lim.Bytes)
	}
	if len(data) < 8 {
		return nil, fmt.Errorf("%w: too short for a TIFF header", ErrFormat)
	}
	r := &reader{data: data, tags: map[uint16]entry{}}
	switch string(data[:2]) {
	case "II":
		r.bo = binary.LittleEndian
	case "MM":
		r.bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: no TIFF byte-order mark", ErrFormat)
	}
	switch r.bo.Uint16(data[2:]) {
	case 42:
	case 43:
		return nil, fmt.Errorf("%w: BigTIFF is not supported (write a classic TIFF, e.g. gdal_translate -co BIGTIFF=NO)", ErrFormat)
	default:
		return nil, fmt.Errorf("%w: not a TIFF (version %d)", ErrFormat, r.bo.Uint16(data[2:]))
	}
	if err := r.readIFD(int64(r.bo.Uint32(data[4:]))); err != nil {
		return nil, err
	}
	return r.image(lim)
}

func (r *reader) readIFD(off int64) error {
	if off < 8 || off+2 > int64(len(r.data)) {
		return fmt.Errorf("%w: the first directory is outside the file", ErrFormat)
	}
	n := int64(r.bo.Uint16(r.data[off:]))
	if off+2+n*12 > int64(len(r.data)) {
		return fmt.Errorf("%w: the directory of %d entries runs past the file", ErrFormat, n)
	}
	for i := int64(0); i < n; i++ {
		e := r.data[off+2+i*12:]
		tag, typ, count := r.bo.Uint16(e), r.bo.Uint16(e[2:]), uint64(r.bo.Uint32(e[4:]))
		size, ok := typeSize[typ]
		if !ok {
			continue // a type this reader does not need
		}
		total := uint64(size) * count
		if count > 1<<31 || total > uint64(len(r.data)) {
			return fmt.Errorf("%w: tag %d claims %d values", ErrFormat, tag, count)
		}
		var v []byte
		if total <= 4 {
			v = e[8 : 8+total]
		} else {
			at := uint64(r.bo.Uint32(e[8:]))
			if at+total > uint64(len(r.data)) {
				return fmt.Errorf("%w: the values of tag %d are outside the file", ErrFormat, tag)
			}
			v = r.data[at : at+total]
		}
		r.tags[tag] = entry{typ: typ, count: count, data: v}
	}
	return nil
}

// uints returns a tag's values as unsigned integers.
func (r *reader) uints(tag uint16) ([]uint64, bool) {
	e, ok := r.tags[tag]
	if !ok {
		return nil, false
	}
	out := make([]uint64, e.count)
	for i := range out {
		switch e.typ {
		case 1, 7:
			out[i] = uint64(e.data[i])
		case 3:
			out[i] = uint64(r.bo.Uint16(e.data[2*i:]))
		case 4:
			out[i] = uint64(r.bo.Uint32(e.data[4*i:]))
		case 16:
			out[i] = r.bo.Uint64(e.data[8*i:])
		default:
			return nil, false
		}
	}
	return out, true
}

func (r *reader) uint(tag uint16, def uint64) (uint64, error) {
	v, ok := r.uints(tag)
	if !ok {
		if _, present := r.tags[tag]; present {
			return 0, fmt.Errorf("%w: tag %d is not an integer", ErrFormat, tag)
		}
		return def, nil
	}
	if len(v) == 0 {
		return def, nil
	}
	for _, x := range v[1:] {
		if x != v[0] {
			return 0, fmt.Errorf("%w: tag %d differs between samples (%v)", ErrFormat, tag, v)
		}
	}
	return v[0], nil
}

// floats returns a tag's values as float64 (DOUBLE or FLOAT).
func (r *reader) floats(tag uint16) ([]float64, bool) {
	e, ok := r.tags[tag]
	if !ok {
		return nil, false
	}
	out := make([]float64, e.count)
	for i := range out {
		switch e.typ {
		case 12:
			out[i] = math.Float64frombits(r.bo.Uint64(e.data[8*i:]))
		case 11:
			out[i] = float64(math.Float32frombits(r.bo.Uint32(e.data[4*i:])))
		default:
			return nil, false
		}
	}
	return out, true
}

func (r *reader) ascii(tag uint16) string {
	e, ok := r.tags[tag]
	if !ok || e.typ != 2 {
		return ""
	}
	return strings.TrimRight(string(e.data), "\x00")
}

func (r *reader) image(lim Limits) (*Image, error) {
	w, err := r.uint(tagWidth, 0)
	if err != nil {
		return nil, err
	}
	h, err := r.uint(tagHeight, 0)
	if err != nil {
		return nil, err
	}
	if w == 0 || h == 0 {
		return nil, fmt.Errorf("%w: no width or height", ErrFormat)
	}
	if w > 1<<24 || h > 1<<24 || w*h > uint64(lim.Pixels) {
		return nil, fmt.Errorf("%w: %d × %d pixels (at most %d)", ErrLimit, w, h, lim.Pixels)
	}
	spp, err := r.uint(tagSamplesPerPixel, 1)
	if err != nil {
		return nil, err
	}
	if spp != 1 {
		return nil, fmt.Errorf("%w: %d bands; an elevation model has one", ErrFormat, spp)
	}
	bits, err := r.uint(tagBitsPerSample, 1)
	if err != nil {
		return nil, err
	}
	format, err := r.uint(tagSampleFormat, 1)
	if err != nil {
		return nil, err
	}
	sample, err := sampleReader(r.bo, bits, format)
	if err != nil {
		return nil, err
	}
	comp, err := r.uint(tagCompression, 1)
	if err != nil {
		return nil, err
	}
	if comp != 1 && comp != 8 && comp != 32946 {
		name := map[uint64]string{5: "LZW", 7: "JPEG", 32773: "PackBits", 34887: "LERC", 50000: "ZSTD", 34925: "LZMA", 50001: "WebP"}[comp]
		return nil, fmt.Errorf("%w: compression %d %s (uncompressed or Deflate only: gdal_translate -co COMPRESS=DEFLATE)", ErrFormat, comp, name)
	}
	pred, err := r.uint(tagPredictor, 1)
	if err != nil {
		return nil, err
	}
	if pred < 1 || pred > 3 || (pred == 3 && format != 3) || (pred == 2 && format == 3) {
		return nil, fmt.Errorf("%w: predictor %d with sample format %d", ErrFormat, pred, format)
	}
	im := &Image{Width: int(w), Height: int(h), Data: make([]float64, w*h)}
	bps := int(bits / 8)

	// The blocks: strips are tiles the width of the image.
	var offs, counts []uint64
	var bw, bh int
	if tw, ok := r.uints(tagTileWidth); ok {
		th, ok2 := r.uints(tagTileLength)
		offs, _ = r.uints(tagTileOffsets)
		counts, _ = r.uints(tagTileByteCounts)
		if !ok2 || len(tw) != 1 || len(th) != 1 || tw[0] == 0 || th[0] == 0 || tw[0] > 1<<16 || th[0] > 1<<16 {
			return nil, fmt.Errorf("%w: bad tile size", ErrFormat)
		}
		bw, bh = int(tw[0]), int(th[0])
	} else {
		rps, err := r.uint(tagRowsPerStrip, h)
		if err != nil {
			return nil, err
		}
		offs, _ = r.uints(tagStripOffsets)
		counts, _ = r.uints(tagStripByteCounts)
		bw, bh = int(w), int(min(max(rps, 1), h))
	}
	across, down := (int(w)+bw-1)/bw, (int(h)+bh-1)/bh
	if len(offs) != across*down || len(counts) != len(offs) {
		return nil, fmt.Errorf("%w: %d block offsets and %d byte counts for %d blocks", ErrFormat, len(offs), len(counts), across*down)
	}
	if int64(bw)*int64(bh)*int64(bps) > lim.Bytes {
		return nil, fmt.Errorf("%w: blocks of %d × %d", ErrLimit, bw, bh)
	}
	raw := make([]byte, bw*bh*bps)
	for b := range offs {
		if offs[b]+counts[b] > uint64(len(r.data)) || offs[b] > uint64(len(r.data)) {
			return nil, fmt.Errorf("%w: block %d is outside the file", ErrFormat, b)
		}
		bx, by := b%across, b/across
		rows := bh
		if bw == int(w) { // a strip: the last may be short
			rows = min(bh, int(h)-by*bh)
		}
		want := bw * rows * bps
		block := r.data[offs[b] : offs[b]+counts[b]]
		buf := raw[:want]
		if comp == 1 {
			if len(block) < want {
				return nil, fmt.Errorf("%w: block %d has %d bytes, want %d", ErrFormat, b, len(block), want)
			}
			copy(buf, block)
		} else {
			zr, err := zlib.NewReader(bytes.NewReader(block))
			if err != nil {
				return nil, fmt.Errorf("%w: block %d: %v", ErrFormat, b, err)
			}
			if _, err := io.ReadFull(zr, buf); err != nil {
				return nil, fmt.Errorf("%w: block %d inflates to less than %d bytes: %v", ErrFormat, b, want, err)
			}
		}
		switch pred {
		case 2:
			undoHorizontal(buf, bw, rows, bps, r.bo)
		case 3:
			undoFloat(buf, bw, rows, bps, r.bo)
		}
		for y := 0; y < rows; y++ {
			iy := by*bh + y
			if iy >= int(h) {
				break
			}
			for x := 0; x < bw; x++ {
				ix := bx*bw + x
				if ix >= int(w) {
					break
				}
				im.Data[iy*int(w)+ix] = sample(buf[(y*bw+x)*bps:])
			}
		}
	}
	if nd := strings.TrimSpace(r.ascii(tagGDALNoData)); nd != "" {
		v, err := strconv.ParseFloat(nd, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: no-data value %q", ErrFormat, nd)
		}
		im.NoData, im.HasNoData = v, true
	}
	if err := r.georeference(im); err != nil {
		return nil, err
	}
	return im, nil
}

func sampleReader(bo binary.ByteOrder, bits, format uint64) (func([]byte) float64, error) {
	switch {
	case format == 1 && bits == 8:
		return func(b []byte) float64 { return float64(b[0]) }, nil
	case format == 2 && bits == 8:
		return func(b []byte) float64 { return float64(int8(b[0])) }, nil
	case format == 1 && bits == 16:
		return func(b []byte) float64 { return float64(bo.Uint16(b)) }, nil
	case format == 2 && bits == 16:
		return func(b []byte) float64 { return float64(int16(bo.Uint16(b))) }, nil
	case format == 1 && bits == 32:
		return func(b []byte) float64 { return float64(bo.Uint32(b)) }, nil
	case format == 2 && bits == 32:
		return func(b []byte) float64 { return float64(int32(bo.Uint32(b))) }, nil
	case format == 3 && bits == 32:
		return func(b []byte) float64 { return float64(math.Float32frombits(bo.Uint32(b))) }, nil
	case format == 3 && bits == 64:
		return func(b []byte) float64 { return math.Float64frombits(bo.Uint64(b)) }, nil
	}
	return nil, fmt.Errorf("%w: %d-bit samples of format %d", ErrFormat, bits, format)
}

// undoHorizontal reverses predictor 2: each sample was stored as the
// difference from the one to its left.
func undoHorizontal(buf []byte, w, rows, bps int, bo binary.ByteOrder) {
	for y := 0; y < rows; y++ {
		row := buf[y*w*bps : (y+1)*w*bps]
		for x := 1; x < w; x++ {
			p, c := row[(x-1)*bps:], row[x*bps:]
			switch bps {
			case 1:
				c[0] += p[0]
			case 2:
				bo.PutUint16(c, bo.Uint16(c)+bo.Uint16(p))
			case 4:
				bo.PutUint32(c, bo.Uint32(c)+bo.Uint32(p))
			case 8:
				bo.PutUint64(c, bo.Uint64(c)+bo.Uint64(p))
			}
		}
	}
}

// undoFloat reverses predictor 3 (floating point): each row's bytes were
// split into planes, most significant first, and differenced bytewise.
func undoFloat(buf []byte, w, rows, bps int, bo binary.ByteOrder) {
	n := w * bps
	tmp := make([]byte, n)
	for y := 0; y < rows; y++ {
		row := buf[y*n : (y+1)*n]
		for i := 1; i < n; i++ {
			row[i] += row[i-1]
		}
		copy(tmp, row)
		for x := 0; x < w; x++ {
			for k := 0; k < bps; k++ {
				// plane k holds byte k of each sample in big-endian order
				v := tmp[k*w+x]
				if bo == binary.LittleEndian {
					row[x*bps+bps-1-k] = v
				} else {
					row[x*bps+k] = v
				}
			}
		}
	}
}

// georeference reads the grid's placement and reference system.
func (r *reader) georeference(im *Image) error {
	keys, ok := r.uints(tagGeoKeys)
	if !ok || len(keys) < 4 {
		return fmt.Errorf("%w: no GeoTIFF keys: the file is not georeferenced", ErrFormat)
	}
	n := int(keys[3])
	if len(keys) < 4+4*n {
		return fmt.Errorf("%w: the GeoTIFF key directory is cut short", ErrFormat)
	}
	kv := map[uint64]uint64{}
	for i := 0; i < n; i++ {
		k := keys[4+4*i : 8+4*i]
		if k[1] == 0 { // the value is in the directory itself
			kv[k[0]] = k[3]
		}
	}
	switch kv[keyModelType] {
	case 1:
		im.EPSG = int(kv[keyProjected])
	case 2:
		im.EPSG = int(kv[keyGeographic])
	default:
		return fmt.Errorf("%w: model type %d (want projected or geographic)", ErrFormat, kv[keyModelType])
	}
	if im.EPSG == 0 || im.EPSG == userDefined {
		return fmt.Errorf("%w: a user-defined reference system; write the file with an EPSG code (gdal_translate -a_srs EPSG:…)", ErrFormat)
	}
	if t, ok := r.floats(tagTransformation); ok && len(t) >= 16 {
		if t[1] != 0 || t[4] != 0 {
			return fmt.Errorf("%w: a rotated grid", ErrFormat)
		}
		im.ScaleX, im.ScaleY, im.OriginX, im.OriginY = t[0], -t[5], t[3], t[7]
	} else {
		sc, ok1 := r.floats(tagPixelScale)
		tp, ok2 := r.floats(tagTiepoint)
		if !ok1 || !ok2 || len(sc) < 2 || len(tp) < 6 {
			return fmt.Errorf("%w: no pixel scale and tie point", ErrFormat)
		}
		im.ScaleX, im.ScaleY = sc[0], sc[1]
		im.OriginX, im.OriginY = tp[3]-tp[0]*sc[0], tp[4]+tp[1]*sc[1]
	}
	if kv[keyRasterType] == rasterPixelPoint {
		// The tie point is a pixel's centre: move to its corner.
		im.OriginX -= im.ScaleX / 2
		im.OriginY += im.ScaleY / 2
	}
	for _, v := range []float64{im.ScaleX, im.ScaleY, im.OriginX, im.OriginY} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: the grid's placement is not finite", ErrFormat)
		}
	}
	if im.ScaleX <= 0 || im.ScaleY <= 0 {
		return fmt.Errorf("%w: pixel size %v × %v (want positive, north up)", ErrFormat, im.ScaleX, im.ScaleY)
	}
	return nil
}

// Encode writes im as a little-endian GeoTIFF of 32-bit floats in Deflate
// strips of 16 rows, with its pixel scale, tie point, EPSG code
// (geographic for 4326, 4258 and 4619, else projected) and no-data value.
func Encode(w io.Writer, im *Image) error {
	if im.Width <= 0 || im.Height <= 0 || len(im.Data) != im.Width*im.Height {
		return fmt.Errorf("geotiff: %d samples for %d × %d", len(im.Data), im.Width, im.Height)
	}
	const rps = 16
	var strips [][]byte
	row := make([]byte, im.Width*4)
	for y0 := 0; y0 < im.Height; y0 += rps {
		var buf bytes.Buffer
		zw, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
		for y := y0; y < min(y0+rps, im.Height); y++ {
			for x := 0; x < im.Width; x++ {
				binary.LittleEndian.PutUint32(row[4*x:], math.Float32bits(float32(im.Data[y*im.Width+x])))
			}
			if _, err := zw.Write(row); err != nil {
				return err
			}
		}
		if err := zw.Close(); err != nil {
			return err
		}
		strips = append(strips, buf.Bytes())
	}
	geographic := im.EPSG == 4326 || im.EPSG == 4258 || im.EPSG == 4619
	keys := []uint16{1, 1, 0, 3, keyModelType, 0, 1, 1, keyRasterType, 0, 1, 1, keyProjected, 0, 1, uint16(im.EPSG)}
	if geographic {
		keys = []uint16{1, 1, 0, 3, keyModelType, 0, 1, 2, keyRasterType, 0, 1, 1, keyGeographic, 0, 1, uint16(im.EPSG)}
	}
	type ifdEntry struct {
		tag, typ uint16
		count    uint32
		data     []byte
	}
	le := binary.LittleEndian
	u16 := func(v ...uint16) []byte {
		b := make([]byte, 2*len(v))
		for i, x := range v {
			le.PutUint16(b[2*i:], x)
		}
		return b
	}
	u32 := func(v ...uint32) []byte {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			le.PutUint32(b[4*i:], x)
		}
		return b
	}
	f64 := func(v ...float64) []byte {
		b := make([]byte, 8*len(v))
		for i, x := range v {
			le.PutUint64(b[8*i:], math.Float64bits(x))
		}
		return b
	}
	offsets, counts := make([]uint32, len(strips)), make([]uint32, len(strips))
	entries := []ifdEntry{
		{tagWidth, 4, 1, u32(uint32(im.Width))},
		{tagHeight, 4, 1, u32(uint32(im.Height))},
		{tagBitsPerSample, 3, 1, u16(32)},
		{tagCompression, 3, 1, u16(8)},
		{tagPhotometric, 3, 1, u16(1)},
		{tagStripOffsets, 4, uint32(len(strips)), nil}, // filled below
		{tagSamplesPerPixel, 3, 1, u16(1)},
		{tagRowsPerStrip, 4, 1, u32(rps)},
		{tagStripByteCounts, 4, uint32(len(strips)), nil},
		{tagPlanarConfig, 3, 1, u16(1)},
		{tagSampleFormat, 3, 1, u16(3)},
		{tagPixelScale, 12, 3, f64(im.ScaleX, im.ScaleY, 0)},
		{tagTiepoint, 12, 6, f64(0, 0, 0, im.OriginX, im.OriginY, 0)},
		{tagGeoKeys, 3, uint32(len(keys)), u16(keys...)},
	}
	if im.HasNoData {
		s := strconv.FormatFloat(im.NoData, 'g', -1, 64) + "\x00"
		entries = append(entries, ifdEntry{tagGDALNoData, 2, uint32(len(s)), []byte(s)})
	}
	// Layout: header, strips, then the IFD and the values that do not fit
	// in an entry.
	pos := uint32(8)
	for i, s := range strips {
		offsets[i], counts[i] = pos, uint32(len(s))
		pos += uint32(len(s))
		if pos%2 == 1 {
			pos++
		}
	}
	entries[5].data, entries[8].data = u32(offsets...), u32(counts...)
	ifd := pos
	extra := ifd + 2 + uint32(len(entries))*12 + 4
	var out bytes.Buffer
	out.Write([]byte{'I', 'I', 42, 0})
	out.Write(u32(ifd))
	for _, s := range strips {
		out.Write(s)
		if out.Len()%2 == 1 {
			out.WriteByte(0)
		}
	}
	out.Write(u16(uint16(len(entries))))
	var tail bytes.Buffer
	for _, e := range entries {
		out.Write(u16(e.tag, e.typ))
		out.Write(u32(e.count))
		if len(e.data) <= 4 {
			v := make([]byte, 4)
			copy(v, e.data)
			out.Write(v)
			continue
		}
		out.Write(u32(extra + uint32(tail.Len())))
		tail.Write(e.data)
		if tail.Len()%2 == 1 {
			tail.WriteByte(0)
		}
	}
	out.Write(u32(0)) // no next IFD
	out.Write(tail.Bytes())
	_, err := w.Write(out.Bytes())
	return err
}
