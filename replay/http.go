package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sightline-analytics/sightline/internal/httpbody"
	"github.com/sightline-analytics/sightline/store"
)

type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func fail(status int, format string, a ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, a...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		s.log.Error("replay request failed", "path", r.URL.Path, "err", err)
		he = &httpError{status: http.StatusInternalServerError, msg: "internal error"}
	}
	writeJSON(w, he.status, map[string]string{"error": he.msg})
}

// CaptureHandler handles POST /api/replay (see the package documentation
// for the wire format). It answers 200 {"created": bool} (false when the
// chunk was already stored), 400 for a malformed chunk or id, 401 for an
// unknown token, 403 when the project does not record replays, 413 over
// the size limits. CORS is open: chunks come from any site the SDK is on.
func (s *Service) CaptureHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		switch r.Method {
		case http.MethodPost:
		case http.MethodOptions:
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, Content-Encoding")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		default:
			h.Set("Allow", "POST, OPTIONS")
			s.writeError(w, r, fail(http.StatusMethodNotAllowed, "use POST"))
			return
		}
		created, err := s.capture(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"created": created})
	})
}

func (s *Service) project(r *http.Request, token string) (Project, error) {
	if token == "" {
		return Project{}, fail(http.StatusUnauthorized, "missing token: pass the project's public token as ?token=")
	}
	p, ok, err := s.cfg.ProjectByToken(r.Context(), token)
	if err != nil {
		return Project{}, fmt.Errorf("replay: resolve token: %w", err)
	}
	if !ok {
		return Project{}, fail(http.StatusUnauthorized, "unknown token")
	}
	if !p.ReplayEnabled {
		return Project{}, fail(http.StatusForbidden, "session replay is switched off for this project")
	}
	return p, nil
}

func (s *Service) capture(r *http.Request) (bool, error) {
	q := r.URL.Query()
	token := q.Get("token")
	var proj Project
	if token != "" {
		// Refuse strangers before reading, let alone inflating, their body.
		p, err := s.project(r, token)
		if err != nil {
			return false, err
		}
		proj = p
	}
	var raw bytes.Buffer
	if err := httpbody.ReadRaw(r, &raw, s.cfg.MaxCompressed); err != nil {
		return false, bodyError(err)
	}
	data := raw.Bytes()
	comp := q.Get("compression")
	if comp != "" && comp != "gzip" {
		return false, fail(http.StatusBadRequest, "unsupported compression %q (use gzip)", comp)
	}
	gz := httpbody.Gzipped(r, data)
	src, err := httpbody.NewReader(data, gz, s.cfg.MaxDecompressed)
	if err != nil {
		return false, bodyError(err)
	}
	defer src.Close()
	br := bufio.NewReader(src)
	// A gzip'd array is stored as received; anything else is re-encoded as
	// a gzip'd array, so every stored blob has one format.
	first, err := firstByte(br)
	if err != nil {
		return false, decodeError(err)
	}
	var out bytes.Buffer
	var zw *gzip.Writer
	var emit func(json.RawMessage) error
	if !gz || first != '[' {
		zw = gzip.NewWriter(&out)
		n := 0
		zw.Write([]byte{'['})
		emit = func(raw json.RawMessage) error {
			if n > 0 {
				zw.Write([]byte{','})
			}
			n++
			_, err := zw.Write(raw)
			return err
		}
	}
	c, err := DecodeChunk(br, emit)
	if err != nil {
		return false, decodeError(err)
	}
	blob := data
	if zw != nil {
		zw.Write([]byte{']'})
		if err := zw.Close(); err != nil {
			return false, fmt.Errorf("replay: re-encode chunk: %w", err)
		}
		blob = out.Bytes()
	}

	pick := func(query, env string) string {
		if v := q.Get(query); v != "" {
			return v
		}
		return env
	}
	if token == "" {
		if proj, err = s.project(r, c.Token); err != nil {
			return false, err
		}
	}
	session, window := pick("session_id", c.SessionID), pick("window_id", c.WindowID)
	if !validID(session) || !validID(window) {
		return false, fail(http.StatusBadRequest, "session_id and window_id must be 1-128 letters, digits, - or _")
	}
	seq := int64(-1)
	if v := q.Get("seq"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return false, fail(http.StatusBadRequest, "seq %q is not an integer", v)
		}
		seq = n
	} else if c.Seq != nil {
		seq = *c.Seq
	}
	if seq < 0 || seq > MaxSeq {
		return false, fail(http.StatusBadRequest, "seq must be an integer from 0 to %d", MaxSeq)
	}
	distinct := pick("distinct_id", c.DistinctID)
	if len(distinct) > 200 {
		distinct = distinct[:200]
	}

	// Beacons are fire-and-forget: a client that goes away must not leave a
	// chunk stored but unindexed, so storing does not follow its context.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	key := ChunkKey(proj.ID, session, window, seq)
	created, err := s.cfg.Blobs.Put(ctx, key, blob)
	if err != nil {
		return false, fmt.Errorf("replay: store chunk: %w", err)
	}
	if created && s.cfg.Index != nil {
		sum := c.Summary
		err := s.cfg.Index.AddReplayChunk(ctx, store.ReplaySummary{
			ProjectID:  proj.ID,
			SessionID:  session,
			WindowID:   window,
			DistinctID: distinct,
			URL:        sum.URL,
			Start:      sum.Start,
			End:        sum.End,
			ActiveMs:   sum.ActiveMs,
			Clicks:     sum.Clicks,
			Keypresses: sum.Keypresses,
			Errors:     sum.Errors,
			Bytes:      int64(len(blob)),
			Chunks:     1,
		})
		if err != nil {
			// Undo the blob so that the client's retry stores and indexes it
			// again, instead of finding it present and skipping the index.
			if derr := s.cfg.Blobs.Delete(ctx, key); derr != nil {
				s.log.Error("replay: undo chunk after index failure", "key", key, "err", derr)
			}
			return false, fmt.Errorf("replay: index chunk: %w", err)
		}
	}
	return created, nil
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\n' && b != '\r' && b != '\t' {
			return b, br.UnreadByte()
		}
	}
}

