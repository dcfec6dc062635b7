package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convCase is a convolution case; algo forces "taps" or "im2col" (or ""
// for the default choice) while the op is built.
func convCase(name string, n, c, h, w, o, kh, kw, s, p int, algo string) opCase {
	return opCase{
		name:   name,
		shapes: [][]int{{n, c, h, w}, {o, c, kh, kw}},
		build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
			forceConvAlgo = algo
			defer func() { forceConvAlgo = "" }()
			return Conv2D(in[0], in[1], s, p)
		},
		ref: func(d [][]float64) []float64 { return refConv(d[0], d[1], n, c, h, w, o, kh, kw, s, p) },
	}
}

// convBiasCase is a 3x3 Conv2DBias case.
func convBiasCase(name string, n, c, h, w, o, s, p int, algo string) opCase {
	return opCase{
		name:   name,
		shapes: [][]int{{n, c, h, w}, {o, c, 3, 3}, {o}},
		build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
			forceConvAlgo = algo
			defer func() { forceConvAlgo = "" }()
			return Conv2DBias(in[0], in[1], in[2], s, p)
		},
		ref: func(d [][]float64) []float64 {
			y := refConv(d[0], d[1], n, c, h, w, o, 3, 3, s, p)
			return refChannelAdd(y, d[2], n, o, len(y)/(n*o), false)
		},
	}
}

func groupNormCase(name string, shape []int, groups int, silu bool) opCase {
	n, c, hw := spatial(shape)
	return opCase{
		name:   name,
		shapes: [][]int{shape, {c}, {c}},
		build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
			return GroupNorm(in[0], in[1], in[2], groups, 1e-5, silu)
		},
		ref: func(d [][]float64) []float64 { return refGroupNorm(d[0], d[1], d[2], n, c, hw, groups, 1e-5, silu) },
	}
}

// maskGen draws 0/1 targets for input 1 and masks of 0, 1 and 0.5 for
// input 2 of the BCE case.
func maskGen(i int, rng *rand.Rand, n int) []float64 {
	if i == 0 {
		return nil
	}
	d := make([]float64, n)
	for j := range d {
		switch i {
		case 1:
			d[j] = float64(rng.IntN(2))
		case 2:
			d[j] = []float64{0, 1, 1, 0.5}[rng.IntN(4)]
		}
	}
	return d
}

