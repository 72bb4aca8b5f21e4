package live

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin/wal"
)

func TestTenants(t *testing.T) {
	dir := t.TempDir()
	tn, err := OpenTenants(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tn.clock = func() time.Time { return now }
	if _, err := tn.Authenticate("kt_nothing"); !errors.Is(err, ErrBadToken) {
		t.Fatalf("unknown token: %v", err)
	}
	tok, err := AddTenant(dir, "acme", now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "kt_") || len(tok) < 40 {
		t.Fatalf("token %q", tok)
	}
	data, _ := os.ReadFile(filepath.Join(dir, TenantsFile))
	if strings.Contains(string(data), tok) || strings.Contains(string(data), tok[3:]) {
		t.Fatal("the token itself is stored")
	}
	// The running register notices the new tenant (an unknown token forces
	// a reread after 100 ms).
	now = now.Add(200 * time.Millisecond)
	got, err := tn.Authenticate(tok)
	if err != nil || got.Name != "acme" {
		t.Fatalf("Authenticate: %+v %v", got, err)
	}
	if _, err := AddTenant(dir, "acme", now); !errors.Is(err, ErrTenantExists) {
		t.Fatalf("second add: %v", err)
	}
	for _, bad := range []string{"", "@system", "a b", strings.Repeat("x", 65), "ö"} {
		if _, err := AddTenant(dir, bad, now); !errors.Is(err, ErrBadTenantName) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	tok2, _ := AddTenant(dir, "beta", now)
	if err := RevokeTenant(dir, "acme", now); err != nil {
		t.Fatal(err)
	}
	if err := RevokeTenant(dir, "acme", now); !errors.Is(err, ErrRevoked) {
		t.Fatalf("second revoke: %v", err)
	}
	if err := RevokeTenant(dir, "nobody", now); !errors.Is(err, ErrNoTenant) {
		t.Fatalf("revoke unknown: %v", err)
	}
	now = now.Add(2 * time.Second)
	if _, err := tn.Authenticate(tok); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked token: %v", err)
	}
	if got, err := tn.Authenticate(tok2); err != nil || got.Name != "beta" {
		t.Fatalf("other tenant: %v", err)
	}
	list := tn.List()
	if len(list) != 2 || list[0].Name != "acme" || list[0].Active() || !list[1].Active() {
		t.Fatalf("List: %+v", list)
	}
	// Bytes after the last record (what an old writer killed mid-write
	// could leave) are damage: refused by the reader and by every writer,
	// never cut.
	path := filepath.Join(dir, TenantsFile)
	before, _ := os.ReadFile(path)
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{9, 0, 0})
	f.Close()
	if _, err := OpenTenants(dir); !errors.Is(err, ErrTenantsDamaged) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", len(before))) {
		t.Fatalf("after a torn tail: %v", err)
	}
	if _, err := AddTenant(dir, "gamma", now); !errors.Is(err, ErrTenantsDamaged) {
		t.Fatalf("add on a damaged file: %v", err)
	}
	if after, _ := os.ReadFile(path); len(after) != len(before)+3 {
		t.Fatalf("the damaged file was changed: %d bytes, was %d", len(after), len(before)+3)
	}
	os.WriteFile(path, before, 0o600)
	if _, err := AddTenant(dir, "gamma", now); err != nil {
		t.Fatal(err)
	}
	tn3, _ := OpenTenants(dir)
	if len(tn3.List()) != 3 {
		t.Fatalf("%d tenants", len(tn3.List()))
	}
}

// TestTenantsDamage changes every byte of a companies file, one at a
// time, in every record (adds and revocations): each change is refused
// with the file and the offset named, by the reader, by `tenant add` and
// by `tenant revoke`, and the file is left as it was. In particular no
// change can revive a revoked company or drop a company silently.
func TestTenantsDamage(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2025, 11, 20, 8, 0, 0, 0, time.UTC)
	for _, name := range []string{"acme", "beta", "gamma"} {
		if _, err := AddTenant(dir, name, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := RevokeTenant(dir, "beta", now); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, TenantsFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := wal.ReadFrames(good)
	if len(recs) != 4 || recs[3].Kind != recTenantRevoke {
		t.Fatalf("records: %d", len(recs))
	}
	damaged := func(what string, data []byte) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := OpenTenants(dir)
		if !errors.Is(err, ErrTenantsDamaged) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "offset ") {
			t.Fatalf("%s: open: %v", what, err)
		}
		if _, err := AddTenant(dir, "delta", now); !errors.Is(err, ErrTenantsDamaged) {
			t.Fatalf("%s: add: %v", what, err)
		}
		if err := RevokeTenant(dir, "acme", now); !errors.Is(err, ErrTenantsDamaged) {
			t.Fatalf("%s: revoke: %v", what, err)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
			t.Fatalf("%s: the file was changed", what)
		}
	}
	for i := range good {
		for _, change := range []struct {
			name string
			b    byte
		}{{"flipped", good[i] ^ 0xff}, {"zeroed", 0}, {"one bit", good[i] ^ 1}} {
			if change.b == good[i] {
				continue
			}
			data := bytes.Clone(good)
			data[i] = change.b
			damaged(fmt.Sprintf("byte %d %s", i, change.name), data)
		}
	}
	for cut := 1; cut < len(good); cut++ {
		if _, n := wal.ReadFrames(good[:cut]); n == cut {
			continue // a cut between records reads whole: see TestTenantsNeverCut
		}
		damaged(fmt.Sprintf("cut at %d", cut), good[:cut])
	}
	// The whole file still reads as written.
	os.WriteFile(path, good, 0o600)
	tn, err := OpenTenants(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l := tn.List(); len(l) != 3 || l[1].Name != "beta" || l[1].Active() {
		t.Fatalf("List: %+v", l)
	}
}

