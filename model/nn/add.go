package nn

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Add returns a + b for two tensors of the same shape: a residual
// connection. Unlike gorgonia.Add it runs on the kernel workers and reuses
// its output buffer every step. Both inputs receive the incoming gradient.
func Add(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := nodeDtype("Add", a, b); err != nil {
		return nil, err
	}
	if a.Shape().Dims() < 1 || !a.Shape().Eq(b.Shape()) {
		return nil, fmt.Errorf("%w: Add of %v and %v (want equal shapes)", ErrShape, a.Shape(), b.Shape())
	}
	return gorgonia.ApplyOp(&addOp{opBase: newBase("add", false), shape: a.Shape().Clone()}, a, b)
}

// addOp is the same-shape sum node.
type addOp struct {
	opBase
	shape tensor.Shape
	buf   outBuf
}

func (op *addOp) Arity() int { return 2 }
func (op *addOp) Type() hm.Type {
	t := tensorType(op.shape.Dims())
	return fnType(t, t, t)
}
func (op *addOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) { return op.shape.Clone(), nil }
func (op *addOp) DiffWRT(int) []bool                                    { return []bool{true, true} }

func (op *addOp) SymDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	return gorgonia.Nodes{grad, grad}, nil
}

func (op *addOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	dt, err := dtypeOf(op.kind, vs...)
	if err != nil {
		return nil, err
	}
	size := op.shape.TotalSize()
	a, err := dense(op.kind, 0, vs[0], size)
	if err != nil {
		return nil, err
	}
	b, err := dense(op.kind, 1, vs[1], size)
	if err != nil {
		return nil, err
	}
	y := op.buf.get(dt, op.shape)
	op.k.Add(a, b, y)
	return y, nil
}
