// Command kiruna-twin serves the digital twin of Kiruna: the built-in scene
// (or another bundle) as vector tiles, feature collections and live sensor
// streams, with the viewer.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // scenes name their time zone; a machine may have no zoneinfo
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `kiruna-twin — the digital twin of Kiruna, a town being moved

Usage:
  kiruna-twin [serve] [flags]        serve the twin (the default)
  kiruna-twin tenant add NAME --data DIR
                                     create a company and print its token once
  kiruna-twin tenant revoke NAME --data DIR
  kiruna-twin tenant list --data DIR
  kiruna-twin repair --data DIR     keep every readable record of a damaged log, set the
                                     damaged bytes aside (stop the server first)
  kiruna-twin import [--osm FILE] [--cityjson FILE] [--geojson FILE] --out DIR [--title T]
                                     import data into a scene bundle for --scene
  kiruna-twin export --3dtiles DIR [--scene DIR]
                                     write the buildings as a 3D Tiles 1.1 tileset

Run "kiruna-twin serve --help" for the server's flags, "kiruna-twin import --help" for the importer's.
`

// errUsage marks a command line that cannot be run; run prints the usage.
var errUsage = errors.New("usage")

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serveCmd(ctx, args, stdout, stderr, nil)
	case "tenant":
		err = tenantCmd(args, stdout, stderr) // tenant.go
	case "repair":
		err = repairCmd(args, stdout, stderr) // repair.go
	case "import":
		err = importCmd(ctx, args, stdout, stderr) // import.go
	case "export":
		err = exportCmd(args, stdout, stderr) // export.go
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, cmd)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "kiruna-twin: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "kiruna-twin: %v\n", err)
		return 1
	}
}
