package nn

import (
	"sync"

	"gorgonia.org/tensor"
)

// Kernels is the compute behind the ops: one method per forward or backward
// kernel, on dense tensors whose shapes the op has already checked. The ops
// capture the Kernels in force when they are built (see UseKernels), so a
// device kernel set (for example CUDA, once gorgonia's bindings build) can
// be added behind the same graph API. Outputs are fully overwritten, never
// accumulated into.
type Kernels interface {
	// Name identifies the kernel set, for example "cpu/openblas".
	Name() string
	// Conv2D adds b (O) per output channel when b is not nil.
	Conv2D(p ConvParams, x, w, b, y *tensor.Dense)
	Conv2DGradX(p ConvParams, w, dy, dx *tensor.Dense)
	Conv2DGradW(p ConvParams, x, dy, dw *tensor.Dense)
	ChannelAdd(n, c, hw int, perSample bool, x, b, y *tensor.Dense)
	ChannelSum(n, c, hw int, perSample bool, dy, db *tensor.Dense)
	// GroupNorm stores the per-(sample, group) mean and 1/std in stats
	// (2*N*Groups values) when it is not nil; GroupNormGrad reuses them
	// when not nil.
	GroupNorm(p NormParams, x, gamma, beta, y *tensor.Dense, stats []float64)
	GroupNormGrad(p NormParams, x, gamma, beta, dy, dx, dgamma, dbeta *tensor.Dense, stats []float64)
	SiLU(x, y *tensor.Dense)
	SiLUGrad(x, dy, dx *tensor.Dense)
	Upsample2x(planes, h, w int, x, y *tensor.Dense)
	Upsample2xGrad(planes, h, w int, dy, dx *tensor.Dense)
	AvgPool(planes, hw int, x, y *tensor.Dense)
	AvgPoolGrad(planes, hw int, dy, dx *tensor.Dense)
	Concat(outer, na, nb int, a, b, y *tensor.Dense)
	SliceRows(outer, w, lo, hi int, dy, dx *tensor.Dense)
	Add(a, b, y *tensor.Dense)
	Linear(n, in, out int, x, w, y *tensor.Dense)
	LinearGradX(n, in, out int, w, dy, dx *tensor.Dense)
	LinearGradW(n, in, out int, x, dy, dw *tensor.Dense)
	BCEMasked(l, t, m *tensor.Dense) float64
	BCEMaskedGrad(g float64, l, t, m, dl *tensor.Dense)
	MSE(a, b *tensor.Dense) float64
	MSEGrad(g float64, a, b, da, db *tensor.Dense)
	Attention(p AttnParams, q, k, v, o *tensor.Dense)
	AttentionGrad(p AttnParams, q, k, v, do, dq, dk, dv *tensor.Dense)
}

var (
	kernelsMu sync.RWMutex
	active    Kernels = CPU()
)

// UseKernels selects the kernel set that ops built from now on will use.
// Ops already in a graph keep the set they were built with.
func UseKernels(k Kernels) {
	kernelsMu.Lock()
	defer kernelsMu.Unlock()
	active = k
}

func currentKernels() Kernels {
	kernelsMu.RLock()
	defer kernelsMu.RUnlock()
	return active
}

// CPU returns the CPU kernel set: Go kernels parallel across Config.Threads
// workers over a GEMM that is OpenBLAS when built with the openblas tag.
func CPU() Kernels { return cpuKernels{} }

type cpuKernels struct{}

func f32(t *tensor.Dense) []float32 { return t.Data().([]float32) }
func f64(t *tensor.Dense) []float64 { return t.Data().([]float64) }
func is32(t *tensor.Dense) bool     { return t.Dtype() == tensor.Float32 }

func (cpuKernels) Name() string { return "cpu/" + blasName }

func (cpuKernels) Conv2D(p ConvParams, x, w, b, y *tensor.Dense) {
	if is32(x) {
		convForward(p, f32(x), f32(w), optF32(b), f32(y))
		return
	}
	convForward(p, f64(x), f64(w), optF64(b), f64(y))
}

func (cpuKernels) Conv2DGradX(p ConvParams, w, dy, dx *tensor.Dense) {
	if is32(w) {
		convGradX(p, f32(w), f32(dy), f32(dx))
		return
	}
	convGradX(p, f64(w), f64(dy), f64(dx))
}

func (cpuKernels) Conv2DGradW(p ConvParams, x, dy, dw *tensor.Dense) {
	if is32(x) {
		convGradW(p, f32(x), f32(dy), f32(dw))
		return
	}
	convGradW(p, f64(x), f64(dy), f64(dw))
}

func (cpuKernels) ChannelAdd(n, c, hw int, perSample bool, x, b, y *tensor.Dense) {
	if is32(x) {
		channelAdd(n, c, hw, perSample, f32(x), f32(b), f32(y))
		return
	}
	channelAdd(n, c, hw, perSample, f64(x), f64(b), f64(y))
}

func (cpuKernels) ChannelSum(n, c, hw int, perSample bool, dy, db *tensor.Dense) {
	if is32(dy) {
		channelSum(n, c, hw, perSample, f32(dy), f32(db))
		return
	}
	channelSum(n, c, hw, perSample, f64(dy), f64(db))
}

func (cpuKernels) GroupNorm(p NormParams, x, gamma, beta, y *tensor.Dense, stats []float64) {
	if is32(x) {
		groupNormForwardNative32(p, f32(x), f32(gamma), f32(beta), f32(y), stats)
		return
	}
	groupNormForward(p, f64(x), f64(gamma), f64(beta), f64(y), stats)
}

