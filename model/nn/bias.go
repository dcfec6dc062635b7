package nn

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BiasAdd adds b (C) to every channel of x (N,C) or (N,C,H,W), as the bias
// of a PyTorch Linear or Conv2d layer. The gradient of x is the incoming
// gradient itself; that of b is its sum over all but the channel axis.
func BiasAdd(x, b *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := nodeDtype("BiasAdd", x, b); err != nil {
		return nil, err
	}
	xs, bs := x.Shape(), b.Shape()
	if xs.Dims() < 2 || bs.TotalSize() != xs[1] || bs.Dims() != 1 {
		return nil, fmt.Errorf("%w: BiasAdd of x %v (want N,C,...) and b %v (want C)", ErrShape, xs, bs)
	}
	return applyChannelAdd(x, b, false)
}

// ChannelAdd adds v (N,C) to x (N,C,H,W), broadcasting each v[n,c] over
// the spatial positions: how a U-Net block adds its time and condition
// embedding.
func ChannelAdd(x, v *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := nodeDtype("ChannelAdd", x, v); err != nil {
		return nil, err
	}
	xs, vs := x.Shape(), v.Shape()
	if xs.Dims() < 2 || vs.Dims() != 2 || vs[0] != xs[0] || vs[1] != xs[1] {
		return nil, fmt.Errorf("%w: ChannelAdd of x %v (want N,C,...) and v %v (want N,C)", ErrShape, xs, vs)
	}
	return applyChannelAdd(x, v, true)
}

func applyChannelAdd(x, b *gorgonia.Node, perSample bool) (*gorgonia.Node, error) {
	xs := x.Shape().Clone()
	op := &channelAddOp{opBase: newBase("channelAdd", false, boolInt(perSample)), shape: xs,
		bdims: b.Dims(), perSample: perSample}
	return gorgonia.ApplyOp(op, x, b)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// spatial returns N, C and the product of the remaining dimensions.
func spatial(s tensor.Shape) (n, c, hw int) {
	hw = 1
	for _, d := range s[2:] {
		hw *= d
	}
	return s[0], s[1], hw
}

// channelAddOp adds a per-channel or per-(sample, channel) vector.
type channelAddOp struct {
	opBase
	shape     tensor.Shape
	bdims     int
	perSample bool
	out       outBuf
}

func (op *channelAddOp) Arity() int { return 2 }
func (op *channelAddOp) Type() hm.Type {
	d := op.shape.Dims()
	return fnType(tensorType(d), tensorType(op.bdims), tensorType(d))
}
func (op *channelAddOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}
func (op *channelAddOp) DiffWRT(int) []bool { return []bool{true, true} }

func (op *channelAddOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	dt, err := dtypeOf(op.kind, vs...)
	if err != nil {
		return nil, err
	}
	n, c, hw := spatial(op.shape)
	x, err := dense(op.kind, 0, vs[0], n*c*hw)
	if err != nil {
		return nil, err
	}
	bsize := c
	if op.perSample {
		bsize = n * c
	}
	b, err := dense(op.kind, 1, vs[1], bsize)
	if err != nil {
		return nil, err
	}
	y := op.out.get(dt, op.shape)
	op.k.ChannelAdd(n, c, hw, op.perSample, x, b, y)
	return y, nil
}

func (op *channelAddOp) SymDiff(_ gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	sum := &channelSumOp{opBase: newBase("channelSum", false, boolInt(op.perSample)), shape: op.shape,
		bdims: op.bdims, perSample: op.perSample}
	db, err := gorgonia.ApplyOp(sum, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{grad, db}, nil
}

// channelSumOp reduces a gradient to the shape of the added vector.
type channelSumOp struct {
	opBase
	shape     tensor.Shape
	bdims     int
	perSample bool
	out       outBuf
}

func (op *channelSumOp) Arity() int { return 1 }
func (op *channelSumOp) Type() hm.Type {
	return fnType(tensorType(op.shape.Dims()), tensorType(op.bdims))
}
func (op *channelSumOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	if op.perSample {
		return tensor.Shape{op.shape[0], op.shape[1]}, nil
	}
	return tensor.Shape{op.shape[1]}, nil
}

func (op *channelSumOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	dt, err := dtypeOf(op.kind, vs...)
	if err != nil {
		return nil, err
	}
	n, c, hw := spatial(op.shape)
	dy, err := dense(op.kind, 0, vs[0], n*c*hw)
	if err != nil {
		return nil, err
	}
	shape, _ := op.InferShape()
	db := op.out.get(dt, shape)
	op.k.ChannelSum(n, c, hw, op.perSample, dy, db)
	return db, nil
}
