// Package static holds the viewer: HTML, JavaScript, CSS, the MapLibre
// style and the vendored MapLibre GL JS and fonts, embedded in the binary.
//
// Layout:
//
//	index.html        the page served at /
//	app/              the viewer's own JavaScript modules, CSS and icon
//	lib/maplibre-gl/  MapLibre GL JS (ES modules: main file and worker side by side), BSD-3-Clause
//	lib/fonts/        Noto Sans (woff2), SIL OFL 1.1, for the page and the map's labels
//	lib/three/        three.js and its glTF loader (ES modules), MIT, for the meshes of the 3D Tiles
//	style.json        the MapLibre style template served at /style.json
//
// lib/refresh.sh refreshes lib/ from npm at pinned versions; nothing is
// fetched at run time. (The folder is not called vendor/ because module
// zips leave out files under vendor/ subdirectories, which would break
// go install.)
package static

import (
	"embed"
	"io/fs"
)

//go:embed style.json index.html app lib/maplibre-gl lib/fonts lib/three
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