func (cpuKernels) GroupNormGrad(p NormParams, x, gamma, beta, dy, dx, dgamma, dbeta *tensor.Dense, stats []float64) {
	if is32(x) {
		groupNormBackwardNative32(p, f32(x), f32(gamma), f32(beta), f32(dy), f32(dx), f32(dgamma), f32(dbeta), stats)
		return
	}
	groupNormBackward(p, f64(x), f64(gamma), f64(beta), f64(dy), f64(dx), f64(dgamma), f64(dbeta), stats)
}

func (cpuKernels) SiLU(x, y *tensor.Dense) {
	if is32(x) {
		siluForwardNative32(f32(x), f32(y))
		return
	}
	siluForward(f64(x), f64(y))
}

func (cpuKernels) SiLUGrad(x, dy, dx *tensor.Dense) {
	if is32(x) {
		siluBackwardNative32(f32(x), f32(dy), f32(dx))
		return
	}
	siluBackward(f64(x), f64(dy), f64(dx))
}

func (cpuKernels) Upsample2x(planes, h, w int, x, y *tensor.Dense) {
	if is32(x) {
		upsample2x(planes, h, w, f32(x), f32(y))
		return
	}
	upsample2x(planes, h, w, f64(x), f64(y))
}

func (cpuKernels) Upsample2xGrad(planes, h, w int, dy, dx *tensor.Dense) {
	if is32(dy) {
		upsample2xGrad(planes, h, w, f32(dy), f32(dx))
		return
	}
	upsample2xGrad(planes, h, w, f64(dy), f64(dx))
}

func (cpuKernels) AvgPool(planes, hw int, x, y *tensor.Dense) {
	if is32(x) {
		avgPool(planes, hw, f32(x), f32(y))
		return
	}
	avgPool(planes, hw, f64(x), f64(y))
}

func (cpuKernels) AvgPoolGrad(planes, hw int, dy, dx *tensor.Dense) {
	if is32(dy) {
		avgPoolGrad(planes, hw, f32(dy), f32(dx))
		return
	}
	avgPoolGrad(planes, hw, f64(dy), f64(dx))
}

func (cpuKernels) Concat(outer, na, nb int, a, b, y *tensor.Dense) {
	if is32(a) {
		concatRows(outer, na, nb, f32(a), f32(b), f32(y))
		return
	}
	concatRows(outer, na, nb, f64(a), f64(b), f64(y))
}

func (cpuKernels) SliceRows(outer, w, lo, hi int, dy, dx *tensor.Dense) {
	if is32(dy) {
		sliceRows(outer, w, lo, hi, f32(dy), f32(dx))
		return
	}
	sliceRows(outer, w, lo, hi, f64(dy), f64(dx))
}

func (cpuKernels) Add(a, b, y *tensor.Dense) {
	if is32(a) {
		addInto(f32(a), f32(b), f32(y))
		return
	}
	addInto(f64(a), f64(b), f64(y))
}

func (cpuKernels) Linear(n, in, out int, x, w, y *tensor.Dense) {
	if is32(x) {
		linearForward(n, in, out, f32(x), f32(w), f32(y))
		return
	}
	linearForward(n, in, out, f64(x), f64(w), f64(y))
}

func (cpuKernels) LinearGradX(n, in, out int, w, dy, dx *tensor.Dense) {
	if is32(w) {
		linearGradX(n, in, out, f32(w), f32(dy), f32(dx))
		return
	}
	linearGradX(n, in, out, f64(w), f64(dy), f64(dx))
}

func (cpuKernels) LinearGradW(n, in, out int, x, dy, dw *tensor.Dense) {
	if is32(x) {
		linearGradW(n, in, out, f32(x), f32(dy), f32(dw))
		return
	}
	linearGradW(n, in, out, f64(x), f64(dy), f64(dw))
}

func (cpuKernels) BCEMasked(l, t, m *tensor.Dense) float64 {
	if is32(l) {
		v, _ := bceMasked(f32(l), f32(t), f32(m))
		return v
	}
	v, _ := bceMasked(f64(l), f64(t), f64(m))
	return v
}

func (cpuKernels) BCEMaskedGrad(g float64, l, t, m, dl *tensor.Dense) {
	if is32(l) {
		bceMaskedGrad(g, f32(l), f32(t), f32(m), f32(dl))
		return
	}
	bceMaskedGrad(g, f64(l), f64(t), f64(m), f64(dl))
}

func (cpuKernels) MSE(a, b *tensor.Dense) float64 {
	if is32(a) {
		return mse(f32(a), f32(b))
	}
	return mse(f64(a), f64(b))
}

func (cpuKernels) MSEGrad(g float64, a, b, da, db *tensor.Dense) {
	if is32(a) {
		mseGrad(g, f32(a), f32(b), optF32(da), optF32(db))
		return
	}
	mseGrad(g, f64(a), f64(b), optF64(da), optF64(db))
}

func (cpuKernels) Attention(p AttnParams, q, k, v, o *tensor.Dense) {
	if is32(q) {
		attentionForward(p, f32(q), f32(k), f32(v), f32(o))
		return
	}
	attentionForward(p, f64(q), f64(k), f64(v), f64(o))
}

func (cpuKernels) AttentionGrad(p AttnParams, q, k, v, do, dq, dk, dv *tensor.Dense) {
	if is32(q) {
		attentionBackward(p, f32(q), f32(k), f32(v), f32(do), f32(dq), f32(dk), f32(dv))
		return
	}
	attentionBackward(p, f64(q), f64(k), f64(v), f64(do), f64(dq), f64(dk), f64(dv))
}

func optF32(t *tensor.Dense) []float32 {
	if t == nil {
		return nil
	}
	return f32(t)
}

func optF64(t *tensor.Dense) []float64 {
	if t == nil {
		return nil
	}
	return f64(t)
}
