// Package wal is the durable heart of the twin's live state: an append-only
// log of checksummed records in a directory, with group commit (one fsync
// for every batch of concurrent commits), torn-tail recovery and
// checkpoints that bound its size.
//
// A directory holds numbered segments (0000000000000001.wal, …) and at most
// a few checkpoints (0000000000000005.ckpt). A checkpoint numbered N holds,
// as records of the same framing, a compacted copy of everything that
// segments below N held; recovery reads the newest whole checkpoint and
// then every segment from N on. Every record is framed as
//
//	uint32 length of payload | uint32 CRC-32C of kind+payload | uint8 kind | payload
//
// (little endian). On open, a torn tail — an incomplete frame at the very
// end of the last segment, with no whole record after it, or zeros to the
// end (blocks allocated but never written): what a crash in the middle of
// a write leaves — is cut off and logged, never fatal. Any other bad frame
// is corruption, and Open refuses with a *CorruptError naming the file and
// the offset: a checksum failure, a frame followed by more data, a damaged
// length. Repair is the explicit way out: it keeps every readable record
// and sets the damaged bytes aside in files next to the log.
//
// Record kinds are the caller's: any byte but 0, which the log keeps for
// itself. A package that needs another kind of durable record adds a kind
// (or opens its own log in its own directory).
package wal

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Record is one entry of the log. Kind 0 is reserved.
type Record struct {
	Kind byte
	Data []byte
}

const (
	headerSize   = 9
	kindEnd      = 0 // closes a checkpoint
	segMagic     = "KTWAL\x00\x01\n"
	ckptMagic    = "KTCKP\x00\x01\n"
	magicSize    = 8
	segSuffix    = ".wal"
	ckptSuffix   = ".ckpt"
	tmpSuffix    = ".tmp"
	defaultSeg   = 64 << 20
	maxBatchSize = 8 << 20
)

// MaxRecord is the largest payload a record may carry.
const MaxRecord = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors callers can test with errors.Is.
var (
	ErrClosed      = errors.New("wal: closed")
	ErrFailed      = errors.New("wal: a write to the log failed; the log accepts no more commits")
	ErrCorrupt     = errors.New("wal: corrupt")
	ErrBadKind     = errors.New("wal: record kind 0 is reserved")
	ErrTooLarge    = errors.New("wal: record too large")
	errTorn        = errors.New("incomplete record")
	errChecksum    = errors.New("checksum mismatch")
	errNoEndMarker = errors.New("checkpoint has no end marker")
)

// CorruptError is damage that is not a torn tail: Open refuses the log.
// It matches ErrCorrupt.
type CorruptError struct {
	File   string // the damaged file
	Offset int64  // where the first bad frame starts
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("wal: corrupt: %s at offset %d: %s (a repair keeps every readable record and sets the damaged bytes aside)", e.File, e.Offset, e.Reason)
}

// Unwrap makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

func corrupt(file string, off int, format string, args ...any) error {
	return &CorruptError{File: file, Offset: int64(off), Reason: fmt.Sprintf(format, args...)}
}

// CommitInfo describes one group commit, for metrics.
type CommitInfo struct {
	Requests int           // Commit calls served by this fsync
	Records  int           // records written
	Bytes    int           // bytes written
	Duration time.Duration // write + fsync
}

// Options tune a Log. The zero value is usable.
type Options struct {
	// SegmentSize is the size after which the log starts a new segment and
	// writes a checkpoint (64 MiB when zero).
	SegmentSize int64
	// Snapshot, when set, is called on the committer goroutine after a
	// segment is closed, when every committed record has been applied. It
	// copies what it needs and returns a function that writes the state as
	// records, called later on another goroutine; the log then keeps only
	// that checkpoint and the segments after it. Without Snapshot the log
	// keeps every segment.
	Snapshot func() func(emit func(Record) error) error
	// OnCommit, when set, is called after every group commit.
	OnCommit func(CommitInfo)
	// Logger reports recoveries and checkpoints; slog.Default when nil.
	Logger *slog.Logger
}

// Log is an open log. Its methods are safe for concurrent use.
type Log struct {
	dir  string
	opts Options
	log  *slog.Logger

	reqs    chan *request
	quit    chan struct{}
	stopped chan struct{}
	closeMu sync.RWMutex
	closed  bool
	failure atomic.Pointer[error] // what stopped the log accepting commits; see Err

	// owned by the committer goroutine
	f      *os.File
	seq    uint64 // number of the active segment
	size   int64
	failed error
	buf    []byte

	ckptWG      sync.WaitGroup
	ckptRunning bool
	ckptMu      sync.Mutex
	ckptErr     error
}

