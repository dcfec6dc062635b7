package secagg

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAddVecMatchesScalar checks addVec (the AVX2 kernel where the CPU has
// it) against a plain loop in Z/2^32, for lengths around the kernel's
// 32-element step and both signs.
func TestAddVecMatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 31, 32, 33, 63, 64, 100, 1000, 4099} {
		for _, sub := range []bool{false, true} {
			d := make([]uint32, n)
			s := make([]uint32, n+3) // longer sources are allowed
			for i := range d {
				d[i] = rng.Uint32()
			}
			for i := range s {
				s[i] = rng.Uint32()
			}
			want := slices.Clone(d)
			for i := range want {
				if sub {
					want[i] -= s[i]
				} else {
					want[i] += s[i]
				}
			}
			addVec(d, s, sub)
			if !slices.Equal(d, want) {
				t.Fatalf("n=%d sub=%v: addVec differs from the scalar loop", n, sub)
			}
		}
	}
}

// TestRoundHalfAwayMatchesMathRound checks the fast rounding against
// math.Round on halves, near-halves, large values and random numbers.
func TestRoundHalfAwayMatchesMathRound(t *testing.T) {
	vals := []float64{0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49999999999999994, -0.49999999999999994,
		1 << 52, -(1 << 52), 1<<52 + 1, 1<<53 - 1, 4503599627370495.5, -4503599627370495.5, 2147483647.5, -2147483648.5}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100000 {
		x := (rng.Float64() - 0.5) * float64(int64(1)<<rng.IntN(40))
		vals = append(vals, x, math.Floor(x)+0.5, math.Nextafter(math.Floor(x)+0.5, 0), math.Nextafter(math.Floor(x)+0.5, math.Inf(1)))
	}
	for _, x := range vals {
		if got, want := roundHalfAway(x), math.Round(x); got != want || math.Signbit(got) != math.Signbit(want) {
			t.Fatalf("roundHalfAway(%v) = %v, math.Round = %v", x, got, want)
		}
	}
}
