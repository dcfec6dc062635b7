package opencl

import "fmt"

// reduceGroup is RED of kernels/loss.cl: the losses reduce in one
// work-group of this size.
const reduceGroup = 256

// statsSlot checks that out holds the width scalars a loss writes at at.
func statsSlot(op string, out *Buffer, at, width int) error {
	if out == nil {
		return fmt.Errorf("opencl: %s: nil output: %w", op, ErrInvalidMemObject)
	}
	if at < 0 || at+width > out.Len() {
		return fmt.Errorf("opencl: %s: slot %d..%d outside an output of %d: %w", op, at, at+width, out.Len(), ErrInvalidValue)
	}
	return nil
}

// BCEMasked writes model/nn's masked binary cross-entropy of logits l
// against targets t with mask m at out[at] (sum(m*bce)/sum(m) over m > 0)
// and sum(m) at out[at+1], which BCEMaskedGrad reads.
func (o *Ops) BCEMasked(l, t, m, out *Buffer, at int) error {
	n := l.Len()
	if err := sameLen("bce", n, l, t, m); err != nil {
		return err
	}
	if err := statsSlot("bce", out, at, 2); err != nil {
		return err
	}
	return o.kernels["bce_masked_f32"].Launch([]int{reduceGroup}, []int{reduceGroup}, int32(n), l, t, m, out, int32(at))
}

// BCEMaskedGrad writes dl = g * m*(sigmoid(l) - t)/sum(m) (0 where m <= 0),
// with sum(m) from the stats BCEMasked wrote at stats[at+1].
func (o *Ops) BCEMaskedGrad(g float32, l, t, m, stats *Buffer, at int, dl *Buffer) error {
	n := l.Len()
	if err := sameLen("bce grad", n, l, t, m, dl); err != nil {
		return err
	}
	if err := statsSlot("bce grad", stats, at, 2); err != nil {
		return err
	}
	return o.launch1("bce_masked_grad_f32", n, int32(n), g, l, t, m, stats, int32(at), dl)
}

// MSE writes mean((a-b)^2) at out[at].
func (o *Ops) MSE(a, b, out *Buffer, at int) error {
	n := a.Len()
	if err := sameLen("mse", n, a, b); err != nil {
		return err
	}
	if err := statsSlot("mse", out, at, 1); err != nil {
		return err
	}
	return o.kernels["mse_f32"].Launch([]int{reduceGroup}, []int{reduceGroup}, int32(n), a, b, out, int32(at))
}

// MSEGrad writes da = 2g(a-b)/n and, when db is not nil, db = -da.
func (o *Ops) MSEGrad(g float32, a, b, da, db *Buffer) error {
	n := a.Len()
	if err := sameLen("mse grad", n, a, b, da); err != nil {
		return err
	}
	want := int32(0)
	if db != nil {
		if err := sameLen("mse grad", n, db); err != nil {
			return err
		}
		want = 1
	} else {
		db = da // not written
	}
	return o.launch1("mse_grad_f32", n, int32(n), g, a, b, da, want, db)
}
