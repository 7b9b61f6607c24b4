package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// runJSON runs a command that was given --json and decodes its report.
func runJSON[T any](t *testing.T, args ...string) T {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(args, &stdout, &stderr); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, stderr.String())
	}
	var res T
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("%v: report is not JSON: %v\n%s", args, err, stdout.String())
	}
	return res
}

// TestBenchIngest runs `sightline bench ingest` small, both ways: every
// event it sends must be stored exactly once, and the report must carry the
// figures its mode promises.
func TestBenchIngest(t *testing.T) {
	for _, phases := range []bool{false, true} {
		args := []string{"bench", "ingest", "--events", "3000", "--clients", "4", "--batch", "100", "--data", t.TempDir(), "--json"}
		if phases {
			args = append(args, "--phases")
		}
		res := runJSON[IngestResult](t, args...)
		if res.Events != 3000 || res.Stored != 3000 || res.Requests != 30 {
			t.Errorf("%v: events %d, stored %d, requests %d; want 3000, 3000, 30", args, res.Events, res.Stored, res.Requests)
		}
		if res.AckedPerSecond <= 0 || res.StoredPerSecond <= 0 || res.StoredPerSecond > res.AckedPerSecond {
			t.Errorf("%v: acked %.0f/s, stored %.0f/s: both must be positive, and storing ends after acknowledging", args, res.AckedPerSecond, res.StoredPerSecond)
		}
		if res.LatencyP50Ms <= 0 || res.LatencyP99Ms < res.LatencyP50Ms {
			t.Errorf("%v: latency p50 %.2f ms, p99 %.2f ms", args, res.LatencyP50Ms, res.LatencyP99Ms)
		}
		if res.Phases != phases {
			t.Errorf("%v: phases = %v", args, res.Phases)
		}
		if phases {
			// Storing alone is faster than acknowledging and then storing.
			if res.StoreSeconds <= 0 || res.StoreOnlyPerSecond <= res.StoredPerSecond || res.StoreSeconds >= res.DurableSeconds {
				t.Errorf("%v: store alone %.0f/s over %.3f s, stored %.0f/s over %.3f s", args, res.StoreOnlyPerSecond, res.StoreSeconds, res.StoredPerSecond, res.DurableSeconds)
			}
		} else if res.StoreSeconds != 0 || res.StoreOnlyPerSecond != 0 {
			t.Errorf("%v: store-alone figures without --phases: %+v", args, res)
		}
	}
}

func TestBenchIngestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--events", "0"},
		{"--batch", "10001"},
		{"--clients", "-1"},
		{"--reset-store"}, // only for ClickHouse
	} {
		var stdout, stderr bytes.Buffer
		err := benchIngest(context.Background(), append(args, "--data", t.TempDir()), &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "--") {
			t.Errorf("bench ingest %v: err = %v, want an error naming the flag", args, err)
		}
	}
}

// TestBenchQuery runs `sightline bench query` small: it seeds a project,
// times every query, and on a second run reuses the data; --only picks
// queries and names an unknown one before seeding anything.
func TestBenchQuery(t *testing.T) {
	dir := t.TempDir()
	bench := func(args ...string) QueryBenchResult {
		t.Helper()
		return runJSON[QueryBenchResult](t, append([]string{"bench", "query", "--events", "5000", "--days", "7", "--runs", "1", "--data", dir, "--json"}, args...)...)
	}
	all := bench()
	if all.Events < 4000 || all.SeedSeconds <= 0 || all.Runs != 1 || len(all.Kinds) != len(queryBenches("", "")) {
		t.Fatalf("first run: %d events seeded in %.2f s, %d runs, %d queries", all.Events, all.SeedSeconds, all.Runs, len(all.Kinds))
	}
	for _, k := range all.Kinds {
		if k.P50Ms <= 0 || k.P95Ms < k.P50Ms || k.MaxMs < k.P95Ms || k.Query == "" {
			t.Errorf("%s: p50 %.2f, p95 %.2f, max %.2f ms, query %q", k.Name, k.P50Ms, k.P95Ms, k.MaxMs, k.Query)
		}
	}

	some := bench("--only", "heatmap, trends")
	if some.Events != all.Events || some.SeedSeconds != 0 {
		t.Errorf("second run: %d events, seeded in %.2f s; want the first run's %d, reused", some.Events, some.SeedSeconds, all.Events)
	}
	var names []string
	for _, k := range some.Kinds {
		names = append(names, k.Name)
	}
	if strings.Join(names, ",") != "trends,heatmap" {
		t.Errorf("--only heatmap,trends ran %v", names)
	}

	var stdout, stderr bytes.Buffer
	err := run([]string{"bench", "query", "--data", t.TempDir(), "--only", "trends,funnels"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), `"funnels"`) {
		t.Errorf("--only with an unknown query: err = %v", err)
	}
}
