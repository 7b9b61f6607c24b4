package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline"
	"github.com/sightline-analytics/sightline/internal/servicetest"
)

// TestSeedCommand: `sightline seed` creates its project once, and the same
// seed on the same day is the same traffic, so seeding again stores nothing
// twice; another seed adds to it.
func TestSeedCommand(t *testing.T) {
	dir := t.TempDir()
	seed := func(args ...string) seedResult {
		t.Helper()
		return runJSON[seedResult](t, append([]string{"seed", "--events", "3000", "--days", "3", "--data", dir, "--json"}, args...)...)
	}
	count := func(project int64) int64 {
		t.Helper()
		app, err := sightline.New(sightline.Config{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer app.Close()
		n, err := app.Store().Count(context.Background(), project)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	first := seed()
	if first.Events < 2000 || first.Sessions == 0 || first.Token == "" || first.APIKey == "" || first.Project != "Demo shop" {
		t.Fatalf("first seed: %+v", first)
	}
	if n := count(first.ProjectID); n != int64(first.Events) {
		t.Fatalf("after the first seed the store has %d events, the command reported %d", n, first.Events)
	}

	again := seed()
	if again.ProjectID != first.ProjectID || again.Token != first.Token {
		t.Errorf("second seed used project %d (%s), want %d (%s)", again.ProjectID, again.Token, first.ProjectID, first.Token)
	}
	if again.APIKey != "" {
		t.Error("second seed printed an API key: keys are stored hashed and shown only when the project is created")
	}
	if n := count(first.ProjectID); n != int64(first.Events) {
		t.Errorf("the same seed twice: %d events stored, want %d", n, first.Events)
	}

	other := seed("--seed", "2")
	if n := count(first.ProjectID); n != int64(first.Events+other.Events) {
		t.Errorf("another seed: %d events stored, want %d + %d", n, first.Events, other.Events)
	}

	for _, bad := range [][]string{{"--events", "0"}, {"--days", "-1"}} {
		var stdout, stderr bytes.Buffer
		if err := run(append([]string{"seed", "--data", dir}, bad...), &stdout, &stderr); err == nil {
			t.Errorf("seed %v: no error", bad)
		}
	}
}

var (
	demoURLRE   = regexp.MustCompile(`Dashboard\s+(http://\S+)/`)
	demoTokenRE = regexp.MustCompile(`Project token\s+(\S+)`)
	demoKeyRE   = regexp.MustCompile(`API key\s+(\S+)`)
)

type demoProc struct {
	cmd                *exec.Cmd
	url, token, apiKey string
	stdout             *bytes.Buffer // everything printed up to "Press Ctrl-C"
	rest               chan string   // what it prints afterwards, once it exits
}

// startDemo runs `sightline demo` on data and waits until it says it is
// running.
func startDemo(t *testing.T, data string) *demoProc {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "demo", "--addr", "127.0.0.1:0", "--data", data, "--events", "5000", "--days", "3", "--log-level", "warn")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	p := &demoProc{cmd: cmd, stdout: new(bytes.Buffer), rest: make(chan string, 1)}
	ready := make(chan struct{})
	go func() {
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadString('\n')
			p.stdout.WriteString(line)
			if strings.HasPrefix(line, "Press Ctrl-C") {
				break
			}
			if err != nil {
				break
			}
		}
		close(ready)
		rest, _ := io.ReadAll(r)
		p.rest <- string(rest)
	}()
	select {
	case <-ready:
	case <-time.After(120 * time.Second):
		t.Fatalf("demo did not say it was running in 120 s; stderr:\n%s", stderr.String())
	}
	text := p.stdout.String()
	for _, f := range []struct {
		re  *regexp.Regexp
		dst *string
	}{{demoURLRE, &p.url}, {demoTokenRE, &p.token}, {demoKeyRE, &p.apiKey}} {
		m := f.re.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("demo output has no %s:\n%s\nstderr:\n%s", f.re, text, stderr.String())
		}
		*f.dst = m[1]
	}
	return p
}

