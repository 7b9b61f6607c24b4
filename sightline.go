// Package sightline wires Sightline's components into one application: the
// metadata store, the event store, the durable spool and its writer, the
// capture, replay and query endpoints, the SDK and the dashboard. The binary
// (cmd/sightline) and the tests both start Sightline through New.
package sightline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // project time zones work on hosts without zoneinfo

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sightline-analytics/sightline/api"
	"github.com/sightline-analytics/sightline/capture"
	"github.com/sightline-analytics/sightline/demo"
	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/insight"
	"github.com/sightline-analytics/sightline/meta"
	"github.com/sightline-analytics/sightline/replay"
	"github.com/sightline-analytics/sightline/sdk"
	"github.com/sightline-analytics/sightline/spool"
	"github.com/sightline-analytics/sightline/store"
	"github.com/sightline-analytics/sightline/web"
)

// Version is the release this binary was built from; set with
// -ldflags "-X github.com/sightline-analytics/sightline.Version=…".
var Version = "dev"

// Config configures an App. Zero values take the documented defaults.
type Config struct {
	// Addr is the listen address (default 127.0.0.1:8080; port 0 picks a
	// free one, see App.URL).
	Addr string
	// DataDir holds the spool, the stores and replay blobs
	// (default ./sightline-data).
	DataDir string
	// AdminKey is a master API key that may create projects and query any
	// project. Empty: no master key.
	AdminKey string
	// SpoolMaxBytes bounds the spool on disk (default 1 GiB); past it,
	// capture answers 503 with Retry-After.
	SpoolMaxBytes int64
	// TrustProxy takes client addresses from X-Forwarded-For (behind a
	// load balancer).
	TrustProxy bool
	// Store is the event store's DSN: empty for the embedded DuckDB in
	// DataDir, or clickhouse://host:9000/db[?cluster=NAME] for ClickHouse,
	// which any number of nodes may share (see docs/deploy.md).
	Store string
	// Meta is the metadata store's DSN: empty for SQLite in DataDir, or
	// postgres://user@host:5432/db for PostgreSQL, shared by the nodes.
	Meta string
	// ReplayDir holds replay recordings (default DataDir/replay). Nodes that
	// share an event store must share it too, e.g. on a network file system.
	ReplayDir string
	// SMTP delivers alert e-mails; an empty Addr disables e-mail.
	SMTP insight.SMTPConfig
	// BaseURL is the dashboard's address as people reach it, for links in
	// alert notifications (default: the listen address).
	BaseURL string
	// Logger receives structured logs (default: slog.Default()).
	Logger *slog.Logger
	// Now is the insight monitor's clock (default time.Now): anomaly
	// detection, alerts and behavior clusters look back from it.
	Now func() time.Time
	// HoldWriter keeps the spool writer from storing anything until
	// ReleaseWriter (or Close) lets it start: capture still acknowledges
	// every event durably, into the spool. `sightline bench ingest --phases`
	// uses it to measure capture and storage apart.
	HoldWriter bool
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = "sightline-data"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// App is a running (or ready to run) Sightline.
type App struct {
	cfg      Config
	log      *slog.Logger
	meta     *meta.Store
	tokens   *meta.Cache
	events   store.Store
	spool    *spool.Spool
	writer   *spool.Writer
	replay   *replay.Service
	state    *insight.State
	insights *insight.Service
	registry *prometheus.Registry
	handler  http.Handler
	// demo serves the demo shop once EnableDemo has named its project.
	demo atomic.Pointer[http.Handler]

	mu       sync.Mutex
	srv      *http.Server
	ln       net.Listener
	cancel   context.CancelFunc
	done     chan struct{} // closed when the writer has stopped
	release  chan struct{} // closed when a held writer may start
	released sync.Once
	closed   bool
	closeErr error
}

// New opens (creating if needed) the data directory and every store in it.
// Nothing listens until Start.
func New(cfg Config) (*App, error) {
	cfg.setDefaults()
	a := &App{cfg: cfg, log: cfg.Logger, registry: prometheus.NewRegistry(), release: make(chan struct{})}
	if !cfg.HoldWriter {
		a.ReleaseWriter()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("sightline: create data dir: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			a.closeStores()
		}
	}()
	ctx := context.Background()
	var err error
	if a.meta, err = openMeta(ctx, cfg); err != nil {
		return nil, fmt.Errorf("sightline: open metadata: %w", err)
	}
	a.tokens = meta.NewCache(a.meta, meta.CacheOptions{})
	if a.events, err = openEventStore(ctx, cfg); err != nil {
		return nil, fmt.Errorf("sightline: open event store: %w", err)
	}
	if a.spool, err = spool.Open(filepath.Join(cfg.DataDir, "spool"), spool.Options{MaxBytes: cfg.SpoolMaxBytes, Logger: a.log}); err != nil {
		return nil, fmt.Errorf("sightline: open spool: %w", err)
	}
	// DuckDB compresses a batch of a full row group (122,880 rows) straight
	// into the file at insert time, which costs a quarter less CPU per
	// event than smaller appends; MaxDelay still bounds a quiet server's
	// latency to half a second.
	a.writer = spool.NewWriter(a.spool, a.events, event.DecodeBatchShared, spool.WriterOptions{Logger: a.log, MaxEvents: 131_072})
	replayDir := cfg.ReplayDir
	if replayDir == "" {
		replayDir = filepath.Join(cfg.DataDir, "replay")
	}
	blobs, err := replay.NewFileStore(replayDir)
	if err != nil {
		return nil, fmt.Errorf("sightline: open replay store: %w", err)
	}
	if a.replay, err = replay.New(replay.Config{
		Blobs:          blobs,
		Index:          a.events,
		ProjectByToken: a.replayProject,
		Logger:         a.log,
	}); err != nil {
		return nil, err
	}
	if a.state, err = insight.OpenState(ctx, filepath.Join(cfg.DataDir, "insight.db")); err != nil {
		return nil, fmt.Errorf("sightline: open insight state: %w", err)
	}
	if a.insights, err = insight.New(insight.Config{
		Events: a.events, Meta: a.meta, State: a.state, Logger: a.log,
		SMTP: cfg.SMTP, BaseURL: cfg.BaseURL, Now: cfg.Now,
	}); err != nil {
		return nil, fmt.Errorf("sightline: start insights: %w", err)
	}
	a.registerMetrics()
	a.handler = a.routes()
	ok = true
	return a, nil
}

func (a *App) registerMetrics() {
	a.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	a.registry.MustRegister(spoolCollector{a})
}

func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	httpMetrics := api.NewHTTPMetrics(a.registry)
	capt := capture.New(tokenResolver{a.tokens}, a.spool, capture.Options{
		Logger:     a.log,
		Metrics:    capture.NewMetrics(a.registry),
		TrustProxy: a.cfg.TrustProxy,
	})
	mux.Handle("/api/capture", capt)
	mux.Handle("/api/replay", a.replay.CaptureHandler())
	mux.Handle("/sdk/", sdk.Handler())
	mux.Handle("/", web.Handler())
	mux.HandleFunc("/demo/", func(w http.ResponseWriter, r *http.Request) {
		h := a.demo.Load()
		if h == nil {
			http.Error(w, "the demo shop runs with `sightline demo`", http.StatusNotFound)
			return
		}
		(*h).ServeHTTP(w, r)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{Registry: a.registry}))
	apiSrv := api.New(api.Deps{
		Meta:       a.meta,
		Tokens:     a.tokens,
		Events:     a.events,
		Insights:   a.insights,
		AdminKey:   a.cfg.AdminKey,
		TrustProxy: a.cfg.TrustProxy,
		Logger:     a.log,
		Version:    Version,
	})
	apiSrv.Register(mux)
	// Replays are read with the API's credentials and refusals: a login
	// session, the project's API key, or the admin key with ?project_id=.
	readReplay := apiSrv.RequireProject(meta.RoleViewer, func(w http.ResponseWriter, r *http.Request, p api.Principal) {
		a.replay.ServeSession(w, r, p.ProjectID, r.PathValue("session_id"))
	})
	mux.Handle("GET /api/replay/{session_id}", readReplay)
	mux.Handle("GET /api/projects/{project_id}/replay/{session_id}", readReplay)
	return api.Recover(a.log, httpMetrics.Wrap(mux))
}

