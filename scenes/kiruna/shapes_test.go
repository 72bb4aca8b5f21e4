package kiruna

import (
	"math"
	"testing"

	"github.com/kiruna-twin/kiruna-twin/twin"
)

// The landmarks stand in 3D, at every site, as facts/shapes.csv gives them.
func TestLandmarkShapes(t *testing.T) {
	_, snap := loadModel(t)
	roofs := func(f *twin.Feature) int {
		n := 0
		for _, s := range f.Surfaces {
			if s == twin.RoofSurface {
				n++
			}
		}
		return n
	}
	for _, c := range []struct {
		id       string
		top      float64
		minRoofs int
	}{
		{"kiruna-kyrka-old", 40, 8}, // the church's four slopes and the turret's four
		{"kiruna-kyrka-new", 40, 8},
		{"kiruna-kyrka-klockstapel-old", 22, 4},
		{"kiruna-kyrka-klockstapel-new", 22, 4},
		{"kristallen-stadshus", 34.35, 2},
		{"stadshuset-1963", 20, 2},
		{"hjalmar-lundbohmsgarden-old", 11, 4},
		{"hjalmar-lundbohmsgarden-new", 11, 4},
		{"kiruna-c-1900", 14, 2},
		{"tillfallig-station", 5.5, 2},
	} {
		f, ok := snap.Get(twin.Buildings, c.id)
		if !ok {
			t.Errorf("%s: not in the scene", c.id)
			continue
		}
		if f.SolidPolygons() == nil || len(f.Surfaces) != f.SolidPolygons().NumPolygons() {
			t.Errorf("%s: no solid with its surfaces", c.id)
			continue
		}
		if lo, hi := f.SolidZRange(); lo != 0 || math.Abs(hi-c.top) > 0.01 || math.Abs(f.Height-c.top) > 0.01 {
			t.Errorf("%s: solid from %v to %v, height %v; want 0 to %v", c.id, lo, hi, f.Height, c.top)
		}
		if n := roofs(f); n < c.minRoofs {
			t.Errorf("%s: %d roof faces, want at least %d", c.id, n, c.minRoofs)
		}
	}
	// Kristallen is 60 m across at its office floors, 53 m at the ground.
	k, _ := snap.Get(twin.Buildings, "kristallen-stadshus")
	b := k.SolidPolygons().Bounds()
	across := (b.Max(0) - b.Min(0)) * 111_320 * math.Cos(b.Min(1)*math.Pi/180)
	if math.Abs(across-60) > 0.5 {
		t.Errorf("Kristallen is %.1f m across, want 60", across)
	}
	fb := k.Bound()
	if g := (fb.Max[0] - fb.Min[0]) * 111_320 * math.Cos(fb.Min[1]*math.Pi/180); math.Abs(g-53) > 0.5 {
		t.Errorf("Kristallen's footprint is %.1f m across, want 53", g)
	}
	// Every dimension names its source.
	rows, err := readCSV("shapes.csv")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		if _, err := twin.ParseConfidence(r["confidence"]); err != nil || r["source"] == "" {
			t.Errorf("shapes.csv row %d: confidence %q, source %q", i+2, r["confidence"], r["source"])
		}
	}
}
