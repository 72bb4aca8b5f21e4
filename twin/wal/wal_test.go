package wal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openT(t testing.TB, dir string, opts Options) (*Log, []Record) {
	t.Helper()
	opts.Logger = quiet
	var got []Record
	l, err := Open(dir, opts, func(r Record) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l, got
}

func rec(i int) Record {
	return Record{Kind: byte(1 + i%3), Data: bytes.Repeat([]byte{byte(i)}, i%50)}
}

func sameRecords(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Kind != want[i].Kind || !bytes.Equal(got[i].Data, want[i].Data) {
			t.Fatalf("record %d: got kind %d %q, want kind %d %q", i, got[i].Kind, got[i].Data, want[i].Kind, want[i].Data)
		}
	}
}

func TestCommitAndReplay(t *testing.T) {
	dir := t.TempDir()
	l, got := openT(t, dir, Options{})
	if len(got) != 0 {
		t.Fatalf("a new log replayed %d records", len(got))
	}
	var want []Record
	applied := 0
	for i := 0; i < 100; i++ {
		r := rec(i)
		want = append(want, r)
		if err := l.Commit(context.Background(), []Record{r}, func() { applied++ }); err != nil {
			t.Fatal(err)
		}
	}
	if applied != 100 {
		t.Fatalf("apply ran %d times, want 100", applied)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(context.Background(), []Record{rec(1)}, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("commit after close: %v, want ErrClosed", err)
	}
	l, got = openT(t, dir, Options{})
	defer l.Close()
	sameRecords(t, got, want)
}

func TestCommitRejects(t *testing.T) {
	l, _ := openT(t, t.TempDir(), Options{})
	defer l.Close()
	for _, tc := range []struct {
		name string
		r    Record
		want error
	}{
		{"reserved kind", Record{Kind: 0}, ErrBadKind},
		{"too large", Record{Kind: 1, Data: make([]byte, MaxRecord+1)}, ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := l.Commit(context.Background(), []Record{tc.r}, nil); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestGroupCommit(t *testing.T) {
	var commits, requests atomic.Int64
	l, _ := openT(t, t.TempDir(), Options{OnCommit: func(c CommitInfo) {
		commits.Add(1)
		requests.Add(int64(c.Requests))
	}})
	defer l.Close()
	var wg sync.WaitGroup
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if err := l.Commit(context.Background(), []Record{rec(i)}, nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if requests.Load() != 640 {
		t.Fatalf("%d requests served, want 640", requests.Load())
	}
	if commits.Load() >= 640 {
		t.Fatalf("%d fsyncs for 640 concurrent commits: no grouping", commits.Load())
	}
	t.Logf("640 commits in %d fsyncs", commits.Load())
}

// TestCutAtRandomOffsets cuts the segment at random offsets, as a crash in
// the middle of a write (or a disk that kept only part of it) would, and
// checks that recovery keeps exactly the whole records before the cut and
// that the log then appends after them.
func TestCutAtRandomOffsets(t *testing.T) {
	dir := t.TempDir()
	l, _ := openT(t, dir, Options{})
	var want []Record
	ends := []int64{magicSize}
	for i := 0; i < 200; i++ {
		r := rec(i)
		if err := l.Commit(context.Background(), []Record{r}, nil); err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
		ends = append(ends, ends[len(ends)-1]+int64(headerSize+len(r.Data)))
	}
	l.Close()
	seg := filepath.Join(dir, fmt.Sprintf("%016x%s", 1, segSuffix))
	full, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(full)) != ends[len(ends)-1] {
		t.Fatalf("segment is %d bytes, want %d", len(full), ends[len(ends)-1])
	}
	r := rand.New(rand.NewPCG(1, 2))
	offsets := []int{0, 3, magicSize, magicSize + 1, len(full) - 1}
	for i := 0; i < 120; i++ {
		offsets = append(offsets, r.IntN(len(full)))
	}
	for _, cut := range offsets {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			d := t.TempDir()
			if err := os.WriteFile(filepath.Join(d, filepath.Base(seg)), full[:cut], 0o644); err != nil {
				t.Fatal(err)
			}
			whole := 0
			for whole < len(want) && ends[whole+1] <= int64(cut) {
				whole++
			}
			l, got := openT(t, d, Options{})
			sameRecords(t, got, want[:whole])
			extra := Record{Kind: 9, Data: []byte("after the cut")}
			if err := l.Commit(context.Background(), []Record{extra}, nil); err != nil {
				t.Fatal(err)
			}
			l.Close()
			l, got = openT(t, d, Options{})
			defer l.Close()
			sameRecords(t, got, append(want[:whole:whole], extra))
		})
	}
}

// A flipped bit in the last record is not a torn tail (the frame is whole,
// its checksum fails): Open refuses, naming the file and the offset, and a
// repair keeps the other records and sets the damaged one aside.
func TestCorruptTailRecord(t *testing.T) {
	dir := t.TempDir()
	l, _ := openT(t, dir, Options{})
	var want []Record
	for i := 0; i < 10; i++ {
		want = append(want, Record{Kind: 1, Data: []byte(fmt.Sprintf("record %d", i))})
	}
	if err := l.Commit(context.Background(), want, nil); err != nil {
		t.Fatal(err)
	}
	l.Close()
	seg := filepath.Join(dir, fmt.Sprintf("%016x%s", 1, segSuffix))
	data, _ := os.ReadFile(seg)
	data[len(data)-2] ^= 0xff // a flipped bit in the last record's payload
	os.WriteFile(seg, data, 0o644)
	_, err := Open(dir, Options{Logger: quiet}, func(Record) error { return nil })
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != seg || ce.Offset != int64(len(data)-headerSize-len("record 9")) {
		t.Fatalf("Open: %v, want a CorruptError naming %s at the last record", err, seg)
	}
	rep, err := Repair(dir)
	if err != nil || len(rep) != 1 || rep[0].Kept != 9 || len(rep[0].Damage) != 1 || rep[0].Damage[0].Offset != ce.Offset {
		t.Fatalf("Repair: %v %+v", err, rep)
	}
	aside, err := os.ReadFile(rep[0].Damage[0].SetAside)
	if err != nil || !bytes.Equal(aside, data[ce.Offset:]) {
		t.Fatalf("the damaged bytes set aside: %q %v", aside, err)
	}
	l, got := openT(t, dir, Options{})
	defer l.Close()
	sameRecords(t, got, want[:9])
	if rep, err := Repair(dir); err != nil || rep != nil {
		t.Fatalf("a second repair: %v %+v, want nothing to do", err, rep)
	}
}

func TestCheckpoints(t *testing.T) {
	dir := t.TempDir()
	// The state is a map; a checkpoint writes it out as records.
	type kv struct {
		mu sync.Mutex
		m  map[string]string
	}
	state := &kv{m: map[string]string{}}
	apply := func(r Record) {
		k, v, _ := bytes.Cut(r.Data, []byte("="))
		state.mu.Lock()
		state.m[string(k)] = string(v)
		state.mu.Unlock()
	}
	snapshot := func() func(emit func(Record) error) error {
		state.mu.Lock()
		cp := make(map[string]string, len(state.m))
		for k, v := range state.m {
			cp[k] = v
		}
		state.mu.Unlock()
		return func(emit func(Record) error) error {
			for k, v := range cp {
				if err := emit(Record{Kind: 1, Data: []byte(k + "=" + v)}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	opts := Options{SegmentSize: 4 << 10, Snapshot: snapshot, Logger: quiet}
	l, err := Open(dir, opts, func(r Record) error { apply(r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3000; i++ {
		r := Record{Kind: 1, Data: []byte(fmt.Sprintf("key%03d=value %d", i%97, i))}
		if err := l.Commit(context.Background(), []Record{r}, func() { apply(r) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) > 6 {
		t.Fatalf("%d files after checkpoints; old segments were not removed", len(ents))
	}
	want := state.m
	state = &kv{m: map[string]string{}}
	l, err = Open(dir, opts, func(r Record) error { apply(r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if len(state.m) != len(want) {
		t.Fatalf("recovered %d keys, want %d", len(state.m), len(want))
	}
	for k, v := range want {
		if state.m[k] != v {
			t.Fatalf("%s = %q after recovery, want %q", k, state.m[k], v)
		}
	}
}

func TestDamageBeforeTheTailIsAnError(t *testing.T) {
	dir := t.TempDir()
	l, _ := openT(t, dir, Options{SegmentSize: 1 << 10})
	for i := 0; i < 100; i++ {
		if err := l.Commit(context.Background(), []Record{{Kind: 1, Data: bytes.Repeat([]byte("x"), 40)}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	seg := filepath.Join(dir, fmt.Sprintf("%016x%s", 1, segSuffix))
	data, _ := os.ReadFile(seg)
	data[magicSize+headerSize+3] ^= 0xff
	os.WriteFile(seg, data, 0o644)
	_, err := Open(dir, Options{Logger: quiet}, func(Record) error { return nil })
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
}

func TestReplayErrorAbortsOpen(t *testing.T) {
	dir := t.TempDir()
	l, _ := openT(t, dir, Options{})
	l.Commit(context.Background(), []Record{{Kind: 1}}, nil)
	l.Close()
	boom := errors.New("boom")
	if _, err := Open(dir, Options{Logger: quiet}, func(Record) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the replay error", err)
	}
}

// After a failed write the log refuses every commit and Err says why,
// until it is opened again.
func TestErrAfterAFailedWrite(t *testing.T) {
	dir := t.TempDir()
	l, _ := openT(t, dir, Options{})
	if err := l.Commit(context.Background(), []Record{rec(1)}, nil); err != nil {
		t.Fatal(err)
	}
	if l.Err() != nil {
		t.Fatalf("Err on a healthy log: %v", l.Err())
	}
	l.f.Close() // the disk goes away under the log
	if err := l.Commit(context.Background(), []Record{rec(2)}, nil); !errors.Is(err, ErrFailed) {
		t.Fatalf("commit on a failed disk: %v, want ErrFailed", err)
	}
	if err := l.Err(); !errors.Is(err, ErrFailed) {
		t.Fatalf("Err after the failure: %v, want ErrFailed", err)
	}
	if err := l.Commit(context.Background(), []Record{rec(3)}, nil); !errors.Is(err, ErrFailed) {
		t.Fatalf("the next commit: %v, want ErrFailed", err)
	}
	l.Close()
	l, got := openT(t, dir, Options{})
	defer l.Close()
	if l.Err() != nil || len(got) != 1 {
		t.Fatalf("reopened: Err %v, %d records, want nil and 1", l.Err(), len(got))
	}
}
