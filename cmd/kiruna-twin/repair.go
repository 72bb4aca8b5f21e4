package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/kiruna-twin/kiruna-twin/twin/live"
	"github.com/kiruna-twin/kiruna-twin/twin/wal"
	"github.com/spf13/pflag"
)

// logDirs are the logs under --data that repair knows.
var logDirs = []string{"live", "pilots"}

// repairCmd is "repair --data DIR": the explicit way out of a log that
// Open refuses as corrupt. It keeps every readable record, sets the
// damaged bytes aside in files next to the log, and says what it did.
func repairCmd(args []string, stdout, stderr io.Writer) error {
	fl := pflag.NewFlagSet("repair", pflag.ContinueOnError)
	fl.SetOutput(stderr)
	data := fl.String("data", "./data", "the directory the server's --data names")
	fl.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kiruna-twin repair --data DIR\n\n"+
			"Repairs the logs under DIR (live/, pilots/) that the server refuses as corrupt: keeps every\n"+
			"record that reads whole, and sets the damaged bytes aside in FILE.damaged-OFFSET next to\n"+
			"the log. Stop the server first.\n\nFlags:\n%s", fl.FlagUsages())
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fl.Args())
	}
	for _, d := range logDirs {
		dir := filepath.Join(*data, d)
		rep, err := live.RepairLog(dir)
		if errors.Is(err, live.ErrLocked) {
			return fmt.Errorf("%s is in use by a running server; stop it first", dir)
		}
		if err != nil {
			return err
		}
		if len(rep) == 0 {
			fmt.Fprintf(stdout, "%s: nothing to repair\n", dir)
			continue
		}
		for _, fr := range rep {
			fmt.Fprintf(stdout, "%s: repaired %s\n", dir, fr)
		}
	}
	return nil
}

// withRepairHint adds, to an error of a log refused as corrupt, the
// command that repairs it.
func withRepairHint(err error, data string) error {
	if errors.Is(err, wal.ErrCorrupt) {
		return fmt.Errorf("%w\n\nThe log is damaged, not merely cut short by a crash. Stop here and look, or run\n  kiruna-twin repair --data %s\nwhich keeps every readable record and sets the damaged bytes aside in files next to the log", err, data)
	}
	return err
}
