package live

import (
	"fmt"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/wal"
)

// ApplyCommitted applies a record of the live state that another replica
// committed to a shared journal, as if this store had written it: the
// sensor joins the sensors layer, readings update the states, and
// listeners (the WebSocket hub) hear of it. A shared journal calls it in
// commit order (see Follower).
func (s *Store) ApplyCommitted(r wal.Record) error {
	switch r.Kind {
	case RecSensor:
		sn, err := decodeSensor(r.Data)
		if err != nil {
			return err
		}
		// Not under regMu: a Register of this store holds it while its own
		// commit waits for the journal to apply everything before it.
		if old, ok := s.sensors.lookup(sn.ID); ok && old.Owner != sn.Owner {
			return fmt.Errorf("%w: %s (a committed registration of %s)", ErrSensorTaken, sn.ID, sn.Owner)
		}
		s.sensors.put(sn)
		if err := s.addToModel([]Sensor{sn}); err != nil {
			return err
		}
		st, _ := s.sensors.Get(sn.ID)
		s.notify([]SensorState{st})
	case RecReadings:
		rs, err := decodeReadings(r.Data)
		if err != nil {
			return err
		}
		changed, _ := s.sensors.apply(rs, s.opts.Clock())
		s.notify(changed)
	default:
		return fmt.Errorf("unknown record kind %d", r.Kind)
	}
	return nil
}

// ApplyCommitted applies a pilots record that another replica committed
// to a shared journal: the pilots layer changes as one edit, so tiles and
// WebSocket clients see exactly the touched area change.
func (p *PilotStore) ApplyCommitted(r wal.Record) error {
	switch r.Kind {
	case recPilotPut:
		pl, err := decodePilot(r.Data)
		if err != nil {
			return err
		}
		if err := twin.Prepare(pl.features); err != nil {
			return fmt.Errorf("pilot %s: %w", pl.info.ID, err)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if old, ok := p.pilots[pl.info.ID]; ok && old.info.Company != pl.info.Company {
			return fmt.Errorf("%w: %s", ErrNotPilotOwner, pl.info.ID)
		}
		if _, err := p.model.Apply(twin.Edit{Layer: twin.Pilots, RemoveIf: isPilot(pl.info.ID), Add: pl.features}); err != nil {
			return err
		}
		p.pilots[pl.info.ID] = pl
	case recPilotDelete:
		id := string(r.Data)
		p.mu.Lock()
		defer p.mu.Unlock()
		if _, ok := p.pilots[id]; !ok {
			return nil
		}
		if _, err := p.model.Apply(twin.Edit{Layer: twin.Pilots, RemoveIf: isPilot(id)}); err != nil {
			return err
		}
		delete(p.pilots, id)
	default:
		return fmt.Errorf("unknown pilot record kind %d", r.Kind)
	}
	return nil
}
