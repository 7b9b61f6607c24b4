package insight

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// matrix is a dense row-major n×d matrix.
type matrix struct {
	x    []float64
	n, d int
}

func (m matrix) row(i int) []float64 { return m.x[i*m.d : (i+1)*m.d] }

func sqDist(a, b []float64) float64 {
	s := 0.0
	for j := range a {
		t := a[j] - b[j]
		s += t * t
	}
	return s
}

// kmeansResult is one clustering.
type kmeansResult struct {
	k       int
	centers matrix
	labels  []int
	inertia float64
}

// kmeansPP chooses k initial centres by k-means++ (Arthur and Vassilvitskii
// 2007): each next centre is drawn with probability proportional to the
// squared distance to the nearest centre chosen so far.
func kmeansPP(m matrix, k int, rng *rand.Rand) matrix {
	c := matrix{x: make([]float64, 0, k*m.d), n: 0, d: m.d}
	first := rng.IntN(m.n)
	c.x = append(c.x, m.row(first)...)
	c.n = 1
	dist := make([]float64, m.n)
	for i := range dist {
		dist[i] = sqDist(m.row(i), c.row(0))
	}
	for c.n < k {
		total := 0.0
		for _, v := range dist {
			total += v
		}
		var next int
		if total == 0 {
			next = rng.IntN(m.n)
		} else {
			u := rng.Float64() * total
			for next = 0; next < m.n-1; next++ {
				if u -= dist[next]; u < 0 {
					break
				}
			}
		}
		c.x = append(c.x, m.row(next)...)
		c.n++
		ctr := c.row(c.n - 1)
		for i := range dist {
			if dd := sqDist(m.row(i), ctr); dd < dist[i] {
				dist[i] = dd
			}
		}
	}
	return c
}

// lloyd runs Lloyd's iterations from centers until no label changes or
// maxIter. The assignment step runs on every CPU.
func lloyd(m matrix, centers matrix, maxIter int) kmeansResult {
	k := centers.n
	labels := make([]int, m.n)
	for i := range labels {
		labels[i] = -1
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), m.n/2000+1))
	var inertia float64
	counts := make([]int, k)
	sums := make([]float64, k*m.d)
	for it := 0; it < maxIter; it++ {
		changed := make([]int, workers)
		part := make([]float64, workers)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			lo, hi := w*m.n/workers, (w+1)*m.n/workers
			wg.Add(1)
			go func(w, lo, hi int) {
				defer wg.Done()
				for i := lo; i < hi; i++ {
					r := m.row(i)
					best, bd := 0, math.Inf(1)
					for c := 0; c < k; c++ {
						if dd := sqDist(r, centers.row(c)); dd < bd {
							best, bd = c, dd
						}
					}
					if labels[i] != best {
						labels[i] = best
						changed[w]++
					}
					part[w] += bd
				}
			}(w, lo, hi)
		}
		wg.Wait()
		inertia = 0
		nChanged := 0
		for w := range part {
			inertia += part[w]
			nChanged += changed[w]
		}
		if nChanged == 0 && it > 0 {
			break
		}
		clear(counts)
		clear(sums)
		for i, l := range labels {
			counts[l]++
			s := sums[l*m.d : (l+1)*m.d]
			for j, v := range m.row(i) {
				s[j] += v
			}
		}
		for c := 0; c < k; c++ {
			if counts[c] == 0 {
				// An empty cluster takes the point farthest from its centre.
				far, fd := 0, -1.0
				for i, l := range labels {
					if dd := sqDist(m.row(i), centers.row(l)); dd > fd {
						far, fd = i, dd
					}
				}
				copy(centers.row(c), m.row(far))
				labels[far] = c
				continue
			}
			ctr := centers.row(c)
			s := sums[c*m.d : (c+1)*m.d]
			for j := range ctr {
				ctr[j] = s[j] / float64(counts[c])
			}
		}
	}
	return kmeansResult{k: k, centers: centers, labels: labels, inertia: inertia}
}

// kmeans runs k-means++ then Lloyd, restarts times, and keeps the lowest
// inertia.
func kmeans(m matrix, k, restarts, maxIter int, rng *rand.Rand) kmeansResult {
	var best kmeansResult
	for r := 0; r < max(1, restarts); r++ {
		res := lloyd(m, kmeansPP(m, k, rng), maxIter)
		if r == 0 || res.inertia < best.inertia {
			best = res
		}
	}
	return best
}

