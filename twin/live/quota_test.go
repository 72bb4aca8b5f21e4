package live

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/wal"
	"github.com/paulmach/orb"
)

// TestDeleteSensor: the owner deletes its sensor, durably, with its
// readings; nobody else may; after a restart it is still gone, and its
// id is free again.
func TestDeleteSensor(t *testing.T) {
	dir := t.TempDir()
	m := sceneModel(t)
	s := openStore(t, dir, m, StoreOptions{})
	ctx := context.Background()
	sn := Sensor{ID: "acme-1", Type: SnowDepth, Pos: orb.Point{20.25, 67.84}}
	if _, _, err := s.Register(ctx, "acme", sn); err != nil {
		t.Fatal(err)
	}
	if err := s.Ingest(ctx, "acme", []Reading{{Sensor: "acme-1", Time: t0.Add(-time.Minute), Value: 30}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		owner, id string
		want      error
	}{
		{"beta", "acme-1", ErrNotOwner},
		{"acme", "s-bin", ErrNotOwner}, // the scene's
		{"acme", "nope", ErrUnknownSensor},
	} {
		if err := s.Delete(ctx, c.owner, c.id); !errors.Is(err, c.want) {
			t.Errorf("%s deletes %s: %v, want %v", c.owner, c.id, err, c.want)
		}
	}
	if err := s.Delete(ctx, "acme", "acme-1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Sensors().Get("acme-1"); ok {
		t.Fatal("the deleted sensor is still there")
	}
	if _, ok := m.Snapshot().Get(twin.Sensors, "acme-1"); ok {
		t.Fatal("the deleted sensor is still in the sensors layer")
	}
	s.Close()

	m = sceneModel(t)
	s = openStore(t, dir, m, StoreOptions{})
	defer s.Close()
	if _, ok := s.Sensors().Get("acme-1"); ok {
		t.Fatal("the deleted sensor came back after a restart")
	}
	if _, ok := m.Snapshot().Get(twin.Sensors, "acme-1"); ok {
		t.Fatal("the deleted sensor is in the sensors layer after a restart")
	}
	if _, created, err := s.Register(ctx, "beta", sn); err != nil || !created {
		t.Fatalf("another company takes the freed id: %v %v", created, err)
	}
	if h, _ := s.Sensors().History("acme-1", time.Time{}, time.Time{}, 0); len(h) != 0 {
		t.Fatalf("the new sensor inherited %d readings", len(h))
	}
}

// TestSensorDeletionRecord: the record kind is in the one table, replayed
// and applied by a replica under each rule.
func TestSensorDeletionRecord(t *testing.T) {
	sn := Sensor{ID: "acme-1", Type: SnowDepth, Unit: "cm", Owner: "acme", Pos: orb.Point{20.25, 67.84}, Since: t0}
	reg := wal.Record{Kind: RecSensor, Data: EncodeSensorRecord(sn)}
	del := wal.Record{Kind: RecSensorDelete, Data: EncodeSensorDelete("acme-1", "acme")}
	k, d, err := DecodeRecord(SensorStream, del)
	if err != nil || k.Name != "sensor deletion" || d.Sensor.ID != "acme-1" || d.Sensor.Owner != "acme" {
		t.Fatalf("decode: %q %+v %v", k.Name, d.Sensor, err)
	}
	if _, _, err := DecodeRecord(SensorStream, wal.Record{Kind: RecSensorDelete, Data: []byte{5, 'a'}}); err == nil {
		t.Fatal("a cut deletion decoded")
	}
	m := sceneModel(t)
	s, err := OpenStore("", m, StoreOptions{Logger: quietLog, Journal: replaying(reg, del, del)})
	if err != nil {
		t.Fatalf("replay of a registration and two deletions: %v", err)
	}
	defer s.Close()
	if _, ok := s.Sensors().Get("acme-1"); ok {
		t.Fatal("replayed deletion left the sensor")
	}
	if err := s.ApplyCommitted(reg); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Snapshot().Get(twin.Sensors, "acme-1"); !ok {
		t.Fatal("a replica's registration did not reach the model")
	}
	theirs := wal.Record{Kind: RecSensorDelete, Data: EncodeSensorDelete("acme-1", "beta")}
	if err := s.ApplyCommitted(theirs); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("a replica's deletion by another owner: %v", err)
	}
	if err := s.ApplyCommitted(del); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Snapshot().Get(twin.Sensors, "acme-1"); ok {
		t.Fatal("a replica's deletion did not leave the model")
	}
	if err := s.ApplyCommitted(del); err != nil {
		t.Fatalf("a replica's deletion of a sensor gone already: %v", err)
	}
}

