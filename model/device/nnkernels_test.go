package device

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"

	"github.com/synthfed/synthfed/model/nn"
)

// randT returns a float32 tensor of n normal values (scale s) for seed.
func randT(seed uint64, n int, s float64) *tensor.Dense {
	r := rand.New(rand.NewPCG(seed, 14))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * s)
	}
	return tensor.New(tensor.WithShape(n), tensor.WithBacking(x))
}

// zerosT returns a float32 tensor of n zeros (nil for n 0).
func zerosT(n int) *tensor.Dense {
	return tensor.New(tensor.WithShape(n), tensor.WithBacking(make([]float32, n)))
}

// matches fails when a device result differs from the CPU one by more
// than 1e-4 of the value plus 1e-5 of the tensor's largest magnitude: the
// device sums in float32 in another order than the CPU (float64 in places),
// and the second term covers values that cancel to near 0.
func matches(t *testing.T, what string, got, want *tensor.Dense) {
	t.Helper()
	matchesFloor(t, what, got, want, 0)
}

// matchesFloor is matches with an extra absolute allowance, for results
// that are a small remainder of much larger terms.
func matchesFloor(t *testing.T, what string, got, want *tensor.Dense, floor float64) {
	t.Helper()
	g, w := got.Data().([]float32), want.Data().([]float32)
	big := floor / 1e-5
	for _, v := range w {
		big = max(big, math.Abs(float64(v)))
	}
	for i := range w {
		if d := math.Abs(float64(g[i] - w[i])); !(d <= 1e-4*math.Abs(float64(w[i]))+1e-5*big) {
			t.Fatalf("%s[%d] = %v, CPU %v (error %.3g, largest %.3g)", what, i, g[i], w[i], d, big)
		}
	}
}

// pair runs one kernel on the device and on the CPU with fresh outputs of
// the given sizes and compares every output.
func pair(t *testing.T, dev *Kernels, name string, sizes []int, run func(k nn.Kernels, outs []*tensor.Dense)) {
	t.Helper()
	pairFloor(t, dev, name, sizes, 0, run)
}

// pairFloor is pair with matchesFloor's allowance.
func pairFloor(t *testing.T, dev *Kernels, name string, sizes []int, floor float64, run func(k nn.Kernels, outs []*tensor.Dense)) {
	t.Helper()
	mk := func() []*tensor.Dense {
		o := make([]*tensor.Dense, len(sizes))
		for i, n := range sizes {
			o[i] = zerosT(n)
		}
		return o
	}
	got, want := mk(), mk()
	run(dev, got)
	run(nn.CPU(), want)
	if err := dev.Err(); err != nil {
		t.Fatalf("%s fell back to the CPU: %v", name, err)
	}
	for i := range got {
		matchesFloor(t, fmt.Sprintf("%s out %d", name, i), got[i], want[i], floor)
	}
}

