package pgstore_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/kiruna-twin/kiruna-twin/twin/pgstore"
	"github.com/kiruna-twin/kiruna-twin/twin/pgstore/pgtest"
	"github.com/paulmach/orb"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// replica is one process's view: its own model, live state and pilots on
// the shared store.
type replica struct {
	db     *pgstore.DB
	model  *twin.Model
	store  *live.Store
	pilots *live.PilotStore
}

func openReplica(t *testing.T, url string, bus live.Bus) *replica {
	t.Helper()
	ctx := context.Background()
	db, err := pgstore.Open(ctx, pgstore.Options{URL: url, Bus: bus, Logger: quiet, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{db: db, model: twin.NewModel()}
	if r.store, err = live.OpenStore("", r.model, live.StoreOptions{Logger: quiet, Journal: db.LiveJournal()}); err != nil {
		t.Fatal(err)
	}
	if r.pilots, err = live.OpenPilotsOn(db.PilotJournal(), r.model, quiet); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.close)
	return r
}

func (r *replica) close() {
	if r.db == nil {
		return
	}
	r.pilots.Close()
	r.store.Close()
	r.db.Close()
	r.db = nil
}

func eventually(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	url := pgtest.Database(t)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		db, err := pgstore.Open(ctx, pgstore.Options{URL: url, Logger: quiet})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var v int
		var geomIndexes int
		if err := db.Pool().QueryRow(ctx, `SELECT max(version) FROM kiruna_schema`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING gist (geom)%' AND tablename LIKE 'kiruna_%'`).Scan(&geomIndexes); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if v != 2 || geomIndexes != 2 {
			t.Fatalf("open %d: schema version %d, %d spatial indexes on geom; want 2 and 2", i, v, geomIndexes)
		}
	}
}

