package device

import (
	"context"
	"errors"
	"fmt"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/device/opencl"
	"github.com/synthfed/synthfed/model/logreg"
)

// LogregTrainer runs model/logreg's local training on an OpenCL device:
// the weights (the bias as the weight vector's last entry), the norm
// layer, the gradients and the FedProx anchor stay in device buffers for a
// whole Train call; each step writes only its batch (rows drawn on the
// host, exactly as logreg.Trainer draws them) and the step's loss stays on
// the device until the end. Weights cross to the host at the start and end
// of Train (the round boundary). Init, Evaluate and Samples are the CPU
// trainer's.
type LogregTrainer struct {
	*logreg.Trainer
	ops *opencl.Ops
}

var _ model.Trainer = (*LogregTrainer)(nil)

// NewLogregTrainer runs t's training on b's device.
func NewLogregTrainer(t *logreg.Trainer, b *Backend) (*LogregTrainer, error) {
	if !b.OnDevice() {
		return nil, fmt.Errorf("logreg on %s: %w", b.Name(), ErrNoDevice)
	}
	return &LogregTrainer{Trainer: t, ops: b.Ops()}, nil
}

// logregBufs are one Train call's device buffers.
type logregBufs struct {
	w, g, c       *opencl.Buffer // weights (d+1, bias last), norm scale and shift (d)
	gw, gg, gc    *opencl.Buffer // their gradients
	aw, ag, ac    *opencl.Buffer // FedProx anchors (nil without prox)
	x, xn, gx     *opencl.Buffer // batch rows (b x (d+1)), normed rows, X^T delta
	y, ones, z, d *opencl.Buffer // labels, mask, logits, delta (b)
	loss          *opencl.Buffer // 2 per step: loss and mask sum
	all           []*opencl.Buffer
}

func (lb *logregBufs) release() {
	for _, b := range lb.all {
		b.Release()
	}
}

// Train runs the same SGD as logreg.Trainer.Train, in float32 on the
// device, and returns the new weights and the mean step loss.
func (t *LogregTrainer) Train(ctx context.Context, global model.Weights, spec model.TrainSpec) (model.TrainResult, error) {
	cfg := t.Config()
	train, err := t.TrainSet()
	if err != nil {
		return model.TrainResult{}, err
	}
	steps, batch, lr := t.Plan(spec)
	want, err := model.Zeros(logreg.Specs(cfg))
	if err != nil {
		return model.TrainResult{}, err
	}
	if err := want.CheckSameSpec(global); err != nil {
		return model.TrainResult{}, fmt.Errorf("logreg on %s: weights do not fit dim %d norm %v: %w", t.ops.Context().Device().Name, cfg.Dim, cfg.Norm, err)
	}
	if err := t.Delay(ctx, spec); err != nil {
		return model.TrainResult{}, err
	}
	lb, err := t.alloc(global, cfg, batch, steps, spec.ProxMu != 0)
	if err != nil {
		return model.TrainResult{}, fmt.Errorf("logreg on %s: %w", t.ops.Context().Device().Name, err)
	}
	defer lb.release()
	r := logreg.BatchRand(spec)
	d := cfg.Dim
	xs, ys := make([]float32, batch*(d+1)), make([]float32, batch)
	for s := 0; s < steps; s++ {
		if s%64 == 0 && ctx.Err() != nil {
			return model.TrainResult{}, ctx.Err()
		}
		for i := range batch {
			k := r.IntN(train.Len())
			for j, v := range train.Row(k) {
				xs[i*(d+1)+j] = float32(v)
			}
			xs[i*(d+1)+d], ys[i] = 1, float32(train.Y[k])
		}
		if err := t.step(lb, cfg, batch, s, float32(lr), float32(spec.ProxMu), xs, ys); err != nil {
			return model.TrainResult{}, fmt.Errorf("logreg step %d on %s: %w", s, t.ops.Context().Device().Name, err)
		}
	}
	w, loss, err := t.download(lb, cfg, steps)
	if err != nil {
		return model.TrainResult{}, err
	}
	return model.TrainResult{Weights: w, NumSamples: train.Len(), Metrics: map[string]float64{"loss": loss}}, nil
}

// alloc uploads the weights and allocates the step buffers.
func (t *LogregTrainer) alloc(global model.Weights, cfg logreg.Config, batch, steps int, prox bool) (*logregBufs, error) {
	c := t.ops.Context()
	lb := &logregBufs{}
	var errs []error
	up := func(x []float32) *opencl.Buffer {
		b, err := c.Upload(x)
		errs = append(errs, err)
		if b != nil {
			lb.all = append(lb.all, b)
		}
		return b
	}
	get := func(name string) []float32 { v, _ := global.Get(name); return v.Data }
	d := cfg.Dim
	w := append(append(make([]float32, 0, d+1), get(logreg.WeightName)...), get(logreg.BiasName)...)
	lb.w, lb.gw = up(w), up(make([]float32, d+1))
	if prox {
		lb.aw = up(w)
	}
	if cfg.Norm {
		lb.g, lb.c = up(get(logreg.NormWeightName)), up(get(logreg.NormBiasName))
		lb.gg, lb.gc, lb.gx = up(make([]float32, d)), up(make([]float32, d)), up(make([]float32, d+1))
		lb.xn = up(make([]float32, batch*(d+1)))
		if prox {
			lb.ag, lb.ac = up(get(logreg.NormWeightName)), up(get(logreg.NormBiasName))
		}
	}
	ones := make([]float32, batch)
	for i := range ones {
		ones[i] = 1
	}
	lb.x, lb.y, lb.ones = up(make([]float32, batch*(d+1))), up(make([]float32, batch)), up(ones)
	lb.z, lb.d, lb.loss = up(make([]float32, batch)), up(make([]float32, batch)), up(make([]float32, 2*steps))
	if !cfg.Norm {
		lb.xn = lb.x
	}
	if err := errors.Join(errs...); err != nil {
		lb.release()
		return nil, err
	}
	return lb, nil
}
