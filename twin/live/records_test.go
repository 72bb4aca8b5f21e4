package live

import (
	"context"
	"errors"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/wal"
	"github.com/paulmach/orb"
)

// fakeJournal replays recs on open and commits nothing durably: enough to
// hand a store records as its log would.
type fakeJournal struct{}

func (fakeJournal) Commit(_ context.Context, _ []wal.Record, apply func()) error {
	apply()
	return nil
}
func (fakeJournal) Close() error { return nil }

func replaying(recs ...wal.Record) JournalOpener {
	return func(replay func(wal.Record) error) (Journal, error) {
		for _, r := range recs {
			if err := replay(r); err != nil {
				return nil, err
			}
		}
		return fakeJournal{}, nil
	}
}

func TestRecordKindsTable(t *testing.T) {
	seen := map[[2]any]bool{}
	names := map[string]bool{}
	for _, k := range RecordKinds() {
		if k.Stream != SensorStream && k.Stream != PilotStream {
			t.Errorf("kind %q: stream %q", k.Name, k.Stream)
		}
		if k.Kind == 0 {
			t.Errorf("kind %q: byte 0 is reserved by the log", k.Name)
		}
		if key := [2]any{k.Stream, k.Kind}; seen[key] {
			t.Errorf("kind %q: %s %d twice", k.Name, k.Stream, k.Kind)
		} else {
			seen[key] = true
		}
		if names[k.Name] {
			t.Errorf("name %q twice", k.Name)
		}
		names[k.Name] = true
		if k.Decode == nil || (k.Stream == SensorStream) != (k.store != nil) || (k.Stream == PilotStream) != (k.pilots != nil) {
			t.Errorf("kind %q: Decode or its store's apply missing", k.Name)
		}
	}
	if _, err := LookupKind(SensorStream, 9); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("LookupKind of an unknown kind: %v, want ErrUnknownKind", err)
	}
	if _, _, err := DecodeRecord(PilotStream, wal.Record{Kind: RecSensor + 8}); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("DecodeRecord of an unknown kind: %v, want ErrUnknownKind", err)
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	sn := Sensor{ID: "acme-1", Type: SnowDepth, Unit: "cm", Name: "Snö", Owner: "acme", Pos: orb.Point{20.25, 67.84}, Since: t0}
	k, d, err := DecodeRecord(SensorStream, wal.Record{Kind: RecSensor, Data: EncodeSensorRecord(sn)})
	if err != nil || k.Name != "sensor" || d.Sensor != sn {
		t.Fatalf("sensor: %q %+v %v, want %+v", k.Name, d.Sensor, err, sn)
	}
	rs := []Reading{{Sensor: "acme-1", Time: t0, Value: 3}, {Sensor: "acme-1", Time: t0.Add(1), Value: -1.5}}
	k, d, err = DecodeRecord(SensorStream, wal.Record{Kind: RecReadings, Data: EncodeReadingsRecord(rs)})
	if err != nil || k.Name != "readings" || len(d.Readings) != 2 || d.Readings[1] != rs[1] {
		t.Fatalf("readings: %q %+v %v", k.Name, d.Readings, err)
	}
	k, d, err = DecodeRecord(PilotStream, wal.Record{Kind: RecPilotDelete, Data: []byte("heat-loop")})
	if err != nil || k.Name != "pilot withdrawal" || d.Pilot.ID != "heat-loop" {
		t.Fatalf("pilot withdrawal: %q %+v %v", k.Name, d.Pilot, err)
	}
	if _, _, err := DecodeRecord(SensorStream, wal.Record{Kind: RecSensor, Data: []byte{3, 'a'}}); err == nil {
		t.Fatal("a cut sensor record decoded")
	}
}

func TestReplayRefusesAnUnknownKind(t *testing.T) {
	_, err := OpenStore("", sceneModel(t), StoreOptions{Logger: quietLog, Journal: replaying(wal.Record{Kind: 7, Data: []byte("x")})})
	if !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("open with a record of kind 7: %v, want ErrUnknownKind", err)
	}
	_, err = OpenPilotsOn(replaying(wal.Record{Kind: 7}), twin.NewModel(), quietLog)
	if !errors.Is(err, ErrUnknownKind) {
		t.Fatalf("pilots open with a record of kind 7: %v, want ErrUnknownKind", err)
	}
}

