package terrain

import (
	"bytes"
	"errors"
	"image/png"
	"math"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/scenes/crs"
	"github.com/kiruna-twin/kiruna-twin/terrain/geotiff"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// plane is a made-up landscape: a plane rising 1 m every 10 m east, with
// the value known everywhere, so resampling can be checked exactly.
func plane(e, n float64) float64 { return 300 + (e-719_000)/10 + (n-7_530_000)/20 }

// sweref is a small DEM in SWEREF 99 TM (EPSG:3006), 10 m cells.
func sweref() *geotiff.Image {
	im := &geotiff.Image{Width: 120, Height: 100, OriginX: 719_000, OriginY: 7_535_000, ScaleX: 10, ScaleY: 10, EPSG: 3006,
		NoData: -9999, HasNoData: true}
	im.Data = make([]float64, im.Width*im.Height)
	for r := 0; r < im.Height; r++ {
		for c := 0; c < im.Width; c++ {
			im.Data[r*im.Width+c] = plane(im.OriginX+(float64(c)+0.5)*10, im.OriginY-(float64(r)+0.5)*10)
		}
	}
	return im
}

func TestTerrarium(t *testing.T) {
	for _, h := range []float64{0, 499.1, 733, -12.5, 8848.86, -430.5} {
		r, g, b := TerrariumRGB(h)
		if got := TerrariumHeight(r, g, b); math.Abs(got-h) > 1.0/256 {
			t.Errorf("%v m encodes to %d,%d,%d which decodes to %v", h, r, g, b, got)
		}
	}
	// Mapzen's definition: 0 m is (128, 0, 0).
	if r, g, b := TerrariumRGB(0); r != 128 || g != 0 || b != 0 {
		t.Errorf("0 m is %d,%d,%d, want 128,0,0", r, g, b)
	}
}

// A DEM in SWEREF 99 TM is resampled to WGS84 and keeps its heights where
// they are: at any point inside, the DEM gives the plane's value there.
func TestFromSWEREF(t *testing.T) {
	im := sweref()
	var buf bytes.Buffer
	if err := geotiff.Encode(&buf, im); err != nil {
		t.Fatal(err)
	}
	d, err := Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := crs.EPSG(3006)
	checked := 0
	for e := 719_060.0; e < 720_140; e += 137 { // the grid is turned ~5°: keep off its edge
		for n := 7_534_940.0; n > 7_534_060; n -= 111 {
			lon, lat := c.ToWGS84(e, n)
			h, ok := d.At(lon, lat)
			if !ok {
				t.Fatalf("no height at %v, %v", e, n)
			}
			// Cells are about 10 m: the interpolated plane is within a
			// fraction of a metre of the truth.
			if math.Abs(h-plane(e, n)) > 0.5 {
				t.Errorf("at E %v N %v: %v m, want %v", e, n, h, plane(e, n))
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("checked %d points", checked)
	}
	if z := d.MaxZoom(); z < 13 || z > 15 {
		t.Errorf("max zoom %d for 10 m cells, want 13 to 15", z)
	}
}

// Tiles decode to the DEM's heights, and out-of-range tiles are refused.
func TestTiles(t *testing.T) {
	var buf bytes.Buffer
	if err := geotiff.Encode(&buf, sweref()); err != nil {
		t.Fatal(err)
	}
	d, err := Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	ts := NewTiles(d, 0)
	b := d.Bounds()
	centre := orb.Point{(b[0] + b[2]) / 2, (b[1] + b[3]) / 2}
	tile := maptile.At(centre, 14)
	if !ts.Covers(14, int(tile.X), int(tile.Y)) {
		t.Fatal("the centre's tile does not cover the DEM")
	}
	got, err := ts.Get(14, int(tile.X), int(tile.Y))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(got.PNG))
	if err != nil {
		t.Fatal(err)
	}
	tb := tile.Bound()
	checked := 0
	for py := 8; py < 256; py += 32 {
		for px := 8; px < 256; px += 32 {
			lon := tb.Min[0] + (float64(px)+0.5)/256*(tb.Max[0]-tb.Min[0])
			// Web Mercator rows: the latitude of the pixel row's centre.
			my := (float64(tile.Y) + (float64(py)+0.5)/256) / math.Exp2(14)
			lat := math.Atan(math.Sinh(math.Pi*(1-2*my))) * 180 / math.Pi
			want, ok := d.At(lon, lat)
			if !ok {
				continue
			}
			r, g, bl, _ := img.At(px, py).RGBA()
			h := TerrariumHeight(uint8(r>>8), uint8(g>>8), uint8(bl>>8))
			if math.Abs(h-want) > 1.0/256+1e-9 {
				t.Errorf("pixel %d,%d: %v m, want %v", px, py, h, want)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no pixel checked")
	}
	again, _ := ts.Get(14, int(tile.X), int(tile.Y))
	if again.ETag != got.ETag || got.ETag == "" {
		t.Errorf("ETags %q and %q", got.ETag, again.ETag)
	}
	for _, c := range [][3]int{{-1, 0, 0}, {23, 0, 0}, {3, 8, 0}, {3, 0, 8}} {
		if _, err := ts.Get(c[0], c[1], c[2]); !errors.Is(err, ErrOutOfRange) {
			t.Errorf("%v: %v, want ErrOutOfRange", c, err)
		}
	}
	if ts.Covers(14, 0, 0) {
		t.Error("tile 14/0/0 covers the DEM")
	}
}

// A DEM of unbelievable heights or outside its system's area is refused.
func TestRefusesNonsense(t *testing.T) {
	im := sweref()
	im.Data[0] = 1e6
	if _, err := FromImage(im); err == nil {
		t.Error("a height of 1000 km was accepted")
	}
	im = sweref()
	im.EPSG = 2400 // RT90: not supported
	if _, err := FromImage(im); !errors.Is(err, crs.ErrUnsupported) {
		t.Errorf("EPSG:2400: %v, want ErrUnsupported", err)
	}
}
