package kiruna

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// The base layers of the landscape, written into the bundle as
// water.geojson and landuse.geojson.
const (
	waterLayer   = twin.Water
	landuseLayer = twin.Landuse
)

// landscapeRow is one row of facts/landscape.csv: a lake, a stream, a
// mine or a land-use area, with the numbers its geometry is made from.
type landscapeRow struct {
	ID, Layer, Kind, Name, NameEn, Shape string
	At                                   orb.Point // zero when the row states no point
	Tolerance, Area, Length, Width       float64   // metres, km², metres, metres; 0 when not stated
	Bearing, Height                      float64
	From, To                             string
	Label                                bool
	Sources                              []string // numbers of facts/landscape_sources.csv, or "model"
	Confidence                           twin.Confidence
	Note                                 string
}

// landscapeSource is one row of facts/landscape_sources.csv.
type landscapeSource struct {
	N, Name, URL, Facts string
}

func readLandscapeSources() ([]landscapeSource, error) {
	rows, err := readCSV("landscape_sources.csv")
	if err != nil {
		return nil, err
	}
	var out []landscapeSource
	for _, r := range rows {
		out = append(out, landscapeSource{N: r["n"], Name: r["name"], URL: r["url"], Facts: r["facts"]})
	}
	return out, nil
}

func readLandscape() ([]landscapeRow, error) {
	rows, err := readCSV("landscape.csv")
	if err != nil {
		return nil, err
	}
	srcs, err := readLandscapeSources()
	if err != nil {
		return nil, err
	}
	known := map[string]bool{"model": true}
	for _, s := range srcs {
		known[s.N] = true
	}
	opt := func(r map[string]string, k string) (float64, error) {
		if r[k] == "" {
			return 0, nil
		}
		v, err := strconv.ParseFloat(r[k], 64)
		if err != nil {
			return 0, fmt.Errorf("%s %q: %w", k, r[k], err)
		}
		return v, nil
	}
	seen := map[string]bool{}
	var out []landscapeRow
	for i, r := range rows {
		bad := func(err error) error { return fmt.Errorf("facts/landscape.csv row %d (%s): %w", i+2, r["id"], err) }
		row := landscapeRow{ID: r["id"], Layer: r["layer"], Kind: r["kind"], Name: r["name"], NameEn: r["name_en"], Shape: r["shape"],
			From: r["from"], To: r["to"], Label: r["label"] == "yes", Note: r["note"]}
		if row.ID == "" || seen[row.ID] {
			return nil, bad(fmt.Errorf("missing or repeated id"))
		}
		seen[row.ID] = true
		switch row.Layer {
		case "water", "landuse", "infrastructure":
		default:
			return nil, bad(fmt.Errorf("layer %q (want water, landuse or infrastructure)", row.Layer))
		}
		var lat, lon float64
		var nums [6]*float64 = [6]*float64{&lat, &lon, &row.Tolerance, &row.Area, &row.Length, &row.Width}
		for j, k := range []string{"lat", "lon", "tolerance_m", "area_km2", "length_m", "width_m"} {
			if *nums[j], err = opt(r, k); err != nil {
				return nil, bad(err)
			}
		}
		if row.Bearing, err = opt(r, "bearing_deg"); err != nil {
			return nil, bad(err)
		}
		if row.Height, err = opt(r, "height_m"); err != nil {
			return nil, bad(err)
		}
		if lat != 0 || lon != 0 {
			row.At = orb.Point{lon, lat}
		}
		if row.Confidence, err = twin.ParseConfidence(r["confidence"]); err != nil || r["confidence"] == "" {
			return nil, bad(fmt.Errorf("confidence %q", r["confidence"]))
		}
		for _, s := range strings.Split(r["source"], ";") {
			s = strings.TrimSpace(s)
			if !known[s] {
				return nil, bad(fmt.Errorf("source %q is not in facts/landscape_sources.csv", s))
			}
			row.Sources = append(row.Sources, s)
		}
		out = append(out, row)
	}
	return out, nil
}

