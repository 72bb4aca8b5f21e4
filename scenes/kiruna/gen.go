package kiruna

//go:generate go run ./generate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

var noTime time.Time

// Generate builds the whole built-in scene from the facts and returns its
// files by name (scene.json and one GeoJSON file per layer). The output is
// deterministic: the committed bundle is exactly what it returns.
func Generate() (map[string][]byte, error) {
	lms, err := readLandmarks()
	if err != nil {
		return nil, err
	}
	districts, err := readDistricts()
	if err != nil {
		return nil, err
	}
	timeline, err := readTimeline()
	if err != nil {
		return nil, err
	}
	lm := map[string]landmark{}
	for _, l := range lms {
		lm[l.ID] = l
	}

	rows, err := readLandscape()
	if err != nil {
		return nil, err
	}
	srcs, err := readLandscapeSources()
	if err != nil {
		return nil, err
	}
	rowByID := map[string]landscapeRow{}
	for _, r := range rows {
		rowByID[r.ID] = r
	}
	sm := map[string]landscapeSource{}
	for _, s := range srcs {
		sm[s.N] = s
	}
	land, err := makeLandscape(rows, srcs, lm, districts, sceneBounds)
	if err != nil {
		return nil, err
	}

	layers := map[twin.Layer][]*twin.Feature{}
	layers[twin.Landmarks] = landmarkFeatures(lms)
	labelSummits(rows, layers[twin.Landmarks])
	layers[twin.Landmarks] = append(layers[twin.Landmarks], land.labels...)
	placed := placedBuildings(lm)
	if err := shapeLandmarks(placed); err != nil { // shapes.go: the landmarks in LoD2
		return nil, err
	}
	occ := &occupancy{}
	for _, f := range placed {
		occ.take(f.Geometry)
	}
	var newCentre district
	for _, d := range districts {
		if d.ID == "centrum_new" {
			newCentre = d
		}
	}
	grid := newCentreGrid(newCentre, lm["kristallen"].At, plans["centrum_new"].angle)
	infraFs := infrastructure(lm, grid)
	for _, f := range infraFs {
		if half, ok := roadHalfWidth[f.Kind]; ok {
			walkLines(f.Geometry, func(l orb.LineString) { land.ground.addLine(l, half) })
		}
	}
	centreSt, blocks := centreStreets(grid, occ, rowByID, func(r landscapeRow) string { return sourceText(r, sm) })
	for _, f := range centreSt {
		land.ground.addLine(f.Geometry.(orb.LineString), streetW/2)
	}
	gen, streets, err := generatedBuildings(districts, occ, land.ground, grid)
	if err != nil {
		return nil, err
	}
	land.patches(rows, srcs, districts, lm, sceneBounds)
	layers[twin.Buildings] = append(placed, gen...)
	layers[twin.Infrastructure] = append(append(infraFs, centreSt...), streets...)
	layers[twin.Infrastructure] = append(layers[twin.Infrastructure], land.infra...)
	layers[twin.Zones] = zones(districts, lm)
	layers[twin.Sensors] = sensors(lm, districts)
	layers[waterLayer] = land.water
	layers[landuseLayer] = append(land.landuse, blocks...)

	files := map[string][]byte{}
	for l, fs := range layers {
		b, err := encodeLayer(fs)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", l, err)
		}
		files[string(l)+".geojson"] = b
	}
	layerOf := map[string]twin.Layer{}
	centre := map[string]orb.Point{}
	for l, fs := range layers {
		for _, f := range fs {
			layerOf[f.ID] = l
			centre[f.ID] = f.Geometry.Bound().Center()
		}
	}
	sc := scene(timeline, lm, layerOf, centre)
	sc.Sources = append(sc.Sources, landscapeSources(srcs)...)
	sc.Generated = fmt.Sprintf("%d of the %d buildings are generated (confidence \"generated\") from the district extents and characters in facts/districts.csv, "+
		"along %d generated streets laid after each district's plan; "+
		"the other %d buildings, the infrastructure, the zones, the landmarks and the sensor sites are placed by hand from the sourced facts "+
		"(confidence sourced, approx or guess). The deformation front is a model calibrated to sourced dates. "+
		"The landscape (water.geojson, landuse.geojson: %d lakes, streams and areas, and the new centre's %d streets and %d blocks) is made from facts/landscape.csv: "+
		"lakes as outlines of their sourced area round their sourced point, along the orientation the sources suggest; the mine, the works and the yards "+
		"from the sources' points, lengths and dates; forest and mire as patches grown from guessed centres until they meet the town; each feature's "+
		"confidence and the notes of facts/landscape.csv say which parts are sourced and which are guessed. "+
		"No elevation model of Kiruna was at hand: the scene has no terrain (no DEM is invented).",
		len(gen), len(layers[twin.Buildings]), len(streets), len(placed), len(land.water)+len(land.landuse), len(centreSt), len(blocks))
	sc.GeneratedTexts = map[string]string{
		"sv": fmt.Sprintf("%s av de %s byggnaderna är exempelbyggnader, genererade efter varje stadsdels utbredning och karaktär längs genererade gator; "+
			"de övriga %d byggnaderna, infrastrukturen, zonerna, platserna och sensorerna är placerade för hand efter källorna. "+
			"Deformationszonen är en modell som stämmer med de belagda årtalen. Sjöar, gruvområde och mark är ritade efter källornas punkter, ytor och årtal. "+
			"Ingen höjdmodell av Kiruna fanns: scenen har ingen terräng.", thousands(len(gen)), thousands(len(layers[twin.Buildings])), len(placed)),
		"en": fmt.Sprintf("%s of the %s buildings are example buildings, generated after each district's extent and character along generated streets; "+
			"the other %d buildings, the infrastructure, the zones, the places and the sensors are placed by hand from the sources. "+
			"The deformation zone is a model that agrees with the sourced dates. Lakes, the mine and the land are drawn from the sources' points, areas and dates. "+
			"No elevation model of Kiruna was at hand: the scene has no terrain.", thousands(len(gen)), thousands(len(layers[twin.Buildings])), len(placed)),
	}
	b, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return nil, err
	}
	files["scene.json"] = append(b, '\n')
	return files, nil
}

