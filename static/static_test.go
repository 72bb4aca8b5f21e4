package static

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/twin"
)

type styleDoc struct {
	Version   int                               `json:"version"`
	State     map[string]map[string]any         `json:"state"`
	FontFaces map[string][]struct{ URL string } `json:"font-faces"`
	Sources   map[string]struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"sources"`
	Layers []struct {
		ID          string          `json:"id"`
		Type        string          `json:"type"`
		Source      string          `json:"source"`
		SourceLayer string          `json:"source-layer"`
		Filter      json.RawMessage `json:"filter"`
		Layout      map[string]any  `json:"layout"`
	} `json:"layers"`
}

func readStyle(t *testing.T) styleDoc {
	t.Helper()
	b := bytes.ReplaceAll(Style(), []byte("{{origin}}"), []byte("http://127.0.0.1:8080"))
	var s styleDoc
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("style.json: %v", err)
	}
	return s
}

func TestStyle(t *testing.T) {
	s := readStyle(t)
	if s.Version != 8 {
		t.Errorf("version %d, want 8", s.Version)
	}
	if src, ok := s.Sources["twin"]; !ok || src.Type != "vector" || src.URL != "http://127.0.0.1:8080/tiles.json" {
		t.Errorf("source twin = %+v; want the server's TileJSON", src)
	}
	for _, k := range []string{"year", "doomYears", "newFrom", "ghosts", "lang"} {
		if _, ok := s.State[k]["default"]; !ok {
			t.Errorf("global state %q has no default", k)
		}
	}
	// Every tile layer of the contract is drawn, and every layer that reads
	// tiles filters on the year (so that the timeline fetches nothing).
	drawn := map[string]bool{}
	for _, l := range s.Layers {
		if l.Source != "twin" {
			continue
		}
		drawn[l.SourceLayer] = true
		if !bytes.Contains(l.Filter, []byte(`"global-state", "year"`)) && !bytes.Contains(l.Filter, []byte(`"global-state","year"`)) {
			t.Errorf("layer %s does not filter on the year", l.ID)
		}
	}
	// Every layer of the registry is drawn and named in both languages.
	dict, err := fs.ReadFile(FS(), "app/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range twin.LayerIDs() {
		if !drawn[string(want)] {
			t.Errorf("no layer draws the %s tiles", want)
		}
		if n := strings.Count(string(dict), "'layer."+string(want)+"':"); n != 2 {
			t.Errorf("app/i18n.js names layer %s in %d languages, want 2", want, n)
		}
	}
	// Labels name a font the style declares, served from the binary.
	for _, l := range s.Layers {
		if l.Type != "symbol" {
			continue
		}
		fonts, _ := l.Layout["text-font"].([]any)
		for _, f := range fonts {
			if _, ok := s.FontFaces[f.(string)]; !ok {
				t.Errorf("layer %s uses font %q, which font-faces does not declare (it would be fetched from nowhere)", l.ID, f)
			}
		}
	}
	for name, faces := range s.FontFaces {
		for _, f := range faces {
			p, ok := strings.CutPrefix(f.URL, "http://127.0.0.1:8080/viewer/")
			if !ok {
				t.Errorf("font %s is not served by the viewer: %s", name, f.URL)
				continue
			}
			if _, err := fs.Stat(FS(), p); err != nil {
				t.Errorf("font %s: %v", name, err)
			}
		}
	}
}

// The viewer picks style layers by id: each must exist. (It toggles them
// by their source-layer, read from the style.)
func TestViewerNamesStyleLayers(t *testing.T) {
	s := readStyle(t)
	ids := map[string]bool{}
	for _, l := range s.Layers {
		ids[l.ID] = true
	}
	main, err := fs.ReadFile(FS(), "app/main.js")
	if err != nil {
		t.Fatal(err)
	}
	picks := regexp.MustCompile(`(?s)const PICKABLE = \[(.*?)\];`).FindSubmatch(main)
	if picks == nil {
		t.Fatal("app/main.js: no PICKABLE")
	}
	names := regexp.MustCompile(`'([a-z][a-z-]*)'`)
	live := map[string]bool{"live-sensors": true, "live-sensors-mark": true, "live-sensors-value": true}
	n := 0
	for _, src := range [][]byte{picks[1]} {
		for _, m := range names.FindAllSubmatch(src, -1) {
			id := string(m[1])
			n++
			if !ids[id] && !live[id] {
				t.Errorf("the viewer names layer %q, which the style lacks", id)
			}
		}
	}
	if n < 5 {
		t.Errorf("found only %d layer names in main.js", n)
	}
}

// Both dictionaries hold the same keys: no string is left to the other
// language or shown as a key.
func TestDictionaries(t *testing.T) {
	b, err := fs.ReadFile(FS(), "app/i18n.js")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	svAt, enAt := strings.Index(src, "  sv: {"), strings.Index(src, "  en: {")
	end := strings.Index(src[enAt:], "\n  },") + enAt
	if svAt < 0 || enAt < svAt || end < enAt {
		t.Fatal("app/i18n.js: cannot find the sv and en dictionaries")
	}
	key := regexp.MustCompile(`(?m)^\s+'([a-zA-Z0-9_.]+)':`)
	keys := func(s string) []string {
		var out []string
		for _, m := range key.FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		sort.Strings(out)
		return out
	}
	sv, en := keys(src[svAt:enAt]), keys(src[enAt:end])
	if len(sv) < 50 {
		t.Fatalf("only %d Swedish strings found", len(sv))
	}
	if !slices.Equal(sv, en) {
		for _, k := range sv {
			if !slices.Contains(en, k) {
				t.Errorf("%q has no English string", k)
			}
		}
		for _, k := range en {
			if !slices.Contains(sv, k) {
				t.Errorf("%q has no Swedish string", k)
			}
		}
	}
	// Every key the page and the modules use is in the dictionaries.
	used := regexp.MustCompile(`data-i18n(?:-aria|-placeholder|-title)?="([^"]+)"|\bt\('([a-zA-Z0-9_.]+)'`)
	err = fs.WalkDir(FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(name, "lib/") || !(strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".html")) {
			return err
		}
		b, err := fs.ReadFile(FS(), name)
		if err != nil {
			return err
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			k := m[1] + m[2]
			if !slices.Contains(sv, k) {
				t.Errorf("%s uses %q, which is in no dictionary", name, k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
