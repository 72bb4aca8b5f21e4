package live

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/wal"
)

// StoreOptions tune a Store. The zero value is usable.
type StoreOptions struct {
	// HistoryLimit is the number of samples kept per sensor (4320 when 0:
	// a day of a reading every 20 s).
	HistoryLimit int
	// MaxFuture is how far past the clock a reading's time may be (5 min).
	MaxFuture time.Duration
	// SegmentSize is the log's segment size (see wal.Options).
	SegmentSize int64
	Clock       func() time.Time
	Logger      *slog.Logger
	// MaxSensorsPerOwner bounds the sensors one company may register
	// (its pilots' included); 0 means no bound. Register answers a
	// *QuotaError beyond it.
	MaxSensorsPerOwner int
	// Journal, when set, keeps the live state there instead of in the log
	// in dir (which is then not used): the shared store of several
	// replicas (see twin/pgstore).
	Journal JournalOpener
}

// Store is the durable live state: every sensor (the scene's and the
// companies'), their latest values and histories. Every write is in the
// log (twin/wal) before it is applied and before the call returns, so an
// acknowledged write survives kill -9; opening a Store replays the log.
type Store struct {
	log     Journal
	sensors *SensorSet
	model   *twin.Model
	opts    StoreOptions

	regMu sync.Mutex // a registration checks, commits and edits the model as one

	listenMu  sync.Mutex
	listeners map[int]func([]SensorState)
	nextID    int

	unlock   func()
	stop     chan struct{}
	swept    sync.WaitGroup
	onCommit atomic.Pointer[func(wal.CommitInfo)]
	replayed replayed // while opening
	batches  atomic.Uint64
	readings atomic.Uint64
}

// OpenStore opens (or creates) the live state in dir. The scene's sensors
// are taken from the model's sensors layer, which must be loaded first;
// companies' sensors from the log are added to that layer.
func OpenStore(dir string, model *twin.Model, opts StoreOptions) (*Store, error) {
	if opts.HistoryLimit <= 0 {
		opts.HistoryLimit = 4320
	}
	if opts.MaxFuture <= 0 {
		opts.MaxFuture = 5 * time.Minute
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{sensors: newSensorSet(opts.HistoryLimit, opts.Clock), model: model, opts: opts,
		listeners: map[int]func([]SensorState){}}
	unlock := func() {}
	if opts.Journal == nil {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("opening the live state: %w", err)
		}
		var err error
		if unlock, err = lockDir(dir); err != nil {
			return nil, fmt.Errorf("opening the live state in %s: %w", dir, err)
		}
	}
	s.unlock = unlock
	for _, f := range model.Snapshot().Features(twin.Sensors) {
		if sn, ok := SensorFromFeature(f); ok {
			s.sensors.put(sn)
		} else {
			opts.Logger.Warn("a scene sensor has no type; it takes no readings", "sensor", f.ID)
		}
	}
	replay := func(r wal.Record) error { return s.applyRecord(r, Replay) }
	open := opts.Journal
	if open == nil {
		open = func(replay func(wal.Record) error) (Journal, error) {
			return wal.Open(dir, walOptions(s), replay)
		}
	}
	log, err := open(replay)
	if err != nil {
		unlock()
		return nil, fmt.Errorf("opening the live state in %s: %w", dir, err)
	}
	s.log = log
	if s.replayed.unknown > 0 {
		opts.Logger.Warn("readings of sensors no longer in the scene or deleted were skipped", "readings", s.replayed.unknown)
	}
	s.replayed = replayed{}
	company := s.sensors.owned(func(owner string) bool { return owner != SystemOwner })
	if err := s.addToModel(company); err != nil {
		log.Close()
		unlock()
		return nil, err
	}
	if f, ok := log.(Follower); ok {
		f.Follow(s.ApplyCommitted)
	}
	s.stop = make(chan struct{})
	s.swept.Add(1)
	go s.sweep(5 * time.Second)
	return s, nil
}

