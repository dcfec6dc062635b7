package graph

import (
	"fmt"
	"math"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/optim"
)

// Updater applies what a training step does after a Program's forward and
// backward pass: FedProx's proximal term, AdamW and the EMA of the weights.
// The models' Steppers each hold one, so that every model updates its
// weights by the same rules.
type Updater struct {
	// Adam is the optimiser; EMA averages the weights after each step.
	Adam *optim.Adam
	EMA  *optim.EMA
	// prox, when proxMu > 0, is the global model of the proximal term.
	prox   model.Weights
	proxMu float64
}

// SetProx sets FedProx's proximal term mu/2*||w - global||^2; tensors for
// which skip returns true (local-only layers) get no term. mu = 0 disables
// it.
func (u *Updater) SetProx(global model.Weights, mu float64, skip func(string) bool) {
	u.prox, u.proxMu = global, mu
	if skip != nil && mu > 0 {
		u.prox = global.Filter(func(n string) bool { return !skip(n) })
	}
}

// Step runs p once (forward and backward) and reads the scalar loss. A
// non-finite loss is refused (model.ErrNonFinite) with the weights left
// unchanged; otherwise the proximal term, AdamW and the EMA update the
// weights. The gradients are zeroed for the next step either way. It
// returns the loss before the update; what names the model in errors.
func (u *Updater) Step(what string, p *Program, loss Reader) (float64, error) {
	if err := p.Run(); err != nil {
		return 0, fmt.Errorf("%s: train step: %w", what, err)
	}
	l := float64(loss.Scalar())
	if math.IsNaN(l) || math.IsInf(l, 0) {
		_ = p.ZeroGrad()
		return l, fmt.Errorf("%s: step %d: loss %v: %w", what, u.Adam.Steps()+1, l, model.ErrNonFinite)
	}
	params, err := p.Params()
	if err != nil {
		return 0, err
	}
	if _, err := optim.AddProximal(params, u.prox, u.proxMu); err != nil {
		return 0, err
	}
	if _, err := u.Adam.Step(params); err != nil {
		_ = p.ZeroGrad()
		return l, err
	}
	if err := u.EMA.Update(params); err != nil {
		return l, err
	}
	return l, p.ZeroGrad()
}
