package tiles_test

import (
	"bytes"
	stdgzip "compress/gzip"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/scenes/kiruna"
	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/tiles"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/klauspost/compress/gzip"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/planar"
)

// benchModels are loaded once per process: the 1,000,000-building city
// takes seconds to build.
var benchModels sync.Map // name → *twin.Model

func benchModel(b *testing.B, name string) *twin.Model {
	if m, ok := benchModels.Load(name); ok {
		return m.(*twin.Model)
	}
	m := twin.NewModel()
	switch name {
	case "kiruna":
		bundle, err := scenes.Load(kiruna.Bundle())
		if err != nil {
			b.Fatal(err)
		}
		if err := bundle.Into(m); err != nil {
			b.Fatal(err)
		}
	case "city100k":
		if err := m.Load(synth.City(100_000, 1, centre)); err != nil {
			b.Fatal(err)
		}
	case "city1M":
		if err := m.Load(synth.City(1_000_000, 1, centre)); err != nil {
			b.Fatal(err)
		}
	}
	benchModels.Store(name, m)
	return m
}

// TilesOver lists up to max tiles of zoom z over bound (lon/lat), spread
// evenly over it.
func TilesOver(bound orb.Bound, z, max int) [][3]int {
	lo := maptile.At(orb.Point{bound.Min[0], bound.Max[1]}, maptile.Zoom(z))
	hi := maptile.At(orb.Point{bound.Max[0], bound.Min[1]}, maptile.Zoom(z))
	var all [][3]int
	for x := lo.X; x <= hi.X; x++ {
		for y := lo.Y; y <= hi.Y; y++ {
			all = append(all, [3]int{z, int(x), int(y)})
		}
	}
	if len(all) <= max {
		return all
	}
	step := float64(len(all)) / float64(max)
	out := make([][3]int, 0, max)
	for i := 0; i < max; i++ {
		out = append(out, all[int(float64(i)*step)])
	}
	return out
}

