package live

import (
	"errors"
	"fmt"
	"slices"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/wal"
)

// The streams of records: each store writes its own, and a shared journal
// (twin/pgstore) names every record's stream.
const (
	SensorStream = "live"   // the Store's: sensors and readings
	PilotStream  = "pilots" // the PilotStore's: pilots put and withdrawn
)

// Record kinds, by stream. New kinds take new numbers; never reuse one.
const (
	RecSensor       byte = 1 // SensorStream: a company's sensor registered or changed
	RecReadings     byte = 2 // SensorStream: a batch of readings
	RecSensorDelete byte = 3 // SensorStream: a company's sensor deleted, with its readings

	RecPilotPut    byte = 1 // PilotStream: a pilot created or replaced whole
	RecPilotDelete byte = 2 // PilotStream: a pilot withdrawn
)

// ErrUnknownKind: a record of a kind this version does not know (written
// by a newer one). Replay refuses it rather than lose it at the next
// checkpoint.
var ErrUnknownKind = errors.New("unknown record kind")

// ConflictRule says what applying a record does when it meets state it
// contradicts: a sensor id that another company holds, a pilot that
// another company owns, the withdrawal of a pilot that is not there.
// That depends on where the record comes from, so every apply is told.
type ConflictRule uint8

const (
	// Replay: a store rebuilds its state as it opens, from its own log or
	// from the shared store's rows. Every record there was accepted once;
	// one that contradicts the state is a write whose own apply refused it
	// (another company's registration or put that lost the race in the
	// log), so it is skipped again and the first owner keeps the id (a
	// skipped sensor is logged). Withdrawing what is not there does
	// nothing. Nothing reads the store yet: the replayed sensors and
	// pilots join the model in one edit when the replay ends, and no
	// listener is told.
	Replay ConflictRule = iota + 1
	// Replica: another replica committed the record to the shared journal,
	// whose rows (Rows) had accepted it, so a contradiction means this
	// replica's memory has drifted from the store: it is an error, the
	// record is not applied, and the journal logs it. Withdrawing what is
	// not there does nothing (it is gone here already). The model changes
	// and listeners hear of it at once, as for the replica's own writes.
	Replica
	// Rows: the shared store (twin/pgstore) writes the record into its
	// tables, inside the record's transaction, before any replica applies
	// it: a contradiction refuses the write (the transaction rolls back
	// and the writer gets the error), and so does withdrawing a pilot that
	// is not there.
	Rows
)

func (r ConflictRule) String() string {
	switch r {
	case Replay:
		return "replay"
	case Replica:
		return "replica"
	case Rows:
		return "rows"
	}
	return fmt.Sprintf("ConflictRule(%d)", uint8(r))
}

// Contradiction returns what a record that contradicts the state (err
// says how) comes to under the rule: nil when it is skipped and the state
// kept (Replay), err otherwise.
func (r ConflictRule) Contradiction(err error) error {
	if r == Replay {
		return nil
	}
	return err
}

// Absent returns what a record that removes something not there (err
// says what) comes to under the rule: nil when there is nothing to do
// (Replay, Replica), err when the write is refused (Rows).
func (r ConflictRule) Absent(err error) error {
	if r == Rows {
		return err
	}
	return nil
}

// Decoded is a record read by its kind's Decode: the fields of its kind
// are set.
type Decoded struct {
	// Sensor is a RecSensor's; of a RecSensorDelete only its ID and Owner
	// are set.
	Sensor   Sensor
	Readings []Reading // RecReadings
	// Pilot is the pilot of a RecPilotPut; of a RecPilotDelete only its ID
	// is set.
	Pilot PilotInfo
	// Features are a RecPilotPut's, in the pilots layer, with their model
	// ids.
	Features []*twin.Feature
}

