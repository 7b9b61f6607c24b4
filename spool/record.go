package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
)

// On-disk layout. A segment file starts with a header (magic and its own
// number, so that a renamed or foreign file is noticed) followed by records:
//
//	[length uint32 LE][crc32c uint32 LE][payload: length bytes]
//
// The CRC covers the length bytes as well as the payload: a corrupted length
// then fails the check instead of sending the reader off to a wrong offset,
// and a run of zeros (what a filesystem may leave after a crash) is never a
// valid record, because an empty payload is not allowed and the CRC of four
// zero bytes is not zero.
const (
	segmentMagic  = "SLSPOOL1"
	segHeaderSize = 16
	recHeaderSize = 8
	// maxPayload bounds one record so that a corrupted length can never ask
	// for an absurd allocation; it is far above any capture batch.
	maxPayload = 1 << 30
	segSuffix  = ".seg"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var errCorrupt = errors.New("corrupt record")

// recordCRC is the checksum stored in a record header: CRC-32C of the
// little-endian length followed by the payload. The length bytes go through
// the table by hand because a slice of them would escape (crc32 dispatches
// through a function value) and cost an allocation per append.
func recordCRC(length uint32, payload []byte) uint32 {
	c := ^uint32(0)
	for i := range 4 {
		c = castagnoli[byte(c)^byte(length>>(8*i))] ^ (c >> 8)
	}
	return crc32.Update(^c, castagnoli, payload)
}

// appendRecord frames payload onto dst.
func appendRecord(dst []byte, payload []byte, crc uint32) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, crc)
	return append(dst, payload...)
}

// checkRecord reports the total size of the valid record at the start of b,
// or 0 when b does not start with a complete, valid record.
func checkRecord(b []byte) int {
	if len(b) < recHeaderSize {
		return 0
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 || n > maxPayload || uint64(len(b)-recHeaderSize) < uint64(n) {
		return 0
	}
	if recordCRC(n, b[recHeaderSize:recHeaderSize+int(n)]) != binary.LittleEndian.Uint32(b[4:]) {
		return 0
	}
	return recHeaderSize + int(n)
}

// resync returns the smallest i > 0 at which a valid record starts in b, or
// -1 when there is none. It is how readers step over a corrupt region
// without giving up on the records after it; a false match needs a 32-bit
// CRC to agree by chance.
//
// Every offset whose length fits is checksummed over that length, which on
// adversarial bytes (every offset claiming half the buffer) is quadratic.
// A budget of checksummed bytes linear in len(b) bounds that: past it resync
// gives up (-1), so at worst the rest of a damaged segment is skipped.
// Real payloads rarely spend it: in JSON every 4-byte window reads as a
// length of hundreds of megabytes and is rejected without a checksum.
func resync(b []byte) int {
	budget := resyncBudget * int64(len(b))
	for i := 1; i+recHeaderSize < len(b); i++ {
		n := binary.LittleEndian.Uint32(b[i:])
		if n == 0 || n > maxPayload || uint64(n) > uint64(len(b)-i-recHeaderSize) {
			continue
		}
		if budget -= int64(n); budget < 0 {
			return -1
		}
		if checkRecord(b[i:]) > 0 {
			return i
		}
	}
	return -1
}

// resyncBudget is how many bytes resync may checksum per byte it searches.
const resyncBudget = 32

// scanResult describes the records found in an in-memory segment body.
type scanResult struct {
	records    int
	validEnd   int // offset just past the last valid record
	corrupt    int // corrupt regions stepped over between valid records
	firstBad   int // offset of the first corrupt region, -1 when none
	corruptLen int // bytes in those regions
}

// scanRecords walks b (a segment from offset base, usually segHeaderSize)
// and calls fn for each valid record, stepping over corrupt regions.
// Trailing bytes after the last valid record are not counted as corrupt:
// the caller decides whether they are a torn tail.
func scanRecords(b []byte, base int, fn func(off int, payload []byte)) scanResult {
	res := scanResult{validEnd: base, firstBad: -1}
	off := base
	for off < len(b) {
		if n := checkRecord(b[off:]); n > 0 {
			if fn != nil {
				fn(off, b[off+recHeaderSize:off+n])
			}
			res.records++
			off += n
			res.validEnd = off
			continue
		}
		skip := resync(b[off:])
		if skip < 0 {
			break
		}
		if res.firstBad < 0 {
			res.firstBad = off
		}
		res.corrupt++
		res.corruptLen += skip
		off += skip
	}
	return res
}

func segmentHeader(num uint64) []byte {
	h := make([]byte, segHeaderSize)
	copy(h, segmentMagic)
	binary.LittleEndian.PutUint64(h[8:], num)
	return h
}

// checkHeader explains what is wrong with a segment header, or returns nil.
func checkHeader(h []byte, num uint64) error {
	if len(h) < segHeaderSize {
		return fmt.Errorf("short header (%d bytes)", len(h))
	}
	if !bytes.Equal(h[:8], []byte(segmentMagic)) {
		return fmt.Errorf("bad magic %q", h[:8])
	}
	if got := binary.LittleEndian.Uint64(h[8:]); got != num {
		return fmt.Errorf("header names segment %d", got)
	}
	return nil
}

func segmentName(num uint64) string { return fmt.Sprintf("%020d%s", num, segSuffix) }

func parseSegmentName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, segSuffix)
	if !ok || len(s) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n > 0
}

