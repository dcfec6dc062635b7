package optim

import (
	"fmt"

	"github.com/synthfed/synthfed/model"
)

// EMA keeps an exponential moving average of a set of weights:
// shadow <- d*shadow + (1-d)*w after every update, with the effective decay
// d = min(Decay, (1+n)/(10+n)) after n updates when Warmup is set, so that
// early averages are not dominated by the random initialisation.
type EMA struct {
	// Decay is the long-run decay, for example 0.999.
	Decay float64
	// Warmup enables the (1+n)/(10+n) ramp.
	Warmup bool
	// Updates counts the updates applied.
	Updates int64
	shadow  model.Weights
}

// NewEMA starts an average at a copy of w.
func NewEMA(w model.Weights, decay float64, warmup bool) (*EMA, error) {
	if !(decay >= 0 && decay < 1) {
		return nil, fmt.Errorf("ema: decay %v outside [0,1)", decay)
	}
	return &EMA{Decay: decay, Warmup: warmup, shadow: w.Clone()}, nil
}

// Restore resumes an average from a checkpoint's shadow weights and count.
func Restore(shadow model.Weights, decay float64, warmup bool, updates int64) (*EMA, error) {
	e, err := NewEMA(shadow, decay, warmup)
	if err != nil {
		return nil, err
	}
	e.Updates = updates
	return e, nil
}

// rate returns the decay used by the next update.
func (e *EMA) rate() float64 {
	d := e.Decay
	if e.Warmup {
		n := float64(e.Updates)
		d = min(d, (1+n)/(10+n))
	}
	return d
}

// Update folds the current values of params into the average. Parameters
// are matched by name; a name the average does not hold is an error.
func (e *EMA) Update(params []Param) error {
	d := e.rate()
	for _, p := range params {
		t, ok := e.shadow.Get(p.Name)
		if !ok || len(t.Data) != len(p.Value) {
			return fmt.Errorf("ema: parameter %q: %w", p.Name, model.ErrMissing)
		}
		for k, v := range p.Value {
			t.Data[k] = float32(d*float64(t.Data[k]) + (1-d)*float64(v))
		}
	}
	e.Updates++
	return nil
}

// Weights returns a copy of the average.
func (e *EMA) Weights() model.Weights { return e.shadow.Clone() }

// Reset restarts the average at a copy of w, keeping the decay.
func (e *EMA) Reset(w model.Weights) {
	e.shadow = w.Clone()
	e.Updates = 0
}
