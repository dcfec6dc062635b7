package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// opCase is one op configuration under test: input shapes, how to build
// the op on graph nodes, and a naive float64 reference of its forward pass.
type opCase struct {
	name   string
	shapes [][]int
	build  func(in []*gorgonia.Node) (*gorgonia.Node, error)
	ref    func(in [][]float64) []float64
	// noGrad marks inputs that take no gradient (targets, masks).
	noGrad map[int]bool
	// gen overrides the random N(0,1) data of input i when set.
	gen func(i int, rng *rand.Rand, n int) []float64
}

// caseData draws the inputs of c and a random projection target for its
// output, from a fixed seed.
func caseData(c opCase, seed uint64) [][]float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	data := make([][]float64, len(c.shapes))
	for i, s := range c.shapes {
		n := tensor.Shape(s).TotalSize()
		if c.gen != nil {
			if d := c.gen(i, rng, n); d != nil {
				data[i] = d
				continue
			}
		}
		data[i] = make([]float64, n)
		for j := range data[i] {
			data[i][j] = rng.NormFloat64()
		}
	}
	return data
}

// graphRun is a built graph: the op output, a scalar loss, its gradients
// with respect to the differentiable inputs, and a machine to run it.
type graphRun struct {
	g      *gorgonia.ExprGraph
	inputs []*gorgonia.Node
	vals   []*tensor.Dense
	out    *gorgonia.Node
	loss   *gorgonia.Node
	wrt    []int
	grads  gorgonia.Nodes
	vm     gorgonia.VM
}

// buildRun builds c on a fresh graph of dtype dt. When the op's output is
// not a scalar the loss is MSE(out, target) with a random target, which
// makes every output element matter.
func buildRun(t *testing.T, c opCase, dt tensor.Dtype, data [][]float64, seed uint64) *graphRun {
	t.Helper()
	r := &graphRun{g: gorgonia.NewGraph()}
	for i, s := range c.shapes {
		v := denseOf(dt, s, data[i])
		n := gorgonia.NewTensor(r.g, dt, len(s), gorgonia.WithShape(s...), gorgonia.WithValue(v), gorgonia.WithName(string(rune('a'+i))))
		r.inputs = append(r.inputs, n)
		r.vals = append(r.vals, v)
	}
	out, err := c.build(r.inputs)
	if err != nil {
		t.Fatalf("%s: build: %v", c.name, err)
	}
	r.out = out
	r.loss = out
	if !out.IsScalar() {
		rng := rand.New(rand.NewPCG(seed, 99))
		tgt := make([]float64, out.Shape().TotalSize())
		for i := range tgt {
			tgt[i] = rng.NormFloat64()
		}
		tn := gorgonia.NewTensor(r.g, dt, out.Dims(), gorgonia.WithShape(out.Shape()...), gorgonia.WithValue(denseOf(dt, out.Shape(), tgt)), gorgonia.WithName("target"))
		if r.loss, err = MSE(out, tn); err != nil {
			t.Fatalf("%s: loss: %v", c.name, err)
		}
	}
	var wrt gorgonia.Nodes
	for i, n := range r.inputs {
		if !c.noGrad[i] {
			wrt = append(wrt, n)
			r.wrt = append(r.wrt, i)
		}
	}
	if r.grads, err = gorgonia.Grad(r.loss, wrt...); err != nil {
		t.Fatalf("%s: grad: %v", c.name, err)
	}
	r.vm = gorgonia.NewTapeMachine(r.g)
	t.Cleanup(func() { r.vm.Close() })
	return r
}

// run executes the graph once and returns the loss.
func (r *graphRun) run(t *testing.T) float64 {
	t.Helper()
	r.vm.Reset()
	if err := r.vm.RunAll(); err != nil {
		t.Fatalf("run: %v", err)
	}
	l, err := scalarValue("loss", r.loss.Value())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// denseOf builds a tensor of dtype dt holding data.
func denseOf(dt tensor.Dtype, shape []int, data []float64) *tensor.Dense {
	if dt == tensor.Float32 {
		d := make([]float32, len(data))
		for i, v := range data {
			d[i] = float32(v)
		}
		return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(append([]float64(nil), data...)))
}

// floats copies a value's data out as float64.
func floats(t *testing.T, v gorgonia.Value) []float64 {
	t.Helper()
	if v == nil {
		t.Fatal("nil value")
	}
	switch d := v.Data().(type) {
	case []float32:
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = float64(x)
		}
		return out
	case []float64:
		return append([]float64(nil), d...)
	case float32:
		return []float64{float64(d)}
	case float64:
		return []float64{d}
	}
	t.Fatalf("unexpected data %T", v.Data())
	return nil
}

// set writes x into element j of input i.
func (r *graphRun) set(i, j int, x float64) {
	switch d := r.vals[i].Data().(type) {
	case []float32:
		d[j] = float32(x)
	case []float64:
		d[j] = x
	}
}

// maxDiff returns the largest |a-b| and the largest |b|.
func maxDiff(a, b []float64) (diff, scale float64) {
	for i := range a {
		diff = math.Max(diff, math.Abs(a[i]-b[i]))
		scale = math.Max(scale, math.Abs(b[i]))
	}
	return diff, scale
}

// sampleIdx picks up to k distinct indices of [0, n), all of them when n <= k.
func sampleIdx(rng *rand.Rand, n, k int) []int {
	if n <= k {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return rng.Perm(n)[:k]
}
