package main

// Browser tests of the viewer: the real server with the built-in scene,
// started through the serve command, driven in headless Chromium with
// chromedp. They need Debian's chromium (.ci/run installs it); without it
// they skip, unless CI is set, when they fail.
//
// Screenshots of the default view, 2010, 2035, the comparison and the
// kiosk go to a folder under the OS temp dir, printed by the test.

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

// browserLog records what a tab asked for and what it wrote to its console.
type browserLog struct {
	mu       sync.Mutex
	requests []string
	console  []chromedp.ConsoleMessage
}

func (b *browserLog) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests, b.console = nil, nil
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
		chromedp.WindowSize(1280, 800),
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
	v := &viewer{t: t, ctx: ctx, log: &browserLog{}, dir: shots}
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Request != nil {
			v.log.mu.Lock()
			v.log.requests = append(v.log.requests, e.Request.URL)
			v.log.mu.Unlock()
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
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
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
	ctx, cancel := context.WithTimeout(v.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		v.t.Fatalf("opening %s: %v", u, err)
	}
	v.waitFor(`!!(window.twin && window.twin.map)`, 45*time.Second)
	v.idle()
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
		keyLike := regexp.MustCompile(`\b(?:app|a11y|lang|search|timeline|compare|layers?|legend|status|story|confidence|sensor|tour|action|net|sources|kind)\.[a-zA-Z.]+\b`)
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
