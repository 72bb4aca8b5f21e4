package tiles3d

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/scenes"
	"github.com/kiruna-twin/kiruna-twin/scenes/kiruna"
	"github.com/kiruna-twin/kiruna-twin/scenes/upload"
	"github.com/kiruna-twin/kiruna-twin/twin"
)

// validatorJS runs Khronos' glTF Validator over the files it is given and
// prints one JSON line of counts and messages per file.
const validatorJS = `
const validator = require(process.argv[2]);
const fs = require('fs');
(async () => {
  for (const f of process.argv.slice(3)) {
    const r = await validator.validateBytes(new Uint8Array(fs.readFileSync(f)), {maxIssues: 100});
    console.log(JSON.stringify({file: f, errors: r.issues.numErrors, warnings: r.issues.numWarnings,
      messages: r.issues.messages.filter(m => m.severity <= 1).map(m => m.code + ' ' + m.pointer + ': ' + m.message)}));
  }
})().catch(e => { console.error(e); process.exit(1); });
`

// gltfValidator finds the npm package gltf-validator: KIRUNA_GLTF_VALIDATOR
// names its folder (.ci/run installs it outside the repository). Without
// it the test is skipped, and fails under CI.
func gltfValidator(t *testing.T) (node, pkg string) {
	t.Helper()
	pkg = os.Getenv("KIRUNA_GLTF_VALIDATOR")
	node, err := exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node is not installed"
	case pkg == "":
		missing = "KIRUNA_GLTF_VALIDATOR is not set (the folder of the npm package gltf-validator: npm install --prefix DIR gltf-validator, then DIR/node_modules/gltf-validator)"
	default:
		if _, err := os.Stat(filepath.Join(pkg, "package.json")); err != nil {
			missing = "KIRUNA_GLTF_VALIDATOR=" + pkg + " holds no npm package"
		}
	}
	if missing != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("glTF Validator: %s", missing)
		}
		t.Skipf("glTF Validator: %s", missing)
	}
	return node, pkg
}

// Every content of the built-in scene, with a company's CityJSON LoD2
// house, passes Khronos' glTF Validator without an error.
func TestGLTFValidator(t *testing.T) {
	node, pkg := gltfValidator(t)
	b, err := scenes.Load(kiruna.Bundle())
	if err != nil {
		t.Fatal(err)
	}
	m := twin.NewModel()
	if err := b.Into(m); err != nil {
		t.Fatal(err)
	}
	house, err := os.ReadFile("../../scenes/cityjson/testdata/lod2_house.city.json")
	if err != nil {
		t.Fatal(err)
	}
	fs, err := upload.Decode(house, upload.CityJSON, upload.Options{Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		f.ID = "pilot:villa:" + f.ID
		f.Props[twin.PropPilot], f.Props[twin.PropCompany] = "villa", "acme"
	}
	if _, err := m.Apply(twin.Edit{Layer: twin.Pilots, Add: fs}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var files []string
	for _, o := range []Options{{}, {OnlySolids: true}} {
		sub := filepath.Join(dir, map[bool]string{false: "all", true: "solids"}[o.OnlySolids])
		st, err := New(m, o).Export(sub)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %+v", sub, st)
		found, _ := filepath.Glob(filepath.Join(sub, "*", "*", "*.glb"))
		if len(found) != st.Tiles || len(found) == 0 {
			t.Fatalf("%d .glb files for %d tiles", len(found), st.Tiles)
		}
		files = append(files, found...)
	}
	script := filepath.Join(dir, "validate.js")
	if err := os.WriteFile(script, []byte(validatorJS), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, append([]string{script, pkg}, files...)...).Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		var r struct {
			File             string
			Errors, Warnings int
			Messages         []string
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		seen++
		if r.Errors > 0 {
			t.Errorf("%s: %d errors: %s", r.File, r.Errors, strings.Join(r.Messages, "; "))
		} else if r.Warnings > 0 {
			t.Logf("%s: %d warnings: %s", r.File, r.Warnings, strings.Join(r.Messages, "; "))
		}
	}
	if seen != len(files) {
		t.Errorf("the validator reported on %d of %d files", seen, len(files))
	}
}
