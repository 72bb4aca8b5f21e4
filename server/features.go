package server

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// OGC API – Features, Part 1 (Core and GeoJSON), rooted at the server's
// root:
//
//	GET /                                   landing page, when JSON is asked for
//	                                        (?f=json or Accept: application/json)
//	GET /conformance                        the conformance classes
//	GET /api                                the OpenAPI 3.0 definition
//	GET /collections                        one collection per layer
//	GET /collections/{layer}                its metadata and extent
//	GET /collections/{layer}/items          GeoJSON; bbox, datetime, limit, cursor
//	                                        (from next links), kind, status, lineage
//	GET /collections/{layer}/items/{id}     one feature with its lineage's history
//
// Pages follow the features' ids in order, and the next link carries the
// last id returned, so that paging through a collection returns every
// feature once even while it is being edited.

const (
	defaultLimit = 10
	maxLimit     = 10_000

	geoJSONType = "application/geo+json"
	crs84       = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
)

var conformance = []string{
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
}

func (s *Server) featureRoutes() {
	s.mux.HandleFunc("GET /conformance", s.handleConformance)
	s.mux.HandleFunc("GET /api", s.handleOpenAPI)
	s.mux.HandleFunc("GET /collections", s.handleCollections)
	s.mux.HandleFunc("GET /collections/{layer}", s.handleCollection)
	s.mux.HandleFunc("GET /collections/{layer}/items", s.handleItems)
	s.mux.HandleFunc("GET /collections/{layer}/items/{id}", s.handleItem)
}

type link struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// wantsLandingJSON reports whether a request for / asks for the OGC API
// landing page rather than the viewer: ?f=json, or an Accept header that
// prefers JSON to HTML.
func wantsLandingJSON(r *http.Request) bool {
	if f := r.URL.Query().Get("f"); f != "" {
		return f == "json"
	}
	var jsonQ, htmlQ float64 = -1, -1
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch mt {
		case "application/json", "application/geo+json":
			jsonQ = max(jsonQ, q)
		case "text/html", "application/xhtml+xml":
			htmlQ = max(htmlQ, q)
		}
	}
	return jsonQ > 0 && jsonQ > htmlQ
}

// checkFormat answers 400 unless the request's only parameter, if any, is
// f, given once, asking for JSON: as for /items, an unknown parameter is a
// bad one (a client that misspells one learns it).
func checkFormat(w http.ResponseWriter, q url.Values) bool {
	keys := slices.Sorted(maps.Keys(q))
	for _, k := range keys {
		switch {
		case k != "f":
			writeError(w, http.StatusBadRequest, "%s: unknown parameter (known: f)", k)
			return false
		case len(q[k]) > 1:
			writeError(w, http.StatusBadRequest, "f: given %d times; give it once", len(q[k]))
			return false
		}
	}
	if f := q.Get("f"); f != "" && f != "json" && f != "geojson" {
		writeError(w, http.StatusBadRequest, "f: unsupported format %q (this API speaks json)", f)
		return false
	}
	return true
}

func (s *Server) handleLanding(w http.ResponseWriter, r *http.Request) {
	o := originVary(w, r)
	title, desc := "Kiruna Twin", "A digital twin of a town in time: every feature with its life, as OGC API – Features."
	if sc := s.scene.Load(); sc != nil {
		title = sc.Title
	}
	body := map[string]any{
		"title":       title,
		"description": desc,
		"links": []link{
			{Href: o + "/?f=json", Rel: "self", Type: "application/json", Title: "this document"},
			{Href: o + "/", Rel: "alternate", Type: "text/html", Title: "the viewer"},
			{Href: o + "/api", Rel: "service-desc", Type: "application/vnd.oai.openapi+json;version=3.0", Title: "the API definition"},
			{Href: o + "/conformance", Rel: "conformance", Type: "application/json", Title: "conformance classes"},
			{Href: o + "/collections", Rel: "data", Type: "application/json", Title: "the collections"},
			{Href: o + "/tiles.json", Rel: "tiles", Type: "application/json", Title: "vector tiles (TileJSON)"},
		},
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Add("Vary", "Accept")
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) handleConformance(w http.ResponseWriter, r *http.Request) {
	if !checkFormat(w, r.URL.Query()) {
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"conformsTo": conformance})
}

