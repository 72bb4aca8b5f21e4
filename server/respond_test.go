package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http/httptest"
	"slices"
	"testing"
)

// JSON answers are gzipped when the client accepts it and the body is
// large enough to gain; the decoded body is the same JSON.
func TestJSONGzip(t *testing.T) {
	s, _ := cityServer(t, 400)
	tests := []struct {
		name, path, accept string
		status             int
		gzipped            bool
	}{
		{"a page of features, gzip accepted", "/collections/buildings/items?limit=200", "gzip, deflate, br", 200, true},
		{"the same without Accept-Encoding", "/collections/buildings/items?limit=200", "", 200, false},
		{"gzip refused", "/collections/buildings/items?limit=200", "gzip;q=0, identity", 200, false},
		{"any coding", "/collections/buildings/items?limit=200", "*", 200, true},
		{"one small feature stays plain", "/collections/buildings/items/church-1912", "gzip", 200, false},
		{"a small error stays plain", "/collections/buildings/items/nope", "gzip", 404, false},
		{"the scene", "/api/scene", "gzip", 503, false},
	}
	var plain []byte
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", tc.path, nil)
			if tc.accept != "" {
				req.Header.Set("Accept-Encoding", tc.accept)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body.String())
			}
			enc := rec.Header().Get("Content-Encoding")
			if (enc == "gzip") != tc.gzipped {
				t.Fatalf("Content-Encoding %q, want gzip %v", enc, tc.gzipped)
			}
			body := rec.Body.Bytes()
			if tc.gzipped {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
				if rec.Body.Len()*3 > len(body) {
					t.Errorf("gzip gave %d bytes of %d; want at most a third", rec.Body.Len(), len(body))
				}
			}
			if !json.Valid(body) {
				t.Fatalf("not JSON: %.200s", body)
			}
			if rec.Code == 200 && len(body) >= gzipJSONMin && !slices.Contains(rec.Header().Values("Vary"), "Accept-Encoding") {
				t.Errorf("Vary %q, want Accept-Encoding among them", rec.Header().Values("Vary"))
			}
			if tc.path == "/collections/buildings/items?limit=200" {
				// timeStamp differs between answers; compare the features.
				var fc struct{ Features json.RawMessage }
				if err := json.Unmarshal(body, &fc); err != nil {
					t.Fatal(err)
				}
				if plain == nil {
					plain = fc.Features
				} else if !bytes.Equal(plain, fc.Features) {
					t.Error("the gzipped and plain answers hold different features")
				}
			}
		})
	}
}