type request struct {
	recs  []Record
	apply func()
	done  chan error
}

// Open recovers the log in dir (creating dir if needed), calls replay for
// every record in order — the newest checkpoint's, then the segments' —
// and starts accepting commits. An error from replay aborts Open.
// Record data passed to replay is owned by the callee.
func Open(dir string, opts Options, replay func(Record) error) (*Log, error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = defaultSeg
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	l := &Log{dir: dir, opts: opts, log: opts.Logger,
		reqs: make(chan *request, 1024), quit: make(chan struct{}), stopped: make(chan struct{})}
	if err := l.recover(replay); err != nil {
		return nil, err
	}
	go l.committer()
	return l, nil
}

type files struct {
	segs  []uint64
	ckpts []uint64
}

func (l *Log) list() (files, error) {
	var fs files
	ents, err := os.ReadDir(l.dir)
	if err != nil {
		return fs, fmt.Errorf("wal: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, tmpSuffix):
			_ = os.Remove(filepath.Join(l.dir, name)) // an unfinished checkpoint
		case strings.HasSuffix(name, segSuffix):
			if n, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 16, 64); err == nil {
				fs.segs = append(fs.segs, n)
			}
		case strings.HasSuffix(name, ckptSuffix):
			if n, err := strconv.ParseUint(strings.TrimSuffix(name, ckptSuffix), 16, 64); err == nil {
				fs.ckpts = append(fs.ckpts, n)
			}
		}
	}
	slices.Sort(fs.segs)
	slices.Sort(fs.ckpts)
	return fs, nil
}

func (l *Log) segPath(n uint64) string {
	return filepath.Join(l.dir, fmt.Sprintf("%016x%s", n, segSuffix))
}
func (l *Log) ckptPath(n uint64) string {
	return filepath.Join(l.dir, fmt.Sprintf("%016x%s", n, ckptSuffix))
}

func (l *Log) recover(replay func(Record) error) error {
	fs, err := l.list()
	if err != nil {
		return err
	}
	// The newest checkpoint that reads whole wins; a damaged one (which an
	// atomic rename should make impossible) falls back to an older one.
	start := uint64(1)
	var ckptRecs []Record
	found := false
	var damaged error // the newest checkpoint's damage, if any
	for i := len(fs.ckpts) - 1; i >= 0; i-- {
		n := fs.ckpts[i]
		recs, err := readCheckpoint(l.ckptPath(n))
		if err != nil {
			if damaged == nil {
				damaged = err
			}
			continue // an older checkpoint, with the segments after it, may still hold everything
		}
		start, ckptRecs, found = n, recs, true
		break
	}
	if damaged != nil {
		// Falling back is sound only when every segment from the older
		// checkpoint (or the first) on is still there; the damaged one is
		// kept for a person to look at, never deleted.
		if len(fs.segs) == 0 || fs.segs[0] > start {
			return damaged
		}
		l.log.Warn("a damaged checkpoint is set aside; the log is read from an older one and its segments",
			"damage", damaged, "from", start)
		for _, n := range fs.ckpts {
			if n > start {
				_ = os.Rename(l.ckptPath(n), l.ckptPath(n)+".damaged")
			}
		}
	}
	if !found && len(fs.ckpts) > 0 && (len(fs.segs) == 0 || fs.segs[0] > 1) {
		return fmt.Errorf("%w: no readable checkpoint in %s and the early segments are gone", ErrCorrupt, l.dir)
	}
	for _, r := range ckptRecs {
		if err := replay(r); err != nil {
			return fmt.Errorf("wal: replaying checkpoint %d: %w", start, err)
		}
	}
	var segs []uint64
	for _, n := range fs.segs {
		if n >= start {
			segs = append(segs, n)
		}
	}
	for i, n := range segs {
		if n != start+uint64(i) {
			return &CorruptError{File: l.segPath(start + uint64(i)), Reason: "segment missing"}
		}
		last := i == len(segs)-1
		good, err := replaySegment(l.segPath(n), last, replay)
		if err != nil {
			return err
		}
		if last {
			if err := l.openActive(n, good); err != nil {
				return err
			}
		}
	}
	if len(segs) == 0 {
		if err := l.createSegment(start); err != nil {
			return err
		}
	}
	// Segments and checkpoints older than the one used are left over from an
	// interrupted clean-up.
	l.removeBefore(start)
	return nil
}

