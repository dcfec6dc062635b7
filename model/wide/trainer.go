package wide

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/synthfed/synthfed/model"
)

// Tensor names of the model.
const (
	WeightName = "wide.weight"
	BiasName   = "wide.bias"
)

// ErrProx reports a FedProx job: the proximal term touches every weight
// at every step, which would make the step as dense as the model.
var ErrProx = errors.New("wide: FedProx (prox_mu > 0) is not supported")

// Trainer is a model.Trainer for the wide model on one site's generated
// rows. It is safe for use by one caller at a time.
type Trainer struct {
	cfg        Config
	train, val *rows
}

var _ model.Trainer = (*Trainer)(nil)

// New validates cfg and generates the site's rows (a few kB; the model is
// made only by Init and Train).
func New(cfg Config) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Trainer{cfg: cfg, train: generate(cfg, cfg.TrainRows, 0), val: generate(cfg, cfg.ValRows, 1)}, nil
}

// Specs returns the model's tensors.
func (t *Trainer) Specs() []model.TensorSpec {
	return []model.TensorSpec{{Name: BiasName, Shape: []int{1}}, {Name: WeightName, Shape: []int{t.cfg.Features}}}
}

// Init returns small weights drawn from a hash of seed and the index,
// identical at every site (about 0.3 s per 10^8 weights).
func (t *Trainer) Init(ctx context.Context, seed int64) (model.Weights, error) {
	w := make([]float32, t.cfg.Features)
	s := mix(uint64(seed))
	for j := range w {
		if j&(1<<22-1) == 0 && ctx.Err() != nil {
			return model.Weights{}, ctx.Err()
		}
		w[j] = (float32(mix(s^uint64(j))>>40)/(1<<24) - 0.5) * 0.02
	}
	return model.NewWeights(model.Tensor{Name: BiasName, Shape: []int{1}, Data: []float32{0}},
		model.Tensor{Name: WeightName, Shape: []int{t.cfg.Features}, Data: w})
}

// Train copies global (the site then holds two models: the global one,
// which the agent may still need for a secure delta, and the local one)
// and runs minibatch SGD on the log loss; each step reads and writes only
// its rows' features.
func (t *Trainer) Train(ctx context.Context, global model.Weights, spec model.TrainSpec) (model.TrainResult, error) {
	if spec.ProxMu > 0 {
		return model.TrainResult{}, ErrProx
	}
	if err := model.CheckSpecs(t.Specs(), global); err != nil {
		return model.TrainResult{}, fmt.Errorf("wide: %w", err)
	}
	local := global.Clone()
	b, _ := local.Get(BiasName)
	w, _ := local.Get(WeightName)
	steps, batch, lr := t.cfg.Steps, t.cfg.BatchSize, t.cfg.LearningRate
	if spec.LocalSteps > 0 {
		steps = spec.LocalSteps
	}
	if spec.BatchSize > 0 {
		batch = spec.BatchSize
	}
	if spec.LearningRate > 0 {
		lr = spec.LearningRate
	}
	n := t.train.len()
	next := int(mix(uint64(spec.Seed)^uint64(spec.Round)) % uint64(n))
	var loss float64
	for range steps {
		if err := ctx.Err(); err != nil {
			return model.TrainResult{}, err
		}
		loss = 0
		gb := float32(0)
		for range batch {
			r := next
			next = (next + 1) % n
			p, l := t.predict(t.train, r, b.Data[0], w.Data)
			loss += l
			g := (p - t.train.y[r]) * float32(lr) / float32(batch)
			gb += g
			for k := r * t.train.nnz; k < (r+1)*t.train.nnz; k++ {
				w.Data[t.train.idx[k]] -= g * t.train.val[k]
			}
		}
		b.Data[0] -= gb
		loss /= float64(batch)
	}
	return model.TrainResult{Weights: local, NumSamples: n, Metrics: map[string]float64{"loss": loss}}, nil
}

// predict returns the probability of row r and its log loss.
func (t *Trainer) predict(d *rows, r int, bias float32, w []float32) (float32, float64) {
	z := float64(bias)
	for k := r * d.nnz; k < (r+1)*d.nnz; k++ {
		z += float64(w[d.idx[k]] * d.val[k])
	}
	p := 1 / (1 + math.Exp(-z))
	y := float64(d.y[r])
	l := -(y*math.Log(max(p, 1e-12)) + (1-y)*math.Log(max(1-p, 1e-12)))
	return float32(p), l
}

// Evaluate returns the mean log loss ("loss") and the accuracy ("acc")
// of w on the site's validation rows.
func (t *Trainer) Evaluate(_ context.Context, m model.Weights) (map[string]float64, error) {
	if err := model.CheckSpecs(t.Specs(), m); err != nil {
		return nil, fmt.Errorf("wide: %w", err)
	}
	b, _ := m.Get(BiasName)
	w, _ := m.Get(WeightName)
	var loss, acc float64
	for r := range t.val.len() {
		p, l := t.predict(t.val, r, b.Data[0], w.Data)
		loss += l
		if (p > 0.5) == (t.val.y[r] == 1) {
			acc++
		}
	}
	n := float64(t.val.len())
	return map[string]float64{"loss": loss / n, "acc": acc / n}, nil
}
