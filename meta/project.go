package meta

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
)

// Project is a tracked product: its events share a public token and its
// saved definitions and members belong to it.
type Project struct {
	ID   int64
	Name string
	// Token is the public capture token (slp_…) that the browser snippet
	// embeds. It identifies the project; it is not a secret.
	Token     string
	Settings  ProjectSettings
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MaskingMode selects how much text replays and events mask (see the privacy
// model in DESIGN.md).
type MaskingMode string

const (
	MaskingStrict   MaskingMode = "strict"   // all text masked
	MaskingBalanced MaskingMode = "balanced" // inputs, e-mails, long digit runs, card numbers
	MaskingRelaxed  MaskingMode = "relaxed"  // inputs only
)

// ProjectSettings are a project's capture, replay and privacy settings. They
// are stored as one JSON document, so adding a field needs no migration: a
// document written before the field existed reads back with the field's
// default (see DefaultProjectSettings). Keep the JSON names stable; the web
// app and the SDK config endpoint use them.
type ProjectSettings struct {
	// ReplayEnabled turns session recording on.
	ReplayEnabled bool `json:"replay_enabled"`
	// ReplaySampleRate is the share of sessions recorded, 0..1.
	ReplaySampleRate float64 `json:"replay_sample_rate"`
	// ReplayMinDurationMs drops recordings of sessions shorter than this.
	ReplayMinDurationMs int64 `json:"replay_min_duration_ms"`
	// MaskingMode is what the SDK masks in replays and event text.
	MaskingMode MaskingMode `json:"masking_mode"`
	// AllowedOrigins restricts which page origins (scheme://host[:port]) may
	// send capture requests; empty allows any, as the token is public.
	// Entries may start with "*." for subdomains ("https://*.example.com").
	AllowedOrigins []string `json:"allowed_origins"`
	// Timezone is the IANA zone that dates and intervals default to.
	Timezone string `json:"timezone"`
	// AnonymizeIP drops the last octet (IPv4) or the last 80 bits (IPv6) of
	// client addresses before anything is stored.
	AnonymizeIP bool `json:"anonymize_ip"`
	// RateLimitPerSecond is the sustained capture rate per token in events
	// per second, with bursts up to RateLimitBurst; 0 disables the limit.
	RateLimitPerSecond float64 `json:"rate_limit_per_second"`
	RateLimitBurst     int     `json:"rate_limit_burst"`
	// RetentionDays is how long events and replays are kept; 0 keeps them
	// forever.
	RetentionDays int `json:"retention_days"`
	// CaptureDisabled makes capture refuse the project's events (a kill
	// switch for a misbehaving installation).
	CaptureDisabled bool `json:"capture_disabled"`
}

// DefaultProjectSettings are what a new project gets, and what fields missing
// from a stored document read as.
func DefaultProjectSettings() ProjectSettings {
	return ProjectSettings{
		ReplayEnabled:    true,
		ReplaySampleRate: 1.0,
		MaskingMode:      MaskingBalanced,
		Timezone:         "UTC",
		AnonymizeIP:      true,
		// Unlimited by default: a self-hosted server belongs to the team
		// whose traffic it takes. A limit protects it from one runaway
		// installation; set it per project.
		RateLimitPerSecond: 0,
		RateLimitBurst:     0,
	}
}

// Validate reports the first invalid field by its JSON name.
func (ps ProjectSettings) Validate() error {
	bad := func(field, msg string) error {
		return fmt.Errorf("%w: settings.%s %s", ErrInvalid, field, msg)
	}
	if math.IsNaN(ps.ReplaySampleRate) || ps.ReplaySampleRate < 0 || ps.ReplaySampleRate > 1 {
		return bad("replay_sample_rate", "must be between 0 and 1")
	}
	if ps.ReplayMinDurationMs < 0 {
		return bad("replay_min_duration_ms", "must not be negative")
	}
	switch ps.MaskingMode {
	case MaskingStrict, MaskingBalanced, MaskingRelaxed:
	default:
		return bad("masking_mode", `must be "strict", "balanced" or "relaxed"`)
	}
	for i, o := range ps.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			return bad(fmt.Sprintf("allowed_origins[%d]", i), err.Error())
		}
	}
	if ps.Timezone == "" {
		return bad("timezone", "is empty")
	}
	if _, err := time.LoadLocation(ps.Timezone); err != nil {
		return bad("timezone", fmt.Sprintf("is not a known IANA time zone (%q)", ps.Timezone))
	}
	if math.IsNaN(ps.RateLimitPerSecond) || math.IsInf(ps.RateLimitPerSecond, 0) || ps.RateLimitPerSecond < 0 {
		return bad("rate_limit_per_second", "must be a non-negative number")
	}
	if ps.RateLimitBurst < 0 {
		return bad("rate_limit_burst", "must not be negative")
	}
	if ps.RateLimitPerSecond > 0 && ps.RateLimitBurst < 1 {
		return bad("rate_limit_burst", "must be at least 1 when a rate limit is set")
	}
	if ps.RetentionDays < 0 {
		return bad("retention_days", "must not be negative (0 keeps data forever)")
	}
	return nil
}

