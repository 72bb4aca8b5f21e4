package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/kiruna-twin/kiruna-twin/static"
)

func getStatic(t *testing.T, s http.Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func TestViewerFiles(t *testing.T) {
	s := New(Config{})
	mjs, err := fs.ReadFile(static.FS(), "lib/maplibre-gl/maplibre-gl.mjs")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path string
		hdr                map[string]string
		status             int
		ctype, cache       string
		encoding           string
	}{
		{"page", "GET", "/", nil, 200, "text/html; charset=utf-8", "no-cache", ""},
		{"page HEAD", "HEAD", "/", nil, 200, "text/html; charset=utf-8", "no-cache", ""},
		{"module", "GET", "/viewer/app/main.js", nil, 200, "text/javascript; charset=utf-8", "no-cache", ""},
		{"css", "GET", "/viewer/app/viewer.css", nil, 200, "text/css; charset=utf-8", "no-cache", ""},
		{"icon", "GET", "/viewer/app/icon.svg", nil, 200, "image/svg+xml", "no-cache", ""},
		{"maplibre gzipped", "GET", "/viewer/lib/maplibre-gl/maplibre-gl.mjs", map[string]string{"Accept-Encoding": "br, gzip"}, 200, "text/javascript; charset=utf-8", "no-cache", "gzip"},
		{"maplibre plain", "GET", "/viewer/lib/maplibre-gl/maplibre-gl.mjs", map[string]string{"Accept-Encoding": "gzip;q=0"}, 200, "text/javascript; charset=utf-8", "no-cache", ""},
		{"worker beside it", "GET", "/viewer/lib/maplibre-gl/maplibre-gl-worker.mjs", nil, 200, "text/javascript; charset=utf-8", "no-cache", ""},
		{"font", "GET", "/viewer/lib/fonts/noto-sans/noto-sans-latin-400-normal.woff2", map[string]string{"Accept-Encoding": "gzip"}, 200, "font/woff2", "public, max-age=604800", ""},
		{"licence", "GET", "/viewer/lib/maplibre-gl/LICENSE.txt", nil, 200, "text/plain; charset=utf-8", "no-cache", ""},
		{"missing", "GET", "/viewer/app/nope.js", nil, 404, "application/json; charset=utf-8", "", ""},
		{"maintainer script not served", "GET", "/viewer/lib/refresh.sh", nil, 404, "application/json; charset=utf-8", "", ""},
		{"the template is /style.json, not a file", "GET", "/viewer/style.json", nil, 404, "application/json; charset=utf-8", "", ""},
		{"escape attempt", "GET", "/viewer/../server.go", nil, 404, "application/json; charset=utf-8", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := getStatic(t, s, tc.method, tc.path, tc.hdr)
			// The mux answers a path with ".." by redirecting to the cleaned
			// path, which is outside the viewer: anything but the file.
			redirected := rec.Code >= 300 && rec.Code < 400 && !strings.HasPrefix(rec.Header().Get("Location"), viewerPrefix)
			if rec.Code != tc.status && !(tc.name == "escape attempt" && redirected) {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.String())
			}
			if rec.Code >= 300 {
				if rec.Code == 404 {
					var e ErrorBody
					if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
						t.Errorf("404 body is not {\"error\": …}: %s", rec.Body.String())
					}
				}
				return
			}
			h := rec.Header()
			if got := h.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := h.Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if got := h.Get("Content-Encoding"); got != tc.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tc.encoding)
			}
			if h.Get("ETag") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("ETag %q, X-Content-Type-Options %q", h.Get("ETag"), h.Get("X-Content-Type-Options"))
			}
			if tc.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD has a body of %d bytes", rec.Body.Len())
			}
			if tc.encoding == "gzip" {
				zr, err := gzip.NewReader(rec.Body)
				if err != nil {
					t.Fatal(err)
				}
				plain, err := io.ReadAll(zr)
				if err != nil || !bytes.Equal(plain, mjs) {
					t.Errorf("the gzipped body does not inflate to the file (%v)", err)
				}
				if !strings.HasSuffix(h.Get("ETag"), `-gz"`) {
					t.Errorf("gzip ETag %q is the same as the plain one", h.Get("ETag"))
				}
			}
			if tc.path == "/" {
				csp := h.Get("Content-Security-Policy")
				for _, want := range []string{"default-src 'self'", "connect-src 'self'", "script-src 'self'"} {
					if !strings.Contains(csp, want) {
						t.Errorf("CSP %q lacks %q", csp, want)
					}
				}
			}
		})
	}
}

func TestViewerFilesRevalidate(t *testing.T) {
	s := New(Config{})
	for _, enc := range []string{"", "gzip"} {
		first := getStatic(t, s, "GET", "/viewer/lib/maplibre-gl/maplibre-gl.mjs", map[string]string{"Accept-Encoding": enc})
		etag := first.Header().Get("ETag")
		again := getStatic(t, s, "GET", "/viewer/lib/maplibre-gl/maplibre-gl.mjs", map[string]string{"Accept-Encoding": enc, "If-None-Match": etag})
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("encoding %q: If-None-Match %s gave %d with %d bytes; want 304 and no body", enc, etag, again.Code, again.Body.Len())
		}
		other := getStatic(t, s, "GET", "/viewer/lib/maplibre-gl/maplibre-gl.mjs", map[string]string{"Accept-Encoding": enc, "If-None-Match": `"stale"`})
		if other.Code != http.StatusOK {
			t.Errorf("encoding %q: a stale ETag gave %d, want 200", enc, other.Code)
		}
	}
}

