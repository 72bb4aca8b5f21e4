package kiruna

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"
)

// How ordinary buildings are generated, district by district, from the
// character that facts/districts.csv gives each one.
type districtPlan struct {
	count          int
	cell           float64    // grid spacing, metres
	angle          float64    // street grid, degrees counter-clockwise from east
	width, depth   [2]float64 // footprint ranges, metres
	storeys        [2]int
	kinds          []string
	built          [2]int  // years of the district's first life
	renewal        float64 // share of buildings that are new (both-era districts)
	renewalYears   [2]int
	perimeter      bool // perimeter blocks (the new centre)
	clearedFrom    int  // all old buildings gone between clearedFrom and clearedTo
	clearedTo      int
	blockNames     []string
	sv, en         string // the district's name in Swedish and English
	notchShare     float64
	vacateAheadMax float64 // years a building may be emptied and razed before the front reaches it
}

var plans = map[string]districtPlan{
	"bolagsomradet": {sv: "Bolagsområdet", en: "Bolagsområdet", count: 430, cell: 30, angle: 8, width: [2]float64{9, 16}, depth: [2]float64{8, 12}, storeys: [2]int{2, 2},
		kinds: []string{"villa", "villa", "blackhorn_house", "house"}, built: [2]int{1900, 1935},
		clearedFrom: 2015, clearedTo: 2020, blockNames: []string{"Bolaget", "Ingenjören", "Rallaren", "Hyttan"}, notchShare: 0.2},
	"ullspiran": {sv: "Ön och Ullspiran", en: "Ön and Ullspiran", count: 250, cell: 31, angle: 12, width: [2]float64{11, 24}, depth: [2]float64{10, 13}, storeys: [2]int{2, 4},
		kinds: []string{"apartments", "apartments", "house"}, built: [2]int{1950, 1972},
		blockNames: []string{"Ullspiran", "Lingonet", "Mossen", "Stranden"}, notchShare: 0.15, vacateAheadMax: 2},
	"centrum_old": {sv: "Gamla centrum", en: "the old centre", count: 330, cell: 30, angle: 18, width: [2]float64{14, 28}, depth: [2]float64{11, 15}, storeys: [2]int{3, 5},
		kinds: []string{"apartments", "apartments", "shop", "office", "apartments"}, built: [2]int{1955, 1978},
		blockNames: []string{"Malmen", "Ortdrivaren", "Bergsprängaren", "Järnet", "Norrskenet", "Fjällrosen", "Ripan", "Gruvan"},
		notchShare: 0.25, vacateAheadMax: 1.5},
	"norrmalm": {sv: "Norrmalm", en: "Norrmalm", count: 510, cell: 31, angle: 4, width: [2]float64{10, 22}, depth: [2]float64{9, 13}, storeys: [2]int{2, 4},
		kinds: []string{"apartments", "house", "house", "shop"}, built: [2]int{1930, 1972},
		blockNames: []string{"Norrmalm", "Renen", "Hjorten", "Tjädern"}, notchShare: 0.2, vacateAheadMax: 1.5},
	"luossavaara_foot": {sv: "Luossavaaras fot", en: "the foot of Luossavaara", count: 260, cell: 34, angle: -6, width: [2]float64{11, 22}, depth: [2]float64{9, 13}, storeys: [2]int{2, 4},
		kinds: []string{"apartments", "house", "house"}, built: [2]int{2012, 2032},
		blockNames: []string{"Luossa", "Fjällbjörken", "Jängan"}, notchShare: 0.2},
	"lombolo": {sv: "Lombolo", en: "Lombolo", count: 640, cell: 32, angle: -10, width: [2]float64{10, 24}, depth: [2]float64{9, 14}, storeys: [2]int{1, 4},
		kinds: []string{"apartments", "house", "service", "house", "school"}, built: [2]int{1958, 1990},
		renewal: 0.22, renewalYears: [2]int{2014, 2034}, blockNames: []string{"Lombolo", "Myran", "Tallen", "Bäcken"}, notchShare: 0.2},
	"centrum_new": {sv: "Nya centrum", en: "the new centre", count: 380, cell: 25, angle: -12, width: [2]float64{21, 28}, depth: [2]float64{12, 15}, storeys: [2]int{4, 6},
		kinds: []string{"apartments", "apartments", "shop", "office", "apartments"}, built: [2]int{2016, 2035}, perimeter: true,
		blockNames: []string{"Magnetiten", "Hematiten", "Apatiten", "Porfyren", "Sliget", "Pelletsen", "Malmfältet", "Rallarrosen", "Ripan"}},
	"tuolluvaara": {sv: "Tuolluvaara", en: "Tuolluvaara", count: 620, cell: 32, angle: 6, width: [2]float64{9, 20}, depth: [2]float64{8, 12}, storeys: [2]int{1, 3},
		kinds: []string{"house", "house", "apartments", "service"}, built: [2]int{1948, 1985},
		renewal: 0.18, renewalYears: [2]int{2015, 2035}, blockNames: []string{"Tuolluvaara", "Gruvbyn", "Eken", "Lärken"}, notchShare: 0.2},
	"lkab_industry": {sv: "LKAB:s industriområde", en: "LKAB's industrial area", count: 90, cell: 70, angle: 20, width: [2]float64{30, 60}, depth: [2]float64{18, 40}, storeys: [2]int{3, 9},
		kinds: []string{"industrial", "industrial", "warehouse"}, built: [2]int{1900, 2000}, blockNames: []string{"LKAB"}},
}

