package server

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/tiles"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"
)

// The tile path's way round the mux answers exactly as the mux's route
// does, for good and bad paths alike.
func TestTileFastPathMatchesMux(t *testing.T) {
	s, _ := kirunaServer(t)
	good := tilePathAt(orb.Point{20.2253, 67.8558}, 15)
	for _, c := range []struct {
		method, path string
		header       []string
	}{
		{"GET", good, nil},
		{"GET", good, []string{"Accept-Encoding", "gzip"}},
		{"HEAD", good, []string{"Accept-Encoding", "gzip"}},
		{"GET", "/tiles/15/1/1.mvt", nil}, // empty: 204
		{"GET", "/tiles/30/1/1.mvt", nil}, // out of range: 400
		{"GET", "/tiles/15/x/1.mvt", nil},
		{"GET", "/tiles/15/1/1.png", nil},
		{"GET", "/tiles/15/1/1.mvt/", nil},
		{"GET", "/tiles/15//1.mvt", nil},
		{"GET", "/tiles/%31%35/1/1.mvt", nil},
		{"GET", "/tiles/15/1/-1.mvt", nil},
		{"GET", "/tiles/15/1/0001.mvt", nil},
		{"POST", good, nil},
	} {
		req := func() *http.Request {
			r := httptest.NewRequest(c.method, c.path, nil)
			for i := 0; i+1 < len(c.header); i += 2 {
				r.Header.Set(c.header[i], c.header[i+1])
			}
			return r
		}
		viaServer, viaMux := httptest.NewRecorder(), httptest.NewRecorder()
		s.ServeHTTP(viaServer, req())
		s.mux.ServeHTTP(viaMux, req())
		if viaServer.Code != viaMux.Code {
			t.Errorf("%s %s: %d through ServeHTTP, %d through the mux", c.method, c.path, viaServer.Code, viaMux.Code)
			continue
		}
		if viaServer.Code >= 300 {
			// The mux's own 404/405 and path-cleaning redirects are HTML
			// or plain text; ServeHTTP makes them JSON.
			if a, b := viaServer.Header().Get("Location"), viaMux.Header().Get("Location"); a != b {
				t.Errorf("%s %s: redirected to %q through ServeHTTP, %q through the mux", c.method, c.path, a, b)
			}
			continue
		}
		if viaServer.Body.String() != viaMux.Body.String() {
			t.Errorf("%s %s: bodies differ", c.method, c.path)
		}
		for _, k := range []string{"Etag", "Content-Type", "Content-Encoding", "Content-Length", "Vary", "Cache-Control"} {
			if a, b := viaServer.Header().Get(k), viaMux.Header().Get(k); a != b {
				t.Errorf("%s %s: %s %q through ServeHTTP, %q through the mux", c.method, c.path, k, a, b)
			}
		}
	}
}

