package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes/synth"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

var fcentre = orb.Point{20.25, 67.85}

// cityServer serves a generated city of n buildings, a moved building (two
// sites of one lineage) and a landmark.
func cityServer(t testing.TB, n int) (*Server, *twin.Model) {
	t.Helper()
	fs := synth.City(n, 11, fcentre)
	y := func(v int) time.Time { return time.Date(v, 1, 1, 0, 0, 0, 0, time.UTC) }
	fs = append(fs,
		&twin.Feature{ID: "church-1912", Layer: twin.Buildings, Kind: "church", Name: "Kyrkan", Height: 30,
			Geometry: synth.Footprint(synth.Offset(fcentre, -50, 0), 30, 20, 0, 0), Status: twin.Moved, Lineage: "church",
			Life: twin.Lifespan{From: y(1912), To: time.Date(2025, 8, 20, 0, 0, 0, 0, time.UTC)}},
		&twin.Feature{ID: "church-2025", Layer: twin.Buildings, Kind: "church", Name: "Kyrkan", Height: 30,
			Geometry: synth.Footprint(synth.Offset(fcentre, 3000, 0), 30, 20, 0, 0), Status: twin.Moved, Lineage: "church",
			Life: twin.Lifespan{From: time.Date(2025, 8, 20, 0, 0, 0, 0, time.UTC)}},
		&twin.Feature{ID: "torget", Layer: twin.Landmarks, Kind: "square", Name: "Torget", Geometry: fcentre,
			Life: twin.Lifespan{From: y(1900)}, Props: map[string]any{"note": "x"}},
	)
	m := twin.NewModel()
	if err := m.Load(fs); err != nil {
		t.Fatal(err)
	}
	return New(Config{Model: m}), m
}

type itemsPage struct {
	Type     string `json:"type"`
	Features []struct {
		ID         string         `json:"id"`
		Type       string         `json:"type"`
		Geometry   map[string]any `json:"geometry"`
		Properties map[string]any `json:"properties"`
	} `json:"features"`
	NumberMatched  int    `json:"numberMatched"`
	NumberReturned int    `json:"numberReturned"`
	Links          []link `json:"links"`
}

func getJSON(t testing.TB, s http.Handler, path string, v any, header ...string) *http.Response {
	t.Helper()
	w := get(t, s, path, header...)
	if w.Code == http.StatusOK {
		if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return w.Result()
}

// pageAll follows next links from path and returns every feature id in
// order, checking the counts of every page.
func pageAll(t *testing.T, s http.Handler, path string) ([]string, int) {
	t.Helper()
	var ids []string
	matched := -1
	for pages := 0; path != ""; pages++ {
		if pages > 10_000 {
			t.Fatal("paging does not end")
		}
		var p itemsPage
		if r := getJSON(t, s, path, &p); r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, r.StatusCode)
		}
		if ct := get(t, s, path).Header().Get("Content-Type"); ct != "application/geo+json" {
			t.Fatalf("content type %q", ct)
		}
		if p.Type != "FeatureCollection" || p.NumberReturned != len(p.Features) {
			t.Fatalf("%s: type %q, numberReturned %d for %d features", path, p.Type, p.NumberReturned, len(p.Features))
		}
		if matched >= 0 && p.NumberMatched != matched {
			t.Fatalf("numberMatched changed from %d to %d", matched, p.NumberMatched)
		}
		matched = p.NumberMatched
		for _, f := range p.Features {
			ids = append(ids, f.ID)
		}
		path = ""
		for _, l := range p.Links {
			if l.Rel == "next" {
				u, err := url.Parse(l.Href)
				if err != nil {
					t.Fatal(err)
				}
				path = u.RequestURI()
			}
		}
	}
	return ids, matched
}

// brute is the reference: every feature of the layer that meets box (nil:
// any) and the half-open interval [from, to) (zero ends open), by id.
func brute(m *twin.Model, l twin.Layer, box *orb.Bound, from, to time.Time) []string {
	var out []string
	for _, f := range m.Snapshot().Features(l) {
		if box != nil && !box.Intersects(f.Bound()) {
			continue
		}
		if !f.Life.Meets(from, to) {
			continue
		}
		out = append(out, f.ID)
	}
	return out
}

