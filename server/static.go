package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kiruna-twin/kiruna-twin/static"
)

// The viewer is served from the embedded static.FS:
//
//	GET /                   index.html
//	GET /viewer/{path...}   app/… (the viewer's own modules, CSS, icon) and
//	                        lib/… (vendored MapLibre GL JS and fonts)
//
// Every file carries a strong ETag (a hash of its bytes) and answers 304 to
// If-None-Match. The page is revalidated on every load (Cache-Control:
// no-cache) and names its files under a versioned path,
//
//	GET /viewer/v/{release}/{path...}
//
// where release is a hash of every viewer file: those answers are cached
// for a year (immutable), so a kiosk reloading the page asks for nothing
// else until a new release changes the hash and the page names new URLs.
// The modules import each other by relative paths and so stay under the
// same release. The plain /viewer/{path} stays for other clients, revalidated
// on every use (fonts: a week); a release that is no longer current is
// served the current file, revalidated. Text files are gzipped once, on
// first request, for clients that accept it.

// viewerPrefix is the URL path under which the viewer's files are served.
const viewerPrefix = "/viewer/"

// releasePrefix leads the versioned paths: /viewer/v/{release}/….
const releasePrefix = "v/"

// Cache-Control of the revalidated files and of the versioned ones.
const (
	cacheRevalidate = "no-cache"
	cacheImmutable  = "public, max-age=31536000, immutable"
)

// viewerCSP keeps every request of the page on its own origin: no script,
// style, font, image, worker or connection can reach another host.
const viewerCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; " +
	"child-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

type staticFile struct {
	body  []byte
	etag  string // quoted, strong
	ctype string
	cache string

	gzOnce sync.Once
	gz     []byte // nil when compression does not pay
}

// staticFiles holds the viewer's files by URL path.
type staticFiles struct {
	byPath  map[string]*staticFile
	release string // a hash of every file: the versioned paths' {release}
}

func newStaticFile(body []byte, ctype, cache string) *staticFile {
	sum := sha256.Sum256(body)
	return &staticFile{
		body:  body,
		etag:  `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`,
		ctype: ctype,
		cache: cache,
	}
}

// newStaticFiles reads the servable part of fsys: index.html, app/ and lib/
// (without scripts that only maintainers run).
func newStaticFiles(fsys fs.FS) (*staticFiles, error) {
	sf := &staticFiles{byPath: map[string]*staticFile{}}
	add := func(name, urlPath string) error {
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		f := newStaticFile(body, contentType(name), cacheRevalidate)
		if strings.HasPrefix(name, "lib/fonts/") {
			f.cache = "public, max-age=604800"
		}
		sf.byPath[urlPath] = f
		return nil
	}
	for _, dir := range []string{"app", "lib"} {
		err := fs.WalkDir(fsys, dir, func(name string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if strings.HasSuffix(name, ".sh") {
				return nil
			}
			return add(name, viewerPrefix+name)
		})
		if err != nil {
			return nil, fmt.Errorf("the viewer's files: %w", err)
		}
	}
	// The release: a hash of every file's path and ETag, in path order.
	paths := make([]string, 0, len(sf.byPath))
	for p := range sf.byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%s %s\n", p, sf.byPath[p].etag)
	}
	sf.release = base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9])
	// The page names the files of this release.
	index, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		return nil, fmt.Errorf("the viewer's index.html: %w", err)
	}
	index = bytes.ReplaceAll(index, []byte(`"`+viewerPrefix), []byte(`"`+sf.releasePath()))
	sf.byPath["/"] = newStaticFile(index, contentType("index.html"), cacheRevalidate)
	return sf, nil
}

// releasePath is the URL path under which this release's files are cached
// for good: /viewer/v/{release}/.
func (sf *staticFiles) releasePath() string {
	return viewerPrefix + releasePrefix + sf.release + "/"
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".json":
		return "application/json; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".woff2":
		return "font/woff2"
	case ".txt", "":
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// compressible says whether gzip pays for a content type.
func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.HasPrefix(ctype, "application/json") ||
		strings.HasPrefix(ctype, "image/svg")
}

// gzipped returns the gzip encoding of the file, made once; nil when the
// file is small or does not compress.
func (f *staticFile) gzipped() []byte {
	f.gzOnce.Do(func() {
		if len(f.body) < 1024 || !compressible(f.ctype) {
			return
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(f.body)
		if zw.Close() == nil && buf.Len() < len(f.body)*9/10 {
			f.gz = buf.Bytes()
		}
	})
	return f.gz
}

// serve writes the file at urlPath, or a JSON 404. A path under
// /viewer/v/{release}/ names the file below it: cached for good when the
// release is the current one, else revalidated.
func (sf *staticFiles) serve(w http.ResponseWriter, r *http.Request, urlPath string) {
	cache := ""
	if rest, ok := strings.CutPrefix(urlPath, viewerPrefix+releasePrefix); ok {
		release, file, ok := strings.Cut(rest, "/")
		if !ok || release == "" {
			writeError(w, http.StatusNotFound, "no viewer file at %s", urlPath)
			return
		}
		urlPath = viewerPrefix + file
		cache = cacheRevalidate
		if release == sf.release {
			cache = cacheImmutable
		}
	}
	f, ok := sf.byPath[urlPath]
	if !ok || urlPath == viewerPrefix {
		writeError(w, http.StatusNotFound, "no viewer file at %s", urlPath)
		return
	}
	if cache == "" {
		cache = f.cache
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", cache)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	if urlPath == "/" {
		h.Set("Content-Security-Policy", viewerCSP)
		h.Set("Referrer-Policy", "no-referrer")
	}
	body, etag := f.body, f.etag
	if gz := f.gzipped(); gz != nil && acceptsGzip(r.Header) {
		body, etag = gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	// ServeContent answers If-None-Match with 304, HEAD and ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	s.static.serve(w, r, "/")
}

func (s *Server) handleViewerFile(w http.ResponseWriter, r *http.Request) {
	s.static.serve(w, r, viewerPrefix+r.PathValue("path"))
}

// mustStaticFiles reads the embedded viewer; it cannot fail for a binary
// that built.
func mustStaticFiles() *staticFiles {
	sf, err := newStaticFiles(static.FS())
	if err != nil {
		panic(err)
	}
	return sf
}
