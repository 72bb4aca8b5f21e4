package twin

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

func randomFeatures(r *rand.Rand, n int, layer Layer) []*Feature {
	fs := make([]*Feature, n)
	for i := range fs {
		lon := 20 + r.Float64()*0.5
		lat := 67.7 + r.Float64()*0.3
		w, h := r.Float64()*0.01, r.Float64()*0.004
		var g orb.Geometry
		switch r.IntN(3) {
		case 0:
			g = orb.Point{lon, lat}
		case 1:
			g = orb.LineString{{lon, lat}, {lon + w, lat + h}}
		default:
			g = orb.Polygon{{{lon, lat}, {lon + w, lat}, {lon + w, lat + h}, {lon, lat + h}, {lon, lat}}}
		}
		from := time.Date(1900+r.IntN(140), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
		var to time.Time
		if r.IntN(2) == 0 {
			to = from.AddDate(r.IntN(60), 0, 1+r.IntN(300))
		}
		fs[i] = &Feature{ID: fmt.Sprintf("f%06d", i), Layer: layer, Kind: "house", Geometry: g, Life: Lifespan{From: from, To: to}}
	}
	return fs
}

func ids(fs []*Feature) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	slices.Sort(out)
	return out
}

// The index must answer exactly what a scan of every feature answers.
func TestSearchMatchesBruteForce(t *testing.T) {
	for seed := uint64(1); seed <= 25; seed++ {
		r := rand.New(rand.NewPCG(seed, seed*7))
		fs := randomFeatures(r, 500+r.IntN(1500), Buildings)
		m := NewModel()
		if err := m.Load(fs); err != nil {
			t.Fatal(err)
		}
		s := m.Snapshot()
		for q := 0; q < 40; q++ {
			lon, lat := 20+r.Float64()*0.5, 67.7+r.Float64()*0.3
			b := orb.Bound{Min: orb.Point{lon, lat}, Max: orb.Point{lon + r.Float64()*0.1, lat + r.Float64()*0.05}}
			at := time.Date(1900+r.IntN(140), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)

			var wantAll, wantAt, gotAll, gotAt []*Feature
			for _, f := range fs {
				if f.Geometry.Bound().Intersects(b) {
					wantAll = append(wantAll, f)
					if f.Life.At(at) {
						wantAt = append(wantAt, f)
					}
				}
			}
			s.Search(Buildings, b, func(f *Feature) bool { gotAll = append(gotAll, f); return true })
			s.SearchAt(Buildings, b, at, func(f *Feature) bool { gotAt = append(gotAt, f); return true })
			if !slices.Equal(ids(gotAll), ids(wantAll)) {
				t.Fatalf("seed %d query %d: Search %v = %d features, brute force %d", seed, q, b, len(gotAll), len(wantAll))
			}
			if !slices.Equal(ids(gotAt), ids(wantAt)) {
				t.Fatalf("seed %d query %d: SearchAt %v %s = %d features, brute force %d", seed, q, b, at, len(gotAt), len(wantAt))
			}
		}
	}
}

func TestGetFindAndLineage(t *testing.T) {
	old := &Feature{ID: "church-old", Layer: Buildings, Geometry: orb.Point{20.23, 67.85}, Status: Moved, Lineage: "church",
		Life: Lifespan{From: date(1912, 12, 8), To: date(2025, 8, 20)}}
	nw := &Feature{ID: "church-new", Layer: Buildings, Geometry: orb.Point{20.29, 67.85}, Status: Moved, Lineage: "church",
		Life: Lifespan{From: date(2025, 8, 20)}}
	lm := &Feature{ID: "summit", Layer: Landmarks, Geometry: orb.Point{20.18, 67.82}, Life: Lifespan{From: date(1900, 1, 1)}}
	m := NewModel()
	if err := m.Load([]*Feature{nw, lm, old}); err != nil {
		t.Fatal(err)
	}
	s := m.Snapshot()
	if f, ok := s.Get(Buildings, "church-old"); !ok || f != old {
		t.Errorf("Get(buildings, church-old) = %v, %v", f, ok)
	}
	if _, ok := s.Get(Landmarks, "church-old"); ok {
		t.Error("Get found a building in the landmarks layer")
	}
	if f, ok := s.Find("summit"); !ok || f != lm {
		t.Errorf("Find(summit) = %v, %v", f, ok)
	}
	if got := s.Lineage("church"); len(got) != 2 || got[0] != old || got[1] != nw {
		t.Errorf("Lineage(church) = %v, want old then new", ids(got))
	}
	if old.Life.Overlaps(nw.Life) {
		t.Error("the two church sites overlap in time")
	}
	if !old.Life.At(date(2025, 8, 19)) || old.Life.At(date(2025, 8, 20)) || !nw.Life.At(date(2025, 8, 20)) {
		t.Error("lifespans are not half-open at 2025-08-20")
	}
	if c := s.Count(Buildings); c != 2 {
		t.Errorf("Count(buildings) = %d, want 2", c)
	}
}

func date(y, m, d int) time.Time { return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC) }

