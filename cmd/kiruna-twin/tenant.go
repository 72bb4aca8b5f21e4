package main

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/spf13/pflag"
)

const tenantUsage = `Usage:
  kiruna-twin tenant add NAME --data DIR      create a company; print its token once
  kiruna-twin tenant revoke NAME --data DIR   stop accepting the company's token
  kiruna-twin tenant list --data DIR          list the companies

With --store postgres://… the companies are those of the store shared by
several replicas (instead of --data's). A running server notices a
change within a second. NAME is 1–64 letters,
digits, '.', '_' or '-'.

Flags:
`

// tenantCmd runs "tenant add|revoke|list".
func tenantCmd(args []string, stdout, stderr io.Writer) error {
	fl := pflag.NewFlagSet("tenant", pflag.ContinueOnError)
	fl.SetOutput(stderr)
	data := fl.String("data", "./data", "the server's data directory")
	store := fl.String("store", "", "postgres://… URL of the store shared by replicas (instead of --data)")
	fl.Usage = func() { fmt.Fprintf(stderr, "%s%s", tenantUsage, fl.FlagUsages()) }
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	rest := fl.Args()
	if len(rest) == 0 {
		return fmt.Errorf("%w: tenant needs a subcommand: add, revoke or list", errUsage)
	}
	now := time.Now()
	if *store != "" {
		return sharedTenantCmd(*store, rest, now, stdout) // replicas.go
	}
	switch rest[0] {
	case "add":
		if len(rest) != 2 {
			return fmt.Errorf("%w: tenant add NAME --data DIR", errUsage)
		}
		token, err := live.AddTenant(*data, rest[1], now)
		if err != nil {
			return fmt.Errorf("tenant add: %w", err)
		}
		fmt.Fprintf(stdout, "Company %q created in %s. Its token, shown only this once (the server keeps only a hash):\n%s\n", rest[1], *data, token)
	case "revoke":
		if len(rest) != 2 {
			return fmt.Errorf("%w: tenant revoke NAME --data DIR", errUsage)
		}
		if err := live.RevokeTenant(*data, rest[1], now); err != nil {
			return fmt.Errorf("tenant revoke: %w", err)
		}
		fmt.Fprintf(stdout, "The token of %q is revoked.\n", rest[1])
	case "list":
		if len(rest) != 1 {
			return fmt.Errorf("%w: tenant list --data DIR", errUsage)
		}
		ts, err := live.OpenTenants(*data)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tCREATED\tSTATUS")
		for _, t := range ts.List() {
			status := "active"
			if !t.Active() {
				status = "revoked " + t.Revoked.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Created.Format(time.RFC3339), status)
		}
		return tw.Flush()
	default:
		return fmt.Errorf("%w: unknown tenant subcommand %q (add, revoke, list)", errUsage, rest[0])
	}
	return nil
}
