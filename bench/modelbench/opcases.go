package main

import (
	"fmt"
	"math/rand/v2"

	"github.com/synthfed/synthfed/model/nn"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// cases lists every benchmark case; bench/*.py has a PyTorch twin of each.
func cases() []benchCase {
	return append(opCases(), modelCases()...)
}

// opCases are op-level cases at the U-Net's shapes, batch 32: each step is
// forward and backward of one op (or a small CNN) with an MSE or BCE loss.
func opCases() []benchCase {
	conv := func(name string, c, hw int) benchCase {
		return benchCase{name: name, build: func() (func() error, string, error) {
			return opGraph(func(g *opBuilder) *G.Node {
				x := g.input(32, c, hw, hw)
				return g.mse(g.op(nn.Conv2D(x, g.param(c, c, 3, 3), 1, 1)))
			})
		}}
	}
	return []benchCase{
		conv("op_conv3x3_c32_32x32", 32, 32),
		conv("op_conv3x3_c64_16x16", 64, 16),
		{name: "op_groupnorm_silu_c32_32x32", build: func() (func() error, string, error) {
			return opGraph(func(g *opBuilder) *G.Node {
				x := g.input(32, 32, 32, 32)
				return g.mse(g.op(nn.GroupNorm(x, g.param(32), g.param(32), 8, 1e-5, true)))
			})
		}},
		{name: "op_small_cnn", build: func() (func() error, string, error) {
			return opGraph(smallCNN)
		}},
	}
}

// smallCNN is three conv+GroupNorm+SiLU stages, global pooling and a
// 14-way linear head under masked BCE: the shape of the classifier.
func smallCNN(g *opBuilder) *G.Node {
	h := g.op(nn.NoGrad(g.input(32, 1, 32, 32)))
	cin := 1
	for i, c := range []int{16, 32, 64} {
		stride := 1
		if i > 0 {
			stride = 2
		}
		h = g.op(nn.Conv2DBias(h, g.param(c, cin, 3, 3), g.param(c), stride, 1))
		h = g.op(nn.GroupNorm(h, g.param(c), g.param(c), 8, 1e-5, true))
		cin = c
	}
	h = g.op(nn.GlobalAvgPool(h))
	logits := g.op(nn.Linear(h, g.param(14, 64), g.param(14)))
	return g.op(nn.BCEWithLogitsMasked(logits, g.input(32, 14), g.input(32, 14)))
}

// opBuilder builds a float32 graph with random inputs and parameters,
// recording the first error.
type opBuilder struct {
	g      *G.ExprGraph
	rng    *rand.Rand
	params G.Nodes
	err    error
}

func (b *opBuilder) tensor(name string, shape ...int) *G.Node {
	d := make([]float32, tensor.Shape(shape).TotalSize())
	for i := range d {
		d[i] = float32(b.rng.Float64())
	}
	v := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(d))
	return G.NewTensor(b.g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithValue(v), G.WithName(name))
}

func (b *opBuilder) input(shape ...int) *G.Node {
	return b.tensor(fmt.Sprintf("x%d", b.g.AllNodes().Len()), shape...)
}

func (b *opBuilder) param(shape ...int) *G.Node {
	n := b.tensor(fmt.Sprintf("p%d", len(b.params)), shape...)
	b.params = append(b.params, n)
	return n
}

func (b *opBuilder) op(n *G.Node, err error) *G.Node {
	if err != nil && b.err == nil {
		b.err = err
	}
	return n
}

func (b *opBuilder) mse(y *G.Node) *G.Node {
	if y == nil {
		return nil
	}
	return b.op(nn.MSE(y, b.input(y.Shape()...)))
}

// opGraph builds the loss, its gradients for every parameter, and a tape
// machine; the step runs it once.
func opGraph(f func(*opBuilder) *G.Node) (func() error, string, error) {
	b := &opBuilder{g: G.NewGraph(), rng: rand.New(rand.NewPCG(1, 2))}
	loss := f(b)
	if b.err != nil {
		return nil, "", b.err
	}
	if _, err := G.Grad(loss, b.params...); err != nil {
		return nil, "", err
	}
	vm := G.NewTapeMachine(b.g, G.BindDualValues(b.params...))
	step := func() error {
		defer vm.Reset()
		return vm.RunAll()
	}
	return step, "", nil
}
