package wal

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// frameAt is where a record sits: its file and its byte range.
type frameAt struct {
	file       string
	start, end int
}

// writeLog writes n records over several segments (no checkpoints) and
// returns them with where each one sits.
func writeLog(t *testing.T, dir string, n int) ([]Record, []frameAt) {
	t.Helper()
	l, _ := openT(t, dir, Options{SegmentSize: 2 << 10})
	var want []Record
	for i := 0; i < n; i++ {
		r := rec(i)
		want = append(want, r)
		if err := l.Commit(context.Background(), []Record{r}, nil); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	var at []frameAt
	fs, _ := (&Log{dir: dir}).list()
	for _, s := range fs.segs {
		path := (&Log{dir: dir}).segPath(s)
		data, _ := os.ReadFile(path)
		for off := magicSize; off < len(data); {
			_, m, err := decode(data[off:])
			if err != nil {
				t.Fatalf("%s at %d: %v", path, off, err)
			}
			at = append(at, frameAt{filepath.Base(path), off, off + m})
			off += m
		}
	}
	if len(at) != n {
		t.Fatalf("%d frames in the segments, want %d", len(at), n)
	}
	return want, at
}

func copyDir(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	ents, _ := os.ReadDir(from)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// TestRandomByteFlips flips one byte at a random place of a log of several
// segments, 200 times. Each flip must be detected — Open refuses with a
// CorruptError naming the flipped file and an offset at or before the flip
// — or harmless (every record replayed as written); and after a repair
// Open must replay every record but the one the flip touched, with the
// damaged bytes set aside.
func TestRandomByteFlips(t *testing.T) {
	orig := t.TempDir()
	want, at := writeLog(t, orig, 300)
	var files []string
	sizes := map[string]int{}
	total := 0
	ents, _ := os.ReadDir(orig)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(orig, e.Name()))
		files = append(files, e.Name())
		sizes[e.Name()] = len(b)
		total += len(b)
	}
	r := rand.New(rand.NewPCG(12, 2026))
	detected := 0
	for trial := 0; trial < 200; trial++ {
		// A byte anywhere in the log, every byte as likely.
		pick := r.IntN(total)
		var file string
		for _, f := range files {
			if pick < sizes[f] {
				file = f
				break
			}
			pick -= sizes[f]
		}
		pos, mask := pick, byte(1+r.IntN(255))
		t.Run(fmt.Sprintf("%s@%d^%02x", file, pos, mask), func(t *testing.T) {
			dir := copyDir(t, orig)
			path := filepath.Join(dir, file)
			data, _ := os.ReadFile(path)
			data[pos] ^= mask
			os.WriteFile(path, data, 0o644)
			touched := -1 // the record the flip is in; -1: the header
			for i, f := range at {
				if f.file == file && f.start <= pos && pos < f.end {
					touched = i
				}
			}

			var got []Record
			l, err := Open(dir, Options{Logger: quiet}, func(r Record) error { got = append(got, r); return nil })
			if err == nil {
				l.Close()
				sameRecords(t, got, want) // harmless, or it is a miss
				return
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || filepath.Base(ce.File) != file || ce.Offset > int64(pos) {
				t.Fatalf("Open: %v; want a CorruptError naming %s at or before %d", err, file, pos)
			}
			detected++
			rep, err := Repair(dir)
			if err != nil || len(rep) != 1 || len(rep[0].Damage) == 0 {
				t.Fatalf("Repair: %v %+v", err, rep)
			}
			if !strings.Contains(rep[0].String(), "set aside") {
				t.Errorf("report %q does not say what was set aside", rep[0].String())
			}
			for _, d := range rep[0].Damage {
				if d.Offset > int64(pos) || d.Offset+d.Length <= int64(pos) && len(rep[0].Damage) == 1 {
					t.Errorf("damage %+v does not cover the flip at %d", d, pos)
				}
				if b, err := os.ReadFile(d.SetAside); err != nil || len(b) != int(d.Length) {
					t.Errorf("set aside %s: %d bytes, %v; want %d", d.SetAside, len(b), err, d.Length)
				}
			}
			got = nil
			l, err = Open(dir, Options{Logger: quiet}, func(r Record) error { got = append(got, r); return nil })
			if err != nil {
				t.Fatalf("Open after the repair: %v", err)
			}
			defer l.Close()
			keep := want
			if touched >= 0 {
				keep = append(want[:touched:touched], want[touched+1:]...)
			}
			sameRecords(t, got, keep)
		})
	}
	t.Logf("%d of 200 flips detected, the rest harmless", detected)
}

// A damaged checkpoint with no older one to fall back on stops Open,
// naming the checkpoint and offset, and is never deleted; a repair keeps
// its other records.
func TestDamagedCheckpoint(t *testing.T) {
	dir := t.TempDir()
	state := map[string]string{}
	snapshot := func() func(emit func(Record) error) error {
		cp := map[string]string{}
		for k, v := range state {
			cp[k] = v
		}
		return func(emit func(Record) error) error {
			for i := 0; i < 50; i++ {
				k := fmt.Sprintf("k%02d", i)
				if v, ok := cp[k]; ok {
					if err := emit(Record{Kind: 1, Data: []byte(k + "=" + v)}); err != nil {
						return err
					}
				}
			}
			return nil
		}
	}
	opts := Options{SegmentSize: 1 << 10, Snapshot: snapshot, Logger: quiet}
	l, err := Open(dir, opts, func(Record) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		k, v := fmt.Sprintf("k%02d", i%50), fmt.Sprint(i)
		r := Record{Kind: 1, Data: []byte(k + "=" + v)}
		if err := l.Commit(context.Background(), []Record{r}, func() { state[k] = v }); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	fs, _ := (&Log{dir: dir}).list()
	if len(fs.ckpts) == 0 || fs.segs[0] == 1 {
		t.Fatalf("no checkpoint replaced the early segments: %+v", fs)
	}
	ckpt := (&Log{dir: dir}).ckptPath(fs.ckpts[len(fs.ckpts)-1])
	data, _ := os.ReadFile(ckpt)
	data[magicSize+headerSize+1] ^= 0x40 // in the first record
	os.WriteFile(ckpt, data, 0o644)
	_, err = Open(dir, opts, func(Record) error { return nil })
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != ckpt || ce.Offset != magicSize {
		t.Fatalf("Open: %v, want a CorruptError naming %s at %d", err, ckpt, magicSize)
	}
	if _, err := os.Stat(ckpt); err != nil {
		t.Fatalf("the damaged checkpoint is gone: %v", err)
	}
	rep, err := Repair(dir)
	if err != nil || len(rep) != 1 || rep[0].File != ckpt || rep[0].Kept != 49 {
		t.Fatalf("Repair: %v %+v, want 49 of 50 records kept", err, rep)
	}
	got := map[string]string{}
	l, err = Open(dir, opts, func(r Record) error {
		k, v, _ := strings.Cut(string(r.Data), "=")
		got[k] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if len(got) != 50 && len(got) != 49 {
		t.Fatalf("%d keys after the repair", len(got))
	}
	for k, v := range got {
		if state[k] != v {
			t.Errorf("%s = %s after the repair, want %s", k, v, state[k])
		}
	}
}
