package logreg

import (
	"fmt"

	"github.com/synthfed/synthfed/model"
)

// params is the model in float64 for training: logit = w . (g*x + c) + b,
// with g = 1 and c = 0 when the norm layer is off.
type params struct {
	w, g, c []float64
	b       float64
	norm    bool
}

func fromWeights(ws model.Weights, cfg Config) (*params, error) {
	want, err := model.Zeros(Specs(cfg))
	if err != nil {
		return nil, err
	}
	if err := want.CheckSameSpec(ws); err != nil {
		return nil, fmt.Errorf("logreg: weights do not fit dim %d norm %v: %w", cfg.Dim, cfg.Norm, err)
	}
	get := func(name string) []float64 {
		t, ok := ws.Get(name)
		if !ok {
			return nil
		}
		out := make([]float64, len(t.Data))
		for i, v := range t.Data {
			out[i] = float64(v)
		}
		return out
	}
	p := &params{w: get(WeightName), b: get(BiasName)[0], norm: cfg.Norm}
	if cfg.Norm {
		p.g, p.c = get(NormWeightName), get(NormBiasName)
	}
	return p, nil
}

func (p *params) clone() *params {
	q := *p
	q.w = append([]float64(nil), p.w...)
	q.g = append([]float64(nil), p.g...)
	q.c = append([]float64(nil), p.c...)
	return &q
}

func (p *params) zerosLike() *params {
	q := &params{w: make([]float64, len(p.w)), norm: p.norm}
	if p.norm {
		q.g, q.c = make([]float64, len(p.g)), make([]float64, len(p.c))
	}
	return q
}

func (p *params) logit(x []float64) float64 {
	z := p.b
	for j, xj := range x {
		if p.norm {
			xj = p.g[j]*xj + p.c[j]
		}
		z += p.w[j] * xj
	}
	return z
}

// lossGrad sets g to the gradient of the mean log loss over rows idx and
// returns that loss.
func (p *params) lossGrad(d *Dataset, idx []int, g *params) float64 {
	for j := range g.w {
		g.w[j] = 0
		if p.norm {
			g.g[j], g.c[j] = 0, 0
		}
	}
	g.b = 0
	var loss float64
	inv := 1 / float64(len(idx))
	for _, i := range idx {
		x := d.Row(i)
		z := p.logit(x)
		loss += logLoss(z, d.Y[i])
		delta := (sigmoid(z) - d.Y[i]) * inv
		g.b += delta
		for j, xj := range x {
			if p.norm {
				g.g[j] += delta * p.w[j] * xj
				g.c[j] += delta * p.w[j]
				xj = p.g[j]*xj + p.c[j]
			}
			g.w[j] += delta * xj
		}
	}
	return loss * inv
}

// prox adds the FedProx gradient mu * (p - anchor) to g.
func (p *params) prox(anchor *params, mu float64, g *params) {
	if mu == 0 {
		return
	}
	g.b += mu * (p.b - anchor.b)
	for j := range p.w {
		g.w[j] += mu * (p.w[j] - anchor.w[j])
		if p.norm {
			g.g[j] += mu * (p.g[j] - anchor.g[j])
			g.c[j] += mu * (p.c[j] - anchor.c[j])
		}
	}
}

func (p *params) step(g *params, lr float64) {
	p.b -= lr * g.b
	for j := range p.w {
		p.w[j] -= lr * g.w[j]
		if p.norm {
			p.g[j] -= lr * g.g[j]
			p.c[j] -= lr * g.c[j]
		}
	}
}

func (p *params) weights() model.Weights {
	f32 := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	ts := []model.Tensor{
		{Name: BiasName, Shape: []int{1}, Data: []float32{float32(p.b)}},
		{Name: WeightName, Shape: []int{1, len(p.w)}, Data: f32(p.w)},
	}
	if p.norm {
		ts = append(ts, model.Tensor{Name: NormBiasName, Shape: []int{len(p.c)}, Data: f32(p.c)},
			model.Tensor{Name: NormWeightName, Shape: []int{len(p.g)}, Data: f32(p.g)})
	}
	return model.MustWeights(ts...)
}
