package server

// The parsers of what a request carries besides its path: the bbox (as a
// query parameter and in a WebSocket subscribe), Accept-Encoding, and
// request bodies. One parser per concern, so that every endpoint answers
// the same input the same way.

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
)

// bbox is a box in CRS84 as a search needs it: one bound, or two when the
// box crosses the antimeridian (split at ±180).
type bbox []orb.Bound

// parseBBox reads a bbox parameter: "w,s,e,n", or "w,s,zmin,e,n,zmax"
// whose heights are ignored, as OGC API Features reads it.
func parseBBox(s string) (bbox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 && len(parts) != 6 {
		return nil, fmt.Errorf("want 4 numbers w,s,e,n (or 6 with heights), got %d in %q", len(parts), s)
	}
	v := make([]float64, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %d is not a finite number: %q", i+1, p)
		}
		v[i] = f
	}
	if len(v) == 6 {
		v = []float64{v[0], v[1], v[3], v[4]}
	}
	return checkBBox(v[0], v[1], v[2], v[3])
}

// checkBBox is the one rule for a box west, south, east, north in CRS84:
// finite numbers, longitudes within −180…180, latitudes within −90…90,
// south not north of north. A west east of its east crosses the
// antimeridian (OGC API Features, /req/core/fc-bbox-definition) and
// becomes two bounds, west…180 and −180…east.
func checkBBox(w, s, e, n float64) (bbox, error) {
	for _, v := range []float64{w, s, e, n} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("not a finite number")
		}
	}
	switch {
	case w < -180 || w > 180 || e < -180 || e > 180:
		return nil, fmt.Errorf("longitudes must be within −180…180, got %v and %v", w, e)
	case s < -90 || s > 90 || n < -90 || n > 90:
		return nil, fmt.Errorf("latitudes must be within −90…90, got %v and %v", s, n)
	case s > n:
		return nil, fmt.Errorf("south %v is north of north %v", s, n)
	case w > e:
		return bbox{
			{Min: orb.Point{w, s}, Max: orb.Point{180, n}},
			{Min: orb.Point{-180, s}, Max: orb.Point{e, n}},
		}, nil
	}
	return bbox{{Min: orb.Point{w, s}, Max: orb.Point{e, n}}}, nil
}

// subscriptionBBox reads the box of a WebSocket subscribe, [w,s,e,n], by
// checkBBox's rule, with two allowances for a map's view: longitudes
// beyond ±180 (a map showing copies of the world) are clamped to ±180,
// and a box crossing the antimeridian subscribes to the whole band of
// latitudes between its south and north, since a subscription is one
// box. The client then gets more sensors than it asked for, never fewer.
func subscriptionBBox(v []float64) (orb.Bound, error) {
	if len(v) != 4 {
		return orb.Bound{}, fmt.Errorf("want four numbers [west, south, east, north], got %d", len(v))
	}
	// max and min keep a NaN, which checkBBox refuses.
	bs, err := checkBBox(max(v[0], -180), v[1], min(v[2], 180), v[3])
	if err != nil {
		return orb.Bound{}, err
	}
	b := bs[0]
	for _, o := range bs[1:] {
		b = b.Union(o)
	}
	return b, nil
}

// acceptsGzip reports whether a request's Accept-Encoding admits gzip, by
// RFC 9110 section 12.5.3: the codings are a comma-separated list over
// every Accept-Encoding field line, each with an optional weight ";q=" (0
// to 1, at most three decimals; "q" in either case); a weight of 0 means
// "not acceptable". gzip's own entries decide (the highest weight when
// it is listed more than once; "x-gzip" is gzip, section 8.4.1.3); else a
// "*" entry decides, as it stands for every coding not listed; else gzip
// is not accepted. An entry with a malformed weight is ignored. No
// header, or an empty one, means no gzip.
func acceptsGzip(h http.Header) bool {
	gzipQ, starQ := -1.0, -1.0 // -1: not listed
	for _, line := range h.Values("Accept-Encoding") {
		for line != "" {
			var item string
			item, line, _ = strings.Cut(line, ",")
			coding, params, _ := strings.Cut(item, ";")
			coding = strings.TrimSpace(coding)
			var q *float64
			switch {
			case strings.EqualFold(coding, "gzip") || strings.EqualFold(coding, "x-gzip"):
				q = &gzipQ
			case coding == "*":
				q = &starQ
			default:
				continue
			}
			if w, ok := weight(params); ok {
				*q = max(*q, w)
			}
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

// weight reads the parameters after a coding: none is weight 1, "q=V" is
// V when V is a qvalue (RFC 9110 section 12.4.2); anything else is not
// well formed.
func weight(params string) (float64, bool) {
	params = strings.TrimSpace(params)
	if params == "" {
		return 1, true
	}
	name, v, ok := strings.Cut(params, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
		return 0, false
	}
	v = strings.TrimSpace(v)
	// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
	whole, frac, dot := strings.Cut(v, ".")
	if (whole != "0" && whole != "1") || len(frac) > 3 || (dot && strings.TrimLeft(frac, "0123456789") != "") {
		return 0, false
	}
	if whole == "1" && strings.TrimLeft(frac, "0") != "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil
}

// readBody reads a request body of at most limit bytes. Over the limit it
// answers 413 with the JSON error, on another failure 400, and returns
// false; the caller then returns.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "the body is larger than %s; send less at a time", byteSize(limit))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "reading the body: %v", err)
		return nil, false
	}
	return data, true
}

// byteSize writes n bytes as people read a limit: "32 MiB", "4 KiB",
// "1000 bytes".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
