package nn

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Conv2D convolves x (N,C,H,W) with filters w (O,C,KH,KW) at the given
// stride and zero padding, like PyTorch's F.conv2d without bias, and returns
// (N,O,OH,OW). Its backward runs as two nodes: the input gradient and the
// filter gradient.
func Conv2D(x, w *gorgonia.Node, stride, pad int) (*gorgonia.Node, error) {
	op, err := newConvOp("Conv2D", x, w, stride, pad)
	if err != nil {
		return nil, err
	}
	return gorgonia.ApplyOp(op, x, w)
}

// Conv2DBias is Conv2D followed by BiasAdd with b (O), fused: the bias is
// added while the convolution's output is written, saving a pass over it.
// It is PyTorch's nn.Conv2d with bias.
func Conv2DBias(x, w, b *gorgonia.Node, stride, pad int) (*gorgonia.Node, error) {
	op, err := newConvOp("Conv2DBias", x, w, stride, pad)
	if err != nil {
		return nil, err
	}
	if _, err := nodeDtype("Conv2DBias", x, b); err != nil {
		return nil, err
	}
	if b.Dims() != 1 || b.Shape()[0] != op.p.O {
		return nil, fmt.Errorf("%w: Conv2DBias bias %v for filters %v (want O)", ErrShape, b.Shape(), w.Shape())
	}
	op.bias = true
	op.opBase = newBase("conv2dBias", false, stride, pad, boolInt(op.noInputGrad))
	return gorgonia.ApplyOp(op, x, w, b)
}

// newConvOp checks x and w and returns the forward op; name is the API
// function for errors.
func newConvOp(name string, x, w *gorgonia.Node, stride, pad int) (*convOp, error) {
	if _, err := nodeDtype(name, x, w); err != nil {
		return nil, err
	}
	xs, ws := x.Shape(), w.Shape()
	if xs.Dims() != 4 || ws.Dims() != 4 || xs[1] != ws[1] {
		return nil, fmt.Errorf("%w: %s of x %v (want N,C,H,W) with w %v (want O,C,KH,KW)", ErrShape, name, xs, ws)
	}
	p, ok := newConvParams(xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], stride, pad)
	if !ok {
		return nil, fmt.Errorf("%w: %s stride %d pad %d does not fit x %v and w %v", ErrArg, name, stride, pad, xs, ws)
	}
	return &convOp{opBase: newBase("conv2d", false, stride, pad, boolInt(isNoGrad(x))), p: p, noInputGrad: isNoGrad(x)}, nil
}

// convOp is the forward convolution node. noInputGrad is set when x comes
// from NoGrad: then only the filter gradient is built.
type convOp struct {
	opBase
	p           ConvParams
	noInputGrad bool
	bias        bool
	out         outBuf
}

func (op *convOp) Arity() int {
	if op.bias {
		return 3
	}
	return 2
}

func (op *convOp) Type() hm.Type {
	if op.bias {
		return fnType(tensorType(4), tensorType(4), tensorType(1), tensorType(4))
	}
	return fnType(tensorType(4), tensorType(4), tensorType(4))
}
func (op *convOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.p.N, op.p.O, op.p.OH, op.p.OW}, nil
}
func (op *convOp) DiffWRT(int) []bool { return []bool{!op.noInputGrad, true, true} }

func (op *convOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	p := op.p
	dt, err := dtypeOf(op.kind, vs...)
	if err != nil {
		return nil, err
	}
	x, err := dense(op.kind, 0, vs[0], p.N*p.C*p.H*p.W)
	if err != nil {
		return nil, err
	}
	w, err := dense(op.kind, 1, vs[1], p.O*p.cols())
	if err != nil {
		return nil, err
	}
	var b *tensor.Dense
	if op.bias {
		if b, err = dense(op.kind, 2, vs[2], p.O); err != nil {
			return nil, err
		}
	}
	y := op.out.get(dt, tensor.Shape{p.N, p.O, p.OH, p.OW})
	op.k.Conv2D(p, x, w, b, y)
	return y, nil
}

func (op *convOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	var dx *gorgonia.Node
	var err error
	if !op.noInputGrad {
		dx, err = gorgonia.ApplyOp(&convGradOp{opBase: newBase("conv2dGradX", false, op.p.Stride, op.p.Pad), p: op.p}, in[1], grad)
		if err != nil {
			return nil, err
		}
	}
	dw, err := gorgonia.ApplyOp(&convGradOp{opBase: newBase("conv2dGradW", false, op.p.Stride, op.p.Pad), p: op.p, filter: true}, in[0], grad)
	if err != nil {
		return nil, err
	}
	if !op.bias {
		return gorgonia.Nodes{dx, dw}, nil
	}
	shape := tensor.Shape{op.p.N, op.p.O, op.p.OH, op.p.OW}
	db, err := gorgonia.ApplyOp(&channelSumOp{opBase: newBase("channelSum", false, 0), shape: shape, bdims: 1}, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dw, db}, nil
}

// convGradOp computes the input gradient from (w, dy), or, with filter set,
// the filter gradient from (x, dy).
type convGradOp struct {
	opBase
	p      ConvParams
	filter bool
	out    outBuf
}

func (op *convGradOp) Arity() int    { return 2 }
func (op *convGradOp) Type() hm.Type { return fnType(tensorType(4), tensorType(4), tensorType(4)) }
func (op *convGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if op.filter {
		return tensor.Shape{op.p.O, op.p.C, op.p.KH, op.p.KW}, nil
	}
	return tensor.Shape{op.p.N, op.p.C, op.p.H, op.p.W}, nil
}

func (op *convGradOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	p := op.p
	dt, err := dtypeOf(op.kind, vs...)
	if err != nil {
		return nil, err
	}
	size0 := p.O * p.cols()
	if op.filter {
		size0 = p.N * p.C * p.H * p.W
	}
	a, err := dense(op.kind, 0, vs[0], size0)
	if err != nil {
		return nil, err
	}
	dy, err := dense(op.kind, 1, vs[1], p.N*p.O*p.OH*p.OW)
	if err != nil {
		return nil, err
	}
	shape, _ := op.InferShape()
	out := op.out.get(dt, shape)
	if op.filter {
		op.k.Conv2DGradW(p, a, dy, out)
	} else {
		op.k.Conv2DGradX(p, a, dy, out)
	}
	return out, nil
}
