package osm

import (
	"bytes"
	"context"
	"os"
	"testing"
)

var fuzzLimits = Limits{Nodes: 10_000, Ways: 1_000, Relations: 100, WayNodes: 1_000, Members: 100, TagsPerItem: 100}

func fuzzFormat(f *testing.F, format Format, seeds ...string) {
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Decode(context.Background(), bytes.NewReader(data), format, Options{Limits: fuzzLimits, Procs: 1})
		if err != nil {
			return
		}
		for _, ft := range res.Features {
			if verr := ft.Validate(); verr != nil {
				t.Fatalf("feature %s does not validate: %v", ft.ID, verr)
			}
		}
	})
}

func FuzzDecodeXML(f *testing.F) { fuzzFormat(f, XML, "testdata/town.osm") }

func FuzzDecodePBF(f *testing.F) { fuzzFormat(f, PBF, "testdata/town.osm.pbf") }