func TestApplyIsAtomicAndNotifies(t *testing.T) {
	m := NewModel()
	base := randomFeatures(rand.New(rand.NewPCG(3, 4)), 100, Pilots)
	if err := m.Load(base); err != nil {
		t.Fatal(err)
	}
	var changes []Change
	cancel := m.Subscribe(func(c Change) { changes = append(changes, c) })
	defer cancel()
	before := m.Snapshot()

	add := []*Feature{{ID: "p1", Layer: Pilots, Geometry: orb.Point{20.3, 67.85}, Life: Lifespan{From: date(2026, 1, 1)}}}
	c, err := m.Apply(Edit{Layer: Pilots, RemoveIf: func(f *Feature) bool { return f.ID < "f000050" }, Add: add})
	if err != nil {
		t.Fatal(err)
	}
	after := m.Snapshot()
	if before.Count(Pilots) != 100 {
		t.Errorf("the old snapshot changed: %d features", before.Count(Pilots))
	}
	if after.Count(Pilots) != 51 {
		t.Errorf("after the edit: %d features, want 51", after.Count(Pilots))
	}
	if len(c.IDs) != 51 || len(changes) != 1 || changes[0].Version != after.Version() {
		t.Errorf("change = %d ids, %d notifications", len(c.IDs), len(changes))
	}
	var n int
	after.Search(Pilots, worldBound, func(*Feature) bool { n++; return true })
	if n != 51 {
		t.Errorf("the index holds %d features after the edit, want 51", n)
	}

	// A bad feature leaves everything as it was.
	bad := []*Feature{
		{ID: "ok", Layer: Pilots, Geometry: orb.Point{20, 67}, Life: Lifespan{From: date(2026, 1, 1)}},
		{ID: "bad", Layer: Pilots, Geometry: orb.Point{200, 67}, Life: Lifespan{From: date(2026, 1, 1)}},
	}
	_, err = m.Apply(Edit{Layer: Pilots, RemoveIf: func(*Feature) bool { return true }, Add: bad})
	var ie *IndexError
	if !errors.As(err, &ie) || ie.Index != 1 || !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Apply(bad) error = %v, want features[1] out of range", err)
	}
	if m.Snapshot() != after {
		t.Error("a failed edit published a snapshot")
	}
	// A duplicate of a feature that stays is refused.
	_, err = m.Apply(Edit{Layer: Pilots, Add: []*Feature{{ID: "p1", Layer: Pilots, Geometry: orb.Point{20, 67}, Life: Lifespan{From: date(2026, 1, 1)}}}})
	if !errors.Is(err, ErrDuplicateID) {
		t.Errorf("duplicate add: %v", err)
	}
}

