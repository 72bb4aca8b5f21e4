package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// gzipJSONMin is the smallest JSON body worth compressing: below it the
// gzip header and the CPU cost outweigh the bytes saved.
const gzipJSONMin = 1400

// gzipAccepter is implemented by the response writer ServeHTTP hands to the
// routes: it says whether the request admits a gzip answer
// (Accept-Encoding, negotiated by acceptsGzip).
type gzipAccepter interface{ acceptsGzip() bool }

// jsonGzippers reuses gzip writers: a new one allocates about 800 KiB.
var jsonGzippers = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// writeJSON sends v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	writeJSONAs(w, status, v)
}

// writeJSONAs sends v as JSON with the content type already set by the caller
// (e.g. application/geo+json). A body of gzipJSONMin bytes or more is
// gzipped when the request accepts it (a page of features shrinks to about
// a fifth).
func writeJSONAs(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":"could not encode the response"}`))
		return
	}
	body = append(body, '\n')
	if len(body) >= gzipJSONMin {
		h := w.Header()
		h.Add("Vary", "Accept-Encoding")
		if ga, ok := w.(gzipAccepter); ok && ga.acceptsGzip() && h.Get("Content-Encoding") == "" {
			if gz, ok := gzipBytes(body); ok {
				h.Set("Content-Encoding", "gzip")
				body = gz
			}
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// gzipBytes compresses b at the fastest level; false when that fails.
func gzipBytes(b []byte) ([]byte, bool) {
	var buf bytes.Buffer
	buf.Grow(len(b) / 4)
	zw := jsonGzippers.Get().(*gzip.Writer)
	defer jsonGzippers.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, false
	}
	if err := zw.Close(); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// ErrorBody is the JSON body of every 4xx and 5xx answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// writeError sends {"error": message} with the given status.
func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, ErrorBody{Error: fmt.Sprintf(format, args...)})
}

// jsonErrors rewrites what http.ServeMux answers by itself as JSON, so
// that every error a client sees has the same shape: its plain-text
// errors (404, 405; all set when no route matched) and its HTML
// redirects to a cleaned path ("/a/../b", "//b") or to a path with a
// trailing slash, whichever route they lead to. A redirect keeps its
// status and Location; its body says where, as {"error": …}.
type jsonErrors struct {
	http.ResponseWriter
	all    bool // no route matched: every status ≥ 400 is the mux's own
	status int
	// replaced: the body is written here and the mux's own is dropped.
	replaced bool
}

func (j *jsonErrors) WriteHeader(code int) {
	j.status = code
	h := j.Header()
	var msg string
	switch {
	case j.all && code >= 400:
		msg = http.StatusText(code)
		if code == http.StatusMethodNotAllowed {
			msg = "method not allowed; allowed: " + h.Get("Allow")
		}
	case code >= 300 && code < 400 && h.Get("Location") != "" && strings.HasPrefix(h.Get("Content-Type"), "text/html"):
		// http.Redirect, which alone sets an HTML type on a redirect.
		msg = fmt.Sprintf("%s: this resource is at %s", http.StatusText(code), h.Get("Location"))
	default:
		j.ResponseWriter.WriteHeader(code)
		return
	}
	j.replaced = true
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Del("X-Content-Type-Options")
	h.Del("Content-Length")
	j.ResponseWriter.WriteHeader(code)
	body, _ := json.Marshal(ErrorBody{Error: msg})
	_, _ = j.ResponseWriter.Write(append(body, '\n'))
}

func (j *jsonErrors) Write(b []byte) (int, error) {
	if j.status == 0 {
		j.WriteHeader(http.StatusOK)
	}
	if j.replaced {
		return len(b), nil // the mux's own text or HTML body is replaced
	}
	return j.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (j *jsonErrors) Unwrap() http.ResponseWriter { return j.ResponseWriter }
