package optim

import (
	"fmt"
	"math"

	"github.com/synthfed/synthfed/internal/config"
)

// Param is one trainable tensor as the optimiser sees it: its values,
// updated in place, and the gradient of the loss with respect to them.
type Param struct {
	// Name identifies the tensor in errors and in Filter patterns.
	Name string
	// Value is updated in place by Step.
	Value []float32
	// Grad has the same length as Value.
	Grad []float32
}

// AdamConfig holds AdamW's hyper-parameters.
type AdamConfig struct {
	// LR is the learning rate.
	LR float64 `toml:"lr" json:"lr"`
	// Beta1 and Beta2 are the moment decay rates.
	Beta1 float64 `toml:"beta1" json:"beta1"`
	Beta2 float64 `toml:"beta2" json:"beta2"`
	// Eps is added to the root of the second moment.
	Eps float64 `toml:"eps" json:"eps"`
	// WeightDecay is AdamW's decoupled decay (0 is plain Adam).
	WeightDecay float64 `toml:"weight_decay" json:"weight_decay"`
	// ClipNorm clips the global gradient norm before the step (0: off).
	ClipNorm float64 `toml:"clip_norm" json:"clip_norm"`
	// WarmupSteps ramps the learning rate linearly from 0 over this many
	// steps of the job (0: no warm-up).
	WarmupSteps int `toml:"warmup_steps" json:"warmup_steps"`
	// DecaySteps, when greater than WarmupSteps, decays the learning rate
	// after the warm-up along a half-cosine to MinLRRatio*LR, reached at
	// this step of the job (0: constant after the warm-up). See LRAt.
	DecaySteps int `toml:"decay_steps" json:"decay_steps"`
	// MinLRRatio is the decay's final learning rate as a share of LR.
	MinLRRatio float64 `toml:"min_lr_ratio" json:"min_lr_ratio"`
}

// DefaultAdamConfig returns PyTorch's Adam defaults with lr 1e-3 and
// gradient clipping at norm 1.
func DefaultAdamConfig() AdamConfig {
	return AdamConfig{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, ClipNorm: 1}
}

// Validate reports every invalid field.
func (c AdamConfig) Validate() error {
	var p config.Problems
	if !(c.LR > 0) || math.IsInf(c.LR, 0) {
		p.Addf("adam.lr %v: want > 0", c.LR)
	}
	if !(c.Beta1 >= 0 && c.Beta1 < 1) {
		p.Addf("adam.beta1 %v: want in [0,1)", c.Beta1)
	}
	if !(c.Beta2 >= 0 && c.Beta2 < 1) {
		p.Addf("adam.beta2 %v: want in [0,1)", c.Beta2)
	}
	if !(c.Eps > 0) {
		p.Addf("adam.eps %v: want > 0", c.Eps)
	}
	if !(c.WeightDecay >= 0) {
		p.Addf("adam.weight_decay %v: want >= 0", c.WeightDecay)
	}
	if !(c.ClipNorm >= 0) {
		p.Addf("adam.clip_norm %v: want >= 0", c.ClipNorm)
	}
	if c.WarmupSteps < 0 {
		p.Addf("adam.warmup_steps %d: want >= 0", c.WarmupSteps)
	}
	if c.DecaySteps < 0 {
		p.Addf("adam.decay_steps %d: want >= 0", c.DecaySteps)
	}
	if !(c.MinLRRatio >= 0 && c.MinLRRatio <= 1) {
		p.Addf("adam.min_lr_ratio %v: want in [0,1]", c.MinLRRatio)
	}
	return p.Err()
}

// Adam is AdamW over a fixed list of parameters. Its arithmetic is
// sequential float64 per element, so the same inputs give bit-identical
// results on every run.
//
// Two counts drive a step: the moments' step count (their bias correction,
// restarted by Reset) and the schedule step, the job-wide index of the step
// that the learning-rate schedule (AdamConfig.LRAt) follows, which a
// federated trainer sets at the start of each round (SetScheduleStep).
type Adam struct {
	cfg   AdamConfig
	m, v  [][]float32
	step  int
	sched int
}

// NewAdam returns an optimiser with zero moments.
func NewAdam(cfg AdamConfig) (*Adam, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Adam{cfg: cfg}, nil
}

// Steps returns the number of steps taken.
func (a *Adam) Steps() int { return a.step }