func TestSensorQuotaNamespaceAndFence(t *testing.T) {
	s := openStore(t, t.TempDir(), sceneModel(t), StoreOptions{MaxSensorsPerOwner: 2})
	defer s.Close()
	ctx := context.Background()
	reg := func(owner, id string, lat float64) error {
		_, _, err := s.Register(ctx, owner, Sensor{ID: id, Type: SnowDepth, Pos: orb.Point{20.25, lat}})
		return err
	}
	for _, id := range []string{"a1", "acme:p.x"} {
		if err := reg("acme", id, 67.84); err != nil {
			t.Fatal(err)
		}
	}
	var qe *QuotaError
	if err := reg("acme", "a3", 67.84); !errors.As(err, &qe) || !errors.Is(err, ErrQuota) || qe.What != "sensors" || qe.Limit != 2 {
		t.Fatalf("a third sensor: %v", err)
	}
	if err := reg("acme", "a1", 67.85); err != nil {
		t.Fatalf("moving a sensor it has: %v", err)
	}
	if err := reg("beta", "b1", 67.84); err != nil {
		t.Fatalf("another company's quota is its own: %v", err)
	}
	if err := s.Delete(ctx, "acme", "a1"); err != nil {
		t.Fatal(err)
	}
	if err := reg("acme", "a3", 67.84); err != nil {
		t.Fatalf("after a deletion: %v", err)
	}
	for _, c := range []struct {
		owner, id string
		lat       float64
		want      error
	}{
		{"beta", "acme:p.y", 67.84, ErrNamespace},
		{"beta", "acme:x", 67.84, ErrNamespace},
		{"acme", "beta:x", 67.84, ErrNamespace},
		{"beta", "x", -89.9, twin.ErrOutOfRange},
		{"beta", "x", 85.06, twin.ErrOutOfRange},
	} {
		if err := reg(c.owner, c.id, c.lat); !errors.Is(err, c.want) {
			t.Errorf("%s registers %s at %v: %v, want %v", c.owner, c.id, c.lat, err, c.want)
		}
	}
}

func TestPilotQuota(t *testing.T) {
	m := twin.NewModel()
	ps, err := OpenPilots(t.TempDir(), m, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	ps.SetQuota(PilotQuota{Pilots: 2, Vertices: 24})
	ctx := context.Background()
	put := func(company, id string, n int) error { // n lines of 2 vertices
		_, _, err := ps.Put(ctx, company, id, pilotFeatures(1, n))
		return err
	}
	if err := put("acme", "a", 5); err != nil {
		t.Fatal(err)
	}
	if err := put("acme", "b", 5); err != nil {
		t.Fatal(err)
	}
	var qe *QuotaError
	if err := put("acme", "c", 1); !errors.As(err, &qe) || qe.What != "pilots" || qe.Have != 2 {
		t.Fatalf("a third pilot: %v", err)
	}
	if err := put("acme", "b", 8); !errors.As(err, &qe) || qe.What != "vertices" || qe.Want != 26 {
		t.Fatalf("over the vertices: %v", err)
	}
	if err := put("acme", "b", 7); err != nil {
		t.Fatalf("replacing within the vertices: %v", err)
	}
	if err := put("beta", "c", 12); err != nil {
		t.Fatalf("another company: %v", err)
	}
	if got := ps.List(); len(got) != 3 || got[1].Vertices != 14 {
		t.Fatalf("List: %+v", got)
	}
}
