package nn

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BCEWithLogitsMasked returns the scalar binary cross-entropy of logits
// against targets, averaged over the entries whose mask is positive:
// sum(mask*bce)/sum(mask) over mask > 0, and 0 when no entry counts. A 0/1
// mask gives the plain mean over the kept labels (uncertain and blank
// labels masked out); other positive mask values weight entries, for
// example down-weighting synthetic images. It is computed stably as
// max(l,0) - l*t + log(1+e^-|l|). Only logits get a gradient.
func BCEWithLogitsMasked(logits, targets, mask *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := nodeDtype("BCEWithLogitsMasked", logits, targets, mask); err != nil {
		return nil, err
	}
	ls := logits.Shape()
	if ls.Dims() < 1 || !ls.Eq(targets.Shape()) || !ls.Eq(mask.Shape()) {
		return nil, fmt.Errorf("%w: BCEWithLogitsMasked of logits %v, targets %v, mask %v (want equal shapes)",
			ErrShape, ls, targets.Shape(), mask.Shape())
	}
	op := &lossOp{opBase: newBase("bceMasked", false), bce: true, shape: ls.Clone()}
	return gorgonia.ApplyOp(op, logits, targets, mask)
}

// MSE returns the scalar mean of (a-b)^2 over all elements, as PyTorch's
// F.mse_loss. Both inputs get gradients.
func MSE(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := nodeDtype("MSE", a, b); err != nil {
		return nil, err
	}
	if a.Shape().Dims() < 1 || !a.Shape().Eq(b.Shape()) {
		return nil, fmt.Errorf("%w: MSE of %v and %v (want equal shapes)", ErrShape, a.Shape(), b.Shape())
	}
	op := &lossOp{opBase: newBase("mse", false), shape: a.Shape().Clone()}
	return gorgonia.ApplyOp(op, a, b)
}

// lossOp is a scalar loss: masked BCE over (logits, targets, mask) or MSE
// over (a, b).
type lossOp struct {
	opBase
	bce   bool
	shape tensor.Shape
}

func (op *lossOp) Arity() int {
	if op.bce {
		return 3
	}
	return 2
}

func (op *lossOp) Type() hm.Type {
	t := tensorType(op.shape.Dims())
	if op.bce {
		return fnType(t, t, t, scalarType())
	}
	return fnType(t, t, scalarType())
}

func (op *lossOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}

func (op *lossOp) DiffWRT(int) []bool {
	if op.bce {
		return []bool{true, false, false}
	}
	return []bool{true, true}
}

func (op *lossOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	dt, err := dtypeOf(op.kind, vs...)
	if err != nil {
		return nil, err
	}
	ts := make([]*tensor.Dense, len(vs))
	for i, v := range vs {
		if ts[i], err = dense(op.kind, i, v, op.shape.TotalSize()); err != nil {
			return nil, err
		}
	}
	if op.bce {
		return newScalar(dt, op.k.BCEMasked(ts[0], ts[1], ts[2])), nil
	}
	return newScalar(dt, op.k.MSE(ts[0], ts[1])), nil
}

func (op *lossOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.bce {
		g := &lossGradOp{opBase: newBase("bceMaskedGrad", false), bce: true, shape: op.shape}
		dl, err := gorgonia.ApplyOp(g, in[0], in[1], in[2], grad)
		if err != nil {
			return nil, err
		}
		return gorgonia.Nodes{dl, nil, nil}, nil
	}
	da, err := gorgonia.ApplyOp(&lossGradOp{opBase: newBase("mseGrad", false, 0), shape: op.shape}, in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	db, err := gorgonia.ApplyOp(&lossGradOp{opBase: newBase("mseGrad", false, 1), shape: op.shape, second: true}, in[0], in[1], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{da, db}, nil
}

// lossGradOp is the gradient of a lossOp with respect to its first input
// (or, for MSE with second set, its second), scaled by the incoming scalar
// gradient, which is its last input.
type lossGradOp struct {
	opBase
	bce    bool
	second bool
	shape  tensor.Shape
	buf    outBuf
}

func (op *lossGradOp) Arity() int {
	if op.bce {
		return 4
	}
	return 3
}

func (op *lossGradOp) Type() hm.Type {
	t := tensorType(op.shape.Dims())
	if op.bce {
		return fnType(t, t, t, scalarType(), t)
	}
	return fnType(t, t, scalarType(), t)
}

func (op *lossGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}

func (op *lossGradOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	last := len(vs) - 1
	dt, err := dtypeOf(op.kind, vs...)
	if err != nil {
		return nil, err
	}
	g, err := scalarValue(op.kind, vs[last])
	if err != nil {
		return nil, err
	}
	ts := make([]*tensor.Dense, last)
	for i := range ts {
		if ts[i], err = dense(op.kind, i, vs[i], op.shape.TotalSize()); err != nil {
			return nil, err
		}
	}
	d := op.buf.get(dt, op.shape)
	switch {
	case op.bce:
		op.k.BCEMaskedGrad(g, ts[0], ts[1], ts[2], d)
	case op.second:
		op.k.MSEGrad(g, ts[0], ts[1], nil, d)
	default:
		op.k.MSEGrad(g, ts[0], ts[1], d, nil)
	}
	return d, nil
}
