package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
)

// TestUploadsBoundedByBytes: the bytes of uploads read and decoded at
// once are bounded: an upload that finds no room within the wait answers
// 503 with Retry-After and reads nothing; a body of unknown length counts
// as the largest; once the first upload is done the next one goes in.
func TestUploadsBoundedByBytes(t *testing.T) {
	dir := t.TempDir()
	token, err := live.AddTenant(dir, "acme", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tenants, err := live.OpenTenants(dir)
	if err != nil {
		t.Fatal(err)
	}
	model := twin.NewModel()
	srv := New(Config{Model: model, Logger: quietLog, Tenants: tenants, UploadMemory: 1000, UploadWait: 200 * time.Millisecond})
	defer srv.Close()
	ps, err := live.OpenPilots(dir+"/pilots", model, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	srv.SetPilots(ps)
	ts := httptest.NewServer(srv)
	defer ts.Close()

	body := `{"type":"FeatureCollection","features":[{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[20.3,67.85]},"properties":{}}]}`
	body += strings.Repeat(" ", 800-len(body))
	put := func(name string, r io.Reader, length int64) (*http.Response, string) {
		req, _ := http.NewRequest("PUT", ts.URL+"/api/pilots/"+name, r)
		req.ContentLength = length
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/geo+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}

	// A slow upload of 800 bytes holds 800 of the 1000.
	pr, pw := io.Pipe()
	defer pw.Close()
	slow := make(chan string, 1)
	go func() {
		resp, b := put("slow", pr, int64(len(body)))
		slow <- resp.Status + " " + b
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, b := put("second", strings.NewReader(body), int64(len(body)))
		if resp.StatusCode == http.StatusServiceUnavailable {
			if resp.Header.Get("Retry-After") == "" || !strings.Contains(b, "too many uploads") {
				t.Fatalf("503 without Retry-After or its reason: %v %s", resp.Header, b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a second upload while the first holds the room: %d %s", resp.StatusCode, b)
		}
		// The slow upload has not taken its room yet; the second got in.
		time.Sleep(10 * time.Millisecond)
	}
	if resp, b := put("chunked", strings.NewReader(body), -1); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a body of unknown length counts as the largest: %d %s", resp.StatusCode, b)
	}
	huge := httptest.NewRequest("PUT", "/api/pilots/huge", strings.NewReader(body))
	huge.ContentLength = maxPilotBody + 1
	huge.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, huge)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body announced over the limit: %d %s", rec.Code, rec.Body)
	}
	io.WriteString(pw, body)
	pw.Close()
	if got := <-slow; !strings.HasPrefix(got, "201") {
		t.Fatalf("the slow upload: %s", got)
	}
	if resp, b := put("third", strings.NewReader(body), int64(len(body))); resp.StatusCode != http.StatusCreated {
		t.Fatalf("after the slow one: %d %s", resp.StatusCode, b)
	}
}
