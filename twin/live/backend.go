package live

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/kiruna-twin/kiruna-twin/twin/wal"
)

// The seams between the twin's in-memory state and the engines that make
// it durable. The embedded default keeps each store in its own log
// (twin/wal); several replicas share PostgreSQL (twin/pgstore) and hear
// each other over NATS (twin/natsbus). Both sides satisfy the same small
// interfaces, so Store, PilotStore and the server do not know which one
// they run on.

// Journal makes a store's records durable, in order: *wal.Log is the
// embedded one. Commit returns nil only once recs are durable and apply
// has run; apply runs in commit order, never concurrently with another
// apply of the same journal. When Commit returns an error the records may
// or may not have been committed (a lost connection leaves it unknown),
// and apply has not run.
type Journal interface {
	Commit(ctx context.Context, recs []wal.Record, apply func()) error
	Close() error
}

// JournalOpener opens a journal: it first hands replay every record that
// rebuilds the state the journal holds (a log's records, or a database's
// rows as records), in order.
type JournalOpener func(replay func(wal.Record) error) (Journal, error)

// A Follower is a journal shared by several processes: once the store on
// top of it is open, it is told to apply each record that another process
// committed, in commit order, with the store's own ApplyCommitted.
type Follower interface {
	Follow(apply func(wal.Record) error)
}

var _ Journal = (*wal.Log)(nil)

// journalErr is what stopped a journal accepting commits (a log after a
// failed write or fsync), or nil; a journal that cannot fail for good
// (a shared store, which reconnects) has no Err method.
func journalErr(j Journal) error {
	if f, ok := j.(interface{ Err() error }); ok {
		return f.Err()
	}
	return nil
}

// Err returns what stopped the live state accepting writes until a
// restart (the log failed to write or fsync: a full disk), or nil.
func (s *Store) Err() error { return journalErr(s.log) }

// Err returns what stopped the pilots accepting writes until a restart,
// or nil.
func (p *PilotStore) Err() error { return journalErr(p.log) }

// Authenticator tells the company of a write token: *Tenants (the
// embedded register in the data directory) and the shared store's
// register satisfy it.
type Authenticator interface {
	Authenticate(token string) (Tenant, error)
}

var _ Authenticator = (*Tenants)(nil)

// ErrUnavailable: the engine behind a store cannot be reached; nothing was
// acknowledged and the write may be tried again later.
var ErrUnavailable = errors.New("the store is unavailable")

// Committed is a record as a shared journal numbered it: Seq is its place
// in the one order every replica applies records in; Stream names the
// store it belongs to ("live" or "pilots"); Origin and Token tell the
// replica that wrote it its own writes. Data may be nil when the record
// is too large for the bus: the receiver reads it from the store.
type Committed struct {
	Seq    uint64
	Stream string
	Kind   byte
	Data   []byte
	Origin string
	Token  uint64
}

// Bus carries committed records between replicas, fast but without
// promise: the store stays the truth, and a replica that misses a message
// reads the record from the store. *natsbus.Bus satisfies it.
type Bus interface {
	// Publish sends c to every replica, best effort.
	Publish(c Committed)
	// Listen calls heard with every record heard on the bus, and resync
	// whenever messages may have been missed (a reconnection, a dropped
	// message); both on the bus's goroutines.
	Listen(heard func(Committed), resync func()) error
	// Connected reports whether the bus is reachable now.
	Connected() bool
	Close() error
}

// EncodeSensorRecord and EncodeReadingsRecord write the stored forms of
// the live records, for engines that keep them in their own shape (rows
// of a database) and give them back on open; DecodeRecord reads them.
func EncodeSensorRecord(sn Sensor) []byte { return encodeSensor(nil, sn) }

// EncodeReadingsRecord writes a RecReadings record.
func EncodeReadingsRecord(rs []Reading) []byte { return encodeReadings(nil, rs) }

// NewToken makes a company's write token and the SHA-256 hash that is
// all a register keeps of it.
func NewToken() (token string, hash [32]byte, err error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", hash, err
	}
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	return token, sha256.Sum256([]byte(token)), nil
}

// TokenHash returns the hash of a token, or false when it cannot be one.
func TokenHash(token string) ([32]byte, bool) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 128 {
		return [32]byte{}, false
	}
	return sha256.Sum256([]byte(token)), true
}