// replaySegment replays the records of one segment and returns the offset
// after the last whole record. A torn tail (see tornTail) is allowed only
// in the last segment; any other bad frame is a *CorruptError.
func replaySegment(path string, last bool, replay func(Record) error) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("wal: %w", err)
	}
	if len(data) < magicSize {
		if last && strings.HasPrefix(segMagic, string(data)) {
			return 0, nil // created, header not yet whole
		}
		return 0, corrupt(path, 0, "short header")
	}
	if string(data[:magicSize]) != segMagic {
		return 0, corrupt(path, 0, "not a log segment (bad header)")
	}
	off := magicSize
	for off < len(data) {
		r, n, err := decode(data[off:])
		if err != nil {
			if !last {
				return 0, corrupt(path, off, "%v", err)
			}
			if reason := tornTail(data, off); reason != "" {
				return 0, corrupt(path, off, "%s", reason)
			}
			return int64(off), nil
		}
		if r.Kind == kindEnd {
			return 0, corrupt(path, off, "reserved record kind")
		}
		if err := replay(r); err != nil {
			return 0, fmt.Errorf("wal: replaying %s at offset %d: %w", path, off, err)
		}
		off += n
	}
	return int64(off), nil
}

// tornTail tells whether the bad frame at off in the last segment is a
// torn tail — what a crash in the middle of a write can leave — and
// returns "" if so, or why it is corruption instead. A write that was cut
// leaves a prefix of whole frames and then part of one: a header cut short,
// or a header whose length runs past the end. Zeros to the end are blocks
// the file system allocated but never wrote. Anything else cannot come from
// a cut write: a whole frame whose checksum fails, a length beyond any
// record, a length that runs past the end although the bytes to the end
// check out as a whole record (the length was damaged), or a whole record
// somewhere after the bad frame.
func tornTail(data []byte, off int) string {
	rest := data[off:]
	if allZero(rest) || len(rest) < headerSize {
		return ""
	}
	n := int(binary.LittleEndian.Uint32(rest[0:4]))
	sum := binary.LittleEndian.Uint32(rest[4:8])
	switch {
	case n > MaxRecord:
		return fmt.Sprintf("record length %d beyond the largest record", n)
	case headerSize+n <= len(rest):
		return "checksum mismatch"
	case crc32.Checksum(rest[8:], castagnoli) == sum:
		return fmt.Sprintf("record length %d runs past the end, but the %d bytes to the end are a whole record: the length is damaged", n, len(rest)-headerSize)
	}
	if next := nextFrame(data, off+1, true); next >= 0 {
		return fmt.Sprintf("a record that runs past the end, followed by whole records (from offset %d)", next)
	}
	return ""
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// nextFrame returns the first offset at or after from where a whole frame
// with a good checksum starts (of a kind other than 0 when segment), and
// that is followed by the end of data or by the header of a plausible
// frame; -1 when there is none. Used to find records after damage.
func nextFrame(data []byte, from int, segment bool) int {
	for p := from; p+headerSize <= len(data); p++ {
		n := int(binary.LittleEndian.Uint32(data[p : p+4]))
		end := p + headerSize + n
		if n > MaxRecord || end > len(data) || (segment && data[p+8] == kindEnd) {
			continue
		}
		if end != len(data) { // cheap before the checksum: the next header must be plausible
			if end+headerSize > len(data) {
				continue
			}
			m := int(binary.LittleEndian.Uint32(data[end : end+4]))
			if m > MaxRecord || end+headerSize+m > len(data) {
				continue
			}
		}
		if crc32.Checksum(data[p+8:end], castagnoli) == binary.LittleEndian.Uint32(data[p+4:p+8]) {
			return p
		}
	}
	return -1
}

func readCheckpoint(path string) ([]Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	if len(data) < magicSize || string(data[:magicSize]) != ckptMagic {
		return nil, corrupt(path, 0, "not a checkpoint (bad header)")
	}
	var recs []Record
	for off := magicSize; off < len(data); {
		r, n, err := decode(data[off:])
		if err != nil {
			return nil, corrupt(path, off, "%v", err)
		}
		off += n
		if r.Kind == kindEnd {
			if off != len(data) {
				return nil, corrupt(path, off, "data after the end marker")
			}
			return recs, nil
		}
		recs = append(recs, r)
	}
	return nil, corrupt(path, len(data), "%v", errNoEndMarker)
}

// decode reads one framed record from the start of b; the record's data is
// a fresh copy.
func decode(b []byte) (Record, int, error) {
	if len(b) < headerSize {
		return Record{}, 0, errTorn
	}
	n := binary.LittleEndian.Uint32(b[0:4])
	sum := binary.LittleEndian.Uint32(b[4:8])
	if n > MaxRecord || int(n) > len(b)-headerSize {
		return Record{}, 0, errTorn
	}
	body := b[8 : headerSize+int(n)]
	if crc32.Checksum(body, castagnoli) != sum {
		return Record{}, 0, errChecksum
	}
	return Record{Kind: body[0], Data: slices.Clone(body[1:])}, headerSize + int(n), nil
}

// appendFrame appends the framed record to buf.
func appendFrame(buf []byte, r Record) []byte {
	start := len(buf)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(r.Data)))
	buf = append(buf, 0, 0, 0, 0, r.Kind)
	buf = append(buf, r.Data...)
	sum := crc32.Checksum(buf[start+8:], castagnoli)
	binary.LittleEndian.PutUint32(buf[start+4:], sum)
	return buf
}

