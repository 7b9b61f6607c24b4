package synth

import (
	"math"
	"strconv"

	"github.com/sightline-analytics/sightline/event"
)

// The primitives sessions are made of: events, pointer events and their
// frustration variants, properties, time, and the final copy-out.

func (s *sess) ev(name string) int {
	s.raws = append(s.raws, event.Raw{
		Event:      name,
		DistinctID: s.distinct,
		SessionID:  s.sessionID,
		WindowID:   s.windowID,
		URL:        s.pg.url,
		Referrer:   s.pg.ref,
		Title:      s.pg.title,
		UserAgent:  s.dev.ua,
	})
	s.meta = append(s.meta, pending{ts: s.t})
	return len(s.raws) - 1
}

func (s *sess) track(name string) int { return s.ev(name) }

func (s *sess) sizes(r *event.Raw) {
	r.ViewportWidth, r.ViewportHeight = s.vw, s.vh
	r.DocumentWidth, r.DocumentHeight = s.vw, s.pg.docH
}

// pointer records a pointer event on tg at the relative offset (ox, oy)
// inside it, shifted by (dx, dy) pixels.
func (s *sess) pointer(name string, tg *target, ox, oy, dx, dy float64) int {
	b := tg.rect(s.mobile, s.vw)
	x := math.Round(b.x + ox*b.w + dx)
	y := math.Round(b.y + oy*b.h + dy)
	s.see(b.y + b.h)
	i := s.ev(name)
	r := &s.raws[i]
	r.Elements = tg.chain
	r.Selector = tg.sel
	s.lastOX, s.lastOY = round3((x-b.x)/b.w), round3((y-b.y)/b.h)
	s.meta[i].fOff, s.meta[i].fN = int32(len(s.floats)), 4
	s.floats = append(s.floats, x, y, s.lastOX, s.lastOY)
	s.sizes(r)
	if !tg.interactive {
		s.pBegin()
		s.pBool("$interactive", false)
		s.pEnd(i)
	}
	return i
}

func clamp(v, limit float64) float64 { return math.Max(-limit, math.Min(limit, v)) }

func round3(f float64) float64 { return math.Round(math.Max(0, math.Min(1, f))*1000) / 1000 }

func (s *sess) offset() float64 {
	return math.Max(0.04, math.Min(0.96, 0.5+0.2*s.r.NormFloat64()))
}

func (s *sess) click(tg *target) {
	s.wait(150 + s.r.Int64N(600))
	s.pointer("$click", tg, s.offset(), s.offset(), 0, 0)
}

// rage records a burst of n clicks on tg, each well under a second after
// the last and a few pixels apart, then the SDK's $rageclick.
func (s *sess) rage(tg *target, n int) {
	ox, oy := s.offset(), s.offset()
	var dx, dy float64
	for k := range n {
		if k > 0 {
			s.wait(110 + s.r.Int64N(340))
		}
		// Jitter stays well inside the 30 px rage radius.
		dx, dy = clamp(6*s.r.NormFloat64(), 10), clamp(4*s.r.NormFloat64(), 8)
		s.pointer("$click", tg, ox, oy, dx, dy)
	}
	i := s.pointer("$rageclick", tg, ox, oy, dx, dy)
	s.pBegin()
	s.pInt("$click_count", int64(n))
	s.pEnd(i)
}

// dead records a click on tg that changed nothing within 2.5 s.
func (s *sess) dead(tg *target) {
	s.click(tg)
	i := s.pointer("$deadclick", tg, s.lastOX, s.lastOY, 0, 0)
	s.pBegin()
	s.pInt("$dead_ms", 2500)
	s.pEnd(i)
	s.wait(2500 + s.logn(1500, 0.5))
}