func TestItemsPagingAndFilters(t *testing.T) {
	s, m := cityServer(t, 2000)
	b := m.Snapshot().Bound(twin.Buildings)
	c := b.Center()
	box := orb.Bound{Min: orb.Point{b.Min[0], b.Min[1]}, Max: orb.Point{c[0], c[1]}}
	bbox := fmt.Sprintf("%v,%v,%v,%v", box.Min[0], box.Min[1], box.Max[0], box.Max[1])
	d := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	cases := []struct {
		name     string
		query    string
		box      *orb.Bound
		from, to time.Time
	}{
		{"all", "limit=137", nil, time.Time{}, time.Time{}},
		{"bbox", "limit=50&bbox=" + bbox, &box, time.Time{}, time.Time{}},
		{"instant", "limit=500&datetime=2010-06-01T00:00:00Z", nil, d("2010-06-01T00:00:00Z"), d("2010-06-01T00:00:00Z").Add(1)},
		{"interval", "limit=300&datetime=2010-01-01/2020-12-31", nil, d("2010-01-01T00:00:00Z"), d("2021-01-01T00:00:00Z")},
		{"open start", "limit=999&datetime=../1950-01-01T00:00:00Z", nil, time.Time{}, d("1950-01-01T00:00:00Z").Add(1)},
		{"open end", "limit=999&datetime=2030-01-01T00:00:00Z/..", nil, d("2030-01-01T00:00:00Z"), time.Time{}},
		{"bbox and year", "limit=20&datetime=1990&bbox=" + bbox, &box, d("1990-01-01T00:00:00Z"), d("1991-01-01T00:00:00Z")},
		{"default limit", "datetime=2039-06-01/2040-01-01&bbox=" + bbox, &box, d("2039-06-01T00:00:00Z"), d("2040-01-02T00:00:00Z")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, matched := pageAll(t, s, "/collections/buildings/items?"+c.query)
			want := brute(m, twin.Buildings, c.box, c.from, c.to)
			if matched != len(want) {
				t.Errorf("numberMatched %d, want %d", matched, len(want))
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("paged %d features, want %d (no duplicates, none lost, in id order)", len(got), len(want))
			}
			if len(want) == 0 {
				t.Error("the case selects nothing: make it select something")
			}
		})
	}
}

// TestPagingDuringEdits: features that exist throughout are returned once
// even when others come and go between pages.
func TestPagingDuringEdits(t *testing.T) {
	s, m := cityServer(t, 300)
	path := "/collections/buildings/items?limit=40"
	seen := map[string]int{}
	for i := 0; path != ""; i++ {
		var p itemsPage
		getJSON(t, s, path, &p)
		for _, f := range p.Features {
			seen[f.ID]++
		}
		// Between pages, a feature that sorts first comes and goes.
		id := fmt.Sprintf("a-%03d", i)
		f := &twin.Feature{ID: id, Layer: twin.Buildings, Kind: "shed", Geometry: synth.Footprint(fcentre, 5, 5, 0, 0),
			Life: twin.Lifespan{From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}}
		if _, err := m.Apply(twin.Edit{Layer: twin.Buildings, Add: []*twin.Feature{f}}); err != nil {
			t.Fatal(err)
		}
		path = ""
		for _, l := range p.Links {
			if l.Rel == "next" {
				u, _ := url.Parse(l.Href)
				path = u.RequestURI()
			}
		}
	}
	for _, f := range synth.City(300, 11, fcentre) {
		if seen[f.ID] != 1 {
			t.Errorf("%s returned %d times", f.ID, seen[f.ID])
		}
	}
}