// silhouette is the mean silhouette coefficient (Rousseeuw 1987) of the
// points idx under labels: for each point, (b−a)/max(a,b), with a its mean
// distance to its own cluster and b the least mean distance to another.
// Points alone in their cluster score 0.
func silhouette(m matrix, labels []int, k int, idx []int) float64 {
	if k < 2 || len(idx) < 2 {
		return 0
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	partial := make([]float64, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			sum := make([]float64, k)
			cnt := make([]int, k)
			for p := w; p < len(idx); p += workers {
				i := idx[p]
				clear(sum)
				clear(cnt)
				ri := m.row(i)
				for _, j := range idx {
					if j == i {
						continue
					}
					l := labels[j]
					sum[l] += math.Sqrt(sqDist(ri, m.row(j)))
					cnt[l]++
				}
				own := labels[i]
				if cnt[own] == 0 {
					continue
				}
				a := sum[own] / float64(cnt[own])
				b := math.Inf(1)
				for c := 0; c < k; c++ {
					if c != own && cnt[c] > 0 {
						b = math.Min(b, sum[c]/float64(cnt[c]))
					}
				}
				if math.IsInf(b, 1) {
					continue
				}
				if den := math.Max(a, b); den > 0 {
					partial[w] += (b - a) / den
				}
			}
		}(w)
	}
	wg.Wait()
	total := 0.0
	for _, v := range partial {
		total += v
	}
	return total / float64(len(idx))
}