// Handler is the whole HTTP surface, for embedding Sightline in a test or
// another server.
func (a *App) Handler() http.Handler { return a.handler }

// Store is the event store, for tests and tools that query it directly.
func (a *App) Store() store.Store { return a.events }

// Meta is the metadata store.
func (a *App) Meta() *meta.Store { return a.meta }

// EnableDemo serves the demo shop at /demo/, instrumented with the SDK
// snippet of the project whose public token is given.
func (a *App) EnableDemo(token string) {
	h := http.StripPrefix("/demo", demo.HandlerWithSnippet(sdk.Snippet(a.URL(), token)))
	a.demo.Store(&h)
}

// CreateProject creates a project and its first API key.
func (a *App) CreateProject(ctx context.Context, name string) (meta.Project, string, error) {
	return a.meta.CreateProject(ctx, name)
}

// Start listens on the configured address and starts the spool writer. It
// returns once the listener is bound; Close stops both.
func (a *App) Start(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.srv != nil {
		return errors.New("sightline: already started")
	}
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("sightline: listen on %s: %w", a.cfg.Addr, err)
	}
	a.ln = ln
	a.srv = &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	a.done = make(chan struct{})
	a.insights.Start(wctx)
	go func() {
		defer close(a.done)
		select {
		case <-a.release:
		case <-wctx.Done():
			return
		}
		if err := a.writer.Run(wctx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("spool writer stopped", "err", err)
		}
	}()
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// URL is the base URL the app listens on, once started.
func (a *App) URL() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ln == nil {
		return ""
	}
	return "http://" + a.ln.Addr().String()
}

