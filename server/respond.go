package server

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// writeJSON sends v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	writeJSONAs(w, status, v)
}

// writeJSONAs sends v as JSON with the content type already set by the caller
// (e.g. application/geo+json).
func writeJSONAs(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":"could not encode the response"}`))
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// ErrorBody is the JSON body of every 4xx and 5xx answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// writeError sends {"error": message} with the given status.
func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, ErrorBody{Error: fmt.Sprintf(format, args...)})
}

// jsonErrors rewrites the plain-text errors of http.ServeMux (404, 405) as
// JSON bodies, so that every error a client sees has the same shape.
type jsonErrors struct {
	http.ResponseWriter
	status int
}

func (j *jsonErrors) WriteHeader(code int) {
	j.status = code
	if code >= 400 {
		j.Header().Set("Content-Type", "application/json; charset=utf-8")
		j.Header().Del("X-Content-Type-Options")
		j.ResponseWriter.WriteHeader(code)
		msg := http.StatusText(code)
		if code == http.StatusMethodNotAllowed {
			msg = "method not allowed; allowed: " + j.Header().Get("Allow")
		}
		body, _ := json.Marshal(ErrorBody{Error: msg})
		_, _ = j.ResponseWriter.Write(append(body, '\n'))
		return
	}
	j.ResponseWriter.WriteHeader(code)
}

func (j *jsonErrors) Write(b []byte) (int, error) {
	if j.status >= 400 {
		return len(b), nil // the mux's own text body is replaced
	}
	return j.ResponseWriter.Write(b)
}