// SetLR changes the base learning rate.
func (a *Adam) SetLR(lr float64) { a.cfg.LR = lr }

// Reset zeroes the moments, their step count and the schedule step, as at
// the start of a federated round; a trainer then places the schedule with
// SetScheduleStep.
func (a *Adam) Reset() {
	a.m, a.v, a.step, a.sched = nil, nil, 0, 0
}

// SetScheduleStep sets the number of steps the job has taken before the
// next one, so that the next step's learning rate is cfg.LRAt(done+1).
func (a *Adam) SetScheduleStep(done int) { a.sched = max(done, 0) }

// ScheduleStep returns the job-wide index of the last step taken.
func (a *Adam) ScheduleStep() int { return a.sched }

// LR returns the learning rate the next step will use.
func (a *Adam) LR() float64 { return a.cfg.LRAt(a.sched + 1) }

// Moments is a copy of Adam's moments and the step count behind them
// (their bias correction), which a trainer may carry from one round to the
// next.
type Moments struct {
	M, V  [][]float32
	Steps int
}

// Moments returns a copy of the current moments (empty before any step).
func (a *Adam) Moments() Moments {
	return Moments{M: clone2(a.m), V: clone2(a.v), Steps: a.step}
}

// SetMoments replaces the moments by a copy of m (empty m: zero moments).
// Step checks their sizes against the parameters.
func (a *Adam) SetMoments(m Moments) {
	a.m, a.v, a.step = clone2(m.M), clone2(m.V), m.Steps
	if a.m == nil || a.v == nil {
		a.m, a.v, a.step = nil, nil, 0
	}
}

func clone2(x [][]float32) [][]float32 {
	if x == nil {
		return nil
	}
	out := make([][]float32, len(x))
	for i, v := range x {
		out[i] = append([]float32(nil), v...)
	}
	return out
}

// Step clips the gradients (when configured), then applies one AdamW update
// to every parameter. It returns the gradient norm before clipping. The
// parameter list must keep the same order and sizes between calls.
func (a *Adam) Step(params []Param) (float64, error) {
	if a.m == nil {
		a.m = make([][]float32, len(params))
		a.v = make([][]float32, len(params))
		for i, p := range params {
			a.m[i] = make([]float32, len(p.Value))
			a.v[i] = make([]float32, len(p.Value))
		}
	}
	if len(params) != len(a.m) || len(a.v) != len(a.m) {
		return 0, fmt.Errorf("adam: %d parameters, optimiser holds %d", len(params), len(a.m))
	}
	for i, p := range params {
		if len(p.Value) != len(a.m[i]) || len(a.v[i]) != len(a.m[i]) || len(p.Grad) != len(p.Value) {
			return 0, fmt.Errorf("adam: parameter %q: %d values, %d grads, want %d", p.Name, len(p.Value), len(p.Grad), len(a.m[i]))
		}
	}
	norm := GradNorm(params)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm, fmt.Errorf("adam: step %d: gradient norm %v", a.step+1, norm)
	}
	scale := 1.0
	if a.cfg.ClipNorm > 0 && norm > a.cfg.ClipNorm {
		scale = a.cfg.ClipNorm / norm
	}
	a.step++
	a.sched++
	lr := a.cfg.LRAt(a.sched)
	b1, b2 := a.cfg.Beta1, a.cfg.Beta2
	c1 := 1 - math.Pow(b1, float64(a.step))
	c2 := 1 - math.Pow(b2, float64(a.step))
	decay := 1 - lr*a.cfg.WeightDecay
	for i, p := range params {
		m, v := a.m[i], a.v[i]
		for k, g32 := range p.Grad {
			g := float64(g32) * scale
			mk := b1*float64(m[k]) + (1-b1)*g
			vk := b2*float64(v[k]) + (1-b2)*g*g
			m[k], v[k] = float32(mk), float32(vk)
			w := float64(p.Value[k]) * decay
			p.Value[k] = float32(w - lr*(mk/c1)/(math.Sqrt(vk/c2)+a.cfg.Eps))
		}
	}
	return norm, nil
}

// GradNorm returns the global L2 norm of the gradients, in float64.
func GradNorm(params []Param) float64 {
	var s float64
	for _, p := range params {
		for _, g := range p.Grad {
			s += float64(g) * float64(g)
		}
	}
	return math.Sqrt(s)
}
