// Package spool is Sightline's durable log between the capture endpoint and
// the event store.
//
// Capture appends each accepted batch (already encoded by the event codec;
// the spool treats it as opaque bytes) and answers 200 only once Append has
// returned, that is once the batch is fsync'd. Concurrent appends are group
// committed: one committer goroutine writes everything queued since its last
// fsync and covers it with a single fsync, so throughput follows the disk's
// bandwidth rather than its fsync latency.
//
// A Writer reads the spool from the event store's checkpoint, hands large
// batches to the store together with the checkpoint after them (the store
// commits both atomically), and then releases the segments the store has
// confirmed. On start whatever the store has not confirmed is read again;
// the event UUID makes that replay idempotent.
//
// Disk use is bounded by Options.MaxBytes: past it Append fails with ErrFull,
// which capture turns into 503 with Retry-After instead of losing data or
// filling the disk.
//
// On disk a spool is a directory holding its identity (spool.id), a lock
// file, and segment files named by a monotonically increasing number. A
// segment holds records framed as [length][crc32c][payload]. Only the newest
// segment is ever written; a torn tail on it (a crash during a write that was
// never acknowledged) is cut away on Open. Corruption anywhere else is data
// that was acknowledged and then damaged by the disk: readers log it loudly
// with its segment and offset, count it in Stats, and resume at the next
// valid record, because refusing to start would stop capture and lose new
// events without bringing the damaged ones back.
package spool

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sightline-analytics/sightline/store"
)

var (
	// ErrFull is returned by Append when accepting the payload would take
	// the unreleased data past Options.MaxBytes. Capture answers 503 with
	// Retry-After: the writer frees room as the store catches up.
	ErrFull = errors.New("spool: full")
	// ErrClosed is returned by Append after Close, and by a Reader that has
	// read everything once the spool is closed.
	ErrClosed = errors.New("spool: closed")
	// ErrTooLarge is returned by Append for a payload that could never fit
	// (larger than MaxBytes, or than the record format allows).
	ErrTooLarge = errors.New("spool: payload too large")
)

const (
	defaultSegmentBytes = 64 << 20
	defaultMaxBytes     = 1 << 30
	idFile              = "spool.id"
	lockFile            = "LOCK"
	// maxSpareBuf bounds the commit buffer kept between commits, so that
	// one burst does not pin a large buffer forever.
	maxSpareBuf = 16 << 20
)

// Options configures a Spool. Zero values take the defaults.
type Options struct {
	// SegmentBytes is the size at which the spool starts a new segment
	// (default 64 MiB). Segments are the unit of deletion.
	SegmentBytes int64
	// MaxBytes bounds the data not yet released by the writer, queued
	// appends included (default 1 GiB).
	MaxBytes int64
	// Logger receives recovery and corruption reports (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock used for lag ages (default time.Now).
	Now func() time.Time
}

// Spool is a durable, bounded, append-only log of capture batches. Its
// methods are safe for concurrent use.
type Spool struct {
	dir  string
	opts Options
	log  *slog.Logger
	id   string
	lock *os.File

	kick          chan struct{} // wakes the committer; capacity 1
	committerDone chan struct{}

	mu sync.Mutex
	// pending collects framed records until the committer takes it.
	pending *batch
	spare   []byte
	// queuedBytes counts records accepted by Append and not yet committed
	// (in pending or being written).
	queuedBytes int64
	segs        []segment // live segments, oldest first; the last is active
	liveBytes   int64     // sum of segs' sizes
	relBytes    int64     // bytes of segs[0] before the release point
	released    store.Checkpoint
	lastEnd     store.Checkpoint // just past the newest committed record
	notify      chan struct{}    // closed and replaced at each commit
	closed      bool
	failed      error // sticky: the committer could not restore a consistent file
	marks       marks

	stopped bool // the committer has exited (set by Close)

	// Owned by the committer (and by Open/Close when it is not running).
	active     *os.File
	activeNum  uint64
	activeSize int64
	touched    []segment // sizes a commit left on disk, per segment
	toClose    []*os.File

	appended       atomic.Uint64
	appendedBytes  atomic.Uint64
	committed      atomic.Uint64
	committedBytes atomic.Uint64
	fsyncs         atomic.Uint64
	fullRejects    atomic.Uint64
	commitErrors   atomic.Uint64
	corruptRegions atomic.Uint64
	corruptBytes   atomic.Uint64
	lastSyncNanos  atomic.Int64
}

