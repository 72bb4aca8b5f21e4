package live

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
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
// tenants: framed, checksummed records (twin/wal's frame), which the
// `tenant` command replaces whole with one more record (never cutting
// it) and the server reads. A damaged file is refused, not repaired.
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
	path   string
	clock  func() time.Time
	logger *slog.Logger

	mu        sync.Mutex
	byName    map[string]*Tenant
	byHash    map[[32]byte]string
	size      int64
	mtime     time.Time
	lastCheck time.Time
}

// OpenTenants reads the tenants of a data directory (none when the file
// does not exist yet). A damaged file is an error (ErrTenantsDamaged)
// naming the file and the offset of the damage.
func OpenTenants(dir string) (*Tenants, error) {
	t := &Tenants{path: filepath.Join(dir, TenantsFile), clock: time.Now, logger: slog.Default()}
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
		return fmt.Errorf("reading the companies: %w", err)
	}
	byName, byHash, err := decodeTenants(data)
	if err != nil {
		return fmt.Errorf("%s: %w", t.path, err)
	}
	t.byName, t.byHash = byName, byHash
	if st, err := os.Stat(t.path); err == nil {
		t.size, t.mtime = st.Size(), st.ModTime()
	}
	t.lastCheck = t.clock()
	return nil
}

// ErrTenantsDamaged: the companies file does not read whole. It is never
// cut or rewritten to get past the damage: a lost revocation would let a
// revoked company write again. Restore the file from a backup.
var ErrTenantsDamaged = errors.New("the companies file is damaged")

// decodeTenants reads the whole companies file, strictly: every record
// must frame whole with a good checksum, up to the last byte (the file is
// only ever replaced whole, so not even a torn tail is expected), and say
// something that follows from the records before it. Any damage is an
// error naming its offset.
func decodeTenants(data []byte) (map[string]*Tenant, map[[32]byte]string, error) {
	byName := map[string]*Tenant{}
	byHash := map[[32]byte]string{}
	recs, good := wal.ReadFrames(data)
	if good != len(data) {
		return nil, nil, fmt.Errorf("%w at offset %d (record %d): %s; every record before it is whole. "+
			"It is not cut or rewritten, since a lost revocation would let a revoked company write again: "+
			"restore the file from a backup, or set it aside and add the companies again",
			ErrTenantsDamaged, good, len(recs), frameProblem(data[good:]))
	}
	off := 0
	for i, r := range recs {
		at := off
		off += len(wal.AppendFrame(nil, r))
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%w at offset %d (record %d): %s", ErrTenantsDamaged, at, i, fmt.Sprintf(format, args...))
		}
		name, rest, ok := readString(r.Data)
		if !ok || !ValidTenantName(name) {
			return nil, nil, bad("no company name")
		}
		switch r.Kind {
		case recTenantAdd:
			if len(rest) != 32+8 {
				return nil, nil, bad("a company of %d bytes, want %d", len(rest), 32+8)
			}
			if _, dup := byName[name]; dup {
				return nil, nil, bad("company %q added a second time", name)
			}
			var h [32]byte
			copy(h[:], rest[:32])
			created := time.Unix(0, int64(binary.LittleEndian.Uint64(rest[32:]))).UTC()
			byName[name] = &Tenant{Name: name, Created: created}
			byHash[h] = name
		case recTenantRevoke:
			if len(rest) != 8 {
				return nil, nil, bad("a revocation of %d bytes, want 8", len(rest))
			}
			tn, ok := byName[name]
			if !ok {
				return nil, nil, bad("revokes %q, which was never added", name)
			}
			if !tn.Active() {
				return nil, nil, bad("revokes %q a second time", name)
			}
			tn.Revoked = time.Unix(0, int64(binary.LittleEndian.Uint64(rest))).UTC()
		default:
			return nil, nil, bad("unknown record kind %d", r.Kind)
		}
	}
	return byName, byHash, nil
}

// frameProblem says why b does not start with a whole record (the frame
// of twin/wal: length, CRC-32C, kind, payload).
func frameProblem(b []byte) string {
	const header = 9
	switch {
	case len(b) < header:
		return fmt.Sprintf("%d bytes at the end that are not a whole record", len(b))
	case int64(binary.LittleEndian.Uint32(b)) > int64(len(b)-header):
		return fmt.Sprintf("a record of %d bytes where %d remain (a damaged length, or a record cut short)",
			binary.LittleEndian.Uint32(b), len(b)-header)
	}
	return "the record's checksum does not match its bytes"
}

// refresh rereads the file when it changed, at most every interval. A
// file damaged while the server runs leaves the register as it was last
// read whole (a revocation read once stays in force), and says so.
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
	if err := t.reload(); err != nil {
		// Do not read it again until it changes again.
		t.size, t.mtime = st.Size(), st.ModTime()
		t.logger.Error("the companies file could not be read; keeping the companies as last read", "err", err)
	}
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

// appendTenantRecord adds r to the tenants file, after check approves
// the current tenants, under an exclusive lock (TenantsFile + ".lock").
// The file is never written in place: the old bytes and the new record go
// to a temporary file, which is synced and renamed over the old one, so
// a crash leaves the old file or the new one, whole. A damaged file is
// refused, not cut.
func appendTenantRecord(dir string, r wal.Record, check func(map[string]*Tenant) error) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, TenantsFile)
	lf, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close()
	unlock, err := lockFile(lf)
	if err != nil {
		return fmt.Errorf("locking %s: %w", path, err)
	}
	defer unlock()
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	byName, _, err := decodeTenants(old)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := check(byName); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(wal.AppendFrame(slices.Clip(old), r))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
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
