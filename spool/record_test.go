package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

func frame(payloads ...string) []byte {
	var b []byte
	for _, p := range payloads {
		b = appendRecord(b, []byte(p), recordCRC(uint32(len(p)), []byte(p)))
	}
	return b
}

func TestCheckRecord(t *testing.T) {
	valid := frame("hello")
	tests := []struct {
		name string
		b    []byte
		want int
	}{
		{"valid", valid, len(valid)},
		{"valid with trailing bytes", append(frame("hello"), 1, 2, 3), len(valid)},
		{"empty", nil, 0},
		{"header only", valid[:recHeaderSize], 0},
		{"one byte short", valid[:len(valid)-1], 0},
		{"zeros", make([]byte, 64), 0},
		{"zero length with the right crc", binary.LittleEndian.AppendUint32(make([]byte, 4), recordCRC(0, nil)), 0},
		{"payload flipped", func() []byte { b := frame("hello"); b[9] ^= 1; return b }(), 0},
		{"crc flipped", func() []byte { b := frame("hello"); b[4] ^= 1; return b }(), 0},
		{"length shortened", func() []byte { b := frame("hello"); b[0] = 4; return b }(), 0},
		{"huge length", append([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, make([]byte, 32)...), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkRecord(tc.b); got != tc.want {
				t.Fatalf("checkRecord = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestScanRecordsResyncs(t *testing.T) {
	good := frame("one", "two")
	bad := []byte("\x03\x00\x00\x00garbage!")
	tail := frame("three")
	b := append(append(append([]byte{}, good...), bad...), tail...)
	var got []string
	res := scanRecords(b, 0, func(_ int, p []byte) { got = append(got, string(p)) })
	if want := []string{"one", "two", "three"}; !equalStrings(got, want) {
		t.Fatalf("scanned %q, want %q", got, want)
	}
	if res.corrupt != 1 || res.firstBad != len(good) || res.corruptLen != len(bad) || res.validEnd != len(b) {
		t.Fatalf("scan result %+v", res)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzRecordReader feeds arbitrary bytes to both record readers (the
// in-memory scan used by recovery, and the ReadAt reader with resync used by
// Reader). Neither may panic, return a record whose CRC fails, or disagree
// with the other.
func FuzzRecordReader(f *testing.F) {
	f.Add(frame("a", "bc", "def"))
	f.Add(frame(`{"events":[{"uuid":"0190"}]}`))
	f.Add(append(frame("ok"), 0xde, 0xad))
	f.Add(append(append(frame("x"), "junkjunk"...), frame("y")...))
	f.Add(make([]byte, 40))
	f.Add(frame("hello")[:7])
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, b []byte) {
		type found struct {
			off int
			p   string
		}
		var scanned []found
		res := scanRecords(b, 0, func(off int, p []byte) {
			if checkRecord(b[off:]) != recHeaderSize+len(p) {
				t.Fatalf("scan returned an invalid record at %d", off)
			}
			scanned = append(scanned, found{off, string(p)})
		})
		if res.records != len(scanned) || res.validEnd > len(b) {
			t.Fatalf("scan result %+v for %d records in %d bytes", res, len(scanned), len(b))
		}

		var rr recordReader
		rr.reset(bytes.NewReader(b))
		limit := int64(len(b))
		var read []found
		for off := int64(0); off < limit; {
			p, end, err := rr.read(off, limit)
			if err == nil {
				if end <= off || end > limit {
					t.Fatalf("read at %d ended at %d", off, end)
				}
				n := binary.LittleEndian.Uint32(b[off:])
				if int(n) != len(p) || recordCRC(n, p) != binary.LittleEndian.Uint32(b[off+4:]) || !bytes.Equal(p, b[off+recHeaderSize:end]) {
					t.Fatalf("read returned a record at %d that does not check out", off)
				}
				read = append(read, found{int(off), string(p)})
				off = end
				continue
			}
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("read at %d: %v", off, err)
			}
			to, err := rr.skip(off, limit)
			if err != nil || to <= off || to > limit {
				t.Fatalf("skip from %d = %d, %v", off, to, err)
			}
			off = to
		}
		if len(read) != len(scanned) {
			t.Fatalf("ReadAt reader found %d records, scan found %d", len(read), len(scanned))
		}
		for i := range read {
			if read[i] != scanned[i] {
				t.Fatalf("record %d: reader %v, scan %v", i, read[i], scanned[i])
			}
		}
	})
}

// TestResyncIsBoundedOnAdversarialBytes: every offset claims a record of
// half the buffer; checking each would be quadratic.
func TestResyncIsBoundedOnAdversarialBytes(t *testing.T) {
	const n = 4 << 20
	b := make([]byte, n)
	for i := 0; i+4 <= n; i += 4 {
		binary.LittleEndian.PutUint32(b[i:], n/2)
	}
	// Without the budget this checksums about 2 TB; with it, 128 MiB.
	if i := resync(b); i != -1 {
		t.Fatalf("resync found a record at %d in adversarial bytes", i)
	}
	// The budget does not hide a real record after ordinary damage.
	damaged := append(make([]byte, 100_000), frame("found")...)
	for i := range 100_000 {
		damaged[i] = byte(i * 7)
	}
	if i := resync(damaged); i != 100_000 {
		t.Fatalf("resync = %d, want 100000", i)
	}
}

func TestRecordCRCIsCRC32COfLengthAndPayload(t *testing.T) {
	for _, p := range []string{"x", "hello", string(make([]byte, 70_000))} {
		b := binary.LittleEndian.AppendUint32(nil, uint32(len(p)))
		want := crc32.Checksum(append(b, p...), crc32.MakeTable(crc32.Castagnoli))
		if got := recordCRC(uint32(len(p)), []byte(p)); got != want {
			t.Fatalf("recordCRC(%d bytes) = %08x, want %08x", len(p), got, want)
		}
	}
}

func TestAppendDoesNotAllocatePerRecord(t *testing.T) {
	p := []byte("payload")
	allocs := testing.AllocsPerRun(1000, func() {
		_ = recordCRC(uint32(len(p)), p)
	})
	if allocs != 0 {
		t.Fatalf("recordCRC allocates %.1f times", allocs)
	}
}