// recordReader reads records from a segment through ReadAt. Payloads are
// carved out of an arena that is never rewritten, so a payload stays valid
// (and unchanged) after later reads: decoded events may alias it.
type recordReader struct {
	ra    io.ReaderAt
	hdr   [recHeaderSize]byte
	arena []byte
	// rest caches the bytes from restOff to the end of a damaged segment,
	// so that stepping over several damaged regions reads them once.
	rest    []byte
	restOff int64
}

// reset points the reader at another segment.
func (rr *recordReader) reset(ra io.ReaderAt) {
	rr.ra, rr.rest, rr.restOff = ra, nil, 0
}

const arenaChunk = 1 << 20

func (rr *recordReader) alloc(n int) []byte {
	if n > cap(rr.arena)-len(rr.arena) {
		if n >= arenaChunk/4 {
			return make([]byte, n)
		}
		rr.arena = make([]byte, 0, arenaChunk)
	}
	p := rr.arena[len(rr.arena) : len(rr.arena)+n : len(rr.arena)+n]
	rr.arena = rr.arena[:len(rr.arena)+n]
	return p
}

// read returns the payload of the record at off and the offset just past
// it. limit is the end of the readable data; a record that does not fit
// below it, or whose CRC fails, is errCorrupt.
func (rr *recordReader) read(off, limit int64) ([]byte, int64, error) {
	if limit-off < recHeaderSize {
		return nil, off, errCorrupt
	}
	if _, err := rr.ra.ReadAt(rr.hdr[:], off); err != nil {
		return nil, off, fmt.Errorf("read record header at %d: %w", off, err)
	}
	n := binary.LittleEndian.Uint32(rr.hdr[:])
	if n == 0 || n > maxPayload || int64(n) > limit-off-recHeaderSize {
		return nil, off, errCorrupt
	}
	p := rr.alloc(int(n))
	if _, err := rr.ra.ReadAt(p, off+recHeaderSize); err != nil {
		return nil, off, fmt.Errorf("read record at %d: %w", off, err)
	}
	if recordCRC(n, p) != binary.LittleEndian.Uint32(rr.hdr[4:]) {
		// Give the arena space back: this payload is never handed out.
		if len(rr.arena) >= int(n) && &rr.arena[len(rr.arena)-int(n):][0] == &p[0] {
			rr.arena = rr.arena[:len(rr.arena)-int(n)]
		}
		return nil, off, errCorrupt
	}
	return p, off + recHeaderSize + int64(n), nil
}

// skip returns the offset of the first valid record after the corrupt one
// at off, or limit when none follows.
func (rr *recordReader) skip(off, limit int64) (int64, error) {
	if rr.rest == nil || off < rr.restOff || rr.restOff+int64(len(rr.rest)) != limit {
		rr.rest = make([]byte, limit-off)
		rr.restOff = off
		if _, err := rr.ra.ReadAt(rr.rest, off); err != nil && !errors.Is(err, io.EOF) {
			rr.rest = nil
			return off, fmt.Errorf("read segment from %d: %w", off, err)
		}
	}
	if i := resync(rr.rest[off-rr.restOff:]); i > 0 {
		return off + int64(i), nil
	}
	rr.rest = nil
	return limit, nil
}
