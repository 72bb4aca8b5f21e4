// Package pgstore keeps the twin's written state — companies, their
// sensors and readings, their pilots — in PostgreSQL with PostGIS, shared
// by several replicas of the server. It is a live.Journal for the live
// state and for the pilots, and the companies' register
// (live.Authenticator).
//
// Every write is one transaction that puts the record into its tables
// (geometry columns with spatial indexes, readable by any GIS tool) and
// into kiruna_changes under the next number of one gapless sequence; the
// transactions of all replicas take that number last, one at a time, so
// the numbers are the commit order. Each replica applies every change in
// that order exactly once: its own as soon as they commit, the others' as
// the bus (live.Bus, e.g. NATS) brings them, and whatever the bus missed
// from kiruna_changes, which it reads after every gap, every
// reconnection and every poll interval. The store is the truth; the bus
// only makes it fast.
package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
)

// Streams of the shared journal: one per store.
const (
	StreamLive   = live.SensorStream
	StreamPilots = live.PilotStream
)

// Options tune a DB. Only URL is required.
type Options struct {
	// URL is a PostgreSQL connection URL (postgres://user:pass@host/db).
	URL string
	// Bus, when set, carries each commit to the other replicas at once;
	// without it they see it within Poll.
	Bus live.Bus
	// Poll is how often the replica reads changes it may have missed (1 s
	// with a bus, 200 ms without).
	Poll time.Duration
	// GapWait is how long a change heard out of order waits for the ones
	// before it to arrive on the bus before they are read from the store
	// (100 ms).
	GapWait time.Duration
	// ApplyWait bounds how long a committed write waits for this replica
	// to apply it before it is acknowledged anyway (3 s): see Commit.
	ApplyWait time.Duration
	// Retention is how long kiruna_changes keeps a change for replicas that
	// fell behind (24 h); a replica further behind must restart.
	Retention time.Duration
	// HistoryLimit is how many readings per sensor a replica loads (4320,
	// as live.StoreOptions).
	HistoryLimit int
	Logger       *slog.Logger
}

// DB is one replica's connection to the shared store.
type DB struct {
	pool   *pgxpool.Pool
	opts   Options
	log    *slog.Logger
	origin string

	pmu     sync.Mutex
	pending map[uint64]*pending // this replica's commits, by token

	fmu     sync.Mutex // the follower's state
	last    uint64     // every change up to last is applied
	streams map[string]*stream
	early   map[uint64]live.Committed // heard ahead of a gap
	gapAt   time.Time
	behind  error // changes this replica needs were pruned

	in        chan live.Committed
	writes    chan *writeReq
	committed chan struct{} // closed when the committer ends
	kick      chan struct{}
	stop      chan struct{}
	stopped   chan struct{}

	storeErr atomic.Pointer[error]
	applied  atomic.Uint64
	tenants  *Tenants
}

type stream struct {
	name  string
	pos   uint64 // loaded up to here
	apply func(live.Committed) error
	ready bool
}

type pending struct {
	apply   func()
	claimed bool
	done    chan struct{}
}

// Open connects, runs the schema migrations (idempotently, one replica at
// a time) and starts following the changes.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Poll <= 0 {
		opts.Poll = 200 * time.Millisecond
		if opts.Bus != nil {
			opts.Poll = time.Second
		}
	}
	if opts.GapWait <= 0 {
		opts.GapWait = 100 * time.Millisecond
	}
	if opts.ApplyWait <= 0 {
		opts.ApplyWait = 3 * time.Second
	}
	if opts.Retention <= 0 {
		opts.Retention = 24 * time.Hour
	}
	if opts.HistoryLimit <= 0 {
		opts.HistoryLimit = 4320
	}
	cfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("the store's URL: %w", err)
	}
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "kiruna-twin"
	cfg.HealthCheckPeriod = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to the store: %w", err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	db := &DB{pool: pool, opts: opts, log: opts.Logger, origin: hex.EncodeToString(id[:]),
		pending: map[uint64]*pending{}, streams: map[string]*stream{}, early: map[uint64]live.Committed{},
		in: make(chan live.Committed, 4096), kick: make(chan struct{}, 1),
		writes: make(chan *writeReq, 1024), committed: make(chan struct{}),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := db.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := pool.QueryRow(ctx, `SELECT n FROM kiruna_seq`).Scan(&db.last); err != nil {
		pool.Close()
		return nil, fmt.Errorf("reading the store's position: %w", unavailable(err))
	}
	db.tenants = newTenants(db)
	if opts.Bus != nil {
		if err := opts.Bus.Listen(db.heard, db.resync); err != nil {
			pool.Close()
			return nil, fmt.Errorf("listening on the bus: %w", err)
		}
	}
	go db.follow()
	go db.committer()
	return db, nil
}

// Close stops following and closes the connections; close the stores on
// top of it first.
func (db *DB) Close() {
	close(db.stop)
	<-db.stopped
	<-db.committed
	db.tenants.close()
	db.pool.Close()
}