// ReleaseWriter lets a writer held by Config.HoldWriter start storing the
// spooled events. It does nothing otherwise, or when called again.
func (a *App) ReleaseWriter() { a.released.Do(func() { close(a.release) }) }

// Flush waits until every event acknowledged so far is in the event store.
func (a *App) Flush(ctx context.Context) error { return a.writer.Flush(ctx) }

// Close shuts down gracefully: it stops accepting requests, lets the ones in
// flight finish, drains the spool into the event store, and closes the
// stores. It is safe to call more than once.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return a.closeErr
	}
	a.closed = true
	var errs []error
	if a.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		errs = append(errs, a.srv.Shutdown(ctx))
		cancel()
		// A writer still held drains the spool like any other.
		a.ReleaseWriter()
		dctx, dcancel := context.WithTimeout(context.Background(), 60*time.Second)
		if err := a.writer.Drain(dctx); err != nil {
			errs = append(errs, fmt.Errorf("sightline: drain spool: %w", err))
		}
		dcancel()
		a.cancel()
		<-a.done
	}
	errs = append(errs, a.closeStores())
	a.closeErr = errors.Join(errs...)
	return a.closeErr
}

func (a *App) closeStores() error {
	var errs []error
	if a.insights != nil {
		errs = append(errs, a.insights.Close())
	}
	if a.state != nil {
		errs = append(errs, a.state.Close())
	}
	if a.spool != nil {
		errs = append(errs, a.spool.Close())
	}
	if a.events != nil {
		errs = append(errs, a.events.Close())
	}
	if a.meta != nil {
		errs = append(errs, a.meta.Close())
	}
	return errors.Join(errs...)
}

func (a *App) replayProject(ctx context.Context, token string) (replay.Project, bool, error) {
	p, err := a.tokens.ProjectByToken(ctx, token)
	if errors.Is(err, meta.ErrNotFound) {
		return replay.Project{}, false, nil
	} else if err != nil {
		return replay.Project{}, false, err
	}
	return replay.Project{ID: p.ID, ReplayEnabled: p.Settings.ReplayEnabled && !p.Settings.CaptureDisabled}, true, nil
}

// tokenResolver adapts the metadata token cache to what capture needs.
type tokenResolver struct{ c *meta.Cache }

func (t tokenResolver) ProjectByToken(ctx context.Context, token string) (capture.Project, error) {
	p, err := t.c.ProjectByToken(ctx, token)
	if errors.Is(err, meta.ErrNotFound) {
		return capture.Project{}, capture.ErrUnknownToken
	} else if err != nil {
		return capture.Project{}, err
	}
	s := p.Settings
	return capture.Project{
		ID:              p.ID,
		AnonymizeIP:     s.AnonymizeIP,
		CaptureDisabled: s.CaptureDisabled,
		AllowedOrigins:  s.AllowedOrigins,
		RateLimit:       s.RateLimitPerSecond,
		RateBurst:       s.RateLimitBurst,
	}, nil
}
