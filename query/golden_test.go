package query

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden SQL files in testdata/golden")

// goldenDefs are the saved definitions the golden queries refer to.
var goldenDefs = StaticDefinitions{
	Actions: map[int64]Action{1: {Name: "Buy", ActionDefinition: ActionDefinition{Steps: []ActionStep{
		{Event: "$click", Selector: "div.card > button.buy", Text: "Buy", TextMatch: "contains"},
		{Event: "purchase", URL: "/checkout/*", URLMatch: "pattern"},
	}}}},
	Segments: map[int64]Segment{2: {Name: "Engaged", SegmentDefinition: SegmentDefinition{Match: "any", Conditions: []SegmentCondition{
		{Type: "performed", EventRef: EventRef{Action: 1}, CountOp: "at_least", Count: intPtr(3), WithinDays: 30},
		{Type: "group", Conditions: []SegmentCondition{
			{Type: "person", Prop: "plan", Op: OpEq, Value: "pro"},
			{Type: "first_seen", WithinDays: 7},
		}},
	}}}},
}

func intPtr(n int) *int { return &n }

// TestGoldenSQL compiles each testdata/golden/*.json query for every dialect
// and compares the SQL and arguments with NAME.DIALECT.golden. Run
// `go test ./query -run GoldenSQL -update` after an intended change and
// review the diff.
func TestGoldenSQL(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden queries: %v", err)
	}
	now := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	eng := New(Options{Now: func() time.Time { return now }})
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			q, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range []Dialect{DuckDB, ClickHouse} {
				stmts, err := eng.Compile(context.Background(), Request{ProjectID: 7, DB: dialectOnly{d.Name()}, Defs: goldenDefs, Query: q})
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				for i, st := range stmts {
					if i > 0 {
						b.WriteString("\n-- next statement --\n")
					}
					b.WriteString(st.SQL)
					b.WriteString("\n-- args:")
					for j, a := range st.Args {
						if tm, ok := a.(time.Time); ok {
							a = tm.UTC().Format(time.RFC3339)
						}
						fmt.Fprintf(&b, "\n-- $%d = %#v", j+1, a)
					}
					b.WriteString("\n")
				}
				path := filepath.Join("testdata", "golden", name+"."+d.Name()+".golden")
				if *update {
					if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if got := b.String(); got != string(want) {
					t.Errorf("%s differs from the golden file; run with -update and review the diff\n--- got:\n%s", path, got)
				}
			}
		})
	}
}

// dialectOnly is a Querier that only names its dialect, for compiling.
type dialectOnly struct{ name string }

func (d dialectOnly) Dialect() string { return d.name }
func (dialectOnly) Query(context.Context, string, ...any) (*sql.Rows, error) {
	return nil, fmt.Errorf("dialectOnly cannot run queries")
}
