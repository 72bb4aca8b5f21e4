package live

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin/wal"
)

// Tenant is a company of the testbed: it owns sensors and pilots and
// writes with its tokens.
type Tenant struct {
	Name    string
	Created time.Time
	Revoked time.Time // zero while active
}

// Active reports whether the tenant's token is accepted.
func (t Tenant) Active() bool { return t.Revoked.IsZero() }

// Errors of tenants, for errors.Is.
var (
	ErrBadTenantName = errors.New("a company name is 1–64 letters, digits, '.', '_' or '-'")
	ErrTenantExists  = errors.New("the company exists already")
	ErrNoTenant      = errors.New("no such company")
	ErrBadToken      = errors.New("unknown token")
	ErrRevoked       = errors.New("the token has been revoked")
)

// TenantsFile is the file, inside the data directory, that holds the
// tenants: framed, checksummed records, appended by the `tenant` command
// and read by the server.
const TenantsFile = "tenants.log"

const (
	recTenantAdd    byte = 1
	recTenantRevoke byte = 2
	tokenPrefix          = "kt_"
)

// Tenants is the register of companies and the hashes of their tokens. The
// server only reads it and notices, within a second, a tenant added or
// revoked by the `tenant` command in another process; only a SHA-256 hash
// of each token is stored (tokens are 256 random bits, so a fast hash is
// as safe as a slow one).
type Tenants struct {
	path  string
	clock func() time.Time

	mu        sync.Mutex
	byName    map[string]*Tenant
	byHash    map[[32]byte]string
	size      int64
	mtime     time.Time
	lastCheck time.Time
}

// OpenTenants reads the tenants of a data directory (none when the file
// does not exist yet).
func OpenTenants(dir string) (*Tenants, error) {
	t := &Tenants{path: filepath.Join(dir, TenantsFile), clock: time.Now}
	if err := t.reload(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Tenants) reload() error {
	data, err := os.ReadFile(t.path)
	if errors.Is(err, os.ErrNotExist) {
		data, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("reading tenants: %w", err)
	}
	byName, byHash, err := decodeTenants(data)
	if err != nil {
		return fmt.Errorf("reading %s: %w", t.path, err)
	}
	t.byName, t.byHash = byName, byHash
	if st, err := os.Stat(t.path); err == nil {
		t.size, t.mtime = st.Size(), st.ModTime()
	}
	t.lastCheck = t.clock()
	return nil
}

func decodeTenants(data []byte) (map[string]*Tenant, map[[32]byte]string, error) {
	byName := map[string]*Tenant{}
	byHash := map[[32]byte]string{}
	recs, _ := wal.ReadFrames(data) // a torn tail is ignored here, cut by the next writer
	for i, r := range recs {
		name, rest, ok := readString(r.Data)
		if !ok {
			return nil, nil, fmt.Errorf("record %d: bad name", i)
		}
		switch r.Kind {
		case recTenantAdd:
			if len(rest) != 32+8 {
				return nil, nil, fmt.Errorf("record %d: bad tenant", i)
			}
			var h [32]byte
			copy(h[:], rest[:32])
			created := time.Unix(0, int64(binary.LittleEndian.Uint64(rest[32:]))).UTC()
			byName[name] = &Tenant{Name: name, Created: created}
			byHash[h] = name
		case recTenantRevoke:
			if len(rest) != 8 {
				return nil, nil, fmt.Errorf("record %d: bad revocation", i)
			}
			if tn, ok := byName[name]; ok {
				tn.Revoked = time.Unix(0, int64(binary.LittleEndian.Uint64(rest))).UTC()
			}
		default:
			return nil, nil, fmt.Errorf("record %d: unknown kind %d", i, r.Kind)
		}
	}
	return byName, byHash, nil
}

// refresh rereads the file when it changed, at most every interval.
func (t *Tenants) refresh(interval time.Duration) {
	now := t.clock()
	if now.Sub(t.lastCheck) < interval {
		return
	}
	t.lastCheck = now
	st, err := os.Stat(t.path)
	if err != nil || (st.Size() == t.size && st.ModTime().Equal(t.mtime)) {
		return
	}
	_ = t.reload() // on a failed read, keep what we have
}

// Authenticate returns the tenant whose token this is.
func (t *Tenants) Authenticate(token string) (Tenant, error) {
	if !strings.HasPrefix(token, tokenPrefix) || len(token) > 128 {
		return Tenant{}, ErrBadToken
	}
	h := sha256.Sum256([]byte(token))
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refresh(time.Second)
	name, ok := t.byHash[h]
	if !ok {
		t.refresh(100 * time.Millisecond) // a tenant added just now
		if name, ok = t.byHash[h]; !ok {
			return Tenant{}, ErrBadToken
		}
	}
	tn := *t.byName[name]
	if !tn.Active() {
		return tn, ErrRevoked
	}
	return tn, nil
}

// List returns every tenant, by name.
func (t *Tenants) List() []Tenant {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refresh(0)
	out := make([]Tenant, 0, len(t.byName))
	for _, tn := range t.byName {
		out = append(out, *tn)
	}
	slices.SortFunc(out, func(a, b Tenant) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// ValidTenantName reports whether name can name a company.
func ValidTenantName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// AddTenant creates a company in the data directory dir and returns its
// token, which is stored nowhere: only its hash is. Safe to run while a
// server uses dir.
func AddTenant(dir, name string, now time.Time) (string, error) {
	if !ValidTenantName(name) {
		return "", fmt.Errorf("%w, got %q", ErrBadTenantName, name)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	token := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	h := sha256.Sum256([]byte(token))
	data := appendString(nil, name)
	data = append(data, h[:]...)
	data = binary.LittleEndian.AppendUint64(data, uint64(now.UnixNano()))
	err := appendTenantRecord(dir, wal.Record{Kind: recTenantAdd, Data: data}, func(byName map[string]*Tenant) error {
		if _, ok := byName[name]; ok {
			return fmt.Errorf("%w: %s", ErrTenantExists, name)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// RevokeTenant stops the company's token from being accepted (within a
// second by a running server).
func RevokeTenant(dir, name string, now time.Time) error {
	data := appendString(nil, name)
	data = binary.LittleEndian.AppendUint64(data, uint64(now.UnixNano()))
	return appendTenantRecord(dir, wal.Record{Kind: recTenantRevoke, Data: data}, func(byName map[string]*Tenant) error {
		t, ok := byName[name]
		if !ok {
			return fmt.Errorf("%w: %s", ErrNoTenant, name)
		}
		if !t.Active() {
			return fmt.Errorf("%w: %s already", ErrRevoked, name)
		}
		return nil
	})
}

// appendTenantRecord appends r to the tenants file under an exclusive lock,
// after check approves the current tenants; a torn tail left by a crashed
// writer is cut first.
func appendTenantRecord(dir string, r wal.Record, check func(map[string]*Tenant) error) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, TenantsFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	unlock, err := lockFile(f)
	if err != nil {
		return fmt.Errorf("locking %s: %w", path, err)
	}
	defer unlock()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return err
	}
	byName, _, err := decodeTenants(buf.Bytes())
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if err := check(byName); err != nil {
		return err
	}
	_, good := wal.ReadFrames(buf.Bytes())
	if err := f.Truncate(int64(good)); err != nil {
		return err
	}
	if _, err := f.WriteAt(wal.AppendFrame(nil, r), int64(good)); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func readString(b []byte) (string, []byte, bool) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", nil, false
	}
	return string(b[k : k+int(n)]), b[k+int(n):], true
}