// opCases lists every op at small shapes, including strided, padded,
// pointwise and rectangular convolutions.
func opCases() []opCase {
	return []opCase{
		convCase("conv3x3", 2, 3, 5, 6, 4, 3, 3, 1, 1, ""),
		convCase("conv3x3taps", 2, 3, 5, 6, 4, 3, 3, 1, 1, "taps"),
		convCase("conv3x3im2col", 2, 5, 5, 6, 4, 3, 3, 1, 1, "im2col"),
		convCase("conv3x3s2", 2, 2, 7, 6, 3, 3, 3, 2, 1, ""),
		convCase("conv1x1", 3, 4, 3, 3, 5, 1, 1, 1, 0, ""),
		convCase("conv2x3nopad", 1, 2, 5, 5, 2, 2, 3, 1, 0, "im2col"),
		convCase("conv2x3nopadTaps", 1, 2, 5, 5, 2, 2, 3, 1, 0, "taps"),
		convCase("conv4x4s2p1", 2, 2, 6, 6, 3, 4, 4, 2, 1, ""),
		convCase("conv3x3batch5", 5, 4, 4, 4, 2, 3, 3, 1, 1, ""),
		convCase("conv5x3pad2", 2, 4, 4, 5, 3, 5, 3, 1, 2, ""),
		convCase("conv5x3pad2im2col", 2, 2, 4, 5, 3, 5, 3, 1, 2, "im2col"),
		convCase("conv1x1pad1", 2, 3, 3, 2, 2, 1, 1, 1, 1, "taps"),
		convCase("conv3x3s2batch5", 5, 2, 5, 5, 3, 3, 3, 2, 1, ""),
		convCase("conv3x3wide", 3, 5, 5, 6, 17, 3, 3, 1, 1, ""),
		convCase("conv3x3s2wide", 2, 4, 6, 7, 16, 3, 3, 2, 1, ""),
		convCase("conv3x3s2taps", 3, 4, 7, 6, 3, 3, 3, 2, 1, "taps"),
		convCase("conv3x3s2tapsEven", 2, 4, 8, 8, 3, 3, 3, 2, 1, "taps"),
		convCase("conv4x4s2p1taps", 2, 2, 6, 7, 3, 4, 4, 2, 1, "taps"),
		convCase("conv3x3s3p2taps", 2, 2, 8, 7, 2, 3, 3, 3, 2, "taps"),
		convCase("conv2x2s2nopadTaps", 2, 3, 6, 5, 2, 2, 2, 2, 0, "taps"),
		convBiasCase("conv3x3bias", 2, 4, 5, 4, 7, 1, 1, ""),
		convBiasCase("conv3x3s2biasIm2col", 2, 2, 5, 6, 3, 2, 1, "im2col"),
		{
			name:   "conv3x3NoGradInput",
			shapes: [][]int{{2, 1, 5, 4}, {3, 1, 3, 3}},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				x, err := NoGrad(in[0])
				if err != nil {
					return nil, err
				}
				return Conv2D(x, in[1], 1, 1)
			},
			ref:    func(d [][]float64) []float64 { return refConv(d[0], d[1], 2, 1, 5, 4, 3, 3, 3, 1, 1) },
			noGrad: map[int]bool{0: true},
		},
		{
			name:   "biasAdd4D",
			shapes: [][]int{{2, 3, 2, 3}, {3}},
			build:  func(in []*gorgonia.Node) (*gorgonia.Node, error) { return BiasAdd(in[0], in[1]) },
			ref:    func(d [][]float64) []float64 { return refChannelAdd(d[0], d[1], 2, 3, 6, false) },
		},
		{
			name:   "biasAdd2D",
			shapes: [][]int{{4, 5}, {5}},
			build:  func(in []*gorgonia.Node) (*gorgonia.Node, error) { return BiasAdd(in[0], in[1]) },
			ref:    func(d [][]float64) []float64 { return refChannelAdd(d[0], d[1], 4, 5, 1, false) },
		},
		{
			name:   "channelAdd",
			shapes: [][]int{{2, 3, 2, 2}, {2, 3}},
			build:  func(in []*gorgonia.Node) (*gorgonia.Node, error) { return ChannelAdd(in[0], in[1]) },
			ref:    func(d [][]float64) []float64 { return refChannelAdd(d[0], d[1], 2, 3, 4, true) },
		},
		groupNormCase("groupNorm", []int{2, 4, 3, 3}, 2, false),
		groupNormCase("groupNormSiLU", []int{3, 6, 2, 2}, 3, true),
		groupNormCase("groupNorm1group2D", []int{2, 4}, 1, true),
		{
			name:   "add",
			shapes: [][]int{{2, 3, 2, 2}, {2, 3, 2, 2}},
			build:  func(in []*gorgonia.Node) (*gorgonia.Node, error) { return Add(in[0], in[1]) },
			ref: func(d [][]float64) []float64 {
				y := make([]float64, len(d[0]))
				for i := range y {
					y[i] = d[0][i] + d[1][i]
				}
				return y
			},
		},
		{
			name:   "silu",
			shapes: [][]int{{3, 7}},
			build:  func(in []*gorgonia.Node) (*gorgonia.Node, error) { return SiLU(in[0]) },
			ref:    func(d [][]float64) []float64 { return refSiLU(d[0]) },
		},
		{
			name:   "upsample2x",
			shapes: [][]int{{2, 2, 2, 3}},
			build:  func(in []*gorgonia.Node) (*gorgonia.Node, error) { return Upsample2x(in[0]) },
			ref:    func(d [][]float64) []float64 { return refUpsample(d[0], 4, 2, 3) },
		},
		{
			name:   "globalAvgPool",
			shapes: [][]int{{2, 3, 3, 2}},
			build:  func(in []*gorgonia.Node) (*gorgonia.Node, error) { return GlobalAvgPool(in[0]) },
			ref:    func(d [][]float64) []float64 { return refAvgPool(d[0], 6, 6) },
		},
		{
			name:   "concatChannels",
			shapes: [][]int{{2, 2, 2, 2}, {2, 3, 2, 2}},
			build:  func(in []*gorgonia.Node) (*gorgonia.Node, error) { return ConcatChannels(in[0], in[1]) },
			ref:    func(d [][]float64) []float64 { return refConcat(d[0], d[1], 2) },
		},
		{
			name:   "linear",
			shapes: [][]int{{3, 4}, {5, 4}, {5}},
			build:  func(in []*gorgonia.Node) (*gorgonia.Node, error) { return Linear(in[0], in[1], in[2]) },
			ref:    func(d [][]float64) []float64 { return refLinear(d[0], d[1], d[2], 3, 4, 5) },
		},
		{
			name:   "linearNoBias",
			shapes: [][]int{{2, 3}, {4, 3}},
			build:  func(in []*gorgonia.Node) (*gorgonia.Node, error) { return Linear(in[0], in[1], nil) },
			ref:    func(d [][]float64) []float64 { return refLinear(d[0], d[1], nil, 2, 3, 4) },
		},
		{
			name:   "bceMasked",
			shapes: [][]int{{4, 5}, {4, 5}, {4, 5}},
			build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				return BCEWithLogitsMasked(in[0], in[1], in[2])
			},
			ref:    func(d [][]float64) []float64 { return refBCE(d[0], d[1], d[2]) },
			noGrad: map[int]bool{1: true, 2: true},
			gen:    maskGen,
		},
		{
			name:   "mse",
			shapes: [][]int{{3, 4}, {3, 4}},
			build:  func(in []*gorgonia.Node) (*gorgonia.Node, error) { return MSE(in[0], in[1]) },
			ref:    func(d [][]float64) []float64 { return refMSE(d[0], d[1]) },
		},
		{
			name:   "attention3D",
			shapes: [][]int{{2, 5, 3}, {2, 5, 3}, {2, 5, 3}},
			build:  func(in []*gorgonia.Node) (*gorgonia.Node, error) { return Attention(in[0], in[1], in[2]) },
			ref:    func(d [][]float64) []float64 { return refAttention(d[0], d[1], d[2], 2, 5, 3) },
		},
		{
			name:   "attention4D",
			shapes: [][]int{{2, 2, 4, 3}, {2, 2, 4, 3}, {2, 2, 4, 3}},
			build:  func(in []*gorgonia.Node) (*gorgonia.Node, error) { return Attention(in[0], in[1], in[2]) },
			ref:    func(d [][]float64) []float64 { return refAttention(d[0], d[1], d[2], 4, 4, 3) },
		},
		{
			name:   "selfAttention2D",
			shapes: [][]int{{2, 12, 2, 3}},
			build:  func(in []*gorgonia.Node) (*gorgonia.Node, error) { return SelfAttention2D(in[0], 2) },
			ref:    func(d [][]float64) []float64 { return refSelfAttention2D(d[0], 2, 4, 6, 2) },
		},
	}
}

