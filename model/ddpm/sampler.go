package ddpm

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/synthfed/synthfed/internal/config"
	"github.com/synthfed/synthfed/model"
)

// The sampling methods.
const (
	// MethodDDIM is deterministic DDIM (eta = 0) on evenly spaced steps.
	MethodDDIM = "ddim"
	// MethodDDPM is ancestral sampling with the posterior variance on the
	// same evenly spaced steps (all T steps when Steps == T).
	MethodDDPM = "ddpm"
)

// SampleConfig controls sampling.
type SampleConfig struct {
	// Method is MethodDDIM or MethodDDPM.
	Method string `toml:"method" json:"method"`
	// Steps is the number of denoising steps, evenly spaced over the
	// schedule with "trailing" spacing, so the first step is at t = T where
	// zero terminal SNR makes x_T pure noise.
	Steps int `toml:"steps" json:"steps"`
	// Guidance is the classifier-free guidance scale w in the study's
	// convention: guided = cond + w*(cond - uncond); 0 is plain conditional.
	Guidance float64 `toml:"guidance" json:"guidance"`
	// GuidanceRescale is phi of Lin et al.: the guided v is blended with a
	// copy rescaled to the conditional prediction's per-image std; 0 is off
	// and the study offers 0.7.
	GuidanceRescale float64 `toml:"guidance_rescale" json:"guidance_rescale"`
	// ClipX0 clamps each predicted x0 to [-1, 1].
	ClipX0 bool `toml:"clip_x0" json:"clip_x0"`
	// BatchSize is the number of images denoised together.
	BatchSize int `toml:"batch_size" json:"batch_size"`
}

// DefaultSampleConfig returns DDIM with 50 steps, no guidance, clipping on,
// batches of 32.
func DefaultSampleConfig() SampleConfig {
	return SampleConfig{Method: MethodDDIM, Steps: 50, ClipX0: true, BatchSize: 32}
}

// Validate reports every invalid field.
func (c SampleConfig) Validate() error {
	var p config.Problems
	if c.Method != MethodDDIM && c.Method != MethodDDPM {
		p.Addf("sample.method %q: want %q or %q", c.Method, MethodDDIM, MethodDDPM)
	}
	if c.Steps < 1 {
		p.Addf("sample.steps %d: want >= 1", c.Steps)
	}
	if c.Guidance < 0 || math.IsNaN(c.Guidance) {
		p.Addf("sample.guidance %v: want >= 0", c.Guidance)
	}
	if c.GuidanceRescale < 0 || c.GuidanceRescale > 1 || math.IsNaN(c.GuidanceRescale) {
		p.Addf("sample.guidance_rescale %v: want in [0,1]", c.GuidanceRescale)
	}
	if c.BatchSize < 1 {
		p.Addf("sample.batch_size %d: want >= 1", c.BatchSize)
	}
	return p.Err()
}

// Denoiser predicts v for a batch of noisy images. x holds len(t) images of
// equal size; null[k] asks for the unconditional (learned null)
// prediction of image k instead of cond[k]. The prediction goes to out.
type Denoiser interface {
	PredictV(ctx context.Context, out, x []float32, t []int, cond [][model.CondDim]float32, null []bool) error
}

// SampleSteps returns the step indices visited by a sampler of n steps over
// a T-step schedule: i_k = round(T - k*T/n) - 1, from T-1 down ("trailing"
// spacing, Lin et al. 2024).
func SampleSteps(T, n int) ([]int, error) {
	if n < 1 || n > T {
		return nil, fmt.Errorf("ddpm: %d sampling steps for a %d-step schedule", n, T)
	}
	out := make([]int, n)
	for k := range out {
		out[k] = int(math.Round(float64(T)-float64(k)*float64(T)/float64(n))) - 1
	}
	return out, nil
}

// noiseSource returns the per-image random stream of seed; an image's noise
// depends on its seed only, not on the batch it is sampled in.
func noiseSource(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x5eed_d1ff))
}

func fillNormal(dst []float32, r *rand.Rand) {
	for i := range dst {
		dst[i] = float32(r.NormFloat64())
	}
}