// Readers run while a writer edits: each sees a whole snapshot, and the race
// detector watches the rest.
func TestReadersDuringWrites(t *testing.T) {
	m := NewModel()
	if err := m.Load(randomFeatures(rand.New(rand.NewPCG(5, 6)), 2000, Buildings)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := m.Snapshot()
				n := 0
				s.Search(Pilots, worldBound, func(*Feature) bool { n++; return true })
				if n != s.Count(Pilots) {
					t.Errorf("snapshot %d: index has %d, count %d", s.Version(), n, s.Count(Pilots))
					return
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		add := randomFeatures(rand.New(rand.NewPCG(uint64(i), 1)), 1+i%20, Pilots)
		if _, err := m.Apply(Edit{Layer: Pilots, RemoveIf: func(*Feature) bool { return true }, Add: add}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

func TestValidate(t *testing.T) {
	from := date(1950, 1, 1)
	sq := orb.Polygon{{{20, 67}, {20.1, 67}, {20.1, 67.1}, {20, 67}}}
	cases := []struct {
		name  string
		f     Feature
		want  error
		field string
	}{
		{"ok", Feature{ID: "a", Layer: Buildings, Geometry: sq, Life: Lifespan{From: from}}, nil, ""},
		{"missing id", Feature{Layer: Buildings, Geometry: sq, Life: Lifespan{From: from}}, ErrMissingID, "id"},
		{"unknown layer", Feature{ID: "a", Layer: "roads", Geometry: sq, Life: Lifespan{From: from}}, ErrUnknownLayer, "layer"},
		{"no geometry", Feature{ID: "a", Layer: Buildings, Life: Lifespan{From: from}}, ErrNoGeometry, "geometry"},
		{"unclosed ring", Feature{ID: "a", Layer: Buildings, Geometry: orb.Polygon{{{20, 67}, {20.1, 67}, {20.1, 67.1}, {20, 67.1}}}, Life: Lifespan{From: from}}, ErrRingNotClosed, "geometry.coordinates[0]"},
		{"short ring", Feature{ID: "a", Layer: Buildings, Geometry: orb.Polygon{{{20, 67}, {20.1, 67}, {20, 67}}}, Life: Lifespan{From: from}}, ErrRingTooShort, "geometry.coordinates[0]"},
		{"lon out of range", Feature{ID: "a", Layer: Buildings, Geometry: orb.Point{181, 67}, Life: Lifespan{From: from}}, ErrOutOfRange, "geometry.coordinates"},
		{"lat out of range", Feature{ID: "a", Layer: Buildings, Geometry: orb.LineString{{20, 67}, {20, 91}}, Life: Lifespan{From: from}}, ErrOutOfRange, "geometry.coordinates[1]"},
		{"missing from", Feature{ID: "a", Layer: Buildings, Geometry: sq}, ErrMissingFrom, "properties.from"},
		{"to before from", Feature{ID: "a", Layer: Buildings, Geometry: sq, Life: Lifespan{From: from, To: from.AddDate(-1, 0, 0)}}, ErrToBeforeFrom, "properties.to"},
		{"to equals from", Feature{ID: "a", Layer: Buildings, Geometry: sq, Life: Lifespan{From: from, To: from}}, ErrToBeforeFrom, "properties.to"},
		{"unknown status", Feature{ID: "a", Layer: Buildings, Geometry: sq, Life: Lifespan{From: from}, Status: "burnt"}, ErrUnknownStatus, "properties.status"},
		{"negative height", Feature{ID: "a", Layer: Buildings, Geometry: sq, Life: Lifespan{From: from}, Height: -3}, ErrBadHeight, "properties.height"},
		{"moved without lineage", Feature{ID: "a", Layer: Buildings, Geometry: sq, Life: Lifespan{From: from}, Status: Moved}, ErrMissingLineage, "properties.lineage"},
		{"demolished without to", Feature{ID: "a", Layer: Buildings, Geometry: sq, Life: Lifespan{From: from}, Status: Demolished}, ErrMissingTo, "properties.to"},
		{"ring of one point", Feature{ID: "a", Layer: Buildings, Geometry: orb.Polygon{{{20, 67}, {20, 67}, {20, 67}, {20, 67}}}, Life: Lifespan{From: from}}, ErrRingNoArea, "geometry.coordinates[0]"},
		{"ring on a line", Feature{ID: "a", Layer: Buildings, Geometry: orb.Polygon{{{20, 67}, {20.1, 67}, {20.2, 67}, {20, 67}}}, Life: Lifespan{From: from}}, ErrRingNoArea, "geometry.coordinates[0]"},
		{"hole of one point", Feature{ID: "a", Layer: Buildings, Geometry: orb.MultiPolygon{{sq[0], {{20.05, 67.01}, {20.05, 67.01}, {20.05, 67.01}, {20.05, 67.01}}}}, Life: Lifespan{From: from}}, ErrRingNoArea, "geometry.coordinates[0][1]"},
		{"line of no length", Feature{ID: "a", Layer: Infrastructure, Geometry: orb.LineString{{20, 67}, {20, 67}, {20, 67}}, Life: Lifespan{From: from}}, ErrLineNoLength, "geometry.coordinates"},
		{"a part of no length", Feature{ID: "a", Layer: Infrastructure, Geometry: orb.MultiLineString{{{20, 67}, {20.1, 67}}, {{20, 67}, {20, 67}}}, Life: Lifespan{From: from}}, ErrLineNoLength, "geometry.coordinates[1]"},
		{"a line that comes back", Feature{ID: "a", Layer: Infrastructure, Geometry: orb.LineString{{20, 67}, {20.1, 67}, {20, 67}}, Life: Lifespan{From: from}}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.f.Validate()
			if c.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Validate() = %v, want %v", err, c.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("Validate() = %v, want field %q", err, c.field)
			}
		})
	}
}

func TestDecimalYear(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
	}{{"2025-08-20", 2025.63}, {"1900", 1900}, {"2000-07-02", 2000.50}, {"2025.63", 2025.63}} {
		tm, err := ParseInstant(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := DecimalYear(tm); got < c.want-0.005 || got > c.want+0.005 {
			t.Errorf("DecimalYear(%s) = %.4f, want %.2f", c.in, got, c.want)
		}
	}
	if _, err := ParseInstant("next year"); err == nil {
		t.Error("ParseInstant accepted nonsense")
	}
	for y := 1900.0; y < 2040; y += 0.37 {
		if got := DecimalYear(FromDecimalYear(y)); got < y-1e-9 || got > y+1e-9 {
			t.Fatalf("round trip of %v = %v", y, got)
		}
	}
}

func TestVertexCount(t *testing.T) {
	sq := orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 0}}
	for _, c := range []struct {
		g    orb.Geometry
		want int
	}{
		{orb.Point{1, 2}, 1},
		{orb.LineString{{0, 0}, {1, 1}, {2, 2}}, 3},
		{orb.Polygon{sq, sq}, 8},
		{orb.MultiPolygon{{sq}, {sq, sq}}, 12},
		{orb.MultiLineString{{{0, 0}, {1, 1}}, {{2, 2}, {3, 3}, {4, 4}}}, 5},
		{orb.Collection{orb.Point{1, 1}}, 0},
	} {
		if got := VertexCount(c.g); got != c.want {
			t.Errorf("VertexCount(%s) = %d, want %d", c.g.GeoJSONType(), got, c.want)
		}
	}
}