// RecordKind is one kind of record of the written state: the byte it is
// stored under in its stream, its name, how it is read and how a store
// applies it. Every engine goes through the one table (RecordKinds): the
// embedded log's replay and a replica's ApplyCommitted here, the shared
// store's rows in twin/pgstore.
type RecordKind struct {
	Stream string // SensorStream or PilotStream
	Kind   byte
	Name   string // for messages and metrics: "sensor", "readings", "sensor deletion", "pilot", "pilot withdrawal"
	Decode func(data []byte) (Decoded, error)

	// How the Store applies a record of SensorStream, and the PilotStore
	// one of PilotStream, under a conflict rule.
	store  func(s *Store, d Decoded, rule ConflictRule) error
	pilots func(p *PilotStore, d Decoded, rule ConflictRule) error
}

var recordKinds = [...]RecordKind{
	{Stream: SensorStream, Kind: RecSensor, Name: "sensor", Decode: decodeSensorRecord, store: applySensor},
	{Stream: SensorStream, Kind: RecReadings, Name: "readings", Decode: decodeReadingsRecord, store: applyReadings},
	{Stream: SensorStream, Kind: RecSensorDelete, Name: "sensor deletion", Decode: decodeSensorDelete, store: applySensorDelete},
	{Stream: PilotStream, Kind: RecPilotPut, Name: "pilot", Decode: decodePilotRecord, pilots: applyPilotPut},
	{Stream: PilotStream, Kind: RecPilotDelete, Name: "pilot withdrawal", Decode: decodePilotDelete, pilots: applyPilotDelete},
}

// RecordKinds returns every kind of record, by stream and byte.
func RecordKinds() []RecordKind { return slices.Clone(recordKinds[:]) }

// LookupKind returns the kind of a record of stream; ErrUnknownKind when
// there is none.
func LookupKind(stream string, kind byte) (RecordKind, error) {
	for _, k := range recordKinds {
		if k.Stream == stream && k.Kind == kind {
			return k, nil
		}
	}
	return RecordKind{}, fmt.Errorf("%w: the %s stream has no record kind %d", ErrUnknownKind, stream, kind)
}

// DecodeRecord reads a record of stream with its kind's Decode.
func DecodeRecord(stream string, r wal.Record) (RecordKind, Decoded, error) {
	k, err := LookupKind(stream, r.Kind)
	if err != nil {
		return RecordKind{}, Decoded{}, err
	}
	d, err := k.Decode(r.Data)
	return k, d, err
}

func decodeSensorRecord(b []byte) (Decoded, error) {
	sn, err := decodeSensor(b)
	return Decoded{Sensor: sn}, err
}

func decodeReadingsRecord(b []byte) (Decoded, error) {
	rs, err := decodeReadings(b)
	return Decoded{Readings: rs}, err
}

// EncodeSensorDelete writes a RecSensorDelete record: the sensor's id
// and its owner.
func EncodeSensorDelete(id, owner string) []byte {
	return appendString(appendString(nil, id), owner)
}

func decodeSensorDelete(b []byte) (Decoded, error) {
	id, rest, ok := readString(b)
	if !ok {
		return Decoded{}, fmt.Errorf("sensor deletion record: %w", errShort)
	}
	owner, rest, ok := readString(rest)
	if !ok || len(rest) != 0 {
		return Decoded{}, fmt.Errorf("sensor deletion record: %w", errShort)
	}
	return Decoded{Sensor: Sensor{ID: id, Owner: owner}}, nil
}

func decodePilotRecord(b []byte) (Decoded, error) {
	pl, err := decodePilot(b)
	if err != nil {
		return Decoded{}, err
	}
	return Decoded{Pilot: pl.info, Features: pl.features}, nil
}

func decodePilotDelete(b []byte) (Decoded, error) {
	return Decoded{Pilot: PilotInfo{ID: string(b)}}, nil
}

// applyRecord decodes a record of the live stream and applies it.
func (s *Store) applyRecord(r wal.Record, rule ConflictRule) error {
	k, d, err := DecodeRecord(SensorStream, r)
	if err != nil {
		return err
	}
	return k.store(s, d, rule)
}

