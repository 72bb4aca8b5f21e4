package server

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

func TestParseBBox(t *testing.T) {
	b := func(w, s, e, n float64) orb.Bound { return orb.Bound{Min: orb.Point{w, s}, Max: orb.Point{e, n}} }
	for _, tc := range []struct {
		in   string
		want bbox
		err  string // a part of the error; "" for none
	}{
		{"20.1,67.8,20.4,67.9", bbox{b(20.1, 67.8, 20.4, 67.9)}, ""},
		{" 20.1, 67.8 ,20.4,67.9", bbox{b(20.1, 67.8, 20.4, 67.9)}, ""},
		{"20.1,67.8,-5,20.4,67.9,300", bbox{b(20.1, 67.8, 20.4, 67.9)}, ""},
		{"-180,-90,180,90", bbox{b(-180, -90, 180, 90)}, ""},
		{"1,2,1,2", bbox{b(1, 2, 1, 2)}, ""},
		// West east of east: across the antimeridian, two boxes.
		{"170,60,-170,70", bbox{b(170, 60, 180, 70), b(-180, 60, -170, 70)}, ""},
		{"180,0,-180,1", bbox{b(180, 0, 180, 1), b(-180, 0, -180, 1)}, ""},
		{"10,80,0,81", bbox{b(10, 80, 180, 81), b(-180, 80, 0, 81)}, ""},
		{"1,2,3", nil, "want 4 numbers"},
		{"1,2,3,4,5", nil, "want 4 numbers"},
		{"", nil, "want 4 numbers"},
		{"a,b,c,d", nil, "number 1"},
		{"1,2,3,NaN", nil, "number 4"},
		{"1,2,3,Inf", nil, "number 4"},
		{"-200,0,1,1", nil, "longitudes"},
		{"0,0,180.5,1", nil, "longitudes"},
		{"0,80,1,95", nil, "latitudes"},
		{"0,-91,1,0", nil, "latitudes"},
		{"0,60,1,50", nil, "south 60 is north of north 50"},
	} {
		got, err := parseBBox(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one saying %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case fmt.Sprint(got) != fmt.Sprint(tc.want):
			t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSubscriptionBBox(t *testing.T) {
	b := func(w, s, e, n float64) orb.Bound { return orb.Bound{Min: orb.Point{w, s}, Max: orb.Point{e, n}} }
	for _, tc := range []struct {
		in   []float64
		want orb.Bound
		err  string
	}{
		{[]float64{20, 67, 21, 68}, b(20, 67, 21, 68), ""},
		// A view over copies of the world is clamped to one world.
		{[]float64{-200, -90, 200, 90}, b(-180, -90, 180, 90), ""},
		// Across the antimeridian: the whole band, more than asked, never less.
		{[]float64{170, 60, -170, 70}, b(-180, 60, 180, 70), ""},
		{[]float64{21, 67, 20, 68}, b(-180, 67, 180, 68), ""},
		{[]float64{20, 68, 21, 67}, orb.Bound{}, "north"},
		{[]float64{20, -95, 21, 67}, orb.Bound{}, "latitudes"},
		{[]float64{1, 2, 3}, orb.Bound{}, "four numbers"},
	} {
		got, err := subscriptionBBox(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%v: error %v, want one saying %q", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%v: %v", tc.in, err)
		case got != tc.want:
			t.Errorf("%v: %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzParseBBox: a box that parses is one or two proper boxes within CRS84,
// two only when they meet at the antimeridian.
func FuzzParseBBox(f *testing.F) {
	for _, s := range []string{"20.1,67.8,20.4,67.9", "179,-1,-179,1", "1,2,0,3,4,10", "1,2,3", "a,b,c,d", "0,91,1,92"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bs, err := parseBBox(s)
		if err != nil {
			return
		}
		if len(bs) != 1 && !(len(bs) == 2 && bs[0].Max[0] == 180 && bs[1].Min[0] == -180) {
			t.Fatalf("%q gave %v", s, bs)
		}
		for _, b := range bs {
			if !(b.Min[0] <= b.Max[0] && b.Min[1] <= b.Max[1] && b.Min[0] >= -180 && b.Max[0] <= 180 && b.Min[1] >= -90 && b.Max[1] <= 90) {
				t.Fatalf("%q gave a bad box %v", s, b)
			}
		}
	})
}

// gzipCases are Accept-Encoding headers and whether each admits gzip.
var gzipCases = []struct {
	header string
	want   bool
}{
	{"", false},
	{"gzip", true},
	{"GZIP", true},
	{"x-gzip", true}, // RFC 9110 8.4.1.3: the same coding
	{"br, gzip, deflate", true},
	{"deflate", false},
	{"br", false},
	{"identity", false},
	{"gzipx", false},
	{"gzip;q=0", false},
	{"gzip; q=0", false},
	{"gzip;Q=0", false},
	{"gzip;q=0.0", false},
	{"gzip;q=0.000", false},
	{"gzip;q=0.5", true},
	{"gzip;q=0.", false},
	{"gzip;q=1.", true},
	{"gzip;q=1", true},
	{"gzip;q=1.000", true},
	{"identity, gzip ; q=0.001", true},
	{"deflate, gzip;q=1.0, *;q=0.5", true},
	// "*" stands for every coding not listed.
	{"*", true},
	{"*;q=0.1", true},
	{"*;q=0", false},
	{"br, *", true},
	{"gzip;q=0, *", false}, // gzip listed: its own weight decides
	{"*, gzip;q=0", false},
	{"*;q=0, gzip", true},
	{"*;q=0, gzip;q=0.2", true},
	// Listed twice: the higher weight.
	{"gzip;q=0,gzip", true},
	{"gzip,gzip;q=0", true},
	// Malformed weights: the entry is ignored.
	{"gzip;q=2", false},
	{"gzip;q=1.5", false},
	{"gzip;q=0.5555", false},
	{"gzip;q=-0", false},
	{"gzip;q=abc", false},
	{"gzip;q=", false},
	{"gzip;level=1", false},
	{"gzip;q=abc, *", true},
	{",,;", false},
	{"  ,gzip,  ", true},
}

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range gzipCases {
		h := http.Header{"Accept-Encoding": {tc.header}}
		if got := acceptsGzip(h); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
	// Several field lines are one list (RFC 9110 5.3).
	for lines, want := range map[[2]string]bool{
		{"br", "gzip"}: true, {"gzip;q=0", "br"}: false, {"br", "*"}: true, {"*", "gzip;q=0"}: false,
	} {
		if got := acceptsGzip(http.Header{"Accept-Encoding": lines[:]}); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", lines, got, want)
		}
	}
	if acceptsGzip(http.Header{}) {
		t.Error("no Accept-Encoding: gzip accepted")
	}
}

// TestGzipNegotiatedAlike: tiles and viewer files answer every header of
// the table the same way.
func TestGzipNegotiatedAlike(t *testing.T) {
	s, _ := cityServer(t, 10)
	tile := tilePathAt(fcentre, 15)
	const file = "/viewer/lib/maplibre-gl/maplibre-gl.mjs"
	for _, tc := range gzipCases {
		want := ""
		if tc.want {
			want = "gzip"
		}
		for _, path := range []string{tile, file} {
			w := get(t, s, path, "Accept-Encoding", tc.header)
			if w.Code != http.StatusOK {
				t.Fatalf("%s: %d", path, w.Code)
			}
			if got := w.Header().Get("Content-Encoding"); got != want {
				t.Errorf("%s with Accept-Encoding %q: Content-Encoding %q, want %q", path, tc.header, got, want)
			}
		}
	}
}

// FuzzAcceptsGzip: gzip is never accepted from a header that names neither
// gzip nor "*", and the answer does not depend on the case of its ASCII
// letters.
func FuzzAcceptsGzip(f *testing.F) {
	for _, tc := range gzipCases {
		f.Add(tc.header)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := acceptsGzip(http.Header{"Accept-Encoding": {h}})
		if got && !strings.Contains(strings.ToLower(h), "gzip") && !strings.Contains(h, "*") {
			t.Errorf("acceptsGzip(%q) = true without gzip or * in the header", h)
		}
		if strings.IndexFunc(h, func(r rune) bool { return r >= utf8.RuneSelf }) >= 0 {
			return // ToUpper maps some letters outside ASCII into it ("ı" to "I")
		}
		if up := acceptsGzip(http.Header{"Accept-Encoding": {strings.ToUpper(h)}}); up != got {
			t.Errorf("acceptsGzip(%q) = %v but %v in upper case", h, got, up)
		}
	})
}

func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		body  string
		limit int64
		ok    bool
		code  int
		error string
	}{
		{"hello", 5, true, 0, ""},
		{"", 5, true, 0, ""},
		{"hello!", 5, false, http.StatusRequestEntityTooLarge, `{"error":"the body is larger than 5 bytes; send less at a time"}`},
		{strings.Repeat("x", 1<<20+1), 1 << 20, false, http.StatusRequestEntityTooLarge, `{"error":"the body is larger than 1 MiB; send less at a time"}`},
		{strings.Repeat("x", 5000), 4 << 10, false, http.StatusRequestEntityTooLarge, `{"error":"the body is larger than 4 KiB; send less at a time"}`},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
		data, ok := readBody(w, r, tc.limit)
		if ok != tc.ok {
			t.Errorf("%d bytes within %d: ok %v, want %v", len(tc.body), tc.limit, ok, tc.ok)
			continue
		}
		if ok {
			if string(data) != tc.body || w.Code != http.StatusOK || w.Body.Len() != 0 {
				t.Errorf("%d bytes within %d: read %d bytes, wrote %d %q", len(tc.body), tc.limit, len(data), w.Code, w.Body)
			}
			continue
		}
		if w.Code != tc.code || strings.TrimSpace(w.Body.String()) != tc.error || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Errorf("%d bytes within %d: %d %q, want %d %q", len(tc.body), tc.limit, w.Code, w.Body, tc.code, tc.error)
		}
	}
	// A body that fails while being read is a 400, not a 413.
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/", failingReader{bytes.NewReader([]byte("abc"))})
	if _, ok := readBody(w, r, 10); ok || w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "reading the body") {
		t.Errorf("a failing body: ok %v, %d %q", ok, w.Code, w.Body)
	}
}

type failingReader struct{ r *bytes.Reader }

func (f failingReader) Read(p []byte) (int, error) {
	if f.r.Len() == 0 {
		return 0, fmt.Errorf("connection reset")
	}
	return f.r.Read(p)
}
