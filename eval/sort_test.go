package eval

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestArgsortKeys compares the radix argsort with a stable comparison sort
// on floats with ties, signs, signed zeros and extremes, above and below
// the radix threshold.
func TestArgsortKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, n := range []int{0, 1, 5, radixMin - 1, radixMin, 3000} {
		vals := make([]float64, n)
		for i := range vals {
			switch r.IntN(6) {
			case 0:
				vals[i] = math.Copysign(0, -1)
			case 1:
				vals[i] = 0
			case 2:
				vals[i] = math.Round(r.NormFloat64()*10) / 10
			case 3:
				vals[i] = r.NormFloat64() * 1e300
			default:
				vals[i] = r.Float64()
			}
		}
		keys := make([]uint64, n)
		idx := make([]int32, n)
		for i, v := range vals {
			keys[i], idx[i] = orderKey(v), int32(i)
		}
		argsortKeys(keys, idx)
		want := make([]int32, n)
		for i := range want {
			want[i] = int32(i)
		}
		slices.SortStableFunc(want, func(a, b int32) int { return cmp.Compare(vals[a], vals[b]) })
		for i := range want {
			// Equal values (both zeros included) keep index order.
			if vals[idx[i]] != vals[want[i]] || (i > 0 && vals[idx[i]] == vals[idx[i-1]] && idx[i] < idx[i-1]) {
				t.Fatalf("n=%d: position %d holds %v (row %d), want %v (row %d)", n, i, vals[idx[i]], idx[i], vals[want[i]], want[i])
			}
		}
	}
}

// TestAUROCLargeMatchesBruteForce covers the radix path of newBinary.
func TestAUROCLargeMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	for trial := range 6 {
		y := simLabels(r, 400+r.IntN(1200), 0.3, 0.1)
		s := simScores(r, y, 0.7, trial%3)
		got, err := AUROC(s, y)
		if want := bruteAUC(s, y); err != nil || math.Abs(got-want) > 1e-12 {
			t.Fatalf("trial %d: AUROC %v, %v; brute force %v", trial, got, err, want)
		}
		_, phi, _ := labelInfluence(s, y)
		_, want := bruteInfluence(s, y)
		for i := range phi {
			if math.Abs(phi[i]-want[i]) > 1e-12 {
				t.Fatalf("trial %d row %d: influence %v, brute %v", trial, i, phi[i], want[i])
			}
		}
	}
}