// districtOrder: earlier districts claim contested ground first.
var districtOrder = []string{"centrum_new", "luossavaara_foot", "bolagsomradet", "ullspiran", "centrum_old", "norrmalm", "lombolo", "tuolluvaara", "lkab_industry"}

// occupancy remembers the ground taken, in local metres, so that no two
// buildings overlap and no street runs through a building.
type occupancy struct{ tr rtree.RTreeG[[]xy] }

func metres(p orb.Point) [2]float64 {
	return [2]float64{(p[0] - frameOrigin[0]) * metresPerDegLon, (p[1] - frameOrigin[1]) * metresPerDegLat}
}

func (o *occupancy) box(g orb.Geometry, margin float64) ([2]float64, [2]float64) {
	b := g.Bound()
	mn, mx := metres(b.Min), metres(b.Max)
	return [2]float64{mn[0] - margin, mn[1] - margin}, [2]float64{mx[0] + margin, mx[1] + margin}
}

// free reports whether g keeps margin metres from every footprint taken.
func (o *occupancy) free(g orb.Geometry, margin float64) bool {
	mn, mx := o.box(g, margin)
	p, ok := g.(orb.Polygon)
	if !ok {
		p = boundPolygon(g.Bound())
	}
	r := ringXY(p[0])
	free := true
	o.tr.Search(mn, mx, func(_, _ [2]float64, q []xy) bool {
		free = ringsApart(r, q, margin)
		return free
	})
	return free
}

// ringsApart reports whether two closed rings keep margin metres apart
// (neither inside the other).
func ringsApart(r, q []xy, margin float64) bool {
	if inRing(r[0], q) || inRing(q[0], r) {
		return false
	}
	for i := 1; i < len(r); i++ {
		for k := 1; k < len(q); k++ {
			if segDist(r[i-1], r[i], q[k-1], q[k]) < margin {
				return false
			}
		}
	}
	return true
}

func (o *occupancy) take(g orb.Geometry) {
	mn, mx := o.box(g, 0)
	var ring []xy
	switch g := g.(type) {
	case orb.Polygon:
		ring = ringXY(g[0])
	default:
		ring = ringXY(boundPolygon(g.Bound())[0])
	}
	o.tr.Insert(mn, mx, ring)
}

// near returns the footprints within half metres of the segment ab.
func (o *occupancy) near(a, b xy, half float64) [][]xy {
	mn := xy{math.Min(a[0], b[0]) - half, math.Min(a[1], b[1]) - half}
	mx := xy{math.Max(a[0], b[0]) + half, math.Max(a[1], b[1]) + half}
	var out [][]xy
	o.tr.Search(mn, mx, func(_, _ [2]float64, r []xy) bool { out = append(out, r); return true })
	return out
}

