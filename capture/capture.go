// Package capture implements Sightline's ingestion endpoints: it decodes
// capture batches from browsers and servers, validates and normalizes each
// event, and spools the accepted ones durably before answering.
//
// Project tokens are public (they sit in every instrumented page), so the
// capture routes are open to any origin unless a project restricts them; the
// token only decides which project an event belongs to.
package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/sightline-analytics/sightline/event"
	"github.com/sightline-analytics/sightline/internal/httpbody"
	"github.com/sightline-analytics/sightline/spool"
)

// MaxEventsPerBatch bounds one request, so that a single client cannot hold a
// spool commit or a writer batch hostage.
const MaxEventsPerBatch = 10_000

// Project is what capture needs to know about the project a token names.
type Project struct {
	ID              int64
	AnonymizeIP     bool
	DropIP          bool
	CaptureDisabled bool
	AllowedOrigins  []string // empty: any origin
	RateLimit       float64  // events per second; 0: unlimited
	RateBurst       int
}

// ErrUnknownToken is returned by a Projects implementation for a token that
// names no project.
var ErrUnknownToken = errors.New("unknown project token")

// Projects resolves public tokens. It sits on the hot path, so implementations
// cache.
type Projects interface {
	ProjectByToken(ctx context.Context, token string) (Project, error)
}

// Spool is the durable log accepted batches go to.
type Spool interface {
	Append(ctx context.Context, payload []byte) error
}

// Options configures a Handler. Zero values take the defaults.
type Options struct {
	MaxBodyBytes    int64
	MaxDecodedBytes int64
	// RetryAfter is what a client is told to wait when the spool is full
	// or the project is over its rate.
	RetryAfter time.Duration
	Logger     *slog.Logger
	Metrics    *Metrics
	Now        func() time.Time
	// TrustProxy takes the client address from X-Forwarded-For (see ClientIP).
	TrustProxy bool
}

// Handler serves POST /api/capture.
type Handler struct {
	projects Projects
	spool    Spool
	opts     Options
	limits   *limiters
}

// New returns a capture handler that resolves tokens with projects and
// spools accepted events to sp.
func New(projects Projects, sp Spool, opts Options) *Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxDecodedBytes <= 0 {
		opts.MaxDecodedBytes = DefaultMaxDecodedBytes
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Handler{projects: projects, spool: sp, opts: opts, limits: newLimiters(opts.Now)}
}

// Request is the body of POST /api/capture.
type Request struct {
	Token  string          `json:"token"`
	SentAt json.RawMessage `json:"sent_at,omitempty"`
	// APIKey may stand in for token in server-side integrations.
	Events []event.Raw `json:"events"`
}

// Rejection reports one event that was not accepted.
type Rejection struct {
	Index int    `json:"index"`
	Error string `json:"error"`
}

// Response is the body of a capture answer: 200 when at least one event was
// accepted, 400 when every event of the batch was rejected.
type Response struct {
	Accepted int         `json:"accepted"`
	Rejected []Rejection `json:"rejected"`
	// Error summarizes why nothing was accepted (400 answers only).
	Error string `json:"error,omitempty"`
}

// work holds the per-request scratch space, pooled because capture is the
// hot path.
type work struct {
	req     Request
	fast    fastDecoder
	events  []event.Event
	payload []byte
	batch   event.Batch
}

// decode parses a capture body: on the fast path when it can, else on
// decodeRequest's, which reports what is wrong with it.
func (wk *work) decode(body []byte) (raws []event.Raw, perEvent []error, err error) {
	if wk.fast.decode(body, &wk.req) {
		return wk.req.Events, nil, nil
	}
	clear(wk.req.Events)
	wk.req = Request{Events: wk.req.Events[:0]}
	return decodeRequest(body, &wk.req)
}

