package wal

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRepair: whatever bytes a segment holds, Open either accepts them or
// refuses with a CorruptError, never panics; after Repair, Open accepts
// them and replays exactly the records Repair said it kept.
func FuzzRepair(f *testing.F) {
	f.Add([]byte(segMagic))
	f.Add(appendFrame(appendFrame([]byte(segMagic), Record{Kind: 1, Data: []byte("a")}), Record{Kind: 2, Data: []byte("bc")}))
	f.Add(append(appendFrame([]byte(segMagic), Record{Kind: 1, Data: []byte("a")}), 5, 0, 0, 0, 1, 2))
	f.Fuzz(func(t *testing.T, seg []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "0000000000000001.wal")
		if err := os.WriteFile(path, seg, 0o644); err != nil {
			t.Fatal(err)
		}
		if l, err := Open(dir, Options{Logger: quiet}, func(Record) error { return nil }); err == nil {
			l.Close()
			return
		}
		rep, err := Repair(dir)
		if err != nil {
			t.Fatalf("Repair: %v", err)
		}
		n := 0
		l, err := Open(dir, Options{Logger: quiet}, func(Record) error { n++; return nil })
		if err != nil {
			t.Fatalf("Open after Repair (%+v): %v", rep, err)
		}
		l.Close()
		if len(rep) == 1 && rep[0].Kept != n {
			t.Fatalf("Repair kept %d records, Open replayed %d", rep[0].Kept, n)
		}
	})
}
