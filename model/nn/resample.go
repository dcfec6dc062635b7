package nn

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Upsample2x doubles the height and width of x (N,C,H,W) by nearest
// neighbour, as PyTorch's F.interpolate(scale_factor=2, mode="nearest").
func Upsample2x(x *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := nodeDtype("Upsample2x", x); err != nil {
		return nil, err
	}
	s := x.Shape()
	if s.Dims() != 4 {
		return nil, fmt.Errorf("%w: Upsample2x of x %v (want N,C,H,W)", ErrShape, s)
	}
	op := &resampleOp{opBase: newBase("upsample2x", false), kind: resUp, in: s.Clone(),
		out: tensor.Shape{s[0], s[1], 2 * s[2], 2 * s[3]}}
	return gorgonia.ApplyOp(op, x)
}

// GlobalAvgPool averages x (N,C,H,W) over its spatial positions and returns
// (N,C), like PyTorch's x.mean(dim=(2,3)). Unlike gorgonia's
// GlobalAveragePool2D it has a gradient.
func GlobalAvgPool(x *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := nodeDtype("GlobalAvgPool", x); err != nil {
		return nil, err
	}
	s := x.Shape()
	if s.Dims() != 4 {
		return nil, fmt.Errorf("%w: GlobalAvgPool of x %v (want N,C,H,W)", ErrShape, s)
	}
	op := &resampleOp{opBase: newBase("globalAvgPool", false), kind: resPool, in: s.Clone(),
		out: tensor.Shape{s[0], s[1]}}
	return gorgonia.ApplyOp(op, x)
}

type resampleKind int

const (
	resUp resampleKind = iota
	resUpGrad
	resPool
	resPoolGrad
)

// resampleOp is one of nearest 2x upsampling, global average pooling and
// their gradients: a one-input op from shape in to shape out.
type resampleOp struct {
	opBase
	kind    resampleKind
	in, out tensor.Shape
	buf     outBuf
}

func (op *resampleOp) Arity() int { return 1 }
func (op *resampleOp) Type() hm.Type {
	return fnType(tensorType(op.in.Dims()), tensorType(op.out.Dims()))
}
func (op *resampleOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.out.Clone(), nil
}
func (op *resampleOp) DiffWRT(int) []bool { return []bool{true} }

func (op *resampleOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	dt, err := dtypeOf(op.opBase.kind, vs...)
	if err != nil {
		return nil, err
	}
	x, err := dense(op.opBase.kind, 0, vs[0], op.in.TotalSize())
	if err != nil {
		return nil, err
	}
	y := op.buf.get(dt, op.out)
	switch op.kind {
	case resUp:
		op.k.Upsample2x(op.in[0]*op.in[1], op.in[2], op.in[3], x, y)
	case resUpGrad:
		op.k.Upsample2xGrad(op.out[0]*op.out[1], op.out[2], op.out[3], x, y)
	case resPool:
		op.k.AvgPool(op.in[0]*op.in[1], op.in[2]*op.in[3], x, y)
	case resPoolGrad:
		op.k.AvgPoolGrad(op.out[0]*op.out[1], op.out[2]*op.out[3], x, y)
	}
	return y, nil
}

func (op *resampleOp) SymDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	var g *resampleOp
	switch op.kind {
	case resUp:
		g = &resampleOp{opBase: newBase("upsample2xGrad", false), kind: resUpGrad}
	case resPool:
		g = &resampleOp{opBase: newBase("globalAvgPoolGrad", false), kind: resPoolGrad}
	default:
		return nil, fmt.Errorf("%w: %s is not differentiable", ErrArg, op.opBase.kind)
	}
	g.in, g.out = op.out, op.in
	dx, err := gorgonia.ApplyOp(g, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}