// sampleRows returns up to n distinct row indices drawn without
// replacement (all rows, in order, when there are at most n).
func sampleRows(rows, n int, rng *rand.Rand) []int {
	if rows <= n {
		idx := make([]int, rows)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	perm := rng.Perm(rows)[:n]
	return perm
}

func subMatrix(m matrix, idx []int) matrix {
	out := matrix{x: make([]float64, 0, len(idx)*m.d), n: len(idx), d: m.d}
	for _, i := range idx {
		out.x = append(out.x, m.row(i)...)
	}
	return out
}

// partition is a clustering of every row with the silhouette and the
// explained variance of each k tried.
type partition struct {
	k          int
	labels     []int
	centers    matrix
	silhouette float64
	scores     map[int]float64
	explained  map[int]float64
}

// Choosing k. The levels of the hierarchy below are scored two ways: the
// silhouette of a sample (how well each session sits in its cluster
// against the next one) and the share of the variance the clusters
// explain (1 − within/total squared distances, R²). Taking the best
// silhouette proved unsound on behavior data: sessions form many small,
// crisp modes (bouncers on a blog post and on the home page, buyers who
// paid and who stopped at checkout, browsers with and without a dead
// click), so the silhouette keeps rising to about fifteen clusters and k
// sat at whatever bound it was given (10 by default; raising the bound
// split the planted groups and the adjusted Rand index fell below 0.8).
// Every geometric criterion tried agrees with it (gap against permuted
// columns, subsample stability, Davies–Bouldin, Caliński–Harabasz): those
// modes are real. What a reader wants first is the few patterns that
// account for most of the differences between sessions, so k is the
// fewest clusters that explain minExplained of the variance, unless the
// next split separates clusters much more cleanly (its silhouette gain
// reaches splitGain: a few far-apart groups explain much of the variance
// even when two of them are merged, and must not be). When no level in the
// bounds explains enough, the best silhouette decides, as before.
const (
	minExplained = 0.75
	splitGain    = 0.05
	// microK is the number of small clusters the hierarchy starts from
	// (more when k_max asks for more): fixed, so that raising k_max
	// does not change the levels below it.
	microK = 30
)

// chooseK applies the rule above to the scores of the levels kMin…kMax.
func chooseK(kMin, kMax int, sil, explained map[int]float64) int {
	best, bestS := kMin, math.Inf(-1)
	for k := kMin; k <= kMax; k++ {
		s, ok := sil[k]
		if !ok {
			continue
		}
		if s > bestS {
			best, bestS = k, s
		}
		if explained[k] < minExplained {
			continue
		}
		if next, ok := sil[k+1]; ok && k+1 <= kMax && next-s >= splitGain {
			continue
		}
		return k
	}
	return best
}

// clusterRows picks k in [kMin, kMax] and clusters m.
//
// Plain k-means for each k proved unstable on behavior data: groups such
// as "bouncers" are wide (one page, but any page), and k-means' local
// optima split them as readily as they separate two small tight groups.
// So the rows are first cut into many small k-means clusters (microK,
// fitted on a sample), those are merged bottom-up by Ward's criterion,
// every level in the bounds is scored (see chooseK), and the chosen level
// seeds a final Lloyd pass over all rows. This is the two-step scheme of
// SPSS TwoStep and BIRCH.
func clusterRows(m matrix, kMin, kMax int, rng *rand.Rand) partition {
	const (
		fitRows   = 20000
		silRows   = 1500
		restarts  = 2
		microIter = 60
	)
	if m.n < 2 {
		return partition{k: 1, labels: make([]int, m.n), centers: matrix{x: append([]float64(nil), m.x...), n: min(m.n, 1), d: m.d},
			scores: map[int]float64{}, explained: map[int]float64{}}
	}
	kMax = max(1, min(kMax, m.n/2))
	kMin = max(1, min(kMin, kMax))
	fitIdx := sampleRows(m.n, fitRows, rng)
	fit := subMatrix(m, fitIdx)
	k0 := max(kMax, min(max(microK, kMax), fit.n/5))
	micro := kmeans(fit, k0, restarts, microIter, rng)
	levels := wardMerge(micro)
	silIdx := sampleRows(fit.n, silRows, rng)
	total := totalSquares(fit)
	scores, explained := map[int]float64{}, map[int]float64{}
	labels := make([]int, fit.n)
	for k := kMin; k <= kMax; k++ {
		lv, ok := levels[k]
		if !ok {
			continue
		}
		for i, l := range micro.labels {
			labels[i] = lv[l]
		}
		s := 0.0
		if k > 1 {
			s = silhouette(fit, labels, k, silIdx)
		}
		scores[k] = s
		explained[k] = 1
		if total > 0 {
			explained[k] = 1 - withinSquares(fit, labels, centroids(fit, labels, k))/total
		}
	}
	bestK := chooseK(kMin, kMax, scores, explained)
	// Seed the final pass with the chosen level's centroids.
	lv := levels[bestK]
	for i, l := range micro.labels {
		labels[i] = lv[l]
	}
	res := lloyd(m, centroids(fit, labels, bestK), 50)
	final := silhouette(m, res.labels, bestK, sampleRows(m.n, silRows, rng))
	return partition{k: bestK, labels: res.labels, centers: res.centers, silhouette: final, scores: scores, explained: explained}
}

// centroids returns the mean row of each of the k groups of labels.
func centroids(m matrix, labels []int, k int) matrix {
	c := matrix{x: make([]float64, k*m.d), n: k, d: m.d}
	counts := make([]int, k)
	for i, l := range labels {
		counts[l]++
		row := c.row(l)
		for j, v := range m.row(i) {
			row[j] += v
		}
	}
	for g, n := range counts {
		row := c.row(g)
		for j := range row {
			row[j] /= float64(max(n, 1))
		}
	}
	return c
}

// withinSquares is the sum of squared distances of rows to their centre.
func withinSquares(m matrix, labels []int, centers matrix) float64 {
	var w float64
	for i, l := range labels {
		w += sqDist(m.row(i), centers.row(l))
	}
	return w
}

// totalSquares is the sum of squared distances of rows to their mean.
func totalSquares(m matrix) float64 {
	return withinSquares(m, make([]int, m.n), centroids(m, make([]int, m.n), 1))
}

// wardMerge merges the clusters of micro (a fine k-means) bottom-up by
// Ward's criterion, the increase in within-cluster squared error
// n_a·n_b/(n_a+n_b)·‖c_a−c_b‖², and returns for every k in [1, micro.k]
// the group of each micro cluster: levels[k][c] in [0, k).
func wardMerge(micro kmeansResult) map[int][]int {
	k0, d := micro.k, micro.centers.d
	size := make([]float64, k0)
	for _, l := range micro.labels {
		size[l]++
	}
	type grp struct {
		c       []float64
		n       float64
		members []int
	}
	var groups []*grp
	for c := 0; c < k0; c++ {
		if size[c] == 0 {
			continue
		}
		groups = append(groups, &grp{c: append([]float64(nil), micro.centers.row(c)...), n: size[c], members: []int{c}})
	}
	levels := map[int][]int{}
	record := func() {
		lv := make([]int, k0)
		for gi, g := range groups {
			for _, m := range g.members {
				lv[m] = gi
			}
		}
		levels[len(groups)] = lv
	}
	record()
	for len(groups) > 1 {
		bi, bj, best := 0, 1, math.Inf(1)
		for i := range groups {
			for j := i + 1; j < len(groups); j++ {
				a, b := groups[i], groups[j]
				cost := a.n * b.n / (a.n + b.n) * sqDist(a.c, b.c)
				if cost < best {
					bi, bj, best = i, j, cost
				}
			}
		}
		a, b := groups[bi], groups[bj]
		n := a.n + b.n
		for j := 0; j < d; j++ {
			a.c[j] = (a.c[j]*a.n + b.c[j]*b.n) / n
		}
		a.n = n
		a.members = append(a.members, b.members...)
		groups = append(groups[:bj], groups[bj+1:]...)
		record()
	}
	return levels
}
