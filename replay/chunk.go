package replay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// rrweb event types and incremental sources that the summary reads
// (rrweb 2.x, @rrweb/types).
const (
	typeFullSnapshot = 2
	typeIncremental  = 3
	typeMeta         = 4
	typeCustom       = 5
	typePlugin       = 6

	sourceMouseMove        = 1
	sourceMouseInteraction = 2
	sourceScroll           = 3
	sourceInput            = 5
	sourceTouchMove        = 6
	sourceDrag             = 12

	interactionClick = 2

	// Gaps between input events up to this long count as active time.
	activeGap = 5 * time.Second
)

// Summary is what one chunk (or a whole window) contains, in the terms of
// store.ReplaySummary.
type Summary struct {
	Start      time.Time
	End        time.Time
	URL        string // href of the first Meta event
	ActiveMs   int64
	Clicks     int64
	Keypresses int64 // rrweb records input changes, not keys: one per input event
	Errors     int64 // custom "$error" events and console errors (rrweb console plugin)
	Events     int64
	lastActive int64 // timestamp (ms) of the last input event, for ActiveMs across chunks
}

// Chunk is a decoded replay chunk: the fields an envelope may carry (the
// query string carries them otherwise) and the chunk's summary.
type Chunk struct {
	Token      string `json:"token"`
	SessionID  string `json:"session_id"`
	WindowID   string `json:"window_id"`
	DistinctID string `json:"distinct_id"`
	Seq        *int64 `json:"seq"`
	Summary    Summary
}

// errMalformed marks a chunk that is not what the wire format says.
var errMalformed = errors.New("malformed replay chunk")

type rrEvent struct {
	Type      *int     `json:"type"`
	Timestamp *float64 `json:"timestamp"`
	Data      struct {
		Source *int            `json:"source"`
		Type   *int            `json:"type"`
		Href   string          `json:"href"`
		Tag    string          `json:"tag"`
		Plugin string          `json:"plugin"`
		Payld  json.RawMessage `json:"payload"`
	} `json:"data"`
}

// DecodeChunk reads one chunk: a JSON array of rrweb events, or an envelope
// object {"token", "session_id", "window_id", "seq", "distinct_id",
// "events": [...]}. It reads events one at a time, so memory stays bounded
// by the largest event rather than the chunk. Each event is handed to emit
// (which may be nil) as its raw JSON.
func DecodeChunk(r io.Reader, emit func(raw json.RawMessage) error) (*Chunk, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	c := &Chunk{}
	switch tok {
	case json.Delim('['):
		if err := decodeEvents(dec, &c.Summary, emit); err != nil {
			return nil, err
		}
	case json.Delim('{'):
		sawEvents := false
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("%w: %w", errMalformed, err)
			}
			key, _ := kt.(string)
			switch key {
			case "events":
				if sawEvents {
					return nil, fmt.Errorf("%w: events given twice", errMalformed)
				}
				sawEvents = true
				if t, err := dec.Token(); err != nil || t != json.Delim('[') {
					return nil, fmt.Errorf("%w: events is not an array", errMalformed)
				}
				if err := decodeEvents(dec, &c.Summary, emit); err != nil {
					return nil, err
				}
			case "token", "session_id", "window_id", "distinct_id":
				var s string
				if err := dec.Decode(&s); err != nil {
					return nil, fmt.Errorf("%w: %s: %w", errMalformed, key, err)
				}
				switch key {
				case "token":
					c.Token = s
				case "session_id":
					c.SessionID = s
				case "window_id":
					c.WindowID = s
				case "distinct_id":
					c.DistinctID = s
				}
			case "seq":
				var n json.Number
				if err := dec.Decode(&n); err != nil {
					return nil, fmt.Errorf("%w: seq: %w", errMalformed, err)
				}
				v, err := n.Int64()
				if err != nil {
					return nil, fmt.Errorf("%w: seq %q is not an integer", errMalformed, n)
				}
				c.Seq = &v
			default:
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return nil, fmt.Errorf("%w: %w", errMalformed, err)
				}
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("%w: %w", errMalformed, err)
		}
		if !sawEvents {
			return nil, fmt.Errorf("%w: no events", errMalformed)
		}
	default:
		return nil, fmt.Errorf("%w: want an array of events or an envelope object", errMalformed)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the chunk")
		}
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	if c.Summary.Events == 0 {
		return nil, fmt.Errorf("%w: no events", errMalformed)
	}
	return c, nil
}

// decodeEvents reads events up to the closing ']' of an array whose '['
// was consumed.
func decodeEvents(dec *json.Decoder, s *Summary, emit func(json.RawMessage) error) error {
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("%w: event %d: %w", errMalformed, s.Events, err)
		}
		if err := s.add(raw); err != nil {
			return fmt.Errorf("%w: event %d: %w", errMalformed, s.Events, err)
		}
		if emit != nil {
			if err := emit(raw); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return fmt.Errorf("%w: %w", errMalformed, err)
	}
	return nil
}

// Plausible epoch milliseconds: 2000-01-01 .. 2200-01-01.
const minTS, maxTS = 946684800000, 7258118400000

func (s *Summary) add(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return errors.New("not an object")
	}
	var e rrEvent
	if err := json.Unmarshal(raw, &e); err != nil {
		return err
	}
	if e.Type == nil || *e.Type < 0 || *e.Type > 64 {
		return errors.New("missing or invalid type")
	}
	if e.Timestamp == nil || *e.Timestamp < minTS || *e.Timestamp > maxTS {
		return errors.New("missing or implausible timestamp")
	}
	ms := int64(*e.Timestamp)
	t := time.UnixMilli(ms).UTC()
	if s.Events == 0 || t.Before(s.Start) {
		s.Start = t
	}
	if s.Events == 0 || t.After(s.End) {
		s.End = t
	}
	s.Events++
	switch *e.Type {
	case typeMeta:
		if s.URL == "" {
			s.URL = e.Data.Href
		}
	case typeCustom:
		if e.Data.Tag == "$error" {
			s.Errors++
		}
	case typePlugin:
		if e.Data.Plugin == "rrweb/console@1" && bytes.Contains(e.Data.Payld, []byte(`"level":"error"`)) {
			s.Errors++
		}
	case typeIncremental:
		if e.Data.Source == nil {
			return nil
		}
		switch src := *e.Data.Source; src {
		case sourceMouseInteraction:
			if e.Data.Type != nil && *e.Data.Type == interactionClick {
				s.Clicks++
			}
			s.active(ms)
		case sourceInput:
			s.Keypresses++
			s.active(ms)
		case sourceMouseMove, sourceScroll, sourceTouchMove, sourceDrag:
			s.active(ms)
		}
	}
	return nil
}

// active counts the gap since the previous input event as active time when
// it is short: a person reading with the mouse still is idle.
func (s *Summary) active(ms int64) {
	if gap := ms - s.lastActive; s.lastActive > 0 && gap > 0 && gap <= activeGap.Milliseconds() {
		s.ActiveMs += gap
	}
	if ms > s.lastActive {
		s.lastActive = ms
	}
}

// merge folds a later chunk of the same window into s.
func (s *Summary) merge(o Summary) {
	if o.Events == 0 {
		return
	}
	if s.Events == 0 || o.Start.Before(s.Start) {
		s.Start = o.Start
	}
	if s.Events == 0 || o.End.After(s.End) {
		s.End = o.End
	}
	if s.URL == "" {
		s.URL = o.URL
	}
	s.ActiveMs += o.ActiveMs
	s.Clicks += o.Clicks
	s.Keypresses += o.Keypresses
	s.Errors += o.Errors
	s.Events += o.Events
}
