package spool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/sightline-analytics/sightline/store"
)

// errNoData is returned by poll when nothing committed lies past the
// reader's position.
var errNoData = errors.New("spool: no committed data")

// Reader reads committed records in order, starting after a checkpoint. A
// Reader is not safe for concurrent use; open one per consumer.
type Reader struct {
	s    *Spool
	from store.Checkpoint
	err  error // sticky

	positioned bool
	seg        uint64
	off        int64
	f          *os.File
	fseg       uint64
	rr         recordReader
}

// NewReader returns a reader of the records after from. A checkpoint in a
// segment that was already released (or the zero checkpoint) starts at the
// oldest remaining segment.
func (s *Spool) NewReader(from store.Checkpoint) *Reader {
	r := &Reader{s: s, from: from}
	if from.Spool != "" && from.Spool != s.id {
		r.err = fmt.Errorf("spool: reader: checkpoint belongs to spool %q, this is spool %q", from.Spool, s.id)
	}
	return r
}

// Next returns the next record's payload and the checkpoint just past it,
// blocking until a record is committed or ctx ends. It only returns records
// that are fsync'd. The payload is never modified afterwards, so the caller
// may keep it (decoded events may alias it). After the spool is closed and
// everything committed has been read, Next returns ErrClosed.
func (r *Reader) Next(ctx context.Context) ([]byte, store.Checkpoint, error) {
	for {
		ch, stopped := r.s.watch()
		p, cp, err := r.poll()
		if !errors.Is(err, errNoData) {
			return p, cp, err
		}
		if stopped {
			return nil, store.Checkpoint{}, ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, store.Checkpoint{}, ctx.Err()
		}
	}
}

// Position is the checkpoint just past the last record returned (or the
// starting checkpoint before the first).
func (r *Reader) Position() store.Checkpoint {
	if !r.positioned {
		return r.from
	}
	return store.Checkpoint{Spool: r.s.id, Segment: r.seg, Offset: r.off}
}

// poll returns the next committed record without waiting, or errNoData.
func (r *Reader) poll() ([]byte, store.Checkpoint, error) {
	if r.err != nil {
		return nil, store.Checkpoint{}, r.err
	}
	if !r.positioned {
		r.seg, r.off = r.s.startOf(r.from)
		r.positioned = true
	}
	for {
		size, sealed, next, ok := r.s.segState(r.seg)
		if !ok {
			if next == 0 {
				return nil, store.Checkpoint{}, errNoData
			}
			// Released under us: everything in it was confirmed.
			r.seg, r.off = next, segHeaderSize
			continue
		}
		if r.off < size {
			if err := r.open(); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // released between segState and open
				}
				return nil, store.Checkpoint{}, err
			}
			p, end, err := r.rr.read(r.off, size)
			if err == nil {
				r.off = end
				return p, store.Checkpoint{Spool: r.s.id, Segment: r.seg, Offset: end}, nil
			}
			if !errors.Is(err, errCorrupt) {
				return nil, store.Checkpoint{}, fmt.Errorf("spool: segment %d: %w", r.seg, err)
			}
			to, err := r.rr.skip(r.off, size)
			if err != nil {
				return nil, store.Checkpoint{}, fmt.Errorf("spool: segment %d: %w", r.seg, err)
			}
			r.s.corruptRegions.Add(1)
			r.s.corruptBytes.Add(uint64(to - r.off))
			r.s.log.Error("spool: corrupt data in a committed segment; skipping to the next valid record",
				"segment", r.seg, "offset", r.off, "skipped_bytes", to-r.off)
			r.off = to
			continue
		}
		if !sealed {
			return nil, store.Checkpoint{}, errNoData
		}
		r.seg, r.off = next, segHeaderSize
	}
}

func (r *Reader) open() error {
	if r.f != nil && r.fseg == r.seg {
		return nil
	}
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	f, err := os.Open(r.s.segPath(r.seg))
	if err != nil {
		return fmt.Errorf("spool: open segment %d: %w", r.seg, err)
	}
	r.f, r.fseg = f, r.seg
	r.rr.reset(f)
	return nil
}

// Close releases the reader's file.
func (r *Reader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