// thousands writes n with a no-break space between thousands ("4 017"), as
// Swedish writes them and English typography allows.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "\u00a0" + s[i:]
	}
	return s
}

// encodeLayer writes one feature per line, coordinates to 1e-7 degrees
// (about 1 cm), so that the committed files diff well.
func encodeLayer(fs []*twin.Feature) ([]byte, error) {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].ID < fs[j].ID })
	var buf bytes.Buffer
	buf.WriteString("{\"type\":\"FeatureCollection\",\"features\":[\n")
	for i, f := range fs {
		if err := scenes.CheckWritable(f); err != nil {
			return nil, fmt.Errorf("feature %s: %w", f.ID, err)
		}
		b, err := scenes.MarshalFeature(f)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
		if i < len(fs)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]}\n")
	return buf.Bytes(), nil
}

var landmarkKinds = map[string]string{
	"old_town_centre": "town_centre", "new_town_centre": "town_centre", "new_centre_decision_point": "decision",
	"kiruna_church_old": "church_site", "kiruna_church_new": "church_site",
	"kiirunavaara_summit": "summit", "luossavaara_summit": "summit",
	"kiruna_c_old_station": "station", "temporary_station_2013": "station", "new_station_planned": "station", "new_station": "station",
	"kiruna_airport": "airport", "hjalmar_lundbohmsgarden_old": "heritage_site", "hjalmar_lundbohmsgarden_new": "heritage_site",
	"old_town_hall": "town_hall", "kristallen": "town_hall",
}

