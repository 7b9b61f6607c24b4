package meta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Annotation marks a moment on a project's charts: a release, an incident,
// a note.
type Annotation struct {
	ID        int64
	ProjectID int64
	At        time.Time
	Text      string
	Kind      string // AnnotationNote, AnnotationRelease, or another short word
	Version   string // the release version for AnnotationRelease
	CreatedBy int64  // user id, 0 if none (the SDK, the API key)
	CreatedAt time.Time
}

const (
	AnnotationNote    = "note"
	AnnotationRelease = "release"
)

const annotationCols = `id, project_id, at, text, kind, version, created_by, created_at`

func scanAnnotation(row interface{ Scan(...any) error }) (Annotation, error) {
	var (
		a      Annotation
		by     sql.NullInt64
		at, cr int64
	)
	if err := row.Scan(&a.ID, &a.ProjectID, &at, &a.Text, &a.Kind, &a.Version, &by, &cr); err != nil {
		return Annotation{}, err
	}
	a.At, a.CreatedBy, a.CreatedAt = msTime(at), by.Int64, msTime(cr)
	return a, nil
}

func checkAnnotation(what string, a *Annotation) error {
	a.Kind = strings.TrimSpace(a.Kind)
	if a.Kind == "" {
		a.Kind = AnnotationNote
	}
	a.Version = strings.TrimSpace(a.Version)
	switch {
	case a.At.IsZero():
		return fmt.Errorf("meta: %s: %w: time is not set", what, ErrInvalid)
	case len(a.Kind) > 50:
		return fmt.Errorf("meta: %s: %w: kind is longer than 50 bytes", what, ErrInvalid)
	case len(a.Text) > 10000:
		return fmt.Errorf("meta: %s: %w: text is longer than 10000 bytes", what, ErrInvalid)
	case len(a.Version) > 200:
		return fmt.Errorf("meta: %s: %w: version is longer than 200 bytes", what, ErrInvalid)
	case a.Kind == AnnotationRelease && a.Version == "":
		return fmt.Errorf("meta: %s: %w: a release annotation needs a version", what, ErrInvalid)
	}
	return nil
}

// CreateAnnotation stores an annotation. A second release annotation for the
// same version is ErrConflict (see EnsureRelease).
func (s *Store) CreateAnnotation(ctx context.Context, a Annotation) (Annotation, error) {
	what := fmt.Sprintf("create annotation in project %d", a.ProjectID)
	if err := checkAnnotation(what, &a); err != nil {
		return Annotation{}, err
	}
	var out Annotation
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanAnnotation(tx.QueryRowContext(ctx, `INSERT INTO annotations (project_id, at, text, kind, version, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+annotationCols,
			a.ProjectID, a.At.UnixMilli(), a.Text, a.Kind, a.Version, nullID(a.CreatedBy), s.nowMs()))
		return err
	})
	if err != nil {
		return Annotation{}, s.classify(err, what)
	}
	return out, nil
}

// EnsureRelease records that version was released at at, unless the project
// already has a release annotation for it; it returns the annotation and
// whether it was created now. The SDK's release() call can thus arrive from
// every page load and still leave one mark on the charts.
func (s *Store) EnsureRelease(ctx context.Context, projectID int64, version string, at time.Time) (Annotation, bool, error) {
	what := fmt.Sprintf("ensure release in project %d", projectID)
	a := Annotation{ProjectID: projectID, At: at, Kind: AnnotationRelease, Version: version, Text: "Release " + strings.TrimSpace(version)}
	if err := checkAnnotation(what, &a); err != nil {
		return Annotation{}, false, err
	}
	var (
		out     Annotation
		created bool
	)
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanAnnotation(tx.QueryRowContext(ctx, `INSERT INTO annotations (project_id, at, text, kind, version, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, NULL, $6)
			ON CONFLICT (project_id, version) WHERE kind = 'release' DO NOTHING
			RETURNING `+annotationCols,
			a.ProjectID, a.At.UnixMilli(), a.Text, a.Kind, a.Version, s.nowMs()))
		if err == nil {
			created = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		out, err = scanAnnotation(tx.QueryRowContext(ctx, `SELECT `+annotationCols+` FROM annotations
			WHERE project_id = $1 AND kind = 'release' AND version = $2`, a.ProjectID, a.Version))
		return err
	})
	if err != nil {
		return Annotation{}, false, s.classify(err, what)
	}
	return out, created, nil
}

// Annotation returns one annotation of a project.
func (s *Store) Annotation(ctx context.Context, projectID, id int64) (Annotation, error) {
	a, err := scanAnnotation(s.r.QueryRowContext(ctx, `SELECT `+annotationCols+` FROM annotations WHERE project_id = $1 AND id = $2`, projectID, id))
	return a, s.classify(err, fmt.Sprintf("annotation %d in project %d", id, projectID))
}

// Annotations returns a project's annotations with from <= At < to, by time;
// a zero from or to leaves that side open.
func (s *Store) Annotations(ctx context.Context, projectID int64, from, to time.Time) ([]Annotation, error) {
	lo, hi := int64(-1<<63), int64(1<<63-1)
	if !from.IsZero() {
		lo = from.UnixMilli()
	}
	if !to.IsZero() {
		hi = to.UnixMilli()
	}
	what := fmt.Sprintf("annotations of project %d", projectID)
	rows, err := s.r.QueryContext(ctx, `SELECT `+annotationCols+` FROM annotations
		WHERE project_id = $1 AND at >= $2 AND at < $3 ORDER BY at, id`, projectID, lo, hi)
	if err != nil {
		return nil, s.classify(err, what)
	}
	defer rows.Close()
	var as []Annotation
	for rows.Next() {
		a, err := scanAnnotation(rows)
		if err != nil {
			return nil, s.classify(err, what)
		}
		as = append(as, a)
	}
	return as, s.classify(rows.Err(), what)
}

// UpdateAnnotation replaces the time, text, kind and version of the
// annotation (a.ProjectID, a.ID).
func (s *Store) UpdateAnnotation(ctx context.Context, a Annotation) (Annotation, error) {
	what := fmt.Sprintf("update annotation %d in project %d", a.ID, a.ProjectID)
	if err := checkAnnotation(what, &a); err != nil {
		return Annotation{}, err
	}
	var out Annotation
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanAnnotation(tx.QueryRowContext(ctx, `UPDATE annotations SET at = $3, text = $4, kind = $5, version = $6
			WHERE project_id = $1 AND id = $2 RETURNING `+annotationCols,
			a.ProjectID, a.ID, a.At.UnixMilli(), a.Text, a.Kind, a.Version))
		return err
	})
	if err != nil {
		return Annotation{}, s.classify(err, what)
	}
	return out, nil
}

// DeleteAnnotation deletes one annotation of a project.
func (s *Store) DeleteAnnotation(ctx context.Context, projectID, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		var got int64
		return tx.QueryRowContext(ctx, `DELETE FROM annotations WHERE project_id = $1 AND id = $2 RETURNING id`, projectID, id).Scan(&got)
	})
	return s.classify(err, fmt.Sprintf("delete annotation %d in project %d", id, projectID))
}