var workPool = sync.Pool{New: func() any { return new(work) }}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setCORS(w, r)
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		writeError(w, httpbody.Errorf(http.StatusMethodNotAllowed, "use POST"))
		return
	}
	resp, err := h.capture(r)
	if err != nil {
		var he *httpbody.Error
		if !errors.As(err, &he) {
			h.opts.Logger.Error("capture failed", "err", err)
			he = httpbody.Errorf(http.StatusInternalServerError, "internal error; the batch was not accepted, retry later")
		}
		if he.Status == http.StatusTooManyRequests || he.Status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(int(h.opts.RetryAfter.Seconds()+0.5)))
		}
		h.opts.Metrics.requestRejected(he.Status)
		writeError(w, he)
		return
	}
	status := http.StatusOK
	if resp.Accepted == 0 && len(resp.Rejected) > 0 {
		status = http.StatusBadRequest
		resp.Error = fmt.Sprintf("no event in the batch was valid; event %d: %s", resp.Rejected[0].Index, resp.Rejected[0].Error)
		h.opts.Metrics.requestRejected(status)
	}
	writeJSON(w, status, resp)
}

func (h *Handler) capture(r *http.Request) (*Response, error) {
	received := h.opts.Now()
	if err := checkContentType(r); err != nil {
		return nil, err
	}
	body := getBuf()
	defer putBuf(body)
	if err := readBody(r, body, h.opts.MaxBodyBytes, h.opts.MaxDecodedBytes); err != nil {
		return nil, err
	}

	wk := workPool.Get().(*work)
	defer func() {
		clear(wk.req.Events) // drop references into the request body
		wk.req = Request{Events: wk.req.Events[:0]}
		wk.fast.release()
		wk.events = wk.events[:0]
		wk.payload = wk.payload[:0]
		workPool.Put(wk)
	}()
	if !utf8.Valid(body.Bytes()) {
		return nil, httpbody.Errorf(http.StatusBadRequest, "body is not valid UTF-8")
	}
	raws, perEventErr, err := wk.decode(body.Bytes())
	if err != nil {
		return nil, err
	}
	if wk.req.Token == "" {
		return nil, httpbody.Errorf(http.StatusUnauthorized, "missing token: send the project's public token as \"token\"")
	}
	p, err := h.projects.ProjectByToken(r.Context(), wk.req.Token)
	if errors.Is(err, ErrUnknownToken) {
		return nil, httpbody.Errorf(http.StatusUnauthorized, "unknown token: check the project token in your snippet")
	} else if err != nil {
		return nil, err
	}
	if !originAllowed(p.AllowedOrigins, r.Header.Get("Origin")) {
		return nil, httpbody.Errorf(http.StatusForbidden, "origin %q is not allowed for this project", r.Header.Get("Origin"))
	}
	n := len(raws)
	if n == 0 {
		return nil, httpbody.Errorf(http.StatusBadRequest, "empty batch: \"events\" must hold at least one event")
	}
	if n > MaxEventsPerBatch {
		return nil, httpbody.Errorf(http.StatusRequestEntityTooLarge, "batch has %d events; send at most %d per request", n, MaxEventsPerBatch)
	}
	if p.CaptureDisabled {
		return nil, httpbody.Errorf(http.StatusForbidden, "capture is disabled for this project")
	}
	if !h.limits.allow(wk.req.Token, p.RateLimit, p.RateBurst, n) {
		h.opts.Metrics.rateLimited.Add(float64(n))
		return nil, httpbody.Errorf(http.StatusTooManyRequests, "over the project's rate of %g events/s; retry later", p.RateLimit)
	}

	b := &wk.batch
	*b = event.Batch{
		ProjectID:   p.ID,
		ReceivedAt:  received,
		UserAgent:   r.UserAgent(),
		IP:          ClientIP(r, h.opts.TrustProxy),
		AnonymizeIP: p.AnonymizeIP,
		DropIP:      p.DropIP,
	}
	resp := &Response{Rejected: []Rejection{}}
	if len(wk.req.SentAt) > 0 && string(wk.req.SentAt) != "null" {
		t, err := event.ParseTime(wk.req.SentAt)
		if err != nil {
			return nil, httpbody.Errorf(http.StatusBadRequest, "sent_at: %v", err)
		}
		b.SentAt = t
	}

	if cap(wk.events) < n {
		wk.events = make([]event.Event, n)
	}
	evs := wk.events[:n]
	k := 0
	for i := range raws {
		if perEventErr != nil && perEventErr[i] != nil {
			resp.Rejected = append(resp.Rejected, Rejection{Index: i, Error: perEventErr[i].Error()})
			h.opts.Metrics.rejected("malformed")
			continue
		}
		if err := event.Normalize(&raws[i], b, &evs[k]); err != nil {
			resp.Rejected = append(resp.Rejected, Rejection{Index: i, Error: err.Error()})
			h.opts.Metrics.rejected(string(event.ReasonOf(err)))
			continue
		}
		k++
	}
	evs = evs[:k]
	if k > 0 {
		wk.payload = event.AppendBatch(wk.payload[:0], evs)
		if err := h.spool.Append(r.Context(), wk.payload); err != nil {
			if errors.Is(err, spool.ErrFull) {
				return nil, httpbody.Errorf(http.StatusServiceUnavailable, "the server's spool is full; retry later")
			}
			return nil, err
		}
	}
	resp.Accepted = k
	h.opts.Metrics.accepted.Add(float64(k))
	h.opts.Metrics.bytes.Add(float64(body.Len()))
	return resp, nil
}

