//go:build unix

package spool

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/sightline-analytics/sightline/store"
)

// TestKilledProcessLosesNoAcknowledgedAppend starts a child process that
// appends from several goroutines and reports each acknowledged append,
// SIGKILLs it mid-stream, and checks that a reopened spool holds every
// acknowledged record (unacknowledged ones may or may not be there).
func TestKilledProcessLosesNoAcknowledgedAppend(t *testing.T) {
	if os.Getenv("SPOOL_CRASH_CHILD") != "" {
		crashChild()
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledProcessLosesNoAcknowledgedAppend$")
	cmd.Env = append(os.Environ(), "SPOOL_CRASH_CHILD=1", "SPOOL_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "ack ") {
			continue
		}
		acked[strings.TrimPrefix(line, "ack ")] = true
		if len(acked) == 3000 && !killed {
			cmd.Process.Kill()
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("child exited after %d acknowledgements without being killed", len(acked))
	}

	s := openSpool(t, dir, Options{SegmentBytes: 256 << 10})
	found := map[string]bool{}
	for _, r := range readAll(t, s, store.Checkpoint{}) {
		id, _, _ := strings.Cut(string(r.payload), ";")
		if found[id] {
			t.Fatalf("record %s is in the spool twice", id)
		}
		found[id] = true
	}
	for id := range acked {
		if !found[id] {
			t.Fatalf("acknowledged record %s is missing after the crash (%d acknowledged, %d found)", id, len(acked), len(found))
		}
	}
	if n := s.Stats().CorruptRegions; n != 0 {
		t.Fatalf("%d corrupt regions after a process crash", n)
	}
	t.Logf("%d acknowledged before SIGKILL, %d records recovered", len(acked), len(found))
}

func crashChild() {
	s, err := Open(os.Getenv("SPOOL_CRASH_DIR"), Options{SegmentBytes: 256 << 10, Logger: quietLogger()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	// Bounded: the parent kills the child long before it runs out.
	for g := range 16 {
		wg.Go(func() {
			for i := range 5000 {
				p := payload(g, i, 100+(i*37)%4000)
				if err := s.Append(context.Background(), p); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				id, _, _ := strings.Cut(string(p), ";")
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %s\n", id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	os.Exit(0)
}

// TestFailedWriteIsRolledBack makes the disk refuse writes (a file-size
// limit, EFBIG, in a child process) mid-stream: the failed appends get an
// error, nothing half-written stays in the segment, the spool keeps serving
// once it has room, and every acknowledged record survives a reopen.
func TestFailedWriteIsRolledBack(t *testing.T) {
	if os.Getenv("SPOOL_EFBIG_CHILD") != "" {
		efbigChild()
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFailedWriteIsRolledBack$")
	cmd.Env = append(os.Environ(), "SPOOL_EFBIG_CHILD=1", "SPOOL_EFBIG_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var acked []string
	for _, line := range strings.Split(string(out), "\n") {
		if id, ok := strings.CutPrefix(line, "ack "); ok {
			acked = append(acked, id)
		}
	}
	if !strings.Contains(string(out), "refused ") || len(acked) < 2 {
		t.Fatalf("child did not see both acknowledged and refused appends:\n%s", out)
	}
	s := openSpool(t, dir, Options{SegmentBytes: 64 << 10})
	var got []string
	for _, r := range readAll(t, s, store.Checkpoint{}) {
		id, _, _ := strings.Cut(string(r.payload), ";")
		got = append(got, id)
	}
	if strings.Join(got, ",") != strings.Join(acked, ",") {
		t.Fatalf("after reopen read %v, acknowledged %v", got, acked)
	}
	if n := s.Stats().CorruptRegions; n != 0 {
		t.Fatalf("%d corrupt regions: a failed write left bytes behind", n)
	}
}

func efbigChild() {
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
		os.Exit(2)
	}
	signal.Ignore(syscall.SIGXFSZ)
	s, err := Open(os.Getenv("SPOOL_EFBIG_DIR"), Options{SegmentBytes: 64 << 10, Logger: quietLogger()})
	if err != nil {
		fail("open: %v", err)
	}
	// Files may not grow past 20 KiB from now on.
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 20 << 10, Max: 20 << 10}); err != nil {
		fail("setrlimit: %v", err)
	}
	refused := 0
	for i := range 12 {
		p := payload(0, i, 3000)
		id, _, _ := strings.Cut(string(p), ";")
		if err := s.Append(context.Background(), p); err != nil {
			if !errors.Is(err, syscall.EFBIG) {
				fail("append %d: unexpected error %v", i, err)
			}
			fmt.Printf("refused %s\n", id)
			refused++
			// Nothing of the refused record stays in the file.
			end := s.End()
			fi, err := os.Stat(filepath.Join(os.Getenv("SPOOL_EFBIG_DIR"), segmentName(end.Segment)))
			if err != nil || fi.Size() != end.Offset {
				fail("segment is %d bytes after a refused append, committed end %d (%v)", fi.Size(), end.Offset, err)
			}
			continue
		}
		fmt.Printf("ack %s\n", id)
	}
	if refused == 0 {
		fail("no append was refused")
	}
	// The segment was cut back to its committed size, which the limit
	// allows: small appends fit again.
	st := s.Stats()
	if st.CommitErrors != uint64(refused) {
		fail("CommitErrors = %d, refused %d", st.CommitErrors, refused)
	}
	fi, err := os.Stat(filepath.Join(os.Getenv("SPOOL_EFBIG_DIR"), segmentName(st.ActiveSegment)))
	if err != nil || fi.Size() > 20<<10 {
		fail("segment size after refused appends: %v %v", fi.Size(), err)
	}
	for i := 100; ; i++ {
		p := payload(0, i, 10)
		id, _, _ := strings.Cut(string(p), ";")
		if err := s.Append(context.Background(), p); err != nil {
			if i == 100 {
				fail("spool unusable after a failed commit: %v", err)
			}
			break
		}
		fmt.Printf("ack %s\n", id)
	}
	if err := s.Close(); err != nil {
		fail("close: %v", err)
	}
	os.Exit(0)
}
