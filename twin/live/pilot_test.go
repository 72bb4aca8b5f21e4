package live

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiruna-twin/kiruna-twin/twin"
	"github.com/paulmach/orb"
)

// pilotFeatures makes version v of a small pilot: n features whose
// geometry and properties encode v, so a reader can check it whole.
func pilotFeatures(v, n int) []*twin.Feature {
	fs := make([]*twin.Feature, n)
	for i := range fs {
		lon, lat := 20.3+float64(i)*0.001, 67.85+float64(v%100)*0.0001
		fs[i] = &twin.Feature{ID: fmt.Sprintf("f%d", i), Kind: "pipe", Name: fmt.Sprintf("v%d", v),
			Geometry:   orb.LineString{{lon, lat}, {lon + 0.0005, lat}},
			Life:       twin.Lifespan{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
			Confidence: twin.Sourced, Props: map[string]any{"version": float64(v), "note": "ok"}}
	}
	return fs
}

func checkPilotVersion(t *testing.T, s *twin.Snapshot, id string, v, n int) {
	t.Helper()
	got := 0
	for _, f := range s.Features(twin.Pilots) {
		if f.Prop("pilot") != id {
			continue
		}
		got++
		if f.Name != fmt.Sprintf("v%d", v) || f.Props["version"] != float64(v) || f.Prop("company") == "" {
			t.Fatalf("pilot %s: feature %s is %q version %v, want version %d", id, f.ID, f.Name, f.Props["version"], v)
		}
	}
	if got != n {
		t.Fatalf("pilot %s: %d features, want %d", id, got, n)
	}
}

func TestPilotStore(t *testing.T) {
	dir := t.TempDir()
	m := twin.NewModel()
	ps, err := OpenPilots(dir, m, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var changes []twin.Change
	m.Subscribe(func(c twin.Change) { changes = append(changes, c) })

	info, created, err := ps.Put(ctx, "acme", "heat-loop", pilotFeatures(1, 3))
	if err != nil || !created || info.Features != 3 {
		t.Fatalf("first put: %+v %v %v", info, created, err)
	}
	checkPilotVersion(t, m.Snapshot(), "heat-loop", 1, 3)
	if _, created, err = ps.Put(ctx, "acme", "heat-loop", pilotFeatures(2, 2)); err != nil || created {
		t.Fatalf("replace: created %v, %v", created, err)
	}
	checkPilotVersion(t, m.Snapshot(), "heat-loop", 2, 2)
	if last := changes[len(changes)-1]; len(last.Bounds) != 5 {
		t.Errorf("the replace touched %d boxes, want 3 removed + 2 added", len(last.Bounds))
	}

	if _, _, err := ps.Put(ctx, "other", "heat-loop", pilotFeatures(3, 1)); !errors.Is(err, ErrNotPilotOwner) {
		t.Errorf("another company's put: %v", err)
	}
	if err := ps.Delete(ctx, "other", "heat-loop"); !errors.Is(err, ErrNotPilotOwner) {
		t.Errorf("another company's delete: %v", err)
	}
	if _, _, err := ps.Put(ctx, "acme", "Bad Name", pilotFeatures(1, 1)); !errors.Is(err, ErrBadPilotName) {
		t.Errorf("bad name: %v", err)
	}
	dup := append(pilotFeatures(4, 2), pilotFeatures(4, 1)...)
	if _, _, err := ps.Put(ctx, "acme", "heat-loop", dup); !errors.Is(err, twin.ErrDuplicateID) {
		t.Errorf("duplicate feature ids: %v", err)
	}
	bad := pilotFeatures(5, 2)
	bad[1].Geometry = orb.LineString{{20, 67}, {200, 67}}
	var ie *twin.IndexError
	if _, _, err := ps.Put(ctx, "acme", "heat-loop", bad); !errors.As(err, &ie) || ie.Index != 1 || !errors.Is(err, twin.ErrOutOfRange) {
		t.Errorf("bad geometry: %v", err)
	}
	checkPilotVersion(t, m.Snapshot(), "heat-loop", 2, 2) // nothing partly applied

	if _, _, err := ps.Put(ctx, "acme", "snow-melt", pilotFeatures(7, 4)); err != nil {
		t.Fatal(err)
	}
	if err := ps.Delete(ctx, "acme", "snow-melt"); err != nil {
		t.Fatal(err)
	}
	if err := ps.Delete(ctx, "acme", "snow-melt"); !errors.Is(err, ErrPilotNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if l := ps.List(); len(l) != 1 || l[0].ID != "heat-loop" || l[0].Company != "acme" {
		t.Errorf("List = %+v", l)
	}
	if err := ps.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened, the model holds exactly what was acknowledged.
	m2 := twin.NewModel()
	ps2, err := OpenPilots(dir, m2, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	defer ps2.Close()
	checkPilotVersion(t, m2.Snapshot(), "heat-loop", 2, 2)
	if m2.Snapshot().Count(twin.Pilots) != 2 {
		t.Errorf("after reopening: %d pilot features, want 2", m2.Snapshot().Count(twin.Pilots))
	}
	if _, _, err := ps2.Put(ctx, "other", "heat-loop", pilotFeatures(3, 1)); !errors.Is(err, ErrNotPilotOwner) {
		t.Errorf("ownership lost on reopening: %v", err)
	}
}

// A torn tail of the pilots log (a crash in the middle of a write) is cut
// off on opening; every whole record before it stays.
func TestPilotStoreTornTail(t *testing.T) {
	dir := t.TempDir()
	ps, err := OpenPilots(dir, twin.NewModel(), quietLog)
	if err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 5; v++ {
		if _, _, err := ps.Put(context.Background(), "acme", "loop", pilotFeatures(v, 3)); err != nil {
			t.Fatal(err)
		}
	}
	ps.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	if len(segs) == 0 {
		t.Fatal("no segment")
	}
	seg := segs[len(segs)-1]
	st, _ := os.Stat(seg)
	if err := os.Truncate(seg, st.Size()-7); err != nil {
		t.Fatal(err)
	}
	m := twin.NewModel()
	ps, err = OpenPilots(dir, m, quietLog)
	if err != nil {
		t.Fatalf("a torn tail is fatal: %v", err)
	}
	defer ps.Close()
	checkPilotVersion(t, m.Snapshot(), "loop", 4, 3)
}

// A pilot sent again as it is writes nothing and changes nothing; also
// after a restart, and with undated features (which began at the first
// upload).
func TestPilotPutUnchanged(t *testing.T) {
	dir := t.TempDir()
	m := twin.NewModel()
	ps, err := OpenPilots(dir, m, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	undated := func() []*twin.Feature {
		fs := pilotFeatures(1, 3)
		for _, f := range fs {
			f.Life.From = time.Now().UTC().Truncate(time.Second)
			f.Props[twin.PropFromDefault] = true
		}
		return fs
	}
	for _, name := range []string{"dated", "undated"} {
		mk := func() []*twin.Feature { return pilotFeatures(1, 3) }
		if name == "undated" {
			mk = undated
		}
		first, _, err := ps.Put(ctx, "acme", name, mk())
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // a later upload time
		version := m.Snapshot().Version()
		info, created, err := ps.Put(ctx, "acme", name, mk())
		if err != nil || created {
			t.Fatalf("%s: sent again: %v %v", name, created, err)
		}
		if v := m.Snapshot().Version(); v != version || !info.Updated.Equal(first.Updated) {
			t.Errorf("%s: sent again as it is, the model went from version %d to %d, updated %v → %v", name, version, v, first.Updated, info.Updated)
		}
	}
	// A change is still a change.
	version := m.Snapshot().Version()
	if _, _, err := ps.Put(ctx, "acme", "dated", pilotFeatures(2, 3)); err != nil {
		t.Fatal(err)
	}
	if m.Snapshot().Version() == version {
		t.Error("a changed pilot did not change the model")
	}
	ps.Close()
}
