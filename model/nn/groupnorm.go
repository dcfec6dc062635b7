package nn

import (
	"fmt"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// GroupNorm normalises x (N,C,...) over groups of C/groups channels per
// sample, scales by gamma (C) and shifts by beta (C), as PyTorch's
// nn.GroupNorm(groups, C, eps), then applies SiLU when silu is set. It
// works for whatever batch size x has when the graph is built and logs
// nothing. The backward is one node that computes the gradients of x, gamma
// and beta together, recomputing the statistics from x.
func GroupNorm(x, gamma, beta *gorgonia.Node, groups int, eps float64, silu bool) (*gorgonia.Node, error) {
	if _, err := nodeDtype("GroupNorm", x, gamma, beta); err != nil {
		return nil, err
	}
	xs := x.Shape()
	if xs.Dims() < 2 || gamma.Shape().TotalSize() != xs[1] || beta.Shape().TotalSize() != xs[1] ||
		gamma.Dims() != 1 || beta.Dims() != 1 {
		return nil, fmt.Errorf("%w: GroupNorm of x %v with gamma %v and beta %v (want N,C,... and C)",
			ErrShape, xs, gamma.Shape(), beta.Shape())
	}
	if groups < 1 || xs[1]%groups != 0 || !(eps > 0) {
		return nil, fmt.Errorf("%w: GroupNorm groups %d must divide C=%d and eps %g must be > 0", ErrArg, groups, xs[1], eps)
	}
	n, c, hw := spatial(xs)
	p := NormParams{N: n, C: c, HW: hw, Groups: groups, Eps: eps, SiLU: silu}
	op := &groupNormOp{opBase: newBase("groupNorm", false, groups, int(math.Float64bits(eps)), boolInt(silu)),
		p: p, shape: xs.Clone()}
	return gorgonia.ApplyOp(op, x, gamma, beta)
}

// groupNormOp is the forward GroupNorm(+SiLU) node. It keeps the
// statistics of its last run for the backward node, which always runs
// after it in the same pass.
type groupNormOp struct {
	opBase
	p     NormParams
	shape tensor.Shape
	out   outBuf
	stats []float64
}

func (op *groupNormOp) Arity() int { return 3 }
func (op *groupNormOp) Type() hm.Type {
	d := op.shape.Dims()
	return fnType(tensorType(d), tensorType(1), tensorType(1), tensorType(d))
}
func (op *groupNormOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}
func (op *groupNormOp) DiffWRT(int) []bool { return []bool{true, true, true} }

// normInputs checks and unpacks (x, gamma, beta[, dy]).
func normInputs(kind string, p NormParams, vs []gorgonia.Value) (tensor.Dtype, []*tensor.Dense, error) {
	dt, err := dtypeOf(kind, vs...)
	if err != nil {
		return dt, nil, err
	}
	sizes := []int{p.N * p.C * p.HW, p.C, p.C, p.N * p.C * p.HW}
	ts := make([]*tensor.Dense, len(vs))
	for i, v := range vs {
		if ts[i], err = dense(kind, i, v, sizes[i]); err != nil {
			return dt, nil, err
		}
	}
	return dt, ts, nil
}

func (op *groupNormOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	dt, ts, err := normInputs(op.kind, op.p, vs)
	if err != nil {
		return nil, err
	}
	y := op.out.get(dt, op.shape)
	if len(op.stats) != 2*op.p.N*op.p.Groups {
		op.stats = make([]float64, 2*op.p.N*op.p.Groups)
	}
	op.k.GroupNorm(op.p, ts[0], ts[1], ts[2], y, op.stats)
	return y, nil
}

func (op *groupNormOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	shared := &sharedGrads{parts: make([]outBuf, 2)}
	gop := &groupNormGradOp{opBase: newBase("groupNormGrad", true), p: op.p, shape: op.shape, shared: shared, fwd: op}
	dx, err := gorgonia.ApplyOp(gop, in[0], in[1], in[2], grad)
	if err != nil {
		return nil, err
	}
	dgamma, err := newGradPart(shared, 0, dx, tensor.Shape{op.p.C})
	if err != nil {
		return nil, err
	}
	dbeta, err := newGradPart(shared, 1, dx, tensor.Shape{op.p.C})
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx, dgamma, dbeta}, nil
}

// groupNormGradOp computes dx from (x, gamma, beta, dy) and leaves dgamma
// and dbeta in shared for the gradPart nodes. It reads the statistics the
// forward node fwd computed from the same x earlier in the pass.
type groupNormGradOp struct {
	opBase
	p      NormParams
	shape  tensor.Shape
	shared *sharedGrads
	fwd    *groupNormOp
	out    outBuf
}

func (op *groupNormGradOp) Arity() int { return 4 }
func (op *groupNormGradOp) Type() hm.Type {
	d := op.shape.Dims()
	return fnType(tensorType(d), tensorType(1), tensorType(1), tensorType(d), tensorType(d))
}
func (op *groupNormGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}

func (op *groupNormGradOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	dt, ts, err := normInputs(op.kind, op.p, vs)
	if err != nil {
		return nil, err
	}
	dx := op.out.get(dt, op.shape)
	dgamma := op.shared.parts[0].get(dt, tensor.Shape{op.p.C})
	dbeta := op.shared.parts[1].get(dt, tensor.Shape{op.p.C})
	var stats []float64
	if len(op.fwd.stats) == 2*op.p.N*op.p.Groups {
		stats = op.fwd.stats
	}
	op.k.GroupNormGrad(op.p, ts[0], ts[1], ts[2], ts[3], dx, dgamma, dbeta, stats)
	return dx, nil
}