// Every request is counted by route and code, the tile route's way round
// the mux included.
func TestRequestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, m := kirunaServer(t)
	s = New(Config{Model: m, Registry: reg})
	good := tilePathAt(orb.Point{20.2253, 67.8558}, 15)
	etag := get(t, s, good).Header().Get("ETag")
	get(t, s, good)
	get(t, s, good, "If-None-Match", etag)
	get(t, s, "/tiles/15/x/1.mvt")
	get(t, s, "/nowhere")
	get(t, s, "/healthz")
	body := get(t, s, "/metrics").Body.String()
	for _, want := range []string{
		`kiruna_http_requests_total{code="200",route="GET /tiles/{z}/{x}/{file}"} 2`,
		`kiruna_http_requests_total{code="304",route="GET /tiles/{z}/{x}/{file}"} 1`,
		`kiruna_http_requests_total{code="400",route="GET /tiles/{z}/{x}/{file}"} 1`,
		`kiruna_http_requests_total{code="404",route="unmatched"} 1`,
		`kiruna_http_requests_total{code="200",route="GET /healthz"} 1`,
		`kiruna_http_request_duration_seconds_count{route="GET /tiles/{z}/{x}/{file}"} 4`,
		`kiruna_http_request_duration_seconds_count{route="unmatched"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `route="GET /api/scene"`) {
		t.Error("/metrics has a series of a route never asked")
	}
}

// blockingWriter holds a response in its Write until released.
type blockingWriter struct {
	*httptest.ResponseRecorder
	writing chan struct{}
	release chan struct{}
}

func (w *blockingWriter) Write(b []byte) (int, error) {
	close(w.writing)
	<-w.release
	return w.ResponseRecorder.Write(b)
}

// A client holds at most PerClient requests in flight; the place comes
// back when a request ends.
func TestRequestsInFlightPerClient(t *testing.T) {
	_, m := kirunaServer(t)
	s := New(Config{Model: m, PerClient: 1})
	good := tilePathAt(orb.Point{20.2253, 67.8558}, 15)
	req := func(addr string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, good, nil)
		r.RemoteAddr = addr
		return r
	}
	bw := &blockingWriter{ResponseRecorder: httptest.NewRecorder(), writing: make(chan struct{}), release: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); s.ServeHTTP(bw, req("192.0.2.1:1000")) }()
	<-bw.writing
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req("192.0.2.1:1001"))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("second request in flight from one address: %d, Retry-After %q; want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	w = httptest.NewRecorder()
	s.ServeHTTP(w, req("192.0.2.2:1000"))
	if w.Code != http.StatusOK {
		t.Errorf("another address: %d, want 200", w.Code)
	}
	close(bw.release)
	wg.Wait()
	if bw.Code != http.StatusOK {
		t.Errorf("the held request: %d, want 200", bw.Code)
	}
	w = httptest.NewRecorder()
	s.ServeHTTP(w, req("192.0.2.1:1002"))
	if w.Code != http.StatusOK {
		t.Errorf("after the first ended: %d, want 200", w.Code)
	}
}

// A tile over the cap says what it left out, from the cache too and in its
// 304; one under the cap says nothing.
func TestTileDroppedHeader(t *testing.T) {
	_, m := kirunaServer(t)
	s := New(Config{Model: m, Tiles: tiles.Options{MaxFeatures: 20}})
	dense := tilePathAt(orb.Point{20.2253, 67.8558}, 13)
	for i := 0; i < 2; i++ { // built, then from the cache
		w := get(t, s, dense, "Accept-Encoding", "gzip")
		got := w.Header().Get("X-Tile-Dropped")
		if !regexp.MustCompile(`(^|, )buildings=[1-9][0-9]*(, |$)`).MatchString(got) {
			t.Errorf("dense tile, request %d: X-Tile-Dropped %q, want buildings=N", i+1, got)
		}
		if !strings.Contains(w.Header().Get("Access-Control-Expose-Headers"), "X-Tile-Dropped") {
			t.Error("X-Tile-Dropped is not exposed to browsers")
		}
		if nm := get(t, s, dense, "If-None-Match", w.Header().Get("ETag")); nm.Code != http.StatusNotModified || nm.Header().Get("X-Tile-Dropped") != got {
			t.Errorf("304: %d, X-Tile-Dropped %q, want 304 with %q", nm.Code, nm.Header().Get("X-Tile-Dropped"), got)
		}
	}
	if w := get(t, s, tilePathAt(orb.Point{20.2253, 67.8558}, 16)); w.Code != http.StatusOK || w.Header().Get("X-Tile-Dropped") != "" {
		t.Errorf("z16 (never capped): %d, X-Tile-Dropped %q", w.Code, w.Header().Get("X-Tile-Dropped"))
	}
}

func TestDroppedHeader(t *testing.T) {
	for _, c := range []struct {
		in   []tiles.Dropped
		want string
	}{
		{[]tiles.Dropped{{Layer: twin.Buildings, Features: 1318}}, "buildings=1318"},
		{[]tiles.Dropped{{Layer: twin.Buildings, Features: 5}, {Layer: twin.Infrastructure, Features: 20}}, "buildings=5, infrastructure=20"},
	} {
		if got := droppedHeader(c.in); got != c.want {
			t.Errorf("droppedHeader(%v) = %q, want %q", c.in, got, c.want)
		}
	}
}
