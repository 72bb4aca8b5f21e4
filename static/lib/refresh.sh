#!/usr/bin/env bash
# Refreshes the vendored browser libraries (static/lib) from npm at the pinned versions.
# Needs npm and network access to the npm registry; the running server never
# fetches anything. Bump a version here, run the script, check the viewer and
# the browser tests (go test ./cmd/kiruna-twin -run Viewer), commit.
set -euo pipefail

MAPLIBRE_VERSION=6.17.0        # maplibre-gl, BSD-3-Clause
NOTO_SANS_VERSION=5.3.0        # @fontsource/noto-sans, SIL OFL 1.1
THREE_VERSION=0.181.0          # three, MIT

here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

# MapLibre GL JS: the ES-module build, main file and worker side by side (the
# main file loads ./maplibre-gl-worker.mjs relative to its own URL).
npm pack --silent "maplibre-gl@${MAPLIBRE_VERSION}" >/dev/null
mkdir maplibre && tar -xzf "maplibre-gl-${MAPLIBRE_VERSION}.tgz" -C maplibre
dst="$here/maplibre-gl"
rm -rf "$dst" && mkdir -p "$dst"
for f in maplibre-gl.mjs maplibre-gl-worker.mjs maplibre-gl.css; do
  # The source maps are not vendored (8 MB); drop the comments that point
  # at them, so that opening the browser's developer tools asks for nothing
  # that is not there.
  sed -e '/^\/\/# sourceMappingURL=/d' "maplibre/package/dist/$f" > "$dst/$f"
done
cp maplibre/package/LICENSE.txt "$dst/LICENSE.txt"
echo "$MAPLIBRE_VERSION" > "$dst/VERSION"

# Noto Sans (regular and semi-bold; Latin and Latin Extended, which covers
# Swedish, Finnish, Meänkieli and Northern Sámi place names) for the page and
# for the map's labels, drawn locally through the style's "font-faces".
npm pack --silent "@fontsource/noto-sans@${NOTO_SANS_VERSION}" >/dev/null
mkdir noto && tar -xzf "fontsource-noto-sans-${NOTO_SANS_VERSION}.tgz" -C noto
dst="$here/fonts/noto-sans"
rm -rf "$dst" && mkdir -p "$dst"
for w in 400 600; do
  for r in latin latin-ext; do
    cp "noto/package/files/noto-sans-${r}-${w}-normal.woff2" "$dst/"
  done
done
cp noto/package/LICENSE "$dst/LICENSE"
echo "$NOTO_SANS_VERSION" > "$dst/VERSION"

# three.js for the meshes of the 3D Tiles in the map (app/meshes.js): the
# ES-module build (its core beside it) and the glTF loader with the one
# utility it imports. The loader's bare import of 'three' is pointed at the
# vendored build, so that the page needs no import map (which the
# Content-Security-Policy would have to allow inline).
npm pack --silent "three@${THREE_VERSION}" >/dev/null
mkdir three && tar -xzf "three-${THREE_VERSION}.tgz" -C three
dst="$here/three"
rm -rf "$dst" && mkdir -p "$dst/addons/loaders" "$dst/addons/utils"
cp three/package/build/three.module.min.js three/package/build/three.core.min.js "$dst/"
sed -e "s#from 'three';#from '../../three.module.min.js';#" three/package/examples/jsm/loaders/GLTFLoader.js > "$dst/addons/loaders/GLTFLoader.js"
sed -e "s#from 'three';#from '../../three.module.min.js';#" three/package/examples/jsm/utils/BufferGeometryUtils.js > "$dst/addons/utils/BufferGeometryUtils.js"
cp three/package/LICENSE "$dst/LICENSE"
echo "$THREE_VERSION" > "$dst/VERSION"

echo "vendored maplibre-gl ${MAPLIBRE_VERSION}, @fontsource/noto-sans ${NOTO_SANS_VERSION} and three ${THREE_VERSION} into $here"