// slot is a lot for one building: where its front meets the street, the
// way into the lot, the turn, and the largest footprint that fits.
type slot struct {
	front    xy // the middle of the building's front, metres
	in       xy // unit vector from the street into the lot
	angle    float64
	maxW     float64
	maxD     float64
	blockIdx int
	street   int // index into layout.streets of the street it faces
	k0, k1   int // the street's pieces (intervals of pts) in front of it
}

// street is a piece of a district's street network: a block's side or a
// cross street between two blocks, in metres.
type street struct {
	pts    []xy
	ok     []bool // each piece (pts[k] to pts[k+1]) can be laid
	used   []bool // a building stands along the piece
	half   float64
	cross  bool
	beside []int // cross streets: the block sides it joins
	name   string
	// the lives of the buildings along it
	n           int
	first, last time.Time
	open        bool
}

func (s *street) serve(f *twin.Feature) {
	if s.n == 0 || f.Life.From.Before(s.first) {
		s.first = f.Life.From
	}
	if f.Life.To.IsZero() {
		s.open = true
	} else if f.Life.To.After(s.last) {
		s.last = f.Life.To
	}
	s.n++
}

// layout is a district's streets and the lots along them.
type layout struct {
	slots   []slot
	streets []*street
}

// Street widths and winding by district, metres: the old centre's streets
// wind to break the cold winds (Hallman's plan of 1900, facts/landscape.csv
// row gator); the others follow the slope a little.
var streetPlans = map[string]struct {
	width, wind float64
	lots        int
}{
	"centrum_old":      {14, 16, 5},
	"bolagsomradet":    {10, 6, 6},
	"ullspiran":        {12, 4, 5},
	"norrmalm":         {12, 8, 5},
	"luossavaara_foot": {11, 10, 5},
	"lombolo":          {12, 3, 5},
	"tuolluvaara":      {11, 3, 6},
	"lkab_industry":    {16, 0, 3},
}

// sampleLine samples x from x0 to x1 every 10 m along a street of the
// district frame (origin c, axis ux, normal uy), y = y0 + wind(x).
func sampleLine(c, ux, uy xy, x0, x1, y0 float64, wind func(x float64) float64) []xy {
	var pts []xy
	n := int(math.Max(1, math.Ceil((x1-x0)/10)))
	for k := 0; k <= n; k++ {
		x := x0 + (x1-x0)*float64(k)/float64(n)
		pts = append(pts, add(c, add(scale(ux, x), scale(uy, y0+wind(x)))))
	}
	return pts
}