type segment struct {
	num  uint64
	size int64 // committed bytes, header included
}

// batch is one group commit: everything appended while the previous commit
// was being written and synced.
type batch struct {
	buf     []byte
	records int
	done    chan struct{}
	err     error
}

// Open opens the spool in dir, creating it if needed. It recovers the newest
// segment from a crash (cutting a torn tail) and starts the committer.
func Open(dir string, opts Options) (*Spool, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = defaultSegmentBytes
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = defaultMaxBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool: create %s: %w", dir, err)
	}
	s := &Spool{
		dir:           dir,
		opts:          opts,
		log:           opts.Logger.With("component", "spool"),
		kick:          make(chan struct{}, 1),
		committerDone: make(chan struct{}),
		notify:        make(chan struct{}),
		pending:       &batch{done: make(chan struct{})},
	}
	s.marks.init()
	lock, err := lockDir(filepath.Join(dir, lockFile))
	if err != nil {
		return nil, fmt.Errorf("spool: lock %s: %w", dir, err)
	}
	s.lock = lock
	if err := s.open(); err != nil {
		s.closeFiles()
		return nil, err
	}
	go s.commitLoop()
	return s, nil
}

func (s *Spool) open() error {
	var err error
	if s.id, err = loadID(s.dir); err != nil {
		return err
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: list %s: %w", s.dir, err)
	}
	mtimes := make(map[uint64]time.Time)
	for _, e := range entries {
		num, ok := parseSegmentName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return fmt.Errorf("spool: stat segment %d: %w", num, err)
		}
		s.segs = append(s.segs, segment{num: num, size: info.Size()})
		mtimes[num] = info.ModTime()
	}
	slices.SortFunc(s.segs, func(a, b segment) int { return cmp.Compare(a.num, b.num) })
	if len(s.segs) == 0 {
		if err := s.createSegment(1); err != nil {
			return err
		}
		s.segs = append(s.segs, segment{num: 1, size: segHeaderSize})
	} else {
		if err := s.checkSealed(); err != nil {
			return err
		}
		if err := s.recoverLast(); err != nil {
			return err
		}
	}
	for _, sg := range s.segs {
		s.liveBytes += sg.size
		if sg.size > segHeaderSize {
			// Data from before this start: its age is known only from
			// the file's modification time.
			s.marks.add(store.Checkpoint{Segment: sg.num, Offset: sg.size}, mtimes[sg.num])
		}
	}
	s.lastEnd = s.findLastEnd()
	return nil
}

// checkSealed reports sealed segments whose header is wrong. Their records
// are still read (each is checked by its CRC), so this only logs.
func (s *Spool) checkSealed() error {
	for _, sg := range s.segs[:len(s.segs)-1] {
		f, err := os.Open(s.segPath(sg.num))
		if err != nil {
			return fmt.Errorf("spool: open segment %d: %w", sg.num, err)
		}
		h := make([]byte, segHeaderSize)
		_, rerr := io.ReadFull(f, h)
		f.Close()
		if rerr == nil {
			rerr = checkHeader(h, sg.num)
		}
		if rerr != nil {
			s.log.Error("spool: sealed segment has a bad header; reading its records anyway",
				"segment", sg.num, "err", rerr)
		}
	}
	return nil
}

