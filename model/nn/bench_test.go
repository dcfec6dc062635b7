package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// benchGraph builds loss = MSE(f(x, params), target) in float32 with
// gradients for every input, and returns a machine to run it.
func benchGraph(b *testing.B, shapes [][]int, f func(in []*gorgonia.Node) (*gorgonia.Node, error)) gorgonia.VM {
	b.Helper()
	g := gorgonia.NewGraph()
	rng := rand.New(rand.NewPCG(1, 2))
	var in gorgonia.Nodes
	for i, s := range shapes {
		d := make([]float32, tensor.Shape(s).TotalSize())
		for j := range d {
			d[j] = float32(rng.NormFloat64()) * 0.1
		}
		v := tensor.New(tensor.WithShape(s...), tensor.WithBacking(d))
		in = append(in, gorgonia.NewTensor(g, tensor.Float32, len(s), gorgonia.WithShape(s...), gorgonia.WithValue(v), gorgonia.WithName(fmt.Sprint("in", i))))
	}
	out, err := f(in)
	if err != nil {
		b.Fatal(err)
	}
	tgt := gorgonia.NewTensor(g, tensor.Float32, out.Dims(), gorgonia.WithShape(out.Shape()...), gorgonia.WithInit(gorgonia.Zeroes()))
	loss, err := MSE(out, tgt)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := gorgonia.Grad(loss, in...); err != nil {
		b.Fatal(err)
	}
	return gorgonia.NewTapeMachine(g)
}

func runBench(b *testing.B, vm gorgonia.VM) {
	b.Helper()
	defer vm.Close()
	for i := 0; i < 2; i++ {
		if err := vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		vm.Reset()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		vm.Reset()
	}
}

// BenchmarkConvStep times a 3x3 convolution forward and backward at the
// U-Net's shapes, batch 32.
func BenchmarkConvStep(b *testing.B) {
	for _, c := range []struct{ cin, cout, hw int }{{32, 32, 32}, {64, 64, 16}, {64, 64, 8}} {
		b.Run(fmt.Sprintf("%dto%d_%dx%d", c.cin, c.cout, c.hw, c.hw), func(b *testing.B) {
			vm := benchGraph(b, [][]int{{32, c.cin, c.hw, c.hw}, {c.cout, c.cin, 3, 3}}, func(in []*gorgonia.Node) (*gorgonia.Node, error) {
				return Conv2D(in[0], in[1], 1, 1)
			})
			runBench(b, vm)
		})
	}
}

// BenchmarkGroupNormSiLUStep times GroupNorm(8)+SiLU forward and backward
// on (32, 32, 32, 32).
func BenchmarkGroupNormSiLUStep(b *testing.B) {
	vm := benchGraph(b, [][]int{{32, 32, 32, 32}, {32}, {32}}, func(in []*gorgonia.Node) (*gorgonia.Node, error) {
		return GroupNorm(in[0], in[1], in[2], 8, 1e-5, true)
	})
	runBench(b, vm)
}