// TestRetriedReadingsAreOneRow: a batch sent again (a retry after a 503
// that had committed) and a reading repeated within a batch leave one row
// per sensor and instant, the last value, as in memory.
func TestRetriedReadingsAreOneRow(t *testing.T) {
	url := pgtest.Database(t)
	ctx := context.Background()
	a := openReplica(t, url, nil)
	sn := live.Sensor{ID: "lkab-1", Type: "temperature", Unit: "°C", Name: "Tuolluvaara", Pos: orb.Point{20.25, 67.86}}
	if _, _, err := a.store.Register(ctx, "lkab", sn); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	batch := []live.Reading{{Sensor: "lkab-1", Time: t0, Value: 1}, {Sensor: "lkab-1", Time: t0.Add(time.Minute), Value: 2}}
	for range 2 {
		if err := a.store.Ingest(ctx, "lkab", batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.store.Ingest(ctx, "lkab", []live.Reading{
		{Sensor: "lkab-1", Time: t0, Value: 5},
		{Sensor: "lkab-1", Time: t0.Add(2 * time.Minute), Value: 7},
		{Sensor: "lkab-1", Time: t0.Add(2*time.Minute + 300*time.Nanosecond), Value: 8}, // the same microsecond
	}); err != nil {
		t.Fatal(err)
	}
	rows, err := a.db.Pool().Query(ctx, `SELECT time, value FROM kiruna_readings WHERE sensor = 'lkab-1' ORDER BY time`)
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	for rows.Next() {
		var at time.Time
		var v float64
		if err := rows.Scan(&at, &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if rows.Err() != nil || len(got) != 3 || got[0] != 5 || got[1] != 2 || got[2] != 8 {
		t.Fatalf("rows %v (%v); want [5 2 8]", got, rows.Err())
	}
}

func TestReplicasShareTheStore(t *testing.T) {
	url := pgtest.Database(t)
	ctx := context.Background()
	a := openReplica(t, url, nil)
	b := openReplica(t, url, nil)

	// A company added through A authenticates on B.
	token, err := a.db.Tenants().Add(ctx, "lkab", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "B authenticates A's new company", 2*time.Second, func() bool {
		tn, err := b.db.Tenants().Authenticate(token)
		return err == nil && tn.Name == "lkab"
	})
	if _, err := b.db.Tenants().Add(ctx, "lkab", time.Now()); !errors.Is(err, live.ErrTenantExists) {
		t.Fatalf("adding it again: %v, want ErrTenantExists", err)
	}

	sn := live.Sensor{ID: "lkab-1", Type: "temperature", Unit: "°C", Name: "Tuolluvaara", Pos: orb.Point{20.25, 67.86}}
	if _, created, err := a.store.Register(ctx, "lkab", sn); err != nil || !created {
		t.Fatalf("register on A: %v %v", created, err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := a.store.Ingest(ctx, "lkab", []live.Reading{{Sensor: "lkab-1", Time: now, Value: -12.5}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B sees A's reading", 5*time.Second, func() bool {
		st, ok := b.store.Sensors().Get("lkab-1")
		return ok && st.Value == -12.5
	})
	if _, ok := b.model.Snapshot().Get(twin.Sensors, "lkab-1"); !ok {
		t.Fatal("A's sensor is not in B's sensors layer")
	}
	// Another company takes the same id on B: the store refuses.
	sn2 := sn
	if _, _, err := b.store.Register(ctx, "other", sn2); !errors.Is(err, live.ErrSensorTaken) {
		t.Fatalf("another owner's id: %v, want ErrSensorTaken", err)
	}

	// A pilot on B reaches A's pilots layer; a deletion too.
	f := &twin.Feature{ID: "p1", Kind: "sensor-mast", Name: "Mast", Geometry: orb.Point{20.22, 67.85},
		Life: twin.Lifespan{From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}}
	if _, _, err := b.pilots.Put(ctx, "lkab", "masts", []*twin.Feature{f}); err != nil {
		t.Fatal(err)
	}
	id := live.PilotFeatureID("masts", "p1")
	eventually(t, "A sees B's pilot", 5*time.Second, func() bool { return has(a.model, id) })
	if _, _, err := a.pilots.Put(ctx, "other", "masts", []*twin.Feature{f}); !errors.Is(err, live.ErrNotPilotOwner) {
		t.Fatalf("another company's pilot name: %v", err)
	}
	var inPostGIS int
	if err := a.db.Pool().QueryRow(ctx, `SELECT count(*) FROM kiruna_pilot_features WHERE ST_Intersects(geom, ST_MakeEnvelope(20, 67, 21, 68, 4326))`).Scan(&inPostGIS); err != nil || inPostGIS != 1 {
		t.Fatalf("PostGIS finds %d pilot features in the box (%v), want 1", inPostGIS, err)
	}

	// A third replica started late loads it all.
	c := openReplica(t, url, nil)
	if st, ok := c.store.Sensors().Get("lkab-1"); !ok || st.Value != -12.5 || st.Owner != "lkab" {
		t.Fatalf("late replica: sensor %+v %v", st, ok)
	}
	if !has(c.model, id) {
		t.Fatal("late replica has no pilot")
	}

	if err := a.pilots.Delete(ctx, "lkab", "masts"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B and C see the pilot withdrawn", 5*time.Second, func() bool {
		return !has(b.model, id) && !has(c.model, id)
	})
	if a.db.Position() == 0 || a.db.Ready() != nil {
		t.Fatalf("position %d, ready %v", a.db.Position(), a.db.Ready())
	}
}

func has(m *twin.Model, pilotFeature string) bool {
	_, ok := m.Snapshot().Get(twin.Pilots, pilotFeature)
	return ok
}

// TestStoreDownRefusesWritesAndRecovers: with PostgreSQL stopped a write
// is ErrUnavailable (never acknowledged), Ready says why, reads go on from
// memory; once it is back, writes work again without reopening anything.
func TestStoreDownRefusesWritesAndRecovers(t *testing.T) {
	pg := pgtest.NewCluster(t)
	ctx := context.Background()
	a := openReplica(t, pg.URL, nil)
	sn := live.Sensor{ID: "s", Type: "temperature", Unit: "°C", Pos: orb.Point{20.2, 67.85}}
	if _, _, err := a.store.Register(ctx, "lkab", sn); err != nil {
		t.Fatal(err)
	}
	pg.Stop()
	err := a.store.Ingest(ctx, "lkab", []live.Reading{{Sensor: "s", Time: time.Now(), Value: 1}})
	if !errors.Is(err, live.ErrUnavailable) {
		t.Fatalf("a write with the store down: %v, want ErrUnavailable", err)
	}
	eventually(t, "Ready reports the store down", 5*time.Second, func() bool { return a.db.Ready() != nil })
	if _, ok := a.store.Sensors().Get("s"); !ok {
		t.Fatal("reads stopped with the store")
	}
	pg.Start()
	eventually(t, "writes work again", 10*time.Second, func() bool {
		return a.store.Ingest(ctx, "lkab", []live.Reading{{Sensor: "s", Time: time.Now(), Value: 2}}) == nil
	})
	eventually(t, "Ready again", 5*time.Second, func() bool { return a.db.Ready() == nil })
	if st, _ := a.store.Sensors().Get("s"); st.Value != 2 {
		t.Fatalf("value %v after recovery, want 2", st.Value)
	}
}

// TestSensorDeletedEverywhere: a sensor deleted on one replica leaves the
// store's rows (its readings with it) and every replica; a replica
// started later never sees it, and the id is free again.
func TestSensorDeletedEverywhere(t *testing.T) {
	url := pgtest.Database(t)
	ctx := context.Background()
	a := openReplica(t, url, nil)
	b := openReplica(t, url, nil)
	sn := live.Sensor{ID: "lkab-1", Type: "temperature", Unit: "°C", Pos: orb.Point{20.25, 67.86}}
	if _, _, err := a.store.Register(ctx, "lkab", sn); err != nil {
		t.Fatal(err)
	}
	if err := a.store.Ingest(ctx, "lkab", []live.Reading{{Sensor: "lkab-1", Time: time.Now().UTC().Add(-time.Minute), Value: 1}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B sees the sensor", 5*time.Second, func() bool { _, ok := b.store.Sensors().Get("lkab-1"); return ok })
	if err := b.store.Delete(ctx, "other", "lkab-1"); !errors.Is(err, live.ErrNotOwner) {
		t.Fatalf("another company deletes: %v", err)
	}
	if err := b.store.Delete(ctx, "lkab", "lkab-1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "A sees the sensor gone", 5*time.Second, func() bool {
		_, inStore := a.store.Sensors().Get("lkab-1")
		_, inModel := a.model.Snapshot().Get(twin.Sensors, "lkab-1")
		return !inStore && !inModel
	})
	var sensors, readings int
	if err := a.db.Pool().QueryRow(ctx, `SELECT (SELECT count(*) FROM kiruna_sensors WHERE id = 'lkab-1'), (SELECT count(*) FROM kiruna_readings WHERE sensor = 'lkab-1')`).Scan(&sensors, &readings); err != nil || sensors != 0 || readings != 0 {
		t.Fatalf("rows left: %d sensors, %d readings (%v)", sensors, readings, err)
	}
	c := openReplica(t, url, nil)
	if _, ok := c.store.Sensors().Get("lkab-1"); ok {
		t.Fatal("a late replica has the deleted sensor")
	}
	if _, _, err := c.store.Register(ctx, "other", sn); err != nil {
		t.Fatalf("the freed id: %v", err)
	}
}