// recoverLast makes the newest segment the active one: it keeps every valid
// record and cuts whatever follows the last one. Only the newest segment
// can have a torn tail, because a segment is fsync'd before the next is
// created.
func (s *Spool) recoverLast() error {
	last := &s.segs[len(s.segs)-1]
	path := s.segPath(last.num)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("spool: open segment %d: %w", last.num, err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("spool: read segment %d: %w", last.num, err)
	}
	rewriteHeader := false
	if herr := checkHeader(data, last.num); herr != nil {
		rewriteHeader = true
		if len(data) > segHeaderSize {
			s.log.Error("spool: newest segment has a bad header; rewriting it",
				"segment", last.num, "err", herr)
		}
	}
	res := scanResult{validEnd: segHeaderSize, firstBad: -1}
	if len(data) > segHeaderSize {
		res = scanRecords(data, segHeaderSize, nil)
	}
	if res.corrupt > 0 {
		s.corruptRegions.Add(uint64(res.corrupt))
		s.corruptBytes.Add(uint64(res.corruptLen))
		s.log.Error("spool: corrupt records inside the newest segment; they will be skipped",
			"segment", last.num, "offset", res.firstBad, "regions", res.corrupt, "bytes", res.corruptLen)
	}
	end := int64(res.validEnd)
	if int64(len(data)) != end {
		if int64(len(data)) > end {
			s.log.Warn("spool: cutting a torn tail left by a crash (never acknowledged)",
				"segment", last.num, "offset", end, "bytes", int64(len(data))-end)
		}
		if err := f.Truncate(end); err != nil {
			f.Close()
			return fmt.Errorf("spool: truncate segment %d at %d: %w", last.num, end, err)
		}
	}
	if rewriteHeader {
		if _, err := f.WriteAt(segmentHeader(last.num), 0); err != nil {
			f.Close()
			return fmt.Errorf("spool: write header of segment %d: %w", last.num, err)
		}
	}
	if err := fdatasync(f); err != nil {
		f.Close()
		return fmt.Errorf("spool: sync segment %d: %w", last.num, err)
	}
	last.size = end
	s.active, s.activeNum, s.activeSize = f, last.num, end
	return nil
}

// findLastEnd locates the end of the newest committed record, for Flush
// targets and lag: an empty active segment must not look like unread data.
func (s *Spool) findLastEnd() store.Checkpoint {
	for i := len(s.segs) - 1; i >= 0; i-- {
		if s.segs[i].size > segHeaderSize {
			return store.Checkpoint{Spool: s.id, Segment: s.segs[i].num, Offset: s.segs[i].size}
		}
	}
	return store.Checkpoint{Spool: s.id}
}

// createSegment creates segment num with its header, syncs it and the
// directory, and makes it the active segment.
func (s *Spool) createSegment(num uint64) error {
	f, err := os.OpenFile(s.segPath(num), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("spool: create segment %d: %w", num, err)
	}
	if _, err := f.WriteAt(segmentHeader(num), 0); err != nil {
		f.Close()
		return fmt.Errorf("spool: write header of segment %d: %w", num, err)
	}
	if err := fdatasync(f); err != nil {
		f.Close()
		return fmt.Errorf("spool: sync segment %d: %w", num, err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return fmt.Errorf("spool: sync directory after creating segment %d: %w", num, err)
	}
	if s.active != nil {
		s.active.Close()
	}
	s.active, s.activeNum, s.activeSize = f, num, segHeaderSize
	return nil
}

func (s *Spool) segPath(num uint64) string { return filepath.Join(s.dir, segmentName(num)) }

// loadID reads the spool's identity, creating it on first use. The store
// keys its checkpoint by this ID, so it must never change for a directory.
func loadID(dir string) (string, error) {
	path := filepath.Join(dir, idFile)
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if _, herr := hex.DecodeString(id); herr != nil || len(id) != 32 {
			return "", fmt.Errorf("spool: %s holds %q, not a spool ID; restore it or move the directory aside", path, b)
		}
		return id, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("spool: read ID: %w", err)
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	id := hex.EncodeToString(raw[:])
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", fmt.Errorf("spool: create ID: %w", err)
	}
	_, werr := f.WriteString(id + "\n")
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr == nil {
		werr = syncDir(dir)
	}
	if werr != nil {
		return "", fmt.Errorf("spool: write ID: %w", werr)
	}
	return id, nil
}

// ID is the spool's stable identity; the store keys its checkpoint by it.
func (s *Spool) ID() string { return s.id }

