package device

import (
	"gorgonia.org/tensor"

	"github.com/synthfed/synthfed/model/device/opencl"
	"github.com/synthfed/synthfed/model/nn"
)

// bufFn maps a tensor to its device copy inside Kernels.call.
type bufFn = func(*tensor.Dense) *opencl.Buffer

func ins(ts ...*tensor.Dense) []*tensor.Dense { return ts }

// run is call around runOp: the op d on the device copies of in and out.
func (k *Kernels) run(cpu func(), d nn.OpDesc, in, out []*tensor.Dense) {
	k.call(cpu, in, out, func(buf bufFn) error {
		return runOp(k.ops, d, bufs(buf, in), bufs(buf, out), 0)
	})
}

// bufs maps tensors to their device copies (nil stays nil).
func bufs(buf bufFn, ts []*tensor.Dense) []*opencl.Buffer {
	out := make([]*opencl.Buffer, len(ts))
	for i, t := range ts {
		if t != nil {
			out[i] = buf(t)
		}
	}
	return out
}

// Conv2D implements nn.Kernels.
func (k *Kernels) Conv2D(p nn.ConvParams, x, w, b, y *tensor.Dense) {
	k.run(func() { k.cpu.Conv2D(p, x, w, b, y) }, nn.OpDesc{Kind: nn.OpConv2D, Conv: p, Bias: b != nil}, ins(x, w, b), ins(y))
}

// Conv2DGradX implements nn.Kernels.
func (k *Kernels) Conv2DGradX(p nn.ConvParams, w, dy, dx *tensor.Dense) {
	k.run(func() { k.cpu.Conv2DGradX(p, w, dy, dx) }, nn.OpDesc{Kind: nn.OpConv2DGradX, Conv: p}, ins(w, dy), ins(dx))
}

// Conv2DGradW implements nn.Kernels.
func (k *Kernels) Conv2DGradW(p nn.ConvParams, x, dy, dw *tensor.Dense) {
	k.run(func() { k.cpu.Conv2DGradW(p, x, dy, dw) }, nn.OpDesc{Kind: nn.OpConv2DGradW, Conv: p}, ins(x, dy), ins(dw))
}

// ChannelAdd implements nn.Kernels.
func (k *Kernels) ChannelAdd(n, c, hw int, perSample bool, x, b, y *tensor.Dense) {
	d := nn.OpDesc{Kind: nn.OpChannelAdd, N: n, C: c, HW: hw, PerSample: perSample}
	k.run(func() { k.cpu.ChannelAdd(n, c, hw, perSample, x, b, y) }, d, ins(x, b), ins(y))
}

// ChannelSum implements nn.Kernels.
func (k *Kernels) ChannelSum(n, c, hw int, perSample bool, dy, db *tensor.Dense) {
	d := nn.OpDesc{Kind: nn.OpChannelSum, N: n, C: c, HW: hw, PerSample: perSample}
	k.run(func() { k.cpu.ChannelSum(n, c, hw, perSample, dy, db) }, d, ins(dy), ins(db))
}

// GroupNorm implements nn.Kernels (the fused GroupNorm+SiLU when p.SiLU).
func (k *Kernels) GroupNorm(p nn.NormParams, x, gamma, beta, y *tensor.Dense, stats []float64) {
	k.call(func() { k.cpu.GroupNorm(p, x, gamma, beta, y, stats) }, ins(x, gamma, beta), ins(y), func(buf bufFn) error {
		st, err := k.ops.Context().NewBuffer(2 * p.N * p.Groups)
		if err != nil {
			return err
		}
		defer st.Release()
		d := nn.OpDesc{Kind: nn.OpGroupNorm, Norm: p}
		if err := runOp(k.ops, d, bufs(buf, ins(x, gamma, beta)), []*opencl.Buffer{buf(y), st}, 0); err != nil {
			return err
		}
		if stats == nil {
			return nil
		}
		s32 := make([]float32, 2*p.N*p.Groups)
		if err := st.Read(s32); err != nil {
			return err
		}
		for i, v := range s32 {
			stats[i] = float64(v)
		}
		return nil
	})
}