// Every file the page and its modules name is served: a missing one would
// be a blank map for users.
func TestViewerReferencesResolve(t *testing.T) {
	s := New(Config{})
	index, _ := fs.ReadFile(static.FS(), "index.html")
	refs := regexp.MustCompile(`(?:src|href)="(/viewer/[^"]+)"`).FindAllStringSubmatch(string(index), -1)
	if len(refs) < 3 {
		t.Fatalf("index.html names only %d viewer files", len(refs))
	}
	paths := map[string]bool{}
	for _, m := range refs {
		paths[m[1]] = true
	}
	imports := regexp.MustCompile(`(?m)^import [^;]*?from '([^']+)'|url\(([^)]+)\)`)
	err := fs.WalkDir(static.FS(), "app", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".css")) {
			return err
		}
		b, err := fs.ReadFile(static.FS(), name)
		if err != nil {
			return err
		}
		for _, m := range imports.FindAllStringSubmatch(string(b), -1) {
			switch {
			case strings.HasPrefix(m[2], "../"): // CSS, relative to app/
				paths["/viewer/"+strings.TrimPrefix(m[2], "../")] = true
			case m[2] != "":
				t.Errorf("%s names %q; want a path relative to app/, which stays in the page's release", name, m[2])
			case strings.HasPrefix(m[1], "./"):
				paths["/viewer/app/"+strings.TrimPrefix(m[1], "./")] = true
			case strings.HasPrefix(m[1], "../"):
				paths["/viewer/"+strings.TrimPrefix(m[1], "../")] = true
			default:
				t.Errorf("%s imports %q, which is not a file of the viewer", name, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range paths {
		if rec := getStatic(t, s, "GET", p, nil); rec.Code != http.StatusOK {
			t.Errorf("%s: %d", p, rec.Code)
		}
	}
}

// The page names its files under /viewer/v/{release}/, cached for good;
// another release's path is served the current file, revalidated.
func TestViewerRelease(t *testing.T) {
	s := New(Config{})
	page := getStatic(t, s, "GET", "/", nil)
	m := regexp.MustCompile(`src="/viewer/v/([A-Za-z0-9_-]+)/app/main\.js"`).FindStringSubmatch(page.Body.String())
	if m == nil {
		t.Fatalf("the page does not load main.js from a release path:\n%s", page.Body.String())
	}
	release := m[1]
	if strings.Contains(page.Body.String(), `"/viewer/app/`) || strings.Contains(page.Body.String(), `"/viewer/lib/`) {
		t.Error("the page still names unversioned viewer files")
	}
	plain := getStatic(t, s, "GET", "/viewer/app/main.js", nil)
	for _, tc := range []struct {
		path, cache string
		status      int
	}{
		{"/viewer/v/" + release + "/app/main.js", "public, max-age=31536000, immutable", 200},
		{"/viewer/v/" + release + "/lib/maplibre-gl/maplibre-gl-worker.mjs", "public, max-age=31536000, immutable", 200},
		{"/viewer/v/" + release + "/lib/fonts/noto-sans/noto-sans-latin-400-normal.woff2", "public, max-age=31536000, immutable", 200},
		{"/viewer/v/an-old-release/app/main.js", "no-cache", 200},
		{"/viewer/v/" + release + "/app/nope.js", "", 404},
		{"/viewer/v/" + release + "/", "", 404},
		{"/viewer/v/" + release, "", 404},
	} {
		rec := getStatic(t, s, "GET", tc.path, nil)
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.path, rec.Code, tc.status)
			continue
		}
		if tc.status != 200 {
			continue
		}
		if got := rec.Header().Get("Cache-Control"); got != tc.cache {
			t.Errorf("%s: Cache-Control %q, want %q", tc.path, got, tc.cache)
		}
		if strings.HasSuffix(tc.path, "main.js") && !bytes.Equal(rec.Body.Bytes(), plain.Body.Bytes()) {
			t.Errorf("%s is not the same file as /viewer/app/main.js", tc.path)
		}
	}
	// The style's fonts are this release's too.
	style := getStatic(t, s, "GET", "/style.json", nil)
	if !strings.Contains(style.Body.String(), "/viewer/v/"+release+"/lib/fonts/") || strings.Contains(style.Body.String(), "{{origin}}") {
		t.Errorf("the style does not name the release's fonts:\n%.400s", style.Body.String())
	}

	// A changed file makes another release.
	fsys := fstest.MapFS{
		"index.html":    {Data: []byte(`<script src="/viewer/app/main.js"></script>`)},
		"app/main.js":   {Data: []byte("let a = 1;")},
		"lib/x/LICENSE": {Data: []byte("x")},
	}
	a, err := newStaticFiles(fsys)
	if err != nil {
		t.Fatal(err)
	}
	fsys["app/main.js"] = &fstest.MapFile{Data: []byte("let a = 2;")}
	b, err := newStaticFiles(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if a.release == b.release || a.release == "" {
		t.Errorf("releases %q and %q: want two different ones", a.release, b.release)
	}
	if got := string(b.byPath["/"].body); got != `<script src="/viewer/v/`+b.release+`/app/main.js"></script>` {
		t.Errorf("page %q", got)
	}
}