// Dir is the spool's directory.
func (s *Spool) Dir() string { return s.dir }

// Append durably appends one payload: when it returns nil, the payload is
// on disk. It fails with ErrFull when the spool is at MaxBytes, ErrClosed
// after Close, and ErrTooLarge for a payload that could never fit.
//
// The payload is copied before Append waits, so the caller may reuse it as
// soon as Append returns, even with an error. When ctx ends first, Append
// returns ctx's error but the payload may still be committed; the event
// UUID makes the client's retry harmless.
func (s *Spool) Append(ctx context.Context, payload []byte) error {
	n := len(payload)
	if n == 0 {
		return errors.New("spool: empty payload")
	}
	frame := int64(recHeaderSize + n)
	if n > maxPayload || frame > s.opts.MaxBytes {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, n)
	}
	// Checksumming before taking the lock keeps the critical section to a
	// copy, so appenders on several cores overlap their CRC work.
	crc := recordCRC(uint32(n), payload)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.failed != nil {
		err := s.failed
		s.mu.Unlock()
		return err
	}
	if s.liveBytes-s.relBytes+s.queuedBytes+frame > s.opts.MaxBytes {
		s.mu.Unlock()
		s.fullRejects.Add(1)
		return ErrFull
	}
	b := s.pending
	b.buf = appendRecord(b.buf, payload, crc)
	b.records++
	s.queuedBytes += frame
	s.mu.Unlock()
	s.appended.Add(1)
	s.appendedBytes.Add(uint64(n))
	select {
	case s.kick <- struct{}{}:
	default:
	}
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// commitLoop is the single committer: it takes whatever is queued, writes
// it, fsyncs once and wakes every appender of that batch.
func (s *Spool) commitLoop() {
	defer close(s.committerDone)
	for {
		s.mu.Lock()
		for s.pending.records == 0 && !s.closed {
			s.mu.Unlock()
			<-s.kick
			s.mu.Lock()
		}
		if s.pending.records == 0 {
			s.mu.Unlock()
			return
		}
		b := s.pending
		s.pending = &batch{buf: s.spare, done: make(chan struct{})}
		s.spare = nil
		err := s.failed
		s.mu.Unlock()

		var touched []segment
		if err == nil {
			touched, err = s.write(b.buf)
		}

		s.mu.Lock()
		s.queuedBytes -= int64(len(b.buf))
		if err == nil {
			s.publish(touched, b)
		} else if s.failed == nil && s.activeSize != s.segs[len(s.segs)-1].size {
			// write could not put the files back as they were.
			s.failed = fmt.Errorf("spool: unusable after a failed commit, restart to recover: %w", err)
		}
		if cap(b.buf) <= maxSpareBuf {
			s.spare = b.buf[:0]
		}
		s.mu.Unlock()
		b.err = err
		close(b.done)
	}
}

// write appends framed records to the active segment, rolling over to new
// segments at SegmentBytes (a record never spans two), and syncs. On error
// it restores the files to their last committed state, so that the next
// commit starts from a clean tail.
func (s *Spool) write(data []byte) ([]segment, error) {
	origFile, origNum, origSize := s.active, s.activeNum, s.activeSize
	touched := s.touched[:0]
	var created []uint64
	fail := func(err error) ([]segment, error) {
		s.commitErrors.Add(1)
		s.rollback(origFile, origNum, origSize, created, err)
		return nil, err
	}
	for len(data) > 0 {
		room := s.opts.SegmentBytes - s.activeSize
		n := len(data)
		if int64(n) > room {
			n = fitRecords(data, room)
		}
		if n == 0 {
			if s.activeSize > segHeaderSize {
				if len(touched) > 0 && touched[len(touched)-1].num == s.activeNum {
					if err := s.sync(); err != nil {
						return fail(fmt.Errorf("spool: sync segment %d: %w", s.activeNum, err))
					}
				}
				num := s.activeNum + 1
				prev := s.active
				s.active = nil
				if err := s.createSegment(num); err != nil {
					s.active = prev
					return fail(err)
				}
				s.fsyncs.Add(2)
				created = append(created, num)
				if prev != origFile {
					s.toClose = append(s.toClose, prev)
				}
				touched = append(touched, segment{num: num, size: segHeaderSize})
				continue
			}
			// A record larger than a whole segment gets a segment of its own.
			n = recHeaderSize + int(leUint32(data))
		}
		if _, err := s.active.WriteAt(data[:n], s.activeSize); err != nil {
			return fail(fmt.Errorf("spool: write segment %d at %d: %w", s.activeNum, s.activeSize, err))
		}
		s.activeSize += int64(n)
		data = data[n:]
		if len(touched) > 0 && touched[len(touched)-1].num == s.activeNum {
			touched[len(touched)-1].size = s.activeSize
		} else {
			touched = append(touched, segment{num: s.activeNum, size: s.activeSize})
		}
	}
	if err := s.sync(); err != nil {
		return fail(fmt.Errorf("spool: sync segment %d: %w", s.activeNum, err))
	}
	if s.active != origFile {
		origFile.Close()
	}
	for _, f := range s.toClose {
		f.Close()
	}
	clear(s.toClose)
	s.toClose = s.toClose[:0]
	s.touched = touched
	return touched, nil
}