// landmarkNames are the labels of the landmarks in Swedish and English;
// the facts' own names are English descriptions, kept as "description".
var landmarkNames = map[string][2]string{
	"old_town_centre":             {"Gamla Kiruna centrum", "Old Kiruna centre"},
	"new_town_centre":             {"Nya Kiruna centrum", "New Kiruna centre"},
	"new_centre_decision_point":   {"Nya centrums läge (beslut 2010)", "New centre site (2010 decision)"},
	"kiruna_church_old":           {"Kiruna kyrka (ursprunglig plats)", "Kiruna church (original site)"},
	"kiruna_church_new":           {"Kiruna kyrka (ny plats)", "Kiruna church (new site)"},
	"kiirunavaara_summit":         {"Kiirunavaara", "Kiirunavaara"},
	"luossavaara_summit":          {"Luossavaara", "Luossavaara"},
	"kiruna_c_old_station":        {"Kiruna C (gamla stationen)", "Kiruna C (old station)"},
	"temporary_station_2013":      {"Tillfälliga stationen", "Temporary station"},
	"new_station_planned":         {"Nya resecentrum (planerat)", "New station (planned)"},
	"new_station":                 {"Nya resecentrum", "New station"},
	"kiruna_airport":              {"Kiruna flygplats", "Kiruna Airport"},
	"hjalmar_lundbohmsgarden_old": {"Hjalmar Lundbohmsgården (ursprunglig plats)", "Hjalmar Lundbohmsgården (original site)"},
	"hjalmar_lundbohmsgarden_new": {"Hjalmar Lundbohmsgården (ny plats)", "Hjalmar Lundbohmsgården (new site)"},
	"old_town_hall":               {"Gamla stadshuset", "Old town hall"},
	"kristallen":                  {"Kristallen", "Kristallen"},
}

// landmarkLives dates each landmark from facts/timeline.csv.
var landmarkLives = map[string][2]string{
	"old_town_centre":             {"1900-04-27", ""},
	"new_town_centre":             {"2014", ""},
	"new_centre_decision_point":   {"2010-06", ""},
	"kiruna_church_old":           {"1912-12-08", "2025-08-20"},
	"kiruna_church_new":           {"2025-08-20", ""},
	"kiirunavaara_summit":         {"1900", ""},
	"luossavaara_summit":          {"1900", ""},
	"kiruna_c_old_station":        {"1900", "2017-06"},
	"temporary_station_2013":      {"2013-08-30", ""},
	"new_station_planned":         {"2021", "2029"},
	"new_station":                 {"2029", ""},
	"kiruna_airport":              {"1960", ""},
	"hjalmar_lundbohmsgarden_old": {"1900", "2017-09-26"},
	"hjalmar_lundbohmsgarden_new": {"2017-09-28", ""},
	"old_town_hall":               {"1963", "2019-07"},
	"kristallen":                  {"2018-11", ""},
}

// landmarkSuccessors: a landmark whose name changes at a date goes on as
// another feature at the same place (the planned station is "planerat" until
// it opens in 2029).
var landmarkSuccessors = map[string]string{"new_station_planned": "new_station"}

func landmarkFeatures(lms []landmark) []*twin.Feature {
	var out []*twin.Feature
	for _, l := range lms {
		if next, ok := landmarkSuccessors[l.ID]; ok {
			n := l
			n.ID = next
			lms = append(lms, n)
		}
	}
	for _, l := range lms {
		life, ok := landmarkLives[l.ID]
		if !ok {
			life = [2]string{"1900", ""}
		}
		kind := landmarkKinds[l.ID]
		if kind == "" {
			kind = "place"
		}
		names, ok := landmarkNames[l.ID]
		if !ok {
			n, _, _ := strings.Cut(l.Name, " (")
			n, _, _ = strings.Cut(n, ", ")
			names = [2]string{n, n}
		}
		name := names[0]
		f := &twin.Feature{ID: l.ID, Layer: twin.Landmarks, Kind: kind, Name: name, Geometry: l.At,
			Life: twin.Lifespan{From: at(life[0]), To: at(life[1])}, Confidence: twin.Confidence(l.Confidence), Source: l.Source,
			Props: map[string]any{"era": l.Era, "description": l.Name, "name_en": names[1]}}
		if l.Note != "" {
			f.Props["note"] = l.Note
		}
		out = append(out, f)
	}
	return out
}

func line(pts ...orb.Point) orb.LineString { return orb.LineString(pts) }