func gridSlots(id string, d district, p districtPlan, r *rand.Rand) layout {
	c := toXY(d.Bound.Center())
	b := d.Bound
	wM := (b.Max[0] - b.Min[0]) * metresPerDegLon
	hM := (b.Max[1] - b.Min[1]) * metresPerDegLat
	half := math.Hypot(wM, hM) / 2
	sin, cos := math.Sincos(p.angle * math.Pi / 180)
	ux, uy := xy{cos, sin}, xy{-sin, cos}
	phase := r.Float64() * 2 * math.Pi
	inside := func(q xy) bool { ll := toLL(q); return b.Contains(ll) && inOutline(ll, b, phase) }
	var out layout
	sp := streetPlans[id]
	if sp.width == 0 {
		sp.width, sp.lots = 12, 5
	}
	hw := sp.width / 2
	const setback = 4.0
	// Long streets every two lots' depth; cross streets every few lots.
	py := 2*p.cell + sp.width
	px := float64(sp.lots)*p.cell + sp.width
	nx, ny := int(half/px)+1, int(half/py)+1
	wind := func(j int) func(x float64) float64 {
		return func(x float64) float64 { return sp.wind * math.Sin(x/140+float64(j)*1.7) }
	}
	slope := func(j int, x float64) float64 { return sp.wind / 140 * math.Cos(x/140+float64(j)*1.7) }
	side := map[[2]int]int{} // (i, j) → index of the block side street
	for j := -ny; j <= ny; j++ {
		for i := -nx; i < nx; i++ {
			x0, x1 := float64(i)*px+hw, float64(i+1)*px-hw
			pts := sampleLine(c, ux, uy, x0, x1, float64(j)*py, wind(j))
			in := 0
			for _, q := range pts {
				if inside(q) {
					in++
				}
			}
			if in < len(pts)/2 {
				continue
			}
			st := &street{pts: pts, half: hw, name: d.Name}
			out.streets = append(out.streets, st)
			si := len(out.streets) - 1
			side[[2]int{i, j}] = si
			for s := -1.0; s <= 1; s += 2 {
				for k := 0; k < sp.lots; k++ {
					x := x0 + (float64(k)+0.5)*p.cell - hw*float64(k)/float64(sp.lots)
					y := float64(j)*py + wind(j)(x)
					t := math.Atan(slope(j, x))
					dir := xy{math.Cos(t)*ux[0] + math.Sin(t)*uy[0], math.Cos(t)*ux[1] + math.Sin(t)*uy[1]}
					nrm := scale(xy{-dir[1], dir[0]}, s)
					front := add(add(c, add(scale(ux, x), scale(uy, y))), scale(nrm, hw+setback))
					if !inside(add(front, scale(nrm, p.cell/2))) {
						continue
					}
					piece := func(x float64) int {
						k := int((x - x0) / (x1 - x0) * float64(len(pts)-1))
						return max(0, min(len(pts)-2, k))
					}
					out.slots = append(out.slots, slot{front: front, in: nrm, angle: p.angle + t*180/math.Pi + (r.Float64()-0.5)*3,
						maxW: p.cell - 5, maxD: p.cell - setback - 2, street: si, k0: piece(x - p.cell/2), k1: piece(x+p.cell/2) + 1})
				}
			}
		}
	}
	// Cross streets between the sides of neighbouring blocks.
	for j := -ny; j < ny; j++ {
		for i := -nx + 1; i < nx; i++ {
			var beside []int
			for _, k := range [][2]int{{i - 1, j}, {i, j}, {i - 1, j + 1}, {i, j + 1}} {
				if si, ok := side[k]; ok {
					beside = append(beside, si)
				}
			}
			if len(beside) < 2 {
				continue
			}
			x := float64(i) * px
			a := add(c, add(scale(ux, x), scale(uy, float64(j)*py+wind(j)(x))))
			e := add(c, add(scale(ux, x), scale(uy, float64(j+1)*py+wind(j+1)(x))))
			out.streets = append(out.streets, &street{pts: []xy{a, e}, half: hw, cross: true, beside: beside, name: d.Name})
		}
	}
	r.Shuffle(len(out.slots), func(i, j int) { out.slots[i], out.slots[j] = out.slots[j], out.slots[i] })
	return out
}

// perimeterSlots lays out the new centre: perimeter blocks of 100 × 75 m
// round courtyards, 18 m streets; the east–west streets run through and
// the north–south ones are offset by half a block at each east–west
// street, the grid shifted against the wind (facts/landscape.csv rows
// nya-centrum-gator and nya-centrum-kvarter). Kristallen's block is the
// square.
type centreGrid struct {
	c      xy
	ux, uy xy
	blocks []centreBlock
	ew     map[int][]xy // east–west street k: its two ends
}

type centreBlock struct {
	k, i   int
	ring   []xy
	square bool
}

const (
	blockW, blockD, streetW = 100.0, 75.0, 18.0
)

