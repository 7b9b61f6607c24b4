package insight

import (
	"math"
	"sort"
	"strings"

	"github.com/sightline-analytics/sightline/event"
)

// A session's feature vector is made of blocks: the autocaptured event mix,
// the custom events (the ones a team named: they say what a session was
// for), the site sections visited (TF-IDF), section bigrams (path
// n-grams), frustration (counts), the elements rage- or error-clicked,
// engagement (duration, active time, pages, events, clicks), scroll depth,
// errors and the device. Bag-of-words blocks are
// centred and scaled as a whole, so that a block of sixty rare terms weighs
// what a block of one dense column weighs, and IDF keeps rare terms
// louder than common ones inside it; dense columns are z-scored one by one.
// Block weights then say how much each aspect of behavior counts in the
// distance. They were tuned on synth's planted behavior groups (see
// cluster_test.go and BENCHMARKS.md): custom events and sections decide
// what a session was about; how much of it happened (counts, time) and the
// device refine it.

// featureBlock names the blocks; the order is the column order.
type featureBlock int

const (
	blockEvents featureBlock = iota
	blockCustom
	blockPages
	blockBigrams
	blockFrustration
	blockEngagement
	blockScroll
	blockErrors
	blockDevice
	blockElements
	numBlocks
)

var blockNames = [numBlocks]string{"events", "custom events", "pages", "paths", "frustration", "engagement", "scroll", "errors", "device",
	"frustrated elements"}

// blockWeight is each block's default share of the squared distance
// (ClusterRequest.Weights overrides it). The device counts little: people
// behave alike on phones and laptops, and a split by device alone tells
// nothing new. Path bigrams are extracted but weigh nothing by default: on
// synth's planted groups they lowered the adjusted Rand index from about
// 0.82 to 0.68 (sections visited already carry what they add, and the
// order of steps splits groups that behave alike); with k chosen by
// explained variance (chooseK), a weight of 0.3 still costs seed 23 of
// the evaluation 0.09 of its index.
//
// Frustration weighs twice: which element people rage- or error-click
// (blockElements: a broken coupon button is one pattern, a zoom-clicked
// product image another), and how many frustrated clicks a session has.
// Dead clicks count a tenth of the others (frustrationShare): the weakest
// signal (a click on a label that looks clickable is one) and common in
// every kind of visit, so at full weight they split ordinary browsing by
// whether someone clicked "Size guide" rather than by what they came for.
var blockWeight = [numBlocks]float64{
	blockEvents: 0.3, blockCustom: 3, blockPages: 3, blockBigrams: 0, blockFrustration: 0.84,
	blockEngagement: 2, blockScroll: 0.4, blockErrors: 0.3, blockDevice: 0.15, blockElements: 1.2,
}

// frustrationShare is each frustration count's part of its block's weight.
var frustrationShare = map[string]float64{"rage clicks": 1, "dead clicks": 0.1, "error clicks": 1}

// column describes one feature column.
type column struct {
	block featureBlock
	name  string // event name, section, "a → b", "rage clicks", …
	// dense columns are z-scored alone; sparse ones scale with their block.
	dense bool
	// share is a dense column's relative part of its block's weight (0:
	// an equal part).
	share float64
}

// vocabulary limits.
const (
	maxEventTerms   = 40
	maxPageTerms    = 60
	maxBigramTerms  = 60
	maxElementTerms = 30
	// minDocShare is the share of sessions a term needs to get a column.
	minDocShare = 0.003
	// collapseChildren: a path prefix with at least this many distinct
	// children becomes a template ("/product/*").
	collapseChildren = 4
)

// parsed is one session's tokens.
type parsed struct {
	events map[string]int
	// pages are page templates in visit order (for descriptions);
	// sections the distinct sections and bigrams the section steps (for
	// the distance).
	pages    []string
	sections map[string]bool
	bigrams  map[string]bool
	// elements are the "kind\x1ftemplate\x1ftarget" of the rage and
	// error clicks.
	elements map[string]bool
	row      *sessionRow
}

// featureSet is the matrix of a run and what its columns mean.
type featureSet struct {
	cols []column
	// raw holds the untransformed values (row-major), x the standardized
	// and weighted ones.
	raw, x      []float64
	n, d        int
	mean, scale []float64
	sessions    []sessionRow
	templates   *templater
	parsed      []parsed
	weights     [numBlocks]float64
}

// section is the first segment of a page template: "/product/*" →
// "/product", "/" → "/".
func section(tp string) string {
	if i := strings.IndexByte(tp[1:], '/'); i >= 0 {
		return tp[:i+1]
	}
	return tp
}

// templater maps paths to page templates: a prefix with many distinct
// children ("/product/alpine-shell-jacket", "/product/…") collapses to
// "/product/*", so pages of one kind count as one term.
type templater struct {
	collapse map[string]bool // prefixes that collapse
}

