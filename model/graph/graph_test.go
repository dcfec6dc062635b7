package graph

import (
	"errors"
	"math"
	"testing"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/optim"
	G "gorgonia.org/gorgonia"
)

// linear builds loss = mean((x W^T + b - y)^2) with stock ops.
func linear(b *Builder, n int) (x, y, loss *G.Node) {
	fc := b.Scope("fc")
	w := fc.Param("weight", []int{2, 3}, Uniform(3))
	bias := fc.Param("bias", []int{1, 2}, Zeros())
	x = b.Input("x", n, 3)
	y = b.Input("y", n, 2)
	out := G.Must(G.Mul(x, G.Must(G.Transpose(w))))
	out = G.Must(G.BroadcastAdd(out, bias, nil, []byte{0}))
	d := G.Must(G.Sub(out, y))
	loss = G.Must(G.Mean(G.Must(G.Square(d))))
	return x, y, loss
}

func TestSpecsAndInit(t *testing.T) {
	sb := NewSpecBuilder()
	linear(sb, 4)
	specs := sb.Specs()
	if len(specs) != 2 || specs[0].Name != "fc.bias" || specs[1].Name != "fc.weight" {
		t.Fatalf("specs %v", specs)
	}
	w1, err := InitWeights(sb.Params(), 7)
	if err != nil {
		t.Fatal(err)
	}
	w2, _ := InitWeights(sb.Params(), 7)
	w3, _ := InitWeights(sb.Params(), 8)
	if w1.Hash() != w2.Hash() || w1.Hash() == w3.Hash() {
		t.Fatal("init is not a function of the seed")
	}
	wt, _ := w1.Get("fc.weight")
	bound := 1 / math.Sqrt(3)
	for _, v := range wt.Data {
		if math.Abs(float64(v)) > bound || v == 0 {
			t.Fatalf("weight %v outside U(-%v,%v)", v, bound, bound)
		}
	}
	if bt, _ := w1.Get("fc.bias"); bt.Data[0] != 0 {
		t.Fatal("bias not zero")
	}
}

func TestBuilderRefusesMismatchedWeights(t *testing.T) {
	bad := model.MustWeights(
		model.Tensor{Name: "fc.weight", Shape: []int{3, 2}, Data: make([]float32, 6)},
		model.Tensor{Name: "stray", Shape: []int{1}, Data: []float32{1}},
	)
	b := NewBuilder(bad)
	linear(b, 2)
	err := b.Err()
	if !errors.Is(err, model.ErrShape) || !errors.Is(err, model.ErrMissing) {
		t.Fatalf("err = %v", err)
	}
	for _, name := range []string{`"fc.weight"`, `"fc.bias"`, `"stray"`} {
		if !contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestTrainProgramGradientsAndSharing(t *testing.T) {
	sb := NewSpecBuilder()
	linear(sb, 4)
	w, _ := InitWeights(sb.Params(), 1)
	b := NewBuilder(w)
	x, y, loss := linear(b, 4)
	lossR := Read(loss)
	prog, err := NewTrainProgram(b, loss)
	if err != nil {
		t.Fatal(err)
	}
	xs := []float32{1, 2, 3, -1, 0, 1, 0.5, 0.5, -2, 2, 1, 0}
	ys := []float32{1, 0, 0, 1, -1, 2, 3, 0}
	run := func() float64 {
		if err := Let(x, xs); err != nil {
			t.Fatal(err)
		}
		if err := Let(y, ys); err != nil {
			t.Fatal(err)
		}
		if err := prog.Run(); err != nil {
			t.Fatal(err)
		}
		return float64(lossR.Scalar())
	}
	// Finite differences of the loss against the bound gradients.
	run()
	ps, err := prog.Params()
	if err != nil {
		t.Fatal(err)
	}
	grads := make([][]float32, len(ps))
	for i, p := range ps {
		grads[i] = append([]float32(nil), p.Grad...)
	}
	for i, p := range ps {
		for k := range p.Value {
			orig := p.Value[k]
			const h = 1e-2
			p.Value[k] = orig + h
			prog.ZeroGrad()
			lp := run()
			p.Value[k] = orig - h
			prog.ZeroGrad()
			lm := run()
			p.Value[k] = orig
			fd := (lp - lm) / (2 * h)
			if math.Abs(fd-float64(grads[i][k])) > 1e-3 {
				t.Fatalf("%s[%d]: grad %v, finite difference %v", p.Name, k, grads[i][k], fd)
			}
		}
	}
	// The optimiser's in-place updates reach the graph and the weights.
	adam, _ := optim.NewAdam(optim.AdamConfig{LR: 0.05, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
	prog.ZeroGrad()
	first := run()
	var last float64
	for range 100 {
		ps, _ := prog.Params()
		if _, err := adam.Step(ps); err != nil {
			t.Fatal(err)
		}
		prog.ZeroGrad()
		last = run()
	}
	if !(last < first/4) {
		t.Fatalf("loss %v -> %v: not learning", first, last)
	}
	wt, _ := w.Get("fc.weight")
	if &wt.Data[0] != &ps[1].Value[0] && &wt.Data[0] != &ps[0].Value[0] {
		t.Fatal("graph parameters do not share the weights' memory")
	}
}
