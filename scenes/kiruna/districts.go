package kiruna

import (
	"fmt"
	"math"
	"math/rand/v2"

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
	"ullspiran": {sv: "Ön och Ullspiran", en: "Ön and Ullspiran", count: 320, cell: 31, angle: 12, width: [2]float64{11, 24}, depth: [2]float64{10, 13}, storeys: [2]int{2, 4},
		kinds: []string{"apartments", "apartments", "house"}, built: [2]int{1950, 1972},
		blockNames: []string{"Ullspiran", "Lingonet", "Mossen", "Stranden"}, notchShare: 0.15, vacateAheadMax: 2},
	"centrum_old": {sv: "Gamla centrum", en: "the old centre", count: 590, cell: 30, angle: 18, width: [2]float64{14, 28}, depth: [2]float64{11, 15}, storeys: [2]int{3, 5},
		kinds: []string{"apartments", "apartments", "shop", "office", "apartments"}, built: [2]int{1955, 1978},
		blockNames: []string{"Malmen", "Ortdrivaren", "Bergsprängaren", "Järnet", "Norrskenet", "Fjällrosen", "Ripan", "Gruvan"},
		notchShare: 0.25, vacateAheadMax: 1.5},
	"norrmalm": {sv: "Norrmalm", en: "Norrmalm", count: 640, cell: 31, angle: 4, width: [2]float64{10, 22}, depth: [2]float64{9, 13}, storeys: [2]int{2, 4},
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
// buildings overlap.
type occupancy struct{ tr rtree.RTreeG[struct{}] }

func metres(p orb.Point) [2]float64 {
	return [2]float64{(p[0] - frameOrigin[0]) * metresPerDegLon, (p[1] - frameOrigin[1]) * metresPerDegLat}
}

func (o *occupancy) box(g orb.Geometry, margin float64) ([2]float64, [2]float64) {
	b := g.Bound()
	mn, mx := metres(b.Min), metres(b.Max)
	return [2]float64{mn[0] - margin, mn[1] - margin}, [2]float64{mx[0] + margin, mx[1] + margin}
}

func (o *occupancy) free(g orb.Geometry, margin float64) bool {
	mn, mx := o.box(g, margin)
	free := true
	o.tr.Search(mn, mx, func(_, _ [2]float64, _ struct{}) bool { free = false; return false })
	return free
}

func (o *occupancy) take(g orb.Geometry) {
	mn, mx := o.box(g, 0)
	o.tr.Insert(mn, mx, struct{}{})
}

// slot is a place for one building: centre, turn, and the largest footprint
// that fits.
type slot struct {
	c        orb.Point
	angle    float64
	maxW     float64
	maxD     float64
	blockIdx int
}

func gridSlots(d district, p districtPlan, r *rand.Rand) []slot {
	c := d.Bound.Center()
	b := d.Bound
	wM := (b.Max[0] - b.Min[0]) * metresPerDegLon
	hM := (b.Max[1] - b.Min[1]) * metresPerDegLat
	half := math.Hypot(wM, hM) / 2
	sin, cos := math.Sincos(p.angle * math.Pi / 180)
	phase := r.Float64() * 2 * math.Pi
	var out []slot
	if p.perimeter {
		// Perimeter blocks: 4 x 3 slots round a courtyard, 18 m streets.
		const bw, bd, street = 100.0, 75.0, 18.0
		for gx := -half; gx < half; gx += bw + street {
			for gy := -half; gy < half; gy += bd + street {
				block := len(out) / 10
				add := func(lx, ly, ang float64) {
					x, y := gx+lx, gy+ly
					pt := synth.Offset(c, x*cos-y*sin, x*sin+y*cos)
					if b.Contains(pt) {
						out = append(out, slot{c: pt, angle: p.angle + ang, maxW: 25, maxD: 14, blockIdx: block})
					}
				}
				for i := 0; i < 4; i++ {
					add(12.5+float64(i)*25, 7, 0)
					add(12.5+float64(i)*25, bd-7, 0)
				}
				add(7, 25+12.5, 90)
				add(bw-7, 25+12.5, 90)
			}
		}
	} else {
		for gx := -half; gx < half; gx += p.cell {
			for gy := -half; gy < half; gy += p.cell {
				jx, jy := (r.Float64()-0.5)*p.cell*0.15, (r.Float64()-0.5)*p.cell*0.15
				x, y := gx+jx, gy+jy
				pt := synth.Offset(c, x*cos-y*sin, x*sin+y*cos)
				if b.Contains(pt) && inOutline(pt, b, phase) {
					out = append(out, slot{c: pt, angle: p.angle + (r.Float64()-0.5)*6, maxW: p.cell - 5, maxD: p.cell - 5})
				}
			}
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// generatedBuildings makes the ordinary buildings of every district.
func generatedBuildings(districts []district, occ *occupancy) ([]*twin.Feature, error) {
	byID := map[string]district{}
	for _, d := range districts {
		byID[d.ID] = d
	}
	var out []*twin.Feature
	for di, id := range districtOrder {
		d, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("facts/districts.csv has no district %q", id)
		}
		p := plans[id]
		r := rand.New(rand.NewPCG(uint64(di+1), 0x4b6972756e61))
		n := 0
		for _, s := range gridSlots(d, p, r) {
			if n == p.count {
				break
			}
			w := p.width[0] + r.Float64()*(p.width[1]-p.width[0])
			dep := p.depth[0] + r.Float64()*(p.depth[1]-p.depth[0])
			w, dep = math.Min(w, s.maxW), math.Min(dep, s.maxD)
			notch := 0.0
			if r.Float64() < p.notchShare {
				notch = 0.3 + r.Float64()*0.15
			}
			geom := synth.Footprint(s.c, w, dep, s.angle*math.Pi/180, notch)
			if !occ.free(geom, 2) {
				continue
			}
			f := ordinaryBuilding(d, p, r, geom, n, s)
			if f == nil {
				continue
			}
			occ.take(geom)
			out = append(out, f)
			n++
		}
		if n < p.count {
			return nil, fmt.Errorf("district %s: room for only %d of %d buildings", id, n, p.count)
		}
	}
	return out, nil
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
