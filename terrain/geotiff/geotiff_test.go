package geotiff

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// grid is a small made-up elevation model: a hill on a slope, whole
// metres (so that every sample type holds it exactly), or quarter metres.
func grid(w, h int, quarter bool) []float64 {
	out := make([]float64, w*h)
	for r := 0; r < h; r++ {
		for c := 0; c < w; c++ {
			v := 400 + 3*float64(c) - 2*float64(r) + 250*math.Exp(-(math.Pow(float64(c-w/2), 2)+math.Pow(float64(r-h/3), 2))/40)
			if quarter {
				out[r*w+c] = math.Round(v*4) / 4
			} else {
				out[r*w+c] = math.Round(v)
			}
		}
	}
	return out
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	im := &Image{Width: 37, Height: 23, Data: grid(37, 23, true), OriginX: 20.1, OriginY: 67.9, ScaleX: 0.001, ScaleY: 0.0005,
		EPSG: 4326, NoData: -32768, HasNoData: true}
	im.Data[5] = -32768
	var buf bytes.Buffer
	if err := Encode(&buf, im); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(buf.Bytes(), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	same(t, got, im, 0)
}

func same(t *testing.T, got, want *Image, tol float64) {
	t.Helper()
	if got.Width != want.Width || got.Height != want.Height || got.EPSG != want.EPSG {
		t.Fatalf("got %d × %d EPSG:%d, want %d × %d EPSG:%d", got.Width, got.Height, got.EPSG, want.Width, want.Height, want.EPSG)
	}
	for _, p := range [][3]float64{{got.OriginX, want.OriginX, 1e-9}, {got.OriginY, want.OriginY, 1e-9}, {got.ScaleX, want.ScaleX, 1e-12}, {got.ScaleY, want.ScaleY, 1e-12}} {
		if math.Abs(p[0]-p[1]) > p[2]*math.Max(1, math.Abs(p[1])) {
			t.Errorf("placement: got origin %v, %v scale %v, %v; want %v, %v and %v, %v",
				got.OriginX, got.OriginY, got.ScaleX, got.ScaleY, want.OriginX, want.OriginY, want.ScaleX, want.ScaleY)
			break
		}
	}
	if got.HasNoData != want.HasNoData || (want.HasNoData && got.NoData != want.NoData) {
		t.Errorf("no data: got %v %v, want %v %v", got.HasNoData, got.NoData, want.HasNoData, want.NoData)
	}
	bad := 0
	for i := range want.Data {
		if math.Abs(got.Data[i]-want.Data[i]) > tol {
			if bad < 5 {
				t.Errorf("sample %d (%d, %d): got %v, want %v", i, i%want.Width, i/want.Width, got.Data[i], want.Data[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d samples differ", bad, len(want.Data))
	}
}

func needGDAL(t *testing.T) {
	for _, tool := range []string{"gdal_translate", "gdalinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s (Debian gdal-bin) is needed under CI", tool)
			}
			t.Skipf("%s not found: apt-get install gdal-bin", tool)
		}
	}
}

// writeASC writes an Esri ASCII grid, which GDAL converts to GeoTIFF.
func writeASC(t *testing.T, path string, im *Image) {
	var b strings.Builder
	fmt.Fprintf(&b, "ncols %d\nnrows %d\nxllcorner %.10f\nyllcorner %.10f\ncellsize %.10f\n", im.Width, im.Height,
		im.OriginX, im.OriginY-float64(im.Height)*im.ScaleY, im.ScaleX)
	if im.HasNoData {
		fmt.Fprintf(&b, "NODATA_value %v\n", im.NoData)
	}
	for r := 0; r < im.Height; r++ {
		for c := 0; c < im.Width; c++ {
			fmt.Fprintf(&b, "%v ", im.At(c, r))
		}
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gdal(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Files that GDAL writes, in every layout this reader claims, decode to
// the grid GDAL was given.
func TestReadsWhatGDALWrites(t *testing.T) {
	needGDAL(t)
	dir := t.TempDir()
	metres := &Image{Width: 45, Height: 31, Data: grid(45, 31, false), OriginX: 719_000, OriginY: 7_535_000, ScaleX: 10, ScaleY: 10, EPSG: 3006}
	quarters := &Image{Width: 45, Height: 31, Data: grid(45, 31, true), OriginX: 719_000, OriginY: 7_535_000, ScaleX: 10, ScaleY: 10, EPSG: 3006,
		NoData: -9999, HasNoData: true}
	quarters.Data[7] = -9999
	degrees := &Image{Width: 40, Height: 30, Data: grid(40, 30, true), OriginX: 20.15, OriginY: 67.88, ScaleX: 0.0025, ScaleY: 0.0025, EPSG: 4326}
	mercator := &Image{Width: 33, Height: 27, Data: grid(33, 27, false), OriginX: 2_243_000, OriginY: 10_370_000, ScaleX: 30, ScaleY: 30, EPSG: 3857}
	cases := []struct {
		name string
		im   *Image
		opts []string
	}{
		{"float32, strips", quarters, []string{"-ot", "Float32"}},
		{"float32, deflate, float predictor, tiles", quarters, []string{"-ot", "Float32", "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=3", "-co", "TILED=YES", "-co", "BLOCKXSIZE=16", "-co", "BLOCKYSIZE=16"}},
		{"float32, big endian, deflate", quarters, []string{"-ot", "Float32", "-co", "COMPRESS=DEFLATE", "-co", "ENDIANNESS=BIG"}},
		{"float64, deflate, float predictor", quarters, []string{"-ot", "Float64", "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=3"}},
		{"int16, deflate, horizontal predictor", metres, []string{"-ot", "Int16", "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=2"}},
		{"uint16, deflate, tiles of 32", metres, []string{"-ot", "UInt16", "-co", "COMPRESS=DEFLATE", "-co", "TILED=YES", "-co", "BLOCKXSIZE=32", "-co", "BLOCKYSIZE=32"}},
		{"int32, big endian, horizontal predictor", metres, []string{"-ot", "Int32", "-co", "COMPRESS=DEFLATE", "-co", "PREDICTOR=2", "-co", "ENDIANNESS=BIG"}},
		{"wgs84, float32", degrees, []string{"-ot", "Float32"}},
		{"web mercator, int16, pixel is point", mercator, []string{"-ot", "Int16", "-mo", "AREA_OR_POINT=Point"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			asc := filepath.Join(dir, fmt.Sprintf("in%d.asc", i))
			tif := filepath.Join(dir, fmt.Sprintf("out%d.tif", i))
			writeASC(t, asc, c.im)
			gdal(t, append(append([]string{"gdal_translate", "-q", "-a_srs", fmt.Sprintf("EPSG:%d", c.im.EPSG)}, c.opts...), asc, tif)...)
			data, err := os.ReadFile(tif)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			same(t, got, c.im, 0)
		})
	}
	t.Run("lzw is refused by name", func(t *testing.T) {
		asc, tif := filepath.Join(dir, "lzw.asc"), filepath.Join(dir, "lzw.tif")
		writeASC(t, asc, metres)
		gdal(t, "gdal_translate", "-q", "-a_srs", "EPSG:3006", "-co", "COMPRESS=LZW", asc, tif)
		data, _ := os.ReadFile(tif)
		if _, err := Decode(data, Limits{}); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "LZW") {
			t.Fatalf("got %v, want an error naming LZW", err)
		}
	})
}

// GDAL reads what Encode writes: the same size, system, placement and
// samples.
func TestGDALReadsWhatWeWrite(t *testing.T) {
	needGDAL(t)
	dir := t.TempDir()
	im := &Image{Width: 29, Height: 17, Data: grid(29, 17, true), OriginX: 20.2, OriginY: 67.86, ScaleX: 0.002, ScaleY: 0.001, EPSG: 4326,
		NoData: -32768, HasNoData: true}
	var buf bytes.Buffer
	if err := Encode(&buf, im); err != nil {
		t.Fatal(err)
	}
	tif, asc := filepath.Join(dir, "ours.tif"), filepath.Join(dir, "back.xyz")
	if err := os.WriteFile(tif, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("gdalinfo", tif).CombinedOutput()
	if err != nil {
		t.Fatalf("gdalinfo: %v\n%s", err, out)
	}
	for _, want := range []string{"Size is 29, 17", `ID["EPSG",4326]`, "Pixel Size = (0.002000000000000,-0.001000000000000)", "Type=Float32", "NoData Value=-32768"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("gdalinfo does not say %q:\n%s", want, out)
		}
	}
	var ox, oy float64
	if _, after, ok := strings.Cut(string(out), "Origin = ("); !ok {
		t.Error("gdalinfo gives no origin")
	} else if _, err := fmt.Sscanf(strings.Replace(after, ",", " ", 1), "%g %g", &ox, &oy); err != nil || math.Abs(ox-20.2) > 1e-9 || math.Abs(oy-67.86) > 1e-9 {
		t.Errorf("gdalinfo's origin %v, %v (%v), want 20.2, 67.86", ox, oy, err)
	}
	gdal(t, "gdal_translate", "-q", "-of", "XYZ", tif, asc)
	data, err := os.ReadFile(asc)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != im.Width*im.Height {
		t.Fatalf("GDAL read %d samples, want %d", len(lines), im.Width*im.Height)
	}
	for i, l := range lines {
		var x, y, z float64
		if _, err := fmt.Sscan(l, &x, &y, &z); err != nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		if z != im.Data[i] {
			t.Fatalf("sample %d: GDAL read %v, want %v", i, z, im.Data[i])
		}
		wantX := im.OriginX + (float64(i%im.Width)+0.5)*im.ScaleX
		if math.Abs(x-wantX) > 1e-9 {
			t.Fatalf("sample %d at x %v, want %v", i, x, wantX)
		}
	}
}

func FuzzDecode(f *testing.F) {
	im := &Image{Width: 5, Height: 4, Data: grid(5, 4, true), OriginX: 20, OriginY: 67, ScaleX: 0.01, ScaleY: 0.01, EPSG: 4326}
	var buf bytes.Buffer
	if err := Encode(&buf, im); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("II*\x00\x08\x00\x00\x00\x00\x00"))
	f.Add([]byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x00\x00\x04\x00\x00\x00\x01\x7f\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		im, err := Decode(data, Limits{Pixels: 1 << 16, Bytes: 1 << 20})
		if err != nil {
			return
		}
		if len(im.Data) != im.Width*im.Height || im.ScaleX <= 0 || im.ScaleY <= 0 {
			t.Fatalf("decoded an inconsistent image: %d samples for %d × %d, scale %v × %v", len(im.Data), im.Width, im.Height, im.ScaleX, im.ScaleY)
		}
	})
}
