package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sightline-analytics/sightline/store/duckdb"
)

// buildBinary builds the sightline binary once per test run.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sightline-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "sightline")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

type proc struct {
	cmd *exec.Cmd
	url string
	out *bytes.Buffer
}

var listenRE = regexp.MustCompile(`listening on (http://\S+)`)

// startServe starts `sightline serve` on a free loopback port and waits
// until it answers /api/health.
func startServe(t *testing.T, data string) *proc {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data, "--admin-key", "crash-admin", "--log-level", "warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := new(bytes.Buffer)
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	select {
	case u := <-urlc:
		p := &proc{cmd: cmd, url: u, out: logs}
		t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
		return p
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("serve did not start in 60 s; stderr:\n%s", logs)
	}
	return nil
}

func postJSON(url, auth string, body any) (*http.Response, []byte, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp, out, err
}

// TestCrashLosesNothing starts the real binary, posts batches from several
// goroutines, SIGKILLs it mid-stream, restarts it, and checks that every
// acknowledged event is stored exactly once.
func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	data := t.TempDir()
	p := startServe(t, data)
	resp, body, err := postJSON(p.url+"/api/projects", "crash-admin", map[string]string{"name": "crash"})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create project: %v %v %s", err, resp, body)
	}
	var proj struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &proj); err != nil {
		t.Fatal(err)
	}

	const clients = 6
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		sent  = map[string]bool{}
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	killed := make(chan struct{})
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil && i < 2000; i++ {
				batch := make([]map[string]any, 50)
				ids := make([]string, len(batch))
				for j := range batch {
					ids[j] = uuid.Must(uuid.NewV7()).String()
					batch[j] = map[string]any{
						"uuid": ids[j], "event": "$pageview", "distinct_id": fmt.Sprintf("client-%d", c),
						"timestamp": time.Now().UnixMilli(), "url": "https://shop.example/p/" + fmt.Sprint(j),
					}
				}
				mu.Lock()
				for _, id := range ids {
					sent[id] = true
				}
				mu.Unlock()
				resp, body, err := postJSON(p.url+"/api/capture", "", map[string]any{"token": proj.Token, "events": batch})
				if err != nil {
					select {
					case <-killed:
						return // the server is gone, as intended
					default:
						t.Errorf("capture before the kill: %v", err)
						return
					}
				}
				if resp.StatusCode != http.StatusOK {
					t.Errorf("capture: %s %s", resp.Status, body)
					return
				}
				var r struct{ Accepted int }
				json.Unmarshal(body, &r)
				if r.Accepted != len(batch) {
					t.Errorf("accepted %d of %d: %s", r.Accepted, len(batch), body)
					return
				}
				mu.Lock()
				for _, id := range ids {
					acked[id] = true
				}
				mu.Unlock()
			}
		}()
	}
	// Let traffic flow, then kill without warning.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 20_000 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(killed)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	wg.Wait()
	if t.Failed() {
		return
	}
	mu.Lock()
	nAcked := len(acked)
	mu.Unlock()
	if nAcked == 0 {
		t.Fatal("no event was acknowledged before the kill")
	}
	t.Logf("%d events acknowledged, %d sent before SIGKILL", nAcked, len(sent))

	// Restart: the spool replays what the store had not confirmed. A
	// graceful stop (SIGTERM) then drains the writer.
	p2 := startServe(t, data)
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p2.cmd.Wait(); err != nil {
		t.Fatalf("graceful stop: %v\n%s", err, p2.out)
	}

	st, err := duckdb.Open(filepath.Join(data, "events.duckdb"), duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows, err := st.Query(context.Background(), "SELECT uuid::VARCHAR, count(*) FROM events WHERE project_id = ? GROUP BY 1", proj.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	stored := map[string]bool{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("event %s stored %d times", id, n)
		}
		if !sent[strings.ToLower(id)] {
			t.Errorf("stored event %s was never sent", id)
		}
		stored[strings.ToLower(id)] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	missing := 0
	for id := range acked {
		if !stored[id] {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged events are missing after the crash (%d stored)\nsecond run logs:\n%s", missing, nAcked, len(stored), p2.out)
	}
	t.Logf("all %d acknowledged events stored exactly once (%d stored in all)", nAcked, len(stored))
}
