package query

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

var (
	locMu    sync.Mutex
	locCache = map[string]*time.Location{}
)

func loadLocation(name string) (*time.Location, error) {
	locMu.Lock()
	defer locMu.Unlock()
	if l, ok := locCache[name]; ok {
		return l, nil
	}
	// "Local" would make results depend on the server's zone.
	if name == "Local" || strings.TrimSpace(name) != name {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locCache[name] = l
	return l, nil
}

var relativeRe = regexp.MustCompile(`^-([0-9]{1,4})([hdwmy])$`)

var dateLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

func validDateSpec(s string) bool {
	_, _, err := parseDate(s, time.UTC, time.Now(), false)
	return err == nil
}

// parseDate resolves a date_from / date_to spec in loc. A bare date means
// the start of that day, or for an end (isEnd) the start of the next day.
func parseDate(s string, loc *time.Location, now time.Time, isEnd bool) (time.Time, bool, error) {
	now = now.In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	switch s {
	case "now":
		if isEnd {
			return now, false, nil
		}
		return now, false, nil
	case "today":
		if isEnd {
			return today.AddDate(0, 0, 1), false, nil
		}
		return today, false, nil
	}
	if m := relativeRe.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		switch m[2] {
		case "h":
			h := now.Truncate(time.Hour)
			return h.Add(-time.Duration(n) * time.Hour), true, nil
		case "d":
			return today.AddDate(0, 0, -n), true, nil
		case "w":
			return today.AddDate(0, 0, -7*n), true, nil
		case "m":
			return today.AddDate(0, -n, 0), true, nil
		case "y":
			return today.AddDate(-n, 0, 0), true, nil
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if isEnd {
			return t.AddDate(0, 0, 1), false, nil
		}
		return t, false, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, false, nil
	}
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, false, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("%q is not a date", s)
}

// span is a resolved date range [From, To) in a zone.
type span struct {
	From, To time.Time
	Loc      *time.Location
	Now      time.Time
}

func resolveSpan(c *Common, defTZ string, now time.Time) (span, error) {
	tz := c.Timezone
	if tz == "" {
		tz = defTZ
	}
	if tz == "" {
		tz = "UTC"
	}
	loc, err := loadLocation(tz)
	if err != nil {
		return span{}, &Error{Field: "timezone", Msg: fmt.Sprintf("%q is not a known IANA time zone", tz)}
	}
	from, to := c.DateFrom, c.DateTo
	if from == "" {
		from = "-7d"
	}
	if to == "" {
		to = "today"
	}
	f, _, err := parseDate(from, loc, now, false)
	if err != nil {
		return span{}, &Error{Field: "date_from", Msg: err.Error()}
	}
	t, _, err := parseDate(to, loc, now, true)
	if err != nil {
		return span{}, &Error{Field: "date_to", Msg: err.Error()}
	}
	if !t.After(f) {
		return span{}, &Error{Field: "date_to", Msg: "must be after date_from"}
	}
	if t.Sub(f) > 5*366*24*time.Hour {
		return span{}, &Error{Field: "date_from", Msg: "date ranges are limited to 5 years"}
	}
	return span{From: f.UTC(), To: t.UTC(), Loc: loc, Now: now}, nil
}

// truncLocal truncates t (in loc) to the start of its interval, as a wall
// clock in loc: the same bucket the SQL computes.
func truncLocal(t time.Time, interval string, loc *time.Location) time.Time {
	t = t.In(loc)
	switch interval {
	case "hour":
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, loc)
	case "week":
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
		wd := (int(d.Weekday()) + 6) % 7 // Monday = 0
		return d.AddDate(0, 0, -wd)
	case "month":
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

func nextBucket(t time.Time, interval string) time.Time {
	loc := t.Location()
	switch interval {
	case "hour":
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc)
	case "week":
		return time.Date(t.Year(), t.Month(), t.Day()+7, 0, 0, 0, 0, loc)
	case "month":
		return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
	}
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
}

// maxBuckets bounds zero filling (a year of hours is 8,784).
const maxBuckets = 10_000

// buckets lists the interval starts covering [from, to), never past now.
func buckets(from, to time.Time, interval string, loc *time.Location, now time.Time) ([]time.Time, error) {
	var out []time.Time
	end := to
	if now.Before(end) {
		end = now.Add(time.Nanosecond)
	}
	for b := truncLocal(from, interval, loc); b.Before(end); b = nextBucket(b, interval) {
		if len(out) == maxBuckets {
			return nil, &Error{Field: "interval", Msg: fmt.Sprintf("the date range holds more than %d %ss: choose a longer interval", maxBuckets, interval)}
		}
		// In a DST fall-back hour the wall clock repeats: one bucket.
		if n := len(out); n > 0 && wallKey(out[n-1]) == wallKey(b) {
			continue
		}
		out = append(out, b)
	}
	return out, nil
}

// wallKey is the wall-clock reading of t in its zone: how buckets read from
// SQL (as naive local timestamps) are matched with the zero-filled ones.
func wallKey(t time.Time) string { return t.Format("2006-01-02T15:04:05") }

// wallFromNaive converts a naive timestamp scanned from SQL (its fields are
// the local wall clock, whatever zone the driver attached) to that wall
// clock in loc.
func wallFromNaive(t time.Time, loc *time.Location) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, loc)
}

func formatT(t time.Time) string { return t.Format(time.RFC3339) }