// replayed is what a replay leaves for the end of OpenStore: the number
// of readings of sensors no longer in the scene (or deleted). The
// companies' sensors join the sensors layer in one edit then.
type replayed struct {
	unknown int
}

func walOptions(s *Store) wal.Options {
	return wal.Options{
		SegmentSize: s.opts.SegmentSize,
		Snapshot:    s.snapshot,
		OnCommit: func(c wal.CommitInfo) {
			if fn := s.onCommit.Load(); fn != nil {
				(*fn)(c)
			}
		},
		Logger: s.opts.Logger,
	}
}

// sweep tells listeners, every interval, of sensors whose value has just
// gone stale (no reading for longer than their type allows).
func (s *Store) sweep(interval time.Duration) {
	defer s.swept.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	last := s.opts.Clock()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		now := s.opts.Clock()
		s.notify(s.sensors.turnedStale(last, now))
		last = now
	}
}

func (s *Store) addToModel(sensors []Sensor) error {
	if len(sensors) == 0 || s.model == nil {
		return nil
	}
	latest := map[string]Sensor{}
	for _, sn := range sensors {
		latest[sn.ID] = sn
	}
	e := twin.Edit{Layer: twin.Sensors}
	for id, sn := range latest {
		e.Remove = append(e.Remove, id)
		e.Add = append(e.Add, sn.Feature())
	}
	if _, err := s.model.Apply(e); err != nil {
		return fmt.Errorf("adding companies' sensors to the model: %w", err)
	}
	return nil
}

func (s *Store) removeFromModel(id string) error {
	if s.model == nil {
		return nil
	}
	if _, err := s.model.Apply(twin.Edit{Layer: twin.Sensors, Remove: []string{id}}); err != nil {
		return fmt.Errorf("removing sensor %s from the model: %w", id, err)
	}
	return nil
}

// Close stops accepting writes and closes the log.
func (s *Store) Close() error {
	close(s.stop)
	s.swept.Wait()
	err := s.log.Close()
	s.unlock()
	return err
}

// Sensors is the live view of every sensor.
func (s *Store) Sensors() *SensorSet { return s.sensors }

// Ingested counts the batches and readings written so far.
func (s *Store) Ingested() (batches, readings uint64) { return s.batches.Load(), s.readings.Load() }

// ObserveCommits sets fn to be told of every group commit (for metrics).
func (s *Store) ObserveCommits(fn func(wal.CommitInfo)) { s.onCommit.Store(&fn) }

// Listen calls fn with the new states of the sensors that every write
// changed, in log order, on the committing goroutine: fn must be quick and
// must not keep the slice. It returns a cancel function.
func (s *Store) Listen(fn func([]SensorState)) (cancel func()) {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	id := s.nextID
	s.nextID++
	s.listeners[id] = fn
	return func() {
		s.listenMu.Lock()
		defer s.listenMu.Unlock()
		delete(s.listeners, id)
	}
}

func (s *Store) notify(states []SensorState) {
	if len(states) == 0 {
		return
	}
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	for _, fn := range s.listeners {
		fn(states)
	}
}

// Register adds a sensor owned by owner, or updates the owner's sensor of
// that id (created is false then). Another owner's id is ErrSensorTaken.
// The sensor is durable when Register returns, and in the sensors layer.
func (s *Store) Register(ctx context.Context, owner string, sn Sensor) (state SensorState, created bool, err error) {
	if err := sn.Normalize(); err != nil {
		return SensorState{}, false, err
	}
	if err := CheckNamespace(owner, sn.ID); err != nil {
		return SensorState{}, false, err
	}
	s.regMu.Lock()
	defer s.regMu.Unlock()
	old, exists := s.sensors.lookup(sn.ID)
	if exists && old.Owner != owner {
		return SensorState{}, false, fmt.Errorf("%w: %s", ErrSensorTaken, sn.ID)
	}
	if max := s.opts.MaxSensorsPerOwner; !exists && max > 0 {
		if have := s.sensors.countOwned(owner); have >= max {
			return SensorState{}, false, &QuotaError{What: "sensors", Limit: max, Have: have, Want: have + 1}
		}
	}
	sn.Owner = owner
	sn.Since = s.opts.Clock().UTC()
	if exists {
		sn.Since = old.Since
	}
	rec := wal.Record{Kind: RecSensor, Data: encodeSensor(nil, sn)}
	err = s.log.Commit(ctx, []wal.Record{rec}, func() { s.sensors.put(sn) })
	if err != nil {
		return SensorState{}, false, err
	}
	if err := s.addToModel([]Sensor{sn}); err != nil {
		s.opts.Logger.Error("a registered sensor could not join the sensors layer", "sensor", sn.ID, "err", err)
	}
	st, _ := s.sensors.Get(sn.ID)
	s.notify([]SensorState{st})
	return st, !exists, nil
}