// frameLine is a line at u from v0 to v1 in the front's frame.
func frameLine(u, v0, v1 float64, wobble float64) orb.LineString {
	var ls orb.LineString
	for v := v0; v <= v1+1e-9; v += (v1 - v0) / 8 {
		ls = append(ls, frameLonLat(u+wobble*math.Sin(v/300), v))
	}
	return ls
}

func infra(id, kind, name string, g orb.Geometry, from, to string, conf twin.Confidence, source string) *twin.Feature {
	return &twin.Feature{ID: id, Layer: twin.Infrastructure, Kind: kind, Name: name, Geometry: g,
		Life: twin.Lifespan{From: at(from), To: at(to)}, Confidence: conf, Source: source}
}

// malmvagen runs from the old town's side into the new centre and on
// along the grid's east–west street just south of Kristallen.
func malmvagen(newC orb.Point, grid *centreGrid) orb.LineString {
	e := grid.ew[malmvagenRow]
	return line(synth.Offset(newC, -900, 120), synth.Offset(newC, -600, 40), toLL(e[0]), toLL(e[1]), toLL(add(e[1], scale(grid.ux, 300))))
}

// roadHalfWidth is how far generated buildings keep from the centre line
// of each kind of line, metres.
var roadHalfWidth = map[string]float64{
	"road_major": 10, "road": 7, "road_construction": 10, "rail": 5, "street": 6,
}

func walkLines(g orb.Geometry, fn func(orb.LineString)) {
	switch g := g.(type) {
	case orb.LineString:
		fn(g)
	case orb.MultiLineString:
		for _, l := range g {
			fn(l)
		}
	}
}

