package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{DefaultConfig(), ""},
		{Config{Threads: 1}, ""},
		{Config{Threads: 0}, "nn.threads = 0"},
		{Config{Threads: 5000}, "nn.threads = 5000"},
	} {
		err := c.cfg.Validate()
		if c.want == "" {
			if err != nil {
				t.Errorf("%+v: unexpected %v", c.cfg, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error naming %q", c.cfg, err, c.want)
		}
	}
	if err := Configure(Config{Threads: 0}); err == nil {
		t.Error("Configure accepted 0 threads")
	}
}

// TestBuildErrors checks that every op refuses bad shapes and arguments at
// graph build with the documented sentinel, naming the op.
func TestBuildErrors(t *testing.T) {
	g := gorgonia.NewGraph()
	mk := func(dt tensor.Dtype, s ...int) *gorgonia.Node {
		return gorgonia.NewTensor(g, dt, len(s), gorgonia.WithShape(s...))
	}
	x4, x2 := mk(tensor.Float32, 2, 4, 6, 6), mk(tensor.Float32, 2, 4)
	v3, v4 := mk(tensor.Float32, 3), mk(tensor.Float32, 4)
	for _, c := range []struct {
		name string
		f    func() (*gorgonia.Node, error)
		want error
	}{
		{"Conv2D channels", func() (*gorgonia.Node, error) { return Conv2D(x4, mk(tensor.Float32, 3, 5, 3, 3), 1, 1) }, ErrShape},
		{"Conv2D kernel too big", func() (*gorgonia.Node, error) { return Conv2D(x4, mk(tensor.Float32, 3, 4, 9, 9), 1, 0) }, ErrArg},
		{"Conv2D stride 0", func() (*gorgonia.Node, error) { return Conv2D(x4, mk(tensor.Float32, 3, 4, 3, 3), 0, 1) }, ErrArg},
		{"Conv2D dtype", func() (*gorgonia.Node, error) { return Conv2D(x4, mk(tensor.Float64, 3, 4, 3, 3), 1, 1) }, ErrDtype},
		{"Conv2D int", func() (*gorgonia.Node, error) {
			return Conv2D(mk(tensor.Int, 2, 4, 6, 6), mk(tensor.Int, 3, 4, 3, 3), 1, 1)
		}, ErrDtype},
		{"Conv2DBias", func() (*gorgonia.Node, error) { return Conv2DBias(x4, mk(tensor.Float32, 3, 4, 3, 3), v4, 1, 1) }, ErrShape},
		{"BiasAdd", func() (*gorgonia.Node, error) { return BiasAdd(x4, v3) }, ErrShape},
		{"ChannelAdd", func() (*gorgonia.Node, error) { return ChannelAdd(x4, mk(tensor.Float32, 3, 4)) }, ErrShape},
		{"GroupNorm groups", func() (*gorgonia.Node, error) { return GroupNorm(x4, v4, v4, 3, 1e-5, true) }, ErrArg},
		{"GroupNorm eps", func() (*gorgonia.Node, error) { return GroupNorm(x4, v4, v4, 2, 0, true) }, ErrArg},
		{"GroupNorm gamma", func() (*gorgonia.Node, error) { return GroupNorm(x4, v3, v4, 2, 1e-5, true) }, ErrShape},
		{"Upsample2x", func() (*gorgonia.Node, error) { return Upsample2x(x2) }, ErrShape},
		{"GlobalAvgPool", func() (*gorgonia.Node, error) { return GlobalAvgPool(x2) }, ErrShape},
		{"ConcatChannels", func() (*gorgonia.Node, error) { return ConcatChannels(x4, mk(tensor.Float32, 2, 4, 5, 6)) }, ErrShape},
		{"Linear", func() (*gorgonia.Node, error) { return Linear(x2, mk(tensor.Float32, 3, 5), nil) }, ErrShape},
		{"BCEWithLogitsMasked", func() (*gorgonia.Node, error) { return BCEWithLogitsMasked(x2, x2, mk(tensor.Float32, 2, 3)) }, ErrShape},
		{"Add", func() (*gorgonia.Node, error) { return Add(x2, mk(tensor.Float32, 4, 2)) }, ErrShape},
		{"MSE", func() (*gorgonia.Node, error) { return MSE(x2, mk(tensor.Float32, 4, 2)) }, ErrShape},
		{"Attention", func() (*gorgonia.Node, error) { return Attention(x2, x2, x2) }, ErrShape},
		{"SelfAttention2D heads", func() (*gorgonia.Node, error) { return SelfAttention2D(mk(tensor.Float32, 2, 6, 3, 3), 3) }, ErrArg},
		{"SelfAttention2D channels", func() (*gorgonia.Node, error) { return SelfAttention2D(x4, 1) }, ErrShape},
	} {
		n, err := c.f()
		if !errors.Is(err, c.want) || n != nil {
			t.Errorf("%s: got (%v, %v), want %v", c.name, n, err, c.want)
			continue
		}
		op := strings.Fields(c.name)[0]
		if !strings.Contains(err.Error(), op) {
			t.Errorf("%s: error %q does not name the op", c.name, err)
		}
	}
}

// TestNoGradSkipsInputGradient checks that a convolution of NoGrad(x) builds
// no input-gradient node while a plain one does.
func TestNoGradSkipsInputGradient(t *testing.T) {
	for _, stop := range []bool{false, true} {
		g := gorgonia.NewGraph()
		x := gorgonia.NewTensor(g, tensor.Float64, 4, gorgonia.WithShape(2, 1, 4, 4), gorgonia.WithInit(gorgonia.GlorotU(1)))
		w := gorgonia.NewTensor(g, tensor.Float64, 4, gorgonia.WithShape(2, 1, 3, 3), gorgonia.WithInit(gorgonia.GlorotU(1)))
		in := x
		if stop {
			var err error
			if in, err = NoGrad(x); err != nil {
				t.Fatal(err)
			}
		}
		y, err := Conv2D(in, w, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		l, err := MSE(y, gorgonia.NewTensor(g, tensor.Float64, 4, gorgonia.WithShape(2, 2, 4, 4), gorgonia.WithInit(gorgonia.Zeroes())))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gorgonia.Grad(l, w); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, n := range g.AllNodes() {
			if n.Op() != nil && strings.Contains(n.Op().String(), "conv2dGradX") {
				found = true
			}
		}
		if found == stop {
			t.Errorf("NoGrad=%v: input-gradient node present = %v", stop, found)
		}
	}
}

// TestParallelCoversOnce checks that both schedulers visit every index
// exactly once for several sizes and chunkings.
func TestParallelCoversOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 17, 1000} {
		for _, chunk := range []int{1, 2, 7, 5000} {
			counts := make([]atomic.Int32, n)
			parallelDynamic(n, chunk, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					counts[i].Add(1)
				}
			})
			parallelFor(n, chunk, func(lo, hi, _ int) {
				for i := lo; i < hi; i++ {
					counts[i].Add(1)
				}
			})
			for i := range counts {
				if c := counts[i].Load(); c != 2 {
					t.Fatalf("n=%d chunk=%d: index %d visited %d times, want 2", n, chunk, i, c)
				}
			}
		}
	}
}