// TestConflictRules holds each rule to its doc: a record that contradicts
// the state is skipped under Replay and an error under Replica and Rows;
// withdrawing what is not there is nothing but under Rows.
func TestConflictRules(t *testing.T) {
	taken := errors.New("taken")
	for _, tc := range []struct {
		rule                   ConflictRule
		contradiction, absence error
	}{
		{Replay, nil, nil},
		{Replica, taken, nil},
		{Rows, taken, taken},
	} {
		if got := tc.rule.Contradiction(taken); got != tc.contradiction {
			t.Errorf("%v.Contradiction: %v, want %v", tc.rule, got, tc.contradiction)
		}
		if got := tc.rule.Absent(taken); got != tc.absence {
			t.Errorf("%v.Absent: %v, want %v", tc.rule, got, tc.absence)
		}
	}

	// Sensors: acme's sensor, then other's record of the same id.
	mine := Sensor{ID: "dup", Type: SnowDepth, Unit: "cm", Owner: "acme", Pos: orb.Point{20.2, 67.8}, Since: t0}
	theirs := mine
	theirs.Owner, theirs.Name = "other", "theirs"
	recs := []wal.Record{{Kind: RecSensor, Data: EncodeSensorRecord(mine)}, {Kind: RecSensor, Data: EncodeSensorRecord(theirs)}}
	s, err := OpenStore("", sceneModel(t), StoreOptions{Logger: quietLog, Journal: replaying(recs...)})
	if err != nil {
		t.Fatalf("replay skips another owner's sensor, got %v", err)
	}
	defer s.Close()
	if st, _ := s.Sensors().Get("dup"); st.Owner != "acme" {
		t.Fatalf("after replay the sensor is %s's, want the first owner's", st.Owner)
	}
	if err := s.ApplyCommitted(recs[1]); !errors.Is(err, ErrSensorTaken) {
		t.Fatalf("a replica's record of another owner's sensor: %v, want ErrSensorTaken", err)
	}
	if st, _ := s.Sensors().Get("dup"); st.Owner != "acme" || st.Name != "" {
		t.Fatalf("a refused record changed the sensor: %+v", st)
	}

	// Pilots: acme's pilot, other's put of the same name, a withdrawal of
	// a pilot that is not there.
	put := func(company string) wal.Record {
		fs := pilotFeatures(1, 2)
		for _, f := range fs {
			f.Layer, f.ID = twin.Pilots, PilotFeatureID("loop", f.ID)
		}
		data, err := encodePilot(&pilot{info: PilotInfo{ID: "loop", Company: company, Updated: t0, Features: 2}, features: fs})
		if err != nil {
			t.Fatal(err)
		}
		return wal.Record{Kind: RecPilotPut, Data: data}
	}
	gone := wal.Record{Kind: RecPilotDelete, Data: []byte("nowhere")}
	m := twin.NewModel()
	ps, err := OpenPilotsOn(replaying(put("acme"), put("other"), gone), m, quietLog)
	if err != nil {
		t.Fatalf("replay skips another company's pilot and an absent withdrawal, got %v", err)
	}
	defer ps.Close()
	if owner, _ := ps.Owner("loop"); owner != "acme" || m.Snapshot().Count(twin.Pilots) != 2 {
		t.Fatalf("after replay the pilot is %q's with %d features, want acme's with 2", owner, m.Snapshot().Count(twin.Pilots))
	}
	if err := ps.ApplyCommitted(put("other")); !errors.Is(err, ErrNotPilotOwner) {
		t.Fatalf("a replica's put of another company's pilot: %v, want ErrNotPilotOwner", err)
	}
	if err := ps.ApplyCommitted(gone); err != nil {
		t.Fatalf("a replica's withdrawal of a pilot not there: %v, want nothing", err)
	}
	if owner, _ := ps.Owner("loop"); owner != "acme" {
		t.Fatalf("a refused put changed the owner to %q", owner)
	}
}
