// Package kiruna holds the built-in scene of old and new Kiruna and the
// generator that writes its ordinary buildings. Everything that knows
// Kiruna lives here.
package kiruna

import (
	"embed"
	"io/fs"
)

//go:embed bundle
var bundle embed.FS

// Bundle returns the built-in scene bundle (scene.json at its root).
func Bundle() fs.FS {
	sub, err := fs.Sub(bundle, "bundle")
	if err != nil {
		panic(err) // the path is a constant: this cannot fail
	}
	return sub
}
