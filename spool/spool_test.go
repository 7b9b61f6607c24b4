package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline/store"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func openSpool(t testing.TB, dir string, opts Options) *Spool {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// payload makes a recognizable payload of the given size for writer g's
// i-th append.
func payload(g, i, size int) []byte {
	p := fmt.Appendf(nil, "g%03d-i%06d;", g, i)
	for len(p) < size {
		p = append(p, byte('a'+(len(p)+i)%26))
	}
	return p
}

type rec struct {
	payload []byte
	cp      store.Checkpoint
}

// readAll reads every committed record after from without waiting.
func readAll(t testing.TB, s *Spool, from store.Checkpoint) []rec {
	t.Helper()
	r := s.NewReader(from)
	defer r.Close()
	var out []rec
	for {
		p, cp, err := r.poll()
		if errors.Is(err, errNoData) {
			return out
		}
		if err != nil {
			t.Fatalf("read after %d records: %v", len(out), err)
		}
		out = append(out, rec{payload: p, cp: cp})
	}
}

func payloads(rs []rec) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r.payload)
	}
	return out
}

func appendAll(t testing.TB, s *Spool, ps ...[]byte) {
	t.Helper()
	for i, p := range ps {
		if err := s.Append(context.Background(), p); err != nil {
			t.Fatalf("Append #%d: %v", i, err)
		}
	}
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

// copyDir copies the spool's files as they are on disk, which is what a
// machine that lost power would find.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestConcurrentAppendsReadBackOnceInOrder(t *testing.T) {
	const writers, perWriter = 24, 150
	dir := t.TempDir()
	s := openSpool(t, dir, Options{SegmentBytes: 64 << 10})
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Go(func() {
			for i := range perWriter {
				if err := s.Append(context.Background(), payload(g, i, 50+(g*131+i*17)%3000)); err != nil {
					errs <- fmt.Errorf("writer %d append %d: %w", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	recs := readAll(t, s, store.Checkpoint{})
	if len(recs) != writers*perWriter {
		t.Fatalf("read %d records, want %d", len(recs), writers*perWriter)
	}
	next := make([]int, writers)
	var prev store.Checkpoint
	for _, r := range recs {
		var g, i int
		if _, err := fmt.Sscanf(string(r.payload), "g%03d-i%06d;", &g, &i); err != nil {
			t.Fatalf("unrecognizable payload %.30q: %v", r.payload, err)
		}
		if i != next[g] {
			t.Fatalf("writer %d: read append %d, want %d (lost, duplicated or reordered)", g, i, next[g])
		}
		if !bytes.Equal(r.payload, payload(g, i, len(r.payload))) {
			t.Fatalf("writer %d append %d: payload damaged", g, i)
		}
		next[g]++
		if !before(prev, r.cp) {
			t.Fatalf("checkpoint %v does not follow %v", r.cp, prev)
		}
		prev = r.cp
	}
	st := s.Stats()
	if st.Appended != writers*perWriter || st.Committed != writers*perWriter {
		t.Errorf("Stats appended=%d committed=%d, want %d", st.Appended, st.Committed, writers*perWriter)
	}
	if st.Segments < 3 {
		t.Errorf("expected rollover across several 64 KiB segments, got %d", st.Segments)
	}
	if st.Fsyncs == 0 || st.Fsyncs > st.Committed+2*uint64(st.Segments) {
		t.Errorf("fsyncs = %d for %d commits", st.Fsyncs, st.Committed)
	}
	t.Logf("%d appends, %d fsyncs, %d segments", st.Committed, st.Fsyncs, st.Segments)
	if got := prev; got != s.End() {
		t.Errorf("last record ends at %v, End() = %v", got, s.End())
	}
}

func TestReopenKeepsIDRecordsAndNumbering(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{SegmentBytes: 1 << 10, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	id := s.ID()
	for i := range 10 {
		appendAll(t, s, payload(0, i, 300))
	}
	beforeClose := readAll(t, s, store.Checkpoint{})
	active := s.Stats().ActiveSegment
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(context.Background(), []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}

	s2 := openSpool(t, dir, Options{SegmentBytes: 1 << 10})
	if s2.ID() != id {
		t.Fatalf("ID changed across reopen: %q then %q", id, s2.ID())
	}
	after := readAll(t, s2, store.Checkpoint{})
	if !slices.Equal(payloads(beforeClose), payloads(after)) {
		t.Fatalf("records changed across reopen:\n%q\n%q", payloads(beforeClose), payloads(after))
	}
	appendAll(t, s2, []byte("after reopen"))
	all := readAll(t, s2, store.Checkpoint{})
	last := all[len(all)-1]
	if string(last.payload) != "after reopen" || last.cp.Segment < active {
		t.Fatalf("new record %q at %v; active segment before reopen was %d", last.payload, last.cp, active)
	}
	// Release everything: the active segment survives, so numbering
	// continues after another reopen instead of restarting at 1.
	if err := s2.Release(last.cp); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	s3 := openSpool(t, dir, Options{SegmentBytes: 1 << 10})
	appendAll(t, s3, []byte("third life"))
	rs := readAll(t, s3, last.cp)
	if len(rs) != 1 || string(rs[0].payload) != "third life" || !before(last.cp, rs[0].cp) {
		t.Fatalf("after release and reopen, read %v from %v", rs, last.cp)
	}
}

func TestSecondOpenOfADirectoryFails(t *testing.T) {
	dir := t.TempDir()
	openSpool(t, dir, Options{})
	if s, err := Open(dir, Options{Logger: quietLogger()}); err == nil {
		s.Close()
		t.Fatal("a second Open of a spool in use succeeded")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open: %v", err)
	}
}

// TestTornTailAtEveryOffset simulates a crash during the write of the final
// record: for every length the final record can have been cut to, Open must
// recover exactly the earlier records and accept new ones after them.
func TestTornTailAtEveryOffset(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, Options{})
	var want []string
	for i := range 4 {
		p := payload(1, i, 40+i*7)
		want = append(want, string(p))
		appendAll(t, s, p)
	}
	all := readAll(t, s, store.Checkpoint{})
	final := all[len(all)-1].cp
	start := all[len(all)-2].cp.Offset
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	segPath := filepath.Join(dir, segmentName(final.Segment))
	orig, err := os.ReadFile(segPath)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(orig)) != final.Offset {
		t.Fatalf("segment is %d bytes, last record ends at %d", len(orig), final.Offset)
	}

	for cut := start; cut < final.Offset; cut++ {
		crashed := copyDir(t, dir)
		if err := os.WriteFile(filepath.Join(crashed, segmentName(final.Segment)), orig[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		s := openSpool(t, crashed, Options{})
		got := payloads(readAll(t, s, store.Checkpoint{}))
		if !slices.Equal(got, want[:3]) {
			t.Fatalf("cut at %d: recovered %q, want %q", cut, got, want[:3])
		}
		if fi, err := os.Stat(filepath.Join(crashed, segmentName(final.Segment))); err != nil || fi.Size() != start {
			t.Fatalf("cut at %d: segment not cut back to %d after recovery (%v, %v)", cut, start, fi.Size(), err)
		}
		appendAll(t, s, []byte("next"))
		got = payloads(readAll(t, s, store.Checkpoint{}))
		if !slices.Equal(got, append(slices.Clone(want[:3]), "next")) {
			t.Fatalf("cut at %d: after a new append read %q", cut, got)
		}
		if n := s.Stats().CorruptRegions; n != 0 {
			t.Fatalf("cut at %d: a torn tail counted as %d corrupt regions", cut, n)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestGarbageTail(t *testing.T) {
	tails := []struct {
		name string
		mod  func(seg []byte, lastStart int) []byte
	}{
		{"zeros after the last record", func(b []byte, _ int) []byte { return append(b, make([]byte, 4096)...) }},
		{"random bytes", func(b []byte, _ int) []byte {
			return append(b, []byte("\x17\x00\x00\x00\xde\xad\xbe\xefnot a record at all, just noise")...)
		}},
		{"final record's payload flipped", func(b []byte, last int) []byte {
			b[last+recHeaderSize+3] ^= 0x40
			return b
		}},
		{"final record's length grown", func(b []byte, last int) []byte {
			b[last] += 5
			return b
		}},
		{"final record's length zeroed, its bytes left", func(b []byte, last int) []byte {
			copy(b[last:], []byte{0, 0, 0, 0})
			return b
		}},
		{"a huge length", func(b []byte, _ int) []byte { return append(b, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5) }},
	}
	for _, tc := range tails {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openSpool(t, dir, Options{})
			want := []string{"first", "second", "third"}
			for _, p := range want {
				appendAll(t, s, []byte(p))
			}
			appendAll(t, s, []byte("the final record, which the crash damages"))
			all := readAll(t, s, store.Checkpoint{})
			lastStart := int(all[2].cp.Offset)
			seg := all[3].cp.Segment
			s.Close()

			path := filepath.Join(dir, segmentName(seg))
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			modified := tc.mod(b, lastStart)
			if err := os.WriteFile(path, modified, 0o644); err != nil {
				t.Fatal(err)
			}
			s2 := openSpool(t, dir, Options{})
			got := payloads(readAll(t, s2, store.Checkpoint{}))
			// Damaging the final record loses it; garbage after it must
			// not lose it.
			if !strings.HasPrefix(tc.name, "final") {
				want = append(want, "the final record, which the crash damages")
			}
			if !slices.Equal(got, want) {
				t.Fatalf("recovered %q, want %q", got, want)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if end := all[len(want)-1].cp.Offset; fi.Size() != end {
				t.Fatalf("segment is %d bytes after recovery, want it cut to %d", fi.Size(), end)
			}
		})
	}
}

func TestCrashWithoutCloseKeepsAcknowledged(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, Options{SegmentBytes: 8 << 10})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var acked []string
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				p := payload(g, i, 200)
				if err := s.Append(context.Background(), p); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, string(p))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// Power loss: the files as they are now, without Close.
	crashed := copyDir(t, dir)
	s2 := openSpool(t, crashed, Options{SegmentBytes: 8 << 10})
	got := payloads(readAll(t, s2, store.Checkpoint{}))
	slices.Sort(got)
	slices.Sort(acked)
	if !slices.Equal(got, acked) {
		t.Fatalf("after the crash %d records, %d were acknowledged", len(got), len(acked))
	}
	if s2.ID() != s.ID() {
		t.Fatalf("ID %q after crash, was %q", s2.ID(), s.ID())
	}
}

// TestCorruptionInSealedSegment: damage inside an acknowledged, sealed
// segment loses only the damaged records; the reader reports it and goes on.
func TestCorruptionInSealedSegment(t *testing.T) {
	cases := []struct {
		name string
		// damage gets the segment and the offsets of its records, and
		// returns the indexes (within the segment) of records lost.
		damage func(b []byte, starts []int) []int
	}{
		{"payload byte flipped", func(b []byte, s []int) []int {
			b[s[2]+recHeaderSize+10] ^= 1
			return []int{2}
		}},
		{"length byte flipped", func(b []byte, s []int) []int {
			b[s[1]+1] ^= 0x10
			return []int{1}
		}},
		{"crc byte flipped", func(b []byte, s []int) []int {
			b[s[3]+5] ^= 0x80
			return []int{3}
		}},
		{"a zeroed range over two records", func(b []byte, s []int) []int {
			clear(b[s[1]+20 : s[2]+20])
			return []int{1, 2}
		}},
		{"segment header damaged", func(b []byte, s []int) []int {
			copy(b, "XXXXXXXX")
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openSpool(t, dir, Options{SegmentBytes: 1500})
			for i := range 20 {
				appendAll(t, s, payload(0, i, 200))
			}
			all := readAll(t, s, store.Checkpoint{})
			s.Close()
			// Damage the first segment, which is sealed.
			seg := all[0].cp.Segment
			var starts []int
			var idx []int
			for i, r := range all {
				if r.cp.Segment == seg {
					starts = append(starts, int(r.cp.Offset)-len(r.payload)-recHeaderSize)
					idx = append(idx, i)
				}
			}
			if len(starts) < 5 || all[len(all)-1].cp.Segment == seg {
				t.Fatalf("setup: %d records in segment %d", len(starts), seg)
			}
			path := filepath.Join(dir, segmentName(seg))
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lost := tc.damage(b, starts)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}

			s2 := openSpool(t, dir, Options{SegmentBytes: 1500})
			var want []string
			for i, r := range all {
				if i < len(idx) && slices.Contains(lost, i) {
					continue
				}
				want = append(want, string(r.payload))
			}
			got := payloads(readAll(t, s2, store.Checkpoint{}))
			if !slices.Equal(got, want) {
				t.Fatalf("read %d records, want %d (all but %v)", len(got), len(want), lost)
			}
			if n := s2.Stats().CorruptRegions; (n > 0) != (len(lost) > 0) {
				t.Fatalf("CorruptRegions = %d with %d records lost", n, len(lost))
			}
		})
	}
}

func TestFullThenReleaseFreesRoom(t *testing.T) {
	dir := t.TempDir()
	const maxBytes = 20 << 10
	s := openSpool(t, dir, Options{SegmentBytes: 4 << 10, MaxBytes: maxBytes})
	p := bytes.Repeat([]byte("x"), 1000)
	n := 0
	for {
		err := s.Append(context.Background(), p)
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n > 100 {
			t.Fatal("never full")
		}
	}
	st := s.Stats()
	if st.UnreleasedBytes > maxBytes+segHeaderSize || st.UnreleasedBytes+1008 <= maxBytes {
		t.Fatalf("full at %d unreleased bytes (limit %d, %d segments)", st.UnreleasedBytes, maxBytes, st.Segments)
	}
	if st.FullRejections != 1 {
		t.Fatalf("FullRejections = %d", st.FullRejections)
	}
	if err := s.Append(context.Background(), make([]byte, maxBytes)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized append: %v, want ErrTooLarge", err)
	}
	files := len(segFiles(t, dir))

	recs := readAll(t, s, store.Checkpoint{})
	half := recs[len(recs)/2].cp
	if err := s.Release(half); err != nil {
		t.Fatal(err)
	}
	if got := len(segFiles(t, dir)); got >= files {
		t.Fatalf("Release kept %d of %d segment files", got, files)
	}
	if got := s.Stats().Segments; got != len(segFiles(t, dir)) {
		t.Fatalf("Stats().Segments = %d, %d files", got, len(segFiles(t, dir)))
	}
	// Released records are not read again from the released checkpoint.
	if got := readAll(t, s, half); len(got) != len(recs)-len(recs)/2-1 {
		t.Fatalf("after release read %d, want %d", len(got), len(recs)-len(recs)/2-1)
	}
	freed := 0
	for s.Append(context.Background(), p) == nil {
		freed++
	}
	if freed != len(recs)/2+1 {
		t.Fatalf("release of %d records made room for %d", len(recs)/2+1, freed)
	}
	// Releasing backwards is ignored, and an old checkpoint still reads
	// from the oldest segment that remains.
	if err := s.Release(recs[0].cp); err != nil {
		t.Fatal(err)
	}
	oldest := slices.IndexFunc(recs, func(r rec) bool { return r.cp.Segment == half.Segment })
	if got := readAll(t, s, recs[0].cp); len(got) == 0 || string(got[0].payload) != string(recs[oldest].payload) {
		t.Fatalf("reading from a released checkpoint got %d records", len(got))
	}
	if err := s.Release(store.Checkpoint{Spool: "someone else", Segment: 99}); err == nil {
		t.Fatal("Release of another spool's checkpoint succeeded")
	}
}

func TestRolloverAndOversizedRecords(t *testing.T) {
	dir := t.TempDir()
	const segBytes = 4 << 10
	s := openSpool(t, dir, Options{SegmentBytes: segBytes})
	sizes := []int{1000, 1000, 1000, 1000, 10_000, 10, 3000, 3000, 5000, 1}
	var want []string
	for i, n := range sizes {
		p := payload(2, i, n)
		want = append(want, string(p))
		appendAll(t, s, p)
	}
	recs := readAll(t, s, store.Checkpoint{})
	if got := payloads(recs); !slices.Equal(got, want) {
		t.Fatalf("read back %d records, want %d", len(got), len(want))
	}
	for _, path := range segFiles(t, dir) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > segBytes {
			// Only a lone oversized record may exceed the segment size.
			b, _ := os.ReadFile(path)
			res := scanRecords(b, segHeaderSize, nil)
			if res.records != 1 {
				t.Errorf("%s: %d bytes with %d records", filepath.Base(path), fi.Size(), res.records)
			}
		}
	}
	for i := 1; i < len(recs); i++ {
		if !before(recs[i-1].cp, recs[i].cp) {
			t.Fatalf("checkpoints out of order: %v then %v", recs[i-1].cp, recs[i].cp)
		}
	}
	if st := s.Stats(); st.Segments < 5 {
		t.Fatalf("%d segments for %d bytes in 4 KiB segments", st.Segments, 27_011)
	}
	// A reader started from any record's checkpoint reads exactly the rest.
	for i, r := range recs {
		if got := payloads(readAll(t, s, r.cp)); !slices.Equal(got, want[i+1:]) {
			t.Fatalf("from record %d read %d records, want %d", i, len(got), len(want)-i-1)
		}
	}
}

func TestNextWaitsForCommit(t *testing.T) {
	s := openSpool(t, t.TempDir(), Options{})
	r := s.NewReader(store.Checkpoint{})
	defer r.Close()
	type result struct {
		p   []byte
		err error
	}
	got := make(chan result, 1)
	go func() {
		p, _, err := r.Next(context.Background())
		got <- result{p, err}
	}()
	appendAll(t, s, []byte("hello"))
	res := <-got
	if res.err != nil || string(res.p) != "hello" {
		t.Fatalf("Next = %q, %v", res.p, res.err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := r.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with nothing to read and a cancelled context = %v", err)
	}

	appendAll(t, s, []byte("last"))
	go func() {
		s.Close()
	}()
	p, _, err := r.Next(context.Background())
	if err != nil || string(p) != "last" {
		t.Fatalf("Next after Close started = %q, %v", p, err)
	}
	if _, _, err := r.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next at the end of a closed spool = %v, want ErrClosed", err)
	}
}

func TestReaderRejectsForeignCheckpoint(t *testing.T) {
	s := openSpool(t, t.TempDir(), Options{})
	appendAll(t, s, []byte("x"))
	r := s.NewReader(store.Checkpoint{Spool: "0123", Segment: 1, Offset: 16})
	defer r.Close()
	if _, _, err := r.Next(context.Background()); err == nil || !strings.Contains(err.Error(), "belongs to spool") {
		t.Fatalf("Next with another spool's checkpoint = %v", err)
	}
}

func TestCheckpointAheadOfSpoolReplaysAll(t *testing.T) {
	s := openSpool(t, t.TempDir(), Options{})
	appendAll(t, s, []byte("a"), []byte("b"))
	got := payloads(readAll(t, s, store.Checkpoint{Spool: s.ID(), Segment: 50, Offset: 100}))
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("read %q", got)
	}
}

func TestLag(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := openSpool(t, t.TempDir(), Options{Now: clock})
	if b, age := s.Lag(store.Checkpoint{}); b != 0 || age != 0 {
		t.Fatalf("empty spool lag = %d, %v", b, age)
	}
	appendAll(t, s, []byte("12345"))
	first := s.End()
	now = now.Add(time.Minute)
	appendAll(t, s, []byte("678"))
	now = now.Add(time.Minute)
	b, age := s.Lag(store.Checkpoint{})
	if b != 5+3+2*recHeaderSize || age != 2*time.Minute {
		t.Fatalf("lag from start = %d bytes, %v; want 24 bytes, 2m", b, age)
	}
	b, age = s.Lag(first)
	if b != 3+recHeaderSize || age != time.Minute {
		t.Fatalf("lag after the first record = %d bytes, %v; want 11 bytes, 1m", b, age)
	}
	if b, age := s.Lag(s.End()); b != 0 || age != 0 {
		t.Fatalf("lag at the end = %d, %v", b, age)
	}
}

func TestMarksStayBounded(t *testing.T) {
	var m marks
	m.init()
	t0 := time.Unix(0, 0)
	for i := range 100_000 {
		m.add(store.Checkpoint{Segment: 1, Offset: int64(i + 1)}, t0.Add(time.Duration(i)*time.Second))
	}
	if len(m.m) > maxMarks {
		t.Fatalf("%d marks", len(m.m))
	}
	// The first record's age is still known to within the resolution.
	got, ok := m.after(store.Checkpoint{Segment: 1, Offset: 0})
	if !ok || got.After(t0.Add(m.every)) {
		t.Fatalf("first mark at %v (resolution %v)", got, m.every)
	}
	every := m.every
	m.dropUpTo(store.Checkpoint{Segment: 1, Offset: 99_990})
	got, ok = m.after(store.Checkpoint{Segment: 1, Offset: 99_990})
	if !ok || got.Before(t0.Add(99_990*time.Second-every)) {
		t.Fatalf("mark after release at %v", got)
	}
}

func TestCorruptIDIsReported(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, dir, Options{})
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, idFile), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{Logger: quietLogger()}); err == nil || !strings.Contains(err.Error(), "not a spool ID") {
		t.Fatalf("Open with a damaged ID file = %v", err)
	}
}

func TestAppendRejectsEmptyPayload(t *testing.T) {
	s := openSpool(t, t.TempDir(), Options{})
	if err := s.Append(context.Background(), nil); err == nil {
		t.Fatal("empty payload accepted")
	}
}

func TestAppendCopiesPayload(t *testing.T) {
	s := openSpool(t, t.TempDir(), Options{})
	p := []byte("original")
	appendAll(t, s, p)
	copy(p, "mutated!")
	if got := payloads(readAll(t, s, store.Checkpoint{})); got[0] != "original" {
		t.Fatalf("spooled payload changed with the caller's buffer: %q", got[0])
	}
}

func TestReadPayloadsStayValid(t *testing.T) {
	s := openSpool(t, t.TempDir(), Options{})
	var want []string
	for i := range 300 {
		p := payload(3, i, 5000)
		want = append(want, string(p))
		appendAll(t, s, p)
	}
	// Keep every payload across later reads, as decoded events may.
	recs := readAll(t, s, store.Checkpoint{})
	if got := payloads(recs); !slices.Equal(got, want) {
		t.Fatal("payloads changed after later reads")
	}
}

var _ io.ReaderAt = (*os.File)(nil)
