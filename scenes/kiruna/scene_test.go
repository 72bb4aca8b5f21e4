package kiruna

import (
	"bytes"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"
)

func loadModel(t *testing.T) (*scenes.Bundle, *twin.Snapshot) {
	t.Helper()
	b, err := scenes.Load(Bundle())
	if err != nil {
		t.Fatal(err)
	}
	m := twin.NewModel()
	if err := b.Into(m); err != nil {
		t.Fatal(err)
	}
	return b, m.Snapshot()
}

// The committed bundle is exactly what the generator writes: regenerate
// with "go generate ./scenes/kiruna" after changing either.
func TestBundleUpToDate(t *testing.T) {
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := fs.ReadDir(Bundle(), ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(embedded) != len(files) {
		t.Errorf("the bundle holds %d files, the generator writes %d", len(embedded), len(files))
	}
	for name, want := range files {
		got, err := fs.ReadFile(Bundle(), name)
		if err != nil {
			t.Errorf("%s: %v (run go generate ./scenes/kiruna)", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output (run go generate ./scenes/kiruna)", name)
		}
	}
}

func TestSceneSize(t *testing.T) {
	b, s := loadModel(t)
	if n := s.Count(twin.Buildings); n < 3000 {
		t.Errorf("%d buildings, want at least 3000", n)
	}
	var first, last time.Time
	for _, f := range s.Features(twin.Buildings) {
		if first.IsZero() || f.Life.From.Before(first) {
			first = f.Life.From
		}
		if f.Life.From.After(last) {
			last = f.Life.From
		}
	}
	if first.Year() > 1900 || last.Year() < 2030 {
		t.Errorf("buildings begin from %d to %d; want lives that span 1900 to the 2030s", first.Year(), last.Year())
	}
	for _, l := range []twin.Layer{twin.Zones, twin.Infrastructure, twin.Sensors, twin.Landmarks} {
		if s.Count(l) == 0 {
			t.Errorf("layer %s is empty", l)
		}
	}
	if b.Scene.Generated == "" {
		t.Error("scene.json does not say which features are generated")
	}
}

// Every landmark of facts/landmarks.csv is in the scene at its coordinate,
// with its confidence.
func TestLandmarksAtTheirCoordinates(t *testing.T) {
	_, s := loadModel(t)
	lms, err := readLandmarks()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lms {
		f, ok := s.Get(twin.Landmarks, l.ID)
		if !ok {
			t.Errorf("landmark %s missing", l.ID)
			continue
		}
		p, ok := f.Geometry.(orb.Point)
		if !ok || p != l.At {
			t.Errorf("landmark %s at %v, want %v", l.ID, f.Geometry, l.At)
		}
		if string(f.Confidence) != l.Confidence {
			t.Errorf("landmark %s confidence %s, want %s", l.ID, f.Confidence, l.Confidence)
		}
	}
}

// Every moved building's sites share a lineage and never overlap in time.
func TestMovedBuildings(t *testing.T) {
	_, s := loadModel(t)
	lineages := map[string]bool{}
	for _, f := range s.Features(twin.Buildings) {
		if f.Status == twin.Moved {
			lineages[f.Lineage] = true
		}
	}
	if len(lineages) < 15 {
		t.Errorf("%d moved buildings, want the church, the bell towers and the heritage houses", len(lineages))
	}
	for lin := range lineages {
		sites := s.Lineage(lin)
		if len(sites) < 2 {
			t.Errorf("lineage %s has %d site", lin, len(sites))
			continue
		}
		for i := range sites {
			for j := i + 1; j < len(sites); j++ {
				if sites[i].Life.Overlaps(sites[j].Life) {
					t.Errorf("lineage %s: %s and %s overlap in time", lin, sites[i].ID, sites[j].ID)
				}
			}
		}
	}
	church := s.Lineage("kiruna-kyrka")
	if len(church) != 2 {
		t.Fatalf("the church has %d sites", len(church))
	}
	last := time.Date(2025, 8, 19, 12, 0, 0, 0, time.UTC)
	first := time.Date(2025, 8, 20, 0, 0, 0, 0, time.UTC)
	if !church[0].Life.At(last) || church[0].Life.At(first) || !church[1].Life.At(first) {
		t.Errorf("the church stands at its old site until 2025-08-19 and at the new one from 2025-08-20: %v, %v", church[0].Life, church[1].Life)
	}
}

func standingIn(s *twin.Snapshot, b orb.Bound, year int) int {
	n := 0
	at := time.Date(year, 7, 1, 0, 0, 0, 0, time.UTC)
	s.SearchAt(twin.Buildings, b, at, func(f *twin.Feature) bool {
		if b.Contains(f.Bound().Center()) {
			n++
		}
		return true
	})
	return n
}

// The old town empties and the new centre fills as the years pass.
func TestOldCentreEmptiesNewCentreFills(t *testing.T) {
	_, s := loadModel(t)
	ds, err := readDistricts()
	if err != nil {
		t.Fatal(err)
	}
	var oldB, newB orb.Bound
	for _, d := range ds {
		switch d.ID {
		case "centrum_old":
			oldB = d.Bound
		case "centrum_new":
			newB = d.Bound
		}
	}
	o := []int{standingIn(s, oldB, 2000), standingIn(s, oldB, 2020), standingIn(s, oldB, 2035)}
	n := []int{standingIn(s, newB, 2000), standingIn(s, newB, 2020), standingIn(s, newB, 2035)}
	t.Logf("standing in the old centre 2000/2020/2035: %v; in the new centre: %v", o, n)
	if !(o[0] > o[1] && o[1] > o[2]) {
		t.Errorf("old centre standing counts %v do not fall", o)
	}
	if !(n[0] < n[1] && n[1] < n[2]) {
		t.Errorf("new centre standing counts %v do not rise", n)
	}
	if o[2] > o[0]/10 {
		t.Errorf("the old centre still has %d of %d buildings in 2035", o[2], o[0])
	}
}

// The deformation front reaches each place in the sourced year, not before.
func TestFrontCalibration(t *testing.T) {
	_, s := loadModel(t)
	lm := map[string]landmark{}
	lms, _ := readLandmarks()
	for _, l := range lms {
		lm[l.ID] = l
	}
	covered := func(p orb.Point, year int) bool {
		z, ok := s.Get(twin.Zones, "zon-deformation-"+itoa(year))
		if !ok {
			t.Fatalf("no deformation zone for %d", year)
		}
		return planar.PolygonContains(z.Geometry.(orb.Polygon), p)
	}
	e10, _ := s.Get(twin.Infrastructure, "e10-gamla-silfwerbrand-station")
	hlv, _ := s.Get(twin.Infrastructure, "hjalmar-lundbohmsvagen")
	cases := []struct {
		name string
		p    orb.Point
		year int
	}{
		{"old station", lm["kiruna_c_old_station"].At, 2013},
		{"east edge of Ullspiran", orb.Point{20.214, 67.853}, 2017},
		{"old town hall", lm["old_town_hall"].At, 2019},
		{"old E10", e10.Geometry.(orb.LineString)[4], 2020},
		{"Hjalmar Lundbohmsvägen", hlv.Geometry.(orb.LineString)[4], 2025},
		{"church", lm["kiruna_church_old"].At, 2025},
		{"south-east corner of the old centre", orb.Point{20.238, 67.849}, 2035},
	}
	for _, c := range cases {
		if !covered(c.p, c.year) {
			t.Errorf("%s: not in the deformation zone of %d", c.name, c.year)
		}
		if covered(c.p, c.year-1) {
			t.Errorf("%s: already in the deformation zone of %d", c.name, c.year-1)
		}
	}
	// The heritage houses' new sites stay clear of the front to the end.
	for _, id := range []string{"hjalmar_lundbohmsgarden_new", "luossavaara_summit", "kiruna_church_new", "kristallen"} {
		if covered(lm[id].At, 2040) {
			t.Errorf("%s is in the deformation zone of 2040", id)
		}
	}
}

func itoa(y int) string { return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") }

// Every dated event of facts/timeline.csv is reflected in the lifecycle of
// the feature it names: the feature begins or ends on that date, or holds
// the date in a property.
func TestEventsReflectedInLifecycles(t *testing.T) {
	b, s := loadModel(t)
	timeline, err := readTimeline()
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Scene.Events) != len(timeline) {
		t.Fatalf("%d events for %d timeline rows", len(b.Scene.Events), len(timeline))
	}
	for _, ev := range b.Scene.Events {
		f, ok := s.Find(ev.Feature)
		if !ok {
			t.Errorf("event %s %q: no feature %q", ev.Date, ev.Title["en"], ev.Feature)
			continue
		}
		when, err := twin.ParseInstant(ev.Date)
		if err != nil {
			t.Fatal(err)
		}
		reflected := f.Life.From.Equal(when) || f.Life.To.Equal(when)
		for _, v := range f.Props {
			if s, ok := v.(string); ok && s == ev.Date {
				reflected = true
			}
		}
		if !reflected {
			t.Errorf("event %s %q: feature %s lives %s to %s", ev.Date, ev.Title["en"], f.ID, f.Life.From.Format("2006-01-02"), f.Life.To.Format("2006-01-02"))
		}
		if ev.Title["sv"] == "" || ev.Title["en"] == "" {
			t.Errorf("event %s lacks a Swedish or English title", ev.Date)
		}
	}
	dates := make([]float64, len(b.Scene.Events))
	for i, ev := range b.Scene.Events {
		dates[i] = ev.Year
	}
	if !sort.Float64sAreSorted(dates) {
		t.Logf("events are not in date order: %v", dates)
	}
}

// No two buildings that stand at the same time overlap (footprints shrunk
// by 2 % round their centres, so that facades side by side do not count).
func TestBuildingsDoNotOverlap(t *testing.T) {
	_, s := loadModel(t)
	for _, f := range s.Features(twin.Buildings) {
		fr := shrunk(f.Geometry)
		s.Search(twin.Buildings, f.Bound(), func(g *twin.Feature) bool {
			if g != f && g.Life.Overlaps(f.Life) && g.Lineage == "" && f.Lineage == "" && overlap(fr, shrunk(g.Geometry)) {
				t.Errorf("%s and %s overlap in space and time", f.ID, g.ID)
			}
			return true
		})
	}
}

// shrunk is the outer ring of a polygon in metres, shrunk by 2 %.
func shrunk(g orb.Geometry) []xy {
	p, ok := g.(orb.Polygon)
	if !ok {
		p = boundPolygon(g.Bound())
	}
	r := ringXY(p[0])
	var c xy
	for _, q := range r[:len(r)-1] {
		c = add(c, scale(q, 1/float64(len(r)-1)))
	}
	for i := range r {
		r[i] = add(c, scale(sub(r[i], c), 0.98))
	}
	return r
}

// overlap reports whether two closed rings share any area.
func overlap(a, b []xy) bool {
	for _, q := range a {
		if inRing(q, b) {
			return true
		}
	}
	for _, q := range b {
		if inRing(q, a) {
			return true
		}
	}
	for i := 1; i < len(a); i++ {
		for k := 1; k < len(b); k++ {
			if segmentsCross(a[i-1], a[i], b[k-1], b[k]) {
				return true
			}
		}
	}
	return false
}

// What a visitor reads fits the year it is read in: no placeholder names,
// nothing still called planned once it stands, the generated-features note
// in both languages, and every view framed.
func TestWordsAVisitorReads(t *testing.T) {
	b, s := loadModel(t)
	placeholder := regexp.MustCompile(`\bKvarter \d|\bGata i gamla centrum \d|\bnätet \d`)
	plannedWord := regexp.MustCompile(`(?i)\(planera[dt]\)|\(planned\)`)
	for _, l := range twin.LayerIDs() {
		for _, f := range s.Features(l) {
			for _, name := range []string{f.Name, fmt.Sprint(f.Prop("name_en"))} {
				if placeholder.MatchString(name) {
					t.Errorf("%s %s is named %q, a placeholder", l, f.ID, name)
				}
				if plannedWord.MatchString(name) && f.Life.To.IsZero() {
					t.Errorf("%s %s is named %q for good, also after it is built", l, f.ID, name)
				}
			}
		}
	}
	for _, lang := range []string{"sv", "en"} {
		if b.Scene.GeneratedTexts[lang] == "" {
			t.Errorf("no %s note of the generated features", lang)
		}
	}
	if strings.Contains(b.Scene.GeneratedTexts["sv"], " of the ") {
		t.Errorf("the Swedish note is in English: %s", b.Scene.GeneratedTexts["sv"])
	}
	for i, v := range b.Scene.Views {
		if v.Frame == nil {
			t.Errorf("view %d (%s) has no frame", i, v.ID)
			continue
		}
		c := orb.Point{v.Center[0], v.Center[1]}
		if f := v.Frame; !(orb.Bound{Min: orb.Point{f[0], f[1]}, Max: orb.Point{f[2], f[3]}}).Contains(c) {
			t.Errorf("view %s: centre %v outside its frame %v", v.ID, c, *f)
		}
	}
	for _, ev := range b.Scene.Events {
		if ev.Layer == "" {
			t.Errorf("event %s %q names no layer", ev.Date, ev.Title["en"])
		}
	}
}

// The church's route runs from its old site to its new one, about as long
// as the five kilometres it was rolled.
func TestChurchRoute(t *testing.T) {
	b, s := loadModel(t)
	var r *scenes.Route
	for _, v := range b.Scene.Views {
		if v.ID == "church-move" {
			r = v.Route
		}
	}
	if r == nil {
		t.Fatal("the view of the church's move has no route")
	}
	ends := func(id string) orb.Point {
		f, ok := s.Get(twin.Buildings, id)
		if !ok {
			t.Fatalf("no building %s", id)
		}
		c, _ := planar.CentroidArea(f.Geometry)
		return c
	}
	first, last := r.Path[0], r.Path[len(r.Path)-1]
	for _, c := range []struct {
		p  [2]float64
		id string
	}{{first, "kiruna-kyrka-old"}, {last, "kiruna-kyrka-new"}} {
		if d := geo.Distance(orb.Point(c.p), ends(c.id)); d > 30 {
			t.Errorf("the route ends %.0f m from %s", d, c.id)
		}
	}
	var length float64
	for i := 1; i < len(r.Path); i++ {
		length += geo.Distance(orb.Point(r.Path[i-1]), orb.Point(r.Path[i]))
	}
	if length < 3500 || length > 6000 {
		t.Errorf("the route is %.0f m long; the church was rolled about 5 km", length)
	}
	old, _ := s.Get(twin.Buildings, "kiruna-kyrka-old")
	if at := twin.FromDecimalYear(r.Year); !old.Life.At(at) {
		t.Errorf("while the route runs (%v) the church is not at its old site", r.Year)
	}
}

// Every event leads somewhere: a centre inside the scene.
func TestEventsHaveCentres(t *testing.T) {
	b, _ := loadModel(t)
	bd := b.Scene.Bounds
	box := orb.Bound{Min: orb.Point{bd[0], bd[1]}, Max: orb.Point{bd[2], bd[3]}}
	for _, ev := range b.Scene.Events {
		if !box.Contains(orb.Point(ev.Center)) {
			t.Errorf("event %s %q: centre %v outside the scene", ev.Date, ev.Title["en"], ev.Center)
		}
	}
}
