package logreg

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/synthfed/synthfed/internal/clock"
	"github.com/synthfed/synthfed/model"
)

// Tensor names of the model.
const (
	WeightName     = "linear.weight"
	BiasName       = "linear.bias"
	NormWeightName = "norm.weight"
	NormBiasName   = "norm.bias"
)

// Trainer is a model.Trainer for logistic regression on one site's
// generated data. It is safe for use by one caller at a time.
type Trainer struct {
	cfg   Config
	clk   clock.Clock
	train *Dataset
	val   *Dataset
}

var _ model.Trainer = (*Trainer)(nil)

// New validates cfg, generates the site's data and returns its Trainer. A
// nil clk means the wall clock (used only for Config.Delay).
func New(cfg Config, clk clock.Clock) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if clk == nil {
		clk = clock.New()
	}
	t := &Trainer{cfg: cfg, clk: clk}
	if cfg.DataDir == "" {
		t.train, t.val = Generate(cfg, cfg.TrainSamples, 0), Generate(cfg, cfg.ValSamples, 1)
		return t, nil
	}
	if err := t.load(); err != nil {
		return nil, err
	}
	return t, nil
}

// load reads the data directory again (Config.DataDir), if there is one.
func (t *Trainer) load() error {
	if t.cfg.DataDir == "" {
		return nil
	}
	tr, err := readDataFile(t.cfg.DataDir, TrainFile, t.cfg.Dim)
	if err != nil {
		return err
	}
	val, err := readDataFile(t.cfg.DataDir, ValFile, t.cfg.Dim)
	if err != nil {
		return err
	}
	t.train, t.val = tr, val
	return nil
}

// Specs returns the tensor specs of the model cfg describes.
func Specs(cfg Config) []model.TensorSpec {
	s := []model.TensorSpec{{Name: BiasName, Shape: []int{1}}, {Name: WeightName, Shape: []int{1, cfg.Dim}}}
	if cfg.Norm {
		s = append(s, model.TensorSpec{Name: NormBiasName, Shape: []int{cfg.Dim}}, model.TensorSpec{Name: NormWeightName, Shape: []int{cfg.Dim}})
	}
	return s
}

// Init returns small random weights for seed; every site gets the same.
func (t *Trainer) Init(_ context.Context, seed int64) (model.Weights, error) {
	w, err := model.Zeros(Specs(t.cfg))
	if err != nil {
		return model.Weights{}, err
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x696e6974))
	lin, _ := w.Get(WeightName)
	for i := range lin.Data {
		lin.Data[i] = float32(0.01 * r.NormFloat64())
	}
	if g, ok := w.Get(NormWeightName); ok {
		for i := range g.Data {
			g.Data[i] = 1
		}
	}
	return w, nil
}

// Train runs SGD with mini-batches from global and returns the new weights.
// spec.ProxMu adds the FedProx term mu/2 * ||theta - global||^2.
func (t *Trainer) Train(ctx context.Context, global model.Weights, spec model.TrainSpec) (model.TrainResult, error) {
	p, err := fromWeights(global, t.cfg)
	if err != nil {
		return model.TrainResult{}, err
	}
	if err := t.load(); err != nil {
		return model.TrainResult{}, err
	}
	anchor := p.clone()
	steps, batch, lr := t.Plan(spec)
	if err := t.delay(ctx, spec); err != nil {
		return model.TrainResult{}, err
	}
	r := BatchRand(spec)
	g := p.zerosLike()
	idx := make([]int, batch)
	var lossSum float64
	for s := 0; s < steps; s++ {
		if s%64 == 0 && ctx.Err() != nil {
			return model.TrainResult{}, ctx.Err()
		}
		for i := range idx {
			idx[i] = r.IntN(t.train.Len())
		}
		lossSum += p.lossGrad(t.train, idx, g)
		p.prox(anchor, spec.ProxMu, g)
		p.step(g, lr)
	}
	return model.TrainResult{
		Weights:    p.weights(),
		NumSamples: t.train.Len(),
		Metrics:    map[string]float64{"loss": lossSum / float64(max(steps, 1))},
	}, nil
}

// Plan returns the steps, batch size and learning rate a Train call with
// spec runs: the config's, overridden by the spec's.
func (t *Trainer) Plan(spec model.TrainSpec) (steps, batch int, lr float64) {
	steps, batch, lr = t.cfg.Steps, t.cfg.BatchSize, t.cfg.LearningRate
	if spec.LocalSteps > 0 {
		steps = spec.LocalSteps
	} else if spec.LocalEpochs > 0 {
		steps = spec.LocalEpochs * max(1, t.train.Len()/batch)
	}
	if spec.BatchSize > 0 {
		batch = spec.BatchSize
	}
	if spec.LearningRate > 0 {
		lr = spec.LearningRate
	}
	return steps, batch, lr
}

// BatchRand returns the source of Train's batch draws for spec: each step
// draws its batch's rows with IntN(rows), in order.
func BatchRand(spec model.TrainSpec) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(spec.Seed), uint64(spec.Round)))
}

// Config returns the trainer's configuration.
func (t *Trainer) Config() Config { return t.cfg }

// TrainSet reads the data directory again (as Train does) and returns the
// training rows.
func (t *Trainer) TrainSet() (*Dataset, error) {
	if err := t.load(); err != nil {
		return nil, err
	}
	return t.train, nil
}

// Delay waits the simulated compute time of Config.Delay or the spec's
// "delay_ms" param, as Train does.
func (t *Trainer) Delay(ctx context.Context, spec model.TrainSpec) error { return t.delay(ctx, spec) }

func (t *Trainer) delay(ctx context.Context, spec model.TrainSpec) error {
	d := t.cfg.Delay
	if v, ok := spec.Params["delay_ms"]; ok {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 {
			return fmt.Errorf("logreg: param delay_ms=%q: want a non-negative integer", v)
		}
		d = time.Duration(ms) * time.Millisecond
	}
	if d <= 0 {
		return nil
	}
	tm := t.clk.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C():
		return nil
	}
}

// Evaluate returns the validation log loss and accuracy of w.
func (t *Trainer) Evaluate(_ context.Context, w model.Weights) (map[string]float64, error) {
	p, err := fromWeights(w, t.cfg)
	if err != nil {
		return nil, err
	}
	if err := t.load(); err != nil {
		return nil, err
	}
	var loss, correct float64
	for i := 0; i < t.val.Len(); i++ {
		z := p.logit(t.val.Row(i))
		loss += logLoss(z, t.val.Y[i])
		if (z > 0) == (t.val.Y[i] == 1) {
			correct++
		}
	}
	n := float64(t.val.Len())
	return map[string]float64{"loss": loss / n, "accuracy": correct / n}, nil
}

// Samples returns the number of local training examples.
func (t *Trainer) Samples() int { return t.train.Len() }
