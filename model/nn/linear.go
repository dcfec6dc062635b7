package nn

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Linear computes x (N,In) * w^T + b with w (Out,In) and b (Out), as
// PyTorch's nn.Linear. b may be nil for a layer without bias.
func Linear(x, w, b *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := nodeDtype("Linear", x, w); err != nil {
		return nil, err
	}
	xs, ws := x.Shape(), w.Shape()
	if xs.Dims() != 2 || ws.Dims() != 2 || xs[1] != ws[1] {
		return nil, fmt.Errorf("%w: Linear of x %v (want N,In) with w %v (want Out,In)", ErrShape, xs, ws)
	}
	op := &linearOp{opBase: newBase("linear", false), n: xs[0], in: xs[1], out: ws[0]}
	y, err := gorgonia.ApplyOp(op, x, w)
	if err != nil || b == nil {
		return y, err
	}
	return BiasAdd(y, b)
}

type linearMode int

const (
	linFwd linearMode = iota
	linGradX
	linGradW
)

// linearOp is the product x*w^T or one of its gradients: dx from (w, dy)
// and dw from (x, dy).
type linearOp struct {
	opBase
	mode       linearMode
	n, in, out int
	buf        outBuf
}

func (op *linearOp) Arity() int    { return 2 }
func (op *linearOp) Type() hm.Type { return fnType(tensorType(2), tensorType(2), tensorType(2)) }
func (op *linearOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	switch op.mode {
	case linGradX:
		return tensor.Shape{op.n, op.in}, nil
	case linGradW:
		return tensor.Shape{op.out, op.in}, nil
	}
	return tensor.Shape{op.n, op.out}, nil
}
func (op *linearOp) DiffWRT(int) []bool { return []bool{true, true} }

func (op *linearOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	dt, err := dtypeOf(op.kind, vs...)
	if err != nil {
		return nil, err
	}
	sizes := map[linearMode][2]int{
		linFwd:   {op.n * op.in, op.out * op.in},
		linGradX: {op.out * op.in, op.n * op.out},
		linGradW: {op.n * op.in, op.n * op.out},
	}[op.mode]
	a, err := dense(op.kind, 0, vs[0], sizes[0])
	if err != nil {
		return nil, err
	}
	b, err := dense(op.kind, 1, vs[1], sizes[1])
	if err != nil {
		return nil, err
	}
	shape, _ := op.InferShape()
	y := op.buf.get(dt, shape)
	switch op.mode {
	case linFwd:
		op.k.Linear(op.n, op.in, op.out, a, b, y)
	case linGradX:
		op.k.LinearGradX(op.n, op.in, op.out, a, b, y)
	case linGradW:
		op.k.LinearGradW(op.n, op.in, op.out, a, b, y)
	}
	return y, nil
}

func (op *linearOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.mode != linFwd {
		return nil, fmt.Errorf("%w: %s is not differentiable", ErrArg, op.kind)
	}
	gx := &linearOp{opBase: newBase("linearGradX", false), mode: linGradX, n: op.n, in: op.in, out: op.out}
	dx, err := gorgonia.ApplyOp(gx, in[1], grad)
	if err != nil {
		return nil, err
	}
	gw := &linearOp{opBase: newBase("linearGradW", false), mode: linGradW, n: op.n, in: op.in, out: op.out}
	dw, err := gorgonia.ApplyOp(gw, in[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dw}, nil
}