func TestItemsBadParameters(t *testing.T) {
	s, _ := cityServer(t, 10)
	for _, c := range []struct{ query, param string }{
		{"limit=0", "limit"},
		{"limit=-5", "limit"},
		{"limit=ten", "limit"},
		{"limit=", "limit"},
		{"limit=1&limit=2", "limit"},
		{"bbox=1,2,3", "bbox"},
		{"bbox=a,b,c,d", "bbox"},
		{"bbox=1,2,3,NaN", "bbox"},
		{"bbox=0,80,1,95", "bbox"},
		{"bbox=0,60,1,50", "bbox"},
		{"bbox=-200,0,1,1", "bbox"},
		{"bbox=", "bbox"},
		{"datetime=yesterday", "datetime"},
		{"datetime=../..", "datetime"},
		{"datetime=/", "datetime"},
		{"datetime=2020/2010", "datetime"},
		{"datetime=2010/2011/2012", "datetime"},
		{"datetime=2010-13-01", "datetime"},
		{"datetime=", "datetime"},
		{"cursor=***", "cursor"},
		{"cursor=", "cursor"},
		{"status=flying", "status"},
		{"kind=", "kind"},
		{"f=html", "f"},
		{"colour=red", "colour"},
	} {
		w := get(t, s, "/collections/buildings/items?"+c.query)
		var body ErrorBody
		if w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &body) != nil || !strings.HasPrefix(body.Error, c.param+":") {
			t.Errorf("?%s: %d %s, want 400 with an error that starts with %q", c.query, w.Code, strings.TrimSpace(w.Body.String()), c.param+":")
		}
	}
	if w := get(t, s, "/collections/roads/items"); w.Code != http.StatusNotFound {
		t.Errorf("unknown collection: %d", w.Code)
	}
	if w := get(t, s, "/collections/buildings/items/nope"); w.Code != http.StatusNotFound {
		t.Errorf("unknown feature: %d", w.Code)
	}
	// A limit above the maximum is served as the maximum.
	var p itemsPage
	if r := getJSON(t, s, "/collections/buildings/items?limit=1000000", &p); r.StatusCode != http.StatusOK || p.NumberReturned != 12 {
		t.Errorf("huge limit: %d, %d returned", r.StatusCode, p.NumberReturned)
	}
}

func TestItemsPropertyFilters(t *testing.T) {
	s, m := cityServer(t, 400)
	got, matched := pageAll(t, s, "/collections/buildings/items?limit=1000&status=demolished&kind=house")
	var want []string
	for _, f := range m.Snapshot().Features(twin.Buildings) {
		if f.Status == twin.Demolished && f.Kind == "house" {
			want = append(want, f.ID)
		}
	}
	if matched != len(want) || strings.Join(got, ",") != strings.Join(want, ",") || len(want) == 0 {
		t.Errorf("status+kind: %d matched, %d paged, want %d", matched, len(got), len(want))
	}
	got, _ = pageAll(t, s, "/collections/buildings/items?lineage=church")
	if strings.Join(got, ",") != "church-1912,church-2025" {
		t.Errorf("lineage: %v", got)
	}
}

func TestItemsAntimeridianBBox(t *testing.T) {
	m := twin.NewModel()
	y := twin.Lifespan{From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := m.Load([]*twin.Feature{
		{ID: "east", Layer: twin.Landmarks, Geometry: orb.Point{179.5, 0}, Life: y},
		{ID: "west", Layer: twin.Landmarks, Geometry: orb.Point{-179.5, 0}, Life: y},
		{ID: "middle", Layer: twin.Landmarks, Geometry: orb.Point{0, 0}, Life: y},
	}); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Model: m})
	got, matched := pageAll(t, s, "/collections/landmarks/items?bbox=179,-1,-179,1")
	if matched != 2 || strings.Join(got, ",") != "east,west" {
		t.Errorf("across the antimeridian: %v (%d)", got, matched)
	}
}