type collection struct {
	ID          string    `json:"id"`
	Title       string    `json:"title"`
	Description string    `json:"description,omitempty"`
	ItemType    string    `json:"itemType"`
	CRS         []string  `json:"crs"`
	Extent      extent    `json:"extent"`
	Links       []link    `json:"links"`
	Count       int       `json:"numberOfFeatures"`
	Kind        string    `json:"geometryKind,omitempty"`
	Updated     time.Time `json:"-"`
}

type extent struct {
	Spatial struct {
		BBox [][4]float64 `json:"bbox"`
		CRS  string       `json:"crs"`
	} `json:"spatial"`
	Temporal struct {
		Interval [][2]*string `json:"interval"`
		TRS      string       `json:"trs"`
	} `json:"temporal"`
}

func (s *Server) collection(snap *twin.Snapshot, l twin.Layer, o string) collection {
	c := collection{ID: string(l), Title: string(l), ItemType: "feature", CRS: []string{crs84}, Count: snap.Count(l)}
	if sc := s.scene.Load(); sc != nil {
		for _, li := range sc.Layers {
			if li.ID == l {
				c.Title, c.Kind = li.Title, li.Kind
				if en := li.Titles["en"]; en != "" && en != li.Title {
					c.Description = en
				}
			}
		}
	}
	b := snap.Bound(l)
	if b.IsZero() {
		if sc := s.scene.Load(); sc != nil {
			b = orb.Bound{Min: orb.Point{sc.Bounds[0], sc.Bounds[1]}, Max: orb.Point{sc.Bounds[2], sc.Bounds[3]}}
		} else {
			b = orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}
		}
	}
	c.Extent.Spatial.BBox = [][4]float64{{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}}
	c.Extent.Spatial.CRS = crs84
	var first, last time.Time
	open := false
	for _, f := range snap.Features(l) {
		if first.IsZero() || f.Life.From.Before(first) {
			first = f.Life.From
		}
		if f.Life.To.IsZero() {
			open = true
		} else if f.Life.To.After(last) {
			last = f.Life.To
		}
	}
	var iv [2]*string
	if !first.IsZero() {
		v := first.UTC().Format(time.RFC3339)
		iv[0] = &v
	}
	if !open && !last.IsZero() {
		v := last.UTC().Format(time.RFC3339)
		iv[1] = &v
	}
	c.Extent.Temporal.Interval = [][2]*string{iv}
	c.Extent.Temporal.TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
	base := o + "/collections/" + string(l)
	c.Links = []link{
		{Href: base, Rel: "self", Type: "application/json", Title: "this collection"},
		{Href: base + "/items", Rel: "items", Type: geoJSONType, Title: "its features"},
	}
	return c
}

func (s *Server) handleCollections(w http.ResponseWriter, r *http.Request) {
	if !checkFormat(w, r.URL.Query()) {
		return
	}
	o := originVary(w, r)
	snap := s.cfg.Model.Snapshot()
	cs := make([]collection, 0, len(twin.LayerIDs()))
	for _, l := range twin.LayerIDs() {
		cs = append(cs, s.collection(snap, l, o))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"collections": cs,
		"links": []link{
			{Href: o + "/collections", Rel: "self", Type: "application/json", Title: "the collections"},
		},
	})
}

func (s *Server) layerParam(w http.ResponseWriter, r *http.Request) (twin.Layer, bool) {
	l, err := twin.ParseLayer(r.PathValue("layer"))
	if err != nil {
		writeError(w, http.StatusNotFound, "no collection %q: %v", r.PathValue("layer"), err)
		return "", false
	}
	return l, true
}

func (s *Server) handleCollection(w http.ResponseWriter, r *http.Request) {
	l, ok := s.layerParam(w, r)
	if !ok || !checkFormat(w, r.URL.Query()) {
		return
	}
	writeJSON(w, http.StatusOK, s.collection(s.cfg.Model.Snapshot(), l, originVary(w, r)))
}

