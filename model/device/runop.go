package device

import (
	"errors"
	"fmt"

	"github.com/synthfed/synthfed/model/device/opencl"
	"github.com/synthfed/synthfed/model/nn"
)

// runOp is the one implementation of each model/nn op on device buffers,
// shared by the per-op path (Kernels, which uploads and downloads around
// it) and the resident programs (Program, whose buffers stay on the
// device). in and out hold the op's buffers in the order below; g is the
// incoming scalar gradient of a loss's backward op.
//
//	Conv2D          in x, w, b (b nil: no bias)   out y
//	Conv2DGradX     in w, dy                       out dx
//	Conv2DGradW     in x, dy                       out dw
//	ChannelAdd      in x, b                        out y
//	ChannelSum      in dy                          out db
//	GroupNorm       in x, gamma, beta              out y, stats (2*N*Groups)
//	GroupNormGrad   in x, gamma, beta, dy, stats   out dx, dgamma, dbeta, acc (2*N*C scratch)
//	SiLU            in x                           out y
//	SiLUGrad        in x, dy                       out dx
//	Upsample2x(Grad), AvgPool(Grad): in x          out y
//	Concat          in a, b                        out y
//	SliceRows       in dy                          out dx
//	Add             in a, b                        out y
//	Linear          in x, w                        out y
//	LinearGradX     in w, dy                       out dx
//	LinearGradW     in x, dy                       out dw
//	BCEMasked       in l, t, m                     out stats (2: the loss, sum(m))
//	BCEMaskedGrad   in l, t, m                     out dl, stats (2, scratch)
//	MSE             in a, b                        out loss (1)
//	MSEGrad         in a, b                        out da, db (either nil)
//	Attention       in q, k, v                     out o
//	AttentionGrad   in q, k, v, dO                 out dq, dk, dv
func runOp(o *opencl.Ops, d nn.OpDesc, in, out []*opencl.Buffer, g float32) error {
	switch d.Kind {
	case nn.OpConv2D:
		return o.Conv2D(convShape(d.Conv), in[0], in[1], in[2], out[0])
	case nn.OpConv2DGradX:
		return o.Conv2DGradX(convShape(d.Conv), in[0], in[1], out[0])
	case nn.OpConv2DGradW:
		return o.Conv2DGradW(convShape(d.Conv), in[0], in[1], out[0])
	case nn.OpChannelAdd:
		return o.ChannelAdd(d.N, d.C, d.HW, d.PerSample, in[0], in[1], out[0])
	case nn.OpChannelSum:
		return o.ChannelSum(d.N, d.C, d.HW, d.PerSample, in[0], out[0])
	case nn.OpGroupNorm:
		return o.GroupNorm(normShape(d.Norm), in[0], in[1], in[2], out[0], out[1])
	case nn.OpGroupNormGrad:
		return o.GroupNormGrad(normShape(d.Norm), in[0], in[1], in[2], in[4], in[3], out[0], out[1], out[2], out[3])
	case nn.OpSiLU:
		return o.SiLU(in[0], out[0])
	case nn.OpSiLUGrad:
		return o.SiLUGrad(in[0], in[1], out[0])
	case nn.OpUpsample2x:
		return o.Upsample2x(d.Planes, d.H, d.W, in[0], out[0])
	case nn.OpUpsample2xGrad:
		return o.Upsample2xGrad(d.Planes, d.H, d.W, in[0], out[0])
	case nn.OpAvgPool:
		return o.AvgPool(d.Planes, d.HW, in[0], out[0])
	case nn.OpAvgPoolGrad:
		return o.AvgPoolGrad(d.Planes, d.HW, in[0], out[0])
	case nn.OpConcat:
		return o.Concat(d.Outer, d.NA, d.NB, in[0], in[1], out[0])
	case nn.OpSliceRows:
		return o.SliceRows(d.Outer, d.Width, d.Lo, d.Hi, in[0], out[0])
	case nn.OpAdd:
		return o.Add(in[0], in[1], out[0])
	}
	return runOp2(o, d, in, out, g)
}

// runOp2 is runOp's second half: the products, losses and attention.
func runOp2(o *opencl.Ops, d nn.OpDesc, in, out []*opencl.Buffer, g float32) error {
	switch d.Kind {
	case nn.OpLinear: // y (n,out) = x (n,in) w^T
		return o.SGEMM(false, true, d.N, d.Out, d.In, 1, in[0], in[1], 0, out[0])
	case nn.OpLinearGradX: // dx (n,in) = dy (n,out) w
		return o.SGEMM(false, false, d.N, d.In, d.Out, 1, in[1], in[0], 0, out[0])
	case nn.OpLinearGradW: // dw (out,in) = dy^T x
		return o.SGEMM(true, false, d.Out, d.In, d.N, 1, in[1], in[0], 0, out[0])
	case nn.OpBCEMasked:
		return o.BCEMasked(in[0], in[1], in[2], out[0], 0)
	case nn.OpBCEMaskedGrad:
		if err := o.BCEMasked(in[0], in[1], in[2], out[1], 0); err != nil {
			return err
		}
		return o.BCEMaskedGrad(g, in[0], in[1], in[2], out[1], 0, out[0])
	case nn.OpMSE:
		return o.MSE(in[0], in[1], out[0], 0)
	case nn.OpMSEGrad:
		switch {
		case out[0] != nil:
			return o.MSEGrad(g, in[0], in[1], out[0], out[1])
		case out[1] != nil: // db = 2g(b-a)/n: the gradient of (b-a)^2 with respect to b
			return o.MSEGrad(g, in[1], in[0], out[1], nil)
		}
		return nil
	case nn.OpAttention:
		return o.Attention(attnShape(d.Attn), in[0], in[1], in[2], out[0])
	case nn.OpAttentionGrad:
		return o.AttentionGrad(attnShape(d.Attn), in[0], in[1], in[2], in[3], out[0], out[1], out[2])
	}
	return fmt.Errorf("device: op %v: %w", d.Kind, ErrUnsupportedOp)
}

func convShape(p nn.ConvParams) opencl.ConvShape {
	return opencl.ConvShape{N: p.N, C: p.C, H: p.H, W: p.W, O: p.O, KH: p.KH, KW: p.KW, Stride: p.Stride, Pad: p.Pad, OH: p.OH, OW: p.OW}
}

func normShape(p nn.NormParams) opencl.NormShape {
	return opencl.NormShape{N: p.N, C: p.C, HW: p.HW, Groups: p.Groups, Eps: p.Eps, SiLU: p.SiLU}
}

func attnShape(p nn.AttnParams) opencl.AttnShape {
	hl := func(h nn.HeadLayout) opencl.HeadLayout {
		return opencl.HeadLayout{Base: h.Base, BatchStride: h.BatchStride, HeadStride: h.HeadStride}
	}
	return opencl.AttnShape{Batch: p.Batch, Heads: p.Heads, L: p.L, D: p.D, ChannelMajor: p.ChannelMajor,
		Q: hl(p.Q), K: hl(p.K), V: hl(p.V), O: hl(p.O)}
}

// ErrUnsupportedOp is returned for a graph op that has no device kernel.
var ErrUnsupportedOp = errors.New("op has no device kernel")