// stop sends SIGINT and waits for a clean exit.
func (p *demoProc) stop(t *testing.T) string {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo exited with %v after SIGINT", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("demo did not exit within 60 s of SIGINT")
	}
	return <-p.rest
}

// TestDemoCommand runs the README's first command the way a newcomer does:
// the demo seeds its project, serves the dashboard, the demo shop and the
// API with the key it printed, stops cleanly on Ctrl-C, and on a second
// start keeps its data instead of seeding again.
func TestDemoCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	data := t.TempDir()
	p := startDemo(t, data)
	if !strings.Contains(p.stdout.String(), "Seeded ") {
		t.Errorf("first start did not seed:\n%s", p.stdout)
	}

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(p.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get("/"); status != 200 || !strings.Contains(body, "<html") {
		t.Errorf("dashboard: %d %.200s", status, body)
	}
	if status, body := get("/demo/"); status != 200 || !strings.Contains(body, p.token) {
		t.Errorf("demo shop: %d, want 200 and a page instrumented with the project token %s: %.300s", status, p.token, body)
	}
	resp, body, err := postJSON(p.url+"/api/query", p.apiKey, map[string]any{
		"kind": "trends", "series": []map[string]string{{"event": "$pageview", "math": "persons"}}, "interval": "day",
	})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("query with the printed API key: %v %v %s", err, resp, body)
	}
	var trends struct {
		Series []struct {
			Total float64 `json:"total"`
		} `json:"series"`
	}
	if err := json.Unmarshal(body, &trends); err != nil || len(trends.Series) != 1 {
		t.Fatalf("trends answer: %v %s", err, body)
	}
	if trends.Series[0].Total == 0 {
		t.Errorf("the seeded demo has no persons with a pageview: %.500s", body)
	}
	if rest := p.stop(t); !strings.Contains(rest, "Shutting down") {
		t.Errorf("after SIGINT the demo printed %q", rest)
	}

	again := startDemo(t, data)
	if strings.Contains(again.stdout.String(), "Seeded ") {
		t.Errorf("second start seeded again:\n%s", again.stdout)
	}
	if again.token != p.token {
		t.Errorf("second start: token %s, want the demo project's %s", again.token, p.token)
	}
	again.stop(t)
}

// TestMigrateCommand: `sightline migrate` creates the shared stores of a
// scaled-out deployment on a 2-shard ClickHouse cluster and PostgreSQL, and
// running it again changes nothing; a node then starts on them. The flag
// errors are checked even without the servers.
func TestMigrateCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "nothing to migrate"},
		{[]string{"--store", filepath.Join(t.TempDir(), "events.duckdb")}, "only ClickHouse"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(append([]string{"migrate"}, tc.args...), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("migrate %v: err = %v, want %q", tc.args, err, tc.want)
		}
	}

	ctx := context.Background()
	storeDSN := servicetest.ClickHouse(t, "SIGHTLINE_TEST_CLICKHOUSE_CLUSTER")
	metaDSN := servicetest.Postgres(t)

	var first string
	for i := range 2 {
		var stdout, stderr bytes.Buffer
		if err := run([]string{"migrate", "--store", storeDSN, "--meta", metaDSN}, &stdout, &stderr); err != nil {
			t.Fatalf("migrate, run %d: %v\n%s", i+1, err, stderr.String())
		}
		out := stdout.String()
		if !strings.Contains(out, "event store schema is up to date") || !regexp.MustCompile(`metadata schema is at version [1-9]`).MatchString(out) {
			t.Fatalf("migrate, run %d printed:\n%s", i+1, out)
		}
		if i == 0 {
			first = out
		} else if out != first {
			t.Errorf("a second migrate printed\n%s\nafter\n%s", out, first)
		}
	}

	app, err := sightline.New(sightline.Config{DataDir: t.TempDir(), Store: storeDSN, Meta: metaDSN})
	if err != nil {
		t.Fatalf("a node on the migrated stores: %v", err)
	}
	defer app.Close()
	p, _, err := app.CreateProject(ctx, "migrated")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := app.Store().Count(ctx, p.ID); err != nil || n != 0 {
		t.Fatalf("the migrated event store: %d events, %v", n, err)
	}
}
