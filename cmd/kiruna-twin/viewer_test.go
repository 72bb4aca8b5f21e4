package main

// Browser tests of the viewer: the real server with the built-in scene,
// started through the serve command, driven in headless Chromium with
// chromedp. They need Debian's chromium (.ci/run installs it); without it
// they skip, unless CI is set, when they fail.
//
// Screenshots of the default view, 2010, 2035, the comparison, the kiosk
// and every view of the kiosk's tour at 1280 × 800 and 1080 × 1920 go to a
// folder under the OS temp dir, printed by the test, for a person to look
// at.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/scenes/kiruna"
	"github.com/kiruna-twin/kiruna-twin/twin"
)

// chromiumPath finds the browser, or skips (fails under CI).
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the browser tests need chromium (apt-get install chromium); CI is set, so this fails instead of skipping")
	}
	t.Skip("skipping the browser tests: chromium is not installed (apt-get install chromium); under CI=true this fails")
	return ""
}

// vtServer is the serve command running in the test on a loopback port; it
// can be stopped and started again on the same port and data directory.
type vtServer struct {
	t      testing.TB
	addr   string
	data   string
	args   []string
	cancel context.CancelFunc
	done   chan error
	logs   *bytes.Buffer
}

func startVTServer(t testing.TB, data string, args ...string) *vtServer {
	s := &vtServer{t: t, addr: "127.0.0.1:0", data: data, args: args}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *vtServer) base() string { return "http://" + s.addr }

func (s *vtServer) start() {
	t := s.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan net.Addr, 1)
	s.cancel, s.done, s.logs = cancel, make(chan error, 1), &bytes.Buffer{}
	args := append([]string{"--addr", s.addr, "--data", s.data, "--log-level", "warn"}, s.args...)
	logs := &lockedWriter{w: s.logs}
	go func() { s.done <- serveCmd(ctx, args, io.Discard, logs, listening) }()
	select {
	case a := <-listening:
		s.addr = a.String()
	case err := <-s.done:
		t.Fatalf("serve returned before listening: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not listen within 30 s")
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.base() + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 60 s\n%s", logs)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func (s *vtServer) stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.t.Error("serve did not stop within 20 s")
	}
	s.cancel = nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.w.(*bytes.Buffer); ok {
		return b.String()
	}
	return ""
}

// browserLog records what a tab asked for, which requests failed (no
// answer, or a status of 400 or more) and what it wrote to its console.
type browserLog struct {
	mu       sync.Mutex
	requests []string
	urls     map[network.RequestID]string
	failed   []string
	console  []chromedp.ConsoleMessage
}

func (b *browserLog) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests, b.console, b.failed = nil, nil, nil
}

// failures lists the requests that failed since the last reset, leaving
// out those the page cancelled itself (a tile no longer in view).
func (b *browserLog) failures() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.failed)
}

func (b *browserLog) tileRequests() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, u := range b.requests {
		if strings.Contains(u, "/tiles/") && strings.HasSuffix(strings.SplitN(u, "?", 2)[0], ".mvt") {
			n++
		}
	}
	return n
}

// offLoopback lists requests to anything but the loopback server.
func (b *browserLog) offLoopback() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, raw := range b.requests {
		u, err := url.Parse(raw)
		if err != nil {
			out = append(out, raw)
			continue
		}
		switch u.Scheme {
		case "data", "blob", "about", "chrome", "devtools":
			continue
		}
		if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
			out = append(out, raw)
		}
	}
	return out
}

func (b *browserLog) errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.console {
		if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
			out = append(out, m.String()+" @ "+m.URL)
		}
	}
	return out
}

// viewer is one browser tab on the server.
type viewer struct {
	t   testing.TB
	ctx context.Context
	log *browserLog
	dir string // screenshots
}

func newViewer(t testing.TB, shots string) *viewer {
	return newViewerSized(t, shots, 1280, 800)
}

// newViewerSized opens a browser whose page is w × h CSS pixels.
func newViewerSized(t testing.TB, shots string, w, h int) *viewer {
	chromium := chromiumPath(t)
	profile, err := os.MkdirTemp("", "kiruna-twin-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("enable-unsafe-swiftshader", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(w, h),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelC()
		cancelA()
		// Chromium's helpers can still be writing the profile for a moment
		// after the browser is gone; what they leave is only temp files.
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	v := &viewer{t: t, ctx: ctx, log: &browserLog{urls: map[network.RequestID]string{}}, dir: shots}
	if err := chromedp.Listen(ctx, func(ev any) {
		v.log.mu.Lock()
		defer v.log.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if e.Request != nil {
				v.log.requests = append(v.log.requests, e.Request.URL)
				v.log.urls[e.RequestID] = e.Request.URL
			}
		case *network.EventResponseReceived:
			if e.Response != nil && e.Response.Status >= 400 {
				v.log.failed = append(v.log.failed, fmt.Sprintf("%d %s", e.Response.Status, e.Response.URL))
			}
		case *network.EventLoadingFailed:
			if !e.Canceled {
				v.log.failed = append(v.log.failed, fmt.Sprintf("%s %s", e.ErrorText, v.log.urls[e.RequestID]))
			}
		}
	}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			v.log.mu.Lock()
			v.log.console = append(v.log.console, m)
			v.log.mu.Unlock()
		}
	}()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(w), int64(h))); err != nil {
		t.Fatal(err)
	}
	return v
}

// eval runs a JavaScript expression (awaiting a promise) and decodes its value.
func eval[T any](v *viewer, js string) T {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(v.ctx, 45*time.Second)
	defer cancel()
	r, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		v.t.Fatalf("evaluating %s: %v\nconsole: %v", abbrev(js), err, v.log.errors())
	}
	return r
}

