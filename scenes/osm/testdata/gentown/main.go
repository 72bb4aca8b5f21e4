// Command gentown writes smalltown.osm, a made-up OpenStreetMap extract of
// a small town (about 3,000 buildings, streets, a railway, a lake with an
// island, ponds, a river and streams, land use, place names) with the
// tags and the messy values real extracts have. It is not OpenStreetMap
// data. The committed PBF is made from it with osmium-tool:
//
//	go run ./scenes/osm/testdata/gentown > /tmp/smalltown.osm
//	osmium cat /tmp/smalltown.osm -o scenes/osm/testdata/smalltown.osm.pbf -O
package main

import (
	"bufio"
	"fmt"
	"html"
	"math"
	"math/rand/v2"
	"os"
)

const (
	lon0, lat0 = 15.02, 61.31 // a made-up place
	mLat       = 111_320.0
)

var mLon = mLat * math.Cos(lat0*math.Pi/180)

type gen struct {
	w        *bufio.Writer
	r        *rand.Rand
	nextNode int64
	nextWay  int64
	nextRel  int64
	nodes    []string
	ways     []string
	rels     []string
}

type tag struct{ k, v string }

func (g *gen) node(x, y float64, tags ...tag) int64 {
	g.nextNode++
	lon, lat := lon0+x/mLon, lat0+y/mLat
	s := fmt.Sprintf(`  <node id="%d" version="1" lat="%.7f" lon="%.7f"`, g.nextNode, lat, lon)
	if len(tags) == 0 {
		g.nodes = append(g.nodes, s+"/>")
		return g.nextNode
	}
	s += ">\n" + tagXML(tags) + "  </node>"
	g.nodes = append(g.nodes, s)
	return g.nextNode
}

func tagXML(tags []tag) string {
	s := ""
	for _, t := range tags {
		s += fmt.Sprintf("    <tag k=\"%s\" v=\"%s\"/>\n", html.EscapeString(t.k), html.EscapeString(t.v))
	}
	return s
}

func (g *gen) way(refs []int64, tags ...tag) int64 {
	g.nextWay++
	s := fmt.Sprintf("  <way id=\"%d\" version=\"1\">\n", g.nextWay)
	for _, r := range refs {
		s += fmt.Sprintf("    <nd ref=\"%d\"/>\n", r)
	}
	g.ways = append(g.ways, s+tagXML(tags)+"  </way>")
	return g.nextWay
}

// ring makes the nodes of a closed ring (the first node repeated last).
func (g *gen) ring(pts [][2]float64) []int64 {
	refs := make([]int64, 0, len(pts)+1)
	for _, p := range pts {
		refs = append(refs, g.node(p[0], p[1]))
	}
	return append(refs, refs[0])
}

func (g *gen) rel(members []string, tags ...tag) {
	g.nextRel++
	s := fmt.Sprintf("  <relation id=\"%d\" version=\"1\">\n", g.nextRel)
	for _, m := range members {
		s += m
	}
	g.rels = append(g.rels, s+tagXML(tags)+"  </relation>")
}

func member(role string, way int64) string {
	return fmt.Sprintf("    <member type=\"way\" ref=\"%d\" role=\"%s\"/>\n", way, role)
}

func rect(cx, cy, w, d, a float64) [][2]float64 {
	s, c := math.Sincos(a)
	var out [][2]float64
	for _, v := range [][2]float64{{-w / 2, -d / 2}, {w / 2, -d / 2}, {w / 2, d / 2}, {-w / 2, d / 2}} {
		out = append(out, [2]float64{cx + v[0]*c - v[1]*s, cy + v[0]*s + v[1]*c})
	}
	return out
}

