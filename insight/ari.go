package insight

// AdjustedRandIndex compares two labelings of the same items (Hubert and
// Arabie 1985): 1 for identical partitions (up to renaming), about 0 for
// independent ones, negative when worse than chance. Items are matched by
// position; the slices must have equal length.
func AdjustedRandIndex[A, B comparable](a []A, b []B) float64 {
	if len(a) != len(b) {
		panic("insight: AdjustedRandIndex of labelings of different lengths")
	}
	n := len(a)
	if n < 2 {
		return 1
	}
	type cell struct {
		a A
		b B
	}
	table := map[cell]int{}
	rows := map[A]int{}
	cols := map[B]int{}
	for i := range a {
		table[cell{a[i], b[i]}]++
		rows[a[i]]++
		cols[b[i]]++
	}
	choose2 := func(x int) float64 { return float64(x) * float64(x-1) / 2 }
	var index, sumA, sumB float64
	for _, c := range table {
		index += choose2(c)
	}
	for _, c := range rows {
		sumA += choose2(c)
	}
	for _, c := range cols {
		sumB += choose2(c)
	}
	expected := sumA * sumB / choose2(n)
	maxIndex := (sumA + sumB) / 2
	if maxIndex == expected {
		// Both partitions trivial (one cluster, or all singletons) and
		// identical in that respect.
		return 1
	}
	return (index - expected) / (maxIndex - expected)
}