func TestItemGeoJSON(t *testing.T) {
	s, m := cityServer(t, 10)
	var f struct {
		Type       string         `json:"type"`
		ID         string         `json:"id"`
		Geometry   map[string]any `json:"geometry"`
		Properties map[string]any `json:"properties"`
		Links      []link         `json:"links"`
	}
	w := get(t, s, "/collections/buildings/items/church-2025")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/geo+json" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	if err := json.Unmarshal(w.Body.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	if f.Type != "Feature" || f.ID != "church-2025" || f.Geometry["type"] != "Polygon" {
		t.Errorf("feature %v %v %v", f.Type, f.ID, f.Geometry["type"])
	}
	p := f.Properties
	if p["from"] != "2025-08-20T00:00:00Z" || p["status"] != "moved" || p["lineage"] != "church" || p["height"] != 30.0 || p["name"] != "Kyrkan" {
		t.Errorf("properties %v", p)
	}
	if _, has := p["to"]; has {
		t.Errorf("an open feature has a to: %v", p["to"])
	}
	hist, _ := p["history"].([]any)
	if len(hist) != 2 || hist[0].(map[string]any)["id"] != "church-1912" || hist[0].(map[string]any)["to"] != "2025-08-20T00:00:00Z" {
		t.Errorf("history %v", hist)
	}
	related := 0
	for _, l := range f.Links {
		if l.Rel == "related" && strings.HasSuffix(l.Href, "/collections/buildings/items/church-1912") {
			related++
		}
	}
	if related != 1 {
		t.Errorf("links %v", f.Links)
	}
	// Props are served as they are; a landmark is no building.
	var lm struct {
		Properties map[string]any `json:"properties"`
	}
	getJSON(t, s, "/collections/landmarks/items/torget", &lm)
	if lm.Properties["note"] != "x" || lm.Properties["status"] != nil {
		t.Errorf("landmark properties %v", lm.Properties)
	}
	_ = m
}

func TestCollectionsAndConformance(t *testing.T) {
	s, _ := cityServer(t, 50)
	var cs struct {
		Collections []struct {
			ID     string `json:"id"`
			Extent struct {
				Spatial struct {
					BBox [][4]float64 `json:"bbox"`
				} `json:"spatial"`
				Temporal struct {
					Interval [][2]*string `json:"interval"`
				} `json:"temporal"`
			} `json:"extent"`
			Links []link `json:"links"`
		} `json:"collections"`
	}
	if r := getJSON(t, s, "/collections", &cs); r.StatusCode != http.StatusOK || len(cs.Collections) != len(twin.LayerIDs()) {
		t.Fatalf("%d, %d collections", r.StatusCode, len(cs.Collections))
	}
	for _, c := range cs.Collections {
		items := false
		for _, l := range c.Links {
			items = items || (l.Rel == "items" && strings.HasSuffix(l.Href, "/collections/"+c.ID+"/items"))
		}
		if !items || len(c.Extent.Spatial.BBox) != 1 || len(c.Extent.Temporal.Interval) != 1 {
			t.Errorf("collection %s: %+v", c.ID, c)
		}
		if c.ID == "buildings" {
			iv := c.Extent.Temporal.Interval[0]
			if iv[0] == nil || !strings.HasPrefix(*iv[0], "19") || iv[1] != nil {
				t.Errorf("buildings' interval %v", iv)
			}
		}
	}
	var one map[string]any
	if r := getJSON(t, s, "/collections/buildings", &one); r.StatusCode != http.StatusOK || one["id"] != "buildings" {
		t.Errorf("%d %v", r.StatusCode, one)
	}
	var conf struct {
		ConformsTo []string `json:"conformsTo"`
	}
	getJSON(t, s, "/conformance", &conf)
	if !strings.Contains(strings.Join(conf.ConformsTo, " "), "ogcapi-features-1/1.0/conf/core") {
		t.Errorf("conformance %v", conf.ConformsTo)
	}
	var api map[string]any
	if r := getJSON(t, s, "/api", &api); r.StatusCode != http.StatusOK || api["openapi"] != "3.0.3" {
		t.Errorf("openapi: %d", r.StatusCode)
	}
}