// decodeRequest parses a capture body. A batch whose envelope parses but
// where some events have fields of the wrong type is not failed whole: each
// event is decoded on its own and the broken ones are reported by index.
// It is the slow path behind fastDecoder, and the reference the fast path is
// tested against (FuzzFastDecoder).
//
// The decoder is encoding/json/v2's (github.com/go-json-experiment/json):
// decoding is most of what capture costs, and v2 decodes several times
// faster than encoding/json while being stricter (duplicate names are
// errors, names match case-sensitively).
func decodeRequest(body []byte, req *Request) (raws []event.Raw, perEvent []error, err error) {
	if len(body) == 0 {
		return nil, nil, httpbody.Errorf(http.StatusBadRequest, "empty body: send a JSON object with \"token\" and \"events\"")
	}
	err = jsonv2.Unmarshal(body, req)
	if err == nil {
		return req.Events, nil, nil
	}
	var se *jsonv2.SemanticError
	if !errors.As(err, &se) {
		return nil, nil, httpbody.Errorf(http.StatusBadRequest, "body is not valid JSON: %v", err)
	}
	var loose struct {
		Token  jsontext.Value   `json:"token"`
		SentAt jsontext.Value   `json:"sent_at"`
		Events []jsontext.Value `json:"events"`
	}
	if err := jsonv2.Unmarshal(body, &loose); err != nil {
		return nil, nil, httpbody.Errorf(http.StatusBadRequest, "body must be an object with a string \"token\" and an array \"events\": %v", err)
	}
	*req = Request{SentAt: json.RawMessage(loose.SentAt)}
	if len(loose.Token) > 0 && jsonv2.Unmarshal(loose.Token, &req.Token) != nil {
		return nil, nil, httpbody.Errorf(http.StatusBadRequest, "token must be a string")
	}
	raws = make([]event.Raw, len(loose.Events))
	perEvent = make([]error, len(loose.Events))
	for i, m := range loose.Events {
		if err := jsonv2.Unmarshal(m, &raws[i]); err != nil {
			perEvent[i] = fieldError(err)
		}
	}
	return raws, perEvent, nil
}

func fieldError(err error) error {
	var se *jsonv2.SemanticError
	if errors.As(err, &se) && se.JSONPointer != "" {
		field := strings.TrimPrefix(string(se.JSONPointer), "/")
		if se.GoType != nil {
			return fmt.Errorf("%s: expected %s, got JSON %s", field, se.GoType, se.JSONKind)
		}
		return fmt.Errorf("%s: %v", field, se.Err)
	}
	return err
}

// originAllowed matches a page origin against a project's allowed origins:
// exact ("https://shop.example"), any ("*"), or subdomains
// ("https://*.example.com" matches "https://a.example.com").
func originAllowed(allowed []string, origin string) bool {
	if len(allowed) == 0 || origin == "" {
		return true
	}
	for _, a := range allowed {
		if a == "*" || a == origin {
			return true
		}
		if scheme, rest, ok := strings.Cut(a, "://*."); ok {
			if os, oh, ok := strings.Cut(origin, "://"); ok && os == scheme && strings.HasSuffix(oh, "."+rest) {
				return true
			}
		}
	}
	return false
}

func setCORS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if o := r.Header.Get("Origin"); o != "" {
		h.Set("Access-Control-Allow-Origin", o)
		h.Add("Vary", "Origin")
	} else {
		h.Set("Access-Control-Allow-Origin", "*")
	}
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type, Content-Encoding")
		h.Set("Access-Control-Max-Age", "86400")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, he *httpbody.Error) {
	writeJSON(w, he.Status, map[string]string{"error": he.Msg})
}
