package engine

import (
	"errors"
	"fmt"

	"github.com/synthfed/synthfed/model"
)

// ErrEMAState reports a server EMA that does not fit its job: missing from
// a resumed job that has one, or of other tensors than the global model.
var ErrEMAState = errors.New("server EMA state does not fit")

// The server EMA. With strategy.ema_decay = d > 0, a train job keeps an
// exponential moving average of its committed global models beside them:
//
//	ema_1 = global_1
//	ema_r = d_r * ema_{r-1} + (1 - d_r) * global_r    for r >= 2
//	d_r   = min(d, (1+n)/(10+n)) with n = r-2          (warm-up, the default)
//	d_r   = d                                          (ema_warmup = false)
//
// Round 0 (the initial model, usually a random initialisation) is left
// out: it would otherwise weigh d^(R-1) in the EMA after R rounds. The
// warm-up is the ramp of model/optim.EMA (n counts the updates applied
// before this one), so that a job of a few rounds averages its recent
// rounds instead of freezing on its first ones. Each value is computed in
// float64 from the float32 operands, with each product rounded to float64
// before the sum (no fused multiply-add) and rounded once to float32: the
// EMA is a pure function of the committed globals, identical on every
// platform, and its float32 tensors are all the state there is, so a
// coordinator that resumes from the EMA checkpoint continues bit for bit.
// The EMA covers every tensor of the global model, FedBN's local-only ones
// included (they do not change, so their average is their value).

// EMAOn reports whether the spec keeps a server EMA.
func (s StrategySpec) EMAOn() bool { return s.EMADecay > 0 }

// emaWarmup reports whether the warm-up ramp applies (unset: yes).
func (s StrategySpec) emaWarmup() bool { return s.EMAWarmup == nil || *s.EMAWarmup }

// EMADecayAt returns d_r, the decay with which round r's global model is
// folded into the EMA of rounds 1..r-1 (r >= 2; 0 when the EMA is off).
func (s StrategySpec) EMADecayAt(r int) float64 {
	if !s.EMAOn() {
		return 0
	}
	d := s.EMADecay
	if s.emaWarmup() {
		n := float64(max(r-2, 0))
		d = min(d, (1+n)/(10+n))
	}
	return d
}

// validateEMA checks the EMA keys of a strategy table.
func (s StrategySpec) validateEMA(prefix string) error {
	if !(s.EMADecay >= 0 && s.EMADecay < 1) {
		return fmt.Errorf("%s.ema_decay = %v: want in [0,1) (0: no server EMA)", prefix, s.EMADecay)
	}
	return nil
}

// UpdateEMA returns d*ema + (1-d)*global, element by element, without
// modifying its arguments. Equal elements stay exactly as they are.
func UpdateEMA(ema, global model.Weights, d float64) (model.Weights, error) {
	if err := ema.CheckSameSpec(global); err != nil {
		return model.Weights{}, fmt.Errorf("%w: %w", ErrEMAState, err)
	}
	if !(d >= 0 && d < 1) {
		return model.Weights{}, fmt.Errorf("decay %v outside [0,1): %w", d, ErrEMAState)
	}
	out := ema.Clone()
	gs := global.Tensors() // same names, so the same (sorted) order
	for i, t := range out.Tensors() {
		g := gs[i].Data
		for k, e := range t.Data {
			if e == g[k] {
				continue
			}
			// The conversions round each product: Go may not fuse them.
			t.Data[k] = float32(float64(d*float64(e)) + float64((1-d)*float64(g[k])))
		}
	}
	return out, nil
}

// foldEMA computes the EMA of round r of train job j, whose new global
// model is global, into r.ema (nothing when the job keeps none).
func (e *Engine) foldEMA(j *job, r *round, global model.Weights) error {
	st := j.spec.Strategy
	if !st.EMAOn() || r.num < 1 {
		return nil
	}
	next := global
	if r.num > 1 {
		if j.ema.Len() == 0 {
			return fmt.Errorf("job %s round %d: no EMA of round %d to update: %w", j.spec.ID, r.num, r.num-1, ErrEMAState)
		}
		var err error
		if next, err = UpdateEMA(j.ema, global, st.EMADecayAt(r.num)); err != nil {
			return fmt.Errorf("job %s round %d: %w", j.spec.ID, r.num, err)
		}
		if err := next.CheckFinite(); err != nil {
			return fmt.Errorf("job %s round %d EMA: %w", j.spec.ID, r.num, err)
		}
	}
	r.ema, r.emaHash = next, next.Hash()
	return nil
}

// checkResumedEMA checks the EMA a job resumes with: present when the
// spec keeps one and a round >= 1 is committed, finite, and of the global
// model's tensors.
func checkResumedEMA(spec JobSpec, p ResumePoint) error {
	if !spec.Strategy.EMAOn() || p.Committed < 1 {
		return nil
	}
	if p.EMA.Len() == 0 {
		return fmt.Errorf("job %s round %d: strategy.ema_decay is %v but no EMA was stored: %w", spec.ID, p.Committed, spec.Strategy.EMADecay, ErrEMAState)
	}
	if err := p.Global.CheckSameSpec(p.EMA); err != nil {
		return fmt.Errorf("job %s round %d: %w: %w", spec.ID, p.Committed, ErrEMAState, err)
	}
	if err := p.EMA.CheckFinite(); err != nil {
		return fmt.Errorf("job %s round %d EMA: %w", spec.ID, p.Committed, err)
	}
	return nil
}