func (s *Spool) sync() error {
	start := time.Now()
	err := fdatasync(s.active)
	s.lastSyncNanos.Store(int64(time.Since(start)))
	s.fsyncs.Add(1)
	return err
}

// rollback undoes a failed commit: segments it created are removed and the
// original active segment is cut back to its committed size. Should that
// fail too, s.activeSize stays off the committed size and the committer
// marks the spool failed.
func (s *Spool) rollback(orig *os.File, num uint64, size int64, created []uint64, cause error) {
	if s.active != orig && s.active != nil {
		s.active.Close()
	}
	for _, f := range s.toClose {
		f.Close()
	}
	clear(s.toClose)
	s.toClose = s.toClose[:0]
	for _, n := range created {
		if err := os.Remove(s.segPath(n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Error("spool: remove segment after a failed commit", "segment", n, "err", err)
		}
	}
	s.active, s.activeNum = orig, num
	err := orig.Truncate(size)
	if err == nil {
		err = fdatasync(orig)
	}
	if err != nil {
		s.log.Error("spool: cannot restore the segment after a failed commit", "segment", num, "err", err, "cause", cause)
		s.activeSize = -1
		return
	}
	s.activeSize = size
	s.log.Error("spool: commit failed; its appends were refused", "segment", num, "err", cause)
}

// fitRecords returns how many leading bytes of data hold whole records that
// fit in room.
func fitRecords(data []byte, room int64) int {
	off := 0
	for off < len(data) {
		n := recHeaderSize + int(leUint32(data[off:]))
		if int64(off+n) > room {
			break
		}
		off += n
	}
	return off
}

func leUint32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// publish makes a successful commit visible to readers and to the byte
// accounting. s.mu is held.
func (s *Spool) publish(touched []segment, b *batch) {
	for _, t := range touched {
		last := &s.segs[len(s.segs)-1]
		if t.num == last.num {
			s.liveBytes += t.size - last.size
			last.size = t.size
			continue
		}
		s.segs = append(s.segs, t)
		s.liveBytes += t.size
	}
	s.lastEnd = store.Checkpoint{Spool: s.id, Segment: s.activeNum, Offset: s.activeSize}
	s.marks.add(s.lastEnd, s.opts.Now())
	s.committed.Add(uint64(b.records))
	s.committedBytes.Add(uint64(len(b.buf) - b.records*recHeaderSize))
	close(s.notify)
	s.notify = make(chan struct{})
}

// Close commits what is queued, stops the committer and closes the files.
// Appends after Close fail with ErrClosed; readers return what was
// committed and then ErrClosed.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
	<-s.committerDone
	s.mu.Lock()
	s.stopped = true
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
	return s.closeFiles()
}

func (s *Spool) closeFiles() error {
	var errs []error
	if s.active != nil {
		errs = append(errs, s.active.Close())
		s.active = nil
	}
	if s.lock != nil {
		errs = append(errs, unlockDir(s.lock))
		s.lock = nil
	}
	return errors.Join(errs...)
}