func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an origin such as https://example.com (got %q)", o)
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("must be an origin without path, query or credentials (got %q)", o)
	}
	if strings.Contains(strings.TrimPrefix(u.Host, "*."), "*") {
		return fmt.Errorf("may only use a wildcard as the first label, as in https://*.example.com (got %q)", o)
	}
	return nil
}

// decodeSettings overlays the stored document on the defaults, so fields
// written by an older version read as their defaults, and fields from a
// newer version are ignored.
func decodeSettings(doc string) (ProjectSettings, error) {
	ps := DefaultProjectSettings()
	if doc == "" {
		return ps, nil
	}
	if err := json.Unmarshal([]byte(doc), &ps); err != nil {
		return ps, fmt.Errorf("decode settings: %w", err)
	}
	return ps, nil
}

func encodeSettings(ps ProjectSettings) (string, error) {
	if err := ps.Validate(); err != nil {
		return "", err
	}
	b, err := json.Marshal(ps)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// projectTokenBytes: 128 bits. The token is public, but unguessable tokens
// keep strangers from writing into a project whose token they never saw.
const (
	projectTokenPrefix = "slp_"
	projectTokenBytes  = 16
)

// ValidProjectToken reports whether tok has the shape of a project token.
// Capture can answer 401 for anything else without a lookup.
func ValidProjectToken(tok string) bool {
	return wellFormed(tok, projectTokenPrefix, projectTokenBytes)
}

const projectCols = `id, name, token, settings, created_at, updated_at`

func scanProject(row interface{ Scan(...any) error }) (Project, error) {
	var (
		p        Project
		settings string
		cr, up   int64
	)
	if err := row.Scan(&p.ID, &p.Name, &p.Token, &settings, &cr, &up); err != nil {
		return Project{}, err
	}
	ps, err := decodeSettings(settings)
	if err != nil {
		return Project{}, fmt.Errorf("project %d: %w", p.ID, err)
	}
	p.Settings, p.CreatedAt, p.UpdatedAt = ps, msTime(cr), msTime(up)
	return p, nil
}

// CreateProject creates a project with default settings and a first API key,
// whose secret is returned once and never stored.
func (s *Store) CreateProject(ctx context.Context, name string) (Project, string, error) {
	name, err := checkName("create project", name)
	if err != nil {
		return Project{}, "", err
	}
	settings, err := encodeSettings(DefaultProjectSettings())
	if err != nil {
		return Project{}, "", fmt.Errorf("meta: create project: %w", err)
	}
	var (
		p      Project
		secret string
	)
	now := s.nowMs()
	err = s.write(ctx, func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, `INSERT INTO projects (name, token, settings, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $4) RETURNING `+projectCols,
			name, randomToken(projectTokenPrefix, projectTokenBytes), settings, now)
		var err error
		if p, err = scanProject(row); err != nil {
			return err
		}
		secret, _, err = s.insertAPIKey(ctx, tx, p.ID, "default", 0)
		return err
	})
	if err != nil {
		return Project{}, "", s.classify(err, "create project")
	}
	// A token probed before it existed may sit in a negative cache.
	s.tokenChanged(p.Token)
	return p, secret, nil
}