func infrastructure(lm map[string]landmark, grid *centreGrid) []*twin.Feature {
	oldStation := lm["kiruna_c_old_station"].At
	tempStation := lm["temporary_station_2013"].At
	newStation := lm["new_station_planned"].At
	newC := lm["new_town_centre"].At
	tv := "trafikverket.se/kiruna"
	out := []*twin.Feature{
		infra("malmbanan-gammal", "rail", "Malmbanan (gamla sträckningen)",
			line(orb.Point{20.345, 67.826}, orb.Point{20.29, 67.836}, orb.Point{20.25, 67.846}, oldStation, orb.Point{20.205, 67.866}, orb.Point{20.19, 67.878}),
			"1902", "2012-08-31", twin.Guess, "kiruna.se ny-jarnvag"),
		infra("malmbanan-ny", "rail", "Malmbanan (nya sträckningen bakom Kiirunavaara)",
			line(orb.Point{20.345, 67.826}, orb.Point{20.28, 67.826}, orb.Point{20.22, 67.818}, orb.Point{20.165, 67.815},
				orb.Point{20.155, 67.84}, orb.Point{20.175, 67.862}, orb.Point{20.2, 67.872}, orb.Point{20.19, 67.878}),
			"2012-08-31", "", twin.Guess, "kiruna.se ny-jarnvag (new 18 km route opened 2012-08-31)"),
		infra("bangard-gamla-stationen", "rail", "Spår till gamla Kiruna C",
			line(orb.Point{20.175, 67.862}, orb.Point{20.2, 67.858}, oldStation), "2012-08-31", "2013-08-30", twin.Guess,
			"jarnvagsnyheter.se (last train from old Kiruna C 2013-08-30)"),
		infra("spar-tillfallig-station", "rail", "Spår till tillfälliga stationen",
			line(orb.Point{20.2, 67.872}, tempStation), "2013-08-30", "", twin.Guess, "kiruna.se ny-jarnvag"),
		infra("spar-ny-station", "rail", "Järnväg till nya resecentrum",
			line(orb.Point{20.28, 67.826}, orb.Point{20.285, 67.838}, newStation), "2029", "", twin.Guess,
			"trafikverket.se Kiruna ny järnvägsstation (ready about 2029)"),
		infra("e10-gamla-silfwerbrand-station", "road_major", "E10 (gamla) Silfwerbrandsgatan–Stationsgatan",
			frameLine(1000, -420, 380, 0), "1962", "2020-04-20", twin.Guess, "kiruna.se 2020-02-12 news (closed 2020-04-20 due to ground movement)"),
		infra("e10-gamla-norr", "road_major", "E10 (gamla sträckningen, norra delen)",
			line(frameLonLat(1000, 380), frameLonLat(1000, 900), orb.Point{20.235, 67.866}, orb.Point{20.25, 67.878}), "1962", "2020-10", twin.Guess, tv),
		infra("e10-gamla-syd", "road_major", "E10 (gamla sträckningen, södra delen)",
			line(orb.Point{20.33, 67.815}, orb.Point{20.28, 67.834}, orb.Point{20.25, 67.843}, frameLonLat(1000, -420)), "1962", "2020-10", twin.Guess, tv),
		infra("e10-ny-bygge", "road_construction", "Nya E10 (byggs)",
			line(orb.Point{20.345, 67.818}, orb.Point{20.33, 67.838}, orb.Point{20.322, 67.858}, orb.Point{20.3, 67.872}, orb.Point{20.26, 67.879}),
			"2017-10-30", "2019-10", twin.Guess, "kiruna.se e10 (groundbreaking 2017-10-30)"),
		infra("e10-ny-etapp1", "road_major", "Nya E10 etapp 1 (Karhuniemi–Kurravaaravägen)",
			line(orb.Point{20.345, 67.818}, orb.Point{20.33, 67.838}, orb.Point{20.322, 67.858}), "2019-10", "", twin.Guess, tv),
		infra("e10-ny-etapp2", "road_major", "Nya E10 etapp 2",
			line(orb.Point{20.322, 67.858}, orb.Point{20.3, 67.872}, orb.Point{20.26, 67.879}), "2020-10", "", twin.Guess, tv),
		infra("hjalmar-lundbohmsvagen", "road", "Hjalmar Lundbohmsvägen",
			frameLine(1192, -380, 760, 3), "1900-04-27", "2025", twin.Guess, "kiruna.se QR gruvstadsparken (mine-area fence moved up to Hjalmar Lundbohmsvägen 2025)"),
		infra("malmvagen", "road", "Malmvägen", malmvagen(newC, grid), "2016", "", twin.Guess,
			"ghilardihellsten.com (an east–west spine along Malmvägen); in the new centre along its grid (facts/landscape.csv row nya-centrum-gator)"),
		infra("lombololeden", "road", "Lombololeden",
			line(orb.Point{20.235, 67.842}, orb.Point{20.26, 67.8425}, orb.Point{20.29, 67.8425}, orb.Point{20.31, 67.841}), "1975", "", twin.Guess, "trafikverket.se (station site S of Lombololeden)"),
		infra("fjarrvarme-stamledning-ny", "district_heating", "Fjärrvärme, ny stamledning till nya centrum",
			line(orb.Point{20.245, 67.848}, orb.Point{20.27, 67.848}, synth.Offset(newC, -200, 60), newC), "2015", "", twin.Guess,
			"kiruna.se (district heating rerouted to the new centre)"),
		infra("vatten-huvudledning-ny", "water_main", "Vattenledning, ny huvudledning",
			line(orb.Point{20.25, 67.852}, orb.Point{20.28, 67.853}, synth.Offset(newC, -100, 150)), "2016", "", twin.Guess,
			"kiruna.se (pipes rerouted for the new centre)"),
	}
	// The old district-heating net under the old town's streets: each
	// part goes when the front reaches it. (The streets themselves are
	// the districts' generated streets.)
	for i, u := range []float64{480, 620, 760, 900, 1100, 1320, 1460} {
		if i%2 == 0 {
			continue
		}
		to := ""
		if y := frontReaches(u); y > 0 {
			to = fmt.Sprint(y)
		}
		heat := infra(fmt.Sprintf("fjarrvarme-gamla-%d", i+1), "district_heating", "Fjärrvärme, gamla nätet",
			frameLine(u+15, -200, 1100, 25), "1965", to, twin.Guess, "modell: gamla fjärrvärmenätet, stängt när zonen når det")
		heat.Props = map[string]any{"name_en": "District heating, old network", "source_en": "model: old district-heating net, closed as the front arrives"}
		out = append(out, heat)
	}
	return out
}