// Release tells the spool that everything up to upTo is safely in the
// store. Segments entirely before upTo are deleted, and the data before upTo
// no longer counts against MaxBytes. A checkpoint behind an earlier one is
// ignored.
func (s *Spool) Release(upTo store.Checkpoint) error {
	if upTo.Spool != "" && upTo.Spool != s.id {
		return fmt.Errorf("spool: release: checkpoint of spool %q, this is spool %q", upTo.Spool, s.id)
	}
	upTo.Spool = s.id
	s.mu.Lock()
	if !before(s.released, upTo) {
		s.mu.Unlock()
		return nil
	}
	s.released = upTo
	var drop []uint64
	// The active segment is never deleted: it keeps segment numbers
	// increasing across restarts, which checkpoints rely on.
	for len(s.segs) > 1 && s.segs[0].num < upTo.Segment {
		drop = append(drop, s.segs[0].num)
		s.liveBytes -= s.segs[0].size
		s.segs = s.segs[1:]
	}
	s.relBytes = 0
	if s.segs[0].num == upTo.Segment {
		s.relBytes = min(max(upTo.Offset, 0), s.segs[0].size)
	}
	s.marks.dropUpTo(upTo)
	s.mu.Unlock()
	var errs []error
	for _, n := range drop {
		if err := os.Remove(s.segPath(n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("spool: delete segment %d: %w", n, err))
		}
	}
	return errors.Join(errs...)
}

// End is the position just past the newest committed record.
func (s *Spool) End() store.Checkpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastEnd
}

// Lag measures how far a reader at cp is behind: the committed bytes after
// cp (records with their headers; segment headers excluded) and the age of
// the oldest of them (to the resolution of the commit marks, erring on the
// old side).
func (s *Spool) Lag(cp store.Checkpoint) (bytes int64, age time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sg := range s.segs {
		if sg.num < cp.Segment {
			continue
		}
		start := int64(segHeaderSize)
		if sg.num == cp.Segment {
			start = max(cp.Offset, segHeaderSize)
		}
		if sg.size > start {
			bytes += sg.size - start
		}
	}
	if bytes > 0 {
		if t, ok := s.marks.after(cp); ok {
			age = max(s.opts.Now().Sub(t), 0)
		}
	}
	return bytes, age
}

// Stats is a snapshot of the spool's state and counters, for /metrics.
type Stats struct {
	// UnreleasedBytes is what MaxBytes bounds: committed data not yet
	// released plus appends waiting for their commit.
	UnreleasedBytes int64
	MaxBytes        int64
	QueuedBytes     int64 // accepted by Append, not yet fsync'd
	Segments        int
	OldestSegment   uint64
	ActiveSegment   uint64
	Appended        uint64 // records accepted by Append
	AppendedBytes   uint64 // their payload bytes
	Committed       uint64 // records fsync'd
	CommittedBytes  uint64
	Fsyncs          uint64
	FullRejections  uint64 // appends refused with ErrFull
	CommitErrors    uint64 // commits that failed (their appends got the error)
	CorruptRegions  uint64 // damaged regions stepped over by readers and recovery
	CorruptBytes    uint64
	LastSync        time.Duration // duration of the latest fsync
}

// Stats returns a snapshot of the spool's counters.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	st := Stats{
		UnreleasedBytes: s.liveBytes - s.relBytes + s.queuedBytes,
		MaxBytes:        s.opts.MaxBytes,
		QueuedBytes:     s.queuedBytes,
		Segments:        len(s.segs),
		OldestSegment:   s.segs[0].num,
		ActiveSegment:   s.segs[len(s.segs)-1].num,
	}
	s.mu.Unlock()
	st.Appended = s.appended.Load()
	st.AppendedBytes = s.appendedBytes.Load()
	st.Committed = s.committed.Load()
	st.CommittedBytes = s.committedBytes.Load()
	st.Fsyncs = s.fsyncs.Load()
	st.FullRejections = s.fullRejects.Load()
	st.CommitErrors = s.commitErrors.Load()
	st.CorruptRegions = s.corruptRegions.Load()
	st.CorruptBytes = s.corruptBytes.Load()
	st.LastSync = time.Duration(s.lastSyncNanos.Load())
	return st
}