// Project returns the project with id.
func (s *Store) Project(ctx context.Context, id int64) (Project, error) {
	p, err := scanProject(s.r.QueryRowContext(ctx, `SELECT `+projectCols+` FROM projects WHERE id = $1`, id))
	if err != nil {
		return Project{}, s.classify(err, fmt.Sprintf("project %d", id))
	}
	return p, nil
}

// ProjectByToken returns the project whose public token is tok. Capture
// should go through a Cache instead.
func (s *Store) ProjectByToken(ctx context.Context, tok string) (Project, error) {
	if !ValidProjectToken(tok) {
		return Project{}, fmt.Errorf("meta: project by token: %w", ErrNotFound)
	}
	p, err := scanProject(s.r.QueryRowContext(ctx, `SELECT `+projectCols+` FROM projects WHERE token = $1`, tok))
	if err != nil {
		return Project{}, s.classify(err, "project by token")
	}
	return p, nil
}

// ListProjects returns every project, by id.
func (s *Store) ListProjects(ctx context.Context) ([]Project, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+projectCols+` FROM projects ORDER BY id`)
	if err != nil {
		return nil, s.classify(err, "list projects")
	}
	defer rows.Close()
	var ps []Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, s.classify(err, "list projects")
		}
		ps = append(ps, p)
	}
	return ps, s.classify(rows.Err(), "list projects")
}

// UpdateProjectSettings replaces a project's settings after validating them.
func (s *Store) UpdateProjectSettings(ctx context.Context, id int64, ps ProjectSettings) (Project, error) {
	doc, err := encodeSettings(ps)
	if err != nil {
		return Project{}, fmt.Errorf("meta: update project %d: %w", id, err)
	}
	return s.updateProject(ctx, id, "settings", `UPDATE projects SET settings = $2, updated_at = $3 WHERE id = $1 RETURNING `+projectCols, doc)
}

// RenameProject changes a project's name.
func (s *Store) RenameProject(ctx context.Context, id int64, name string) (Project, error) {
	name, err := checkName(fmt.Sprintf("rename project %d", id), name)
	if err != nil {
		return Project{}, err
	}
	return s.updateProject(ctx, id, "name", `UPDATE projects SET name = $2, updated_at = $3 WHERE id = $1 RETURNING `+projectCols, name)
}

// RotateProjectToken gives a project a new public token; the old one stops
// resolving at once on this node and within the Cache TTL on others. Pages
// still embedding the old token lose their events, so it is for a token that
// is being abused.
func (s *Store) RotateProjectToken(ctx context.Context, id int64) (Project, error) {
	old, err := s.Project(ctx, id)
	if err != nil {
		return Project{}, err
	}
	p, err := s.updateProject(ctx, id, "token", `UPDATE projects SET token = $2, updated_at = $3 WHERE id = $1 RETURNING `+projectCols,
		randomToken(projectTokenPrefix, projectTokenBytes))
	if err == nil {
		s.tokenChanged(old.Token)
	}
	return p, err
}

func (s *Store) updateProject(ctx context.Context, id int64, what, query string, value any) (Project, error) {
	var p Project
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = scanProject(tx.QueryRowContext(ctx, query, id, value, s.nowMs()))
		return err
	})
	if err != nil {
		return Project{}, s.classify(err, fmt.Sprintf("update project %d %s", id, what))
	}
	s.tokenChanged(p.Token)
	return p, nil
}

// DeleteProject deletes a project with its keys, memberships, invites and
// saved definitions. Its events and replays live in the event store and are
// the caller's to delete.
func (s *Store) DeleteProject(ctx context.Context, id int64) error {
	var tok string
	err := s.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `DELETE FROM projects WHERE id = $1 RETURNING token`, id).Scan(&tok)
	})
	if err != nil {
		return s.classify(err, fmt.Sprintf("delete project %d", id))
	}
	s.tokenChanged(tok)
	return nil
}