func newCentreGrid(d district, centre orb.Point, angle float64) *centreGrid {
	sin, cos := math.Sincos(angle * math.Pi / 180)
	g := &centreGrid{c: toXY(centre), ux: xy{cos, sin}, uy: xy{-sin, cos}, ew: map[int][]xy{}}
	px, py := blockW+streetW, blockD+streetW
	pt := func(x, y float64) xy { return add(g.c, add(scale(g.ux, x), scale(g.uy, y))) }
	for k := -6; k <= 6; k++ {
		shift := 0.0
		if k%2 != 0 {
			shift = px / 2
		}
		for i := -5; i <= 5; i++ {
			x0, x1 := (float64(i)-0.5)*px+shift+streetW/2, (float64(i)+0.5)*px+shift-streetW/2
			y0, y1 := (float64(k)-0.5)*py+streetW/2, (float64(k)+0.5)*py-streetW/2
			ring := []xy{pt(x0, y0), pt(x1, y0), pt(x1, y1), pt(x0, y1)}
			in := true
			for _, q := range ring {
				in = in && d.Bound.Contains(toLL(q))
			}
			if !in {
				continue
			}
			g.blocks = append(g.blocks, centreBlock{k: k, i: i, ring: ring, square: k == 0 && i == 0})
		}
	}
	// The east–west streets: each runs the length of the blocks beside it.
	span := map[int][2]float64{}
	for _, bl := range g.blocks {
		x0 := dot(sub(bl.ring[0], g.c), g.ux) - streetW/2
		x1 := dot(sub(bl.ring[1], g.c), g.ux) + streetW/2
		for _, k := range []int{bl.k - 1, bl.k} { // the street south and north of it
			s, ok := span[k]
			if !ok {
				s = [2]float64{x0, x1}
			}
			span[k] = [2]float64{math.Min(s[0], x0), math.Max(s[1], x1)}
		}
	}
	for k, s := range span {
		y := (float64(k) + 0.5) * py
		g.ew[k] = []xy{pt(s[0], y), pt(s[1], y)}
	}
	return g
}

// slots are the lots round every block but the square: four along each
// long side, two on each short side, facing the streets.
func (g *centreGrid) slots(r *rand.Rand, angle float64) layout {
	var out layout
	for bi, bl := range g.blocks {
		if bl.square {
			continue
		}
		c := scale(add(bl.ring[0], bl.ring[2]), 0.5)
		add1 := func(front, in xy, ang float64) {
			front = add(front, scale(in, 2)) // the pavement
			out.slots = append(out.slots, slot{front: front, in: in, angle: angle + ang, maxW: 23, maxD: 14, blockIdx: bi, street: -1})
		}
		w := dist(bl.ring[0], bl.ring[1])
		dd := dist(bl.ring[1], bl.ring[2])
		for i := 0; i < 4; i++ {
			x := -w/2 + 2 + 12.5 + float64(i)*(w-4-25)/3
			add1(add(c, add(scale(g.ux, x), scale(g.uy, -dd/2))), g.uy, 0)
			add1(add(c, add(scale(g.ux, x), scale(g.uy, dd/2))), scale(g.uy, -1), 0)
		}
		add1(add(c, scale(g.ux, -w/2)), g.ux, 90)
		add1(add(c, scale(g.ux, w/2)), scale(g.ux, -1), 90)
	}
	r.Shuffle(len(out.slots), func(i, j int) { out.slots[i], out.slots[j] = out.slots[j], out.slots[i] })
	return out
}

