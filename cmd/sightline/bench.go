package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/sightline-analytics/sightline"
	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/store/clickhouse"
	"github.com/sightline-analytics/sightline/synth"
)

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: sightline bench ingest [flags]")
		return flag.ErrHelp
	}
	switch args[0] {
	case "ingest":
		return benchIngest(ctx, args[1:], stdout, stderr)
	case "query":
		return benchQuery(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "unknown benchmark %q (have: ingest, query)\n", args[0])
	return flag.ErrHelp
}

// IngestResult is what `sightline bench ingest` reports.
type IngestResult struct {
	Events          int     `json:"events"`
	Clients         int     `json:"clients"`
	BatchSize       int     `json:"batch_size"`
	Requests        int     `json:"requests"`
	AckSeconds      float64 `json:"ack_seconds"`
	DurableSeconds  float64 `json:"durable_seconds"`
	AckedPerSecond  float64 `json:"acked_events_per_second"`
	StoredPerSecond float64 `json:"stored_events_per_second"`
	WireMBPerSecond float64 `json:"wire_mb_per_second"`
	JSONMBPerSecond float64 `json:"json_mb_per_second"`
	LatencyP50Ms    float64 `json:"ack_latency_p50_ms"`
	LatencyP99Ms    float64 `json:"ack_latency_p99_ms"`
	LatencyMaxMs    float64 `json:"ack_latency_max_ms"`
	AllocsPerEvent  float64 `json:"allocs_per_event"`
	BytesPerEvent   float64 `json:"alloc_bytes_per_event"`
	// CPUMicrosPerEvent is the process's CPU time (user + system, every
	// thread: server, DuckDB and the in-process clients) from the first
	// request until every event is stored, per event. On a shared machine it
	// varies less than the rates do. With ClickHouse it leaves out the
	// servers' CPU, which is not this process's.
	CPUMicrosPerEvent float64 `json:"cpu_us_per_event,omitempty"`
	Stored            int64   `json:"stored"`
	// CloseSeconds is how long the server took to close once every event
	// was stored: mostly the store's final checkpoint, the work a burst
	// defers. CloseCPUMicrosPerEvent is the CPU it took, per event.
	CloseSeconds           float64 `json:"close_seconds"`
	CloseCPUMicrosPerEvent float64 `json:"close_cpu_us_per_event,omitempty"`
	GOMAXPROCS             int     `json:"gomaxprocs"`
	// With Phases, the spool writer stored nothing until every event was
	// acknowledged: capture ran alone (AckedPerSecond, and
	// CaptureCPUMicrosPerEvent for the process's CPU meanwhile), then the
	// store alone drained the spool (StoreOnlyPerSecond over StoreSeconds,
	// StoreCPUMicrosPerEvent). The machine's capacity for both at once is
	// the run without Phases.
	Phases                   bool    `json:"phases,omitempty"`
	CaptureCPUMicrosPerEvent float64 `json:"capture_cpu_us_per_event,omitempty"`
	StoreSeconds             float64 `json:"store_seconds,omitempty"`
	StoreOnlyPerSecond       float64 `json:"store_only_events_per_second,omitempty"`
	StoreCPUMicrosPerEvent   float64 `json:"store_cpu_us_per_event,omitempty"`
	// Store is the event store written to: "duckdb", or "clickhouse"
	// with the database and cluster (never the credentials).
	Store string `json:"store"`
}

func benchIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	events := fs.Int("events", 1_000_000, "events to send")
	clients := fs.Int("clients", 16, "concurrent HTTP clients")
	batch := fs.Int("batch", 200, "events per request")
	data := fs.String("data", "", "data directory (default: a temporary one, removed afterwards)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the measured run to this file")
	memProfile := fs.String("memprofile", "", "write a profile of the allocations of the measured run to this file")
	storeDSN := fs.String("store", env("SIGHTLINE_STORE", ""), "event store DSN (clickhouse://host:9000/db[?cluster=NAME]; default: DuckDB in --data); its tables are created if missing")
	resetStore := fs.Bool("reset-store", false, "drop the ClickHouse database named by --store before the run (ALL its data), so that runs start alike")
	phases := fs.Bool("phases", false, "store nothing until every event is acknowledged, to measure capture alone and then the store alone (by default both run at once, as on a server)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *memProfile != "" {
		// Sampled from the measured run on, not while generating bodies.
		runtime.MemProfileRate = 0
	}
	if *events <= 0 || *clients <= 0 || *batch <= 0 || *batch > 10_000 {
		return errors.New("--events and --clients must be positive and --batch in 1..10000")
	}
	dir := *data
	if dir == "" {
		d, err := os.MkdirTemp("", "sightline-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	storeName, err := prepareBenchStore(ctx, *storeDSN, *resetStore)
	if err != nil {
		return err
	}
	app, err := sightline.New(sightline.Config{
		Addr: "127.0.0.1:0", DataDir: dir, SpoolMaxBytes: 8 << 30, Store: *storeDSN,
		Logger:     slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		HoldWriter: *phases,
	})
	if err != nil {
		return err
	}
	defer app.Close()
	p, _, err := app.CreateProject(ctx, "bench")
	if err != nil {
		return err
	}
	// The metadata is fresh, so the project's id repeats across runs: a
	// shared store must not hold its events already, or the run would be
	// deduplicated away instead of stored.
	if n, err := app.Store().Count(ctx, p.ID); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("bench: the event store already holds %d events of project %d: use a new database or --reset-store", n, p.ID)
	}
	settings := p.Settings
	settings.RateLimitPerSecond = 0 // measure the server, not the limiter
	if _, err := app.Meta().UpdateProjectSettings(ctx, p.ID, settings); err != nil {
		return err
	}
	if err := app.Start(ctx); err != nil {
		return err
	}

	fmt.Fprintf(stderr, "generating %d events in batches of %d…\n", *events, *batch)
	bodies, jsonBytes, n, err := benchBodies(p.Token, *events, *batch)
	if err != nil {
		return err
	}
	var wireBytes int
	for _, b := range bodies {
		wireBytes += len(b.gz)
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients}}
	url := app.URL() + "/api/capture"
	lat := make([]time.Duration, len(bodies))
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 64 << 10
	}
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0, cpuOK := processCPU()
	start := time.Now()
	prog := newProgress(stderr, "ingesting", n)
	var sent atomic.Int64
	for range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) || ctx.Err() != nil || failed.Load() != nil {
					return
				}
				t0 := time.Now()
				if err := postBatch(ctx, client, url, bodies[i]); err != nil {
					failed.Store(err)
					return
				}
				lat[i] = time.Since(t0)
				prog.update(int(sent.Add(int64(bodies[i].events))))
			}
		}()
	}
	wg.Wait()
	ackDur := time.Since(start)
	prog.done()
	if err, _ := failed.Load().(error); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// With --phases, the store starts now, with every event in the spool.
	cpuAck, _ := processCPU()
	storeStart := time.Now()
	app.ReleaseWriter()
	if err := app.Flush(ctx); err != nil {
		return err
	}
	durDur := time.Since(start)
	storeDur := time.Since(storeStart)
	cpu1, _ := processCPU()
	runtime.ReadMemStats(&ms1)
	if *memProfile != "" {
		if err := writeAllocProfile(*memProfile); err != nil {
			return err
		}
	}
	stored, err := app.Store().Count(ctx, p.ID)
	if err != nil {
		return err
	}
	if stored != int64(n) {
		return fmt.Errorf("bench: %d events acknowledged but %d stored", n, stored)
	}
	// Every event is stored, so closing has nothing left to drain: it
	// measures the store's deferred work (DuckDB's final checkpoint), which
	// a burst leaves for later.
	closeStart := time.Now()
	closeCPU0, _ := processCPU()
	if err := app.Close(); err != nil {
		return err
	}
	closeDur := time.Since(closeStart)
	closeCPU1, _ := processCPU()
	slices.Sort(lat)
	res := IngestResult{
		Events: n, Clients: *clients, BatchSize: *batch, Requests: len(bodies),
		AckSeconds: ackDur.Seconds(), DurableSeconds: durDur.Seconds(),
		AckedPerSecond:  float64(n) / ackDur.Seconds(),
		StoredPerSecond: float64(n) / durDur.Seconds(),
		WireMBPerSecond: float64(wireBytes) / 1e6 / ackDur.Seconds(),
		JSONMBPerSecond: float64(jsonBytes) / 1e6 / ackDur.Seconds(),
		LatencyP50Ms:    ms(quantile(lat, 0.50)),
		LatencyP99Ms:    ms(quantile(lat, 0.99)),
		LatencyMaxMs:    ms(lat[len(lat)-1]),
		AllocsPerEvent:  float64(ms1.Mallocs-ms0.Mallocs) / float64(n),
		BytesPerEvent:   float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(n),
		Stored:          stored,
		CloseSeconds:    closeDur.Seconds(),
		GOMAXPROCS:      runtime.GOMAXPROCS(0),
		Store:           storeName,
	}
	perEvent := func(d time.Duration) float64 { return float64(d) / 1e3 / float64(n) }
	if cpuOK {
		res.CPUMicrosPerEvent = perEvent(cpu1 - cpu0)
		res.CloseCPUMicrosPerEvent = perEvent(closeCPU1 - closeCPU0)
	}
	if *phases {
		res.Phases = true
		res.StoreSeconds = storeDur.Seconds()
		res.StoreOnlyPerSecond = float64(n) / storeDur.Seconds()
		if cpuOK {
			res.CaptureCPUMicrosPerEvent = perEvent(cpuAck - cpu0)
			res.StoreCPUMicrosPerEvent = perEvent(cpu1 - cpuAck)
		}
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\t\n", k, v) }
	row("store", storeName)
	row("events", fmt.Sprint(n))
	row("clients × batch", fmt.Sprintf("%d × %d", *clients, *batch))
	row("acknowledged (fsync'd) events/s", fmt.Sprintf("%.0f", res.AckedPerSecond))
	row("stored events/s", fmt.Sprintf("%.0f", res.StoredPerSecond))
	if res.Phases {
		row("store alone events/s", fmt.Sprintf("%.0f (%.2f s)", res.StoreOnlyPerSecond, res.StoreSeconds))
		if cpuOK {
			row("CPU per event: capture alone / store alone", fmt.Sprintf("%.1f / %.1f µs", res.CaptureCPUMicrosPerEvent, res.StoreCPUMicrosPerEvent))
		}
	}
	row("wire MB/s (gzip)", fmt.Sprintf("%.1f", res.WireMBPerSecond))
	row("JSON MB/s", fmt.Sprintf("%.1f", res.JSONMBPerSecond))
	row("ack latency p50 / p99 / max", fmt.Sprintf("%.1f / %.1f / %.1f ms", res.LatencyP50Ms, res.LatencyP99Ms, res.LatencyMaxMs))
	row("allocs per event (client+server)", fmt.Sprintf("%.1f (%.0f B)", res.AllocsPerEvent, res.BytesPerEvent))
	if cpuOK {
		row("CPU per event (process)", fmt.Sprintf("%.1f µs", res.CPUMicrosPerEvent))
	}
	row("stored exactly once", fmt.Sprintf("%d / %d", stored, n))
	if cpuOK {
		row("close (final checkpoint)", fmt.Sprintf("%.2f s, %.1f µs CPU per event", res.CloseSeconds, res.CloseCPUMicrosPerEvent))
	} else {
		row("close (final checkpoint)", fmt.Sprintf("%.2f s", res.CloseSeconds))
	}
	return tw.Flush()
}

