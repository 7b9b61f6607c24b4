package meta

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

func TestObjectsCRUD(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	s, _ := openTest(t, WithClock(clk.Now))
	p, _ := mustProject(t, s, "p")
	other, _ := mustProject(t, s, "other")
	u, _ := s.CreateUser(ctx, NewUser{Email: "u@example.com", Password: "password1"})

	for _, kind := range []struct {
		name string
		objs *Objects
	}{
		{"actions", s.Actions()},
		{"segments", s.Segments()},
		{"insights", s.Insights()},
		{"dashboards", s.Dashboards()},
		{"alerts", s.Alerts()},
	} {
		t.Run(kind.name, func(t *testing.T) {
			c := kind.objs
			created, err := c.Create(ctx, Object{
				ProjectID: p.ID, Name: " Signup click ", Description: "d", CreatedBy: u.ID,
				Definition: json.RawMessage(`{ "steps": [ {"event": "$autocapture", "selector": "button.signup"} ] }`),
			})
			if err != nil {
				t.Fatal(err)
			}
			if created.ID == 0 || created.Name != "Signup click" || created.CreatedBy != u.ID ||
				string(created.Definition) != `{"steps":[{"event":"$autocapture","selector":"button.signup"}]}` {
				t.Fatalf("Create = %+v (%s)", created, created.Definition)
			}
			got, err := c.Get(ctx, p.ID, created.ID)
			if err != nil || got.Name != created.Name || string(got.Definition) != string(created.Definition) || !got.CreatedAt.Equal(created.CreatedAt) {
				t.Fatalf("Get = %+v, %v; want %+v", got, err, created)
			}
			// Scoped by project: another project sees nothing.
			_, err = c.Get(ctx, other.ID, created.ID)
			wantErr(t, err, ErrNotFound)
			if l, err := c.List(ctx, other.ID); err != nil || len(l) != 0 {
				t.Fatalf("List(other) = %+v, %v", l, err)
			}

			empty, err := c.Create(ctx, Object{ProjectID: p.ID, Name: "empty"})
			if err != nil || string(empty.Definition) != "{}" || empty.CreatedBy != 0 {
				t.Fatalf("Create without definition = %+v, %v", empty, err)
			}
			l, err := c.List(ctx, p.ID)
			if err != nil || len(l) != 2 || l[0].ID != created.ID || l[1].ID != empty.ID {
				t.Fatalf("List = %+v, %v", l, err)
			}

			clk.Advance(time.Minute)
			upd := created
			upd.Name, upd.Description, upd.Definition = "Renamed", "", json.RawMessage(`{"v":2}`)
			upd.CreatedBy = 0 // ignored by Update
			after, err := c.Update(ctx, upd)
			if err != nil {
				t.Fatal(err)
			}
			if after.Name != "Renamed" || string(after.Definition) != `{"v":2}` || after.CreatedBy != u.ID ||
				!after.CreatedAt.Equal(created.CreatedAt) || !after.UpdatedAt.Equal(clk.Now()) {
				t.Fatalf("Update = %+v", after)
			}
			upd.ProjectID = other.ID
			_, err = c.Update(ctx, upd)
			wantErr(t, err, ErrNotFound)

			for _, bad := range []Object{
				{ProjectID: p.ID, Name: "x", Definition: json.RawMessage(`{"unterminated": `)},
				{ProjectID: p.ID, Name: "", Definition: json.RawMessage(`{}`)},
				{ProjectID: p.ID, Name: "x", Definition: json.RawMessage(`{} {}`)},
			} {
				_, err := c.Create(ctx, bad)
				wantErr(t, err, ErrInvalid)
			}
			_, err = c.Create(ctx, Object{ProjectID: 9999, Name: "x"})
			wantErr(t, err, ErrNotFound)

			wantErr(t, c.Delete(ctx, other.ID, created.ID), ErrNotFound)
			if err := c.Delete(ctx, p.ID, created.ID); err != nil {
				t.Fatal(err)
			}
			_, err = c.Get(ctx, p.ID, created.ID)
			wantErr(t, err, ErrNotFound)
			wantErr(t, c.Delete(ctx, p.ID, created.ID), ErrNotFound)
		})
	}
	// Each kind has its own table.
	if n := countRows(t, s, `SELECT COUNT(*) FROM actions`); n != 1 {
		t.Errorf("actions holds %d rows, want 1", n)
	}
}

