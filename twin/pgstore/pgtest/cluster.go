package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Cluster is a PostgreSQL server of the test's own, which the test may stop
// and start (the shared test server must stay up for other tests).
type Cluster struct {
	URL  string
	bin  string
	data string
	opts string
	as   string // the user that runs it, when the test runs as root
	t    testing.TB
}

// BinDir finds PostgreSQL's programs (KIRUNA_TEST_PG_BIN, or Debian's
// /usr/lib/postgresql/15/bin); without them the test skips, and fails
// under CI.
func BinDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("KIRUNA_TEST_PG_BIN")
	if dir == "" {
		dir = "/usr/lib/postgresql/15/bin"
	}
	if _, err := os.Stat(filepath.Join(dir, "initdb")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL's initdb is not in %s: CI must install postgresql-15 and postgresql-15-postgis-3", dir)
		}
		t.Skipf("PostgreSQL's initdb is not in %s (set KIRUNA_TEST_PG_BIN): this test runs a cluster of its own", dir)
	}
	return dir
}

// NewCluster initialises and starts a cluster on a free loopback port; it
// is removed when the test ends.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{bin: BinDir(t), t: t}
	root, err := os.MkdirTemp("", "kiruna-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if os.Geteuid() == 0 { // initdb refuses root
		c.as = "postgres"
		u, err := user.Lookup(c.as)
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(root, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	c.data = filepath.Join(root, "data")
	c.opts = fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=on", port, root)
	c.run(filepath.Join(c.bin, "initdb"), "-D", c.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
	c.Start()
	t.Cleanup(func() { c.pgctl("-m", "immediate", "stop") })
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start() {
	c.t.Helper()
	if err := c.pgctl("-o", c.opts, "-l", filepath.Join(filepath.Dir(c.data), "log"), "-w", "start"); err != nil {
		c.t.Fatal(err)
	}
}

// Stop stops the server (fast shutdown: connections are cut).
func (c *Cluster) Stop() {
	c.t.Helper()
	if err := c.pgctl("-m", "fast", "-w", "stop"); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) pgctl(args ...string) error {
	return c.runErr(filepath.Join(c.bin, "pg_ctl"), append([]string{"-D", c.data}, args...)...)
}

func (c *Cluster) run(name string, args ...string) {
	c.t.Helper()
	if err := c.runErr(name, args...); err != nil {
		c.t.Fatal(err)
	}
}

func (c *Cluster) runErr(name string, args ...string) error {
	var cmd *exec.Cmd
	if c.as != "" {
		quoted := make([]string, 0, len(args)+1)
		for _, a := range append([]string{name}, args...) {
			quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
		}
		cmd = exec.Command("su", c.as, "-c", strings.Join(quoted, " "))
	} else {
		cmd = exec.Command(name, args...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}
