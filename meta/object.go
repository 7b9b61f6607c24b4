package meta

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Object is a saved, named definition in a project: an action, a segment,
// an insight, a dashboard or an alert rule. The store keeps Definition as an
// opaque JSON document; its shape belongs to the package that interprets it
// (query for actions, segments and insights; the web app for dashboards;
// insight for alerts).
type Object struct {
	ID          int64
	ProjectID   int64
	Name        string
	Description string
	Definition  json.RawMessage
	CreatedBy   int64 // user id, 0 if none
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Objects is the collection of one kind of Object. Every method is scoped by
// project id: asking for another project's object answers ErrNotFound.
type Objects struct {
	s     *Store
	table string // a constant from the methods below, never user input
	kind  string // for error messages
}

// Actions are named retroactive definitions over autocaptured events.
func (s *Store) Actions() *Objects { return &Objects{s, "actions", "action"} }

// Segments are behavioral definitions of groups of persons.
func (s *Store) Segments() *Objects { return &Objects{s, "segments", "segment"} }

// Insights are saved queries.
func (s *Store) Insights() *Objects { return &Objects{s, "insights", "insight"} }

// Dashboards are layouts of insights.
func (s *Store) Dashboards() *Objects { return &Objects{s, "dashboards", "dashboard"} }

// Alerts are alert rules.
func (s *Store) Alerts() *Objects { return &Objects{s, "alerts", "alert"} }

const (
	objectCols          = `id, project_id, name, description, definition, created_by, created_at, updated_at`
	maxDescriptionBytes = 10000
	maxDefinitionBytes  = 1 << 20
)

func scanObject(row interface{ Scan(...any) error }) (Object, error) {
	var (
		o      Object
		def    string
		by     sql.NullInt64
		cr, up int64
	)
	if err := row.Scan(&o.ID, &o.ProjectID, &o.Name, &o.Description, &def, &by, &cr, &up); err != nil {
		return Object{}, err
	}
	o.Definition, o.CreatedBy, o.CreatedAt, o.UpdatedAt = json.RawMessage(def), by.Int64, msTime(cr), msTime(up)
	return o, nil
}

// check validates o and returns the definition to store, compacted.
func (c *Objects) check(what string, o *Object) (string, error) {
	name, err := checkName(what, o.Name)
	if err != nil {
		return "", err
	}
	o.Name = name
	if len(o.Description) > maxDescriptionBytes {
		return "", fmt.Errorf("meta: %s: %w: description is longer than %d bytes", what, ErrInvalid, maxDescriptionBytes)
	}
	if len(o.Definition) == 0 {
		o.Definition = json.RawMessage("{}")
	}
	if len(o.Definition) > maxDefinitionBytes {
		return "", fmt.Errorf("meta: %s: %w: definition is larger than %d bytes", what, ErrInvalid, maxDefinitionBytes)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, o.Definition); err != nil {
		return "", fmt.Errorf("meta: %s: %w: definition is not valid JSON: %v", what, ErrInvalid, err)
	}
	return buf.String(), nil
}

// Create stores a new object in o.ProjectID and returns it with its ID and
// times set.
func (c *Objects) Create(ctx context.Context, o Object) (Object, error) {
	what := fmt.Sprintf("create %s in project %d", c.kind, o.ProjectID)
	def, err := c.check(what, &o)
	if err != nil {
		return Object{}, err
	}
	var out Object
	err = c.s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanObject(tx.QueryRowContext(ctx, `INSERT INTO `+c.table+` (project_id, name, description, definition, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING `+objectCols,
			o.ProjectID, o.Name, o.Description, def, nullID(o.CreatedBy), c.s.nowMs()))
		return err
	})
	if err != nil {
		return Object{}, c.s.classify(err, what)
	}
	return out, nil
}

// Get returns the object id of a project.
func (c *Objects) Get(ctx context.Context, projectID, id int64) (Object, error) {
	o, err := scanObject(c.s.r.QueryRowContext(ctx, `SELECT `+objectCols+` FROM `+c.table+` WHERE project_id = $1 AND id = $2`, projectID, id))
	return o, c.s.classify(err, fmt.Sprintf("%s %d in project %d", c.kind, id, projectID))
}

// List returns a project's objects of this kind, by id.
func (c *Objects) List(ctx context.Context, projectID int64) ([]Object, error) {
	what := fmt.Sprintf("list %ss of project %d", c.kind, projectID)
	rows, err := c.s.r.QueryContext(ctx, `SELECT `+objectCols+` FROM `+c.table+` WHERE project_id = $1 ORDER BY id`, projectID)
	if err != nil {
		return nil, c.s.classify(err, what)
	}
	defer rows.Close()
	var objs []Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, c.s.classify(err, what)
		}
		objs = append(objs, o)
	}
	return objs, c.s.classify(rows.Err(), what)
}

// Update replaces the name, description and definition of the object
// (o.ProjectID, o.ID); CreatedBy and CreatedAt are kept.
func (c *Objects) Update(ctx context.Context, o Object) (Object, error) {
	what := fmt.Sprintf("update %s %d in project %d", c.kind, o.ID, o.ProjectID)
	def, err := c.check(what, &o)
	if err != nil {
		return Object{}, err
	}
	var out Object
	err = c.s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanObject(tx.QueryRowContext(ctx, `UPDATE `+c.table+` SET name = $3, description = $4, definition = $5, updated_at = $6
			WHERE project_id = $1 AND id = $2 RETURNING `+objectCols,
			o.ProjectID, o.ID, o.Name, o.Description, def, c.s.nowMs()))
		return err
	})
	if err != nil {
		return Object{}, c.s.classify(err, what)
	}
	return out, nil
}

// Delete deletes the object id of a project.
func (c *Objects) Delete(ctx context.Context, projectID, id int64) error {
	err := c.s.write(ctx, func(tx *sql.Tx) error {
		var got int64
		return tx.QueryRowContext(ctx, `DELETE FROM `+c.table+` WHERE project_id = $1 AND id = $2 RETURNING id`, projectID, id).Scan(&got)
	})
	return c.s.classify(err, fmt.Sprintf("delete %s %d in project %d", c.kind, id, projectID))
}