// generatedBuildings makes the ordinary buildings of every district along
// their streets, and the streets they stand on (infrastructure). Streets
// keep off the buildings placed before; buildings keep off every street,
// road and rail line in g and off the water.
func generatedBuildings(districts []district, occ *occupancy, g *ground, grid *centreGrid) ([]*twin.Feature, []*twin.Feature, error) {
	byID := map[string]district{}
	for _, d := range districts {
		byID[d.ID] = d
	}
	var out, streets []*twin.Feature
	for di, id := range districtOrder {
		d, ok := byID[id]
		if !ok {
			return nil, nil, fmt.Errorf("facts/districts.csv has no district %q", id)
		}
		p := plans[id]
		r := rand.New(rand.NewPCG(uint64(di+1), 0x4b6972756e61))
		var lay layout
		if p.perimeter {
			lay = grid.slots(r, p.angle)
		} else {
			lay = gridSlots(id, d, p, r)
		}
		// A piece of street that would run through a building already
		// placed, or into the water, is not laid; nor is a lot in front of it.
		for _, st := range lay.streets {
			st.ok = make([]bool, len(st.pts)-1)
			st.used = make([]bool, len(st.pts)-1)
			for k := 1; k < len(st.pts); k++ {
				a, b := st.pts[k-1], st.pts[k]
				mid := toLL(scale(add(a, b), 0.5))
				st.ok[k-1] = lineClear(a, b, st.half+1, occ.near(a, b, st.half+1)) && g.clear(rect(mid, 1, 1, 0), st.half-0.5)
			}
		}
		usable := func(s slot) bool {
			if s.street < 0 {
				return true
			}
			st := lay.streets[s.street]
			for k := s.k0; k < s.k1; k++ {
				if !st.ok[k] {
					return false
				}
			}
			return true
		}
		n := 0
		for _, s := range lay.slots {
			if n == p.count {
				break
			}
			if !usable(s) {
				continue
			}
			w := p.width[0] + r.Float64()*(p.width[1]-p.width[0])
			dep := p.depth[0] + r.Float64()*(p.depth[1]-p.depth[0])
			w, dep = math.Min(w, s.maxW), math.Min(dep, s.maxD)
			notch := 0.0
			if r.Float64() < p.notchShare {
				notch = 0.3 + r.Float64()*0.15
			}
			centre := toLL(add(s.front, scale(s.in, dep/2)))
			geom := synth.Footprint(centre, w, dep, s.angle*math.Pi/180, notch)
			margin := 2.0
			if p.perimeter {
				margin = 0.5 // perimeter blocks: facades side by side
			}
			if !occ.free(geom, margin) || !g.clear(geom, 1.5) {
				continue
			}
			f := ordinaryBuilding(d, p, r, geom, n, s)
			if f == nil {
				continue
			}
			occ.take(geom)
			out = append(out, f)
			if s.street >= 0 {
				st := lay.streets[s.street]
				st.serve(f)
				for k := s.k0; k < s.k1; k++ {
					st.used[k] = true
				}
			}
			n++
		}
		if n < p.count {
			return nil, nil, fmt.Errorf("district %s: room for only %d of %d buildings", id, n, p.count)
		}
		// The runs of laid pieces with buildings along them, and the cross
		// streets between streets with buildings, dated by those buildings.
		k := 0
		emit := func(st *street, pts []xy) {
			k++
			to := time.Time{}
			if !st.open {
				to = st.last
			}
			line := toLine(pts)
			streets = append(streets, &twin.Feature{ID: fmt.Sprintf("gata-%s-%03d", id, k), Layer: twin.Infrastructure, Kind: "street",
				Name: "Gata, " + st.name, Geometry: line, Life: twin.Lifespan{From: st.first, To: to}, Confidence: twin.Generated,
				Source: "generated: a street of " + d.Name + " along its buildings (facts/landscape.csv row gator)",
				Props:  map[string]any{"district": d.Name, "name_en": "Street, " + d.Name}})
			g.addLine(line, st.half)
		}
		for _, st := range lay.streets {
			if st.cross {
				for _, b := range st.beside {
					if o := lay.streets[b]; o.n > 0 {
						if st.n == 0 || o.first.Before(st.first) {
							st.first = o.first
						}
						st.open = st.open || o.open
						if o.last.After(st.last) {
							st.last = o.last
						}
						st.n++
					}
				}
				if st.n > 0 && !slices.Contains(st.ok, false) {
					emit(st, st.pts)
				}
				continue
			}
			if st.n == 0 {
				continue
			}
			for a := 0; a < len(st.ok); {
				if !st.ok[a] {
					a++
					continue
				}
				e, used := a, false
				for e < len(st.ok) && st.ok[e] {
					used = used || st.used[e]
					e++
				}
				if used {
					emit(st, st.pts[a:e+1])
				}
				a = e
			}
		}
	}
	return out, streets, nil
}

