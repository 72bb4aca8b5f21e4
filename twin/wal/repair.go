package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Damage is a run of bytes of a log file that held no readable record.
type Damage struct {
	Offset   int64  // where it starts in the file as it was
	Length   int64  // bytes
	SetAside string // the file that now holds them
}

// FileRepair is what Repair did to one file of a log.
type FileRepair struct {
	File    string
	Kept    int      // records kept (a checkpoint's end marker not counted)
	Damage  []Damage // what was set aside, in file order
	EndMark bool     // a checkpoint had lost its end marker, and got one back
}

// Repair rewrites every damaged file of the log in dir (which must not be
// open) so that Open accepts it: every frame that reads whole with a good
// checksum is kept, in order, and every run of bytes between them — a
// damaged record, garbage, a torn tail — is written to a file next to the
// log named after the file and the offset (0000000000000001.wal.damaged-
// 4096), never dropped. A file with no damage is left alone. The report
// lists only the files repaired; nil means nothing needed it.
//
// What was in a damaged record is lost to the log: the bytes set aside are
// for a person to look at. After a flip in a record's length a frame found
// inside the damaged bytes must have a good checksum to be kept, so a
// false record is as unlikely as a checksum collision.
func Repair(dir string) ([]FileRepair, error) {
	l := &Log{dir: dir}
	fs, err := l.list()
	if err != nil {
		return nil, err
	}
	var out []FileRepair
	do := func(path string, ckpt bool) error {
		fr, err := repairFile(path, ckpt)
		if err != nil {
			return fmt.Errorf("wal: repairing %s: %w", path, err)
		}
		if fr != nil {
			out = append(out, *fr)
		}
		return nil
	}
	for _, n := range fs.ckpts {
		if err := do(l.ckptPath(n), true); err != nil {
			return out, err
		}
	}
	for _, n := range fs.segs {
		if err := do(l.segPath(n), false); err != nil {
			return out, err
		}
	}
	if len(out) > 0 {
		if err := syncDir(dir); err != nil {
			return out, fmt.Errorf("wal: %w", err)
		}
	}
	return out, nil
}

// repairFile scans one file; it returns nil when the file needs nothing.
func repairFile(path string, ckpt bool) (*FileRepair, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	magic := segMagic
	if ckpt {
		magic = ckptMagic
	}
	fr := &FileRepair{File: path}
	clean := []byte(magic)
	off, bad := magicSize, -1 // bad: the start of the damaged run being scanned past
	switch {
	case len(data) >= magicSize && string(data[:magicSize]) == magic:
	case !ckpt && len(data) < magicSize && strings.HasPrefix(magic, string(data)):
		off = len(data) // a segment created, its header not yet whole: Open copes
	default:
		bad, off = 0, min(magicSize, len(data)) // the header is damage, whatever follows
	}
	ended := false
	flush := func(end int) {
		if bad >= 0 && end > bad {
			fr.Damage = append(fr.Damage, Damage{Offset: int64(bad), Length: int64(end - bad)})
		}
		bad = -1
	}
	for off < len(data) && !ended {
		r, n, err := decode(data[off:])
		if err == nil && (ckpt || r.Kind != kindEnd) {
			flush(off)
			clean = append(clean, data[off:off+n]...)
			off += n
			if r.Kind == kindEnd {
				ended = true
			} else {
				fr.Kept++
			}
			continue
		}
		if bad < 0 {
			bad = off
		}
		next := nextFrame(data, off+1, !ckpt)
		if next < 0 {
			off = len(data)
			break
		}
		off = next
	}
	if bad >= 0 || off < len(data) {
		if bad < 0 {
			bad = off
		}
		flush(len(data))
	}
	if ckpt && !ended {
		clean = appendFrame(clean, Record{Kind: kindEnd})
		fr.EndMark = true
	}
	if len(fr.Damage) == 0 && !fr.EndMark {
		return nil, nil // whole (or a segment whose header is not yet whole, which Open rewrites)
	}
	for i, d := range fr.Damage {
		name := fmt.Sprintf("%s.damaged-%d", path, d.Offset)
		if err := writeSynced(name, data[d.Offset:d.Offset+d.Length]); err != nil {
			return nil, err
		}
		fr.Damage[i].SetAside = name
	}
	tmp := path + ".repair" + tmpSuffix
	if err := writeSynced(tmp, clean); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return nil, err
	}
	return fr, nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// String is a line of a repair report.
func (fr FileRepair) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: kept %d records", filepath.Base(fr.File), fr.Kept)
	var total int64
	for _, d := range fr.Damage {
		total += d.Length
	}
	if len(fr.Damage) > 0 {
		fmt.Fprintf(&b, "; set aside %d damaged bytes in %d run(s):", total, len(fr.Damage))
		for _, d := range fr.Damage {
			fmt.Fprintf(&b, " %d bytes at offset %d → %s;", d.Length, d.Offset, filepath.Base(d.SetAside))
		}
	}
	if fr.EndMark {
		b.WriteString(" the checkpoint's end marker was missing and is written back")
	}
	return strings.TrimSuffix(b.String(), ";")
}
