package nn

import (
	"gorgonia.org/gorgonia"
)

// OpKind names one of this package's ops (forward or backward) for a
// backend that runs a graph without calling the ops' Do: a device executor
// reads the graph's nodes, Describes each op, and runs its own kernel.
type OpKind int

// The op kinds. The comment of each lists its inputs (the node's children,
// in order) and what its OpDesc sets.
const (
	// OpUnknown is not an op of this package.
	OpUnknown OpKind = iota
	// OpConv2D: x, w[, b] (Bias); Conv.
	OpConv2D
	// OpConv2DGradX: w, dy; Conv.
	OpConv2DGradX
	// OpConv2DGradW: x, dy; Conv.
	OpConv2DGradW
	// OpChannelAdd: x, b; N, C, HW, PerSample.
	OpChannelAdd
	// OpChannelSum: dy; N, C, HW, PerSample.
	OpChannelSum
	// OpGroupNorm: x, gamma, beta; Norm, State (shared with its backward).
	OpGroupNorm
	// OpGroupNormGrad: x, gamma, beta, dy; Norm, State (its forward's).
	// The node's value is dx; parts 0 and 1 (OpGradPart) are dgamma and
	// dbeta.
	OpGroupNormGrad
	// OpGradPart: the backward node that computed the part; Index.
	OpGradPart
	// OpSiLU: x.
	OpSiLU
	// OpSiLUGrad: x, dy.
	OpSiLUGrad
	// OpUpsample2x: x; Planes, H, W (of x).
	OpUpsample2x
	// OpUpsample2xGrad: dy; Planes, H, W (of dx).
	OpUpsample2xGrad
	// OpAvgPool: x; Planes, HW.
	OpAvgPool
	// OpAvgPoolGrad: dy; Planes, HW.
	OpAvgPoolGrad
	// OpConcat: a, b; Outer, NA, NB.
	OpConcat
	// OpSliceRows: dy; Outer, Width, Lo, Hi.
	OpSliceRows
	// OpAdd: a, b (same shape).
	OpAdd
	// OpLinear: x, w; N, In, Out.
	OpLinear
	// OpLinearGradX: w, dy; N, In, Out.
	OpLinearGradX
	// OpLinearGradW: x, dy; N, In, Out.
	OpLinearGradW
	// OpBCEMasked: logits, targets, mask; a scalar.
	OpBCEMasked
	// OpBCEMaskedGrad: logits, targets, mask, g (scalar).
	OpBCEMaskedGrad
	// OpMSE: a, b; a scalar.
	OpMSE
	// OpMSEGrad: a, b, g (scalar); Second for the gradient of b.
	OpMSEGrad
	// OpAttention: q, k, v, or qkv when Packed; Attn.
	OpAttention
	// OpAttentionGrad: q, k, v, dO (qkv, dO when Packed); Attn, Packed.
	// The node's value is dq (dqkv when packed); parts 0 and 1 are dk and
	// dv.
	OpAttentionGrad
	// OpNoGrad: x (the value passes through).
	OpNoGrad
)

var opKindNames = [...]string{"unknown", "conv2d", "conv2dGradX", "conv2dGradW", "channelAdd", "channelSum",
	"groupNorm", "groupNormGrad", "gradPart", "silu", "siluGrad", "upsample2x", "upsample2xGrad",
	"avgPool", "avgPoolGrad", "concat", "sliceRows", "add", "linear", "linearGradX", "linearGradW",
	"bceMasked", "bceMaskedGrad", "mse", "mseGrad", "attention", "attentionGrad", "noGrad"}

// String names the kind.
func (k OpKind) String() string {
	if k < 0 || int(k) >= len(opKindNames) {
		return "invalid"
	}
	return opKindNames[k]
}

// OpDesc describes one op instance: its kind and the parameters its
// kernel needs. Only the fields that the kind's comment lists are set.
type OpDesc struct {
	Kind OpKind
	Conv ConvParams
	Norm NormParams
	Attn AttnParams
	// Bias is set for a convolution with its bias fused.
	Bias bool
	// Packed is set for attention over one packed qkv input.
	Packed bool
	// PerSample is set for a channel add of a per-(sample, channel) vector.
	PerSample bool
	// Second is set for the MSE gradient of the second input.
	Second bool
	// N, C, HW are a channel op's sizes; N, In, Out a linear op's.
	N, C, HW, In, Out int
	// Planes, H, W are a resampling op's sizes (HW for pooling).
	Planes, H, W int
	// Outer, NA, NB, Width, Lo, Hi are a concatenation's or slice's.
	Outer, NA, NB, Width, Lo, Hi int
	// Index is a gradient part's index.
	Index int
	// State identifies the state a forward op shares with its backward
	// op (GroupNorm's statistics): equal for the two, distinct otherwise.
	State any
}

