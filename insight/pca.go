package insight

import (
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// project reduces m to the principal components that keep keep of its
// variance (at most maxDims), fitted on a sample of at most fitRows rows.
// Euclidean distances are preserved up to the dropped variance, and
// k-means and silhouettes then cost a fraction of the full width.
func project(m matrix, keep float64, maxDims, fitRows int, rng *rand.Rand) matrix {
	if m.d <= maxDims/2 || m.n < 3 {
		return m
	}
	idx := sampleRows(m.n, fitRows, rng)
	mean := make([]float64, m.d)
	for _, i := range idx {
		for j, v := range m.row(i) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(len(idx))
	}
	cov := mat.NewSymDense(m.d, nil)
	buf := make([]float64, m.d)
	for _, i := range idx {
		for j, v := range m.row(i) {
			buf[j] = v - mean[j]
		}
		cov.SymRankOne(cov, 1/float64(len(idx)), mat.NewVecDense(m.d, buf))
	}
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return m
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	order := make([]int, len(vals))
	total := 0.0
	for i, v := range vals {
		order[i] = i
		if v > 0 {
			total += v
		}
	}
	sort.Slice(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
	dims, acc := 0, 0.0
	for _, i := range order {
		if dims >= maxDims || (total > 0 && acc >= keep*total) {
			break
		}
		acc += max(vals[i], 0)
		dims++
	}
	dims = max(dims, 1)
	comp := make([][]float64, dims)
	for c := 0; c < dims; c++ {
		comp[c] = make([]float64, m.d)
		for j := 0; j < m.d; j++ {
			comp[c][j] = vecs.At(j, order[c])
		}
	}
	out := matrix{x: make([]float64, m.n*dims), n: m.n, d: dims}
	for i := 0; i < m.n; i++ {
		r := m.row(i)
		o := out.row(i)
		for c := 0; c < dims; c++ {
			s := 0.0
			for j, v := range r {
				s += (v - mean[j]) * comp[c][j]
			}
			o[c] = s
		}
	}
	return out
}
