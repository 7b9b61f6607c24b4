package meta

import (
	"context"
	"errors"
	"fmt"

	"github.com/sightline-analytics/sightline/query"
)

// Definitions serves the saved actions and segments to the query engine:
// the one adapter the API and the insight engine both run queries with.
func (s *Store) Definitions() query.Definitions { return definitions{s} }

type definitions struct{ m *Store }

func (d definitions) Action(ctx context.Context, projectID, id int64) (query.Action, error) {
	o, err := d.m.Actions().Get(ctx, projectID, id)
	if errors.Is(err, ErrNotFound) {
		return query.Action{}, fmt.Errorf("action %d: %w", id, query.ErrNotFound)
	} else if err != nil {
		return query.Action{}, err
	}
	def, err := query.ParseActionDefinition(o.Definition)
	if err != nil {
		return query.Action{}, fmt.Errorf("action %d: stored definition: %w", id, err)
	}
	return query.Action{ID: o.ID, Name: o.Name, ActionDefinition: def}, nil
}

func (d definitions) Segment(ctx context.Context, projectID, id int64) (query.Segment, error) {
	o, err := d.m.Segments().Get(ctx, projectID, id)
	if errors.Is(err, ErrNotFound) {
		return query.Segment{}, fmt.Errorf("segment %d: %w", id, query.ErrNotFound)
	} else if err != nil {
		return query.Segment{}, err
	}
	def, err := query.ParseSegmentDefinition(o.Definition)
	if err != nil {
		return query.Segment{}, fmt.Errorf("segment %d: stored definition: %w", id, err)
	}
	return query.Segment{ID: o.ID, Name: o.Name, SegmentDefinition: def}, nil
}