func ordinaryBuilding(d district, p districtPlan, r *rand.Rand, geom orb.Polygon, n int, s slot) *twin.Feature {
	storeys := p.storeys[0] + r.IntN(p.storeys[1]-p.storeys[0]+1)
	block := p.blockNames[r.IntN(len(p.blockNames))]
	if p.perimeter {
		block = p.blockNames[s.blockIdx%len(p.blockNames)]
	}
	f := &twin.Feature{
		ID:         fmt.Sprintf("%s-%04d", d.ID, n+1),
		Layer:      twin.Buildings,
		Kind:       p.kinds[r.IntN(len(p.kinds))],
		Name:       fmt.Sprintf("Kv. %s %d", block, 1+r.IntN(40)),
		Geometry:   geom,
		Height:     math.Round((float64(storeys)*3.1+1.2+r.Float64()*1.5)*10) / 10,
		Status:     twin.Standing,
		Confidence: twin.Generated,
		Source:     "generated from facts/districts.csv (" + d.Name + ")",
		Props:      map[string]any{"district": p.sv, "district_en": p.en},
	}
	if p.storeys[1] >= 9 { // industry: sheds, not storeys
		f.Height = math.Round((10+r.Float64()*25)*10) / 10
	}
	yearIn := func(span [2]int) int { return span[0] + r.IntN(span[1]-span[0]+1) }
	month := func() int { return r.IntN(12) }

	built := yearIn(p.built)
	f.Life.From = synth.Year(built).AddDate(0, month(), 0)
	renewed := p.renewal > 0 && r.Float64() < p.renewal
	if renewed {
		built = yearIn(p.renewalYears)
		f.Life.From = synth.Year(built).AddDate(0, month(), 0)
		f.Props["new"] = true
	}
	switch d.Era {
	case "new":
		f.Props["new"] = true
		if p.perimeter {
			// Most of the new centre opened with the inauguration of
			// September 2022; the rest follows year by year.
			switch k := r.Float64(); {
			case k < 0.45:
				f.Life.From = at("2022-09-01")
			case k < 0.65:
				f.Life.From = synth.Year(2019+r.IntN(3)).AddDate(0, month(), 0)
			default:
				f.Life.From = synth.Year(2023+r.IntN(13)).AddDate(0, month(), 0)
			}
		}
	case "old", "both":
		if renewed {
			break
		}
		if p.clearedFrom > 0 {
			f.Life.To = synth.Year(p.clearedFrom+r.IntN(p.clearedTo-p.clearedFrom)).AddDate(0, month(), 0)
			f.Status = twin.Demolished
			break
		}
		if inZoneSpan(geom) {
			if y := frontReaches(minU(geom)); y > 0 {
				ahead := r.Float64() * p.vacateAheadMax
				end := twin.FromDecimalYear(math.Max(float64(y)-ahead, 2011.2))
				if end.After(f.Life.From.AddDate(5, 0, 0)) {
					f.Life.To = end
					f.Status = twin.Demolished
				}
			}
		}
		if f.Life.To.IsZero() && r.IntN(30) == 0 {
			// Now and then a building goes for ordinary reasons.
			f.Life.To = synth.Year(built+20+r.IntN(40)).AddDate(0, month(), 0)
			if f.Life.To.Year() < 2026 {
				f.Status = twin.Demolished
			} else {
				f.Life.To = noTime
			}
		}
	}
	if f.Life.From.Year() >= 2027 {
		f.Status = twin.Planned
	}
	if f.Status == twin.Planned && !f.Life.To.IsZero() {
		f.Life.To = noTime
	}
	return f
}

// inOutline reports whether p lies in a district's outline: the ellipse
// inscribed in its box, with a wavy edge, so that districts read as town
// quarters rather than rectangles.
func inOutline(p orb.Point, b orb.Bound, phase float64) bool {
	c := b.Center()
	x := (p[0] - c[0]) / ((b.Max[0] - b.Min[0]) / 2)
	y := (p[1] - c[1]) / ((b.Max[1] - b.Min[1]) / 2)
	theta := math.Atan2(y, x)
	edge := 1 + 0.12*math.Sin(3*theta+phase) + 0.06*math.Sin(5*theta+2*phase)
	return math.Hypot(x, y) <= edge
}