// Pool is the connection pool (for tests and tools).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Position is the number of the last change this replica applied.
func (db *DB) Position() uint64 {
	db.fmu.Lock()
	defer db.fmu.Unlock()
	return db.last
}

// Ready tells whether this replica is in step with the store: nil while
// the store answers and no change it needs was lost.
func (db *DB) Ready() error {
	db.fmu.Lock()
	behind := db.behind
	db.fmu.Unlock()
	if behind != nil {
		return behind
	}
	if p := db.storeErr.Load(); p != nil && *p != nil {
		return fmt.Errorf("the store (PostgreSQL) cannot be reached: %v; reads are served from memory, writes answer 503", *p)
	}
	return nil
}

// note records whether the last round trip to the store worked.
func (db *DB) note(err error) {
	if err != nil && errors.Is(err, live.ErrUnavailable) {
		db.storeErr.Store(&err)
		return
	}
	if err == nil {
		db.storeErr.Store(nil)
	}
}

// unavailable marks errors that mean the store could not be reached (or
// is shutting down) with live.ErrUnavailable; errors of the request
// itself and of its context stay as they are.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code[:2] {
		case "08", "57", "53", "58": // connection, operator intervention, resources, system
		default:
			return err
		}
	}
	return fmt.Errorf("%w: %v", live.ErrUnavailable, err)
}

func newToken() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// migrations are the schema, in order; never change one that has shipped,
// add the next.
var migrations = []string{
	`CREATE EXTENSION IF NOT EXISTS postgis;
	CREATE TABLE kiruna_seq (one boolean PRIMARY KEY DEFAULT true CHECK (one), n bigint NOT NULL);
	INSERT INTO kiruna_seq (n) VALUES (0);
	CREATE TABLE kiruna_changes (
		seq bigint PRIMARY KEY,
		at timestamptz NOT NULL DEFAULT now(),
		stream text NOT NULL,
		kind smallint NOT NULL,
		data bytea NOT NULL,
		origin text NOT NULL,
		token bigint NOT NULL);
	CREATE INDEX kiruna_changes_at ON kiruna_changes (at);
	CREATE TABLE kiruna_tenants (
		name text PRIMARY KEY,
		token_sha256 bytea NOT NULL UNIQUE,
		created timestamptz NOT NULL,
		revoked timestamptz);
	CREATE TABLE kiruna_sensors (
		id text PRIMARY KEY,
		type text NOT NULL,
		unit text NOT NULL,
		name text NOT NULL,
		owner text NOT NULL,
		since timestamptz NOT NULL,
		geom geometry(Point, 4326) NOT NULL);
	CREATE INDEX kiruna_sensors_geom ON kiruna_sensors USING gist (geom);
	CREATE TABLE kiruna_readings (
		sensor text NOT NULL,
		time timestamptz NOT NULL,
		value double precision NOT NULL);
	CREATE INDEX kiruna_readings_sensor_time ON kiruna_readings (sensor, time);
	CREATE TABLE kiruna_pilots (
		name text PRIMARY KEY,
		company text NOT NULL,
		updated timestamptz NOT NULL,
		features integer NOT NULL,
		bound geometry(Geometry, 4326),
		data bytea NOT NULL);
	CREATE INDEX kiruna_pilots_bound ON kiruna_pilots USING gist (bound);
	CREATE TABLE kiruna_pilot_features (
		pilot text NOT NULL REFERENCES kiruna_pilots (name) ON DELETE CASCADE,
		id text NOT NULL,
		kind text NOT NULL,
		name text NOT NULL,
		height double precision NOT NULL,
		base double precision NOT NULL,
		valid_from timestamptz,
		valid_to timestamptz,
		status text NOT NULL,
		props jsonb NOT NULL,
		geom geometry(Geometry, 4326) NOT NULL,
		PRIMARY KEY (pilot, id));
	CREATE INDEX kiruna_pilot_features_geom ON kiruna_pilot_features USING gist (geom);`,
	// 2: one row per sensor and instant, as in memory: a retried reading
	// replaces the row instead of adding a second (keeping the later row of
	// any pair written before this version).
	`DELETE FROM kiruna_readings a USING kiruna_readings b
		WHERE a.sensor = b.sensor AND a.time = b.time AND a.ctid < b.ctid;
	DROP INDEX kiruna_readings_sensor_time;
	CREATE UNIQUE INDEX kiruna_readings_sensor_time ON kiruna_readings (sensor, time);`,
}

// migrate brings the schema up to date in one transaction, under an
// advisory lock so that replicas starting together take turns.
func (db *DB) migrate(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7317201)`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS kiruna_schema (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM kiruna_schema`).Scan(&have); err != nil {
			return err
		}
		if have > len(migrations) {
			return fmt.Errorf("the store's schema is version %d, newer than this build's %d: run a newer build", have, len(migrations))
		}
		for v := have + 1; v <= len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
				return fmt.Errorf("migration %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO kiruna_schema (version) VALUES ($1)`, v); err != nil {
				return err
			}
			db.log.Info("store schema migrated", "version", v)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("preparing the store's schema: %w", unavailable(err))
	}
	return nil
}