// bodyError turns the body reader's client errors into answers.
func bodyError(err error) error {
	var he *httpbody.Error
	if errors.As(err, &he) {
		return fail(he.Status, "%s", he.Msg)
	}
	return err
}

func decodeError(err error) error {
	var he *httpbody.Error
	if errors.As(err, &he) {
		return fail(he.Status, "chunk: %s", he.Msg)
	}
	if err == io.EOF {
		return fail(http.StatusBadRequest, "empty chunk")
	}
	return fail(http.StatusBadRequest, "%v", err)
}

// summaryJSON is a window's or a session's replay summary in API form.
type summaryJSON struct {
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	DurationMs int64     `json:"duration_ms"`
	ActiveMs   int64     `json:"active_ms"`
	Clicks     int64     `json:"clicks"`
	Keypresses int64     `json:"keypresses"`
	Errors     int64     `json:"errors"`
	Events     int64     `json:"events"`
	Bytes      int64     `json:"bytes"`
	Chunks     int64     `json:"chunks"`
	URL        string    `json:"url,omitempty"`
	DistinctID string    `json:"distinct_id,omitempty"`
}

func toJSON(s Summary, bytes, chunks int64, distinct string) summaryJSON {
	return summaryJSON{
		Start: s.Start, End: s.End, DurationMs: s.End.Sub(s.Start).Milliseconds(),
		ActiveMs: s.ActiveMs, Clicks: s.Clicks, Keypresses: s.Keypresses, Errors: s.Errors,
		Events: s.Events, Bytes: bytes, Chunks: chunks, URL: s.URL, DistinctID: distinct,
	}
}