// centreStreets are the new centre's streets and blocks: the east–west
// streets whole (the one south of Kristallen is Malmvägen, made by
// infrastructure), the north–south streets between them, each laid only
// where no building placed before stands, and one land-use area a block.
func centreStreets(grid *centreGrid, occ *occupancy, rows map[string]landscapeRow, srcText func(landscapeRow) string) (streets, blocks []*twin.Feature) {
	sr, br := rows["nya-centrum-gator"], rows["nya-centrum-kvarter"]
	px, py := blockW+streetW, blockD+streetW
	pt := func(x, y float64) xy { return add(grid.c, add(scale(grid.ux, x), scale(grid.uy, y))) }
	clear := func(a, b xy) bool { return lineClear(a, b, streetW/2, occ.near(a, b, streetW/2)) }
	have := map[[2]int]bool{}
	for _, bl := range grid.blocks {
		have[[2]int{bl.k, bl.i}] = true
	}
	street := func(id string, pts []xy, n int) *twin.Feature {
		return &twin.Feature{ID: id, Layer: twin.Infrastructure, Kind: "street", Name: fmt.Sprintf("%s %d", sr.Name, n), Geometry: toLine(pts),
			Life: twin.Lifespan{From: at(sr.From)}, Confidence: sr.Confidence, Source: srcText(sr),
			Props: map[string]any{"name_en": fmt.Sprintf("%s %d", sr.NameEn, n), "facts": "landscape.csv " + sr.ID}}
	}
	ks := make([]int, 0, len(grid.ew))
	for k := range grid.ew {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	n := 0
	for _, k := range ks {
		if k == malmvagenRow {
			continue
		}
		// Cut into pieces of half a block; runs of clear pieces are streets.
		e := grid.ew[k]
		l := dist(e[0], e[1])
		var run []xy
		flush := func() {
			if len(run) >= 2 {
				n++
				streets = append(streets, street(fmt.Sprintf("gata-nya-centrum-%02d", n), run, n))
			}
			run = nil
		}
		steps := int(math.Ceil(l / (px / 2)))
		for s := 0; s < steps; s++ {
			a := add(e[0], scale(sub(e[1], e[0]), float64(s)/float64(steps)))
			b := add(e[0], scale(sub(e[1], e[0]), float64(s+1)/float64(steps)))
			if !clear(a, b) {
				flush()
				continue
			}
			if len(run) == 0 {
				run = append(run, a)
			}
			run = append(run, b)
		}
		flush()
	}
	for k := -6; k <= 6; k++ {
		shift := 0.0
		if k%2 != 0 {
			shift = px / 2
		}
		for i := -6; i <= 5; i++ {
			if !have[[2]int{k, i}] && !have[[2]int{k, i + 1}] {
				continue
			}
			x := (float64(i)+0.5)*px + shift
			a, b := pt(x, (float64(k)-0.5)*py), pt(x, (float64(k)+0.5)*py)
			if !clear(a, b) {
				continue
			}
			n++
			streets = append(streets, street(fmt.Sprintf("gata-nya-centrum-%02d", n), []xy{a, b}, n))
		}
	}
	for _, bl := range grid.blocks {
		kind, name, nameEn := br.Kind, br.Name, br.NameEn
		if bl.square {
			kind, name, nameEn = "square", "Stadshustorget", "Stadshustorget"
		}
		blocks = append(blocks, &twin.Feature{ID: fmt.Sprintf("kvarter-nya-centrum-%+d%+d", bl.k, bl.i), Layer: landuseLayer, Kind: kind,
			Name: name, Geometry: toPolygon(bl.ring), Life: twin.Lifespan{From: at(br.From)}, Confidence: br.Confidence, Source: srcText(br),
			Props: map[string]any{"name_en": nameEn, "facts": "landscape.csv " + br.ID}})
	}
	return streets, blocks
}

// malmvagenRow is the new centre's east–west street that Malmvägen runs
// along: the one just south of Kristallen.
const malmvagenRow = -1
