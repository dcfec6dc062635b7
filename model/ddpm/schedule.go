package ddpm

import (
	"fmt"
	"math"
)

// Schedule is a discrete noise schedule of T steps. Index i in [0, T) is the
// diffusion step t = i+1 of DESIGN.md: AlphaBar[0] is abar_1 (almost no
// noise) and AlphaBar[T-1] is abar_T. The network sees the index i.
type Schedule struct {
	// AlphaBar is the cumulative product of (1 - beta), per step.
	AlphaBar []float64
	// Beta is the per-step noise variance, recomputed from AlphaBar after
	// any rescale, so Beta[T-1] is 1 under zero terminal SNR.
	Beta []float64
}

// T returns the number of steps.
func (s *Schedule) T() int { return len(s.AlphaBar) }

// CosineSchedule returns the cosine schedule of Nichol & Dhariwal with offset
// offset (the study uses 0.008): abar(t) = f(t)/f(0) with
// f(t) = cos^2(((t/T)+s)/(1+s) * pi/2), betas clipped at 0.999 and abar
// recomputed as the cumulative product of the clipped betas. When zeroSNR
// is set the schedule is rescaled as in Lin et al. 2024 so that abar_T = 0
// exactly and abar_1 is unchanged.
func CosineSchedule(steps int, offset float64, zeroSNR bool) (*Schedule, error) {
	if steps < 2 {
		return nil, fmt.Errorf("ddpm: schedule of %d steps, need at least 2", steps)
	}
	if offset <= 0 || offset >= 1 {
		return nil, fmt.Errorf("ddpm: cosine offset %v outside (0,1)", offset)
	}
	f := func(t int) float64 {
		c := math.Cos((float64(t)/float64(steps) + offset) / (1 + offset) * math.Pi / 2)
		return c * c
	}
	abar := make([]float64, steps)
	prod := 1.0
	for i := range abar {
		t := i + 1
		beta := math.Min(1-f(t)/f(t-1), 0.999)
		prod *= 1 - beta
		abar[i] = prod
	}
	if zeroSNR {
		rescaleZeroSNR(abar)
	}
	return &Schedule{AlphaBar: abar, Beta: betasOf(abar)}, nil
}

// rescaleZeroSNR shifts and scales sqrt(abar) so that its last value is 0
// and its first is unchanged: a <- (a - aT) * a0 / (a0 - aT).
func rescaleZeroSNR(abar []float64) {
	a0 := math.Sqrt(abar[0])
	aT := math.Sqrt(abar[len(abar)-1])
	for i, v := range abar {
		a := (math.Sqrt(v) - aT) * a0 / (a0 - aT)
		abar[i] = a * a
	}
	abar[len(abar)-1] = 0
}

// betasOf returns beta_t = 1 - abar_t/abar_{t-1} with abar_0 = 1.
func betasOf(abar []float64) []float64 {
	b := make([]float64, len(abar))
	prev := 1.0
	for i, v := range abar {
		b[i] = 1 - v/prev
		prev = v
	}
	return b
}

// Coeffs returns sqrt(abar_i) and sqrt(1 - abar_i) for step index i.
func (s *Schedule) Coeffs(i int) (a, sigma float64) {
	ab := s.AlphaBar[i]
	return math.Sqrt(ab), math.Sqrt(1 - ab)
}

// QSample writes x_t = sqrt(abar) x0 + sqrt(1-abar) eps into dst, and the
// v-prediction target v = sqrt(abar) eps - sqrt(1-abar) x0 into v; dst and
// v may be nil to skip them.
func (s *Schedule) QSample(dst, v, x0, eps []float32, i int) {
	a, sg := s.Coeffs(i)
	for k := range x0 {
		x, e := float64(x0[k]), float64(eps[k])
		if dst != nil {
			dst[k] = float32(a*x + sg*e)
		}
		if v != nil {
			v[k] = float32(a*e - sg*x)
		}
	}
}

// FromV recovers the clean image x0 = sqrt(abar) x_t - sqrt(1-abar) v and the
// noise eps = sqrt(1-abar) x_t + sqrt(abar) v from a v-prediction at index
// i. Either output may be nil.
func (s *Schedule) FromV(x0, eps, xt, v []float32, i int) {
	a, sg := s.Coeffs(i)
	for k := range xt {
		x, p := float64(xt[k]), float64(v[k])
		if x0 != nil {
			x0[k] = float32(a*x - sg*p)
		}
		if eps != nil {
			eps[k] = float32(sg*x + a*p)
		}
	}
}

// SNR returns abar/(1-abar) at index i (+Inf when abar = 1).
func (s *Schedule) SNR(i int) float64 {
	ab := s.AlphaBar[i]
	return ab / (1 - ab)
}
