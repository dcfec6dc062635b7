package nn

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ConcatChannels joins a (N,Ca,...) and b (N,Cb,...) along axis 1 into
// (N,Ca+Cb,...), as torch.cat([a, b], dim=1): the U-Net's skip connection.
// The remaining dimensions must match.
func ConcatChannels(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := nodeDtype("ConcatChannels", a, b); err != nil {
		return nil, err
	}
	as, bs := a.Shape(), b.Shape()
	ok := as.Dims() >= 2 && as.Dims() == bs.Dims() && as[0] == bs[0]
	for i := 2; ok && i < as.Dims(); i++ {
		ok = as[i] == bs[i]
	}
	if !ok {
		return nil, fmt.Errorf("%w: ConcatChannels of %v and %v (want N,C,... alike but for C)", ErrShape, as, bs)
	}
	out := as.Clone()
	out[1] += bs[1]
	op := &concatOp{opBase: newBase("concatChannels", false), a: as.Clone(), b: bs.Clone(), out: out}
	return gorgonia.ApplyOp(op, a, b)
}

// concatOp is the forward concatenation node.
type concatOp struct {
	opBase
	a, b, out tensor.Shape
	buf       outBuf
}

func (op *concatOp) Arity() int { return 2 }
func (op *concatOp) Type() hm.Type {
	t := tensorType(op.out.Dims())
	return fnType(t, t, t)
}
func (op *concatOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.out.Clone(), nil
}
func (op *concatOp) DiffWRT(int) []bool { return []bool{true, true} }

func (op *concatOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	dt, err := dtypeOf(op.kind, vs...)
	if err != nil {
		return nil, err
	}
	a, err := dense(op.kind, 0, vs[0], op.a.TotalSize())
	if err != nil {
		return nil, err
	}
	b, err := dense(op.kind, 1, vs[1], op.b.TotalSize())
	if err != nil {
		return nil, err
	}
	y := op.buf.get(dt, op.out)
	n := op.out[0]
	op.k.Concat(n, op.a.TotalSize()/n, op.b.TotalSize()/n, a, b, y)
	return y, nil
}

func (op *concatOp) SymDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	n := op.out[0]
	na, nb := op.a.TotalSize()/n, op.b.TotalSize()/n
	da, err := gorgonia.ApplyOp(&sliceRowsOp{opBase: newBase("sliceRows", false, 0, na), in: op.out, out: op.a, lo: 0, hi: na}, grad)
	if err != nil {
		return nil, err
	}
	db, err := gorgonia.ApplyOp(&sliceRowsOp{opBase: newBase("sliceRows", false, na, na+nb), in: op.out, out: op.b, lo: na, hi: na + nb}, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{da, db}, nil
}

// sliceRowsOp copies elements [lo, hi) of every row (one row per sample)
// of its input: the gradient of one side of a concatenation.
type sliceRowsOp struct {
	opBase
	in, out tensor.Shape
	lo, hi  int
	buf     outBuf
}

func (op *sliceRowsOp) Arity() int { return 1 }
func (op *sliceRowsOp) Type() hm.Type {
	return fnType(tensorType(op.in.Dims()), tensorType(op.out.Dims()))
}
func (op *sliceRowsOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.out.Clone(), nil
}

func (op *sliceRowsOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	dt, err := dtypeOf(op.kind, vs...)
	if err != nil {
		return nil, err
	}
	dy, err := dense(op.kind, 0, vs[0], op.in.TotalSize())
	if err != nil {
		return nil, err
	}
	dx := op.buf.get(dt, op.out)
	n := op.in[0]
	op.k.SliceRows(n, op.in.TotalSize()/n, op.lo, op.hi, dy, dx)
	return dx, nil
}
