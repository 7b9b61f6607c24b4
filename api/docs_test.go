package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sightline-analytics/sightline"
	"github.com/sightline-analytics/sightline/synth"
)

// testApp is a running Sightline with one project.
type testApp struct {
	app     *sightline.App
	url     string
	key     string
	project int64
}

const testAdminKey = "test-admin-key-0123456789"

func startApp(t *testing.T) *testApp {
	t.Helper()
	app, err := sightline.New(sightline.Config{
		Addr: "127.0.0.1:0", DataDir: t.TempDir(), AdminKey: testAdminKey,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, key, err := app.CreateProject(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	return &testApp{app: app, url: app.URL(), key: key, project: p.ID}
}

func (a *testApp) do(t *testing.T, method, path, key, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, a.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// docExample is one curl command of docs/api.md and the answer documented
// after it.
type docExample struct {
	line    int
	method  string
	path    string
	body    string
	status  int
	example string
}

var fenceRe = regexp.MustCompile("^```(\\w*)\\s*(\\d{3})?\\s*$")

func parseDocExamples(t *testing.T, doc string) []docExample {
	var out []docExample
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		m := fenceRe.FindStringSubmatch(lines[i])
		if m == nil || m[1] != "sh" {
			continue
		}
		start := i + 1
		var cmd strings.Builder
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			cmd.WriteString(strings.TrimSuffix(strings.TrimRight(lines[i], " "), "\\"))
			cmd.WriteString(" ")
		}
		ex := parseCurl(t, start, cmd.String())
		// The documented answer is the next fenced json block.
		for i++; i < len(lines); i++ {
			if m := fenceRe.FindStringSubmatch(lines[i]); m != nil {
				if m[1] != "json" {
					t.Fatalf("docs/api.md:%d: the example at line %d has no ```json answer", i+1, start)
				}
				ex.status = 200
				if m[2] != "" {
					ex.status, _ = strconv.Atoi(m[2])
				}
				var body strings.Builder
				for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
					body.WriteString(lines[i] + "\n")
				}
				ex.example = body.String()
				break
			}
		}
		out = append(out, ex)
	}
	return out
}

// parseCurl understands the curl subset the docs use: -s, -X METHOD,
// -H 'header', -d 'body' and one URL.
func parseCurl(t *testing.T, line int, cmd string) docExample {
	var words []string
	var b strings.Builder
	var q rune
	inWord := false
	for _, r := range cmd {
		switch {
		case q != 0 && r == q:
			q = 0
		case q != 0:
			b.WriteRune(r)
		case r == '\'' || r == '"':
			q, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, b.String())
				b.Reset()
				inWord = false
			}
		default:
			b.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, b.String())
	}
	if len(words) == 0 || words[0] != "curl" {
		t.Fatalf("docs/api.md:%d: example is not a curl command", line)
	}
	ex := docExample{line: line}
	for i := 1; i < len(words); i++ {
		switch w := words[i]; w {
		case "-s":
		case "-X":
			i++
			ex.method = words[i]
		case "-H":
			i++
			if h := words[i]; h != "Authorization: Bearer $API_KEY" {
				t.Fatalf("docs/api.md:%d: unexpected header %q", line, h)
			}
		case "-d":
			i++
			ex.body = words[i]
		default:
			p, ok := strings.CutPrefix(w, "$SIGHTLINE")
			if !ok {
				t.Fatalf("docs/api.md:%d: unexpected curl argument %q", line, w)
			}
			ex.path = p
		}
	}
	if ex.method == "" {
		ex.method = "GET"
		if ex.body != "" {
			ex.method = "POST"
		}
	}
	return ex
}

// shapeMatch reports where got lacks the structure of the documented
// example: every documented key must exist, documented arrays must not be
// empty in the answer (their first item's shape is checked), and "field"
// values must be equal.
func shapeMatch(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want an object, got %T", path, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s.%s: missing from the answer", path, k)
			}
			if k == "field" && wv != gv {
				return fmt.Sprintf("%s.field: documented %v, got %v", path, wv, gv)
			}
			if d := shapeMatch(path+"."+k, wv, gv); d != "" {
				return d
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: want an array, got %T", path, got)
		}
		if len(w) > 0 {
			if len(g) == 0 {
				return fmt.Sprintf("%s: documented with items, the answer has none", path)
			}
			return shapeMatch(path+"[0]", w[0], g[0])
		}
	case string:
		if _, ok := got.(string); !ok {
			return fmt.Sprintf("%s: want a string, got %T", path, got)
		}
	case float64:
		if _, ok := got.(float64); !ok {
			return fmt.Sprintf("%s: want a number, got %T", path, got)
		}
	}
	return ""
}

// TestDocsExamples runs every example of docs/api.md, in order, against a
// Sightline seeded with a week of synthetic traffic, and checks the status
// and the shape of each answer against the documented one.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	examples := parseDocExamples(t, string(doc))
	if len(examples) < 10 {
		t.Fatalf("found %d examples in docs/api.md", len(examples))
	}
	a := startApp(t)
	start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -7)
	st, err := a.app.Seed(context.Background(), a.project, synth.Config{Seed: 3, Events: 30_000, Days: 7, Start: start}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events < 20_000 {
		t.Fatalf("seeded only %d events", st.Events)
	}
	for _, ex := range examples {
		status, body := a.do(t, ex.method, ex.path, a.key, ex.body)
		if status != ex.status {
			t.Errorf("docs/api.md:%d: %s %s answered %d, documented %d: %s", ex.line, ex.method, ex.path, status, ex.status, body)
			continue
		}
		if strings.TrimSpace(ex.example) == "" {
			continue
		}
		var want, got any
		if err := json.Unmarshal([]byte(ex.example), &want); err != nil {
			t.Errorf("docs/api.md:%d: documented answer is not JSON: %v", ex.line, err)
			continue
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Errorf("docs/api.md:%d: answer is not JSON: %v: %s", ex.line, err, body)
			continue
		}
		if d := shapeMatch("", want, got); d != "" {
			var pretty bytes.Buffer
			json.Indent(&pretty, body, "", "  ")
			t.Errorf("docs/api.md:%d: %s\nanswer: %.3000s", ex.line, d, pretty.String())
		}
	}
}
