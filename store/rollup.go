package store

import (
	"math"
	"time"

	"github.com/sightline-analytics/sightline/event"
)

// A store may keep rollups of its events: sums per UTC day that the query
// compiler reads for the whole UTC days of a range, reading the events
// themselves only for the partial days at its ends. This file is the
// contract between the two:
//
//   - HeatRollup: heatmaps read a page's clicks, page views and page
//     leaves; summed per page and day, a heatmap over a month reads a few
//     thousand rows per page instead of every event. Which events count,
//     in which viewport bucket, in which cell, is decided here.
//   - EventDays: events per name, distinct id and day, from which trends
//     count events and unique persons.

// HeatCell is the rollup's cell size in page pixels. A heatmap whose grid is
// a multiple of it can be read from the rollup.
const HeatCell = 10

// maxHeatCoord bounds the coordinates and depths a rollup keeps: beyond it a
// cell or step number no longer fits an integer exactly. No page is that
// large; only a hostile client sends such numbers.
const maxHeatCoord = 1e15

// HeatEvents are the events a heatmap reads: clicks, page views, page
// leaves (scroll depth) and the frustration events, which carry the rage,
// dead and error flags with the position of the click they classify.
var HeatEvents = []string{"$click", "$pageview", "$pageleave", "$rageclick", "$deadclick", "$errorclick"}

// Viewport buckets of a rollup row. An event without a viewport width falls
// back to its device type.
const (
	ViewportUnknown = 0
	ViewportMobile  = 1 // 1–767 px wide
	ViewportTablet  = 2 // 768–1023
	ViewportDesktop = 3 // 1024 and wider
)

// ViewportBuckets names the buckets, with their width ranges (0: unbounded).
var ViewportBuckets = map[string]struct{ Code, Min, Max int }{
	"mobile":  {ViewportMobile, 1, 767},
	"tablet":  {ViewportTablet, 768, 1023},
	"desktop": {ViewportDesktop, 1024, 0},
}

// ViewportBucket is the bucket of an event with this viewport width and
// device type (both as stored).
func ViewportBucket(width int, device string) int {
	switch {
	case width <= 0:
		if b, ok := ViewportBuckets[device]; ok {
			return b.Code
		}
		return ViewportUnknown
	case width <= 767:
		return ViewportMobile
	case width <= 1023:
		return ViewportTablet
	}
	return ViewportDesktop
}

// HeatPage identifies the rollup rows of one page, day and viewport bucket.
type HeatPage struct {
	Project  int64
	Day      time.Time // UTC midnight
	Path     string
	Viewport int
}

// HeatCellKey is a cell of HeatCell × HeatCell page pixels on a page (an
// index in HeatRollup.Pages).
type HeatCellKey struct {
	Page int32
	X, Y int64 // floor(x / HeatCell), floor(y / HeatCell)
}

// HeatElementKey is a clicked element on a page.
type HeatElementKey struct {
	Page     int32
	Selector string
}

// HeatStepKey is a scroll depth step, floor(depth / 5), on a page.
type HeatStepKey struct {
	Page int32
	Step int64
}

// HeatCounts are the clicks, rage, dead and error clicks of a cell or an
// element.
type HeatCounts [4]int64

// HeatRollup sums the heatmap facts of a set of events. Add each stored
// event once: a store adds only the events it newly stores, so that replays
// and retries do not count twice.
type HeatRollup struct {
	// Pages are the pages the other fields index, and PageCounts their
	// $click and $pageview counts.
	Pages      []HeatPage
	PageCounts [][2]int64
	Cells      map[HeatCellKey]HeatCounts
	Elements   map[HeatElementKey]HeatCounts
	Steps      map[HeatStepKey]int64

	index map[heatPageKey]int32
}

type heatPageKey struct {
	project  int64
	day      int64
	viewport int
	path     string
}

// NewHeatRollup returns an empty rollup.
func NewHeatRollup() *HeatRollup {
	return &HeatRollup{
		Cells:    map[HeatCellKey]HeatCounts{},
		Elements: map[HeatElementKey]HeatCounts{},
		Steps:    map[HeatStepKey]int64{},
		index:    map[heatPageKey]int32{},
	}
}