// watch returns the channel closed at the next commit, and whether the
// spool has stopped committing for good.
func (s *Spool) watch() (<-chan struct{}, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notify, s.stopped
}

// segState describes segment num to a reader: its committed size, whether
// it is sealed (a newer segment exists, so size is final), and the segment
// after it. When num is gone (released), ok is false and next is the first
// live segment after it.
func (s *Spool) segState(num uint64) (size int64, sealed bool, next uint64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, sg := range s.segs {
		if sg.num < num {
			continue
		}
		if sg.num > num {
			return 0, true, sg.num, false
		}
		if i+1 < len(s.segs) {
			return sg.size, true, s.segs[i+1].num, true
		}
		return sg.size, false, 0, true
	}
	return 0, false, 0, false
}

// startOf resolves where a reader starting from cp begins.
func (s *Spool) startOf(cp store.Checkpoint) (seg uint64, off int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sg := range s.segs {
		if sg.num == cp.Segment {
			return sg.num, max(cp.Offset, segHeaderSize)
		}
		if sg.num > cp.Segment {
			return sg.num, segHeaderSize
		}
	}
	// The checkpoint is ahead of every segment here: segments were lost
	// or the store belongs to another spool with this ID. Replaying all of
	// it is safe (idempotent); skipping would strand new data.
	s.log.Error("spool: checkpoint is ahead of the newest segment; reading from the oldest",
		"checkpoint_segment", cp.Segment, "checkpoint_offset", cp.Offset,
		"newest_segment", s.segs[len(s.segs)-1].num)
	return s.segs[0].num, segHeaderSize
}

func before(a, b store.Checkpoint) bool {
	return a.Segment < b.Segment || (a.Segment == b.Segment && a.Offset < b.Offset)
}

// marks remember when committed positions were reached, for lag ages. A
// commit within `every` of the last mark extends that mark instead of adding
// one, so ages err on the old side by at most `every`; when the list is full
// it is thinned and `every` doubles, so memory stays bounded however far
// behind the writer is.
type marks struct {
	m     []mark
	every time.Duration
}

type mark struct {
	seg uint64
	off int64
	t   time.Time
}

const (
	maxMarks      = 512
	baseMarkEvery = 10 * time.Millisecond
)

func (m *marks) init() { m.every = baseMarkEvery }

func (m *marks) add(end store.Checkpoint, t time.Time) {
	if n := len(m.m); n > 0 && t.Sub(m.m[n-1].t) < m.every {
		m.m[n-1].seg, m.m[n-1].off = end.Segment, end.Offset
		return
	}
	if len(m.m) == maxMarks {
		// Keep the odd ones: each absorbs its predecessor's range, which
		// keeps the time of a range's first commit only approximately, at
		// the coarser resolution.
		k := 0
		for i := 1; i < len(m.m); i += 2 {
			m.m[k] = mark{seg: m.m[i].seg, off: m.m[i].off, t: m.m[i-1].t}
			k++
		}
		m.m = m.m[:k]
		m.every *= 2
	}
	m.m = append(m.m, mark{seg: end.Segment, off: end.Offset, t: t})
}

func (m *marks) dropUpTo(cp store.Checkpoint) {
	i := 0
	for i < len(m.m) && !before(cp, store.Checkpoint{Segment: m.m[i].seg, Offset: m.m[i].off}) {
		i++
	}
	if i > 0 {
		m.m = append(m.m[:0], m.m[i:]...)
	}
	if len(m.m) < maxMarks/4 && m.every > baseMarkEvery {
		m.every /= 2
	}
}

// after returns the time of the first mark past cp.
func (m *marks) after(cp store.Checkpoint) (time.Time, bool) {
	for _, mk := range m.m {
		if before(cp, store.Checkpoint{Segment: mk.seg, Offset: mk.off}) {
			return mk.t, true
		}
	}
	return time.Time{}, false
}
