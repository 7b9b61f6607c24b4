package meta

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestProjectLifecycle(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)

	p, key, err := s.CreateProject(ctx, "  Shop  ")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Shop" || !ValidProjectToken(p.Token) || !ValidAPIKey(key) || p.ID == 0 {
		t.Fatalf("CreateProject = %+v, key %q", p, key)
	}
	if !reflect.DeepEqual(p.Settings, DefaultProjectSettings()) {
		t.Errorf("new project settings = %+v, want defaults", p.Settings)
	}

	got, err := s.Project(ctx, p.ID)
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("Project = %+v, %v; want %+v", got, err, p)
	}
	got, err = s.ProjectByToken(ctx, p.Token)
	if err != nil || got.ID != p.ID {
		t.Fatalf("ProjectByToken = %+v, %v", got, err)
	}
	byKey, err := s.ProjectByAPIKey(ctx, key)
	if err != nil || byKey.ID != p.ID {
		t.Fatalf("ProjectByAPIKey(first key) = %+v, %v", byKey, err)
	}

	q, _ := mustProject(t, s, "Blog")
	list, err := s.ListProjects(ctx)
	if err != nil || len(list) != 2 || list[0].ID != p.ID || list[1].ID != q.ID {
		t.Fatalf("ListProjects = %+v, %v", list, err)
	}

	renamed, err := s.RenameProject(ctx, p.ID, "Shop 2")
	if err != nil || renamed.Name != "Shop 2" || renamed.Token != p.Token {
		t.Fatalf("RenameProject = %+v, %v", renamed, err)
	}
	_, err = s.RenameProject(ctx, p.ID, " ")
	wantErr(t, err, ErrInvalid)

	rotated, err := s.RotateProjectToken(ctx, p.ID)
	if err != nil || rotated.Token == p.Token || !ValidProjectToken(rotated.Token) {
		t.Fatalf("RotateProjectToken = %+v, %v", rotated, err)
	}
	_, err = s.ProjectByToken(ctx, p.Token)
	wantErr(t, err, ErrNotFound)
	if got, err := s.ProjectByToken(ctx, rotated.Token); err != nil || got.ID != p.ID {
		t.Fatalf("ProjectByToken(new token) = %+v, %v", got, err)
	}

	// Delete cascades to everything the project owns.
	if _, err := s.Actions().Create(ctx, Object{ProjectID: p.ID, Name: "a"}); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, NewUser{Email: "a@example.com", Password: "password1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetMembership(ctx, p.ID, u.ID, RoleMember); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProject(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Project(ctx, p.ID)
	wantErr(t, err, ErrNotFound)
	_, err = s.ProjectByToken(ctx, rotated.Token)
	wantErr(t, err, ErrNotFound)
	_, err = s.ProjectByAPIKey(ctx, key)
	wantErr(t, err, ErrNotFound)
	for _, table := range []string{"api_keys", "actions", "memberships"} {
		if n := countRows(t, s, `SELECT COUNT(*) FROM `+table+` WHERE project_id = $1`, p.ID); n != 0 {
			t.Errorf("%s has %d rows of the deleted project", table, n)
		}
	}
	wantErr(t, s.DeleteProject(ctx, p.ID), ErrNotFound)
	if _, err := s.Project(ctx, q.ID); err != nil {
		t.Errorf("the other project went too: %v", err)
	}
}

func TestProjectLookupsOfUnknowns(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	mustProject(t, s, "x")
	for _, tok := range []string{"", "slp_", "nonsense", randomToken(projectTokenPrefix, projectTokenBytes), "slp_' OR 1=1 --"} {
		_, err := s.ProjectByToken(ctx, tok)
		wantErr(t, err, ErrNotFound)
	}
	_, err := s.Project(ctx, 12345)
	wantErr(t, err, ErrNotFound)
	_, _, err = s.CreateProject(ctx, strings.Repeat("x", 201))
	wantErr(t, err, ErrInvalid)
	_, err = s.UpdateProjectSettings(ctx, 12345, DefaultProjectSettings())
	wantErr(t, err, ErrNotFound)
}

func TestProjectTokensUnique(t *testing.T) {
	s, _ := openTest(t)
	seen := map[string]bool{}
	var first Project
	for i := range 100 {
		p, key := mustProject(t, s, "p")
		if seen[p.Token] || seen[key] {
			t.Fatalf("duplicate token or key at %d", i)
		}
		seen[p.Token], seen[key] = true, true
		if i == 0 {
			first = p
		}
	}
	// The database enforces it too, reported as ErrConflict.
	_, err := s.w.Exec(`INSERT INTO projects (name, token, settings, created_at, updated_at) VALUES ('dup', $1, '{}', 0, 0)`, first.Token)
	wantErr(t, s.classify(err, "insert"), ErrConflict)
}

func TestSettingsRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	p, _ := mustProject(t, s, "x")
	want := ProjectSettings{
		ReplayEnabled:       false, // a false must survive, not fall back to the default true
		ReplaySampleRate:    0.25,
		ReplayMinDurationMs: 2000,
		MaskingMode:         MaskingStrict,
		AllowedOrigins:      []string{"https://shop.example.com", "https://*.example.org", "http://localhost:3000"},
		Timezone:            "Europe/Paris",
		AnonymizeIP:         false,
		RateLimitPerSecond:  50.5,
		RateLimitBurst:      100,
		RetentionDays:       90,
		CaptureDisabled:     true,
	}
	up, err := s.UpdateProjectSettings(ctx, p.ID, want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(up.Settings, want) {
		t.Fatalf("returned settings = %+v, want %+v", up.Settings, want)
	}
	got, err := s.Project(ctx, p.ID)
	if err != nil || !reflect.DeepEqual(got.Settings, want) {
		t.Fatalf("stored settings = %+v, %v; want %+v", got.Settings, err, want)
	}
}

func TestSettingsMissingFieldsReadAsDefaults(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	p, _ := mustProject(t, s, "x")
	tests := []struct {
		doc  string
		want func(*ProjectSettings)
	}{
		{`{}`, func(*ProjectSettings) {}},
		{``, func(*ProjectSettings) {}},
		{`{"replay_enabled": false}`, func(ps *ProjectSettings) { ps.ReplayEnabled = false }},
		{`{"masking_mode": "relaxed", "from_the_future": [1, 2]}`, func(ps *ProjectSettings) { ps.MaskingMode = MaskingRelaxed }},
		{`{"allowed_origins": ["https://a.example"], "retention_days": 30}`, func(ps *ProjectSettings) {
			ps.AllowedOrigins = []string{"https://a.example"}
			ps.RetentionDays = 30
		}},
	}
	for _, tt := range tests {
		if _, err := s.w.Exec(`UPDATE projects SET settings = $1 WHERE id = $2`, tt.doc, p.ID); err != nil {
			t.Fatal(err)
		}
		got, err := s.Project(ctx, p.ID)
		if err != nil {
			t.Fatalf("%s: %v", tt.doc, err)
		}
		want := DefaultProjectSettings()
		tt.want(&want)
		if !reflect.DeepEqual(got.Settings, want) {
			t.Errorf("%s: settings = %+v, want %+v", tt.doc, got.Settings, want)
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		field  string
		modify func(*ProjectSettings)
	}{
		{"replay_sample_rate", func(ps *ProjectSettings) { ps.ReplaySampleRate = 1.5 }},
		{"replay_sample_rate", func(ps *ProjectSettings) { ps.ReplaySampleRate = -0.1 }},
		{"replay_min_duration_ms", func(ps *ProjectSettings) { ps.ReplayMinDurationMs = -1 }},
		{"masking_mode", func(ps *ProjectSettings) { ps.MaskingMode = "" }},
		{"masking_mode", func(ps *ProjectSettings) { ps.MaskingMode = "paranoid" }},
		{"allowed_origins[1]", func(ps *ProjectSettings) {
			ps.AllowedOrigins = []string{"https://ok.example", "https://x.example/path"}
		}},
		{"allowed_origins[0]", func(ps *ProjectSettings) { ps.AllowedOrigins = []string{"example.com"} }},
		{"allowed_origins[0]", func(ps *ProjectSettings) { ps.AllowedOrigins = []string{"ftp://example.com"} }},
		{"allowed_origins[0]", func(ps *ProjectSettings) { ps.AllowedOrigins = []string{"https://a.*.example.com"} }},
		{"timezone", func(ps *ProjectSettings) { ps.Timezone = "Mars/Olympus" }},
		{"timezone", func(ps *ProjectSettings) { ps.Timezone = "" }},
		{"rate_limit_per_second", func(ps *ProjectSettings) { ps.RateLimitPerSecond = -1 }},
		{"rate_limit_burst", func(ps *ProjectSettings) { ps.RateLimitPerSecond, ps.RateLimitBurst = 10, 0 }},
		{"retention_days", func(ps *ProjectSettings) { ps.RetentionDays = -7 }},
	}
	ctx := context.Background()
	s, _ := openTest(t)
	p, _ := mustProject(t, s, "x")
	for _, tt := range tests {
		ps := DefaultProjectSettings()
		tt.modify(&ps)
		err := ps.Validate()
		if err == nil || !strings.Contains(err.Error(), "settings."+tt.field+" ") {
			t.Errorf("%s: Validate = %v", tt.field, err)
		}
		_, err = s.UpdateProjectSettings(ctx, p.ID, ps)
		wantErr(t, err, ErrInvalid)
	}
	// The limit can be switched off, burst and all.
	ps := DefaultProjectSettings()
	ps.RateLimitPerSecond, ps.RateLimitBurst = 0, 0
	if err := ps.Validate(); err != nil {
		t.Errorf("no rate limit: %v", err)
	}
}