// Len is the number of rows the rollup holds (a page without clicks or
// page views has no row of its own).
func (r *HeatRollup) Len() int {
	n := len(r.Cells) + len(r.Elements) + len(r.Steps)
	for _, c := range r.PageCounts {
		if c != ([2]int64{}) {
			n++
		}
	}
	return n
}

// Reset empties the rollup, keeping its memory.
func (r *HeatRollup) Reset() {
	clear(r.Cells)
	clear(r.Elements)
	clear(r.Steps)
	clear(r.index)
	clear(r.Pages)
	r.Pages, r.PageCounts = r.Pages[:0], r.PageCounts[:0]
}

// Add counts e, stored with timestamp ts. Its text fields are taken as
// stored (see Clean).
func (r *HeatRollup) Add(e *event.Event, ts time.Time) {
	click, view, leave := e.Event == "$click", e.Event == "$pageview", e.Event == "$pageleave"
	if !click && !view && !leave && e.Event != "$rageclick" && e.Event != "$deadclick" && e.Event != "$errorclick" {
		return
	}
	page := r.page(e, ts)
	n := HeatCounts{b2i(click), b2i(e.Rage), b2i(e.Dead), b2i(e.Error)}
	if n != (HeatCounts{}) {
		// A click without a position (keyboard-activated: x and y are 0)
		// has no place on the page.
		if e.X != 0 || e.Y != 0 {
			if x, ok := heatStep(e.X, HeatCell); ok {
				if y, ok := heatStep(e.Y, HeatCell); ok {
					k := HeatCellKey{page, x, y}
					r.Cells[k] = r.Cells[k].plus(n)
				}
			}
		}
		if e.Selector != "" {
			k := HeatElementKey{page, Clean(e.Selector)}
			r.Elements[k] = r.Elements[k].plus(n)
		}
	}
	if leave {
		if d, ok := event.ScrollDepth(e); ok {
			if s, ok := heatStep(d, 5); ok {
				r.Steps[HeatStepKey{page, s}]++
			}
		}
	}
	if click || view {
		c := &r.PageCounts[page]
		c[0] += b2i(click)
		c[1] += b2i(view)
	}
}

// page is the index of e's page, day and viewport bucket.
func (r *HeatRollup) page(e *event.Event, ts time.Time) int32 {
	day := UTCDay(ts)
	k := heatPageKey{e.ProjectID, day, ViewportBucket(e.ViewportWidth, e.DeviceType), e.Path}
	if i, ok := r.index[k]; ok {
		return i
	}
	i := int32(len(r.Pages))
	r.Pages = append(r.Pages, HeatPage{
		Project:  e.ProjectID,
		Day:      time.Unix(day*86400, 0).UTC(),
		Path:     Clean(e.Path),
		Viewport: ViewportBucket(e.ViewportWidth, Clean(e.DeviceType)),
	})
	r.PageCounts = append(r.PageCounts, [2]int64{})
	r.index[k] = i
	return i
}

func (c HeatCounts) plus(o HeatCounts) HeatCounts {
	for i := range c {
		c[i] += o[i]
	}
	return c
}

// heatStep is floor(v / size), when v is within maxHeatCoord.
func heatStep(v, size float64) (int64, bool) {
	if !(math.Abs(v) < maxHeatCoord) {
		return 0, false
	}
	return int64(math.Floor(v / size)), true
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// UTCDay is the number of the UTC day of t, counted from 1970-01-01.
func UTCDay(t time.Time) int64 {
	sec := t.Unix()
	day := sec / 86400
	if sec < 0 && sec%86400 != 0 {
		day--
	}
	return day
}

// EventDayKey is one distinct id's events of one name on one UTC day.
type EventDayKey struct {
	Project    int64
	Day        int64 // UTCDay
	Event      string
	DistinctID string
}

// EventDays counts events by EventDayKey: the rollup from which a store
// can answer trends of unique persons and event counts without reading
// every event (see HeatRollup for how a store keeps a rollup). Its keys
// hold the events' text as given: a store cleans them (Clean) as it writes
// them, and sums the keys that then coincide.
type EventDays map[EventDayKey]int64

// Add counts e, stored with timestamp ts.
func (r EventDays) Add(e *event.Event, ts time.Time) {
	r[EventDayKey{e.ProjectID, UTCDay(ts), e.Event, e.DistinctID}]++
}