// BenchmarkColdTile builds tiles with no cache, as a first request does:
// encode and gzip. Each op is one tile from a list spread over the data;
// p50 and p99 are per tile.
//
//	go test ./tiles -run '^$' -bench BenchmarkColdTile -benchtime 2000x
func BenchmarkColdTile(b *testing.B) {
	for _, scene := range []string{"kiruna", "city100k", "city1M"} {
		for z := 12; z <= 16; z++ {
			b.Run(fmt.Sprintf("%s/z%d", scene, z), func(b *testing.B) {
				m := benchModel(b, scene)
				tl := tiles.New(m, tiles.Options{CacheBytes: -1})
				defer tl.Close()
				tl.Warm()
				list := TilesOver(m.Snapshot().Bound(twin.Buildings), z, 4096)
				lat := make([]time.Duration, 0, b.N)
				bytes := 0
				runtime.GC()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					t := list[i%len(list)]
					t0 := time.Now()
					tile, err := tl.Get(t[0], t[1], t[2], true)
					lat = append(lat, time.Since(t0))
					if err != nil {
						b.Fatal(err)
					}
					bytes += len(tile.Data)
				}
				b.StopTimer()
				reportLatency(b, lat)
				b.ReportMetric(float64(bytes)/float64(b.N), "gzB/tile")
			})
		}
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 {
		i := int(math.Min(float64(len(lat)-1), p*float64(len(lat))))
		return float64(lat[i].Nanoseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}

// BenchmarkEncode is the encoder alone (no gzip).
func BenchmarkEncode(b *testing.B) {
	for _, c := range []struct {
		scene string
		z     int
	}{{"kiruna", 13}, {"kiruna", 15}, {"city100k", 14}, {"city100k", 16}} {
		b.Run(fmt.Sprintf("%s/z%d", c.scene, c.z), func(b *testing.B) {
			m, z := benchModel(b, c.scene), c.z
			tl := tiles.New(m, tiles.Options{CacheBytes: -1})
			tl.Warm()
			list := TilesOver(m.Snapshot().Bound(twin.Buildings), z, 4096)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t := list[i%len(list)]
				if _, err := tl.Encode(t[0], t[1], t[2]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPrepare prepares every layer of a scene, as after a load.
func BenchmarkPrepare(b *testing.B) {
	for _, scene := range []string{"kiruna", "city100k"} {
		b.Run(scene, func(b *testing.B) {
			m := benchModel(b, scene)
			for i := 0; i < b.N; i++ {
				tl := tiles.New(m, tiles.Options{CacheBytes: -1})
				tl.Warm()
				tl.Close()
			}
		})
	}
}

// BenchmarkCacheMemory fills the cache with every z14–z16 tile of the
// 100,000-building city and reports the heap it holds per tile: the
// gzipped bytes and the overhead (entry, list element, map slot, ETag).
func BenchmarkCacheMemory(b *testing.B) {
	m := benchModel(b, "city100k")
	for i := 0; i < b.N; i++ {
		tl := tiles.New(m, tiles.Options{CacheBytes: 1 << 30})
		tl.Warm()
		var list [][3]int
		for z := 14; z <= 16; z++ {
			list = append(list, TilesOver(m.Snapshot().Bound(), z, 1<<20)...)
		}
		// Build (and drop) a tile first, so that the encoder and gzip
		// writer in the free lists are not counted.
		if _, err := tl.Get(list[0][0], list[0][1], list[0][2], true); err != nil {
			b.Fatal(err)
		}
		tl.Cache().Clear()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		data := 0
		for _, t := range list {
			tile, err := tl.Get(t[0], t[1], t[2], true)
			if err != nil {
				b.Fatal(err)
			}
			data += len(tile.Data)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		st := tl.Cache().Stats()
		held := float64(after.HeapAlloc) - float64(before.HeapAlloc)
		b.ReportMetric(float64(st.Tiles), "tiles")
		b.ReportMetric(held/float64(st.Tiles), "heapB/tile")
		b.ReportMetric(float64(data)/float64(st.Tiles), "dataB/tile")
		b.ReportMetric((held-float64(data))/float64(st.Tiles), "overheadB/tile")
		runtime.KeepAlive(tl)
	}
}

// BenchmarkGzipLevels compresses a z14 and a z16 tile of the
// 100,000-building city at the levels worth considering, to choose
// Options.GzipLevel: time per tile and the size left.
func BenchmarkGzipLevels(b *testing.B) {
	m := benchModel(b, "city100k")
	tl := tiles.New(m, tiles.Options{CacheBytes: -1})
	for _, z := range []int{14, 16} {
		tt := maptile.At(m.Snapshot().Bound().Center(), maptile.Zoom(z))
		raw, err := tl.Encode(z, int(tt.X), int(tt.Y))
		if err != nil || raw == nil {
			b.Fatal(err)
		}
		for _, level := range []int{gzip.StatelessCompression, gzip.HuffmanOnly, 1, 3, 6} {
			b.Run(fmt.Sprintf("z%d/level%d", z, level), func(b *testing.B) {
				var buf bytes.Buffer
				w, err := gzip.NewWriterLevel(&buf, level)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(len(raw)))
				for i := 0; i < b.N; i++ {
					buf.Reset()
					w.Reset(&buf)
					_, _ = w.Write(raw)
					_ = w.Close()
				}
				b.ReportMetric(100*float64(buf.Len())/float64(len(raw)), "%-of-raw")
			})
		}
		b.Run(fmt.Sprintf("z%d/stdlib-level1", z), func(b *testing.B) {
			var buf bytes.Buffer
			w, _ := stdgzip.NewWriterLevel(&buf, stdgzip.BestSpeed)
			b.SetBytes(int64(len(raw)))
			for i := 0; i < b.N; i++ {
				buf.Reset()
				w.Reset(&buf)
				_, _ = w.Write(raw)
				_ = w.Close()
			}
			b.ReportMetric(100*float64(buf.Len())/float64(len(raw)), "%-of-raw")
		})
	}
}

// BenchmarkDenseTiles1M reports what the per-tile cap keeps of a dense
// city of 1,000,000 buildings at z12 to z14 (the cap's default of 10,000
// features a layer): the tiles over the cap, the buildings they hold of
// those whose boxes meet them, and the share of the footprint area (what a
// zoomed-out view shows) they keep. The city is synth.City's, its
// buildings drawn 4.5 times nearer its centre (footprints as generated,
// overlapping), so that its z14 tiles hold up to about 13,000 buildings:
// synth.City's own spacing puts at most 650 in a z14 tile, which no cap
// touches. One op encodes every tile of the city at those zooms.
//
//	go test ./tiles -run '^$' -bench DenseTiles1M -benchtime 1x
func BenchmarkDenseTiles1M(b *testing.B) {
	fs := synth.City(1_000_000, 1, centre)
	const k = 4.5
	for _, f := range fs {
		p := f.Geometry.(orb.Polygon)
		c := p.Bound().Center()
		d := orb.Point{(c[0]-centre[0])/k + centre[0] - c[0], (c[1]-centre[1])/k + centre[1] - c[1]}
		for _, r := range p {
			for i := range r {
				r[i] = orb.Point{r[i][0] + d[0], r[i][1] + d[1]}
			}
		}
	}
	m := twin.NewModel()
	if err := m.Load(fs); err != nil {
		b.Fatal(err)
	}
	tl := tiles.New(m, tiles.Options{CacheBytes: -1})
	defer tl.Close()
	tl.Warm()
	snap := m.Snapshot()
	area := make(map[string]float64, len(fs))
	for _, f := range fs {
		area[f.ID] = planar.Area(f.Mercator())
	}
	for i := 0; i < b.N; i++ {
		for z := 12; z <= 14; z++ {
			var capped, nonEmpty, metSum, heldSum, worst int
			var keptArea, metArea float64
			worstTile := ""
			for _, c := range TilesOver(snap.Bound(twin.Buildings), z, 1<<20) {
				x, y := c[1], c[2]
				raw, err := tl.Encode(z, x, y)
				if err != nil {
					b.Fatal(err)
				}
				if raw == nil {
					continue
				}
				nonEmpty++
				ls, err := mvt.Unmarshal(raw)
				if err != nil {
					b.Fatal(err)
				}
				var held []string
				for _, l := range ls {
					if l.Name == string(twin.Buildings) {
						for _, f := range l.Features {
							held = append(held, f.Properties["id"].(string))
						}
					}
				}
				if len(held) < 9_000 { // far from the cap
					continue
				}
				tb := tiles.MercatorBound(z, x, y, 0)
				met, ma := 0, 0.0
				snap.Search(twin.Buildings, maptile.New(uint32(x), uint32(y), maptile.Zoom(z)).Bound(), func(f *twin.Feature) bool {
					if f.Mercator().Bound().Intersects(tb) {
						met++
						ma += area[f.ID]
					}
					return true
				})
				if met <= 10_000 {
					continue
				}
				capped++
				ka := 0.0
				for _, id := range held {
					ka += area[id]
				}
				metSum += met
				heldSum += len(held)
				keptArea += ka
				metArea += ma
				if met-len(held) > worst {
					worst, worstTile = met-len(held), fmt.Sprintf("%d/%d/%d: %d of %d, %.1f %% of the area", z, x, y, len(held), met, 100*ka/ma)
				}
			}
			if capped == 0 {
				b.Logf("z%d: %d non-empty tiles, none over the cap", z, nonEmpty)
				continue
			}
			b.Logf("z%d: %d non-empty tiles, %d over the cap: they hold %d of the %d buildings meeting them (%.1f %%) and %.1f %% of their area; most left out: %s",
				z, nonEmpty, capped, heldSum, metSum, 100*float64(heldSum)/float64(metSum), 100*keptArea/metArea, worstTile)
		}
	}
}
