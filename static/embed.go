// Package static holds the viewer: HTML, JavaScript, CSS, the MapLibre
// style and the vendored MapLibre GL JS, embedded in the binary.
package static

import (
	"embed"
	"io/fs"
)

//go:embed style.json
var files embed.FS

// FS returns the viewer's files.
func FS() fs.FS { return files }

// Style returns the MapLibre style template. The placeholder {{origin}}
// stands for the server's scheme and host, which the server fills in.
func Style() []byte {
	b, err := files.ReadFile("style.json")
	if err != nil {
		panic(err) // embedded at build time
	}
	return b
}