// ServeSession answers GET /api/replay/{session_id} for a caller already
// authorized to read projectID (api.Server.RequireProject: a login
// session, the project's API key, or the admin key), with
//
//	{"session_id": "…", "windows": [{"window_id": "…", "events": [rrweb events…],
//	  "summary": {…}}, …], "summary": {…}}
//
// the windows in id order (UUIDv7 ids: creation order) and each window's
// events in upload order; 404 when the project has no recording of the
// session. Authentication stays with the API so that replays are read
// with the same credentials and refusals as every other project resource.
func (s *Service) ServeSession(w http.ResponseWriter, r *http.Request, projectID int64, sessionID string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.writeError(w, r, fail(http.StatusMethodNotAllowed, "use GET"))
		return
	}
	if err := s.serveSession(w, r, projectID, sessionID); err != nil {
		s.writeError(w, r, err)
	}
}

func (s *Service) serveSession(w http.ResponseWriter, r *http.Request, pid int64, sid string) error {
	if !validID(sid) {
		return fail(http.StatusBadRequest, "invalid session id")
	}
	prefix := sessionPrefix(pid, sid)
	keys, err := s.cfg.Blobs.List(r.Context(), prefix)
	if err != nil {
		return err
	}
	type chunkRef struct {
		key string
		seq int64
	}
	var windows []string
	byWindow := map[string][]chunkRef{}
	for _, k := range keys {
		win, seq, ok := parseKey(prefix, k)
		if !ok {
			continue
		}
		if _, seen := byWindow[win]; !seen {
			windows = append(windows, win)
		}
		byWindow[win] = append(byWindow[win], chunkRef{k, seq})
	}
	if len(windows) == 0 {
		return fail(http.StatusNotFound, "no replay for this session")
	}
	distinct := map[string]string{}
	if s.cfg.Index != nil {
		if rs, err := s.cfg.Index.Replays(r.Context(), pid, sid); err == nil {
			for _, x := range rs {
				distinct[x.WindowID] = x.DistinctID
			}
		} else {
			s.log.Warn("replay: read index", "session", sid, "err", err)
		}
	}

	w.Header().Set("Content-Type", "application/json")
	if r.Method == http.MethodHead {
		return nil
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	str := func(v string) string { b, _ := json.Marshal(v); return string(b) }
	fmt.Fprintf(bw, `{"session_id":%s,"windows":[`, str(sid))
	var total Summary
	var totalBytes, totalChunks int64
	firstDistinct := ""
	for i, win := range windows {
		if i > 0 {
			bw.WriteByte(',')
		}
		fmt.Fprintf(bw, `{"window_id":%s,"events":[`, str(win))
		var ws Summary
		var wb, wc int64
		n := 0
		for _, ref := range byWindow[win] {
			blob, err := s.cfg.Blobs.Get(r.Context(), ref.key)
			if err != nil {
				s.log.Error("replay: read chunk", "key", ref.key, "err", err)
				continue
			}
			zr, err := gzip.NewReader(bytes.NewReader(blob))
			if err != nil {
				s.log.Error("replay: stored chunk is not gzip", "key", ref.key, "err", err)
				continue
			}
			c, err := DecodeChunk(zr, func(raw json.RawMessage) error {
				if n > 0 {
					bw.WriteByte(',')
				}
				n++
				_, err := bw.Write(raw)
				return err
			})
			if err != nil {
				// Events already written were whole, so the JSON stays valid.
				s.log.Error("replay: decode stored chunk", "key", ref.key, "err", err)
				continue
			}
			ws.merge(c.Summary)
			wb += int64(len(blob))
			wc++
		}
		sj, _ := json.Marshal(toJSON(ws, wb, wc, distinct[win]))
		fmt.Fprintf(bw, `],"summary":%s}`, sj)
		total.merge(ws)
		totalBytes += wb
		totalChunks += wc
		if firstDistinct == "" {
			firstDistinct = distinct[win]
		}
	}
	sj, _ := json.Marshal(toJSON(total, totalBytes, totalChunks, firstDistinct))
	fmt.Fprintf(bw, `],"summary":%s}`, sj)
	bw.WriteByte('\n')
	return nil
}
