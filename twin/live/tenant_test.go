package live

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	// A torn tail (a writer killed mid-write) is ignored, then cut by the
	// next writer.
	f, _ := os.OpenFile(filepath.Join(dir, TenantsFile), os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{9, 0, 0})
	f.Close()
	tn2, err := OpenTenants(dir)
	if err != nil || len(tn2.List()) != 2 {
		t.Fatalf("after a torn tail: %v", err)
	}
	if _, err := AddTenant(dir, "gamma", now); err != nil {
		t.Fatal(err)
	}
	tn3, _ := OpenTenants(dir)
	if len(tn3.List()) != 3 {
		t.Fatalf("after cutting the torn tail: %d tenants", len(tn3.List()))
	}
}