// openActive opens segment n for appending, cutting it at good.
func (l *Log) openActive(n uint64, good int64) error {
	f, err := os.OpenFile(l.segPath(n), os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("wal: %w", err)
	}
	if good < magicSize {
		// Header missing or partial: start the segment afresh.
		if err := f.Truncate(0); err == nil {
			_, err = f.WriteAt([]byte(segMagic), 0)
		}
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("wal: rewriting the header of %s: %w", l.segPath(n), err)
		}
		good = magicSize
	} else if st.Size() > good {
		l.log.Warn("cutting a torn tail off the log", "file", l.segPath(n), "at", good, "dropped_bytes", st.Size()-good)
		if err := f.Truncate(good); err != nil {
			f.Close()
			return fmt.Errorf("wal: truncating %s: %w", l.segPath(n), err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("wal: %w", err)
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return fmt.Errorf("wal: %w", err)
	}
	l.f, l.seq, l.size = f, n, good
	return nil
}

func (l *Log) createSegment(n uint64) error {
	f, err := os.OpenFile(l.segPath(n), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	if _, err := f.Write([]byte(segMagic)); err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(l.dir)
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("wal: creating %s: %w", l.segPath(n), err)
	}
	l.f, l.seq, l.size = f, n, magicSize
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Commit writes recs durably, as one unit with every other commit that is
// waiting at the same moment (one write and one fsync for all of them).
// Once the records are on disk, apply (if not nil) is called on the
// committer goroutine — so in log order, never concurrently with another
// apply — and then Commit returns nil. When Commit returns an error the
// records may or may not be in the log, and apply has not run.
func (l *Log) Commit(ctx context.Context, recs []Record, apply func()) error {
	for _, r := range recs {
		if r.Kind == kindEnd {
			return ErrBadKind
		}
		if len(r.Data) > MaxRecord {
			return fmt.Errorf("%w: %d bytes", ErrTooLarge, len(r.Data))
		}
	}
	req := &request{recs: recs, apply: apply, done: make(chan error, 1)}
	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case l.reqs <- req:
		l.closeMu.RUnlock()
	case <-ctx.Done():
		l.closeMu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Log) committer() {
	defer close(l.stopped)
	batch := make([]*request, 0, 64)
	for {
		var first *request
		select {
		case first = <-l.reqs:
		case <-l.quit:
			// Serve whatever was enqueued before Close, then stop.
			for {
				select {
				case r := <-l.reqs:
					l.commit([]*request{r})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
		bytes := 0
	drain:
		for bytes < maxBatchSize {
			select {
			case r := <-l.reqs:
				batch = append(batch, r)
				for _, rec := range r.recs {
					bytes += len(rec.Data)
				}
			default:
				break drain
			}
		}
		l.commit(batch)
	}
}

func (l *Log) commit(batch []*request) {
	if l.failed != nil {
		for _, r := range batch {
			r.done <- l.failed
		}
		return
	}
	start := time.Now()
	l.buf = l.buf[:0]
	nrec := 0
	for _, r := range batch {
		for _, rec := range r.recs {
			l.buf = appendFrame(l.buf, rec)
			nrec++
		}
	}
	_, err := l.f.Write(l.buf)
	if err == nil {
		err = l.f.Sync()
	}
	if err != nil {
		// After a failed write or fsync the file's state is unknown: stop
		// accepting commits rather than acknowledge what may be lost.
		l.failed = fmt.Errorf("%w: %v", ErrFailed, err)
		l.failure.Store(&l.failed)
		l.log.Error("the log failed; live writes are refused until restart", "err", err)
		for _, r := range batch {
			r.done <- l.failed
		}
		return
	}
	l.size += int64(len(l.buf))
	d := time.Since(start)
	for _, r := range batch {
		if r.apply != nil {
			r.apply()
		}
		r.done <- nil
	}
	if l.opts.OnCommit != nil {
		l.opts.OnCommit(CommitInfo{Requests: len(batch), Records: nrec, Bytes: len(l.buf), Duration: d})
	}
	if len(l.buf) > 1<<20 {
		l.buf = nil // don't pin a large buffer
	}
	if l.size >= l.opts.SegmentSize {
		l.rotate()
	}
}

// rotate closes the active segment, opens the next and, when a snapshot
// function is set and no checkpoint is being written, starts one.
func (l *Log) rotate() {
	old := l.f
	next := l.seq + 1
	if err := l.createSegment(next); err != nil {
		l.log.Error("cannot start a new log segment; staying on the current one", "err", err)
		return
	}
	_ = old.Close()
	if l.opts.Snapshot == nil {
		return
	}
	l.ckptMu.Lock()
	if l.ckptRunning {
		l.ckptMu.Unlock()
		return // the next rotation will checkpoint
	}
	l.ckptRunning = true
	l.ckptMu.Unlock()
	write := l.opts.Snapshot()
	l.ckptWG.Add(1)
	go func() {
		defer l.ckptWG.Done()
		err := l.writeCheckpoint(next, write)
		l.ckptMu.Lock()
		l.ckptRunning, l.ckptErr = false, err
		l.ckptMu.Unlock()
		if err != nil {
			l.log.Error("writing a checkpoint failed; the log keeps its segments", "err", err)
			return
		}
		l.removeBefore(next)
	}()
}

func (l *Log) writeCheckpoint(n uint64, write func(emit func(Record) error) error) error {
	start := time.Now()
	tmp := l.ckptPath(n) + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	var frame []byte
	emit := func(r Record) error {
		if r.Kind == kindEnd {
			return ErrBadKind
		}
		frame = appendFrame(frame[:0], r)
		_, err := bw.Write(frame)
		return err
	}
	_, err = bw.WriteString(ckptMagic)
	if err == nil {
		err = write(emit)
	}
	if err == nil {
		frame = appendFrame(frame[:0], Record{Kind: kindEnd})
		_, err = bw.Write(frame)
	}
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, l.ckptPath(n))
	}
	if err == nil {
		err = syncDir(l.dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	l.log.Info("log checkpoint written", "checkpoint", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// removeBefore deletes segments and checkpoints that checkpoint n makes
// redundant.
func (l *Log) removeBefore(n uint64) {
	fs, err := l.list()
	if err != nil {
		return
	}
	for _, s := range fs.segs {
		if s < n {
			_ = os.Remove(l.segPath(s))
		}
	}
	for _, c := range fs.ckpts {
		if c < n {
			_ = os.Remove(l.ckptPath(c))
		}
	}
}

// Close waits for pending commits and any checkpoint being written, then
// closes the log. Commits after Close fail with ErrClosed.
func (l *Log) Close() error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return nil
	}
	l.closed = true
	l.closeMu.Unlock()
	close(l.quit)
	<-l.stopped
	l.ckptWG.Wait()
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	return nil
}

// Err returns what stopped the log accepting commits (it wraps ErrFailed),
// or nil while it accepts them. A failed log stays failed until it is
// opened again.
func (l *Log) Err() error {
	if p := l.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// Dir is the directory of the log.
func (l *Log) Dir() string { return l.dir }

// AppendFrame appends r, framed and checksummed as in a segment, to buf.
// Other small files of the data directory (the tenants file) reuse the
// framing.
func AppendFrame(buf []byte, r Record) []byte { return appendFrame(buf, r) }

// ReadFrames decodes the framed records at the start of data and returns
// them with the length of the whole records read; the rest of data (a torn
// tail) is not a whole record.
func ReadFrames(data []byte) ([]Record, int) {
	var recs []Record
	off := 0
	for off < len(data) {
		r, n, err := decode(data[off:])
		if err != nil {
			break
		}
		recs = append(recs, r)
		off += n
	}
	return recs, off
}