// sourceText names a row's sources for the features' source property.
func sourceText(row landscapeRow, srcs map[string]landscapeSource) string {
	var parts []string
	for _, n := range row.Sources {
		if n == "model" {
			parts = append(parts, "model: the deformation front calibrated to facts/timeline.csv")
			continue
		}
		s := srcs[n]
		parts = append(parts, fmt.Sprintf("[%s] %s, %s", n, s.Name, s.URL))
	}
	return strings.Join(parts, "; ")
}

// landscape holds what the landscape generator made: the features of each
// layer, the landmarks that label lakes and mountains, and the ground that
// generated buildings keep off.
type landscape struct {
	water, landuse, infra, labels []*twin.Feature
	ground                        *ground
	// lakes by id in metres (outer ring), for the parts and the streams.
	outline map[string][]xy
	axis    map[string]lakeAxis
}

type lakeAxis struct {
	c    xy
	u    xy      // unit vector along the long axis
	a    float64 // half the long axis, metres
	cutD float64 // where a lake is cut: dot(p, u) = cutD (0 when not cut)
}

// Airport and bounds kept clear of forest and mire (the airport's area is
// not in the facts; a circle round its landmark keeps patches off it).
const airportClear = 1300.0

// makeLandscape turns the rows into features. rows must be read by
// readLandscape; lm are the landmarks; ds the districts.
func makeLandscape(rows []landscapeRow, srcs []landscapeSource, lm map[string]landmark, ds []district, bounds [4]float64) (*landscape, error) {
	sm := map[string]landscapeSource{}
	for _, s := range srcs {
		sm[s.N] = s
	}
	L := &landscape{ground: &ground{}, outline: map[string][]xy{}, axis: map[string]lakeAxis{}}
	byID := map[string]landscapeRow{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	feature := func(r landscapeRow, id string, g orb.Geometry, from, to string) *twin.Feature {
		layer := twin.Layer(r.Layer)
		switch r.Layer {
		case "water":
			layer = waterLayer
		case "landuse":
			layer = landuseLayer
		}
		f := &twin.Feature{ID: id, Layer: layer, Kind: r.Kind, Name: r.Name, Geometry: g,
			Life: twin.Lifespan{From: at(from), To: at(to)}, Confidence: r.Confidence, Source: sourceText(r, sm),
			Props: map[string]any{"name_en": r.NameEn, "facts": "landscape.csv " + r.ID}}
		if r.NameEn == "" {
			f.Props["name_en"] = r.Name
		}
		if r.Height > 0 && r.Layer != "infrastructure" {
			f.Props["ele"] = r.Height
		}
		return f
	}
	put := func(f *twin.Feature) {
		switch f.Layer {
		case waterLayer:
			L.water = append(L.water, f)
		case landuseLayer:
			L.landuse = append(L.landuse, f)
		default:
			L.infra = append(L.infra, f)
		}
	}

	// The lakes, the mountains and the areas with a point of their own
	// come first: the parts, dams and streams are made from them.
	for _, r := range rows {
		switch r.Shape {
		case "lake":
			a := r.Length / 2
			if a == 0 {
				a = math.Sqrt(r.Area * 1e6 / math.Pi)
			}
			b := r.Area * 1e6 / (math.Pi * a)
			c := toXY(r.At)
			ring := wavyEllipse(c, a, b, r.Bearing, seedOf(r.ID), r.Area*1e6)
			L.outline[r.ID] = ring
			L.axis[r.ID] = lakeAxis{c: c, u: bearingVec(r.Bearing), a: a}
			put(feature(r, r.ID, toPolygon(ring), r.From, r.To))
		case "ridge":
			// The summit stated lies near the southern end: the ridge's
			// centre is 1.3 km along it.
			c := add(toXY(r.At), scale(bearingVec(r.Bearing), 1300))
			ring := wavyEllipse(c, r.Length/2, r.Width/2, r.Bearing, seedOf(r.ID), 0)
			L.outline[r.ID] = ring
			put(feature(r, r.ID, toPolygon(ring), r.From, r.To))
		case "yard":
			c := toXY(r.At)
			u := bearingVec(r.Bearing)
			v := xy{u[1], -u[0]}
			hl, hw := r.Length/2, r.Width/2
			ring := []xy{
				add(c, add(scale(u, -hl), scale(v, -hw))), add(c, add(scale(u, hl), scale(v, -hw))),
				add(c, add(scale(u, hl), scale(v, hw))), add(c, add(scale(u, -hl), scale(v, hw))),
			}
			L.outline[r.ID] = ring
			put(feature(r, r.ID, toPolygon(ring), r.From, r.To))
		}
	}
	for _, r := range rows {
		shape, parent, _ := strings.Cut(r.Shape, ":")
		switch shape {
		case "part_north", "part_south":
			ax, ok := L.axis[parent]
			if !ok {
				return nil, fmt.Errorf("landscape %s: no lake %q to cut", r.ID, parent)
			}
			if ax.cutD == 0 {
				north, ok := byID[parent+"-norra"]
				if !ok {
					return nil, fmt.Errorf("landscape %s: the cut of %s needs a row %s-norra", r.ID, parent, parent)
				}
				ax.cutD = cutFor(L.outline[parent], ax.u, north.Area*1e6)
				L.axis[parent] = ax
			}
			var ring []xy
			if shape == "part_north" {
				ring = clipHalf(L.outline[parent], scale(ax.u, -1), -ax.cutD)
			} else {
				ring = clipHalf(L.outline[parent], ax.u, ax.cutD)
			}
			L.outline[r.ID] = ring
			put(feature(r, r.ID, toPolygon(ring), r.From, r.To))
		case "bay":
			ax := L.axis[parent]
			tip := add(ax.c, scale(ax.u, -ax.a))
			c := add(tip, add(scale(ax.u, -120), xy{60, 0}))
			rad := math.Sqrt(r.Area * 1e6 / math.Pi)
			ring := wavyEllipse(c, rad, rad, 0, seedOf("bay"), r.Area*1e6)
			L.outline[r.ID] = ring
			put(feature(r, r.ID, toPolygon(ring), r.From, r.To))
		}
	}
	// Dams and watercourses.
	for _, r := range rows {
		shape, arg, _ := strings.Cut(r.Shape, ":")
		switch {
		case shape == "dam":
			ax := L.axis[arg]
			if ax.cutD == 0 {
				return nil, fmt.Errorf("landscape %s: lake %s is not cut", r.ID, arg)
			}
			a, b := chord(L.outline[arg], ax.u, ax.cutD)
			ext := scale(sub(b, a), 15/dist(a, b))
			put(feature(r, r.ID, toLine([]xy{sub(a, ext), add(b, ext)}), r.From, r.To))
		case shape == "path":
			pts, err := L.path(arg, r, byID, bounds)
			if err != nil {
				return nil, fmt.Errorf("landscape %s: %w", r.ID, err)
			}
			put(feature(r, r.ID, toLine(pts), r.From, r.To))
		}
	}
	// LKAB's works: round the mine's point, before and after the 2018 fence.
	for _, r := range rows {
		if r.Shape != "works" {
			continue
		}
		// The industrial area before 2018 covers the district lkab_industry
		// of districts.csv and the mine's point; its fence stands at u =
		// 150 in the front's frame (a guess). From 2018 it reaches the old
		// station area (u = 440: the old station is at u ≈ 423).
		c, north, east, fence := xy{}, 946.0, 733.0, 150.0
		c = toXY(orb.Point{20.1975, 67.8435})
		if r.From == "2018" {
			c, north, east, fence = toXY(orb.Point{20.2, 67.8455}), 1170, 900, 440
		}
		ring := wavyEllipse(c, north, east, 0, seedOf(r.ID), 0)
		n := xy{acrossE, acrossN} // u grows along this
		d := fence + dot(toXY(frameOrigin), n)
		ring = clipHalf(ring, n, d)
		L.outline[r.ID] = ring
		put(feature(r, r.ID, toPolygon(ring), r.From, r.To))
	}
	// The caved ground, period by period, from the front's model.
	for _, r := range rows {
		if r.Shape != "front_caved" {
			continue
		}
		years := []int{1960, 1980, 2000, 2010, 2015, 2020, 2025, 2030, 2035}
		for i, y := range years {
			u := frontU(float64(y)) - zoneKinds[0].setback
			if u <= zoneUMin+50 {
				continue
			}
			to := ""
			if i+1 < len(years) {
				to = strconv.Itoa(years[i+1])
			}
			f := feature(r, fmt.Sprintf("%s-%d", r.ID, y), zonePolygon(u), strconv.Itoa(y), to)
			f.Props["year"] = float64(y)
			put(f)
		}
	}
	// Labels: lakes and places get a landmark of their own; the summits
	// already in landmarks.csv get their height instead of a second label.
	summits := map[string]string{"kiirunavaara": "kiirunavaara_summit", "luossavaara": "luossavaara_summit"}
	for _, r := range rows {
		if !r.Label {
			continue
		}
		if _, ok := summits[r.ID]; ok {
			continue // handled by labelSummits
		}
		kind := "place"
		if r.Kind == "lake" {
			kind = "lake"
		}
		name := r.NameEn
		if name == "" {
			name = r.Name
		}
		f := &twin.Feature{ID: "label-" + r.ID, Layer: twin.Landmarks, Kind: kind, Name: r.Name, Geometry: r.At,
			Life: twin.Lifespan{From: at(r.From)}, Confidence: r.Confidence, Source: sourceText(r, sm),
			Props: map[string]any{"name_en": name, "facts": "landscape.csv " + r.ID}}
		if r.Height > 0 {
			f.Props["ele"] = r.Height
		}
		L.labels = append(L.labels, f)
	}
	// What buildings keep off: water of every time (but culverts, which
	// run underground), rail yards.
	for _, f := range L.water {
		switch g := f.Geometry.(type) {
		case orb.Polygon:
			L.ground.addArea(g, 4)
		case orb.LineString:
			if f.Kind != "culvert" {
				L.ground.addLine(g, 6)
			}
		}
	}
	for _, f := range L.landuse {
		if p, ok := f.Geometry.(orb.Polygon); ok && (f.Kind == "railway" || f.Kind == "construction") {
			L.ground.addArea(p, 4)
		}
	}
	return L, nil
}

// labelSummits adds the sourced heights to the summit landmarks.
func labelSummits(rows []landscapeRow, lms []*twin.Feature) {
	summits := map[string]string{"kiirunavaara_summit": "kiirunavaara", "luossavaara_summit": "luossavaara"}
	byID := map[string]landscapeRow{}
	for _, r := range rows {
		byID[r.ID] = r
	}
	for _, f := range lms {
		if id, ok := summits[f.ID]; ok && byID[id].Height > 0 {
			f.Props["ele"] = byID[id].Height
			f.Props["ele_facts"] = "landscape.csv " + id
		}
	}
}

// cutFor finds d such that the part of the ring with dot(p, u) >= d has
// the given area (bisection: the area falls as d grows).
func cutFor(ring []xy, u xy, area float64) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range ring {
		lo, hi = math.Min(lo, dot(p, u)), math.Max(hi, dot(p, u))
	}
	for i := 0; i < 60; i++ {
		mid := (lo + hi) / 2
		if ringArea(clipHalf(ring, scale(u, -1), -mid)) > area {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// chord returns where the line dot(p, u) = d crosses the ring.
func chord(ring []xy, u xy, d float64) (xy, xy) {
	var pts []xy
	for i := range ring {
		p, q := ring[i], ring[(i+1)%len(ring)]
		dp, dq := dot(p, u)-d, dot(q, u)-d
		if (dp < 0) != (dq < 0) {
			pts = append(pts, add(p, scale(sub(q, p), dp/(dp-dq))))
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i][0] < pts[j][0] })
	return pts[0], pts[len(pts)-1]
}

// path makes the watercourses: the canal north from Luossajärvi, the
// culvert from its southern end towards Yli Lombolo, the stream through
// Yli Lombolo into Ala Lombolo, and Luossajoki east from Ala Lombolo's
// outlet to the scene's edge.
func (L *landscape) path(which string, r landscapeRow, rows map[string]landscapeRow, bounds [4]float64) ([]xy, error) {
	tipOf := func(lake string, sign float64) (xy, error) {
		ax, ok := L.axis[lake]
		if !ok {
			return xy{}, fmt.Errorf("no lake %q", lake)
		}
		return add(ax.c, scale(ax.u, sign*ax.a*0.97)), nil
	}
	meander := func(pts []xy, amp float64) []xy {
		var out []xy
		for i := 0; i+1 < len(pts); i++ {
			a, b := pts[i], pts[i+1]
			n := int(math.Max(2, dist(a, b)/120))
			perp := xy{-(b[1] - a[1]) / dist(a, b), (b[0] - a[0]) / dist(a, b)}
			for k := 0; k < n; k++ {
				t := float64(k) / float64(n)
				w := amp * math.Sin(t*math.Pi) * math.Sin(float64(k)*1.9+float64(i))
				out = append(out, add(add(a, scale(sub(b, a), t)), scale(perp, w)))
			}
		}
		return append(out, pts[len(pts)-1])
	}
	switch which {
	case "luossajarvi-north":
		start, err := tipOf("luossajarvi", 1)
		if err != nil {
			return nil, err
		}
		end := add(start, scale(bearingVec(r.Bearing), r.Length))
		return meander([]xy{start, end}, 25), nil
	case "culvert", "upper":
		start, err := tipOf("luossajarvi", -1)
		if err != nil {
			return nil, err
		}
		yli := L.axis["yli-lombolo"].c
		dir := scale(sub(yli, start), 1/dist(yli, start))
		culvertEnd := add(start, scale(dir, rows["luossajoki-kulvert"].Length))
		if which == "culvert" {
			// A culvert runs straight, in runs of a few hundred metres.
			return []xy{start, add(start, scale(dir, 600)), add(start, scale(dir, 1200)), culvertEnd}, nil
		}
		ala, err := tipOf("ala-lombolo", -1) // the north-west end
		if err != nil {
			return nil, err
		}
		return meander([]xy{culvertEnd, yli, ala}, 18), nil
	case "lower":
		start, err := tipOf("ala-lombolo", 1) // the south-east end
		if err != nil {
			return nil, err
		}
		east := toXY(orb.Point{bounds[2], 0})[0] - 40
		pts := []xy{start, add(start, xy{350, -220})}
		for x := pts[1][0] + 700; x < east; x += 700 {
			pts = append(pts, xy{x, pts[1][1] - 60*math.Sin(x/900)})
		}
		pts = append(pts, xy{east, pts[len(pts)-1][1]})
		return meander(pts, 30), nil
	}
	return nil, fmt.Errorf("unknown path %q", which)
}

// seedOf gives each outline its own ripples, the same on every run.
func seedOf(id string) float64 {
	h := 0.0
	for _, c := range id {
		h = math.Mod(h*31+float64(c), 1000)
	}
	return h / 1000 * 2 * math.Pi
}

// patches grows forest and mire from guessed centres (metres, radius)
// until they meet the town, the works, the water or the scene's edge:
// star-shaped outlines, one ray every 10°.
func (L *landscape) patches(rows []landscapeRow, srcs []landscapeSource, ds []district, lm map[string]landmark, bounds [4]float64) {
	sm := map[string]landscapeSource{}
	for _, s := range srcs {
		sm[s.N] = s
	}
	// Everything patches must not cover: the districts' outlines (with
	// 120 m to spare), every water and land-use area made so far, the
	// airport.
	var blocks [][]xy
	for _, d := range ds {
		c := toXY(d.Bound.Center())
		hx := (d.Bound.Max[0]-d.Bound.Min[0])*metresPerDegLon/2 + 120
		hy := (d.Bound.Max[1]-d.Bound.Min[1])*metresPerDegLat/2 + 120
		blocks = append(blocks, wavyEllipse(c, hy, hx, 0, 0, 0))
	}
	for _, fs := range [][]*twin.Feature{L.water, L.landuse} {
		for _, f := range fs {
			if p, ok := f.Geometry.(orb.Polygon); ok && f.Kind != "caved" {
				blocks = append(blocks, ringXY(p[0]))
			}
		}
	}
	airport := toXY(lm["kiruna_airport"].At)
	minB, maxB := toXY(orb.Point{bounds[0], bounds[1]}), toXY(orb.Point{bounds[2], bounds[3]})
	free := func(p xy) bool {
		if p[0] < minB[0]+40 || p[0] > maxB[0]-40 || p[1] < minB[1]+40 || p[1] > maxB[1]-40 {
			return false
		}
		if dist(p, airport) < airportClear {
			return false
		}
		for _, b := range blocks {
			if inRing(p, b) {
				return false
			}
		}
		return true
	}
	type centre struct {
		kind      string
		lon, lat  float64
		radius    float64
		name, nen string
	}
	// The centres are guesses: open ground round the town where the
	// sources say birch forest and mire lie (facts/landscape.csv, rows
	// skog and myr).
	centres := []centre{
		{"skog", 20.268, 67.879, 1500, "", ""},
		{"skog", 20.33, 67.877, 1500, "", ""},
		{"skog", 20.36, 67.843, 1200, "", ""},
		{"skog", 20.29, 67.826, 1500, "", ""},
		{"skog", 20.205, 67.810, 1300, "", ""},
		{"skog", 20.14, 67.862, 1600, "", ""},
		{"skog", 20.248, 67.816, 1000, "", ""},
		{"skog", 20.345, 67.806, 900, "", ""},
		{"myr", 20.118, 67.814, 1300, "Kiirunavuoma", "Kiirunavuoma"},
		{"myr", 20.16, 67.886, 800, "", ""},
		{"myr", 20.272, 67.838, 600, "", ""},
		{"myr", 20.372, 67.866, 700, "", ""},
	}
	rowOf := map[string]landscapeRow{}
	for _, r := range rows {
		rowOf[r.ID] = r
	}
	n := map[string]int{}
	for _, c := range centres {
		r := rowOf[c.kind]
		o := toXY(orb.Point{c.lon, c.lat})
		if !free(o) {
			continue
		}
		const rays = 36
		radii := make([]float64, rays)
		for k := range radii {
			t := 2 * math.Pi * float64(k) / rays
			dir := xy{math.Cos(t), math.Sin(t)}
			lim := c.radius * (1 + 0.15*math.Sin(3*t+seedOf(c.kind+strconv.Itoa(k/9))))
			d := 0.0
			for d+25 <= lim && free(add(o, scale(dir, d+25))) {
				d += 25
			}
			radii[k] = d
		}
		// No spikes: a ray reaches at most 200 m beyond its neighbours.
		for pass := 0; pass < 3; pass++ {
			for k := range radii {
				m := math.Min(radii[(k+rays-1)%rays], radii[(k+1)%rays]) + 200
				radii[k] = math.Min(radii[k], m)
			}
		}
		var ring []xy
		for k, d := range radii {
			t := 2 * math.Pi * float64(k) / rays
			ring = append(ring, add(o, xy{d * math.Cos(t), d * math.Sin(t)}))
		}
		if ringArea(ring) < 50_000 {
			continue
		}
		n[c.kind]++
		name, nen := r.Name, r.NameEn
		if c.name != "" {
			name, nen = c.name, c.nen
		}
		layer := landuseLayer
		f := &twin.Feature{ID: fmt.Sprintf("%s-%d", c.kind, n[c.kind]), Layer: layer, Kind: r.Kind, Name: name, Geometry: toPolygon(ring),
			Life: twin.Lifespan{From: at(r.From)}, Confidence: r.Confidence, Source: sourceText(r, sm),
			Props: map[string]any{"name_en": nen, "facts": "landscape.csv " + r.ID}}
		L.landuse = append(L.landuse, f)
	}
}

// landscapeSources are the scene's sources for the landscape.
func landscapeSources(srcs []landscapeSource) []scenes.Source {
	var out []scenes.Source
	for _, s := range srcs {
		out = append(out, scenes.Source{Name: fmt.Sprintf("[%s] %s", s.N, s.Name), Licence: "facts, not text",
			URL: s.URL, Note: "landscape (facts/landscape.csv): " + s.Facts})
	}
	return out
}
