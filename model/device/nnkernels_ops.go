package device

import (
	"gorgonia.org/tensor"

	"github.com/synthfed/synthfed/model/device/opencl"
	"github.com/synthfed/synthfed/model/nn"
)

// bufFn maps a tensor to its device copy inside Kernels.call.
type bufFn = func(*tensor.Dense) *opencl.Buffer

func ins(ts ...*tensor.Dense) []*tensor.Dense { return ts }

func convShape(p nn.ConvParams) opencl.ConvShape {
	return opencl.ConvShape{N: p.N, C: p.C, H: p.H, W: p.W, O: p.O, KH: p.KH, KW: p.KW, Stride: p.Stride, Pad: p.Pad, OH: p.OH, OW: p.OW}
}

// Conv2D implements nn.Kernels.
func (k *Kernels) Conv2D(p nn.ConvParams, x, w, b, y *tensor.Dense) {
	k.call(func() { k.cpu.Conv2D(p, x, w, b, y) }, ins(x, w, b), ins(y), func(buf bufFn) error {
		return k.ops.Conv2D(convShape(p), buf(x), buf(w), buf(b), buf(y))
	})
}

// Conv2DGradX implements nn.Kernels.
func (k *Kernels) Conv2DGradX(p nn.ConvParams, w, dy, dx *tensor.Dense) {
	k.call(func() { k.cpu.Conv2DGradX(p, w, dy, dx) }, ins(w, dy), ins(dx), func(buf bufFn) error {
		return k.ops.Conv2DGradX(convShape(p), buf(w), buf(dy), buf(dx))
	})
}

// Conv2DGradW implements nn.Kernels.
func (k *Kernels) Conv2DGradW(p nn.ConvParams, x, dy, dw *tensor.Dense) {
	k.call(func() { k.cpu.Conv2DGradW(p, x, dy, dw) }, ins(x, dy), ins(dw), func(buf bufFn) error {
		return k.ops.Conv2DGradW(convShape(p), buf(x), buf(dy), buf(dw))
	})
}

// ChannelAdd implements nn.Kernels.
func (k *Kernels) ChannelAdd(n, c, hw int, perSample bool, x, b, y *tensor.Dense) {
	k.call(func() { k.cpu.ChannelAdd(n, c, hw, perSample, x, b, y) }, ins(x, b), ins(y), func(buf bufFn) error {
		return k.ops.ChannelAdd(n, c, hw, perSample, buf(x), buf(b), buf(y))
	})
}

// ChannelSum implements nn.Kernels.
func (k *Kernels) ChannelSum(n, c, hw int, perSample bool, dy, db *tensor.Dense) {
	k.call(func() { k.cpu.ChannelSum(n, c, hw, perSample, dy, db) }, ins(dy), ins(db), func(buf bufFn) error {
		return k.ops.ChannelSum(n, c, hw, perSample, buf(dy), buf(db))
	})
}

func normShape(p nn.NormParams) opencl.NormShape {
	return opencl.NormShape{N: p.N, C: p.C, HW: p.HW, Groups: p.Groups, Eps: p.Eps, SiLU: p.SiLU}
}