func maxAbs(x *tensor.Dense) float64 {
	var m float64
	for _, v := range x.Data().([]float32) {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

func testKernels(t testing.TB) *Kernels {
	k, err := NewKernels(poclBackend(t))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestConvKernelsMatchCPU covers 3x3 padded, strided, 1x1 and non-square
// convolutions, forward (with and without bias) and both gradients.
func TestConvKernelsMatchCPU(t *testing.T) {
	k := testKernels(t)
	for i, s := range [][9]int{ // N C H W O KH KW stride pad
		{2, 3, 8, 8, 4, 3, 3, 1, 1},
		{3, 4, 9, 7, 5, 3, 3, 2, 1},
		{2, 6, 5, 5, 3, 1, 1, 1, 0},
		{1, 2, 6, 6, 3, 4, 4, 2, 1},
		{2, 5, 4, 4, 7, 3, 3, 1, 0},
	} {
		p := nn.ConvParams{N: s[0], C: s[1], H: s[2], W: s[3], O: s[4], KH: s[5], KW: s[6], Stride: s[7], Pad: s[8]}
		p.OH, p.OW = (p.H+2*p.Pad-p.KH)/p.Stride+1, (p.W+2*p.Pad-p.KW)/p.Stride+1
		nx, nw, ny := p.N*p.C*p.H*p.W, p.O*p.C*p.KH*p.KW, p.N*p.O*p.OH*p.OW
		x, w, b, dy := randT(uint64(i), nx, 1), randT(uint64(i+10), nw, 0.3), randT(uint64(i+20), p.O, 1), randT(uint64(i+30), ny, 1)
		name := fmt.Sprintf("conv %v", s)
		pair(t, k, name, []int{ny, ny}, func(kk nn.Kernels, o []*tensor.Dense) {
			kk.Conv2D(p, x, w, b, o[0])
			kk.Conv2D(p, x, w, nil, o[1])
		})
		pair(t, k, name+" grad x", []int{nx}, func(kk nn.Kernels, o []*tensor.Dense) { kk.Conv2DGradX(p, w, dy, o[0]) })
		pair(t, k, name+" grad w", []int{nw}, func(kk nn.Kernels, o []*tensor.Dense) { kk.Conv2DGradW(p, x, dy, o[0]) })
	}
}

// TestNormKernelsMatchCPU covers GroupNorm with and without the fused
// SiLU, forward and backward, with the forward's statistics and without.
// (A group of one value is left out: its variance is 0, so rstd is
// 1/sqrt(eps) = 316 and amplifies float32 rounding in x*a + b 316-fold on
// either path.) dx is r*(dxhat - mean(dxhat) - xhat*mean(dxhat*xhat)), a
// remainder of terms of size rstd*|dy|*|gamma| that nearly cancel in small
// groups: its allowance is 1e-5 of that size.
func TestNormKernelsMatchCPU(t *testing.T) {
	k := testKernels(t)
	for i, s := range [][4]int{{2, 8, 16, 4}, {3, 6, 300, 2}, {1, 4, 2, 4}, {2, 32, 64, 8}} {
		for _, silu := range []bool{false, true} {
			p := nn.NormParams{N: s[0], C: s[1], HW: s[2], Groups: s[3], Eps: 1e-5, SiLU: silu}
			n := p.N * p.C * p.HW
			x, gam, bet, dy := randT(uint64(i), n, 2), randT(uint64(i+1), p.C, 1), randT(uint64(i+2), p.C, 1), randT(uint64(i+3), n, 1)
			for j, v := range x.Data().([]float32) { // an offset mean, as activations have
				x.Data().([]float32)[j] = v + 3
			}
			name := fmt.Sprintf("groupnorm %v silu %v", s, silu)
			devStats, cpuStats := make([]float64, 2*p.N*p.Groups), make([]float64, 2*p.N*p.Groups)
			pair(t, k, name, []int{n}, func(kk nn.Kernels, o []*tensor.Dense) {
				st := cpuStats
				if kk == nn.Kernels(k) {
					st = devStats
				}
				kk.GroupNorm(p, x, gam, bet, o[0], st)
			})
			for j := range devStats {
				if d := math.Abs(devStats[j] - cpuStats[j]); d > 1e-4*math.Abs(cpuStats[j])+1e-6 {
					t.Fatalf("%s stats[%d] = %v, CPU %v", name, j, devStats[j], cpuStats[j])
				}
			}
			var rstd float64
			for j := 1; j < len(cpuStats); j += 2 {
				rstd = max(rstd, cpuStats[j])
			}
			floor := 1e-5 * rstd * maxAbs(dy) * maxAbs(gam)
			pairFloor(t, k, name+" grad", []int{n, p.C, p.C}, floor, func(kk nn.Kernels, o []*tensor.Dense) {
				kk.GroupNormGrad(p, x, gam, bet, dy, o[0], o[1], o[2], nil)
			})
			pairFloor(t, k, name+" grad with stats", []int{n, p.C, p.C}, floor, func(kk nn.Kernels, o []*tensor.Dense) {
				kk.GroupNormGrad(p, x, gam, bet, dy, o[0], o[1], o[2], cpuStats)
			})
		}
	}
}

// TestAttentionKernelsMatchCPU covers Attention's (N, heads, L, d) layout
// and SelfAttention2D's packed channel-major qkv, forward and backward.
func TestAttentionKernelsMatchCPU(t *testing.T) {
	k := testKernels(t)
	for i, s := range [][4]int{{2, 1, 5, 3}, {2, 3, 16, 4}, {1, 2, 64, 8}} { // batch heads L D
		b, h, l, d := s[0], s[1], s[2], s[3]
		hl := nn.HeadLayout{BatchStride: h * l * d, HeadStride: l * d}
		p := nn.AttnParams{Batch: b, Heads: h, L: l, D: d, Q: hl, K: hl, V: hl, O: hl}
		n := b * h * l * d
		q, kk, v, do := randT(uint64(i), n, 1), randT(uint64(i+1), n, 1), randT(uint64(i+2), n, 1), randT(uint64(i+3), n, 1)
		name := fmt.Sprintf("attention %v", s)
		pair(t, k, name, []int{n}, func(ks nn.Kernels, o []*tensor.Dense) { ks.Attention(p, q, kk, v, o[0]) })
		pair(t, k, name+" grad", []int{n, n, n}, func(ks nn.Kernels, o []*tensor.Dense) {
			ks.AttentionGrad(p, q, kk, v, do, o[0], o[1], o[2])
		})

		// SelfAttention2D: qkv (b, 3c, l) channel-major, heads of d channels.
		c := h * d
		in := nn.HeadLayout{BatchStride: 3 * c * l, HeadStride: d * l}
		ps := nn.AttnParams{Batch: b, Heads: h, L: l, D: d, ChannelMajor: true, Q: in, K: in, V: in,
			O: nn.HeadLayout{BatchStride: c * l, HeadStride: d * l}}
		ps.K.Base, ps.V.Base = c*l, 2*c*l
		qkv, dout := randT(uint64(i+5), 3*b*c*l, 1), randT(uint64(i+6), b*c*l, 1)
		pair(t, k, name+" packed", []int{b * c * l}, func(ks nn.Kernels, o []*tensor.Dense) { ks.Attention(ps, qkv, qkv, qkv, o[0]) })
		pair(t, k, name+" packed grad", []int{3 * b * c * l}, func(ks nn.Kernels, o []*tensor.Dense) {
			ks.AttentionGrad(ps, qkv, qkv, qkv, dout, o[0], o[0], o[0])
		})
	}
}

// TestElementwiseKernelsMatchCPU covers the broadcast, layout, pooling,
// linear and loss kernels.
func TestElementwiseKernelsMatchCPU(t *testing.T) {
	k := testKernels(t)
	const n, c, hw = 3, 5, 7
	x, dy := randT(1, n*c*hw, 1), randT(2, n*c*hw, 1)
	bc, bnc := randT(3, c, 1), randT(4, n*c, 1)
	for _, ps := range []bool{false, true} {
		bl := bc
		nb := c
		if ps {
			bl, nb = bnc, n*c
		}
		pair(t, k, fmt.Sprintf("channel add/sum per sample %v", ps), []int{n * c * hw, nb}, func(kk nn.Kernels, o []*tensor.Dense) {
			kk.ChannelAdd(n, c, hw, ps, x, bl, o[0])
			kk.ChannelSum(n, c, hw, ps, dy, o[1])
		})
	}
	pair(t, k, "silu", []int{n * c * hw, n * c * hw}, func(kk nn.Kernels, o []*tensor.Dense) {
		kk.SiLU(x, o[0])
		kk.SiLUGrad(x, dy, o[1])
	})
	pair(t, k, "add", []int{n * c * hw}, func(kk nn.Kernels, o []*tensor.Dense) { kk.Add(x, dy, o[0]) })
	up := randT(5, 4*n*c*hw, 1)
	pair(t, k, "upsample", []int{4 * n * c * hw, n * c * hw}, func(kk nn.Kernels, o []*tensor.Dense) {
		kk.Upsample2x(n*c, hw, 1, x, o[0]) // planes of hw x 1
		kk.Upsample2xGrad(n*c, 7, 1, up, o[1])
	})
	pair(t, k, "upsample square", []int{4 * 2 * 9, 2 * 9}, func(kk nn.Kernels, o []*tensor.Dense) {
		kk.Upsample2x(2, 3, 3, randT(6, 18, 1), o[0])
		kk.Upsample2xGrad(2, 3, 3, randT(7, 72, 1), o[1])
	})
	pair(t, k, "avgpool", []int{n * c, n * c * hw}, func(kk nn.Kernels, o []*tensor.Dense) {
		kk.AvgPool(n*c, hw, x, o[0])
		kk.AvgPoolGrad(n*c, hw, bnc, o[1])
	})
	a, b := randT(8, 4*6, 1), randT(9, 4*3, 1)
	pair(t, k, "concat/slice", []int{4 * 9, 4 * 4}, func(kk nn.Kernels, o []*tensor.Dense) {
		kk.Concat(4, 6, 3, a, b, o[0])
		kk.SliceRows(4, 6, 1, 5, a, o[1])
	})
	const rows, in, out = 9, 33, 17
	lx, lw, ldy := randT(10, rows*in, 1), randT(11, out*in, 1), randT(12, rows*out, 1)
	pair(t, k, "linear", []int{rows * out, rows * in, out * in}, func(kk nn.Kernels, o []*tensor.Dense) {
		kk.Linear(rows, in, out, lx, lw, o[0])
		kk.LinearGradX(rows, in, out, lw, ldy, o[1])
		kk.LinearGradW(rows, in, out, lx, ldy, o[2])
	})
	lt, lm := randT(13, rows*out, 1), randT(14, rows*out, 1)
	pair(t, k, "loss grads", []int{rows * out, rows * out, rows * out, rows * out}, func(kk nn.Kernels, o []*tensor.Dense) {
		kk.BCEMaskedGrad(0.7, ldy, lt, lm, o[0])
		kk.MSEGrad(0.7, ldy, lt, o[1], o[2])
		kk.MSEGrad(0.7, ldy, lt, nil, o[3])
	})
	for _, pr := range []struct {
		name      string
		dev, want float64
	}{
		{"bce", k.BCEMasked(ldy, lt, lm), nn.CPU().BCEMasked(ldy, lt, lm)},
		{"mse", k.MSE(ldy, lt), nn.CPU().MSE(ldy, lt)},
	} {
		if math.Abs(pr.dev-pr.want) > 1e-5*math.Abs(pr.want) {
			t.Errorf("%s: device %v, CPU %v", pr.name, pr.dev, pr.want)
		}
	}
}

// TestKernelsFallBack checks that float64 tensors run on the CPU kernels.
func TestKernelsFallBack(t *testing.T) {
	k := testKernels(t)
	x := tensor.New(tensor.WithShape(3), tensor.WithBacking([]float64{1, -2, 3}))
	y := tensor.New(tensor.WithShape(3), tensor.WithBacking(make([]float64, 3)))
	k.Add(x, x, y)
	if got := y.Data().([]float64); got[0] != 2 || got[1] != -4 || got[2] != 6 || k.Err() != nil {
		t.Fatalf("float64 add: %v, %v", got, k.Err())
	}
}
