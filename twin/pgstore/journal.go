package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/kiruna-twin/kiruna-twin/twin/wal"
)

// maxBusRecord is the largest record sent whole on the bus; a larger one
// goes as its number only and receivers read it from the store.
const maxBusRecord = 256 << 10

// journal is one store's stream of the shared journal.
type journal struct {
	db     *DB
	stream string
}

var (
	_ live.Journal  = (*journal)(nil)
	_ live.Follower = (*journal)(nil)
)

// LiveJournal opens the live state (companies' sensors, readings) kept in
// the store: for live.StoreOptions.Journal.
func (db *DB) LiveJournal() live.JournalOpener {
	return func(replay func(wal.Record) error) (live.Journal, error) {
		return db.attach(StreamLive, func(ctx context.Context, tx pgx.Tx) error { return db.loadLive(ctx, tx, replay) })
	}
}

// PilotJournal opens the pilots kept in the store: for live.OpenPilotsOn.
func (db *DB) PilotJournal() live.JournalOpener {
	return func(replay func(wal.Record) error) (live.Journal, error) {
		return db.attach(StreamPilots, func(ctx context.Context, tx pgx.Tx) error { return db.loadPilots(ctx, tx, replay) })
	}
}

// attach loads a stream's state from one consistent snapshot of the store
// and registers the stream at the snapshot's position, while the follower
// waits: every later change of the stream is applied, none twice.
func (db *DB) attach(name string, load func(context.Context, pgx.Tx) error) (*journal, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	db.fmu.Lock()
	defer db.fmu.Unlock()
	if _, ok := db.streams[name]; ok {
		return nil, fmt.Errorf("the %s stream is open already", name)
	}
	var pos uint64
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT n FROM kiruna_seq`).Scan(&pos); err != nil {
			return err
		}
		return load(ctx, tx)
	})
	if err != nil {
		return nil, fmt.Errorf("loading the %s state from the store: %w", name, unavailable(err))
	}
	db.streams[name] = &stream{name: name, pos: pos}
	return &journal{db: db, stream: name}, nil
}

// Follow starts applying the other replicas' changes of this stream.
func (j *journal) Follow(apply func(wal.Record) error) {
	j.db.fmu.Lock()
	st := j.db.streams[j.stream]
	st.apply = func(c live.Committed) error { return apply(wal.Record{Kind: c.Kind, Data: c.Data}) }
	st.ready = true
	j.db.fmu.Unlock()
	j.db.poke()
}

// Close detaches the stream: its changes are no longer applied.
func (j *journal) Close() error {
	j.db.fmu.Lock()
	delete(j.db.streams, j.stream)
	j.db.fmu.Unlock()
	return nil
}

// Commit writes one record in one transaction; it returns once the
// transaction committed and this replica applied every change up to it —
// or, when this replica cannot catch up within ApplyWait (the store went
// down just after the commit, and a change before this one is still
// missing), once the transaction committed: the write is durable, and the
// follower applies it in its turn.
func (j *journal) Commit(ctx context.Context, recs []wal.Record, apply func()) error {
	if len(recs) != 1 {
		return fmt.Errorf("the shared store commits one record at a time, got %d", len(recs))
	}
	db := j.db
	r := recs[0]
	token := newToken()
	p := &pending{apply: apply, done: make(chan struct{})}
	db.pmu.Lock()
	db.pending[token] = p
	db.pmu.Unlock()

	seq, err := db.write(ctx, j.stream, token, r)
	if err != nil {
		// Unknown whether it committed: if the follower already found it
		// in the store, it did, and it is applied.
		db.pmu.Lock()
		claimed := p.claimed
		if !claimed {
			delete(db.pending, token)
		}
		db.pmu.Unlock()
		if claimed {
			<-p.done
			return nil
		}
		return err
	}
	_ = seq // the committer handed it to the follower and the bus
	wait := time.NewTimer(db.opts.ApplyWait)
	defer wait.Stop()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	case <-wait.C:
	}
	// Committed, not yet applied here: the follower applies it as anyone
	// else's change.
	db.pmu.Lock()
	claimed := p.claimed
	if !claimed {
		delete(db.pending, token)
	}
	db.pmu.Unlock()
	if claimed {
		<-p.done
	}
	return nil
}

// write queues a record for the committer and waits for its
// transaction: it returns the record's number.
func (db *DB) write(ctx context.Context, stream string, token uint64, r wal.Record) (uint64, error) {
	w := &writeReq{stream: stream, token: token, rec: r, done: make(chan struct{})}
	select {
	case db.writes <- w:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-db.stop:
		return 0, fmt.Errorf("%w: closing", live.ErrUnavailable)
	}
	select {
	case <-w.done:
		return w.seq, w.err
	case <-ctx.Done():
		// It may still commit: the follower then applies it as anyone
		// else's change.
		return 0, ctx.Err()
	}
}

type writeReq struct {
	stream string
	token  uint64
	rec    wal.Record
	seq    uint64
	err    error
	done   chan struct{}
}

// maxGroup bounds the records of one transaction.
const maxGroup = 256

// committer writes queued records, every record waiting at the moment in
// one transaction (group commit): one commit, one flush of PostgreSQL's
// log, one turn on the sequence's lock for all of them.
func (db *DB) committer() {
	defer close(db.committed)
	for {
		var first *writeReq
		select {
		case first = <-db.writes:
		case <-db.stop:
			return
		}
		group := []*writeReq{first}
	more:
		for len(group) < maxGroup {
			select {
			case w := <-db.writes:
				group = append(group, w)
			default:
				break more
			}
		}
		db.writeGroup(group)
	}
}

// writeGroup is one transaction: each record's rows, then the numbers
// and the changes. The numbers are taken last, so the lock on the
// sequence's row is held only for the commit itself. A record the store
// refuses (another company's id) writes nothing — every refusal is a
// statement that changed no row — and the others go on.
func (db *DB) writeGroup(group []*writeReq) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var ok []*writeReq
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		ok = ok[:0]
		for _, w := range group {
			w.err = nil
			if err := project(ctx, tx, w.stream, w.rec); err != nil {
				var de domainError
				if errors.As(err, &de) {
					w.err = de.err
					continue
				}
				return err
			}
			ok = append(ok, w)
		}
		if len(ok) == 0 {
			return nil
		}
		var last uint64
		if err := tx.QueryRow(ctx, `UPDATE kiruna_seq SET n = n + $1 RETURNING n`, len(ok)).Scan(&last); err != nil {
			return err
		}
		first := last - uint64(len(ok)) + 1
		for i, w := range ok {
			w.seq = first + uint64(i)
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"kiruna_changes"}, []string{"seq", "stream", "kind", "data", "origin", "token"},
			pgx.CopyFromSlice(len(ok), func(i int) ([]any, error) {
				w := ok[i]
				return []any{int64(w.seq), w.stream, int16(w.rec.Kind), w.rec.Data, db.origin, int64(w.token)}, nil
			}))
		return err
	})
	err = unavailable(err)
	db.note(err)
	if err != nil {
		// Nothing of the group was acknowledged; a record the store
		// refused keeps its refusal.
		for _, w := range group {
			w.seq = 0
			if w.err == nil {
				w.err = err
			}
		}
	} else {
		for _, w := range ok {
			c := live.Committed{Seq: w.seq, Stream: w.stream, Kind: w.rec.Kind, Data: w.rec.Data, Origin: db.origin, Token: w.token}
			if db.opts.Bus != nil {
				out := c
				if len(out.Data) > maxBusRecord {
					out.Data = nil
				}
				db.opts.Bus.Publish(out)
			}
			select {
			case db.in <- c:
			case <-db.stop:
			}
		}
	}
	for _, w := range group {
		close(w.done)
	}
}

// domainError carries a refusal of the store (another company's id)
// through the transaction unchanged.
type domainError struct{ err error }

func (e domainError) Error() string { return e.err.Error() }

// heard takes a change from the bus.
func (db *DB) heard(c live.Committed) {
	select {
	case db.in <- c:
	default:
		db.poke() // full: read it from the store instead
	}
}

// resync asks the follower to read what the bus may have missed.
func (db *DB) resync() { db.poke() }

func (db *DB) poke() {
	select {
	case db.kick <- struct{}{}:
	default:
	}
}

// follow applies every change in order, until Close.
func (db *DB) follow() {
	defer close(db.stopped)
	poll := time.NewTicker(db.opts.Poll)
	defer poll.Stop()
	gap := time.NewTicker(db.opts.GapWait / 2)
	defer gap.Stop()
	prune := time.NewTicker(10 * time.Minute)
	defer prune.Stop()
	for {
		select {
		case <-db.stop:
			return
		case c := <-db.in:
			db.fmu.Lock()
			db.take(c)
			db.fmu.Unlock()
		case <-db.kick:
			db.catchUp()
		case <-poll.C:
			db.catchUp()
		case <-gap.C:
			db.fmu.Lock()
			late := !db.gapAt.IsZero() && time.Since(db.gapAt) > db.opts.GapWait
			db.fmu.Unlock()
			if late {
				db.catchUp()
			}
		case <-prune.C:
			db.prune()
		}
	}
}

// take applies c if it is next (and then what waited behind it), keeps it
// if it is early, drops it if it is old. fmu is held.
func (db *DB) take(c live.Committed) {
	if c.Seq <= db.last {
		return
	}
	if c.Seq != db.last+1 || c.Data == nil {
		if c.Data != nil {
			db.early[c.Seq] = c
		}
		if db.gapAt.IsZero() {
			db.gapAt = time.Now()
		}
		if c.Data == nil {
			db.poke()
		}
		return
	}
	if !db.applyOne(c) {
		db.early[c.Seq] = c
		return
	}
	for {
		next, ok := db.early[db.last+1]
		if !ok {
			break
		}
		delete(db.early, next.Seq)
		if !db.applyOne(next) {
			db.early[next.Seq] = next
			return
		}
	}
	if len(db.early) == 0 {
		db.gapAt = time.Time{}
	} else {
		db.gapAt = time.Now()
	}
}

// applyOne applies the next change: this replica's own through the apply
// its Commit waits on, another's through its stream. It reports false,
// and leaves last, when the stream is open but not following yet. fmu is
// held.
func (db *DB) applyOne(c live.Committed) bool {
	st := db.streams[c.Stream]
	if st != nil && !st.ready {
		return false
	}
	var p *pending
	if c.Origin == db.origin {
		db.pmu.Lock()
		if p = db.pending[c.Token]; p != nil {
			p.claimed = true
			delete(db.pending, c.Token)
		}
		db.pmu.Unlock()
	}
	switch {
	case p != nil:
		if p.apply != nil {
			p.apply()
		}
		close(p.done)
	case st != nil && c.Seq > st.pos:
		if err := st.apply(c); err != nil {
			db.log.Warn("a change from the store was not applied", "seq", c.Seq, "stream", c.Stream, "err", err)
		}
	}
	db.last = c.Seq
	db.applied.Add(1)
	return true
}

// catchUp reads from the store every change after the last applied one.
func (db *DB) catchUp() {
	db.fmu.Lock()
	defer db.fmu.Unlock()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cs, err := db.changesAfter(ctx, db.last, 1000)
		cancel()
		err = unavailable(err)
		db.note(err)
		if err != nil {
			db.log.Debug("reading changes from the store", "err", err)
			return
		}
		if len(cs) > 0 && cs[0].Seq != db.last+1 {
			if db.behind == nil {
				db.behind = fmt.Errorf("this replica is at change %d but the store keeps changes from %d on only: restart it to load the state afresh", db.last, cs[0].Seq)
				db.log.Error("fell behind the store's retention", "at", db.last, "oldest", cs[0].Seq)
			}
			return
		}
		for _, c := range cs {
			if e, ok := db.early[c.Seq]; ok {
				delete(db.early, c.Seq)
				c = e
			}
			if !db.applyOne(c) {
				return
			}
		}
		if len(cs) < 1000 {
			break
		}
	}
	for seq := range db.early {
		if seq <= db.last {
			delete(db.early, seq)
		}
	}
	if len(db.early) == 0 {
		db.gapAt = time.Time{}
	}
	// Whatever waited behind the gap may go now.
	for {
		next, ok := db.early[db.last+1]
		if !ok || !db.applyOne(next) {
			break
		}
		delete(db.early, next.Seq)
	}
}

func (db *DB) changesAfter(ctx context.Context, after uint64, limit int) ([]live.Committed, error) {
	rows, err := db.pool.Query(ctx, `SELECT seq, stream, kind, data, origin, token FROM kiruna_changes WHERE seq > $1 ORDER BY seq LIMIT $2`, int64(after), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []live.Committed
	for rows.Next() {
		var (
			c          live.Committed
			seq, token int64
			kind       int16
		)
		if err := rows.Scan(&seq, &c.Stream, &kind, &c.Data, &c.Origin, &token); err != nil {
			return nil, err
		}
		c.Seq, c.Kind, c.Token = uint64(seq), byte(kind), uint64(token)
		out = append(out, c)
	}
	return out, rows.Err()
}

// prune drops changes older than the retention, keeping the newest
// thousand whatever their age.
func (db *DB) prune() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := db.pool.Exec(ctx, `DELETE FROM kiruna_changes WHERE at < now() - $1::interval AND seq < (SELECT n FROM kiruna_seq) - 1000`,
		fmt.Sprintf("%d seconds", int64(db.opts.Retention/time.Second)))
	if err != nil {
		db.log.Warn("pruning old changes", "err", err)
	}
}