// GroupNormGrad implements nn.Kernels; stats from the forward pass are used
// when given, recomputed on the device otherwise.
func (k *Kernels) GroupNormGrad(p nn.NormParams, x, gamma, beta, dy, dx, dgamma, dbeta *tensor.Dense, stats []float64) {
	k.call(func() { k.cpu.GroupNormGrad(p, x, gamma, beta, dy, dx, dgamma, dbeta, stats) }, ins(x, gamma, beta, dy), ins(dx, dgamma, dbeta), func(buf bufFn) error {
		c := k.ops.Context()
		st, err := c.NewBuffer(2 * p.N * p.Groups)
		if err != nil {
			return err
		}
		defer st.Release()
		if stats != nil {
			s32 := make([]float32, len(stats))
			for i, v := range stats {
				s32[i] = float32(v)
			}
			err = st.Write(s32)
		} else {
			err = k.ops.GroupNormStats(normShape(p), buf(x), st)
		}
		if err != nil {
			return err
		}
		acc, err := c.NewBuffer(2 * p.N * p.C)
		if err != nil {
			return err
		}
		defer acc.Release()
		d := nn.OpDesc{Kind: nn.OpGroupNormGrad, Norm: p}
		return runOp(k.ops, d, append(bufs(buf, ins(x, gamma, beta, dy)), st), append(bufs(buf, ins(dx, dgamma, dbeta)), acc), 0)
	})
}

// SiLU implements nn.Kernels.
func (k *Kernels) SiLU(x, y *tensor.Dense) {
	k.run(func() { k.cpu.SiLU(x, y) }, nn.OpDesc{Kind: nn.OpSiLU}, ins(x), ins(y))
}

// SiLUGrad implements nn.Kernels.
func (k *Kernels) SiLUGrad(x, dy, dx *tensor.Dense) {
	k.run(func() { k.cpu.SiLUGrad(x, dy, dx) }, nn.OpDesc{Kind: nn.OpSiLUGrad}, ins(x, dy), ins(dx))
}

// Upsample2x implements nn.Kernels.
func (k *Kernels) Upsample2x(planes, h, w int, x, y *tensor.Dense) {
	d := nn.OpDesc{Kind: nn.OpUpsample2x, Planes: planes, H: h, W: w}
	k.run(func() { k.cpu.Upsample2x(planes, h, w, x, y) }, d, ins(x), ins(y))
}

// Upsample2xGrad implements nn.Kernels.
func (k *Kernels) Upsample2xGrad(planes, h, w int, dy, dx *tensor.Dense) {
	d := nn.OpDesc{Kind: nn.OpUpsample2xGrad, Planes: planes, H: h, W: w}
	k.run(func() { k.cpu.Upsample2xGrad(planes, h, w, dy, dx) }, d, ins(dy), ins(dx))
}

// AvgPool implements nn.Kernels.
func (k *Kernels) AvgPool(planes, hw int, x, y *tensor.Dense) {
	d := nn.OpDesc{Kind: nn.OpAvgPool, Planes: planes, HW: hw}
	k.run(func() { k.cpu.AvgPool(planes, hw, x, y) }, d, ins(x), ins(y))
}

// AvgPoolGrad implements nn.Kernels.
func (k *Kernels) AvgPoolGrad(planes, hw int, dy, dx *tensor.Dense) {
	d := nn.OpDesc{Kind: nn.OpAvgPoolGrad, Planes: planes, HW: hw}
	k.run(func() { k.cpu.AvgPoolGrad(planes, hw, dy, dx) }, d, ins(dy), ins(dx))
}

// Concat implements nn.Kernels.
func (k *Kernels) Concat(outer, na, nb int, a, b, y *tensor.Dense) {
	d := nn.OpDesc{Kind: nn.OpConcat, Outer: outer, NA: na, NB: nb}
	k.run(func() { k.cpu.Concat(outer, na, nb, a, b, y) }, d, ins(a, b), ins(y))
}

// SliceRows implements nn.Kernels.
func (k *Kernels) SliceRows(outer, w, lo, hi int, dy, dx *tensor.Dense) {
	d := nn.OpDesc{Kind: nn.OpSliceRows, Outer: outer, Width: w, Lo: lo, Hi: hi}
	k.run(func() { k.cpu.SliceRows(outer, w, lo, hi, dy, dx) }, d, ins(dy), ins(dx))
}

// Add implements nn.Kernels.
func (k *Kernels) Add(a, b, y *tensor.Dense) {
	k.run(func() { k.cpu.Add(a, b, y) }, nn.OpDesc{Kind: nn.OpAdd}, ins(a, b), ins(y))
}