// Describe returns op's description when it is an op of this package.
// It reads only what the op was built with; nothing is run.
func Describe(op gorgonia.Op) (OpDesc, bool) {
	switch o := op.(type) {
	case *convOp:
		return OpDesc{Kind: OpConv2D, Conv: o.p, Bias: o.bias}, true
	case *convGradOp:
		if o.filter {
			return OpDesc{Kind: OpConv2DGradW, Conv: o.p}, true
		}
		return OpDesc{Kind: OpConv2DGradX, Conv: o.p}, true
	case *channelAddOp:
		n, c, hw := spatial(o.shape)
		return OpDesc{Kind: OpChannelAdd, N: n, C: c, HW: hw, PerSample: o.perSample}, true
	case *channelSumOp:
		n, c, hw := spatial(o.shape)
		return OpDesc{Kind: OpChannelSum, N: n, C: c, HW: hw, PerSample: o.perSample}, true
	case *groupNormOp:
		return OpDesc{Kind: OpGroupNorm, Norm: o.p, State: o}, true
	case *groupNormGradOp:
		return OpDesc{Kind: OpGroupNormGrad, Norm: o.p, State: o.fwd}, true
	case *gradPartOp:
		return OpDesc{Kind: OpGradPart, Index: o.idx}, true
	case *siluOp:
		if o.grad {
			return OpDesc{Kind: OpSiLUGrad}, true
		}
		return OpDesc{Kind: OpSiLU}, true
	case *resampleOp:
		return describeResample(o), true
	case *concatOp:
		n := o.out[0]
		return OpDesc{Kind: OpConcat, Outer: n, NA: o.a.TotalSize() / n, NB: o.b.TotalSize() / n}, true
	case *sliceRowsOp:
		n := o.in[0]
		return OpDesc{Kind: OpSliceRows, Outer: n, Width: o.in.TotalSize() / n, Lo: o.lo, Hi: o.hi}, true
	case *addOp:
		return OpDesc{Kind: OpAdd}, true
	case *linearOp:
		k := map[linearMode]OpKind{linFwd: OpLinear, linGradX: OpLinearGradX, linGradW: OpLinearGradW}[o.mode]
		return OpDesc{Kind: k, N: o.n, In: o.in, Out: o.out}, true
	case *lossOp:
		if o.bce {
			return OpDesc{Kind: OpBCEMasked}, true
		}
		return OpDesc{Kind: OpMSE}, true
	case *lossGradOp:
		if o.bce {
			return OpDesc{Kind: OpBCEMaskedGrad}, true
		}
		return OpDesc{Kind: OpMSEGrad, Second: o.second}, true
	case *attnOp:
		return OpDesc{Kind: OpAttention, Attn: o.p, Packed: o.packed}, true
	case *attnGradOp:
		return OpDesc{Kind: OpAttentionGrad, Attn: o.fwd.p, Packed: o.fwd.packed}, true
	case *noGradOp:
		return OpDesc{Kind: OpNoGrad}, true
	}
	return OpDesc{}, false
}

// describeResample describes upsampling, pooling and their gradients.
func describeResample(o *resampleOp) OpDesc {
	switch o.kind {
	case resUp:
		return OpDesc{Kind: OpUpsample2x, Planes: o.in[0] * o.in[1], H: o.in[2], W: o.in[3]}
	case resUpGrad:
		return OpDesc{Kind: OpUpsample2xGrad, Planes: o.out[0] * o.out[1], H: o.out[2], W: o.out[3]}
	case resPool:
		return OpDesc{Kind: OpAvgPool, Planes: o.in[0] * o.in[1], HW: o.in[2] * o.in[3]}
	default:
		return OpDesc{Kind: OpAvgPoolGrad, Planes: o.out[0] * o.out[1], HW: o.out[2] * o.out[3]}
	}
}
