package tiles_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/tiles"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/klauspost/compress/gzip"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

func gunzip(t testing.TB, b []byte) []byte {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGetGzipAndPlain(t *testing.T) {
	tl := tiles.New(fixture(t), tiles.Options{})
	x, y := tileAt(centre, 15)
	gz, err := tl.Get(15, x, y, true)
	if err != nil || !gz.Gzipped {
		t.Fatalf("%v %+v", err, gz)
	}
	plain, err := tl.Get(15, x, y, false)
	if err != nil || plain.Gzipped {
		t.Fatalf("%v %+v", err, plain)
	}
	raw, _ := tl.Encode(15, x, y)
	if !bytes.Equal(gunzip(t, gz.Data), raw) || !bytes.Equal(plain.Data, raw) {
		t.Fatal("the cached tile differs from a fresh encoding")
	}
	if gz.ETag != plain.ETag || gz.ETag == "" || gz.Size != len(raw) {
		t.Errorf("etags %q %q, size %d of %d", gz.ETag, plain.ETag, gz.Size, len(raw))
	}
	if st := tl.Cache().Stats(); st.Tiles != 1 || st.Hits != 1 || st.Misses != 1 {
		t.Errorf("stats %+v, want one tile, one hit, one miss", st)
	}
}

func TestCacheBoundedInBytes(t *testing.T) {
	tl := tiles.New(city(t, 2000), tiles.Options{CacheBytes: 64 << 10})
	b := tl.Snapshot().Bound()
	for z := 14; z <= 16; z++ {
		min := maptile.At(orb.Point{b.Min[0], b.Max[1]}, maptile.Zoom(z))
		max := maptile.At(orb.Point{b.Max[0], b.Min[1]}, maptile.Zoom(z))
		for x := min.X; x <= max.X; x++ {
			for y := min.Y; y <= max.Y; y++ {
				if _, err := tl.Get(z, int(x), int(y), true); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	st := tl.Cache().Stats()
	if st.Bytes > 64<<10 || st.Evictions == 0 || st.Tiles == 0 {
		t.Errorf("stats %+v: want at most 64 KiB held, some evictions", st)
	}
}

// TestInvalidateExact: an edit drops the tiles it touches, at every zoom,
// and no other.
func TestInvalidateExact(t *testing.T) {
	m := city(t, 2000)
	tl := tiles.New(m, tiles.Options{})
	b := m.Snapshot().Bound()
	type key struct{ z, x, y int }
	var all []key
	for z := 13; z <= 16; z++ {
		min := maptile.At(orb.Point{b.Min[0], b.Max[1]}, maptile.Zoom(z))
		max := maptile.At(orb.Point{b.Max[0], b.Min[1]}, maptile.Zoom(z))
		for x := min.X; x <= max.X; x++ {
			for y := min.Y; y <= max.Y; y++ {
				all = append(all, key{z, int(x), int(y)})
				if _, err := tl.Get(z, int(x), int(y), true); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	before := tl.Cache().Stats()
	if before.Tiles != len(all) {
		t.Fatalf("cached %d of %d", before.Tiles, len(all))
	}
	p := synth.Offset(b.Center(), 13, 17)
	f := &twin.Feature{ID: "new", Layer: twin.Pilots, Kind: "sensor_box", Geometry: p, Life: twin.Lifespan{From: year(2024)}}
	if _, err := m.Apply(twin.Edit{Layer: twin.Pilots, Add: []*twin.Feature{f}}); err != nil {
		t.Fatal(err)
	}
	pb := tiles.LonLatToMercator(orb.Bound{Min: p, Max: p})
	dropped := 0
	for _, k := range all {
		touched := tiles.MercatorBound(k.z, k.x, k.y, tl.Options().Buffer).Intersects(pb)
		_, held := tl.Cache().Get(k.z, k.x, k.y)
		if touched == held {
			t.Errorf("tile %v: touched by the edit %v, still held %v", k, touched, held)
		}
		if touched {
			dropped++
		}
	}
	if dropped < 4 {
		t.Errorf("only %d tiles touched; the test should cover one per zoom at least", dropped)
	}
	if st := tl.Cache().Stats(); st.Invalidated != uint64(dropped) {
		t.Errorf("invalidated %d, want %d", st.Invalidated, dropped)
	}
}

// TestInvalidateLargeBox: a box too big to enumerate tile by tile is
// matched against the held tiles instead.
func TestInvalidateLargeBox(t *testing.T) {
	c := tiles.NewCache(1<<20, 0, 16, 64)
	for x := 0; x < 8; x++ {
		c.Put(16, 36000+x*1000, 17000, &tiles.Tile{Data: []byte("x"), Size: 1}, c.Epoch())
	}
	// A box over the first four, at every zoom far too many tiles wide.
	lb := orb.Bound{Min: orb.Point{tileLon(36000, 16), -10}, Max: orb.Point{tileLon(39500, 16), 80}}
	c.Invalidate([]orb.Bound{lb})
	for x := 0; x < 8; x++ {
		_, held := c.Get(16, 36000+x*1000, 17000)
		if held != (x >= 4) {
			t.Errorf("tile x=%d held %v", 36000+x*1000, held)
		}
	}
}

func tileLon(x, z int) float64 { return float64(x)/float64(int(1)<<z)*360 - 180 }

// TestPutAfterChangeRefused: a tile built from state read before a change
// is not stored.
func TestPutAfterChangeRefused(t *testing.T) {
	c := tiles.NewCache(1<<20, 0, 16, 64)
	e := c.Epoch()
	c.Invalidate([]orb.Bound{{Min: orb.Point{0, 0}, Max: orb.Point{0, 0}}})
	if c.Put(3, 1, 1, &tiles.Tile{Data: []byte("x"), Size: 1}, e) {
		t.Fatal("a tile built before a change was stored")
	}
	if !c.Put(3, 1, 1, &tiles.Tile{Data: []byte("x"), Size: 1}, c.Epoch()) {
		t.Fatal("a fresh tile was refused")
	}
}

// TestNeverStale: while readers hammer the tiles around an edit, every
// read after Apply returns sees the edit. Run it with -race.
func TestNeverStale(t *testing.T) {
	m := city(t, 500)
	tl := tiles.New(m, tiles.Options{})
	b := m.Snapshot().Bound()
	r := rand.New(rand.NewPCG(3, 4))
	const edits = 30
	points := make([]orb.Point, edits)
	for i := range points {
		points[i] = orb.Point{b.Min[0] + r.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + r.Float64()*(b.Max[1]-b.Min[1])}
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				p := points[i%edits]
				z := 14 + i%3
				x, y := tileAt(p, z)
				if _, err := tl.Get(z, x, y, true); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i, p := range points {
		id := fmt.Sprintf("pilot-%d", i)
		f := &twin.Feature{ID: id, Layer: twin.Pilots, Kind: "box", Geometry: p, Life: twin.Lifespan{From: year(2024)}}
		// Each edit replaces the whole pilots layer with one feature.
		if _, err := m.Apply(twin.Edit{Layer: twin.Pilots, RemoveIf: func(*twin.Feature) bool { return true }, Add: []*twin.Feature{f}}); err != nil {
			t.Fatal(err)
		}
		for z := 14; z <= 16; z++ {
			x, y := tileAt(p, z)
			tile, err := tl.Get(z, x, y, true)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(decode(t, gunzip(t, tile.Data))["pilots"])
			if len(got) != 1 || got[0] != id {
				t.Fatalf("edit %d: z%d tile shows pilots %v, want [%s]", i, z, got, id)
			}
			if i > 0 {
				// The previous pilot's tile must no longer show it.
				px, py := tileAt(points[i-1], z)
				tile, err := tl.Get(z, px, py, true)
				if err != nil {
					t.Fatal(err)
				}
				if tile.Size > 0 {
					for _, old := range ids(decode(t, gunzip(t, tile.Data))["pilots"]) {
						if old == fmt.Sprintf("pilot-%d", i-1) {
							t.Fatalf("edit %d: z%d tile still shows the removed %s", i, z, old)
						}
					}
				}
			}
		}
	}
	stop.Store(true)
	wg.Wait()
}

// TestInvalidationProjectsLikeTheIndex: the box an edit invalidates is the
// box of the feature's geometry as the index projects it, the poles'
// clamp included (the south pole's box used to land at the top of the
// world).
func TestInvalidationProjectsLikeTheIndex(t *testing.T) {
	for _, b := range []orb.Bound{
		{Min: orb.Point{20.1, 67.8}, Max: orb.Point{20.4, 67.9}},
		{Min: orb.Point{-10, 85}, Max: orb.Point{10, 85.0511287798}},
		{Min: orb.Point{-10, 84}, Max: orb.Point{10, 90}},
		{Min: orb.Point{-10, -90}, Max: orb.Point{10, -84}},
		{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}},
	} {
		got := tiles.LonLatToMercator(b)
		want := twin.ToMercator(b.ToPolygon()).Bound()
		if got != want {
			t.Errorf("%v: invalidates %v, the index holds %v", b, got, want)
		}
		if got.Min[1] < 0 || got.Max[1] > 1 || got.Min[1] > got.Max[1] {
			t.Errorf("%v: %v is not within the unit square", b, got)
		}
	}
	if got := tiles.LonLatToMercator(orb.Bound{Min: orb.Point{0, -90}, Max: orb.Point{1, -86}}); got.Min[1] != 1 || got.Max[1] != 1 {
		t.Errorf("a box south of Web Mercator: %v, want y = 1 (the bottom edge)", got)
	}
}
