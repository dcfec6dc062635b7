package nn

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// SiLU applies x*sigmoid(x) elementwise to a tensor of any shape.
func SiLU(x *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := nodeDtype("SiLU", x); err != nil {
		return nil, err
	}
	if x.Shape().Dims() < 1 {
		return nil, fmt.Errorf("%w: SiLU of scalar %v", ErrShape, x.Shape())
	}
	return gorgonia.ApplyOp(&siluOp{opBase: newBase("silu", false), shape: x.Shape().Clone()}, x)
}

// siluOp is SiLU's forward node, or with grad set its backward node taking
// (x, dy).
type siluOp struct {
	opBase
	shape tensor.Shape
	grad  bool
	out   outBuf
}

func (op *siluOp) Arity() int {
	if op.grad {
		return 2
	}
	return 1
}

func (op *siluOp) Type() hm.Type {
	t := tensorType(op.shape.Dims())
	if op.grad {
		return fnType(t, t, t)
	}
	return fnType(t, t)
}

func (op *siluOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}
func (op *siluOp) DiffWRT(int) []bool { return []bool{true} }

func (op *siluOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	dt, err := dtypeOf(op.kind, vs...)
	if err != nil {
		return nil, err
	}
	size := op.shape.TotalSize()
	ts := make([]*tensor.Dense, len(vs))
	for i, v := range vs {
		if ts[i], err = dense(op.kind, i, v, size); err != nil {
			return nil, err
		}
	}
	y := op.out.get(dt, op.shape)
	if op.grad {
		op.k.SiLUGrad(ts[0], ts[1], y)
	} else {
		op.k.SiLU(ts[0], y)
	}
	return y, nil
}

func (op *siluOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.grad {
		return nil, fmt.Errorf("%w: SiLU backward is not differentiable", ErrArg)
	}
	g := &siluOp{opBase: newBase("siluGrad", false), shape: op.shape, grad: true}
	dx, err := gorgonia.ApplyOp(g, in[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}