func TestAnnotations(t *testing.T) {
	ctx := context.Background()
	s, _ := openTest(t)
	p, _ := mustProject(t, s, "p")
	other, _ := mustProject(t, s, "other")
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }

	note, err := s.CreateAnnotation(ctx, Annotation{ProjectID: p.ID, At: day(5), Text: "campaign starts"})
	if err != nil || note.Kind != AnnotationNote || !note.At.Equal(day(5)) {
		t.Fatalf("CreateAnnotation = %+v, %v", note, err)
	}
	rel, created, err := s.EnsureRelease(ctx, p.ID, "2.3.1", day(10))
	if err != nil || !created || rel.Kind != AnnotationRelease || rel.Version != "2.3.1" {
		t.Fatalf("EnsureRelease = %+v, %v, %v", rel, created, err)
	}
	again, created, err := s.EnsureRelease(ctx, p.ID, "2.3.1", day(11))
	if err != nil || created || again.ID != rel.ID || !again.At.Equal(day(10)) {
		t.Fatalf("EnsureRelease again = %+v, %v, %v; want the first one", again, created, err)
	}
	if _, created, err := s.EnsureRelease(ctx, other.ID, "2.3.1", day(11)); err != nil || !created {
		t.Fatalf("the same version in another project: %v, %v", created, err)
	}
	_, err = s.CreateAnnotation(ctx, Annotation{ProjectID: p.ID, At: day(12), Kind: AnnotationRelease, Version: "2.3.1"})
	wantErr(t, err, ErrConflict)
	if _, err := s.CreateAnnotation(ctx, Annotation{ProjectID: p.ID, At: day(20), Kind: "incident", Text: "outage"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		from, to time.Time
		want     int
	}{
		{time.Time{}, time.Time{}, 3},
		{day(5), day(10), 1}, // from inclusive, to exclusive
		{day(6), day(21), 2},
		{day(21), time.Time{}, 0},
		{time.Time{}, day(5), 0},
	}
	for _, tt := range tests {
		got, err := s.Annotations(ctx, p.ID, tt.from, tt.to)
		if err != nil || len(got) != tt.want {
			t.Errorf("Annotations(%v, %v) = %d, %v; want %d", tt.from, tt.to, len(got), err, tt.want)
		}
	}

	for _, bad := range []Annotation{
		{ProjectID: p.ID, Text: "no time"},
		{ProjectID: p.ID, At: day(1), Kind: AnnotationRelease},
	} {
		_, err := s.CreateAnnotation(ctx, bad)
		wantErr(t, err, ErrInvalid)
	}
	_, _, err = s.EnsureRelease(ctx, p.ID, " ", day(1))
	wantErr(t, err, ErrInvalid)

	note.Text, note.At = "campaign starts (moved)", day(6)
	upd, err := s.UpdateAnnotation(ctx, note)
	if err != nil || upd.Text != note.Text || !upd.At.Equal(day(6)) {
		t.Fatalf("UpdateAnnotation = %+v, %v", upd, err)
	}
	if got, err := s.Annotation(ctx, p.ID, note.ID); err != nil || got.Text != note.Text {
		t.Fatalf("Annotation = %+v, %v", got, err)
	}
	_, err = s.Annotation(ctx, other.ID, note.ID)
	wantErr(t, err, ErrNotFound)
	wantErr(t, s.DeleteAnnotation(ctx, other.ID, note.ID), ErrNotFound)
	if err := s.DeleteAnnotation(ctx, p.ID, note.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Annotation(ctx, p.ID, note.ID)
	wantErr(t, err, ErrNotFound)
}
