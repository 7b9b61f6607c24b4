package insight

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/sightline-analytics/sightline/event"
)

// targetLabel names a clicked element for people: its text, else its id,
// else its tag and first class.
func targetLabel(chainTarget string) string {
	els, err := event.ParseChain(chainTarget)
	if err != nil || len(els) == 0 {
		return chainTarget
	}
	el := els[0]
	switch {
	case strings.TrimSpace(el.Text) != "":
		t := strings.Join(strings.Fields(el.Text), " ")
		if len(t) > 40 {
			t = t[:40] + "…"
		}
		return "'" + t + "'"
	case el.ID != "":
		return "#" + el.ID
	case len(el.Classes) > 0:
		return el.Tag + "." + el.Classes[0]
	}
	return el.Tag
}

// describe writes a cluster's plain-words description from its most
// distinctive facts, for example "mobile sessions that rage-click 'Apply
// coupon' on /cart and leave without purchase".
func describe(cl *Cluster, share, base map[string]float64, baseConv float64, hasConv bool, conv string) string {
	lift := func(f string) float64 {
		if base[f] == 0 {
			return 0
		}
		return share[f] / base[f]
	}
	strong := func(f string, minShare, minLift float64) bool {
		return share[f] >= minShare && lift(f) >= minLift
	}
	// Subject: the device when it dominates the cluster more than it does
	// the whole.
	subject := "sessions"
	for _, dv := range devices {
		f := factDevice + dv
		if strong(f, 0.6, 1.3) || (dv == event.DeviceBot && share[f] >= 0.5) {
			if dv == event.DeviceBot {
				subject = "bot sessions"
			} else {
				subject = dv + " sessions"
			}
			break
		}
	}
	var verbs []string
	// Frustration first: it is what a team acts on.
	type scored struct {
		f string
		s float64
	}
	var fr []scored
	for f := range share {
		if strings.HasPrefix(f, factFrustration) && strong(f, 0.25, 2) {
			fr = append(fr, scored{f, share[f]})
		}
	}
	sort.Slice(fr, func(i, j int) bool {
		if fr[i].s != fr[j].s {
			return fr[i].s > fr[j].s
		}
		return fr[i].f < fr[j].f
	})
	framedPages := map[string]bool{}
	for _, s := range fr[:min(len(fr), 2)] {
		parts := strings.SplitN(strings.TrimPrefix(s.f, factFrustration), sepItem, 3)
		verb := map[string]string{"rage": "rage-click", "dead": "dead-click", "error": "hit errors clicking"}[parts[0]]
		verbs = append(verbs, fmt.Sprintf("%s %s on %s", verb, parts[2], parts[1]))
		framedPages[parts[1]] = true
	}
	// Custom events they do (that others do less).
	var evs []scored
	for f := range share {
		if strings.HasPrefix(f, factEvent) && strings.TrimPrefix(f, factEvent) != conv && strong(f, 0.5, 1.5) {
			evs = append(evs, scored{f, share[f] * math.Log(lift(f))})
		}
	}
	sort.Slice(evs, func(i, j int) bool {
		if evs[i].s != evs[j].s {
			return evs[i].s > evs[j].s
		}
		return evs[i].f < evs[j].f
	})
	if len(evs) > 0 {
		var names []string
		for _, e := range evs[:min(len(evs), 3)] {
			names = append(names, strings.TrimPrefix(e.f, factEvent))
		}
		verbs = append(verbs, "do "+joinAnd(names))
	}
	// Pages they visit.
	var pgs []scored
	for f := range share {
		if strings.HasPrefix(f, factPage) && !framedPages[strings.TrimPrefix(f, factPage)] && strong(f, 0.5, 1.5) {
			pgs = append(pgs, scored{f, share[f] * math.Log(lift(f))})
		}
	}
	sort.Slice(pgs, func(i, j int) bool {
		if pgs[i].s != pgs[j].s {
			return pgs[i].s > pgs[j].s
		}
		return pgs[i].f < pgs[j].f
	})
	if len(pgs) > 0 {
		var names []string
		for _, p := range pgs[:min(len(pgs), 2)] {
			names = append(names, strings.TrimPrefix(p.f, factPage))
		}
		verbs = append(verbs, "visit "+joinAnd(names))
	}
	// Shape of the visit.
	switch {
	case strong(factOnePage, 0.7, 1.3):
		verbs = append(verbs, "view one page for "+fmtSeconds(cl.MedianDurationSeconds))
	case strong(factLong, 0.5, 1.5):
		verbs = append(verbs, fmt.Sprintf("stay %s over %.0f pages", fmtSeconds(cl.MedianDurationSeconds), cl.MedianPages))
	case cl.MedianPages >= 6:
		verbs = append(verbs, fmt.Sprintf("view %.0f pages in %s", cl.MedianPages, fmtSeconds(cl.MedianDurationSeconds)))
	}
	if strong(factDeep, 0.5, 1.5) {
		verbs = append(verbs, "scroll deep")
	}
	if strong(factErrors, 0.3, 2) {
		verbs = append(verbs, "meet JavaScript errors")
	}
	if len(verbs) == 0 {
		verbs = append(verbs, fmt.Sprintf("view %.0f pages in %s", cl.MedianPages, fmtSeconds(cl.MedianDurationSeconds)))
	}
	desc := subject + " that " + joinAnd(verbs)
	// How it ends.
	if hasConv && cl.Conversion != nil && baseConv > 0 {
		switch rate := *cl.Conversion; {
		case rate >= 1.5*baseConv && rate >= 0.2:
			desc += fmt.Sprintf(", and %s (%.0f%% vs %.0f%%)", conv, 100*rate, 100*baseConv)
		case rate <= 0.5*baseConv && len(fr) > 0:
			exit := ""
			for f := range share {
				if strings.HasPrefix(f, factExit) && share[f] >= 0.5 && (exit == "" || share[f] > share[exit]) {
					exit = f
				}
			}
			if exit != "" {
				desc += " and leave from " + strings.TrimPrefix(exit, factExit)
			} else {
				desc += " and leave without " + conv
			}
		}
	}
	return strings.ToUpper(desc[:1]) + desc[1:]
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}