// errorClick records a click on tg that throws an uncaught error.
func (s *sess) errorClick(tg *target) {
	s.click(tg)
	ox, oy := s.lastOX, s.lastOY
	s.wait(2 + s.r.Int64N(30))
	w := errorWording[s.dev.jsError]
	i := s.ev("$error")
	s.pBegin()
	s.pStr("$error_type", "TypeError")
	s.pStr("$error_message", w.message)
	s.pStr("$error_source", s.g.cfg.Host+"/assets/app.js")
	s.pInt("$error_lineno", 96)
	s.pInt("$error_colno", 23)
	s.pStr("$error_stack", s.g.errStacks[s.dev.jsError])
	s.pEnd(i)
	i = s.pointer("$errorclick", tg, ox, oy, 0, 0)
	s.pBegin()
	s.pStr("$error_message", w.message)
	s.pEnd(i)
	s.wait(s.logn(2000, 0.5))
	if s.r.Float64() < 0.35 {
		// People try again.
		s.click(tg)
		s.wait(s.logn(1500, 0.5))
	}
}

func (s *sess) backgroundError() {
	i := s.ev("$error")
	s.pBegin()
	s.pStr("$error_type", "Error")
	s.pStr("$error_message", "ResizeObserver loop completed with undelivered notifications.")
	s.pEnd(i)
}

func (s *sess) hesitate(tg *target) {
	ms := 1500 + s.logn(900, 0.6)
	i := s.pointer("$hesitation", tg, s.offset(), s.offset(), 0, 0)
	s.pBegin()
	s.pInt("$hesitation_ms", ms)
	s.pEnd(i)
	s.wait(ms)
}

func (s *sess) thrash() {
	r := s.r
	x := math.Round(float64(s.vw) * (0.2 + 0.6*r.Float64()))
	y := math.Round(math.Max(s.pg.bottom, float64(s.vh)) - float64(s.vh)*(0.2+0.6*r.Float64()))
	i := s.ev("$thrash")
	s.meta[i].fOff, s.meta[i].fN = int32(len(s.floats)), 2
	s.floats = append(s.floats, x, math.Max(0, y))
	s.sizes(&s.raws[i])
	ms := 1200 + r.Int64N(800)
	s.pBegin()
	s.pInt("$direction_changes", int64(10+r.IntN(15)))
	s.pInt("$duration_ms", ms)
	s.pEnd(i)
	s.wait(ms)
}

// change reports that a field's value changed, never the value itself.
func (s *sess) change(tg *target) {
	i := s.ev("$change")
	s.raws[i].Elements = tg.chain
	s.raws[i].Selector = tg.sel
}

func (s *sess) submit(form *target) {
	s.wait(5 + s.r.Int64N(40))
	i := s.ev("$submit")
	s.raws[i].Elements = form.chain
	s.raws[i].Selector = form.sel
}

func (s *sess) typeInto(tg *target) {
	s.click(tg)
	s.wait(1200 + s.logn(2500, 0.6))
	s.change(tg)
}

// formAbandon reports a form that was touched and left without submitting.
func (s *sess) formAbandon(form *target, id string, touched int) {
	s.wait(s.logn(6000, 0.7))
	i := s.ev("$formabandon")
	s.raws[i].Elements = form.chain
	s.raws[i].Selector = form.sel
	s.pBegin()
	s.pStr("$form", id)
	s.pInt("$fields_touched", int64(touched))
	s.pEnd(i)
}

// clickNoise clicks something that is not interactive on the current page.
func (s *sess) clickNoise() {
	switch s.pg.kind {
	case PageLanding:
		if s.r.Float64() < 0.5 {
			s.click(tHeroImage)
		} else {
			s.click(tHeroTitle)
		}
	case PageProduct:
		s.click(tProductImage)
	case PagePost:
		s.click(tParagraph)
	}
}

// ---- time and scrolling ----

func (s *sess) wait(ms int64) { s.t += max(1, ms) }

// logn draws a log-normal duration in ms with the given median.
func (s *sess) logn(median, sigma float64) int64 {
	return int64(median * math.Exp(sigma*s.r.NormFloat64()))
}

// geometric draws the number of failures before a success of probability
// p, capped at limit.
func (s *sess) geometric(p float64, limit int) int {
	n := 0
	for n < limit && s.r.Float64() >= p {
		n++
	}
	return n
}