func zone(id, kind, name string, g orb.Geometry, from, to time.Time, source string, props map[string]any) *twin.Feature {
	return &twin.Feature{ID: id, Layer: twin.Zones, Kind: kind, Name: name, Geometry: g, Life: twin.Lifespan{From: from, To: to},
		Confidence: twin.Guess, Source: source, Props: props}
}

func boundPolygon(b orb.Bound) orb.Polygon {
	return orb.Polygon{orb.Ring{b.Min, {b.Max[0], b.Min[1]}, b.Max, {b.Min[0], b.Max[1]}, b.Min}}
}

func zones(districts []district, lm map[string]landmark) []*twin.Feature {
	var out []*twin.Feature
	model := "modell som stämmer med tidslinjens årtal; LKAB:s deformationsprognoser (kiruna.se sa-paverkas-kiruna)"
	modelEN := "model calibrated to facts/timeline.csv; LKAB deformation forecasts (kiruna.se sa-paverkas-kiruna)"
	years := []int{1960, 1970, 1980, 1990}
	for y := 2000; y <= 2040; y++ {
		years = append(years, y)
	}
	for i, y := range years {
		end := 2041
		if i+1 < len(years) {
			end = years[i+1]
		}
		for _, k := range zoneKinds {
			u := frontU(float64(y)) - k.setback
			if u <= zoneUMin+50 {
				continue
			}
			out = append(out, zone(fmt.Sprintf("zon-%s-%d", k.kind, y), k.kind, k.sv, zonePolygon(u), synth.Year(y), synth.Year(end), model,
				map[string]any{"name_en": k.en, "year": float64(y), "source_en": modelEN}))
		}
	}
	db := map[string]orb.Bound{}
	for _, d := range districts {
		db[d.ID] = d.Bound
	}
	out = append(out,
		zone("plan-luossavaara-2007", "planning_area", "Nytt centrum mot Luossavaara (beslut 2007)", boundPolygon(db["luossavaara_foot"]),
			at("2007-01-08"), at("2010-06"), "sv.wikipedia Luossavaara; en.white.se (council decision 2007-01-08)", map[string]any{"name_en": "New centre towards Luossavaara (2007 decision)"}),
		zone("plan-osterut-2010", "planning_area", "Flytt österut mot Tuolluvaara (beslut 2010)", boundPolygon(db["centrum_new"].Union(db["tuolluvaara"])),
			at("2010-06"), at("2013-03"), "en.wikipedia quoted on miestai.net (council decision June 2010)", map[string]any{"name_en": "Move east towards Tuolluvaara (2010 decision)"}),
		zone("plan-kiruna-4-ever", "planning_area", "Kiruna 4-ever (vinnande förslag 2013)", boundPolygon(db["centrum_new"]),
			at("2013-03"), at("2022-09-01"), "docslib jury report; stirworld (White + Ghilardi+Hellsten win 2013)", map[string]any{"name_en": "Kiruna 4-ever (winning proposal 2013)"}),
		zone("gruvstadspark-1", "mine_park", "Gruvstadspark 1", boundPolygon(db["bolagsomradet"]),
			at("2011-02"), noTime, "kiruna.se gruvstadspark-1 (agreements 2011)", map[string]any{"name_en": "Mine town park 1"}),
		zone("gruvstadspark-2", "mine_park", "Gruvstadspark 2", zonePolygon(frontU(2023)),
			at("2014-06-02"), noTime, "samhallsomvandling.lkab.com gruvstadspark-2 (agreement approved 2014-06-02; demolition 2022–2023)", map[string]any{"name_en": "Mine town park 2", "demolition": "2022-06"}),
		zone("paverkansgrans-2035", "impact_boundary", "LKAB:s påverkansgräns till 2035", zonePolygon(frontU(2035)),
			at("2020-09"), noTime, "kiruna.se sa-paverkas-kiruna (adjusted impact boundary to 2035, main level 1365)", map[string]any{"name_en": "LKAB impact boundary to 2035"}),
		zone("gruvomradets-stangsel-2025", "fenced", "Gruvområdets stängsel (2025)", zonePolygon(1192),
			at("2025"), noTime, "kiruna.se QR gruvstadsparken (fence moved up to Hjalmar Lundbohmsvägen 2025)", map[string]any{"name_en": "Mine-area fence (2025)"}),
		zone("lkab-gruvan", "mine", "LKAB Kiirunavaaragruvan", circle(orb.Point{20.19, 67.835}, 900, 24),
			at("1890"), noTime, "spark.adobe.com Kiruna tidslinje (LKAB founded 1890)", map[string]any{"name_en": "LKAB Kiirunavaara mine"}),
	)
	_ = lm
	return out
}

