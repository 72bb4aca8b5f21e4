package cityjson

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits keep one fuzz input cheap.
var fuzzLimits = Limits{Vertices: 10_000, Objects: 1_000, Surfaces: 1_000, Rings: 100, RingSize: 1_000, LineSize: 1 << 20}

func addSeeds(f *testing.F) {
	for _, name := range []string{"sweref.city.json", "sweref.city.jsonl"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	corpus, _ := filepath.Glob("testdata/corpus/*.city.json*")
	for _, name := range corpus {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkResult: whatever the input, an import that succeeds gives features
// the model accepts.
func checkResult(t *testing.T, res *Result, err error) {
	if err != nil {
		return
	}
	for _, ft := range res.Features {
		if verr := ft.Validate(); verr != nil {
			t.Fatalf("feature %s does not validate: %v", ft.ID, verr)
		}
	}
}

func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Decode(data, Options{CRS: "EPSG:3006", SkipInvalid: len(data)%2 == 0, Limits: fuzzLimits})
		checkResult(t, res, err)
	})
}

func FuzzDecodeSeq(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := DecodeSeq(bytes.NewReader(data), Options{CRS: "EPSG:3857", SkipInvalid: len(data)%2 == 0, Limits: fuzzLimits})
		checkResult(t, res, err)
	})
}