func TestLandingPage(t *testing.T) {
	s, _ := cityServer(t, 5)
	for _, c := range []struct {
		path, accept string
		json         bool
	}{
		{"/?f=json", "", true},
		{"/", "application/json", true},
		{"/", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false},
		{"/", "", false},
		{"/", "*/*", false},
	} {
		w := get(t, s, c.path, "Accept", c.accept)
		var body struct {
			Links []link `json:"links"`
		}
		isJSON := strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") && json.Unmarshal(w.Body.Bytes(), &body) == nil && len(body.Links) > 0
		if isJSON != c.json {
			t.Errorf("%s (Accept %q): JSON landing page %v, want %v (status %d)", c.path, c.accept, isJSON, c.json, w.Code)
			continue
		}
		if !c.json {
			continue
		}
		rels := map[string]bool{}
		for _, l := range body.Links {
			rels[l.Rel] = true
		}
		for _, rel := range []string{"self", "service-desc", "conformance", "data"} {
			if !rels[rel] {
				t.Errorf("landing page lacks rel %s", rel)
			}
		}
	}
}

func FuzzParseDatetime(f *testing.F) {
	for _, s := range []string{"2010-01-01/2020-12-31", "../2019-01-01", "2018-02-12T23:20:50Z", "2019", "2019-06", "/", "../..", "2020/2010", "2010-01-01T00:00:00+02:00/.."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, to, err := parseDatetime(s)
		if err != nil {
			return
		}
		if from.IsZero() && to.IsZero() {
			t.Fatalf("%q: accepted with both ends open", s)
		}
		if !from.IsZero() && !to.IsZero() && !to.After(from) {
			t.Fatalf("%q: empty interval %v..%v", s, from, to)
		}
	})
}

// FuzzItemQuery: any query string either parses or fails with an error
// that starts with the name of a parameter it was given.
func FuzzItemQuery(f *testing.F) {
	for _, s := range []string{"limit=10&bbox=1,2,3,4", "datetime=2010/..&cursor=YQ", "f=json&kind=house", "limit=0", "x=1", "status=moved&lineage=a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		iq, err := parseItemQuery(q)
		if err != nil {
			for k := range q {
				if strings.HasPrefix(err.Error(), k+": ") {
					return
				}
			}
			t.Fatalf("%q: error %q does not start with a given parameter", raw, err)
		}
		if iq.limit < 1 || iq.limit > maxLimit {
			t.Fatalf("%q: limit %d", raw, iq.limit)
		}
	})
}

// TestItemsRightHandRule: polygons leave as RFC 7946 wants them (exterior
// counter-clockwise, holes clockwise) whatever the winding they came in
// with, and the model's own geometry is not turned.
func TestItemsRightHandRule(t *testing.T) {
	cw := synth.Footprint(fcentre, 20, 20, 0, 0)[0].Clone()
	cw.Reverse()                                            // clockwise exterior, as some files have it
	hole := synth.Footprint(fcentre, 5, 5, 0, 0)[0].Clone() // counter-clockwise hole
	m := twin.NewModel()
	if err := m.Load([]*twin.Feature{{ID: "cw", Layer: twin.Buildings, Geometry: orb.Polygon{cw, hole},
		Life: twin.Lifespan{From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)}}}); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Model: m})
	w := get(t, s, "/collections/buildings/items/cw")
	var f struct {
		Geometry struct {
			Coordinates [][][2]float64 `json:"coordinates"`
		} `json:"geometry"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	ring := func(r [][2]float64) orb.Ring {
		out := make(orb.Ring, len(r))
		for i, p := range r {
			out[i] = orb.Point(p)
		}
		return out
	}
	c := f.Geometry.Coordinates
	if len(c) != 2 || ring(c[0]).Orientation() != orb.CCW || ring(c[1]).Orientation() != orb.CW {
		t.Errorf("rings not wound by the right-hand rule: %v", c)
	}
	if g, _ := m.Snapshot().Get(twin.Buildings, "cw"); g.Geometry.(orb.Polygon)[0].Orientation() != orb.CW {
		t.Error("the model's geometry was turned")
	}
}