func newTemplater(rows []sessionRow) *templater {
	var paths []string
	seen := map[string]bool{}
	for i := range rows {
		for _, p := range strings.Split(rows[i].PageSeq, sepItem) {
			if p != "" && !seen[p] {
				seen[p] = true
				paths = append(paths, p)
			}
		}
	}
	return newTemplaterPaths(paths)
}

// newTemplaterPaths builds a templater from distinct paths.
func newTemplaterPaths(paths []string) *templater {
	children := map[string]int{}
	for _, p := range paths {
		if prefix, _, ok := splitLast(p); ok {
			children[prefix]++
		}
	}
	t := &templater{collapse: map[string]bool{}}
	for prefix, c := range children {
		if c >= collapseChildren {
			t.collapse[prefix] = true
		}
	}
	return t
}

// splitLast splits "/a/b/c" into "/a/b" and "c"; paths of one segment do
// not split (the top-level pages stay as they are).
func splitLast(p string) (string, string, bool) {
	p = strings.TrimSuffix(p, "/")
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "", "", false
	}
	return p[:i], p[i+1:], true
}

func (t *templater) template(p string) string {
	if p == "" {
		return "/"
	}
	if prefix, _, ok := splitLast(p); ok && t.collapse[prefix] {
		return prefix + "/*"
	}
	return p
}

// buildFeatures turns session rows into the standardized matrix.
func buildFeatures(rows []sessionRow, weights [numBlocks]float64) *featureSet {
	fs := &featureSet{sessions: rows, templates: newTemplater(rows), weights: weights}
	n := len(rows)
	fs.parsed = make([]parsed, n)
	evDF, secDF, biDF, elDF := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for i := range rows {
		r := &rows[i]
		p := parsed{events: map[string]int{}, sections: map[string]bool{}, bigrams: map[string]bool{}, elements: map[string]bool{}, row: r}
		for _, e := range strings.Split(r.EventSeq, sepItem) {
			if e != "" {
				p.events[e]++
			}
		}
		prevTp, prevSec := "", ""
		for _, path := range strings.Split(r.PageSeq, sepItem) {
			if path == "" {
				continue
			}
			tp := fs.templates.template(path)
			if tp != prevTp {
				p.pages = append(p.pages, tp)
			}
			prevTp = tp
			sec := section(tp)
			p.sections[sec] = true
			if prevSec != "" && sec != prevSec {
				p.bigrams[prevSec+" → "+sec] = true
			}
			prevSec = sec
		}
		for e := range p.events {
			evDF[e]++
		}
		for sec := range p.sections {
			secDF[sec]++
		}
		for b := range p.bigrams {
			biDF[b]++
		}
		for _, rec := range strings.Split(r.Frustration, sepRecord) {
			parts := strings.SplitN(rec, sepItem, 3)
			if len(parts) == 3 && (parts[0] == "rage" || parts[0] == "error") {
				p.elements[parts[0]+sepItem+fs.templates.template(parts[1])+sepItem+targetLabel(parts[2])] = true
			}
		}
		for e := range p.elements {
			elDF[e]++
		}
		fs.parsed[i] = p
	}
	minDF := max(2, int(math.Ceil(minDocShare*float64(n))))
	evTerms := topTerms(evDF, minDF, maxEventTerms)
	secTerms := topTerms(secDF, minDF, maxPageTerms)
	biTerms := topTerms(biDF, minDF, maxBigramTerms)
	elTerms := topTerms(elDF, minDF, maxElementTerms)

	for _, e := range evTerms {
		b := blockEvents
		if !strings.HasPrefix(e, "$") {
			b = blockCustom
		}
		fs.cols = append(fs.cols, column{block: b, name: e})
	}
	for _, p := range secTerms {
		fs.cols = append(fs.cols, column{block: blockPages, name: p})
	}
	for _, b := range biTerms {
		fs.cols = append(fs.cols, column{block: blockBigrams, name: b})
	}
	for _, e := range elTerms {
		fs.cols = append(fs.cols, column{block: blockElements, name: e})
	}
	for _, name := range []string{"rage clicks", "dead clicks", "error clicks"} {
		fs.cols = append(fs.cols, column{block: blockFrustration, name: name, dense: true, share: frustrationShare[name]})
	}
	for _, name := range []string{"duration", "active time", "pages", "events", "clicks"} {
		fs.cols = append(fs.cols, column{block: blockEngagement, name: name, dense: true})
	}
	fs.cols = append(fs.cols, column{block: blockScroll, name: "scroll depth", dense: true})
	fs.cols = append(fs.cols, column{block: blockErrors, name: "errors", dense: true})
	for _, dv := range devices {
		fs.cols = append(fs.cols, column{block: blockDevice, name: dv})
	}
	d := len(fs.cols)
	fs.n, fs.d = n, d
	fs.raw = make([]float64, n*d)

	idf := func(df int) float64 { return math.Log(float64(n+1) / float64(df+1)) }
	idfs := func(terms []string, df map[string]int) []float64 {
		out := make([]float64, len(terms))
		for j, t := range terms {
			out[j] = idf(df[t])
		}
		return out
	}
	evIDF, secIDF, biIDF, elIDF := idfs(evTerms, evDF), idfs(secTerms, secDF), idfs(biTerms, biDF), idfs(elTerms, elDF)
	for i := range fs.parsed {
		p := &fs.parsed[i]
		r := p.row
		x := fs.raw[i*d : (i+1)*d]
		k := 0
		for j, t := range evTerms {
			c := float64(p.events[t])
			if strings.HasPrefix(t, "$") {
				x[k] = math.Log1p(c) * evIDF[j]
			} else if c > 0 {
				// Whether a session searched or bought matters more
				// than how often.
				x[k] = evIDF[j]
			}
			k++
		}
		for j, t := range secTerms {
			if p.sections[t] {
				x[k] = secIDF[j]
			}
			k++
		}
		for j, t := range biTerms {
			if p.bigrams[t] {
				x[k] = biIDF[j]
			}
			k++
		}
		for j, t := range elTerms {
			if p.elements[t] {
				x[k] = elIDF[j]
			}
			k++
		}
		dur := r.End.Sub(r.Start).Seconds()
		scroll := math.Max(0, r.MaxScroll) / 100
		dense := [...]float64{
			math.Log1p(float64(r.Rage)), math.Log1p(float64(r.Dead)), math.Log1p(float64(r.ErrorClicks)),
			math.Log1p(dur), math.Log1p(activeSeconds(r)), math.Log1p(float64(len(p.pages))), math.Log1p(float64(r.Events)),
			math.Log1p(float64(r.Clicks)),
			scroll,
			math.Log1p(float64(r.Errors)),
		}
		k += copy(x[k:], dense[:])
		for _, dv := range devices {
			if r.Device == dv {
				x[k] = 1
			}
			k++
		}
	}
	fs.standardize()
	return fs
}

