// Command generate writes the built-in Kiruna scene bundle from the facts:
// run it with "go generate ./scenes/kiruna" after changing the generator or
// the facts, and commit the result.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/kiruna-twin/kiruna-twin/scenes/kiruna"
)

func main() {
	out := flag.String("out", "bundle", "directory to write the bundle into")
	flag.Parse()
	files, err := kiruna.Generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(*out, n)
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "generate:", err)
			os.Exit(1)
		}
		fmt.Printf("%s\t%d bytes\n", p, len(files[n]))
	}
}