// Sensor themes: the unit, how many, where, and since when.
type sensorTheme struct {
	typ, unit, prefix, sv string
	n                     int
	since                 string
}

var sensorThemes = []sensorTheme{
	{"ground_deformation", "mm", "gd", "Markrörelse, reflektor", 33, "2012"},
	{"district_heating", "°C", "dh", "Fjärrvärme, framledning", 8, "2015"},
	{"waste_fill", "%", "wf", "Avfallskärl", 24, "2022-09-01"},
	{"snow_depth", "cm", "sd", "Snödjup", 6, "2019"},
	{"blast_vibration", "mm/s", "bv", "Sprängvibrationer", 8, "2014"},
	{"air_quality", "µg/m³", "aq", "Luftkvalitet PM10", 5, "2018"},
}

func sensors(lm map[string]landmark, districts []district) []*twin.Feature {
	db := map[string]orb.Bound{}
	for _, d := range districts {
		db[d.ID] = d.Bound
	}
	r := rand.New(rand.NewPCG(33, 0x73656e73))
	in := func(b orb.Bound) orb.Point {
		return orb.Point{b.Min[0] + r.Float64()*(b.Max[0]-b.Min[0]), b.Min[1] + r.Float64()*(b.Max[1]-b.Min[1])}
	}
	now := frontU(2026)
	var out []*twin.Feature
	for _, th := range sensorThemes {
		for i := 0; i < th.n; i++ {
			var p orb.Point
			props := map[string]any{"type": th.typ, "unit": th.unit, "source_en": "model: sensor site of the theme, placed for the simulator"}
			switch th.typ {
			case "ground_deformation":
				// The corner-reflector sites: a grid across the front and the
				// ground east of it, where InSAR watches the strain.
				u := 300 + float64(i%11)*160 + (r.Float64()-0.5)*40
				v := -1300 + float64(i/11)*1000 + (r.Float64()-0.5)*120
				p = frameLonLat(u, v)
				creep := 2 + 60*math.Exp(-math.Max(0, u-now)/350)
				props["creep_mm_per_year"] = math.Round(creep*10) / 10
				props["site"] = fmt.Sprintf("CR%02d", i+1)
			case "district_heating":
				p = in(db[[]string{"centrum_new", "lombolo", "tuolluvaara", "norrmalm"}[i%4]])
			case "waste_fill":
				p = in(db[[]string{"centrum_new", "centrum_new", "lombolo", "luossavaara_foot"}[i%4]])
			case "snow_depth":
				p = in(db[[]string{"centrum_new", "lombolo", "tuolluvaara", "norrmalm", "luossavaara_foot", "centrum_old"}[i]])
			case "blast_vibration":
				p = frameLonLat(now+100+float64(i%4)*220, -900+float64(i)*280)
			case "air_quality":
				p = in(db[[]string{"centrum_new", "lombolo", "norrmalm", "tuolluvaara", "centrum_new"}[i]])
			}
			id := fmt.Sprintf("%s-%02d", th.prefix, i+1)
			out = append(out, &twin.Feature{ID: id, Layer: twin.Sensors, Kind: th.typ, Name: fmt.Sprintf("%s %d", th.sv, i+1),
				Geometry: orb.Point{math.Round(p[0]*1e6) / 1e6, math.Round(p[1]*1e6) / 1e6}, Life: twin.Lifespan{From: at(th.since)},
				Confidence: twin.Guess, Source: "modell: en plats för temats sensor, placerad för simulatorn", Props: props})
		}
	}
	return out
}