// GroupNorm implements nn.Kernels (the fused GroupNorm+SiLU when p.SiLU).
func (k *Kernels) GroupNorm(p nn.NormParams, x, gamma, beta, y *tensor.Dense, stats []float64) {
	k.call(func() { k.cpu.GroupNorm(p, x, gamma, beta, y, stats) }, ins(x, gamma, beta), ins(y), func(buf bufFn) error {
		st, err := k.ops.Context().NewBuffer(2 * p.N * p.Groups)
		if err != nil {
			return err
		}
		defer st.Release()
		if err := k.ops.GroupNorm(normShape(p), buf(x), buf(gamma), buf(beta), buf(y), st); err != nil {
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
		return k.ops.GroupNormGrad(normShape(p), buf(x), buf(gamma), buf(beta), st, buf(dy), buf(dx), buf(dgamma), buf(dbeta), acc)
	})
}

// SiLU implements nn.Kernels.
func (k *Kernels) SiLU(x, y *tensor.Dense) {
	k.call(func() { k.cpu.SiLU(x, y) }, ins(x), ins(y), func(buf bufFn) error { return k.ops.SiLU(buf(x), buf(y)) })
}

// SiLUGrad implements nn.Kernels.
func (k *Kernels) SiLUGrad(x, dy, dx *tensor.Dense) {
	k.call(func() { k.cpu.SiLUGrad(x, dy, dx) }, ins(x, dy), ins(dx), func(buf bufFn) error {
		return k.ops.SiLUGrad(buf(x), buf(dy), buf(dx))
	})
}

// Upsample2x implements nn.Kernels.
func (k *Kernels) Upsample2x(planes, h, w int, x, y *tensor.Dense) {
	k.call(func() { k.cpu.Upsample2x(planes, h, w, x, y) }, ins(x), ins(y), func(buf bufFn) error {
		return k.ops.Upsample2x(planes, h, w, buf(x), buf(y))
	})
}

// Upsample2xGrad implements nn.Kernels.
func (k *Kernels) Upsample2xGrad(planes, h, w int, dy, dx *tensor.Dense) {
	k.call(func() { k.cpu.Upsample2xGrad(planes, h, w, dy, dx) }, ins(dy), ins(dx), func(buf bufFn) error {
		return k.ops.Upsample2xGrad(planes, h, w, buf(dy), buf(dx))
	})
}

// AvgPool implements nn.Kernels.
func (k *Kernels) AvgPool(planes, hw int, x, y *tensor.Dense) {
	k.call(func() { k.cpu.AvgPool(planes, hw, x, y) }, ins(x), ins(y), func(buf bufFn) error {
		return k.ops.AvgPool(planes, hw, buf(x), buf(y))
	})
}

// AvgPoolGrad implements nn.Kernels.
func (k *Kernels) AvgPoolGrad(planes, hw int, dy, dx *tensor.Dense) {
	k.call(func() { k.cpu.AvgPoolGrad(planes, hw, dy, dx) }, ins(dy), ins(dx), func(buf bufFn) error {
		return k.ops.AvgPoolGrad(planes, hw, buf(dy), buf(dx))
	})
}

// Concat implements nn.Kernels.
func (k *Kernels) Concat(outer, na, nb int, a, b, y *tensor.Dense) {
	k.call(func() { k.cpu.Concat(outer, na, nb, a, b, y) }, ins(a, b), ins(y), func(buf bufFn) error {
		return k.ops.Concat(outer, na, nb, buf(a), buf(b), buf(y))
	})
}

// SliceRows implements nn.Kernels.
func (k *Kernels) SliceRows(outer, w, lo, hi int, dy, dx *tensor.Dense) {
	k.call(func() { k.cpu.SliceRows(outer, w, lo, hi, dy, dx) }, ins(dy), ins(dx), func(buf bufFn) error {
		return k.ops.SliceRows(outer, w, lo, hi, buf(dy), buf(dx))
	})
}

// Add implements nn.Kernels.
func (k *Kernels) Add(a, b, y *tensor.Dense) {
	k.call(func() { k.cpu.Add(a, b, y) }, ins(a, b), ins(y), func(buf bufFn) error { return k.ops.Add(buf(a), buf(b), buf(y)) })
}

// Linear implements nn.Kernels: y (n,out) = x (n,in) w^T.
func (k *Kernels) Linear(n, in, out int, x, w, y *tensor.Dense) {
	k.call(func() { k.cpu.Linear(n, in, out, x, w, y) }, ins(x, w), ins(y), func(buf bufFn) error {
		return k.ops.SGEMM(false, true, n, out, in, 1, buf(x), buf(w), 0, buf(y))
	})
}

// LinearGradX implements nn.Kernels: dx (n,in) = dy (n,out) w.
func (k *Kernels) LinearGradX(n, in, out int, w, dy, dx *tensor.Dense) {
	k.call(func() { k.cpu.LinearGradX(n, in, out, w, dy, dx) }, ins(w, dy), ins(dx), func(buf bufFn) error {
		return k.ops.SGEMM(false, false, n, in, out, 1, buf(dy), buf(w), 0, buf(dx))
	})
}

// LinearGradW implements nn.Kernels: dw (out,in) = dy^T x.
func (k *Kernels) LinearGradW(n, in, out int, x, dy, dw *tensor.Dense) {
	k.call(func() { k.cpu.LinearGradW(n, in, out, x, dy, dw) }, ins(x, dy), ins(dw), func(buf bufFn) error {
		return k.ops.SGEMM(true, false, out, in, n, 1, buf(dy), buf(x), 0, buf(dw))
	})
}

// BCEMasked implements nn.Kernels.
func (k *Kernels) BCEMasked(l, t, m *tensor.Dense) float64 {
	return k.scalar(func() float64 { return k.cpu.BCEMasked(l, t, m) }, ins(l, t, m), 0, func(buf bufFn, out *opencl.Buffer) error {
		return k.ops.BCEMasked(buf(l), buf(t), buf(m), out, 0)
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
		if err := k.ops.BCEMasked(buf(l), buf(t), buf(m), st, 0); err != nil {
			return err
		}
		return k.ops.BCEMaskedGrad(float32(g), buf(l), buf(t), buf(m), st, 0, buf(dl))
	})
}

// MSE implements nn.Kernels.
func (k *Kernels) MSE(a, b *tensor.Dense) float64 {
	return k.scalar(func() float64 { return k.cpu.MSE(a, b) }, ins(a, b), 0, func(buf bufFn, out *opencl.Buffer) error {
		return k.ops.MSE(buf(a), buf(b), out, 0)
	})
}

// MSEGrad implements nn.Kernels; either output may be nil.
func (k *Kernels) MSEGrad(g float64, a, b, da, db *tensor.Dense) {
	k.call(func() { k.cpu.MSEGrad(g, a, b, da, db) }, ins(a, b), ins(da, db), func(buf bufFn) error {
		switch {
		case da != nil:
			return k.ops.MSEGrad(float32(g), buf(a), buf(b), buf(da), buf(db))
		case db != nil: // db = 2g(b-a)/n: the gradient of (b-a)^2 with respect to b
			return k.ops.MSEGrad(float32(g), buf(b), buf(a), buf(db), nil)
		}
		return nil
	})
}

func attnShape(p nn.AttnParams) opencl.AttnShape {
	hl := func(h nn.HeadLayout) opencl.HeadLayout {
		return opencl.HeadLayout{Base: h.Base, BatchStride: h.BatchStride, HeadStride: h.HeadStride}
	}
	return opencl.AttnShape{Batch: p.Batch, Heads: p.Heads, L: p.L, D: p.D, ChannelMajor: p.ChannelMajor,
		Q: hl(p.Q), K: hl(p.K), V: hl(p.V), O: hl(p.O)}
}

// Attention implements nn.Kernels.
func (k *Kernels) Attention(p nn.AttnParams, q, kk, v, o *tensor.Dense) {
	k.call(func() { k.cpu.Attention(p, q, kk, v, o) }, ins(q, kk, v), ins(o), func(buf bufFn) error {
		return k.ops.Attention(attnShape(p), buf(q), buf(kk), buf(v), buf(o))
	})
}

// AttentionGrad implements nn.Kernels.
func (k *Kernels) AttentionGrad(p nn.AttnParams, q, kk, v, do, dq, dk, dv *tensor.Dense) {
	k.call(func() { k.cpu.AttentionGrad(p, q, kk, v, do, dq, dk, dv) }, ins(q, kk, v, do), ins(dq, dk, dv), func(buf bufFn) error {
		return k.ops.AttentionGrad(attnShape(p), buf(q), buf(kk), buf(v), buf(do), buf(dq), buf(dk), buf(dv))
	})
}
