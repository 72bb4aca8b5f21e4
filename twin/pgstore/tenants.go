package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
)

// Tenants is the register of companies kept in the store, shared by every
// replica. Each replica keeps a copy in memory, read again every second
// (and at once for a token it does not know), so a company added or
// revoked on any replica, or by the tenant command, counts everywhere
// within a second; while the store is down the copy keeps answering.
type Tenants struct {
	db *DB

	mu      sync.Mutex
	byHash  map[[32]byte]live.Tenant
	loaded  time.Time
	stop    chan struct{}
	stopped chan struct{}
}

var _ live.Authenticator = (*Tenants)(nil)

func newTenants(db *DB) *Tenants {
	t := &Tenants{db: db, byHash: map[[32]byte]live.Tenant{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	_ = t.reload()
	go func() {
		defer close(t.stopped)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
				_ = t.reload()
			}
		}
	}()
	return t
}

func (t *Tenants) close() {
	close(t.stop)
	<-t.stopped
}

// Tenants is the register of companies.
func (db *DB) Tenants() *Tenants { return db.tenants }

func (t *Tenants) reload() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := t.db.pool.Query(ctx, `SELECT name, token_sha256, created, revoked FROM kiruna_tenants`)
	if err != nil {
		return unavailable(err)
	}
	m := map[[32]byte]live.Tenant{}
	for rows.Next() {
		var (
			tn      live.Tenant
			h       []byte
			revoked *time.Time
		)
		if err := rows.Scan(&tn.Name, &h, &tn.Created, &revoked); err != nil {
			rows.Close()
			return err
		}
		if revoked != nil {
			tn.Revoked = revoked.UTC()
		}
		tn.Created = tn.Created.UTC()
		var k [32]byte
		copy(k[:], h)
		m[k] = tn
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return unavailable(err)
	}
	t.mu.Lock()
	t.byHash, t.loaded = m, time.Now()
	t.mu.Unlock()
	return nil
}

// Authenticate returns the company whose token this is.
func (t *Tenants) Authenticate(token string) (live.Tenant, error) {
	h, ok := live.TokenHash(token)
	if !ok {
		return live.Tenant{}, live.ErrBadToken
	}
	t.mu.Lock()
	tn, ok := t.byHash[h]
	fresh := time.Since(t.loaded) < 100*time.Millisecond
	t.mu.Unlock()
	if !ok && !fresh {
		_ = t.reload() // a company added just now, perhaps on another replica
		t.mu.Lock()
		tn, ok = t.byHash[h]
		t.mu.Unlock()
	}
	if !ok {
		return live.Tenant{}, live.ErrBadToken
	}
	if !tn.Active() {
		return tn, live.ErrRevoked
	}
	return tn, nil
}

// Add creates a company and returns its token, which is stored nowhere:
// only its hash is.
func (t *Tenants) Add(ctx context.Context, name string, now time.Time) (string, error) {
	if !live.ValidTenantName(name) {
		return "", fmt.Errorf("%w, got %q", live.ErrBadTenantName, name)
	}
	token, h, err := live.NewToken()
	if err != nil {
		return "", err
	}
	_, err = t.db.pool.Exec(ctx, `INSERT INTO kiruna_tenants (name, token_sha256, created) VALUES ($1, $2, $3)`, name, h[:], now.UTC())
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return "", fmt.Errorf("%w: %s", live.ErrTenantExists, name)
	}
	if err != nil {
		return "", unavailable(err)
	}
	_ = t.reload()
	return token, nil
}

// Revoke stops accepting the company's token.
func (t *Tenants) Revoke(ctx context.Context, name string, now time.Time) error {
	var revoked *time.Time
	err := t.db.pool.QueryRow(ctx, `SELECT revoked FROM kiruna_tenants WHERE name = $1`, name).Scan(&revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s", live.ErrNoTenant, name)
	}
	if err != nil {
		return unavailable(err)
	}
	if revoked != nil {
		return fmt.Errorf("%w: %s already", live.ErrRevoked, name)
	}
	if _, err := t.db.pool.Exec(ctx, `UPDATE kiruna_tenants SET revoked = $2 WHERE name = $1 AND revoked IS NULL`, name, now.UTC()); err != nil {
		return unavailable(err)
	}
	_ = t.reload()
	return nil
}

// List returns every company, by name.
func (t *Tenants) List(ctx context.Context) ([]live.Tenant, error) {
	rows, err := t.db.pool.Query(ctx, `SELECT name, created, revoked FROM kiruna_tenants ORDER BY name`)
	if err != nil {
		return nil, unavailable(err)
	}
	defer rows.Close()
	var out []live.Tenant
	for rows.Next() {
		var tn live.Tenant
		var revoked *time.Time
		if err := rows.Scan(&tn.Name, &tn.Created, &revoked); err != nil {
			return nil, err
		}
		tn.Created = tn.Created.UTC()
		if revoked != nil {
			tn.Revoked = revoked.UTC()
		}
		out = append(out, tn)
	}
	return out, rows.Err()
}
