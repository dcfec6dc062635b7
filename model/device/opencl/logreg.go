package opencl

import "fmt"

// LogregNormInput computes the norm layer of model/logreg on a batch of
// rows x (rows x (d+1), each ending in a 1): xn = g*x + c per feature, the
// trailing 1 kept.
func (o *Ops) LogregNormInput(rows, d int, x, g, c, xn *Buffer) error {
	if rows <= 0 || d <= 0 {
		return fmt.Errorf("opencl: logreg norm input %d x %d: %w", rows, d, ErrInvalidValue)
	}
	if err := sameLen("logreg norm input", rows*(d+1), x, xn); err != nil {
		return err
	}
	if err := sameLen("logreg norm input", d, g, c); err != nil {
		return err
	}
	return o.launch1("logreg_norm_input_f32", rows*(d+1), int32(rows), int32(d), x, g, c, xn)
}

// LogregNormGrad computes the norm layer's gradients gg = w*gx and
// gc = w*gx[d] from gx = X^T delta over the raw rows (d+1 values, the last
// the sum of delta) and the weights w (d+1 values, the bias last).
func (o *Ops) LogregNormGrad(d int, w, gx, gg, gc *Buffer) error {
	if err := sameLen("logreg norm grad", d+1, w, gx); err != nil {
		return err
	}
	if err := sameLen("logreg norm grad", d, gg, gc); err != nil {
		return err
	}
	return o.launch1("logreg_norm_grad_f32", d, int32(d), w, gx, gg, gc)
}
