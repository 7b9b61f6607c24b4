package synth

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sightline-analytics/sightline/event"
)

// CaptureBody appends to dst the JSON body of POST /api/capture for batch:
// {"token":…,"sent_at":…,"events":[…]}. Each event is encoded exactly as
// encoding/json would encode it, several times faster, so that load
// generators measure the server rather than themselves.
func CaptureBody(dst []byte, token string, sentAt time.Time, batch []event.Raw) []byte {
	dst = append(dst, `{"token":`...)
	dst = appendString(dst, token)
	dst = append(dst, `,"sent_at":"`...)
	dst = sentAt.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z07:00")
	dst = append(dst, `","events":[`...)
	for i := range batch {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendEvent(dst, &batch[i])
	}
	return append(dst, "]}"...)
}

// AppendEvent appends the JSON encoding of r to dst, byte for byte what
// json.Marshal(r) returns when r's raw fields (Timestamp, Properties) are
// compact JSON, as synth produces them.
func AppendEvent(dst []byte, r *event.Raw) []byte {
	dst = append(dst, `{"uuid":`...)
	dst = appendString(dst, r.UUID)
	dst = append(dst, `,"event":`...)
	dst = appendString(dst, r.Event)
	dst = append(dst, `,"distinct_id":`...)
	dst = appendString(dst, r.DistinctID)
	dst = appendStringField(dst, `,"session_id":`, r.SessionID)
	dst = appendStringField(dst, `,"window_id":`, r.WindowID)
	dst = append(dst, `,"timestamp":`...)
	if len(r.Timestamp) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, r.Timestamp...)
	}
	dst = appendStringField(dst, `,"url":`, r.URL)
	dst = appendStringField(dst, `,"referrer":`, r.Referrer)
	dst = appendStringField(dst, `,"title":`, r.Title)
	if len(r.Properties) > 0 {
		dst = append(dst, `,"properties":`...)
		dst = append(dst, r.Properties...)
	}
	if len(r.Elements) > 0 {
		dst = append(dst, `,"elements":[`...)
		for i := range r.Elements {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendElement(dst, &r.Elements[i])
		}
		dst = append(dst, ']')
	}
	dst = appendStringField(dst, `,"selector":`, r.Selector)
	dst = appendFloatField(dst, `,"x":`, r.X)
	dst = appendFloatField(dst, `,"y":`, r.Y)
	dst = appendFloatField(dst, `,"offset_x":`, r.OffsetX)
	dst = appendFloatField(dst, `,"offset_y":`, r.OffsetY)
	dst = appendIntField(dst, `,"viewport_width":`, r.ViewportWidth)
	dst = appendIntField(dst, `,"viewport_height":`, r.ViewportHeight)
	dst = appendIntField(dst, `,"document_width":`, r.DocumentWidth)
	dst = appendIntField(dst, `,"document_height":`, r.DocumentHeight)
	dst = appendStringField(dst, `,"user_agent":`, r.UserAgent)
	return append(dst, '}')
}

func appendElement(dst []byte, e *event.Element) []byte {
	dst = append(dst, `{"tag":`...)
	dst = appendString(dst, e.Tag)
	dst = appendStringField(dst, `,"id":`, e.ID)
	if len(e.Classes) > 0 {
		dst = append(dst, `,"classes":[`...)
		for i, c := range e.Classes {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, c)
		}
		dst = append(dst, ']')
	}
	dst = appendStringField(dst, `,"text":`, e.Text)
	dst = appendStringField(dst, `,"href":`, e.Href)
	if len(e.Attrs) > 0 {
		dst = append(dst, `,"attrs":{`...)
		// encoding/json sorts map keys; attribute maps hold a handful.
		var keys [8]string
		ks := keys[:0]
		for k := range e.Attrs {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		for i, k := range ks {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendString(dst, e.Attrs[k])
		}
		dst = append(dst, '}')
	}
	dst = appendIntField(dst, `,"nth_child":`, e.NthChild)
	dst = appendIntField(dst, `,"nth_of_type":`, e.NthOfType)
	return append(dst, '}')
}

func appendStringField(dst []byte, key, v string) []byte {
	if v == "" {
		return dst
	}
	dst = append(dst, key...)
	return appendString(dst, v)
}

func appendIntField(dst []byte, key string, v int) []byte {
	if v == 0 {
		return dst
	}
	dst = append(dst, key...)
	return strconv.AppendInt(dst, int64(v), 10)
}

func appendFloatField(dst []byte, key string, v *float64) []byte {
	if v == nil {
		return dst
	}
	dst = append(dst, key...)
	return appendFloat(dst, *v)
}

// appendFloat formats like encoding/json: shortest representation,
// exponent form only for very small or very large magnitudes.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		// encoding/json refuses these; synth never produces them.
		return append(dst, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// jsonSafe marks the ASCII bytes that encoding/json writes unescaped.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendString appends s as a JSON string with encoding/json's escaping,
// HTML-safe characters included.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