// ApplyCommitted applies a record of the live state that another replica
// committed to a shared journal, as if this store had written it: the
// sensor joins the sensors layer, readings update the states, and
// listeners (the WebSocket hub) hear of it. A shared journal calls it in
// commit order (see Follower).
func (s *Store) ApplyCommitted(r wal.Record) error { return s.applyRecord(r, Replica) }

func applySensor(s *Store, d Decoded, rule ConflictRule) error {
	sn := d.Sensor
	// Not under regMu: a Register of this store holds it while its own
	// commit waits for the journal to apply everything before it.
	if old, ok := s.sensors.lookup(sn.ID); ok && old.Owner != sn.Owner {
		err := rule.Contradiction(fmt.Errorf("%w: %s (a committed registration of %s)", ErrSensorTaken, sn.ID, sn.Owner))
		if err == nil {
			s.opts.Logger.Warn("a company's sensor has the id of another owner's sensor; it is left out", "sensor", sn.ID, "owner", sn.Owner)
		}
		return err
	}
	s.sensors.put(sn)
	if rule == Replay {
		return nil // the replayed sensors join the model when the replay ends
	}
	if err := s.addToModel([]Sensor{sn}); err != nil {
		return err
	}
	st, _ := s.sensors.Get(sn.ID)
	s.notify([]SensorState{st})
	return nil
}

func applySensorDelete(s *Store, d Decoded, rule ConflictRule) error {
	id := d.Sensor.ID
	old, ok := s.sensors.lookup(id)
	if !ok {
		return rule.Absent(fmt.Errorf("%w %q", ErrUnknownSensor, id))
	}
	if old.Owner != d.Sensor.Owner {
		return rule.Contradiction(fmt.Errorf("%w: %s (a committed deletion by %s)", ErrNotOwner, id, d.Sensor.Owner))
	}
	s.sensors.remove(id)
	if rule == Replay {
		return nil
	}
	return s.removeFromModel(id)
}

func applyReadings(s *Store, d Decoded, rule ConflictRule) error {
	changed, unknown := s.sensors.apply(d.Readings, s.opts.Clock())
	if rule == Replay {
		s.replayed.unknown += unknown
		return nil
	}
	s.notify(changed)
	return nil
}

// applyRecord decodes a record of the pilots stream and applies it.
func (p *PilotStore) applyRecord(r wal.Record, rule ConflictRule) error {
	k, d, err := DecodeRecord(PilotStream, r)
	if err != nil {
		return err
	}
	return k.pilots(p, d, rule)
}

// ApplyCommitted applies a pilots record that another replica committed
// to a shared journal: the pilots layer changes as one edit, so tiles and
// WebSocket clients see exactly the touched area change.
func (p *PilotStore) ApplyCommitted(r wal.Record) error { return p.applyRecord(r, Replica) }

func applyPilotPut(p *PilotStore, d Decoded, rule ConflictRule) error {
	pl := &pilot{info: d.Pilot, features: d.Features}
	id := pl.info.ID
	// Applies run one at a time, in commit order: the owner cannot change
	// between this look and the edit below.
	if owner, ok := p.Owner(id); ok && owner != pl.info.Company {
		return rule.Contradiction(fmt.Errorf("%w: %s", ErrNotPilotOwner, id))
	}
	if err := twin.Prepare(pl.features); err != nil {
		return fmt.Errorf("pilot %s: %w", id, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if rule != Replay {
		if _, err := p.model.Apply(twin.Edit{Layer: twin.Pilots, RemoveIf: isPilot(id), Add: pl.features}); err != nil {
			return err
		}
	}
	p.pilots[id] = pl
	return nil
}

func applyPilotDelete(p *PilotStore, d Decoded, rule ConflictRule) error {
	id := d.Pilot.ID
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.pilots[id]; !ok {
		return rule.Absent(fmt.Errorf("%w: %s", ErrPilotNotFound, id))
	}
	if rule != Replay {
		if _, err := p.model.Apply(twin.Edit{Layer: twin.Pilots, RemoveIf: isPilot(id)}); err != nil {
			return err
		}
	}
	delete(p.pilots, id)
	return nil
}