// Linear implements nn.Kernels: y (n,out) = x (n,in) w^T.
func (k *Kernels) Linear(n, in, out int, x, w, y *tensor.Dense) {
	d := nn.OpDesc{Kind: nn.OpLinear, N: n, In: in, Out: out}
	k.run(func() { k.cpu.Linear(n, in, out, x, w, y) }, d, ins(x, w), ins(y))
}

// LinearGradX implements nn.Kernels: dx (n,in) = dy (n,out) w.
func (k *Kernels) LinearGradX(n, in, out int, w, dy, dx *tensor.Dense) {
	d := nn.OpDesc{Kind: nn.OpLinearGradX, N: n, In: in, Out: out}
	k.run(func() { k.cpu.LinearGradX(n, in, out, w, dy, dx) }, d, ins(w, dy), ins(dx))
}

// LinearGradW implements nn.Kernels: dw (out,in) = dy^T x.
func (k *Kernels) LinearGradW(n, in, out int, x, dy, dw *tensor.Dense) {
	d := nn.OpDesc{Kind: nn.OpLinearGradW, N: n, In: in, Out: out}
	k.run(func() { k.cpu.LinearGradW(n, in, out, x, dy, dw) }, d, ins(x, dy), ins(dw))
}

// BCEMasked implements nn.Kernels.
func (k *Kernels) BCEMasked(l, t, m *tensor.Dense) float64 {
	return k.scalar(func() float64 { return k.cpu.BCEMasked(l, t, m) }, ins(l, t, m), 0, func(buf bufFn, out *opencl.Buffer) error {
		return runOp(k.ops, nn.OpDesc{Kind: nn.OpBCEMasked}, bufs(buf, ins(l, t, m)), []*opencl.Buffer{out}, 0)
	})
}

// BCEMaskedGrad implements nn.Kernels.
func (k *Kernels) BCEMaskedGrad(g float64, l, t, m, dl *tensor.Dense) {
	k.call(func() { k.cpu.BCEMaskedGrad(g, l, t, m, dl) }, ins(l, t, m), ins(dl), func(buf bufFn) error {
		st, err := k.ops.Context().NewBuffer(2)
		if err != nil {
			return err
		}
		defer st.Release()
		return runOp(k.ops, nn.OpDesc{Kind: nn.OpBCEMaskedGrad}, bufs(buf, ins(l, t, m)), []*opencl.Buffer{buf(dl), st}, float32(g))
	})
}

// MSE implements nn.Kernels.
func (k *Kernels) MSE(a, b *tensor.Dense) float64 {
	return k.scalar(func() float64 { return k.cpu.MSE(a, b) }, ins(a, b), 0, func(buf bufFn, out *opencl.Buffer) error {
		return runOp(k.ops, nn.OpDesc{Kind: nn.OpMSE}, bufs(buf, ins(a, b)), []*opencl.Buffer{out}, 0)
	})
}

// MSEGrad implements nn.Kernels; either output may be nil.
func (k *Kernels) MSEGrad(g float64, a, b, da, db *tensor.Dense) {
	k.call(func() { k.cpu.MSEGrad(g, a, b, da, db) }, ins(a, b), ins(da, db), func(buf bufFn) error {
		return runOp(k.ops, nn.OpDesc{Kind: nn.OpMSEGrad}, bufs(buf, ins(a, b)), bufs(buf, ins(da, db)), float32(g))
	})
}

// Attention implements nn.Kernels.
func (k *Kernels) Attention(p nn.AttnParams, q, kk, v, o *tensor.Dense) {
	k.run(func() { k.cpu.Attention(p, q, kk, v, o) }, nn.OpDesc{Kind: nn.OpAttention, Attn: p}, ins(q, kk, v), ins(o))
}

// AttentionGrad implements nn.Kernels.
func (k *Kernels) AttentionGrad(p nn.AttnParams, q, kk, v, do, dq, dk, dv *tensor.Dense) {
	k.run(func() { k.cpu.AttentionGrad(p, q, kk, v, do, dq, dk, dv) }, nn.OpDesc{Kind: nn.OpAttentionGrad, Attn: p},
		ins(q, kk, v, do), ins(dq, dk, dv))
}
