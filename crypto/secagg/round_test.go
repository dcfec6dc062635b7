package secagg_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/synthfed/synthfed/crypto/secagg"
	"github.com/synthfed/synthfed/crypto/secagg/secaggtest"
)

// newRound builds an in-memory round of n sites with random inputs in
// [-clip, clip] and equal weights.
func newRound(t *testing.T, n, length int, seed uint64) secaggtest.Round {
	t.Helper()
	sites, verify := secaggtest.NewSites(n, seed)
	cfg := secagg.DefaultConfig()
	cfg.MaxWeight = 1
	p, err := cfg.Params(n, length)
	if err != nil {
		t.Fatal(err)
	}
	ctx := secagg.Context{Session: "job-1", Round: 7, Roster: secaggtest.Roster(sites), Params: p}
	rng := rand.New(rand.NewPCG(seed, 1))
	inputs := map[string]secagg.Input{}
	for _, s := range sites {
		v := make([]float32, length)
		for i := range v {
			v[i] = float32((rng.Float64()*2 - 1) * p.Clip)
		}
		inputs[s.ID] = secagg.Input{Values: v, Weight: 1}
	}
	return secaggtest.Round{Context: ctx, Sites: sites, Verify: verify, Inputs: inputs,
		Rand: secaggtest.SeededRand(seed), Workers: 1}
}

// ringSum is the reference: the plain sum in Z/2^32 of the encoded inputs
// of the given sites.
func ringSum(t *testing.T, r secaggtest.Round, ids []string) []uint32 {
	t.Helper()
	n := len(r.Context.Roster)
	sum := make([]uint32, r.Context.Params.Length+1)
	for _, id := range ids {
		enc, _, err := secagg.Encode(r.Inputs[id], r.Context.Params, n)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range enc {
			sum[i] += v
		}
	}
	return sum
}

func TestSecureSumMatchesPlainSum(t *testing.T) {
	for _, tc := range []struct {
		n, length int
		late      bool
	}{{3, 257, false}, {10, 100, true}, {50, 16, false}} {
		t.Run(fmt.Sprintf("n=%d", tc.n), func(t *testing.T) {
			r := newRound(t, tc.n, tc.length, uint64(tc.n))
			r.InputLate = tc.late
			out, err := secaggtest.Run(r)
			if err != nil {
				t.Fatal(err)
			}
			if out.Err != nil {
				t.Fatalf("round failed: %v (site errors %v)", out.Err, out.SiteErrs)
			}
			if len(out.SiteErrs) > 0 {
				t.Fatalf("site errors: %v", out.SiteErrs)
			}
			want := ringSum(t, r, r.Context.Roster)
			for i := range want {
				if out.Result.Ring[i] != want[i] {
					t.Fatalf("ring element %d = %#x, want %#x", i, out.Result.Ring[i], want[i])
				}
			}
			// Decoded mean within one fixed-point step of the float mean.
			step := r.Context.Params.Step(tc.n)
			for i := 0; i < tc.length; i++ {
				var mean float64
				for _, id := range r.Context.Roster {
					mean += float64(r.Inputs[id].Values[i])
				}
				mean /= float64(tc.n)
				if d := math.Abs(float64(out.Result.Mean[i]) - mean); d > step+1e-7*math.Abs(mean) {
					t.Fatalf("element %d: mean %v, float mean %v, |diff| %g > step %g", i, out.Result.Mean[i], mean, d, step)
				}
			}
			if math.Abs(out.Result.WeightSum-float64(tc.n)) > 1e-6 {
				t.Fatalf("weight sum %v, want %d", out.Result.WeightSum, tc.n)
			}
		})
	}
}

// dropScenario drops sites before given phases.
type dropScenario struct {
	name  string
	drops []secagg.Phase // one entry per dropped site, in roster order
	fail  bool
}

