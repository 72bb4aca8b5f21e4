package kiruna

import (
	"fmt"
	"math"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// at parses a date the way scene files do; the generator's own dates are
// constants, so a bad one is a programming error.
func at(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := twin.ParseInstant(s)
	if err != nil {
		panic(fmt.Sprintf("kiruna: bad date %q in the generator: %v", s, err))
	}
	return t
}

// circle returns a closed ring of n vertices around c with radius r metres.
func circle(c orb.Point, r float64, n int) orb.Polygon {
	ring := make(orb.Ring, 0, n+1)
	for i := 0; i < n; i++ {
		a := 2 * math.Pi * float64(i) / float64(n)
		ring = append(ring, synth.Offset(c, r*math.Cos(a), r*math.Sin(a)))
	}
	return orb.Polygon{append(ring, ring[0])}
}

// rect is an axis-aligned footprint w × d metres centred on c, turned by
// angle degrees.
func rect(c orb.Point, w, d, angle float64) orb.Polygon {
	return synth.Footprint(c, w, d, angle*math.Pi/180, 0)
}

// building is a hand-placed building of the scene's story.
type building struct {
	id, name, kind string
	geom           orb.Polygon
	height         float64
	from, to       string
	status         twin.Status
	lineage        string
	conf           twin.Confidence
	source         string
	props          map[string]any
}

func (b building) feature() *twin.Feature {
	f := &twin.Feature{
		ID: b.id, Layer: twin.Buildings, Kind: b.kind, Name: b.name, Geometry: b.geom,
		Height: b.height, Status: b.status, Lineage: b.lineage, Confidence: b.conf, Source: b.source,
		Life: twin.Lifespan{From: at(b.from), To: at(b.to)}, Props: b.props,
	}
	if f.Status == "" {
		f.Status = twin.Standing
		if !f.Life.To.IsZero() {
			f.Status = twin.Demolished
		}
	}
	return f
}

// move is a building carried whole from one site to another.
type move struct {
	lineage, name, kind string
	w, d, height        float64
	built, moved        string // moved: the day it stands at the new site
	left                string // the day it left the old site; "" means moved
	from, to            orb.Point
	fromConf, toConf    twin.Confidence
	source              string
}

func (m move) features() []*twin.Feature {
	left := m.left
	if left == "" {
		left = m.moved
	}
	props := map[string]any{"moved": m.moved[:min(len(m.moved), 10)]}
	old := building{id: m.lineage + "-old", name: m.name, kind: m.kind, geom: rect(m.from, m.w, m.d, 0), height: m.height,
		from: m.built, to: left, status: twin.Moved, lineage: m.lineage, conf: m.fromConf, source: m.source, props: props}
	nw := building{id: m.lineage + "-new", name: m.name, kind: m.kind, geom: rect(m.to, m.w, m.d, 0), height: m.height,
		from: m.moved, status: twin.Moved, lineage: m.lineage, conf: m.toConf, source: m.source, props: props}
	return []*twin.Feature{old.feature(), nw.feature()}
}

// placedBuildings are the buildings of the story, placed at the sourced or
// described sites in facts/landmarks.csv and dated by facts/timeline.csv.
func placedBuildings(lm map[string]landmark) []*twin.Feature {
	conf := func(id string) twin.Confidence { return twin.Confidence(lm[id].Confidence) }
	src := func(id string) string { return lm[id].Source }
	bolag := orb.Point{20.2185, 67.8505} // Bolagsområdet, near Ingenjörsgatan (guess)
	luossa := lm["hjalmar_lundbohmsgarden_new"].At
	newC := lm["new_town_centre"].At
	lkabSrc := "lkab.com; kiruna.se (heritage moves 2017)"

	var out []*twin.Feature
	for _, m := range []move{
		{lineage: "kiruna-kyrka", name: "Kiruna kyrka", kind: "church", w: 40, d: 40, height: 40,
			built: "1912-12-08", moved: "2025-08-20", from: lm["kiruna_church_old"].At, to: lm["kiruna_church_new"].At,
			fromConf: conf("kiruna_church_old"), toConf: conf("kiruna_church_new"),
			source: "en.wikipedia.org/wiki/Kiruna_Church; lkab.com (moved 19–20 Aug 2025)"},
		{lineage: "kiruna-kyrka-klockstapel", name: "Kiruna kyrkas klockstapel", kind: "bell_tower", w: 7, d: 7, height: 22,
			built: "1912-12-08", moved: "2025-08-26",
			from: synth.Offset(lm["kiruna_church_old"].At, 45, -10), to: synth.Offset(lm["kiruna_church_new"].At, 45, -10),
			fromConf: twin.Guess, toConf: twin.Guess, source: "ecr.co.za (AFP); lkab.com (bell tower moved 26 Aug 2025)"},
		{lineage: "stadshusets-klocktorn", name: "Stadshusets klocktorn", kind: "bell_tower", w: 5, d: 5, height: 26,
			built: "1963", moved: "2017-06-01",
			from: synth.Offset(lm["old_town_hall"].At, 45, 20), to: synth.Offset(newC, -70, -40),
			fromConf: twin.Guess, toConf: twin.Guess, source: "kiruna.se QR stadshus (26 m iron bell tower moved 2017 to Kristallen square)"},
		{lineage: "hjalmar-lundbohmsgarden", name: "Hjalmar Lundbohmsgården", kind: "heritage_house", w: 26, d: 12, height: 9,
			built: "1900", left: "2017-09-26", moved: "2017-09-28",
			from: lm["hjalmar_lundbohmsgarden_old"].At, to: luossa,
			fromConf: conf("hjalmar_lundbohmsgarden_old"), toConf: conf("hjalmar_lundbohmsgarden_new"),
			source: "lkab.com press 2017-09-20; samhallsomvandling.lkab.com"},
		{lineage: "b5", name: "B5 (tjänstemannabostad)", kind: "heritage_house", w: 14, d: 10, height: 8,
			built: "1900", moved: "2017-05-24", from: synth.Offset(bolag, -60, 30), to: synth.Offset(luossa, -80, -40),
			fromConf: twin.Guess, toConf: twin.Guess, source: lkabSrc},
		{lineage: "blackhorn-b51", name: "Bläckhornet B51", kind: "heritage_house", w: 18, d: 11, height: 8,
			built: "1902", moved: "2017-06", from: synth.Offset(bolag, 0, -60), to: synth.Offset(luossa, -40, -90),
			fromConf: twin.Guess, toConf: twin.Guess, source: lkabSrc},
		{lineage: "blackhorn-b52", name: "Bläckhornet B52", kind: "heritage_house", w: 18, d: 11, height: 8,
			built: "1902", moved: "2017-06", from: synth.Offset(bolag, 30, -60), to: synth.Offset(luossa, -10, -90),
			fromConf: twin.Guess, toConf: twin.Guess, source: lkabSrc},
		{lineage: "blackhorn-b53", name: "Bläckhornet B53", kind: "heritage_house", w: 18, d: 11, height: 8,
			built: "1902", moved: "2017-06", from: synth.Offset(bolag, 60, -60), to: synth.Offset(luossa, 20, -90),
			fromConf: twin.Guess, toConf: twin.Guess, source: lkabSrc},
		{lineage: "ingenjorsvillan", name: "Ingenjörsvillan", kind: "heritage_house", w: 16, d: 12, height: 9,
			built: "1900", moved: "2017-08", from: synth.Offset(bolag, -40, -20), to: synth.Offset(luossa, 50, -50),
			fromConf: twin.Guess, toConf: twin.Guess, source: lkabSrc},
		{lineage: "lansmansbostaden", name: "Länsmansbostaden", kind: "heritage_house", w: 15, d: 11, height: 8,
			built: "1905", moved: "2017-10-25", from: synth.Offset(bolag, 80, 40), to: synth.Offset(luossa, 80, -10),
			fromConf: twin.Guess, toConf: twin.Guess, source: lkabSrc},
		{lineage: "gula-raden-1", name: "Gula raden 1", kind: "heritage_house", w: 20, d: 9, height: 8,
			built: "1900", moved: "2019-10", from: synth.Offset(bolag, -90, -40), to: synth.Offset(newC, -160, 90),
			fromConf: twin.Guess, toConf: twin.Guess, source: "kiruna.se; kirunalapland.se (Gula raden moved Oct 2019)"},
		{lineage: "gula-raden-2", name: "Gula raden 2", kind: "heritage_house", w: 20, d: 9, height: 8,
			built: "1900", moved: "2019-10", from: synth.Offset(bolag, -90, -60), to: synth.Offset(newC, -160, 75),
			fromConf: twin.Guess, toConf: twin.Guess, source: "kiruna.se; kirunalapland.se (Gula raden moved Oct 2019)"},
		{lineage: "gula-raden-3", name: "Gula raden 3", kind: "heritage_house", w: 20, d: 9, height: 8,
			built: "1900", moved: "2019-10", from: synth.Offset(bolag, -90, -80), to: synth.Offset(newC, -160, 60),
			fromConf: twin.Guess, toConf: twin.Guess, source: "kiruna.se; kirunalapland.se (Gula raden moved Oct 2019)"},
	} {
		out = append(out, m.features()...)
	}
	sjFrom := synth.Offset(lm["kiruna_c_old_station"].At, 60, 70)
	sjTo := synth.Offset(lm["temporary_station_2013"].At, 150, -80)
	for i := 0; i < 5; i++ {
		out = append(out, move{lineage: fmt.Sprintf("sj-hus-%d", i+1), name: fmt.Sprintf("SJ-hus %d", i+1), kind: "heritage_house",
			w: 14, d: 10, height: 8, built: "1903", moved: "2022-06",
			from: synth.Offset(sjFrom, float64(i)*22, 0), to: synth.Offset(sjTo, float64(i)*22, 0),
			fromConf: twin.Guess, toConf: twin.Guess, source: "kiruna.se QR (5 SJ-area houses moved to the Lokstall area, 2022)"}.features()...)
	}

	for _, b := range []building{
		{id: "stadshuset-1963", name: "Kiruna stadshus (”Iglon”)", kind: "town_hall", geom: rect(lm["old_town_hall"].At, 62, 44, 15), height: 20,
			from: "1963", to: "2019-07", conf: conf("old_town_hall"), source: src("old_town_hall"),
			props: map[string]any{"architect": "Artur von Schmalensee", "closed": "2018-08-10"}},
		{id: "kristallen-stadshus", name: "Kristallen (stadshus)", kind: "town_hall", geom: circle(lm["kristallen"].At, 26.5, 40), height: 34.35,
			from: "2018-11", conf: conf("kristallen"), source: "kiruna.se Kristallen fact page; bustler.net (inaugurated Nov 2018)",
			props: map[string]any{"architect": "Henning Larsen", "floor_area_m2": 14400.0}},
		{id: "kiruna-c-1900", name: "Kiruna centralstation", kind: "station", geom: rect(lm["kiruna_c_old_station"].At, 70, 14, 30), height: 10,
			from: "1900", to: "2017-06", conf: conf("kiruna_c_old_station"), source: src("kiruna_c_old_station"),
			props: map[string]any{"last_train": "2013-08-30"}},
		{id: "stationshotellet", name: "Stationshotellet", kind: "hotel", geom: rect(synth.Offset(lm["kiruna_c_old_station"].At, 0, -45), 32, 16, 30), height: 12,
			from: "1903", to: "2017-06", conf: twin.Guess, source: "kiruna.se; lkab.com (station and station hotel demolished 2017)"},
		{id: "tillfallig-station", name: "Kiruna tillfälliga station", kind: "station", geom: rect(lm["temporary_station_2013"].At, 22, 9, 0), height: 4,
			from: "2013-08-30", conf: conf("temporary_station_2013"), source: src("temporary_station_2013")},
		{id: "ny-station", name: "Kiruna nya resecentrum", kind: "station", geom: rect(lm["new_station_planned"].At, 80, 22, -10), height: 12,
			from: "2029", status: twin.Planned, conf: conf("new_station_planned"), source: src("new_station_planned")},
		{id: "aurora", name: "Kulturhuset Aurora", kind: "culture_centre", geom: rect(synth.Offset(lm["kristallen"].At, 95, 10), 55, 40, -12), height: 22,
			from: "2021", conf: twin.Guess, source: "northswedenbusiness.com (Aurora opens 2021 next to Kristallen)"},
		{id: "scandic-ferrum-ny", name: "Scandic Kiruna", kind: "hotel", geom: rect(synth.Offset(lm["kristallen"].At, 40, -95), 48, 18, -12), height: 24,
			from: "2022", conf: twin.Guess, source: "northswedenbusiness.com (Scandic hotel opens 2022)"},
		{id: "brandstation-gammal", name: "Brandstationen (gamla)", kind: "fire_station", geom: rect(synth.Offset(lm["old_town_hall"].At, -120, -140), 40, 22, 15), height: 9,
			from: "1965", to: "2020-10", conf: twin.Guess, source: "kiruna.se dokumentation (fire brigade moves 2020)"},
		{id: "brandstation-ny", name: "Brandstationen (nya)", kind: "fire_station", geom: rect(synth.Offset(lm["new_town_centre"].At, -380, 210), 52, 26, -12), height: 10,
			from: "2020-10", conf: twin.Guess, source: "kiruna.se dokumentation (fire brigade moves to new station, Oct 2020)"},
		{id: "lkab-b1", name: "LKAB B1", kind: "office", geom: rect(orb.Point{20.203, 67.8465}, 20, 12, 0), height: 8,
			from: "1890", conf: twin.Guess, source: "spark.adobe.com Kiruna tidslinje (LKAB's first building B1 at Luossajärvi)"},
	} {
		out = append(out, b.feature())
	}
	return out
}
