package insight

import (
	"math"
	"testing"
)

func TestAdjustedRandIndex(t *testing.T) {
	tests := []struct {
		name string
		a, b []int
		want float64
	}{
		{"identical", []int{0, 0, 1, 1, 2, 2}, []int{0, 0, 1, 1, 2, 2}, 1},
		{"renamed", []int{0, 0, 1, 1, 2, 2}, []int{5, 5, 3, 3, 9, 9}, 1},
		// By hand: contingency [[2,1],[0,3]]; Σ C(n_ij,2) = 1+0+3 = 4,
		// rows Σ C(a_i,2) = 3+3 = 6, columns Σ C(b_j,2) = 1+6 = 7,
		// expected 6·7/C(6,2) = 2.8, maximum (6+7)/2 = 6.5:
		// (4−2.8)/(6.5−2.8) = 12/37.
		{"by hand", []int{0, 0, 0, 1, 1, 1}, []int{0, 0, 1, 1, 1, 1}, 12.0 / 37},
		// Wikipedia-style example (scikit-learn docs): [0,0,1,1] vs
		// [0,0,1,2] → 0.5714285714285715.
		{"sklearn split", []int{0, 0, 1, 1}, []int{0, 0, 1, 2}, 0.5714285714285715},
		// scikit-learn: [0,0,1,1] vs [0,1,0,1] → -0.5.
		{"sklearn anti", []int{0, 0, 1, 1}, []int{0, 1, 0, 1}, -0.5},
		// scikit-learn: [0,0,0,0] vs [0,1,2,3] → 0.
		{"one cluster vs singletons", []int{0, 0, 0, 0}, []int{0, 1, 2, 3}, 0},
		{"both one cluster", []int{1, 1, 1}, []int{2, 2, 2}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AdjustedRandIndex(tt.a, tt.b)
			if math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("ARI = %.15f, want %.15f", got, tt.want)
			}
			if back := AdjustedRandIndex(tt.b, tt.a); math.Abs(back-got) > 1e-12 {
				t.Errorf("not symmetric: %v vs %v", got, back)
			}
		})
	}
}
