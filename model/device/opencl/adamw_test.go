package opencl

import (
	"math"
	"testing"

	"github.com/synthfed/synthfed/model/optim"
)

// TestAdamWMatchesOptim runs five steps of the fused kernel against
// model/optim.Adam (the CPU path, float64 arithmetic rounded to float32
// per step) with weight decay and active gradient clipping. The device
// computes in float32, so each moment is held to 1e-5 of its value plus
// 1e-6 (about 16 float32 ulps) of the magnitudes of the two terms it sums
// (b*old and (1-b)*new: they may cancel), and the weights to 1e-6 relative
// plus 1e-5 of the learning rate (the update's own size).
func TestAdamWMatchesOptim(t *testing.T) {
	o := testOps(t)
	cfg := optim.AdamConfig{LR: 1e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.05, ClipNorm: 5}
	ad, err := optim.NewAdam(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3001
	w := randn(50, n, 1)
	p := upload(t, o, w)
	m, v := zeros(t, o, n), zeros(t, o, n)
	cpu := append([]float32(nil), w...)
	prevM, prevV := make([]float32, n), make([]float32, n)
	for step := 1; step <= 5; step++ {
		g := randn(uint64(60+step), n, 0.5)
		params := []optim.Param{{Name: "w", Value: cpu, Grad: append([]float32(nil), g...)}}
		norm := optim.GradNorm(params)
		scale := 1.0
		if norm > cfg.ClipNorm {
			scale = cfg.ClipNorm / norm
		}
		if step == 1 && scale == 1 {
			t.Fatalf("gradient norm %v does not exercise clipping", norm)
		}
		if _, err := ad.Step(params); err != nil {
			t.Fatal(err)
		}
		err := o.AdamW(p, upload(t, o, g), m, v, AdamWStep{
			LR: cfg.LR, Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: cfg.Eps,
			WeightDecay: cfg.WeightDecay, Step: step, GradScale: scale,
		})
		if err != nil {
			t.Fatal(err)
		}
		mom := ad.Moments()
		check := func(name string, got, want []float32, rel float64, abs func(i int) float64) {
			t.Helper()
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); d > rel*math.Abs(float64(want[i]))+abs(i) {
					t.Fatalf("step %d %s[%d] = %v, optim %v (error %.3g)", step, name, i, got[i], want[i], d)
				}
			}
		}
		check("m", read(t, m), mom.M[0], 1e-5, func(i int) float64 {
			return 1e-6 * (cfg.Beta1*math.Abs(float64(prevM[i])) + (1-cfg.Beta1)*math.Abs(float64(g[i])*scale))
		})
		check("v", read(t, v), mom.V[0], 1e-5, func(i int) float64 {
			return 1e-6 * (cfg.Beta2*float64(prevV[i]) + (1-cfg.Beta2)*math.Pow(float64(g[i])*scale, 2))
		})
		check("w", read(t, p), cpu, 1e-6, func(int) float64 { return 1e-5 * cfg.LR })
		prevM, prevV = mom.M[0], mom.V[0]
	}
}
