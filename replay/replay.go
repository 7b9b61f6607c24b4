// Package replay stores session replay recordings and serves them back.
//
// The browser SDK's recorder uploads rrweb events in chunks (every 5 s or
// 256 KB) to POST /api/replay; each chunk is validated, summarized (time
// span, active time, clicks, input events, errors, first URL) and stored
// once in a BlobStore under project/session/window/seq, so client retries
// never duplicate. The summary of every newly stored chunk is handed to a
// store.ReplayIndex, so session queries can filter on replays without
// opening blobs. ServeSession answers GET /api/replay/{session_id} with a
// session's events in order, window by window, for callers the API has
// authorized (this package does no authentication of readers).
//
// Wire format (see docs/sdk.md):
//
//	POST /api/replay?token=T&session_id=S&window_id=W&seq=N[&distinct_id=D][&compression=gzip]
//	body: a JSON array of rrweb events, gzip'd when compression=gzip (or
//	Content-Encoding: gzip); or a JSON object {"token", "session_id",
//	"window_id", "seq", "distinct_id", "events": [...]} carrying the same
//	fields (query parameters win when both are given).
package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"

	"github.com/sightline-analytics/sightline/store"
)

// Project is what the capture endpoint needs to know about the project a
// public token belongs to.
type Project struct {
	ID int64
	// ReplayEnabled false makes the endpoint refuse chunks (403): the
	// project switched recording off, and a page opened before that must
	// not keep uploading.
	ReplayEnabled bool
}

// Config holds a Service's dependencies.
type Config struct {
	// Blobs stores the chunks (required).
	Blobs BlobStore
	// Index receives the summary of each newly stored chunk (optional).
	Index store.ReplayIndex
	// ProjectByToken resolves a project's public token (required); ok is
	// false for an unknown token (401).
	ProjectByToken func(ctx context.Context, token string) (p Project, ok bool, err error)
	// MaxCompressed bounds a request body as sent (default 2 MiB).
	MaxCompressed int64
	// MaxDecompressed bounds a chunk after gunzip (default 32 MiB).
	MaxDecompressed int64
	Logger          *slog.Logger
}

// Service handles replay uploads and reads.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if cfg.Blobs == nil || cfg.ProjectByToken == nil {
		return nil, errors.New("replay: Config needs Blobs and ProjectByToken")
	}
	if cfg.MaxCompressed <= 0 {
		cfg.MaxCompressed = 2 << 20
	}
	if cfg.MaxDecompressed <= 0 {
		cfg.MaxDecompressed = 32 << 20
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Service{cfg: cfg, log: log.With("component", "replay")}, nil
}

// MaxSeq is the largest chunk sequence number accepted: a window would need
// 158 years of 5-second chunks to reach it.
const MaxSeq = 999_999_999

// ids are client-made (UUIDs from the SDK); anything else is refused so
// that a key never holds a path separator or a dot segment.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

func validID(s string) bool { return idPattern.MatchString(s) }

// sessionPrefix is the key prefix of a session's chunks.
func sessionPrefix(projectID int64, sessionID string) string {
	return fmt.Sprintf("p/%d/s/%s/", projectID, sessionID)
}

// ChunkKey is the blob key of one chunk. The zero-padded sequence number
// makes lexical key order the upload order.
func ChunkKey(projectID int64, sessionID, windowID string, seq int64) string {
	return fmt.Sprintf("%s%s/%010d.json.gz", sessionPrefix(projectID, sessionID), windowID, seq)
}

// parseKey splits a chunk key of a session into window id and seq.
func parseKey(prefix, key string) (window string, seq int64, ok bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return "", 0, false
	}
	window, file, ok := strings.Cut(rest, "/")
	if !ok || !validID(window) {
		return "", 0, false
	}
	n, ok := strings.CutSuffix(file, ".json.gz")
	if !ok {
		return "", 0, false
	}
	seq, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return "", 0, false
	}
	return window, seq, true
}
