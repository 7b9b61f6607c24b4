// Package event defines Sightline's event model: what the browser SDK sends,
// how it is validated and normalized, and the enriched form that the spool
// carries and the event stores keep.
//
// The package imports nothing else from Sightline so that every other part
// (capture, spool, store, query, synth) can depend on it.
package event

import (
	"encoding/json"
	"time"
)

// Raw is one event as a client sends it in a capture batch, before validation.
// Fields are kept loose (json.RawMessage, any) so that a malformed field is
// reported for that event alone instead of failing the whole batch.
type Raw struct {
	UUID       string          `json:"uuid"`
	Event      string          `json:"event"`
	DistinctID string          `json:"distinct_id"`
	SessionID  string          `json:"session_id,omitempty"`
	WindowID   string          `json:"window_id,omitempty"`
	Timestamp  json.RawMessage `json:"timestamp"` // RFC 3339 string or epoch milliseconds
	URL        string          `json:"url,omitempty"`
	Referrer   string          `json:"referrer,omitempty"`
	Title      string          `json:"title,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
	Elements   []Element       `json:"elements,omitempty"`
	Selector   string          `json:"selector,omitempty"`
	X          *float64        `json:"x,omitempty"`
	Y          *float64        `json:"y,omitempty"`
	// Offset of the pointer inside the target element, as a fraction of its
	// width and height (0..1), so that heatmaps survive responsive layouts.
	OffsetX        *float64 `json:"offset_x,omitempty"`
	OffsetY        *float64 `json:"offset_y,omitempty"`
	ViewportWidth  int      `json:"viewport_width,omitempty"`
	ViewportHeight int      `json:"viewport_height,omitempty"`
	DocumentWidth  int      `json:"document_width,omitempty"`
	DocumentHeight int      `json:"document_height,omitempty"`
	UserAgent      string   `json:"user_agent,omitempty"`
}

// Element is one node of a pointer event's element chain, ordered from the
// target up to (excluding) <body>.
type Element struct {
	Tag       string            `json:"tag"`
	ID        string            `json:"id,omitempty"`
	Classes   []string          `json:"classes,omitempty"`
	Text      string            `json:"text,omitempty"`
	Href      string            `json:"href,omitempty"`
	Attrs     map[string]string `json:"attrs,omitempty"`
	NthChild  int               `json:"nth_child,omitempty"`
	NthOfType int               `json:"nth_of_type,omitempty"`
}

// Event is a validated, normalized and enriched event: the unit the spool
// carries and the store keeps. Hot columns are typed; everything else stays
// in Properties as a JSON object.
type Event struct {
	ProjectID  int64     `json:"project_id"`
	UUID       string    `json:"uuid"`
	Event      string    `json:"event"`
	DistinctID string    `json:"distinct_id"`
	SessionID  string    `json:"session_id,omitempty"`
	WindowID   string    `json:"window_id,omitempty"`
	Timestamp  time.Time `json:"timestamp"`
	// ReceivedAt is when the server accepted the batch.
	ReceivedAt time.Time `json:"received_at"`

	URL         string `json:"url,omitempty"`
	Host        string `json:"host,omitempty"`
	Path        string `json:"path,omitempty"`
	Query       string `json:"query,omitempty"`
	Title       string `json:"title,omitempty"`
	Referrer    string `json:"referrer,omitempty"`
	RefDomain   string `json:"referring_domain,omitempty"`
	UTMSource   string `json:"utm_source,omitempty"`
	UTMMedium   string `json:"utm_medium,omitempty"`
	UTMCampaign string `json:"utm_campaign,omitempty"`
	UTMTerm     string `json:"utm_term,omitempty"`
	UTMContent  string `json:"utm_content,omitempty"`

	Browser        string `json:"browser,omitempty"`
	BrowserVersion string `json:"browser_version,omitempty"`
	OS             string `json:"os,omitempty"`
	OSVersion      string `json:"os_version,omitempty"`
	DeviceType     string `json:"device_type,omitempty"` // desktop, mobile, tablet, bot
	// IP is the client address after anonymization (empty when the project
	// does not keep addresses).
	IP string `json:"ip,omitempty"`

	Elements []Element `json:"elements,omitempty"`
	// ElementsChain is the element chain flattened into one searchable string
	// (see ChainString), the form actions and element filters match against.
	ElementsChain  string  `json:"elements_chain,omitempty"`
	Selector       string  `json:"selector,omitempty"`
	X              float64 `json:"x,omitempty"`
	Y              float64 `json:"y,omitempty"`
	OffsetX        float64 `json:"offset_x,omitempty"`
	OffsetY        float64 `json:"offset_y,omitempty"`
	ViewportWidth  int     `json:"viewport_width,omitempty"`
	ViewportHeight int     `json:"viewport_height,omitempty"`
	DocumentWidth  int     `json:"document_width,omitempty"`
	DocumentHeight int     `json:"document_height,omitempty"`

	// Frustration flags, set on the click that the SDK (or the server)
	// classified, so that a click can be counted as rage, dead or error
	// without a second event lookup.
	Rage  bool `json:"rage,omitempty"`
	Dead  bool `json:"dead,omitempty"`
	Error bool `json:"error_click,omitempty"`

	// Properties holds every other property as a JSON object ("{}" when none).
	Properties json.RawMessage `json:"properties"`
	// Truncated is set when a string value was cut to the size limit.
	Truncated bool `json:"truncated,omitempty"`
}