// itemQuery is a parsed items request.
type itemQuery struct {
	limit   int
	bbox    []orb.Bound // two boxes when the bbox crosses the antimeridian
	from    time.Time   // datetime as a half-open interval; zero ends are open
	to      time.Time
	timed   bool
	after   string // the id after which the page starts
	filters map[string]string
}

// itemParams are the query parameters the items endpoint takes.
var itemParams = map[string]bool{
	"limit": true, "bbox": true, "datetime": true, "cursor": true, "f": true,
	"kind": true, "status": true, "lineage": true,
}

// parseItemQuery reads the items parameters; an error names the parameter.
func parseItemQuery(q url.Values) (itemQuery, error) {
	iq := itemQuery{limit: defaultLimit, filters: map[string]string{}}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !itemParams[k] {
			return iq, fmt.Errorf("%s: unknown parameter (known: bbox, datetime, limit, cursor, kind, status, lineage, f)", k)
		}
		if len(q[k]) > 1 {
			return iq, fmt.Errorf("%s: given %d times; give it once", k, len(q[k]))
		}
	}
	if v := q.Get("limit"); v != "" || q.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return iq, fmt.Errorf("limit: want a whole number from 1 to %d, got %q", maxLimit, v)
		}
		iq.limit = min(n, maxLimit)
	}
	if q.Has("bbox") {
		b, err := parseBBox(q.Get("bbox"))
		if err != nil {
			return iq, fmt.Errorf("bbox: %w", err)
		}
		iq.bbox = b
	}
	if q.Has("datetime") {
		from, to, err := parseDatetime(q.Get("datetime"))
		if err != nil {
			return iq, fmt.Errorf("datetime: %w", err)
		}
		iq.from, iq.to, iq.timed = from, to, true
	}
	if q.Has("cursor") {
		id, err := base64.RawURLEncoding.DecodeString(q.Get("cursor"))
		if err != nil || len(id) == 0 {
			return iq, fmt.Errorf("cursor: not a cursor of this API (take it from a next link), got %q", q.Get("cursor"))
		}
		iq.after = string(id)
	}
	for _, k := range []string{"kind", "status", "lineage"} {
		if q.Has(k) {
			if q.Get(k) == "" {
				return iq, fmt.Errorf("%s: empty; give a value or leave the parameter out", k)
			}
			iq.filters[k] = q.Get(k)
		}
	}
	if v, ok := iq.filters["status"]; ok {
		if _, err := twin.ParseStatus(v); err != nil {
			return iq, fmt.Errorf("status: %w", err)
		}
	}
	if v := q.Get("f"); v != "" && v != "json" && v != "geojson" {
		return iq, fmt.Errorf("f: unsupported format %q (this API speaks json)", v)
	}
	return iq, nil
}

// parseDatetime reads an OGC datetime: an instant, or an interval
// "start/end" where either end may be ".." or empty (open). Besides RFC
// 3339 date-times it takes dates, months and years, which stand for the
// whole day, month or year. The result is the half-open interval
// [from, to) that the features must meet; a zero end is open.
func parseDatetime(s string) (from, to time.Time, err error) {
	start, end, isInterval := strings.Cut(s, "/")
	if !isInterval {
		from, to, err = parsePeriod(s)
		return from, to, err
	}
	if strings.Contains(end, "/") {
		return from, to, fmt.Errorf("want an instant or one interval start/end, got %q", s)
	}
	open := func(v string) bool { return v == "" || v == ".." }
	if open(start) && open(end) {
		return from, to, fmt.Errorf("an interval needs at least one end, got %q", s)
	}
	if !open(start) {
		if from, _, err = parsePeriod(start); err != nil {
			return from, to, err
		}
	}
	if !open(end) {
		if _, to, err = parsePeriod(end); err != nil {
			return from, to, err
		}
	}
	if !from.IsZero() && !to.IsZero() && !to.After(from) {
		return from, to, fmt.Errorf("the interval ends before it starts: %q", s)
	}
	return from, to, nil
}