// Delete removes owner's sensor id, durably, with its readings: it leaves
// the sensors layer and the store. Another owner's sensor (the scene's
// among them) is ErrNotOwner, an unknown one ErrUnknownSensor.
func (s *Store) Delete(ctx context.Context, owner, id string) error {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	old, ok := s.sensors.lookup(id)
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownSensor, id)
	}
	if old.Owner != owner {
		return fmt.Errorf("%w: %s", ErrNotOwner, id)
	}
	rec := wal.Record{Kind: RecSensorDelete, Data: EncodeSensorDelete(id, owner)}
	if err := s.log.Commit(ctx, []wal.Record{rec}, func() { s.sensors.remove(id) }); err != nil {
		return err
	}
	if err := s.removeFromModel(id); err != nil {
		s.opts.Logger.Error("a deleted sensor could not leave the sensors layer", "sensor", id, "err", err)
	}
	return nil
}

// MaxSensorsPerOwner is the quota of sensors of one company (0: none).
func (s *Store) MaxSensorsPerOwner() int { return s.opts.MaxSensorsPerOwner }

// ReadingError names the reading of a batch and its field that is wrong.
type ReadingError struct {
	Index int
	Field string // "sensor", "time" or "value"
	Err   error
}

func (e *ReadingError) Error() string {
	return fmt.Sprintf("readings[%d].%s: %v", e.Index, e.Field, e.Err)
}
func (e *ReadingError) Unwrap() error { return e.Err }

var earliest = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

// Validate checks a batch for owner: every sensor known and owner's, every
// time neither before 1900 nor more than MaxFuture ahead, every value
// finite and believable for its type. It returns the first *ReadingError.
func (s *Store) Validate(owner string, rs []Reading) error {
	now := s.opts.Clock()
	for i, r := range rs {
		sn, ok := s.sensors.lookup(r.Sensor)
		if !ok {
			return &ReadingError{i, "sensor", fmt.Errorf("%w %q", ErrUnknownSensor, r.Sensor)}
		}
		if sn.Owner != owner {
			return &ReadingError{i, "sensor", fmt.Errorf("%w: %s", ErrNotOwner, r.Sensor)}
		}
		if r.Time.Before(earliest) {
			return &ReadingError{i, "time", fmt.Errorf("%w: %s is before 1900", ErrBadReading, r.Time.Format(time.RFC3339))}
		}
		if r.Time.Sub(now) > s.opts.MaxFuture {
			return &ReadingError{i, "time", fmt.Errorf("%w: %s is more than %s ahead of the server's clock (%s)",
				ErrBadReading, r.Time.Format(time.RFC3339), s.opts.MaxFuture, now.UTC().Format(time.RFC3339))}
		}
		if err := sn.Type.CheckValue(r.Value); err != nil {
			return &ReadingError{i, "value", err}
		}
	}
	return nil
}