func blob(cx, cy, r float64, n int, rr *rand.Rand) [][2]float64 {
	var out [][2]float64
	ph := rr.Float64() * 6
	for i := 0; i < n; i++ {
		t := 2 * math.Pi * float64(i) / float64(n)
		k := r * (1 + 0.15*math.Sin(3*t+ph))
		out = append(out, [2]float64{cx + k*math.Cos(t), cy + k*math.Sin(t)})
	}
	return out
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func main() {
	g := &gen{w: bufio.NewWriter(os.Stdout), r: rand.New(rand.NewPCG(61, 15))}
	r := g.r
	// The town: 12 × 10 blocks of 150 × 110 m between streets.
	const bx, by, nx, ny = 150.0, 110.0, 12, 10
	x0, y0 := -bx*nx/2, -by*ny/2
	streetNames := []string{"Storgatan", "Kyrkogatan", "Skolgatan", "Järnvägsgatan", "Parkgatan", "Tallvägen", "Björkvägen", "Sjövägen",
		"Norra vägen", "Södra vägen", "Industrigatan", "Torggatan", "Ängsvägen", "Bäckvägen"}
	for j := 0; j <= ny; j++ {
		y := y0 + float64(j)*by
		var refs []int64
		for i := 0; i <= nx; i++ {
			refs = append(refs, g.node(x0+float64(i)*bx, y))
		}
		tags := []tag{{"highway", pick(r, "residential", "residential", "tertiary")}, {"name", streetNames[j%len(streetNames)]}}
		if j == ny/2 {
			tags = []tag{{"highway", "primary"}, {"name", "Storgatan"}, {"ref", "83"}, {"maxspeed", "50"}}
		}
		g.way(refs, tags...)
	}
	for i := 0; i <= nx; i++ {
		x := x0 + float64(i)*bx
		var refs []int64
		for j := 0; j <= ny; j++ {
			refs = append(refs, g.node(x, y0+float64(j)*by))
		}
		tags := []tag{{"highway", pick(r, "residential", "service", "unclassified")}}
		if i%3 == 0 {
			tags = append(tags, tag{"name", streetNames[(i+5)%len(streetNames)]})
		}
		g.way(refs, tags...)
	}
	// Bridges and a cycleway with the heights real data carries.
	for k, h := range []string{"3.2", "4.5 m", "3;4", "low"} {
		a, b := g.node(x0-200, y0+float64(k)*150), g.node(x0-60, y0+float64(k)*150+20)
		g.way([]int64{a, b}, tag{"highway", pick(r, "cycleway", "footway", "service")}, tag{"bridge", "yes"}, tag{"height", h}, tag{"layer", "1"})
	}
	// A railway along the south of the town, and its yard.
	var rail []int64
	for x := -1400.0; x <= 1400; x += 100 {
		rail = append(rail, g.node(x, y0-180+20*math.Sin(x/400)))
	}
	g.way(rail, tag{"railway", "rail"}, tag{"usage", "main"}, tag{"electrified", "contact_line"}, tag{"name", "Stambanan"})
	g.way(g.ring(rect(-300, y0-180, 600, 60, 0)), tag{"landuse", "railway"})

	// Buildings in every block, along its four sides.
	levels := []string{"1", "2", "2", "3", "4", "2", "1.5", "2;3", "two", " 3", "5"}
	heights := []string{"12", "9.5", "12 m", "3.2", "40 ft", "21'", "8,5", "tall", "~10", "15"}
	roofs := []string{"gabled", "gabled", "flat", "hipped", "pitched", "skillion"}
	kinds := []string{"house", "house", "house", "detached", "apartments", "residential", "yes", "yes", "garage", "shed", "commercial", "retail"}
	dates := []string{"1963", "1920", "1960s", "~1935", "2001-05", "C19", "1978-06-12", "before 1900", "1995"}
	n := 0
	for j := 0; j < ny; j++ {
		for i := 0; i < nx; i++ {
			cx, cy := x0+(float64(i)+0.5)*bx, y0+(float64(j)+0.5)*by
			if (i == 2 && j == 7) || (i == 9 && j == 2) {
				// parks instead of houses
				g.way(g.ring(rect(cx, cy, bx-24, by-24, 0)), tag{"leisure", "park"}, tag{"name", fmt.Sprintf("Parken %d", i)})
				continue
			}
			industrial := i >= 10 && j <= 2
			if industrial {
				g.way(g.ring(rect(cx, cy, bx-16, by-16, 0)), tag{"landuse", "industrial"})
			} else if j%3 == 0 && i%4 == 1 {
				g.way(g.ring(rect(cx, cy, bx-16, by-16, 0)), tag{"landuse", "commercial"})
			}
			for side := 0; side < 2; side++ {
				for k := 0; k < 6; k++ {
					w, d := 10+r.Float64()*6, 8+r.Float64()*4
					if industrial {
						w, d = 20, 16
						if k%2 == 1 {
							continue
						}
					}
					x := cx - bx/2 + 14 + float64(k)*22 + w/2
					y := cy - by/2 + 12 + d/2
					if side == 1 {
						y = cy + by/2 - 12 - d/2
					}
					tags := []tag{{"building", pick(r, kinds...)}}
					if industrial {
						tags[0].v = pick(r, "industrial", "warehouse")
					}
					switch q := r.IntN(10); {
					case q < 4:
						tags = append(tags, tag{"building:levels", pick(r, levels...)})
					case q < 6:
						tags = append(tags, tag{"height", pick(r, heights...)})
					case q < 7:
						tags = append(tags, tag{"building:levels", pick(r, levels...)}, tag{"roof:levels", pick(r, "1", "0", "x")})
					}
					if r.IntN(3) == 0 {
						tags = append(tags, tag{"roof:shape", pick(r, roofs...)})
					}
					if r.IntN(4) == 0 {
						tags = append(tags, tag{"start_date", pick(r, dates...)})
					}
					if r.IntN(5) == 0 {
						tags = append(tags, tag{"addr:street", streetNames[j%len(streetNames)]}, tag{"addr:housenumber", fmt.Sprint(k + 1 + 10*side)})
					}
					g.way(g.ring(rect(x, y, w, d, (r.Float64()-0.5)*0.05)), tags...)
					n++
				}
				// back-yard sheds and garages in the middle of the block
				for k := 0; k < 6 && !industrial; k++ {
					x := cx - bx/2 + 20 + float64(k)*21
					y := cy - 9 + float64(side)*18
					g.way(g.ring(rect(x, y, 6, 5, 0)), tag{"building", pick(r, "shed", "garage", "garages", "yes")})
					n++
				}
			}
		}
	}
	// Courtyard buildings (multipolygons with a hole) and buildings with parts.
	for k := 0; k < 20; k++ {
		cx, cy := x0-700+float64(k%5)*110, y0+200+float64(k/5)*110
		outer := g.way(g.ring(rect(cx, cy, 70, 60, 0)))
		inner := g.way(g.ring(rect(cx, cy, 30, 24, 0)))
		g.rel([]string{member("outer", outer), member("inner", inner)},
			tag{"type", "multipolygon"}, tag{"building", "apartments"}, tag{"building:levels", pick(r, "4", "5", "6")}, tag{"name", fmt.Sprintf("Kvarteret %d", k+1)})
		n++
	}
	for k := 0; k < 15; k++ {
		cx, cy := x0-700+float64(k%5)*110, y0+700+float64(k/5)*90
		g.way(g.ring(rect(cx, cy, 40, 30, 0)), tag{"building", pick(r, "church", "school", "civic")}, tag{"height", "18"}, tag{"name", fmt.Sprintf("Huset %d", k+1)})
		n++
		g.way(g.ring(rect(cx-10, cy, 20, 30, 0)), tag{"building:part", "yes"}, tag{"height", "18"}, tag{"roof:shape", "gabled"}, tag{"roof:height", "6"})
		g.way(g.ring(rect(cx+10, cy, 20, 30, 0)), tag{"building:part", "yes"}, tag{"min_height", pick(r, "4", "4 m", "x")}, tag{"height", "12"}, tag{"roof:shape", "flat"})
	}
	// Water: a lake with an island, ponds, a reservoir, a river and streams.
	lakeOuter := g.way(g.ring(blob(1700, 900, 600, 48, r)))
	island := g.way(g.ring(blob(1750, 950, 120, 16, r)))
	g.rel([]string{member("outer", lakeOuter), member("inner", island)},
		tag{"type", "multipolygon"}, tag{"natural", "water"}, tag{"water", "lake"}, tag{"name", "Storsjön"}, tag{"ele", "312"})
	for k := 0; k < 12; k++ {
		g.way(g.ring(blob(-1500+float64(k)*260, 1200+60*math.Sin(float64(k)), 30+r.Float64()*30, 12, r)),
			tag{"natural", "water"}, tag{"water", "pond"})
	}
	g.way(g.ring(blob(-1800, -900, 150, 20, r)), tag{"landuse", "reservoir"}, tag{"name", "Vattenverket"})
	for part := 0; part < 3; part++ {
		var refs []int64
		for k := 0; k <= 10; k++ {
			x := -2000 + float64(part*10+k)*130
			refs = append(refs, g.node(x, 700+120*math.Sin(x/500)))
		}
		if part > 0 {
			refs = append([]int64{g.nextNode - 11 - 0}, refs[1:]...)
		}
		g.way(refs, tag{"waterway", "river"}, tag{"name", "Älven"})
	}
	for k := 0; k < 10; k++ {
		var refs []int64
		for s := 0; s < 6; s++ {
			refs = append(refs, g.node(-1900+float64(k)*380+float64(s)*15, 1500-float64(s)*130))
		}
		g.way(refs, tag{"waterway", pick(r, "stream", "stream", "ditch", "drain")})
	}
	// Land use round the town.
	for k := 0; k < 14; k++ {
		a := 2 * math.Pi * float64(k) / 14
		cx, cy := 2600*math.Cos(a), 2100*math.Sin(a)
		tags := pick(r,
			[]tag{{"landuse", "forest"}}, []tag{{"natural", "wood"}, {"leaf_type", "broadleaved"}}, []tag{{"landuse", "farmland"}},
			[]tag{{"landuse", "meadow"}}, []tag{{"natural", "scrub"}}, []tag{{"landuse", "grass"}})
		g.way(g.ring(blob(cx, cy, 300+r.Float64()*200, 24, r)), tags...)
	}
	for k := 0; k < 6; k++ {
		cx, cy := -2600+float64(k)*900, -1700.0
		g.way(g.ring(blob(cx, cy, 200, 20, r)), tag{"natural", "wetland"}, tag{"wetland", pick(r, "bog", "marsh", "fen")})
	}
	bogOuter := g.way(g.ring(blob(2600, -1500, 400, 30, r)))
	bogHole := g.way(g.ring(blob(2600, -1500, 100, 12, r)))
	g.rel([]string{member("outer", bogOuter), member("inner", bogHole)}, tag{"type", "multipolygon"}, tag{"natural", "wetland"}, tag{"name", "Stormyren"})
	g.way(g.ring(blob(-2400, 300, 250, 20, r)), tag{"landuse", "quarry"}, tag{"name", "Grustaget"})
	g.way(g.ring(rect(-1100, -400, 200, 150, 0)), tag{"landuse", "cemetery"})
	for k := 0; k < 6; k++ {
		g.way(g.ring(rect(-1000+float64(k)*120, 1000, 90, 60, 0)), tag{"leisure", "pitch"}, tag{"sport", "soccer"})
	}
	for k := 0; k < 4; k++ {
		g.way(g.ring(rect(x0+float64(k)*bx*3, y0+by*ny+80, bx*2.5, 120, 0)), tag{"landuse", "residential"})
	}
	// Place names and peaks.
	g.node(0, 0, tag{"place", "town"}, tag{"name", "Exempelby"}, tag{"population", "4200"})
	for k, name := range []string{"Norr", "Söder", "Öster", "Väster"} {
		a := math.Pi / 2 * float64(k)
		g.node(700*math.Cos(a), 600*math.Sin(a), tag{"place", "suburb"}, tag{"name", name})
	}
	for k := 0; k < 6; k++ {
		g.node(-900+float64(k)*350, -300, tag{"place", "neighbourhood"}, tag{"name", fmt.Sprintf("Området %d", k+1)})
	}
	g.node(2900, 2300, tag{"natural", "peak"}, tag{"name", "Höjden"}, tag{"ele", "450 m"})
	g.node(-2900, 2300, tag{"natural", "peak"}, tag{"name", "Berget"}, tag{"ele", "402"})

	fmt.Fprintln(g.w, `<?xml version="1.0" encoding="UTF-8"?>`)
	fmt.Fprintln(g.w, `<osm version="0.6" generator="kiruna-twin gentown (made-up data)">`)
	for _, s := range g.nodes {
		fmt.Fprintln(g.w, s)
	}
	for _, s := range g.ways {
		fmt.Fprintln(g.w, s)
	}
	for _, s := range g.rels {
		fmt.Fprintln(g.w, s)
	}
	fmt.Fprintln(g.w, `</osm>`)
	g.w.Flush()
	fmt.Fprintf(os.Stderr, "%d buildings, %d nodes, %d ways, %d relations\n", n, g.nextNode, g.nextWay, g.nextRel)
}
