package opencl

import (
	"fmt"
	"math"
)

// AdamWStep holds one AdamW step's hyper-parameters, as model/optim.Adam
// uses them: the learning rate of this step, the betas, eps, the decoupled
// weight decay, the 1-based step count (for the bias corrections) and the
// gradient scale from clipping (1: none).
type AdamWStep struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Step                               int
	GradScale                          float64
}

// AdamW applies one fused AdamW update to the parameters p in place, with
// gradients g and the moments m and v (updated in place), all of one
// length. The bias corrections and the decay factor are computed here in
// float64, as model/optim does; the update itself runs in float32.
func (o *Ops) AdamW(p, g, m, v *Buffer, s AdamWStep) error {
	if s.Step < 1 || !(s.LR >= 0) || !(s.Eps > 0) || !(s.GradScale > 0) {
		return fmt.Errorf("opencl: adamw step %d, lr %v, eps %v, grad scale %v: %w", s.Step, s.LR, s.Eps, s.GradScale, ErrInvalidValue)
	}
	c1 := 1 - math.Pow(s.Beta1, float64(s.Step))
	c2 := 1 - math.Pow(s.Beta2, float64(s.Step))
	decay := 1 - s.LR*s.WeightDecay
	n := p.Len()
	if err := sameLen("adamw", n, p, g, m, v); err != nil {
		return err
	}
	return o.launch1("adamw_f32", n, int32(n), p, g, m, v,
		float32(s.LR), float32(s.Beta1), float32(s.Beta2), float32(1-s.Beta1), float32(1-s.Beta2), float32(c1), float32(c2),
		float32(s.Eps), float32(decay), float32(s.GradScale))
}
