package kiruna

import (
	"fmt"
	"math"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// storyEvent ties a row of facts/timeline.csv to a date the timeline can
// mark, its words in Swedish and English, and the feature it concerns.
type storyEvent struct {
	date    string // the day the timeline marks
	sv, en  string
	feature string
	place   string // a landmark to fly to, when the feature is not a point of its own
	zoom    float64
}

// story is keyed by the date column of facts/timeline.csv.
var story = map[string]storyEvent{
	"1890":           {"1890", "LKAB grundas; första byggnaden B1 vid Luossajärvi", "LKAB founded; first building B1 at Luossajärvi", "lkab-b1", "", 15},
	"1900-04-27":     {"1900-04-27", "Stadsplanen antas – Kiruna grundas", "City plan adopted – Kiruna founded", "old_town_centre", "", 14},
	"1912-12-08":     {"1912-12-08", "Kiruna kyrka invigs", "Kiruna church consecrated", "kiruna-kyrka-old", "kiruna_church_old", 16},
	"1963":           {"1963", "Stadshuset ”Iglon” invigs", "Town hall ‘Igloo’ inaugurated", "stadshuset-1963", "old_town_hall", 16},
	"2004":           {"2004", "LKAB: centrum måste flytta", "LKAB: the centre must move", "zon-deformation-2004", "old_town_centre", 13.5},
	"2007-01-08":     {"2007-01-08", "Beslut: centrum flyttas mot Luossavaara", "Decision: centre to move towards Luossavaara", "plan-luossavaara-2007", "luossavaara_summit", 14},
	"2010-06":        {"2010-06", "Beslut: flytt österut mot Tuolluvaara", "Decision: move east towards Tuolluvaara", "plan-osterut-2010", "new_centre_decision_point", 14},
	"2011-02":        {"2011-02", "Avtal om Gruvstadspark 1", "Mine town park 1 agreed", "gruvstadspark-1", "hjalmar_lundbohmsgarden_old", 15},
	"2012-08-31":     {"2012-08-31", "Malmbanans nya sträckning öppnar", "New ore railway route opens", "malmbanan-ny", "kiirunavaara_summit", 13},
	"2013-02/03":     {"2013-03", "”Kiruna 4-ever” vinner tävlingen om nya centrum", "‘Kiruna 4-ever’ wins the new-centre competition", "plan-kiruna-4-ever", "new_town_centre", 15},
	"2013-08-30":     {"2013-08-30", "Sista tåget från gamla Kiruna C", "Last train from old Kiruna C", "kiruna-c-1900", "kiruna_c_old_station", 16},
	"2014-06-02":     {"2014-06-02", "Avtal om Gruvstadspark 2", "Mine town park 2 agreed", "gruvstadspark-2", "old_town_centre", 14},
	"2014-2015":      {"2015", "De första husen närmast gruvan töms", "First houses nearest the mine vacated", "zon-deformation-2015", "old_town_centre", 14.5},
	"2017":           {"2017-09-28", "Hjalmar Lundbohmsgården och andra kulturhus flyttas", "Hjalmar Lundbohmsgården and other heritage houses moved", "hjalmar-lundbohmsgarden-new", "hjalmar_lundbohmsgarden_new", 16},
	"2017-10-30":     {"2017-10-30", "Bygget av nya E10 börjar", "Construction of the new E10 begins", "e10-ny-bygge", "new_town_centre", 13.5},
	"2018-08-10":     {"2018-08-10", "Gamla stadshuset stänger", "Old town hall closes", "stadshuset-1963", "old_town_hall", 16},
	"2018-11":        {"2018-11", "Kristallen invigs", "Kristallen inaugurated", "kristallen-stadshus", "kristallen", 16},
	"2019":           {"2019-07", "Gamla stadshuset rivs", "Old town hall demolished", "stadshuset-1963", "old_town_hall", 16},
	"2019-10":        {"2019-10", "Nya E10 etapp 1 öppnar; Gula raden flyttas", "New E10 stage 1 opens; Gula raden moved", "e10-ny-etapp1", "new_town_centre", 14},
	"2020-04-20":     {"2020-04-20", "Gamla E10 stängs av markrörelser", "Old E10 closed by ground movement", "e10-gamla-silfwerbrand-station", "old_town_centre", 15},
	"2020-09":        {"2020-09", "LKAB:s påverkansgräns till 2035", "LKAB's impact boundary to 2035", "paverkansgrans-2035", "old_town_centre", 14},
	"2020-10":        {"2020-10", "Hela nya E10 öppnar; brandstationen flyttar", "Whole new E10 open; fire station moves", "e10-ny-etapp2", "new_town_centre", 14},
	"2021":           {"2021", "Kulturhuset Aurora öppnar", "Aurora culture centre opens", "aurora", "kristallen", 16},
	"2022":           {"2022-06", "Fem SJ-hus flyttas; Scandic öppnar", "Five SJ houses moved; Scandic opens", "sj-hus-1-new", "temporary_station_2013", 16},
	"2022-09-01/03":  {"2022-09-01", "Nya stadskärnan invigs", "New city centre inaugurated", "plan-kiruna-4-ever", "new_town_centre", 15.5},
	"2022-2023":      {"2022-06", "Rivningar i Gruvstadspark 2", "Demolition in mine town park 2", "gruvstadspark-2", "old_town_centre", 14.5},
	"2025":           {"2025", "Gruvområdets stängsel flyttas till Hjalmar Lundbohmsvägen", "Mine fence moved up to Hjalmar Lundbohmsvägen", "gruvomradets-stangsel-2025", "kiruna_church_old", 15},
	"2025-08-19/20":  {"2025-08-20", "Kiruna kyrka flyttas", "Kiruna church moved", "kiruna-kyrka-new", "kiruna_church_new", 15.5},
	"2025-26 / 2029": {"2029", "Nya resecentrum klart (planerat)", "New station ready (planned)", "ny-station", "new_station_planned", 15.5},
	"~2035":          {"2035", "Gamla centrum helt avvecklat", "Old centre fully decommissioned", "zon-deformation-2035", "old_town_centre", 14},
}

// churchRoute sketches the way the church was rolled in August 2025, from
// its old site south-east to Lombololeden, east along it and north to the
// new site by the cemetery (about 5 km). The line is drawn by hand from the
// descriptions (lkab.com, kiruna.se), not surveyed.
func churchRoute(lm map[string]landmark) [][2]float64 {
	from, to := lm["kiruna_church_old"].At, lm["kiruna_church_new"].At
	return [][2]float64{
		{from[0], from[1]}, {20.2368, 67.8503}, {20.2405, 67.8478}, {20.2462, 67.8449}, {20.2540, 67.8430},
		{20.2700, 67.8424}, {20.2860, 67.8424}, {20.2935, 67.8440}, {20.2968, 67.8472}, {to[0], to[1]},
	}
}

// sceneBounds are the scene's bounds: the town, the lakes and the mire
// around them.
var sceneBounds = [4]float64{20.10, 67.80, 20.38, 67.895}

func scene(timeline []event, lm map[string]landmark, layerOf map[string]twin.Layer, centre map[string]orb.Point) scenes.Scene {
	sc := scenes.Scene{
		ID:       "kiruna",
		Title:    "Kiruna – staden som flyttar",
		Titles:   map[string]string{"sv": "Kiruna – staden som flyttar", "en": "Kiruna – the town that moves"},
		Bounds:   sceneBounds,
		Center:   [2]float64{20.262, 67.852},
		Zoom:     13,
		Pitch:    50,
		Bearing:  -12,
		Timeline: scenes.Timeline{Start: 1900, End: 2040},
		Timezone: "Europe/Stockholm",
		Layers: []scenes.LayerInfo{
			{ID: twin.Zones, Title: "Deformationszon", Titles: map[string]string{"sv": "Deformationszon", "en": "Deformation zone"}, Kind: "polygon", File: "zones.geojson"},
			{ID: twin.Infrastructure, Title: "Infrastruktur", Titles: map[string]string{"sv": "Infrastruktur", "en": "Infrastructure"}, Kind: "line", File: "infrastructure.geojson"},
			{ID: twin.Buildings, Title: "Byggnader", Titles: map[string]string{"sv": "Byggnader", "en": "Buildings"}, Kind: "polygon", File: "buildings.geojson"},
			{ID: twin.Pilots, Title: "Pilotprojekt", Titles: map[string]string{"sv": "Pilotprojekt", "en": "Pilots"}, Kind: "mixed"},
			{ID: twin.Sensors, Title: "Sensorer", Titles: map[string]string{"sv": "Sensorer", "en": "Sensors"}, Kind: "point", File: "sensors.geojson"},
			{ID: twin.Landmarks, Title: "Platser", Titles: map[string]string{"sv": "Platser", "en": "Places"}, Kind: "point", File: "landmarks.geojson"},
		},
		Sources: []scenes.Source{
			{Name: "Kiruna facts (landmarks, timeline, districts) compiled from public pages: Wikipedia, kiruna.se, LKAB, Trafikverket and others named per row",
				Licence: "facts, not text; each feature names its source", Note: "see scenes/kiruna/facts/README.md"},
			{Name: "Generated ordinary buildings", Licence: "the project's own", Note: "no openly licensed building footprints for Kiruna were at hand"},
		},
	}
	base := []scenes.LayerInfo{
		{ID: twin.Landuse, Title: "Mark", Titles: map[string]string{"sv": "Mark", "en": "Land use"}, Kind: "polygon", File: "landuse.geojson"},
		{ID: twin.Water, Title: "Vatten", Titles: map[string]string{"sv": "Vatten", "en": "Water"}, Kind: "mixed", File: "water.geojson"},
	}
	sc.Layers = append(base, sc.Layers...) // the ground first, as the registry draws it
	pt := func(id string) [2]float64 { p := lm[id].At; return [2]float64{p[0], p[1]} }
	for _, row := range timeline {
		s, ok := story[row.Date]
		if !ok || s.date == "" {
			panic(fmt.Sprintf("kiruna: timeline row %q has no story entry", row.Date))
		}
		layer, ok := layerOf[s.feature]
		if !ok {
			panic(fmt.Sprintf("kiruna: timeline row %q names feature %q, which the scene lacks", row.Date, s.feature))
		}
		c := pt(s.place)
		if s.place == "" {
			// No landmark of its own: fly to the feature itself.
			p := centre[s.feature]
			c = [2]float64{math.Round(p[0]*1e6) / 1e6, math.Round(p[1]*1e6) / 1e6}
		}
		sc.Events = append(sc.Events, scenes.Event{Date: s.date, Title: map[string]string{"sv": s.sv, "en": s.en},
			Center: c, Zoom: s.zoom, Feature: s.feature, Layer: layer, Source: row.Source})
	}
	frame := func(w, s, e, n float64) *[4]float64 { return &[4]float64{w, s, e, n} }
	v := func(id, sv, en, tsv, ten string, c orb.Point, zoom, pitch, bearing, year float64) scenes.View {
		return scenes.View{ID: id, Title: map[string]string{"sv": sv, "en": en}, Text: map[string]string{"sv": tsv, "en": ten},
			Center: [2]float64{c[0], c[1]}, Zoom: zoom, Pitch: pitch, Bearing: bearing, Year: year}
	}
	sc.Views = []scenes.View{
		v("overview", "Staden som flyttar", "The town that moves",
			"Gruvan under Kiruna får marken att röra sig. Det gamla centrum töms och ett nytt byggs tre kilometer österut.",
			"The mine under Kiruna makes the ground move. The old centre is emptied and a new one is built three kilometres east.",
			orb.Point{20.262, 67.852}, 13, 50, -12, 2026),
		v("old-centre-2010", "Gamla centrum 2010", "The old centre in 2010",
			"Så såg centrum ut innan flytten började: stadshuset, kyrkan och kvarteren från 1960-talet.",
			"The centre before the move began: the town hall, the church and the blocks of the 1960s.",
			lm["old_town_centre"].At, 15, 55, 20, 2010),
		v("front", "Deformationszonen", "The deformation zone",
			"Zonen där marken deformeras flyttar österut år för år, mot det gamla centrum.",
			"The zone where the ground deforms moves east year by year, towards the old centre.",
			frameLonLat(900, 200), 14, 45, 20, 2020),
		v("church-move", "Kyrkan flyttar", "The church moves",
			"I augusti 2025 rullades Kiruna kyrka fem kilometer till sin nya plats.",
			"In August 2025 Kiruna church was rolled five kilometres to its new site.",
			orb.Point{20.265, 67.8515}, 13.6, 50, -10, 2025.7),
		v("kristallen", "Kristallen och nya centrum", "Kristallen and the new centre",
			"Nya stadshuset Kristallen invigdes 2018; nya centrum invigdes i september 2022.",
			"The new town hall Kristallen opened in 2018; the new centre was inaugurated in September 2022.",
			lm["kristallen"].At, 16, 60, -30, 2023),
		v("heritage", "Kulturhusen vid Luossavaara", "The heritage houses at Luossavaara",
			"Hjalmar Lundbohmsgården och andra kulturhus flyttades hela till foten av Luossavaara 2017.",
			"Hjalmar Lundbohmsgården and other heritage houses were moved whole to the foot of Luossavaara in 2017.",
			lm["hjalmar_lundbohmsgarden_new"].At, 15.5, 55, 0, 2018),
		v("new-centre-2035", "Kiruna 2035", "Kiruna in 2035",
			"Så kan staden se ut när det gamla centrum är helt avvecklat.",
			"How the town may look once the old centre is fully decommissioned.",
			orb.Point{20.27, 67.851}, 13.5, 50, -12, 2035),
	}
	// What each view must show, whatever the screen's shape: both centres;
	// the old centre's blocks; the front and the old centre it reaches; the
	// church's way; Kristallen with Aurora and the hotel; the moved houses.
	frames := []*[4]float64{
		frame(20.205, 67.8405, 20.318, 67.866),
		frame(20.212, 67.849, 20.238, 67.858),
		frame(20.198, 67.8425, 20.242, 67.8585),
		frame(20.2285, 67.8412, 20.3, 67.8532),
		frame(20.298, 67.8474, 20.3076, 67.8503),
		frame(20.2193, 67.8644, 20.2267, 67.8669),
		frame(20.205, 67.8385, 20.32, 67.866),
	}
	for i := range sc.Views {
		sc.Views[i].Frame = frames[i]
	}
	// The page opens on the overview: both centres.
	sc.Frame = frames[0]
	// The church's journey: the year before it left its old site (19 August
	// 2025) while it travels, the view's year once it has arrived.
	sc.Views[3].Route = &scenes.Route{Path: churchRoute(lm), Year: 2025.62}
	return sc
}