// runDrops plays a round with dropouts and checks the exact sum over the
// survivors, or a clean abort with no output.
func runDrops(t *testing.T, r secaggtest.Round, sc dropScenario) {
	t.Helper()
	r.DropBefore = map[string]secagg.Phase{}
	var survivors []string
	for i, id := range r.Context.Roster {
		if i < len(sc.drops) {
			r.DropBefore[id] = sc.drops[i]
			if sc.drops[i] > secagg.PhaseMaskedInput {
				survivors = append(survivors, id) // its input was sent
			}
			continue
		}
		survivors = append(survivors, id)
	}
	out, err := secaggtest.Run(r)
	if err != nil {
		t.Fatal(err)
	}
	if sc.fail {
		if !errors.Is(out.Err, secagg.ErrTooFewSurvivors) {
			t.Fatalf("round error %v, want ErrTooFewSurvivors", out.Err)
		}
		if out.Result != nil {
			t.Fatal("a failed round produced output")
		}
		return
	}
	if out.Err != nil {
		t.Fatalf("round failed: %v (site errors %v)", out.Err, out.SiteErrs)
	}
	if fmt.Sprint(out.Result.Survivors) != fmt.Sprint(survivors) {
		t.Fatalf("survivors %v, want %v", out.Result.Survivors, survivors)
	}
	want := ringSum(t, r, survivors)
	for i := range want {
		if out.Result.Ring[i] != want[i] {
			t.Fatalf("ring element %d = %#x, want %#x (exact sum over %d survivors)", i, out.Result.Ring[i], want[i], len(survivors))
		}
	}
}

// repeat returns k copies of ph.
func repeat(ph secagg.Phase, k int) []secagg.Phase {
	out := make([]secagg.Phase, k)
	for i := range out {
		out[i] = ph
	}
	return out
}

func TestDropoutsUpToThreshold(t *testing.T) {
	phases := []secagg.Phase{secagg.PhaseAdvertise, secagg.PhaseShareKeys, secagg.PhaseMaskedInput,
		secagg.PhaseConsistency, secagg.PhaseUnmask}
	for _, n := range []int{3, 10} {
		r := newRound(t, n, 33, uint64(100+n))
		slack := n - r.Context.Params.Threshold
		var cases []dropScenario
		for _, ph := range phases {
			cases = append(cases,
				dropScenario{name: fmt.Sprintf("n=%d/%d-before-%s", n, slack, ph), drops: repeat(ph, slack)},
				dropScenario{name: fmt.Sprintf("n=%d/%d-before-%s", n, slack+1, ph), drops: repeat(ph, slack+1), fail: true})
		}
		if slack >= 3 {
			mixed := []secagg.Phase{secagg.PhaseShareKeys, secagg.PhaseMaskedInput, secagg.PhaseUnmask}
			cases = append(cases,
				dropScenario{name: fmt.Sprintf("n=%d/mixed", n), drops: mixed},
				dropScenario{name: fmt.Sprintf("n=%d/mixed-plus-one", n), drops: append(mixed, repeat(secagg.PhaseConsistency, slack-2)...), fail: true})
		}
		for _, sc := range cases {
			t.Run(sc.name, func(t *testing.T) { runDrops(t, r, sc) })
		}
	}
}

func TestDropoutsFiftySites(t *testing.T) {
	r := newRound(t, 50, 8, 150)
	slack := 50 - r.Context.Params.Threshold // 16
	drops := append(append(repeat(secagg.PhaseShareKeys, 4), repeat(secagg.PhaseMaskedInput, 8)...), repeat(secagg.PhaseUnmask, slack-12)...)
	runDrops(t, r, dropScenario{drops: drops})
}

func TestSparseGraphRound(t *testing.T) {
	sites, verify := secaggtest.NewSites(20, 9)
	cfg := secagg.DefaultConfig()
	cfg.MaxWeight, cfg.SparseAbove, cfg.Neighbours = 1, 10, 6
	p, err := cfg.Params(20, 24)
	if err != nil {
		t.Fatal(err)
	}
	if p.Neighbours != 6 || p.NeighbourThreshold != 5 {
		t.Fatalf("params %+v, want k=6 t_k=5", p)
	}
	r := newRound(t, 20, 24, 9)
	r.Sites, r.Verify = sites, verify
	r.Context.Params = p
	for _, sc := range []dropScenario{
		{name: "no drops"},
		{name: "two drops", drops: []secagg.Phase{secagg.PhaseMaskedInput, secagg.PhaseUnmask}},
	} {
		t.Run(sc.name, func(t *testing.T) { runDrops(t, r, sc) })
	}
}