// parsePeriod reads one end of a datetime: an RFC 3339 date-time (the
// instant, as [t, t+1ns)), a date, a month (YYYY-MM) or a year.
func parsePeriod(s string) (from, to time.Time, err error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		from, to = t.UTC(), t.UTC().Add(time.Nanosecond)
	}
	for _, p := range []struct {
		layout string
		next   func(time.Time) time.Time
	}{
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
	} {
		if len(s) != len(p.layout) {
			continue
		}
		if t, err := time.Parse(p.layout, s); err == nil {
			from, to = t, p.next(t)
		}
	}
	if !from.IsZero() {
		if from.Year() < 2 {
			return time.Time{}, time.Time{}, fmt.Errorf("%q is before the year 2, which this API does not reach", s)
		}
		return from, to, nil
	}
	return from, to, fmt.Errorf("cannot read %q as a time (want RFC 3339 such as 2019-01-01T00:00:00Z, or a date, month or year: 2019-01-01, 2019-01, 2019; open ends are ..)", s)
}

func (iq *itemQuery) match(f *twin.Feature) bool {
	if iq.timed && !f.Life.Meets(iq.from, iq.to) {
		return false
	}
	if v, ok := iq.filters["kind"]; ok && f.Kind != v {
		return false
	}
	if v, ok := iq.filters["status"]; ok && string(f.Status) != v {
		return false
	}
	if v, ok := iq.filters["lineage"]; ok && f.Lineage != v {
		return false
	}
	return true
}