// Ingest validates a batch of owner's readings and writes it: when Ingest
// returns nil every reading is durable and applied, and listeners have
// seen the new states. A bad reading rejects the whole batch.
func (s *Store) Ingest(ctx context.Context, owner string, rs []Reading) error {
	if len(rs) == 0 {
		return nil
	}
	if err := s.Validate(owner, rs); err != nil {
		return err
	}
	rec := wal.Record{Kind: RecReadings, Data: encodeReadings(nil, rs)}
	err := s.log.Commit(ctx, []wal.Record{rec}, func() {
		changed, _ := s.sensors.apply(rs, s.opts.Clock())
		s.notify(changed)
	})
	if err != nil {
		return err
	}
	s.batches.Add(1)
	s.readings.Add(uint64(len(rs)))
	return nil
}

// snapshot runs on the log's committer goroutine: it copies the state and
// returns the writer of a checkpoint.
func (s *Store) snapshot() func(emit func(wal.Record) error) error {
	copies := s.sensors.snapshotEntries()
	return func(emit func(wal.Record) error) error {
		for _, c := range copies {
			if c.Owner == SystemOwner {
				continue
			}
			if err := emit(wal.Record{Kind: RecSensor, Data: encodeSensor(nil, c.Sensor)}); err != nil {
				return err
			}
		}
		var buf []byte
		rs := make([]Reading, 0, 1024)
		for _, c := range copies {
			for i := 0; i < len(c.hist); i += 1024 {
				rs = rs[:0]
				for _, h := range c.hist[i:min(i+1024, len(c.hist))] {
					rs = append(rs, Reading{Sensor: c.ID, Time: time.Unix(0, h.t), Value: h.v})
				}
				buf = encodeReadings(buf[:0], rs)
				if err := emit(wal.Record{Kind: RecReadings, Data: buf}); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

var errShort = errors.New("record too short")

// ErrLocked: another process has the live state's directory open.
var ErrLocked = errors.New("another process has this data directory open")

func encodeSensor(b []byte, sn Sensor) []byte {
	for _, s := range []string{sn.ID, string(sn.Type), sn.Unit, sn.Name, sn.Owner} {
		b = appendString(b, s)
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(sn.Pos[0]))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(sn.Pos[1]))
	return binary.AppendVarint(b, sn.Since.UnixNano())
}

func decodeSensor(b []byte) (Sensor, error) {
	var f [5]string
	for i := range f {
		s, rest, ok := readString(b)
		if !ok {
			return Sensor{}, fmt.Errorf("sensor record: %w", errShort)
		}
		f[i], b = s, rest
	}
	if len(b) < 16 {
		return Sensor{}, fmt.Errorf("sensor record: %w", errShort)
	}
	lon := math.Float64frombits(binary.LittleEndian.Uint64(b))
	lat := math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
	since, k := binary.Varint(b[16:])
	if k <= 0 {
		return Sensor{}, fmt.Errorf("sensor record: %w", errShort)
	}
	return Sensor{ID: f[0], Type: SensorType(f[1]), Unit: f[2], Name: f[3], Owner: f[4],
		Pos: [2]float64{lon, lat}, Since: time.Unix(0, since).UTC()}, nil
}

func encodeReadings(b []byte, rs []Reading) []byte {
	b = binary.AppendUvarint(b, uint64(len(rs)))
	for _, r := range rs {
		b = appendString(b, r.Sensor)
		b = binary.AppendVarint(b, r.Time.UnixNano())
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.Value))
	}
	return b
}

func decodeReadings(b []byte) ([]Reading, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, fmt.Errorf("readings record: %w", errShort)
	}
	b = b[k:]
	rs := make([]Reading, 0, n)
	for i := uint64(0); i < n; i++ {
		id, rest, ok := readString(b)
		if !ok {
			return nil, fmt.Errorf("readings record: %w", errShort)
		}
		t, k := binary.Varint(rest)
		if k <= 0 || len(rest) < k+8 {
			return nil, fmt.Errorf("readings record: %w", errShort)
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(rest[k:]))
		rs = append(rs, Reading{Sensor: id, Time: time.Unix(0, t).UTC(), Value: v})
		b = rest[k+8:]
	}
	return rs, nil
}