// prepareBenchStore readies the event store of a benchmark and names it for
// the report. A ClickHouse database is created (on every server of its
// cluster) as `sightline migrate` would, after dropping it when reset.
func prepareBenchStore(ctx context.Context, dsn string, reset bool) (string, error) {
	if !strings.HasPrefix(dsn, "clickhouse://") {
		if reset {
			return "", errors.New("--reset-store applies to a ClickHouse --store only")
		}
		return "duckdb", nil
	}
	cfg, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return "", err
	}
	name := "clickhouse " + cfg.Database
	if cfg.Cluster != "" {
		name += " on cluster " + cfg.Cluster
	}
	if reset {
		if err := clickhouse.DropDatabase(ctx, dsn); err != nil {
			return "", fmt.Errorf("bench: reset %s: %w", name, err)
		}
	}
	if err := clickhouse.Migrate(ctx, dsn, clickhouse.Options{}); err != nil {
		return "", err
	}
	return name, nil
}

func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type benchBody struct {
	gz     []byte
	events int
}

// benchBodies pre-generates every request body so that the measured loop
// spends its time in the server, not in the generator.
func benchBodies(token string, total, size int) ([]benchBody, int, int, error) {
	var (
		bodies    []benchBody
		pending   []event.Raw
		jsonBytes int
		n         int
		buf       []byte
		zbuf      bytes.Buffer
	)
	zw, _ := gzip.NewWriterLevel(&zbuf, gzip.DefaultCompression)
	emit := func(evs []event.Raw) {
		buf = synth.CaptureBody(buf[:0], token, time.Now(), evs)
		jsonBytes += len(buf)
		zbuf.Reset()
		zw.Reset(&zbuf)
		zw.Write(buf)
		zw.Close()
		bodies = append(bodies, benchBody{gz: bytes.Clone(zbuf.Bytes()), events: len(evs)})
		n += len(evs)
	}
	days := 7
	// The generator's total is approximate: when it falls short, traffic
	// from the next seed makes up the rest.
	for seed := int64(42); n+len(pending) < total; seed++ {
		if seed == 42+maxBenchSeeds {
			return nil, 0, 0, fmt.Errorf("bench: the generator made %d of %d events", n+len(pending), total)
		}
		want := max(total-n-len(pending), 1000)
		_, err := synth.Generate(synth.Config{Seed: seed, Days: days, Events: want, Start: seedStart(days)}, func(b []event.Raw) error {
			for i := range b {
				if n+len(pending) >= total {
					return errStopGen
				}
				pending = append(pending, b[i])
				if len(pending) == size {
					emit(pending)
					pending = pending[:0]
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStopGen) {
			return nil, 0, 0, err
		}
	}
	if len(pending) > 0 {
		emit(pending)
	}
	return bodies, jsonBytes, n, nil
}

var errStopGen = errors.New("enough events")

// maxBenchSeeds bounds how many generator runs may make up a benchmark's
// events; each makes nearly all it is asked for.
const maxBenchSeeds = 20

func postBatch(ctx context.Context, c *http.Client, url string, b benchBody) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b.gz))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		Accepted int               `json:"accepted"`
		Rejected []json.RawMessage `json:"rejected"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("capture answered %s (%v)", resp.Status, err)
	}
	if out.Accepted != b.events {
		return fmt.Errorf("capture accepted %d of %d events: %s", out.Accepted, b.events, out.Rejected)
	}
	return nil
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