func (s *sess) see(y float64) {
	s.pg.bottom = math.Min(float64(s.pg.docH), math.Max(s.pg.bottom, y+float64(s.vh)*0.3*s.r.Float64()))
}

func (s *sess) scrollTo(frac float64) {
	s.pg.bottom = math.Min(float64(s.pg.docH), math.Max(s.pg.bottom, frac*float64(s.pg.docH)))
}

func (s *sess) zipfProduct() int { return pickCDF(productCDF, s.r.Float64()) }

// ---- properties ----

func (s *sess) pBegin() {
	s.pstart = len(s.arena)
	s.arena = append(s.arena, '{')
	s.pfirst = true
}

func (s *sess) pKey(k string) {
	if !s.pfirst {
		s.arena = append(s.arena, ',')
	}
	s.pfirst = false
	s.arena = appendString(s.arena, k)
	s.arena = append(s.arena, ':')
}

func (s *sess) pObj() {
	s.arena = append(s.arena, '{')
	s.pfirst = true
}

func (s *sess) pObjEnd() {
	s.arena = append(s.arena, '}')
	s.pfirst = false
}

func (s *sess) pStr(k, v string) {
	s.pKey(k)
	s.arena = appendString(s.arena, v)
}

func (s *sess) pInt(k string, v int64) {
	s.pKey(k)
	s.arena = strconv.AppendInt(s.arena, v, 10)
}

func (s *sess) pNum(k string, v float64) {
	s.pKey(k)
	s.arena = appendFloat(s.arena, v)
}

func (s *sess) pBool(k string, v bool) {
	s.pKey(k)
	s.arena = strconv.AppendBool(s.arena, v)
}

// pEnd closes the object and attaches it to event i.
func (s *sess) pEnd(i int) {
	s.arena = append(s.arena, '}')
	s.meta[i].pOff, s.meta[i].pEnd = int32(s.pstart), int32(len(s.arena))
}

// finish orders the events by time, drops those past the end of the range,
// and copies them out with their uuids, timestamps, properties and
// coordinates in a few exactly sized allocations.
func (s *sess) finish() {
	for i := range s.meta {
		if s.meta[i].ts < s.g.end {
			s.order = append(s.order, i)
		}
	}
	// Events are generated nearly in order: insertion sort is stable and
	// close to linear here.
	o := s.order
	for i := 1; i < len(o); i++ {
		for j := i; j > 0 && s.meta[o[j]].ts < s.meta[o[j-1]].ts; j-- {
			o[j], o[j-1] = o[j-1], o[j]
		}
	}
	n := len(o)
	s.out = make([]event.Raw, n)
	if n == 0 {
		return
	}
	ids := make([]byte, 0, 36*n)
	for _, i := range o {
		ids = appendUUIDv7(ids, s.meta[i].ts, s.r)
	}
	idStr := string(ids)
	buf := make([]byte, 0, len(s.arena)+14*n)
	nf := 0
	for _, i := range o {
		nf += int(s.meta[i].fN)
	}
	fl := make([]float64, nf)
	nf = 0
	for k, i := range o {
		m := &s.meta[i]
		r := &s.out[k]
		*r = s.raws[i]
		r.UUID = idStr[36*k : 36*(k+1)]
		start := len(buf)
		buf = strconv.AppendInt(buf, m.ts, 10)
		r.Timestamp = buf[start:len(buf):len(buf)]
		if m.pEnd > 0 {
			start = len(buf)
			buf = append(buf, s.arena[m.pOff:m.pEnd]...)
			r.Properties = buf[start:len(buf):len(buf)]
		}
		if m.fN > 0 {
			f := fl[nf : nf+int(m.fN)]
			copy(f, s.floats[m.fOff:])
			r.X, r.Y = &f[0], &f[1]
			if m.fN == 4 {
				r.OffsetX, r.OffsetY = &f[2], &f[3]
			}
			nf += int(m.fN)
		}
	}
}