func abbrev(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// open navigates and waits for the viewer to be ready and its map idle.
func (v *viewer) open(u string) {
	v.t.Helper()
	v.navigate(u)
	v.idle()
}

// navigate opens u and waits for the viewer to be ready (its map may still
// be moving: a tour that plays).
func (v *viewer) navigate(u string) {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(v.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		v.t.Fatalf("opening %s: %v", u, err)
	}
	v.waitFor(`!!(window.twin && window.twin.map)`, 45*time.Second)
}

// idle waits for the map's idle event after a repaint (no fixed sleep).
func (v *viewer) idle() {
	v.t.Helper()
	eval[bool](v, idleJS("twin.map"))
}

func idleJS(m string) string {
	return `new Promise((resolve) => { const m = ` + m + `; m.once('idle', () => resolve(true)); m.triggerRepaint(); })`
}

// waitFor polls a JavaScript condition every 50 ms until it holds.
func (v *viewer) waitFor(cond string, d time.Duration) {
	v.t.Helper()
	js := fmt.Sprintf(`new Promise((resolve) => { const t0 = performance.now(); const f = () => { let ok = false; try { ok = !!(%s); } catch (e) {} if (ok) resolve(true); else if (performance.now() - t0 > %d) resolve(false); else setTimeout(f, 50); }; f(); })`, cond, d.Milliseconds())
	if !eval[bool](v, js) {
		v.t.Fatalf("waited %v for %s\nconsole errors: %v", d, cond, v.log.errors())
	}
}

func (v *viewer) screenshot(name string) {
	v.t.Helper()
	buf, err := chromedp.Run(v.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		v.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(v.dir, name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		v.t.Fatal(err)
	}
}

// click clicks at a point of the page, as a user does.
func (v *viewer) click(x, y float64) {
	v.t.Helper()
	if err := chromedp.Do(v.ctx, chromedp.MouseClickXY(x, y)); err != nil {
		v.t.Fatal(err)
	}
}

type point struct{ X, Y float64 }

// renderedBuildings returns the ids of the buildings the map draws now.
func (v *viewer) renderedBuildings() []string {
	// The buildings with a 3D shape are meshes (app/meshes.js), not extrusions.
	return eval[[]string](v, `[...new Set([...twin.map.queryRenderedFeatures({layers: ['buildings', 'buildings-planned']}).map((f) => String(f.properties.id)), ...twin.meshes.features(twin.year())])]`)
}

// modelAt returns the ids of the scene's buildings that stand at year y
// and lie wholly inside bounds, as the model says.
func modelAt(t testing.TB, snap *twin.Snapshot, y float64, w, s, e, n float64) map[string]bool {
	t.Helper()
	at := twin.FromDecimalYear(y)
	out := map[string]bool{}
	for _, f := range snap.Features(twin.Buildings) {
		b := f.Bound()
		if b.Min[0] > w && b.Max[0] < e && b.Min[1] > s && b.Max[1] < n && f.Life.At(at) {
			out[f.ID] = true
		}
	}
	return out
}

func builtInSnapshot(t testing.TB) *twin.Snapshot {
	t.Helper()
	b, err := scenes.Load(kiruna.Bundle())
	if err != nil {
		t.Fatal(err)
	}
	m := twin.NewModel()
	if err := b.Into(m); err != nil {
		t.Fatal(err)
	}
	return m.Snapshot()
}

func TestViewer(t *testing.T) {
	chromiumPath(t)
	shots, err := os.MkdirTemp("", "kiruna-twin-viewer-")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "viewer screenshots: %s\n", shots)
	t.Logf("viewer screenshots: %s", shots)

	data := t.TempDir()
	token, tenantErr := addTenant(data, "viewer-test-company")
	srv := startVTServer(t, data)
	base := srv.base()
	v := newViewer(t, shots)
	snap := builtInSnapshot(t)

	t.Run("loads clean and stays on loopback", func(t *testing.T) {
		v.t = t
		v.log.reset()
		v.open(base + "/")
		v.waitFor(`twin.metrics.firstBuildingsMs > 0`, 30*time.Second)
		v.waitFor(`twin.meshes.loaded()`, 30*time.Second)
		v.screenshot("1-default")
		if errs := v.log.errors(); len(errs) > 0 {
			t.Errorf("console errors on load:\n%s", strings.Join(errs, "\n"))
		}
		if off := v.log.offLoopback(); len(off) > 0 {
			t.Errorf("requests left loopback: %v", off)
		}
		if n := len(v.renderedBuildings()); n < 500 {
			t.Errorf("the overview draws %d buildings; want the whole town (hundreds)", n)
		}
		if z := eval[float64](v, `twin.map.getZoom()`); z > 13.5 {
			t.Errorf("the overview opens at zoom %.1f; want about 13", z)
		}
	})

	t.Run("time filters on the client and follows the model", func(t *testing.T) {
		v.t = t
		// Top-down over both centres so that the view's bounds are exact.
		eval[bool](v, `(twin.map.jumpTo({center: twin.scene.center, zoom: 13, pitch: 0, bearing: 0}), true)`)
		v.idle()
		b := eval[[4]float64](v, `(() => { const b = twin.map.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; })()`)
		// Leave out a margin of 40 px, where a building could straddle the edge.
		mx, my := (b[2]-b[0])*40/1280, (b[3]-b[1])*40/800
		w, s, e, n := b[0]+mx, b[1]+my, b[2]-mx, b[3]-my
		before := v.log.tileRequests()
		for _, year := range []float64{2010, 2035} {
			eval[float64](v, fmt.Sprintf(`twin.setYear(%v)`, year))
			v.idle()
			if got := eval[float64](v, `twin.year()`); got != year {
				t.Fatalf("twin.year() = %v after setYear(%v)", got, year)
			}
			v.screenshot(fmt.Sprintf("2-year-%v", year))
			rendered := v.renderedBuildings()
			want := modelAt(t, snap, year, w, s, e, n)
			var missing, extra []string
			got := map[string]bool{}
			for _, id := range rendered {
				got[id] = true
				if f, ok := snap.Get(twin.Buildings, id); ok && !f.Life.At(twin.FromDecimalYear(year)) {
					extra = append(extra, id)
				}
			}
			for id := range want {
				if !got[id] {
					missing = append(missing, id)
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("%v: %d of the %d buildings that stand in view are not drawn, e.g. %v", year, len(missing), len(want), missing[:min(5, len(missing))])
			}
			if len(extra) > 0 {
				t.Errorf("%v: %d buildings drawn that do not stand then, e.g. %v", year, len(extra), extra[:min(5, len(extra))])
			}
			// The story's landmark: the church stands at its old site in
			// 2010 and at its new site in 2035.
			oldSite, newSite := got["kiruna-kyrka-old"], got["kiruna-kyrka-new"]
			if year == 2010 && (!oldSite || newSite) {
				t.Errorf("2010: church old site drawn %v, new site drawn %v; want old only", oldSite, newSite)
			}
			if year == 2035 && (oldSite || !newSite) {
				t.Errorf("2035: church old site drawn %v, new site drawn %v; want new only", oldSite, newSite)
			}
			t.Logf("%v: %d buildings drawn, %d standing wholly in view by the model", year, len(rendered), len(want))
		}
		if after := v.log.tileRequests(); after != before {
			t.Errorf("moving the timeline fetched %d tiles; want none", after-before)
		}
	})

	t.Run("the church stands in 3D at its site in each year", func(t *testing.T) {
		v.t = t
		for _, c := range []struct {
			year       float64
			site, gone string
			at         [2]float64
		}{
			{2010, "kiruna-kyrka-old", "kiruna-kyrka-new", [2]float64{20.232972, 67.852}},
			{2030, "kiruna-kyrka-new", "kiruna-kyrka-old", [2]float64{20.296, 67.851}},
		} {
			eval[float64](v, fmt.Sprintf(`twin.setYear(%v)`, c.year))
			for _, s := range []struct {
				id string
				at [2]float64
			}{{c.site, c.at}, {c.gone, map[bool][2]float64{true: {20.232972, 67.852}, false: {20.296, 67.851}}[c.gone == "kiruna-kyrka-old"]}} {
				eval[bool](v, fmt.Sprintf(`(twin.map.jumpTo({center: [%v, %v], zoom: 17.2, pitch: 0, bearing: 0}), true)`, s.at[0], s.at[1]))
				v.idle()
				hit := eval[map[string]any](v, `(() => { const c = twin.map.getCanvas(); return twin.meshes.pick(c.clientWidth / 2, c.clientHeight / 2) || {}; })()`)
				if s.id == c.site && hit["id"] != c.site {
					t.Errorf("%v: at %s's site the mesh under the centre is %v", c.year, c.site, hit)
				}
				if s.id == c.gone && hit["id"] != nil {
					t.Errorf("%v: %s's site shows %v, when the church stands elsewhere", c.year, c.gone, hit)
				}
			}
			// Seen from the side, the steep roof and the turret at the site.
			eval[bool](v, fmt.Sprintf(`(twin.map.jumpTo({center: [%v, %v], zoom: 17.4, pitch: 62, bearing: -30}), true)`, c.at[0], c.at[1]))
			v.idle()
			v.screenshot(fmt.Sprintf("3-church-3d-%v", c.year))
		}
		if errs := v.log.errors(); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
	})

	t.Run("compare two years", func(t *testing.T) {
		v.t = t
		eval[bool](v, `(twin.map.jumpTo({center: twin.scene.center, zoom: twin.scene.zoom, pitch: twin.scene.pitch, bearing: twin.scene.bearing}), twin.compare.open(2010, 2035), true)`)
		v.waitFor(`twin.compare.map() && twin.compare.map().loaded()`, 30*time.Second)
		eval[bool](v, idleJS("twin.compare.map()"))
		v.idle()
		if y := eval[float64](v, `twin.compare.year()`); y != 2035 {
			t.Errorf("compare year = %v, want 2035", y)
		}
		eval[bool](v, `(twin.map.jumpTo({center: [20.27, 67.85], zoom: 13.6}), true)`)
		same := eval[bool](v, `(() => { const a = twin.map.getCenter(), b = twin.compare.map().getCenter(); return Math.abs(a.lng - b.lng) < 1e-9 && Math.abs(a.lat - b.lat) < 1e-9 && twin.map.getZoom() === twin.compare.map().getZoom(); })()`)
		if !same {
			t.Error("the comparison map's camera does not follow the main map")
		}
		eval[bool](v, idleJS("twin.compare.map()"))
		v.idle()
		v.screenshot("3-compare-2010-2035")
		eval[bool](v, `(twin.compare.close(), true)`)
	})

	t.Run("inspect the church", func(t *testing.T) {
		v.t = t
		eval[float64](v, `twin.setYear(2026)`)
		eval[bool](v, `(twin.map.jumpTo({center: [20.296, 67.851], zoom: 17, pitch: 0, bearing: 0}), true)`)
		v.idle()
		// The church is a mesh: click the middle of its roof.
		p := eval[point](v, `(() => { const pt = twin.map.project([20.296, 67.851]); return twin.meshes.pick(pt.x, pt.y) ? {X: pt.x, Y: pt.y} : {X: -1, Y: -1}; })()`)
		if p.X < 0 {
			t.Fatal("the church's new site is not drawn in 2026")
		}
		v.click(p.X, p.Y)
		v.waitFor(`twin.story() && twin.story().id === 'kiruna-kyrka-new' && !twin.story().loading`, 10*time.Second)
		text := eval[string](v, `document.getElementById('story').innerText`)
		for _, want := range []string{"Kiruna kyrka", "Byggd", "1912", "Flyttad härifrån", "Flyttad hit", "20 augusti 2025", "Källa", "Säkerhet"} {
			if !strings.Contains(text, want) {
				t.Errorf("the church's story lacks %q:\n%s", want, text)
			}
		}
		v.screenshot("4-church-story")
		// The link to the other site leads to it.
		q := eval[point](v, `(() => { const r = document.querySelector('#story .other-site').getBoundingClientRect(); return {X: r.x + r.width / 2, Y: r.y + r.height / 2}; })()`)
		v.click(q.X, q.Y)
		v.waitFor(`twin.story() && twin.story().id === 'kiruna-kyrka-old' && !twin.story().loading`, 10*time.Second)
		if y := eval[float64](v, `twin.year()`); y >= 2025.63 {
			t.Errorf("following the link to the old site left the year at %v, when the old site no longer stands", y)
		}
		v.idle()
		if errs := v.log.errors(); len(errs) > 0 {
			t.Errorf("console errors: %v", errs)
		}
	})

	t.Run("a posted reading reaches the rendered sensor", func(t *testing.T) {
		v.t = t
		if tenantErr != nil {
			t.Fatal(tenantErr)
		}
		lon, lat := 20.262, 67.852
		postJSON(t, base+"/api/sensors", token, map[string]any{"id": "viewer-test-1", "type": "snow_depth", "unit": "cm", "lon": lon, "lat": lat, "name": "Test sensor"}, http.StatusCreated)
		// Live values show at the present.
		eval[bool](v, fmt.Sprintf(`(document.getElementById('story-close').click(), twin.setYear(twin.scene.timeline.now), twin.map.jumpTo({center: [%v, %v], zoom: 15, pitch: 0}), true)`, lon, lat))
		v.idle()
		v.waitFor(`twin.live.connected()`, 10*time.Second)
		for i, value := range []float64{41.5, 77.25} {
			at := time.Now().UTC().Add(time.Duration(i) * time.Second).Format(time.RFC3339)
			start := time.Now()
			postJSON(t, base+"/api/readings", token, map[string]any{"readings": []map[string]any{{"sensor": "viewer-test-1", "time": at, "value": value}}}, http.StatusAccepted)
			v.waitFor(fmt.Sprintf(`twin.map.queryRenderedFeatures({layers: ['live-sensors']}).some((f) => f.properties.id === 'viewer-test-1' && f.properties.value === %v)`, value), 2*time.Second)
			t.Logf("reading %v drawn %v after the POST", value, time.Since(start).Round(time.Millisecond))
		}
	})

	t.Run("a company's CityJSON LoD2 house shows its roof", func(t *testing.T) {
		v.t = t
		if tenantErr != nil {
			t.Fatal(tenantErr)
		}
		house, err := os.ReadFile("../../scenes/cityjson/testdata/lod2_house.city.json")
		if err != nil {
			t.Fatal(err)
		}
		eval[bool](v, `(twin.map.jumpTo({center: [20.29889, 67.84996], zoom: 17, pitch: 0, bearing: 0}), true)`)
		v.idle()
		req, _ := http.NewRequest(http.MethodPut, base+"/api/pilots/villa", bytes.NewReader(house))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/city+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT the pilot: %d", resp.StatusCode)
		}
		// The viewer hears of it (invalidate) and loads the mesh; it stands
		// from its upload on.
		v.waitFor(`twin.meshes.features(2040).includes('pilot:villa:villa')`, 15*time.Second)
		eval[float64](v, `twin.setYear(twin.scene.timeline.now + 0.1)`)
		eval[bool](v, `(document.getElementById('story-close').click(), twin.map.jumpTo({center: [20.29889, 67.84996], zoom: 19.2, pitch: 60, bearing: 55}), true)`)
		v.idle()
		v.screenshot("7-pilot-lod2-roof")
		eval[bool](v, `(twin.map.jumpTo({center: [20.29889, 67.84996], zoom: 19, pitch: 0, bearing: 0}), true)`)
		v.idle()
		hit := eval[map[string]any](v, `(() => { const c = twin.map.getCanvas(); return twin.meshes.pick(c.clientWidth / 2, c.clientHeight / 2) || {}; })()`)
		if hit["id"] != "pilot:villa:villa" || hit["layer"] != "pilots" {
			t.Errorf("the mesh under the house's centre is %v", hit)
		}
	})

	t.Run("every string translated", func(t *testing.T) {
		v.t = t
		keysSV := eval[[]string](v, `twin.i18nKeys('sv')`)
		keysEN := eval[[]string](v, `twin.i18nKeys('en')`)
		sort.Strings(keysSV)
		sort.Strings(keysEN)
		if !slices.Equal(keysSV, keysEN) {
			t.Errorf("the Swedish and English dictionaries differ in their keys")
		}
		keyLike := regexp.MustCompile(`\b(?:app|a11y|lang|search|timeline|compare|layers?|legend|status|story|confidence|sensor|sensorType|tour|action|net|sources|kind|when)\.[a-zA-Z.]+\b`)
		for _, c := range []struct{ url, lang, word string }{{base + "/", "sv", "Tidslinje"}, {base + "/?lang=en", "en", "Timeline"}} {
			v.log.reset()
			v.open(c.url)
			if got := eval[string](v, `document.documentElement.lang`); got != c.lang {
				t.Errorf("%s: lang %q, want %q", c.url, got, c.lang)
			}
			// Open what has text of its own: layers, a story, the tour.
			eval[bool](v, `(document.getElementById('btn-layers').click(), twin.openStory('buildings', 'kiruna-kyrka-new'), true)`)
			v.waitFor(`twin.story() && !twin.story().loading`, 10*time.Second)
			eval[bool](v, `(twin.tour.start(), true)`)
			text := eval[string](v, `document.body.innerText + ' ' + [...document.querySelectorAll('[aria-label],[placeholder],[title]')].map((e) => [e.getAttribute('aria-label'), e.getAttribute('placeholder'), e.getAttribute('title')].join(' ')).join(' ')`)
			if m := keyLike.FindAllString(text, 5); len(m) > 0 {
				t.Errorf("%s: keys shown untranslated: %v", c.url, m)
			}
			if !strings.Contains(text, c.word) {
				t.Errorf("%s: %q not on the page", c.url, c.word)
			}
			if errs := v.log.errors(); len(errs) > 0 {
				t.Errorf("%s: console errors (a missing string is one): %v", c.url, errs)
			}
			eval[bool](v, `(twin.tour.stop(), true)`)
		}
	})

	t.Run("search: one entry per building, infrastructure, gzipped pages", func(t *testing.T) {
		v.t = t
		v.log.reset() // the page is in English here: the subtest before ends there
		eval[bool](v, `(document.getElementById('story-close').click(), true)`)
		search := func(q string) []string {
			t.Helper()
			eval[bool](v, fmt.Sprintf(`(() => { const i = document.getElementById('search-input'); i.focus(); i.value = %q; i.dispatchEvent(new Event('input')); return true; })()`, q))
			v.waitFor(`!document.getElementById('search-results').hidden && !document.querySelector('#search-results .result.empty') || document.querySelector('#search-results .result.empty') && document.querySelector('#search-results').textContent.includes('Inga')`, 30*time.Second)
			return eval[[]string](v, `[...document.querySelectorAll('#search-results .result')].map((li) => li.innerText.replace(/\s+/g, ' '))`)
		}
		church := 0
		for _, r := range search("Kiruna kyrka") {
			if strings.HasPrefix(r, "Kiruna kyrka ") {
				church++
				if !(strings.Contains(r, "2 platser") || strings.Contains(r, "2 sites")) || !strings.Contains(r, "1912") || !strings.Contains(r, "2025") {
					t.Errorf("the church's entry does not tell both sites: %q", r)
				}
			}
		}
		if church != 1 {
			t.Errorf("%d entries for Kiruna kyrka; want one with both sites", church)
		}
		kristallen := search("Kristallen")
		for _, r := range kristallen {
			if strings.Contains(r, "oktober 2018") || strings.Contains(r, "October 31, 2018") {
				t.Errorf("Kristallen dated a day early: %q", r)
			}
		}
		e10 := search("E10")
		found := false
		for _, r := range e10 {
			if strings.Contains(r, "Infrastruktur") || strings.Contains(r, "Infrastructure") {
				found = true
			}
		}
		if !found {
			t.Errorf("searching E10 finds no infrastructure: %v", e10)
		}
		// The pages of features came gzipped.
		sizes := eval[[][2]float64](v, `performance.getEntriesByType('resource').filter((e) => e.name.includes('/collections/buildings/items')).map((e) => [e.encodedBodySize, e.decodedBodySize])`)
		if len(sizes) == 0 {
			t.Error("search fetched no buildings")
		}
		for _, sz := range sizes {
			// JSON answers under 1 400 bytes go as they are: gzip would not pay.
			if sz[1] >= 1400 && sz[0]*3 > sz[1] {
				t.Errorf("a page of buildings came as %.0f bytes for %.0f: not gzipped", sz[0], sz[1])
			}
		}
		if f := v.log.failures(); len(f) > 0 {
			t.Errorf("failed requests: %v", f)
		}
		eval[bool](v, `(document.getElementById('search-input').blur(), document.getElementById('search-input').value = '', document.getElementById('search-results').hidden = true, true)`)
	})

	t.Run("timeline: Spela plays the history, marks labelled", func(t *testing.T) {
		v.t = t
		v.open(base + "/")
		// At the opening, Spela plays from the start, not from today.
		eval[bool](v, `(document.getElementById('btn-play').click(), true)`)
		v.waitFor(`twin.timeline.playing()`, 2*time.Second)
		if y := eval[float64](v, `twin.year()`); y > 1910 {
			t.Errorf("Spela at the opening started at %v; want the start of the timeline", y)
		}
		eval[bool](v, `(twin.timeline.pause(), twin.setYear(2040), document.getElementById('btn-play').click(), true)`)
		if y := eval[float64](v, `twin.year()`); y > 1910 {
			t.Errorf("Spela at the end started at %v; want the start", y)
		}
		// A year the visitor chose is played from.
		eval[bool](v, `(twin.timeline.pause(), (() => { const s = document.getElementById('timeline-slider'); s.value = '1970'; s.dispatchEvent(new Event('input')); })(), document.getElementById('btn-play').click(), true)`)
		if y := eval[float64](v, `twin.year()`); y < 1969 || y > 1980 {
			t.Errorf("Spela after choosing 1970 is at %v", y)
		}
		eval[bool](v, `(twin.timeline.pause(), true)`)
		checkMarks(t, v, "desk")
		// Narrower, the marks are laid out again.
		if err := chromedp.Do(v.ctx, chromedp.EmulateViewport(900, 800)); err != nil {
			t.Fatal(err)
		}
		v.waitFor(`document.getElementById('events').clientWidth < 700`, 5*time.Second)
		eval[bool](v, `new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
		checkMarks(t, v, "desk at 900 px")
		if err := chromedp.Do(v.ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("labels: each area once, sensors under the names", func(t *testing.T) {
		v.t = t
		v.log.reset()
		eval[bool](v, `(twin.setYear(2008), twin.map.jumpTo({center: [20.232, 67.862], zoom: 13.6, pitch: 40, bearing: 0}), true)`)
		v.waitFor(`twin.map.getLayer('area-labels')`, 20*time.Second)
		v.idle()
		counts := eval[map[string]float64](v, `(() => { const n = {}; for (const f of twin.map.queryRenderedFeatures({layers: ['area-labels', 'zones-label'].filter((l) => twin.map.getLayer(l))})) n[f.properties.name] = (n[f.properties.name] || 0) + 1; return n; })()`)
		if counts["Nytt centrum mot Luossavaara (beslut 2007)"] != 1 {
			t.Errorf("the planning area of 2007 is labelled %v times; want once (all: %v)", counts["Nytt centrum mot Luossavaara (beslut 2007)"], counts)
		}
		for name, n := range counts {
			if n > 1 {
				t.Errorf("%q is labelled %v times", name, n)
			}
		}
		order := eval[map[string]float64](v, `Object.fromEntries(twin.map.getStyle().layers.map((l, i) => [l.id, i]))`)
		for _, l := range []string{"live-sensors", "live-sensors-mark"} {
			if order[l] > order["landmarks-label"] {
				t.Errorf("layer %s is drawn over the place names", l)
			}
		}
		v.screenshot("7-area-labels-2008")
		if f := v.log.failures(); len(f) > 0 {
			t.Errorf("failed requests: %v", f)
		}
	})

	t.Run("sensor panel: name, type in words, a day on the axis", func(t *testing.T) {
		v.t = t
		eval[bool](v, `(twin.setYear(twin.scene.timeline.now), twin.openSensor('gd-23'), true)`)
		v.waitFor(`document.querySelector('#story .chart-axis')`, 20*time.Second)
		title := eval[string](v, `document.getElementById('story-title').textContent`)
		if title != "Markrörelse, reflektor 23" {
			t.Errorf("the sensor panel's title is %q, want its name", title)
		}
		text := eval[string](v, `document.getElementById('story').innerText`)
		if strings.Contains(text, "ground_deformation") || !strings.Contains(text, "markrörelse") {
			t.Errorf("the type is not in words:\n%s", text)
		}
		axis := eval[string](v, `document.querySelector('#story .chart-axis').innerText`)
		if !regexp.MustCompile(`\d{1,2} [a-zåäö]{3}`).MatchString(axis) {
			t.Errorf("the chart's axis %q names no day", axis)
		}
		v.screenshot("8-sensor-panel")
		eval[bool](v, `(document.getElementById('story-close').click(), true)`)
	})

	for _, shape := range []struct {
		name string
		w, h int
	}{{"1280x800", 1280, 800}, {"1080x1920", 1080, 1920}} {
		t.Run("kiosk at "+shape.name, func(t *testing.T) {
			kioskShape(t, base, shots, shape.name, shape.w, shape.h)
		})
	}

	t.Run("kiosk: tour, idle reset, big targets, survives a restart", func(t *testing.T) {
		v.t = t
		v.open(base + "/?kiosk=1&idle=2")
		v.waitFor(`twin.tour.playing()`, 5*time.Second)
		small := eval[[]string](v, `[...document.querySelectorAll('button, input, [role=button], a')].filter((e) => e.offsetParent !== null && !e.closest('.maplibregl-ctrl-attrib')).map((e) => { const r = e.getBoundingClientRect(); return [e.id || e.className || e.tagName, r.width, r.height]; }).filter(([, w, h]) => w < 48 || h < 48).map((x) => x.join(' '))`)
		if len(small) > 0 {
			t.Errorf("kiosk touch targets under 48 px: %v", small)
		}
		if eval[bool](v, `!!document.querySelector('#search-input') && document.querySelector('#search-input').offsetParent !== null`) {
			t.Error("the kiosk shows a text input")
		}
		if eval[bool](v, `twin.map.cooperativeGestures && twin.map.cooperativeGestures.isEnabled()`) {
			t.Error("cooperative gestures are on in the kiosk")
		}
		// A visitor touches the map: the tour stops; left alone, the view
		// resets and the tour plays again.
		resets := eval[float64](v, `twin.tour.resets()`)
		v.click(700, 350)
		v.waitFor(`!twin.tour.playing()`, 3*time.Second)
		eval[float64](v, `twin.setYear(1950)`)
		v.waitFor(fmt.Sprintf(`twin.tour.playing() && twin.tour.resets() > %v`, resets), 8*time.Second)
		if idx := eval[float64](v, `twin.tour.index()`); idx != 0 {
			t.Errorf("after the idle reset the tour is at view %v, want the first", idx)
		}
		v.idle()
		v.screenshot("5-kiosk")

		// The server goes away and comes back: the page says so quietly,
		// keeps the town on screen and reconnects by itself.
		srv.stop()
		v.waitFor(`document.getElementById('status').dataset.key === 'net.lost' && !document.getElementById('status').hidden`, 15*time.Second)
		if n := len(v.renderedBuildings()); n == 0 {
			t.Error("the town vanished while the server was away")
		}
		v.screenshot("6-kiosk-offline")
		srv.start()
		v.waitFor(`twin.live.connected()`, 30*time.Second)
		v.waitFor(`document.getElementById('status').dataset.key !== 'net.lost'`, 5*time.Second)
		eval[bool](v, `(twin.map.jumpTo({center: [20.30, 67.849], zoom: 15.5}), true)`)
		v.idle()
		if n := len(v.renderedBuildings()); n == 0 {
			t.Error("after the restart no buildings are drawn in a newly visited area")
		}
	})
}

// rect is a box on the page, in CSS pixels.
type rect struct{ X0, Y0, X1, Y1 float64 }

func (r rect) overlaps(o rect, slack float64) bool {
	return r.X0 < o.X1-slack && o.X0 < r.X1-slack && r.Y0 < o.Y1-slack && o.Y0 < r.Y1-slack
}

// smallTextJS lists the visible texts of the page set under 19 px.
const smallTextJS = `(() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.trim();
    const el = n.parentElement;
    if (!text || !el || el.closest('[hidden], .visually-hidden, noscript, script, style')) continue;
    if (!el.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1 || r.bottom < 0 || r.top > innerHeight) continue;
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (px < 19) out.push(px.toFixed(1) + ' px: ' + text.slice(0, 40) + ' (' + (el.id || el.className || el.tagName) + ')');
  }
  return out;
})()`

// checkSmallText fails for every kiosk text under 19 px.
func checkSmallText(t *testing.T, v *viewer, where string) {
	t.Helper()
	if small := eval[[]string](v, smallTextJS); len(small) > 0 {
		t.Errorf("%s: kiosk texts under 19 px:\n%s", where, strings.Join(small, "\n"))
	}
}

// checkMarks holds the timeline's marks to readable labels (a year or a
// span of years) that do not overlap, and returns them.
func checkMarks(t *testing.T, v *viewer, where string) []string {
	t.Helper()
	type mark struct {
		Label string
		R     rect
	}
	marks := eval[[]mark](v, `[...document.querySelectorAll('#events .event-mark')].map((b) => { const r = b.getBoundingClientRect(); return {Label: b.textContent, R: {X0: r.left, Y0: r.top, X1: r.right, Y1: r.bottom}}; })`)
	if len(marks) < 2 {
		t.Errorf("%s: %d marks on the timeline; want the events in several", where, len(marks))
	}
	label := regexp.MustCompile(`^\d{4}(–\d{4})?$`)
	var labels []string
	for i, m := range marks {
		labels = append(labels, m.Label)
		if !label.MatchString(m.Label) {
			t.Errorf("%s: a mark reads %q; want a year or a span of years", where, m.Label)
		}
		for _, o := range marks[:i] {
			if m.R.overlaps(o.R, 0.5) {
				t.Errorf("%s: marks %q and %q overlap", where, o.Label, m.Label)
			}
		}
	}
	return labels
}

// kioskShape runs the kiosk on a screen of w × h: the tour played through
// with no error and no failed request, a first tap going full screen, the
// idle reset closing a comparison; then every view of the tour framed
// beside its card (screenshots of each), every text at least 19 px, the
// timeline's marks, and every event opened with no error and no failed
// request.
func kioskShape(t *testing.T, base, shots, name string, w, h int) {
	v := newViewerSized(t, shots, w, h)
	shot := func(s string) { v.screenshot(fmt.Sprintf("kiosk-%s-%s", name, s)) }
	t0 := time.Now()
	phase := func(what string) {
		t.Logf("%s: %v", what, time.Since(t0).Round(100*time.Millisecond))
		t0 = time.Now()
	}

	// The tour plays through, fast, with its journeys.
	v.log.reset()
	v.navigate(base + "/?kiosk=1&dwell=1&idle=3")
	v.waitFor(`twin.tour.playing()`, 10*time.Second)
	views := int(eval[float64](v, `twin.tour.views()`))
	v.waitFor(`twin.tour.index() === 3`, 60*time.Second)
	v.waitFor(`twin.map.getSource('tour-route') && !twin.map.isMoving()`, 20*time.Second)
	shot("church-route")
	v.waitFor(fmt.Sprintf(`twin.tour.index() === %d`, views-1), 90*time.Second)
	v.waitFor(`twin.tour.index() === 0`, 30*time.Second)
	if errs := v.log.errors(); len(errs) > 0 {
		t.Errorf("console errors while the tour ran: %v", errs)
	}
	if f := v.log.failures(); len(f) > 0 {
		t.Errorf("failed requests while the tour ran: %v", f)
	}

	phase("the tour played through")

	// A real first tap on the map goes full screen (and takes the map from
	// the tour).
	tapAt(t, v, float64(w)*0.7, float64(h)*0.45)
	v.waitFor(`!twin.tour.playing()`, 3*time.Second)
	if !eval[bool](v, `new Promise((r) => { const t0 = performance.now(); const f = () => document.fullscreenElement ? r(true) : performance.now() - t0 > 3000 ? r(false) : setTimeout(f, 50); f(); })`) {
		t.Error("the first tap did not enter full screen")
	}

	// A comparison opened during the tour is closed by the idle reset.
	eval[bool](v, `(twin.tour.start(), true)`)
	v.waitFor(`twin.tour.playing()`, 3*time.Second)
	resets := eval[float64](v, `twin.tour.resets()`)
	b := eval[rect](v, `(() => { const r = document.getElementById('btn-compare').getBoundingClientRect(); return {X0: r.left, Y0: r.top, X1: r.right, Y1: r.bottom}; })()`)
	v.click((b.X0+b.X1)/2, (b.Y0+b.Y1)/2)
	v.waitFor(`twin.compare.on()`, 5*time.Second)
	v.waitFor(fmt.Sprintf(`!twin.compare.on() && twin.tour.resets() > %v && twin.tour.playing()`, resets), 20*time.Second)

	phase("full screen and the idle reset")

	// Every view of the tour, framed beside the card.
	v.log.reset()
	v.open(base + "/?kiosk=1&dwell=600&idle=600")
	v.waitFor(`twin.tour.playing()`, 10*time.Second)
	for i := 0; i < views; i++ {
		eval[bool](v, fmt.Sprintf(`(twin.tour.show(%d), true)`, i))
		v.idle()
		shot(fmt.Sprintf("view-%d", i+1))
		f := eval[rect](v, fmt.Sprintf(`(() => { const f = twin.tour.frame(%d); return {X0: f.x0, Y0: f.y0, X1: f.x1, Y1: f.y1}; })()`, i))
		c := eval[rect](v, `(() => { const c = twin.tour.card(); return {X0: c.x0, Y0: c.y0, X1: c.x1, Y1: c.y1}; })()`)
		tl := eval[rect](v, `(() => { const r = document.getElementById('timeline').getBoundingClientRect(); return {X0: r.left, Y0: r.top, X1: r.right, Y1: r.bottom}; })()`)
		if f.X0 < -2 || f.Y0 < -2 || f.X1 > float64(w)+2 || f.Y1 > float64(h)+2 {
			t.Errorf("view %d: its subject %+v is not all on the screen", i+1, f)
		}
		if f.overlaps(c, 2) {
			t.Errorf("view %d: the card %+v covers its subject %+v", i+1, c, f)
		}
		if f.overlaps(tl, 2) {
			t.Errorf("view %d: the timeline %+v covers its subject %+v", i+1, tl, f)
		}
		if i == 0 {
			checkSmallText(t, v, "the tour")
			checkMarks(t, v, name)
		}
	}

	phase("every view framed")

	// The comparison: the marks regrouped beside it, the header on one row.
	b = eval[rect](v, `(() => { const r = document.getElementById('btn-compare').getBoundingClientRect(); return {X0: r.left, Y0: r.top, X1: r.right, Y1: r.bottom}; })()`)
	v.click((b.X0+b.X1)/2, (b.Y0+b.Y1)/2)
	v.waitFor(`twin.compare.on() && twin.compare.map() && twin.compare.map().loaded()`, 30*time.Second)
	eval[bool](v, idleJS("twin.compare.map()"))
	checkMarks(t, v, name+", comparing")
	checkSmallText(t, v, "comparing")
	if w > h {
		if bar := eval[rect](v, `(() => { const r = document.querySelector('.actions').getBoundingClientRect(); return {X0: r.left, Y0: r.top, X1: r.right, Y1: r.bottom}; })()`); bar.Y1-bar.Y0 > 70 {
			t.Errorf("the header's buttons wrap while comparing: %+v", bar)
		}
	}
	shot("compare")
	eval[bool](v, `(twin.compare.close(), true)`)

	// The other panels a visitor opens: layers, a story, a sensor, a group
	// of events. The story panel leaves the zoom and compass free.
	eval[bool](v, `(twin.tour.stop(), document.getElementById('btn-layers').click(), true)`)
	checkSmallText(t, v, "the layers panel")
	eval[bool](v, `(document.getElementById('btn-layers').click(), twin.openStory('buildings', 'kiruna-kyrka-new'), true)`)
	v.waitFor(`twin.story() && !twin.story().loading`, 10*time.Second)
	checkSmallText(t, v, "a story")
	story := eval[rect](v, `(() => { const r = document.getElementById('story').getBoundingClientRect(); return {X0: r.left, Y0: r.top, X1: r.right, Y1: r.bottom}; })()`)
	nav := eval[rect](v, `(() => { const r = document.querySelector('#map .maplibregl-ctrl-top-right .maplibregl-ctrl').getBoundingClientRect(); return {X0: r.left, Y0: r.top, X1: r.right, Y1: r.bottom}; })()`)
	if story.overlaps(nav, 0) {
		t.Errorf("the story panel %+v covers the zoom and compass %+v", story, nav)
	}
	shot("story")
	eval[bool](v, `(twin.setYear(twin.scene.timeline.now), twin.openSensor('gd-23'), true)`)
	v.waitFor(`document.querySelector('#story .chart-axis')`, 20*time.Second)
	checkSmallText(t, v, "a sensor")
	shot("sensor")
	eval[bool](v, `(document.getElementById('story-close').click(), document.querySelector('#events .event-group').click(), true)`)
	checkSmallText(t, v, "a group of events")
	shot("events")
	eval[bool](v, `(document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'})), true)`)

	phase("the comparison and the panels")

	// Every event opens its feature's story from its own layer, told in
	// the words of its kind.
	v.log.reset()
	n := int(eval[float64](v, `twin.events.count()`))
	for i := 0; i < n; i++ {
		ev := eval[map[string]any](v, fmt.Sprintf(`(() => { const e = twin.scene.events[%d]; twin.events.open(%d, {instant: true}); return {feature: e.feature, layer: e.layer || ''}; })()`, i, i))
		v.waitFor(fmt.Sprintf(`twin.story() && twin.story().id === %q && !twin.story().loading`, ev["feature"]), 15*time.Second)
		if eval[bool](v, `twin.story().failed`) {
			t.Errorf("event %d: the story of %v could not be fetched", i, ev["feature"])
		}
		text := eval[string](v, `document.getElementById('story').innerText`)
		if ev["layer"] != "buildings" && (strings.Contains(text, "Byggd") || strings.Contains(text, "Riven")) {
			t.Errorf("event %d (%v in %v) is told in a building's words:\n%s", i, ev["feature"], ev["layer"], text)
		}
		if strings.Contains(text, "år 1") && regexp.MustCompile(`år \d{1,2} [a-zåäö]+ \d{4}`).MatchString(text) {
			t.Errorf("event %d: a date after \"år\":\n%s", i, text)
		}
		if ev["feature"] == "zon-deformation-2004" {
			shot("event-zone-2004")
		}
	}
	v.idle()
	if errs := v.log.errors(); len(errs) > 0 {
		t.Errorf("console errors opening the events: %v", errs)
	}
	if f := v.log.failures(); len(f) > 0 {
		t.Errorf("failed requests opening the events: %v", f)
	}
	phase("every event opened")
}

// tapAt touches the page at (x, y) with one finger, as a visitor does.
func tapAt(t *testing.T, v *viewer, x, y float64) {
	t.Helper()
	for _, ev := range []input.DispatchTouchEventParams{
		{Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: []*input.TouchPoint{{X: x, Y: y}}},
		{Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}},
	} {
		if _, err := chromedp.Call(v.ctx, input.DispatchTouchEvent, ev); err != nil {
			t.Fatal(err)
		}
	}
}

// addTenant creates a company with the tenant command and returns its token
// (the last line of the command's output).
func addTenant(data, name string) (string, error) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"tenant", "add", name, "--data", data}, &out, &errb); code != 0 {
		return "", fmt.Errorf("tenant add: exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

func postJSON(t testing.TB, u, token string, body any, want int) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d %s; want %d", u, resp.StatusCode, msg, want)
	}
}

