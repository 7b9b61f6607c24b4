package main

import (
	"context"
	"errors"
	"io"
)

// benchQuery is `sightline bench query`: p50/p95 per query kind on seeded
// data. It arrives with the analytics engine.
func benchQuery(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("bench query: not built yet")
}
