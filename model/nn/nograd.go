package nn

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// NoGrad passes x through unchanged and stops gradients from flowing into
// it, like PyTorch's x.detach(). Use it on a network's input images:
// Conv2D(NoGrad(x), w, ...) then skips building the input-gradient pass of
// that convolution, which gorgonia would otherwise run every step for an
// input that needs no gradient.
func NoGrad(x *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := nodeDtype("NoGrad", x); err != nil {
		return nil, err
	}
	if x.Shape().Dims() < 1 {
		return nil, fmt.Errorf("%w: NoGrad of scalar %v", ErrShape, x.Shape())
	}
	return gorgonia.ApplyOp(&noGradOp{opBase: newBase("noGrad", false), shape: x.Shape().Clone()}, x)
}

// isNoGrad reports whether n is the output of NoGrad.
func isNoGrad(n *gorgonia.Node) bool {
	_, ok := n.Op().(*noGradOp)
	return ok
}

// noGradOp copies its input (so that no later in-place op can clobber the
// original) and has no gradient.
type noGradOp struct {
	opBase
	shape tensor.Shape
	buf   outBuf
}

func (op *noGradOp) Arity() int { return 1 }
func (op *noGradOp) Type() hm.Type {
	t := tensorType(op.shape.Dims())
	return fnType(t, t)
}
func (op *noGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}
func (op *noGradOp) DiffWRT(int) []bool { return []bool{false} }

func (op *noGradOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return gorgonia.Nodes{nil}, nil
}

func (op *noGradOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	dt, err := dtypeOf(op.kind, vs...)
	if err != nil {
		return nil, err
	}
	x, err := dense(op.kind, 0, vs[0], op.shape.TotalSize())
	if err != nil {
		return nil, err
	}
	y := op.buf.get(dt, op.shape)
	if is32(x) {
		copy(f32(y), f32(x))
	} else {
		copy(f64(y), f64(x))
	}
	return y, nil
}
