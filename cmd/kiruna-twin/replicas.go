package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"text/tabwriter"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/kiruna-twin/kiruna-twin/twin/natsbus"
	"github.com/kiruna-twin/kiruna-twin/twin/pgstore"
)

// shared is what several replicas share, from --store and --bus: nil for
// the embedded default, whose methods then answer the embedded way.
type shared struct {
	db  *pgstore.DB
	bus *natsbus.Bus
}

// checkShared validates --store and --bus.
func checkShared(c *serveConfig) error {
	if c.store != "" {
		u, err := url.Parse(c.store)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return fmt.Errorf("%w: --store wants a postgres://… URL", errUsage)
		}
	}
	if c.bus != "" {
		if c.store == "" {
			return fmt.Errorf("%w: --bus needs --store: the bus carries changes between replicas, the shared store keeps them", errUsage)
		}
		u, err := url.Parse(c.bus)
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") {
			return fmt.Errorf("%w: --bus wants a nats://… URL", errUsage)
		}
	}
	return nil
}

// openShared connects to the shared store and bus; nil, nil without
// --store.
func openShared(ctx context.Context, c serveConfig, log *slog.Logger) (*shared, error) {
	if c.store == "" {
		return nil, nil
	}
	s := &shared{}
	var bus live.Bus
	if c.bus != "" {
		b, err := natsbus.Connect(natsbus.Options{URL: c.bus, Logger: log, Name: "kiruna-twin " + hostname()})
		if err != nil {
			return nil, fmt.Errorf("--bus: %w", err)
		}
		s.bus, bus = b, b
	}
	db, err := pgstore.Open(ctx, pgstore.Options{URL: c.store, Bus: bus, Logger: log})
	if err != nil {
		if s.bus != nil {
			s.bus.Close()
		}
		return nil, fmt.Errorf("--store: %w", err)
	}
	s.db = db
	log.Info("shared store opened", "store", redact(c.store), "bus", c.bus, "position", db.Position())
	return s, nil
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// redact hides a URL's password for the log.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func (s *shared) close() {
	if s == nil {
		return
	}
	s.db.Close()
	if s.bus != nil {
		s.bus.Close()
	}
}

// tenants is the register of companies: the shared store's, or the data
// directory's.
func (s *shared) tenants(dataDir string) (live.Authenticator, error) {
	if s != nil {
		return s.db.Tenants(), nil
	}
	t, err := live.OpenTenants(dataDir)
	if err != nil {
		return nil, fmt.Errorf("--data %s: %w", dataDir, err)
	}
	return t, nil
}

// liveJournal is the journal of the live state: nil (the data
// directory's log) for the embedded default.
func (s *shared) liveJournal() live.JournalOpener {
	if s == nil {
		return nil
	}
	return s.db.LiveJournal()
}

// openPilots opens the pilots: in the shared store, or under dir.
func (s *shared) openPilots(dir string, model *twin.Model, log *slog.Logger) (*live.PilotStore, error) {
	if s == nil {
		return live.OpenPilots(dir, model, log)
	}
	return live.OpenPilotsOn(s.db.PilotJournal(), model, log)
}

// ready is /readyz's question: nil for the embedded default.
func (s *shared) ready() func() (map[string]string, error) {
	if s == nil {
		return nil
	}
	return func() (map[string]string, error) {
		d := map[string]string{"store": "ok", "position": fmt.Sprint(s.db.Position())}
		if s.bus != nil {
			d["bus"] = "ok"
			if !s.bus.Connected() {
				d["bus"] = "down: changes arrive from the store within a second"
			}
		}
		if err := s.db.Ready(); err != nil {
			return d, err
		}
		return d, nil
	}
}

// sharedTenantCmd is "tenant add|revoke|list --store URL".
func sharedTenantCmd(storeURL string, args []string, now time.Time, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if len(args) == 0 || (args[0] == "list") != (len(args) == 1) || len(args) > 2 {
		return fmt.Errorf("%w: tenant add|revoke NAME --store URL, or tenant list --store URL", errUsage)
	}
	db, err := pgstore.Open(ctx, pgstore.Options{URL: storeURL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	defer db.Close()
	ts := db.Tenants()
	switch args[0] {
	case "add":
		token, err := ts.Add(ctx, args[1], now)
		if err != nil {
			return fmt.Errorf("tenant add: %w", err)
		}
		fmt.Fprintf(stdout, "Company %q created in the shared store. Its token, shown only this once (the store keeps only a hash):\n%s\n", args[1], token)
	case "revoke":
		if err := ts.Revoke(ctx, args[1], now); err != nil {
			return fmt.Errorf("tenant revoke: %w", err)
		}
		fmt.Fprintf(stdout, "The token of %q is revoked.\n", args[1])
	case "list":
		list, err := ts.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tSTATUS")
		for _, t := range list {
			status := "active"
			if !t.Active() {
				status = "revoked " + t.Revoked.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Created.Format(time.RFC3339), status)
		}
		return tw.Flush()
	default:
		return fmt.Errorf("%w: unknown tenant subcommand %q (add, revoke, list)", errUsage, args[0])
	}
	return nil
}