// matching returns every feature of l in snap that the query selects,
// sorted by id.
func (iq *itemQuery) matching(snap *twin.Snapshot, l twin.Layer) []*twin.Feature {
	var out []*twin.Feature
	if len(iq.bbox) == 0 {
		for _, f := range snap.Features(l) {
			if iq.match(f) {
				out = append(out, f)
			}
		}
		return out
	}
	seen := map[*twin.Feature]bool{}
	for _, b := range iq.bbox {
		snap.Search(l, b, func(f *twin.Feature) bool {
			if !seen[f] && iq.match(f) {
				seen[f] = true
				out = append(out, f)
			}
			return true
		})
	}
	slices.SortFunc(out, func(a, b *twin.Feature) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

func (s *Server) handleItems(w http.ResponseWriter, r *http.Request) {
	l, ok := s.layerParam(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	iq, err := parseItemQuery(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	snap := s.cfg.Model.Snapshot()
	all := iq.matching(snap, l)
	start := 0
	if iq.after != "" {
		start, _ = slices.BinarySearchFunc(all, iq.after, func(f *twin.Feature, id string) int { return cmp.Compare(f.ID, id) })
		if start < len(all) && all[start].ID == iq.after {
			start++
		}
	}
	end := min(start+iq.limit, len(all))
	page := all[start:end]

	o := originVary(w, r)
	base := o + "/collections/" + string(l) + "/items"
	fc := featureCollection{
		Type:           "FeatureCollection",
		Features:       make([]*geojson.Feature, 0, len(page)),
		NumberMatched:  len(all),
		NumberReturned: len(page),
		TimeStamp:      s.cfg.Clock().UTC().Format(time.RFC3339),
	}
	for _, f := range page {
		fc.Features = append(fc.Features, itemFeature(f))
	}
	self := *r.URL
	fc.Links = []link{
		{Href: o + self.RequestURI(), Rel: "self", Type: geoJSONType, Title: "this page"},
		{Href: o + "/collections/" + string(l), Rel: "collection", Type: "application/json", Title: "the collection"},
	}
	if end < len(all) {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("cursor", base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].ID)))
		nq.Set("limit", strconv.Itoa(iq.limit))
		fc.Links = append(fc.Links, link{Href: base + "?" + nq.Encode(), Rel: "next", Type: geoJSONType, Title: "the next page"})
	}
	w.Header().Set("Content-Type", geoJSONType)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSONAs(w, http.StatusOK, fc)
}

type featureCollection struct {
	Type           string             `json:"type"`
	Features       []*geojson.Feature `json:"features"`
	NumberMatched  int                `json:"numberMatched"`
	NumberReturned int                `json:"numberReturned"`
	TimeStamp      string             `json:"timeStamp"`
	Links          []link             `json:"links"`
}

// itemFeature is a feature as GeoJSON (RFC 7946): its id, its geometry
// in lon/lat and its properties as the schema writes them (times in
// RFC 3339).
func itemFeature(f *twin.Feature) *geojson.Feature {
	g := geojson.NewFeature(rightHand(f.Geometry))
	g.ID = f.ID
	g.Properties = f.Properties(twin.RFC3339Time)
	return g
}

// rightHand returns g with its rings wound as RFC 7946 wants: exterior
// rings counter-clockwise, holes clockwise. g itself (the model's) is not
// touched; a copy is made only when a ring must turn.
func rightHand(g orb.Geometry) orb.Geometry {
	want := func(ring int) orb.Orientation {
		if ring == 0 {
			return orb.CCW
		}
		return orb.CW
	}
	wound := func(p orb.Polygon) bool {
		for i, r := range p {
			if r.Orientation() != want(i) {
				return false
			}
		}
		return true
	}
	fix := func(p orb.Polygon) orb.Polygon {
		if wound(p) {
			return p
		}
		p = p.Clone()
		for i, r := range p {
			if r.Orientation() != want(i) {
				r.Reverse()
			}
		}
		return p
	}
	switch g := g.(type) {
	case orb.Polygon:
		return fix(g)
	case orb.MultiPolygon:
		out := make(orb.MultiPolygon, len(g))
		for i, p := range g {
			out[i] = fix(p)
		}
		return out
	}
	return g
}

// historySite is one site of a feature's lineage, for an item's history.
type historySite struct {
	ID     string      `json:"id"`
	Layer  twin.Layer  `json:"layer"`
	Name   string      `json:"name,omitempty"`
	Status twin.Status `json:"status,omitempty"`
	From   string      `json:"from"`
	To     string      `json:"to,omitempty"`
	Center [2]float64  `json:"center"`
}

func (s *Server) handleItem(w http.ResponseWriter, r *http.Request) {
	l, ok := s.layerParam(w, r)
	if !ok || !checkFormat(w, r.URL.Query()) {
		return
	}
	snap := s.cfg.Model.Snapshot()
	id := r.PathValue("id")
	f, found := snap.Get(l, id)
	if !found {
		writeError(w, http.StatusNotFound, "no feature %q in collection %s", id, l)
		return
	}
	o := originVary(w, r)
	g := itemFeature(f)
	sites := []*twin.Feature{f}
	if f.Lineage != "" {
		sites = snap.Lineage(f.Lineage)
	}
	history := make([]historySite, 0, len(sites))
	for _, site := range sites {
		h := historySite{ID: site.ID, Layer: site.Layer, Name: site.Name, Status: site.Status,
			From: twin.FormatTime(site.Life.From)}
		if !site.Life.To.IsZero() {
			h.To = twin.FormatTime(site.Life.To)
		}
		c := site.Bound().Center()
		h.Center = [2]float64{c[0], c[1]}
		history = append(history, h)
	}
	g.Properties["history"] = history
	links := []link{
		{Href: o + "/collections/" + string(l) + "/items/" + url.PathEscape(f.ID), Rel: "self", Type: geoJSONType, Title: "this feature"},
		{Href: o + "/collections/" + string(l), Rel: "collection", Type: "application/json", Title: "the collection"},
	}
	for _, site := range sites {
		if site != f {
			links = append(links, link{Href: o + "/collections/" + string(site.Layer) + "/items/" + url.PathEscape(site.ID),
				Rel: "related", Type: geoJSONType, Title: "another site of " + f.Lineage})
		}
	}
	g.ExtraMembers = geojson.Properties{"links": links}
	w.Header().Set("Content-Type", geoJSONType)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSONAs(w, http.StatusOK, g)
}