// TestTenantsNeverCut: a record that reads whole but does not follow from
// the ones before it (a second add of one name, a revocation of an
// unknown company, a second revocation) is refused too.
func TestTenantsNeverCut(t *testing.T) {
	now := time.Date(2025, 11, 20, 8, 0, 0, 0, time.UTC)
	add := func(name string) []byte {
		return wal.AppendFrame(nil, wal.Record{Kind: recTenantAdd, Data: append(appendString(nil, name), make([]byte, 40)...)})
	}
	revoke := func(name string) []byte {
		return wal.AppendFrame(nil, wal.Record{Kind: recTenantRevoke, Data: binary.LittleEndian.AppendUint64(appendString(nil, name), uint64(now.UnixNano()))})
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"added twice", slices.Concat(add("acme"), add("acme")), "added a second time"},
		{"revoked unknown", slices.Concat(add("acme"), revoke("beta")), "never added"},
		{"revoked twice", slices.Concat(add("acme"), revoke("acme"), revoke("acme")), "a second time"},
		{"bad name", add("a b"), "no company name"},
		{"unknown kind", wal.AppendFrame(nil, wal.Record{Kind: 7, Data: appendString(nil, "acme")}), "unknown record kind"},
	} {
		_, _, err := decodeTenants(c.data)
		if !errors.Is(err, ErrTenantsDamaged) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// TestTenantsDamagedWhileRunning: a running register whose file is
// damaged keeps the companies as it last read them whole: a revoked
// company stays revoked, the others keep writing.
func TestTenantsDamagedWhileRunning(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	tokA, _ := AddTenant(dir, "acme", now)
	tokB, _ := AddTenant(dir, "beta", now)
	if err := RevokeTenant(dir, "acme", now); err != nil {
		t.Fatal(err)
	}
	tn, err := OpenTenants(dir)
	if err != nil {
		t.Fatal(err)
	}
	tn.clock = func() time.Time { return now }
	path := filepath.Join(dir, TenantsFile)
	data, _ := os.ReadFile(path)
	data[len(data)-3] = 0  // inside the revocation
	data = append(data, 0) // and a size change that the register notices
	os.WriteFile(path, data, 0o600)
	now = now.Add(2 * time.Second)
	if _, err := tn.Authenticate(tokA); !errors.Is(err, ErrRevoked) {
		t.Fatalf("revoked company after damage: %v", err)
	}
	if got, err := tn.Authenticate(tokB); err != nil || got.Name != "beta" {
		t.Fatalf("active company after damage: %v", err)
	}
}

// FuzzDecodeTenants: any bytes either read as companies or are refused
// with ErrTenantsDamaged, never a panic; what reads is whole to the last
// byte and says every company once.
func FuzzDecodeTenants(f *testing.F) {
	now := time.Date(2025, 11, 20, 8, 0, 0, 0, time.UTC)
	add := wal.AppendFrame(nil, wal.Record{Kind: recTenantAdd, Data: append(appendString(nil, "acme"), make([]byte, 40)...)})
	revoke := wal.AppendFrame(nil, wal.Record{Kind: recTenantRevoke, Data: binary.LittleEndian.AppendUint64(appendString(nil, "acme"), uint64(now.UnixNano()))})
	f.Add([]byte{})
	f.Add(add)
	f.Add(slices.Concat(add, revoke))
	f.Add(slices.Concat(add, revoke, []byte{9, 0, 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		byName, byHash, err := decodeTenants(data)
		if err != nil {
			if !errors.Is(err, ErrTenantsDamaged) {
				t.Fatalf("an error that is not damage: %v", err)
			}
			return
		}
		if _, n := wal.ReadFrames(data); n != len(data) {
			t.Fatalf("read %d of %d bytes as whole", n, len(data))
		}
		if len(byHash) > len(byName) {
			t.Fatalf("%d hashes for %d companies", len(byHash), len(byName))
		}
		for name := range byName {
			if !ValidTenantName(name) {
				t.Fatalf("company %q", name)
			}
		}
	})
}