// TestOpsForward compares every op's float64 output with its naive
// reference, running the graph twice to cover output-buffer reuse.
func TestOpsForward(t *testing.T) {
	for _, c := range opCases() {
		t.Run(c.name, func(t *testing.T) {
			data := caseData(c, 1)
			r := buildRun(t, c, tensor.Float64, data, 1)
			want := c.ref(data)
			for pass := 0; pass < 2; pass++ {
				r.run(t)
				got := floats(t, r.out.Value())
				if len(got) != len(want) {
					t.Fatalf("pass %d: %d outputs, want %d", pass, len(got), len(want))
				}
				if d, s := maxDiff(got, want); d > 1e-10*(1+s) {
					t.Fatalf("pass %d: max |got-want| = %g (scale %g)", pass, d, s)
				}
			}
		})
	}
}

// TestOpsGradient checks every hand-written backward against central
// finite differences of the loss in float64.
func TestOpsGradient(t *testing.T) {
	const h = 1e-5
	for _, c := range opCases() {
		t.Run(c.name, func(t *testing.T) {
			data := caseData(c, 2)
			r := buildRun(t, c, tensor.Float64, data, 2)
			r.run(t)
			analytic := make([][]float64, len(r.grads))
			for k, g := range r.grads {
				analytic[k] = floats(t, g.Value())
			}
			rng := rand.New(rand.NewPCG(3, 4))
			for k, i := range r.wrt {
				for _, j := range sampleIdx(rng, len(data[i]), 24) {
					x := data[i][j]
					r.set(i, j, x+h)
					lp := r.run(t)
					r.set(i, j, x-h)
					lm := r.run(t)
					r.set(i, j, x)
					num := (lp - lm) / (2 * h)
					if d := math.Abs(num - analytic[k][j]); d > 1e-6+1e-5*math.Abs(num) {
						t.Errorf("input %d elem %d: analytic %.9g numeric %.9g", i, j, analytic[k][j], num)
					}
				}
			}
		})
	}
}

// TestOpsFloat32 runs every op in float32 and float64 on the same data and
// compares outputs and gradients.
func TestOpsFloat32(t *testing.T) {
	for _, c := range opCases() {
		t.Run(c.name, func(t *testing.T) {
			data := caseData(c, 3)
			r64 := buildRun(t, c, tensor.Float64, data, 3)
			r32 := buildRun(t, c, tensor.Float32, data, 3)
			l64, l32 := r64.run(t), r32.run(t)
			if math.Abs(l64-l32) > 1e-4*(1+math.Abs(l64)) {
				t.Errorf("loss: float32 %g float64 %g", l32, l64)
			}
			if d, s := maxDiff(floats(t, r32.out.Value()), floats(t, r64.out.Value())); d > 1e-4*(1+s) {
				t.Errorf("output: max diff %g (scale %g)", d, s)
			}
			for k := range r64.grads {
				g32, g64 := floats(t, r32.grads[k].Value()), floats(t, r64.grads[k].Value())
				if d, s := maxDiff(g32, g64); d > 1e-4*(1+s) {
					t.Errorf("grad of input %d: max diff %g (scale %g)", r64.wrt[k], d, s)
				}
			}
		})
	}
}