var devices = []string{event.DeviceDesktop, event.DeviceMobile, event.DeviceTablet, event.DeviceBot}

// activeSeconds estimates time with activity: 10 s per 10-second slot with
// an event, at most the duration (as the query engine's sessions do when a
// session has no replay).
func activeSeconds(r *sessionRow) float64 {
	dur := r.End.Sub(r.Start).Seconds()
	return math.Min(float64(r.ActiveSlots)*10, math.Max(dur, 10))
}

// topTerms returns the terms with document frequency ≥ minDF, most frequent
// first, at most limit, ties by name.
func topTerms(df map[string]int, minDF, limit int) []string {
	var terms []string
	for t, c := range df {
		if c >= minDF {
			terms = append(terms, t)
		}
	}
	sort.Slice(terms, func(i, j int) bool {
		if df[terms[i]] != df[terms[j]] {
			return df[terms[i]] > df[terms[j]]
		}
		return terms[i] < terms[j]
	})
	if len(terms) > limit {
		terms = terms[:limit]
	}
	return terms
}

// standardize fills x, mean and scale from raw.
func (fs *featureSet) standardize() {
	n, d := fs.n, fs.d
	fs.mean = make([]float64, d)
	fs.scale = make([]float64, d)
	vari := make([]float64, d)
	for i := 0; i < n; i++ {
		row := fs.raw[i*d : (i+1)*d]
		for j, v := range row {
			fs.mean[j] += v
		}
	}
	for j := range fs.mean {
		fs.mean[j] /= float64(max(n, 1))
	}
	for i := 0; i < n; i++ {
		row := fs.raw[i*d : (i+1)*d]
		for j, v := range row {
			dv := v - fs.mean[j]
			vari[j] += dv * dv
		}
	}
	for j := range vari {
		vari[j] /= float64(max(n, 1))
	}
	// Sparse blocks: one scale for the block (its total variance), so that
	// the block's squared distances sum to its weight on average.
	var blockVar, blockDense [numBlocks]float64
	for j, c := range fs.cols {
		if c.dense {
			blockDense[c.block] += c.weightShare()
		} else {
			blockVar[c.block] += vari[j]
		}
	}
	for j, c := range fs.cols {
		var s float64
		if c.dense {
			// Each dense column gets its share of the block's weight.
			s = math.Sqrt(vari[j]) * math.Sqrt(blockDense[c.block]/(c.weightShare()*fs.weights[c.block]))
		} else {
			s = math.Sqrt(blockVar[c.block]) / math.Sqrt(fs.weights[c.block])
		}
		if s < 1e-12 || math.IsNaN(s) || math.IsInf(s, 0) || fs.weights[c.block] == 0 {
			s = 0 // a constant column: left out of the distance
		}
		fs.scale[j] = s
	}
	fs.x = make([]float64, n*d)
	for i := 0; i < n; i++ {
		src, dst := fs.raw[i*d:(i+1)*d], fs.x[i*d:(i+1)*d]
		for j, v := range src {
			if fs.scale[j] != 0 {
				dst[j] = (v - fs.mean[j]) / fs.scale[j]
			}
		}
	}
}

func (c column) weightShare() float64 {
	if c.share > 0 {
		return c.share
	}
	return 1
}