// SampleWith draws one image of px values per (cond, seed) pair with den,
// in batches of cfg.BatchSize, and returns len(seeds)*px values. It checks
// ctx between denoising steps.
func SampleWith(ctx context.Context, den Denoiser, sched *Schedule, px int, conds [][model.CondDim]float32, seeds []int64, cfg SampleConfig) ([]float32, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(conds) != len(seeds) {
		return nil, fmt.Errorf("ddpm: %d conditions for %d seeds: %w", len(conds), len(seeds), model.ErrShape)
	}
	steps, err := SampleSteps(sched.T(), cfg.Steps)
	if err != nil {
		return nil, err
	}
	if m, ok := den.(*Model); ok {
		m.epoch++ // a device reloads the weights once per call
	}
	out := make([]float32, len(seeds)*px)
	for lo := 0; lo < len(seeds); lo += cfg.BatchSize {
		hi := min(lo+cfg.BatchSize, len(seeds))
		if err := sampleBatch(ctx, den, sched, steps, px, conds[lo:hi], seeds[lo:hi], cfg, out[lo*px:hi*px]); err != nil {
			return nil, fmt.Errorf("ddpm: sampling images %d..%d: %w", lo, hi-1, err)
		}
	}
	return out, nil
}

// sampleBatch denoises one batch in place in x.
func sampleBatch(ctx context.Context, den Denoiser, sched *Schedule, steps []int, px int, conds [][model.CondDim]float32, seeds []int64, cfg SampleConfig, x []float32) error {
	if m, ok := den.(*Model); ok && m.dev != nil {
		return m.sampleOnDevice(ctx, sched, steps, px, conds, seeds, cfg, x)
	}
	n := len(seeds)
	rngs := make([]*rand.Rand, n)
	for k, s := range seeds {
		rngs[k] = noiseSource(s)
		fillNormal(x[k*px:(k+1)*px], rngs[k])
	}
	g := newGuider(n, px, conds, cfg)
	x0 := make([]float32, len(x))
	eps := make([]float32, len(x))
	z := make([]float32, px)
	for s, i := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := g.predict(ctx, den, x, i)
		if err != nil {
			return err
		}
		sched.FromV(x0, eps, x, v, i)
		if cfg.ClipX0 {
			clamp(x0, -1, 1)
		}
		j := -1
		if s+1 < len(steps) {
			j = steps[s+1]
		}
		switch cfg.Method {
		case MethodDDIM:
			ddimStep(x, x0, eps, sched, j)
		case MethodDDPM:
			for k := range n {
				if j >= 0 {
					fillNormal(z, rngs[k])
				}
				ddpmStep(x[k*px:(k+1)*px], x0[k*px:(k+1)*px], z, sched, i, j)
			}
		}
	}
	return nil
}

// abarAt returns abar at index j, with abar = 1 before the first step (j < 0).
func abarAt(s *Schedule, j int) float64 {
	if j < 0 {
		return 1
	}
	return s.AlphaBar[j]
}

// ddimStep sets x = sqrt(abar_j) x0 + sqrt(1-abar_j) eps (eta = 0).
func ddimStep(x, x0, eps []float32, s *Schedule, j int) {
	ab := abarAt(s, j)
	a, sg := math.Sqrt(ab), math.Sqrt(1-ab)
	for k := range x {
		x[k] = float32(a*float64(x0[k]) + sg*float64(eps[k]))
	}
}

// ddpmStep samples x_j from the posterior q(x_j | x_i, x0) of the respaced
// chain: with alpha = abar_i/abar_j and beta = 1-alpha, the mean is
// sqrt(abar_j) beta/(1-abar_i) x0 + sqrt(alpha) (1-abar_j)/(1-abar_i) x_i and
// the variance beta (1-abar_j)/(1-abar_i). At j < 0 it returns x0.
func ddpmStep(x, x0, z []float32, s *Schedule, i, j int) {
	if j < 0 {
		copy(x, x0)
		return
	}
	abI, abJ := s.AlphaBar[i], abarAt(s, j)
	alpha := abI / abJ
	beta := 1 - alpha
	c0 := math.Sqrt(abJ) * beta / (1 - abI)
	ct := math.Sqrt(alpha) * (1 - abJ) / (1 - abI)
	sd := math.Sqrt(beta * (1 - abJ) / (1 - abI))
	for k := range x {
		x[k] = float32(c0*float64(x0[k]) + ct*float64(x[k]) + sd*float64(z[k]))
	}
}

func clamp(v []float32, lo, hi float32) {
	for i, x := range v {
		v[i] = min(max(x, lo), hi)
	}
}
