package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/kiruna-twin/kiruna-twin/twin/wal"
)

// failingJournal is a log whose disk fails once failed is set: every
// commit then answers wal.ErrFailed and Err says so, as *wal.Log does
// after a failed write or fsync.
type failingJournal struct{ failed atomic.Bool }

func (j *failingJournal) Commit(ctx context.Context, recs []wal.Record, apply func()) error {
	if err := j.Err(); err != nil {
		return err
	}
	if apply != nil {
		apply()
	}
	return nil
}

func (j *failingJournal) Err() error {
	if j.failed.Load() {
		return fmt.Errorf("%w: write live/0000000000000001.wal: no space left on device", wal.ErrFailed)
	}
	return nil
}

func (j *failingJournal) Close() error { return nil }

// After the log has failed (a full disk), /readyz answers 503 with the
// reason, and a write answers 503 saying it is refused until restart.
func TestReadyzAfterTheLogFailed(t *testing.T) {
	e := &liveEnv{dir: t.TempDir(), model: twin.NewModel()}
	if err := e.model.Load(sceneSensors()); err != nil {
		t.Fatal(err)
	}
	tok, _ := live.AddTenant(e.dir, "acme", time.Now())
	tenants, _ := live.OpenTenants(e.dir)
	srv := New(Config{Model: e.model, Logger: quietLog, Tenants: tenants})
	defer srv.Close()
	j := &failingJournal{}
	st, err := live.OpenStore("", e.model, live.StoreOptions{Logger: quietLog,
		Journal: func(func(wal.Record) error) (live.Journal, error) { return j, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv.SetLive(st)
	srv.SetScene(&scenes.Scene{ID: "t", Bounds: [4]float64{20, 67, 21, 68}})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	e.srv, e.ts = srv, ts

	if code, body := e.do(t, "GET", "/readyz", "", ""); code != http.StatusOK {
		t.Fatalf("/readyz before the failure: %d %v", code, body)
	}
	if code, body := e.do(t, "POST", "/api/sensors", tok, `{"id":"acme-1","type":"snow_depth","lon":20.05,"lat":67.05}`); code != http.StatusCreated {
		t.Fatalf("register: %d %v", code, body)
	}
	j.failed.Store(true)
	reading := fmt.Sprintf(`{"readings":[{"sensor":"acme-1","time":%q,"value":1}]}`, time.Now().UTC().Format(time.RFC3339))
	if code, body := e.do(t, "POST", "/api/readings", tok, reading); code != http.StatusServiceUnavailable ||
		!strings.Contains(fmt.Sprint(body["error"]), "refused until restart") {
		t.Fatalf("a write after the failure: %d %v", code, body)
	}
	code, body := e.do(t, "GET", "/readyz", "", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(fmt.Sprint(body["error"]), "no space left on device") ||
		!strings.Contains(fmt.Sprint(body["error"]), "refused until restart") {
		t.Fatalf("/readyz after the failure: %d %v, want 503 naming the failure", code, body)
	}
	if code, _ := e.do(t, "GET", "/healthz", "", ""); code != http.StatusOK {
		t.Fatalf("/healthz after the failure: %d (the process is alive: only readiness changes)", code)
	}
}
