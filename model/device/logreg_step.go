package device

import (
	"errors"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/device/opencl"
	"github.com/synthfed/synthfed/model/logreg"
)

// step runs one SGD step on the device: the batch goes in, the loss stays
// at loss[2s].
func (t *LogregTrainer) step(lb *logregBufs, cfg logreg.Config, batch, s int, lr, mu float32, xs, ys []float32) error {
	o, d := t.ops, cfg.Dim
	if err := errors.Join(lb.x.Write(xs), lb.y.Write(ys)); err != nil {
		return err
	}
	run := []func() error{
		func() error { return nil },
		func() error { return o.SGEMM(false, false, batch, 1, d+1, 1, lb.xn, lb.w, 0, lb.z) },
		func() error { return o.BCEMasked(lb.z, lb.y, lb.ones, lb.loss, 2*s) },
		func() error { return o.BCEMaskedGrad(1, lb.z, lb.y, lb.ones, lb.loss, 2*s, lb.d) },
		func() error { return o.SGEMM(true, false, d+1, 1, batch, 1, lb.xn, lb.d, 0, lb.gw) },
	}
	if cfg.Norm {
		run[0] = func() error { return o.LogregNormInput(batch, d, lb.x, lb.g, lb.c, lb.xn) }
		run = append(run,
			func() error { return o.SGEMM(true, false, d+1, 1, batch, 1, lb.x, lb.d, 0, lb.gx) },
			func() error { return o.LogregNormGrad(d, lb.w, lb.gx, lb.gg, lb.gc) })
	}
	for _, f := range run {
		if err := f(); err != nil {
			return err
		}
	}
	// The gradients of every tensor are computed from the old weights
	// before any of them moves, as logreg's lossGrad then step.
	pairs := [][3]*opencl.Buffer{{lb.w, lb.gw, lb.aw}}
	if cfg.Norm {
		pairs = append(pairs, [3]*opencl.Buffer{lb.g, lb.gg, lb.ag}, [3]*opencl.Buffer{lb.c, lb.gc, lb.ac})
	}
	for _, p := range pairs {
		if mu != 0 { // FedProx: g += mu*(p - anchor)
			if err := errors.Join(o.Axpy(mu, p[0], p[1]), o.Axpy(-mu, p[2], p[1])); err != nil {
				return err
			}
		}
		if err := o.Axpy(-lr, p[1], p[0]); err != nil {
			return err
		}
	}
	return nil
}

// download reads the weights and the step losses back (the round
// boundary) and returns the weights and the mean loss.
func (t *LogregTrainer) download(lb *logregBufs, cfg logreg.Config, steps int) (model.Weights, float64, error) {
	d := cfg.Dim
	w, loss := make([]float32, d+1), make([]float32, 2*steps)
	errs := []error{lb.w.Read(w), lb.loss.Read(loss)}
	ts := []model.Tensor{
		{Name: logreg.BiasName, Shape: []int{1}, Data: []float32{w[d]}},
		{Name: logreg.WeightName, Shape: []int{1, d}, Data: w[:d]},
	}
	if cfg.Norm {
		g, c := make([]float32, d), make([]float32, d)
		errs = append(errs, lb.g.Read(g), lb.c.Read(c))
		ts = append(ts, model.Tensor{Name: logreg.NormBiasName, Shape: []int{d}, Data: c},
			model.Tensor{Name: logreg.NormWeightName, Shape: []int{d}, Data: g})
	}
	if err := errors.Join(errs...); err != nil {
		return model.Weights{}, 0, err
	}
	var sum float64
	for s := range steps {
		sum += float64(loss[2*s])
	}
	w8, err := model.NewWeights(ts...)
	return w8, sum / float64(max(steps, 1)), err
}