// BenchmarkViewerFirstBuildings measures the time from navigation to the
// first rendered buildings (and to the first meshes of the 3D Tiles, which
// load after them), in headless Chromium (software WebGL) on
// loopback, with the browser cache off: what a first visit costs.
//
//	go test -run '^$' -bench ViewerFirstBuildings -benchtime 5x ./cmd/kiruna-twin
func BenchmarkViewerFirstBuildings(b *testing.B) {
	chromiumPath(b)
	srv := startVTServer(b, b.TempDir(), "--simulate=false")
	v := newViewer(b, b.TempDir())
	if _, err := chromedp.Call(v.ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
		b.Fatal(err)
	}
	var total, meshes float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := chromedp.Do(v.ctx, chromedp.Navigate("about:blank")); err != nil {
			b.Fatal(err)
		}
		if err := chromedp.Do(v.ctx, chromedp.Navigate(srv.base()+"/")); err != nil {
			b.Fatal(err)
		}
		ms, err := chromedp.Run(v.ctx, chromedp.Evaluate[float64](`new Promise((resolve) => { const f = () => (window.twin && twin.metrics.firstBuildingsMs) ? resolve(twin.metrics.firstBuildingsMs) : setTimeout(f, 10); f(); })`, chromedp.EvalAwaitPromise))
		if err != nil {
			b.Fatal(err)
		}
		total += ms
		mesh, err := chromedp.Run(v.ctx, chromedp.Evaluate[float64](`new Promise((resolve) => { const f = () => (twin.metrics.firstMeshesMs) ? resolve(twin.metrics.firstMeshesMs) : setTimeout(f, 10); f(); })`, chromedp.EvalAwaitPromise))
		if err != nil {
			b.Fatal(err)
		}
		meshes += mesh
		if i == 0 {
			marks, _ := chromedp.Run(v.ctx, chromedp.Evaluate[map[string]float64](`({...twin.metrics.marks, first: twin.metrics.firstBuildingsMs, tiles: performance.getEntriesByType('resource').filter((e) => e.name.includes('/tiles/')).length})`))
			b.Logf("first visit: %v", marks)
		}
	}
	b.ReportMetric(total/float64(b.N), "ms-to-first-buildings")
	b.ReportMetric(meshes/float64(b.N), "ms-to-first-meshes")
}