// TestGEMMAgainstNaive checks the compiled-in GEMM and the portable one on
// every transpose combination, with strides and beta.
func TestGEMMAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m, n, k := 7, 9, 5
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			lda, ldb, ldc := k+2, n+1, n+3
			if ta {
				lda = m + 1
			}
			if tb {
				ldb = k + 3
			}
			a := make([]float32, 16*lda)
			b := make([]float32, 16*ldb)
			c := make([]float32, m*ldc)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			for i := range b {
				b[i] = float32(rng.NormFloat64())
			}
			for i := range c {
				c[i] = float32(rng.NormFloat64())
			}
			want := append([]float32(nil), c...)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					var s float64
					for p := 0; p < k; p++ {
						av, bv := a[i*lda+p], b[p*ldb+j]
						if ta {
							av = a[p*lda+i]
						}
						if tb {
							bv = b[j*ldb+p]
						}
						s += float64(av) * float64(bv)
					}
					want[i*ldc+j] = float32(1.5*s + 0.5*float64(c[i*ldc+j]))
				}
			}
			for name, f := range map[string]func([]float32){
				"compiled": func(c []float32) { gemm(ta, tb, m, n, k, 1.5, a, lda, b, ldb, 0.5, c, ldc) },
				"portable": func(c []float32) { gemmGo(ta, tb, m, n, k, 1.5, a, lda, b, ldb, 0.5, c, ldc) },
			} {
				got := append([]float32(nil), c...)
				f(got)
				for i := range got {
					if math.Abs(float64(got[i]-want[i])) > 1e-4 {
						t.Fatalf("%s ta=%v tb=%v: element %d = %v, want %v", name, ta, tb, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestSigmoidAccuracy checks the float32 exp and sigmoid approximations
// against math.Exp over their range.
func TestSigmoidAccuracy(t *testing.T) {
	var worstExp, worstSig float64
	for x := -87.0; x < 88; x += 0.00731 {
		xf := float32(x)
		want := math.Exp(float64(xf))
		worstExp = math.Max(worstExp, math.Abs(float64(exp32(xf))-want)/want)
		s := 1 / (1 + math.Exp(-float64(xf)))
		worstSig = math.Max(worstSig, math.Abs(float64(sigmoid32(xf))-s)/s)
		worstSig = math.Max(worstSig, math.Abs(float64(sigmoid(xf))-s)/s)
	}
	if worstExp > 5e-7 || worstSig > 5e-7 {
		t.Errorf("relative error: exp32 %g, sigmoid %g; want < 5e-7", worstExp, worstSig)
	}
	if s := sigmoid32(-200); s > 1e-37 || s < 0 || sigmoid32(200) != 1 {
		t.Errorf("saturation: sigmoid32(-200)=%v sigmoid32(200)=%v", s, sigmoid32(200))
	}
}

// TestRunsAreBitIdentical trains nothing but runs a graph using every op
// twice and checks outputs and gradients match bit for bit, as the DDPM's
// reproducibility requires.
func TestRunsAreBitIdentical(t *testing.T) {
	c := opCase{
		name:   "mixed",
		shapes: [][]int{{6, 4, 8, 8}, {8, 4, 3, 3}, {8}, {8}, {6, 8}},
		build: func(in []*gorgonia.Node) (*gorgonia.Node, error) {
			h, err := Conv2D(in[0], in[1], 1, 1)
			if err != nil {
				return nil, err
			}
			if h, err = GroupNorm(h, in[2], in[3], 4, 1e-5, true); err != nil {
				return nil, err
			}
			if h, err = ChannelAdd(h, in[4]); err != nil {
				return nil, err
			}
			return GlobalAvgPool(h)
		},
	}
	data := caseData(c, 9)
	var first [][]float64
	for run := 0; run < 2; run++ {
		r := buildRun(t, c, tensor.Float32, data, 9)
		r.run(t)
		var got [][]float64
		got = append(got, floats(t, r.out.Value()))
		for _, g := range r.grads {
			got = append(got, floats(t, g.Value()))
		}
		if run == 0 {
			first = got
			continue
		}
		for i := range got {
			for j := range got[i] {
				if got[i][j] != first[i][j] {
					t.Fatalf("value %d[%d] differs between runs: %v vs %v", i, j, got[i][j], first[i][j])
				}
			}
		}
	}
}

// TestGroupNormGradStatsReuse checks that the backward pass gives the same
// result from the forward pass's saved statistics as from recomputing them.
func TestGroupNormGradStatsReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	p := NormParams{N: 3, C: 4, HW: 5, Groups: 2, Eps: 1e-5, SiLU: true}
	size := p.N * p.C * p.HW
	x, dy, y := make([]float64, size), make([]float64, size), make([]float64, size)
	gamma, beta := make([]float64, p.C), make([]float64, p.C)
	for _, s := range [][]float64{x, dy, gamma, beta} {
		for i := range s {
			s[i] = rng.NormFloat64()
		}
	}
	stats := make([]float64, 2*p.N*p.Groups)
	groupNormForward(p, x, gamma, beta, y, stats)
	dx1, dg1, db1 := make([]float64, size), make([]float64, p.C), make([]float64, p.C)
	dx2, dg2, db2 := make([]float64, size), make([]float64, p.C), make([]float64, p.C)
	groupNormBackward(p, x, gamma, beta, dy, dx1, dg1, db1, stats)
	groupNormBackward(p, x, gamma, beta, dy, dx2, dg2, db2, nil)
	for _, pair := range [][2][]float64{{dx1, dx2}, {dg1, dg2}, {db1, db2}} {
		if d, s := maxDiff(pair[0], pair[1]); d > 1e-12*(1+s) {
			t.Fatalf("saved vs recomputed statistics differ by %g", d)
		}
	}
}
