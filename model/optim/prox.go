package optim

import (
	"fmt"

	"github.com/synthfed/synthfed/model"
)

// AddProximal adds the gradient of the FedProx term mu/2 * ||w - w_global||^2,
// that is mu*(w - w_global), to each parameter's gradient. Parameters are
// matched to global by name; those global does not hold (local-only layers)
// get no term. It returns the value of the term, for logging.
func AddProximal(params []Param, global model.Weights, mu float64) (float64, error) {
	if mu == 0 {
		return 0, nil
	}
	if mu < 0 {
		return 0, fmt.Errorf("fedprox: mu %v < 0", mu)
	}
	var term float64
	for _, p := range params {
		g, ok := global.Get(p.Name)
		if !ok {
			continue
		}
		if len(g.Data) != len(p.Value) {
			return 0, fmt.Errorf("fedprox: parameter %q: %d values, global has %d: %w", p.Name, len(p.Value), len(g.Data), model.ErrShape)
		}
		for k, v := range p.Value {
			d := float64(v) - float64(g.Data[k])
			p.Grad[k] += float32(mu * d)
			term += d * d
		}
	}
	return mu / 2 * term, nil
}
