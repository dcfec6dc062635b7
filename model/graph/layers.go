package graph

import (
	"fmt"

	"github.com/synthfed/synthfed/model/nn"
	G "gorgonia.org/gorgonia"
)

// The layer helpers below declare their parameters under name in the
// builder's scope, in PyTorch's layouts and names (weight, bias), and add
// the layer to the graph. They follow a sticky-error pattern: on failure
// they record the error (reported by Err) and return nil, and given a nil
// input they return nil, so a network can be written without checking
// every layer.

// fail records err and returns nil.
func (b *Builder) fail(name string, err error) *G.Node {
	b.st.errs = append(b.st.errs, fmt.Errorf("layer %q: %w", b.prefix+name, err))
	return nil
}

// Op records the error of a gorgonia or nn op and returns its node, so that
// networks can chain ops of their own in the sticky-error style.
func (b *Builder) Op(n *G.Node, err error) *G.Node {
	if err != nil {
		return b.fail("op", err)
	}
	return n
}

// anyNil reports whether any node is nil (an earlier layer failed).
func anyNil(ns ...*G.Node) bool {
	for _, n := range ns {
		if n == nil {
			return true
		}
	}
	return false
}

// Conv adds a k x k convolution from cin to cout channels with an optional
// bias, as PyTorch's nn.Conv2d(cin, cout, k, stride, pad): parameters
// name.weight (cout,cin,k,k) and name.bias (cout). zeroInit zeroes both,
// for layers that should start as the identity of a residual branch.
func (b *Builder) Conv(name string, x *G.Node, cin, cout, k, stride, pad int, bias, zeroInit bool) *G.Node {
	s := b.Scope(name)
	winit, binit := Uniform(cin*k*k), Uniform(cin*k*k)
	if zeroInit {
		winit, binit = Zeros(), Zeros()
	}
	w := s.Param("weight", []int{cout, cin, k, k}, winit)
	var bv *G.Node
	if bias {
		bv = s.Param("bias", []int{cout}, binit)
	}
	if anyNil(x, w) {
		return nil
	}
	var y *G.Node
	var err error
	if bias {
		y, err = nn.Conv2DBias(x, w, bv, stride, pad) // bias fused into the output write
	} else {
		y, err = nn.Conv2D(x, w, stride, pad)
	}
	if err != nil {
		return b.fail(name, err)
	}
	return y
}

// Linear adds nn.Linear(in, out): name.weight (out,in) and name.bias (out).
func (b *Builder) Linear(name string, x *G.Node, in, out int, zeroInit bool) *G.Node {
	s := b.Scope(name)
	winit, binit := Uniform(in), Uniform(in)
	if zeroInit {
		winit, binit = Zeros(), Zeros()
	}
	w := s.Param("weight", []int{out, in}, winit)
	bv := s.Param("bias", []int{out}, binit)
	if anyNil(x, w, bv) {
		return nil
	}
	y, err := nn.Linear(x, w, bv)
	if err != nil {
		return b.fail(name, err)
	}
	return y
}

// GroupNorm adds nn.GroupNorm(groups, c) with eps 1e-5, followed by SiLU
// when silu is set: name.weight (c, ones) and name.bias (c, zeros). The
// name should contain "norm" so that FedBN patterns select it.
func (b *Builder) GroupNorm(name string, x *G.Node, c, groups int, silu bool) *G.Node {
	s := b.Scope(name)
	gamma := s.Param("weight", []int{c}, Ones())
	beta := s.Param("bias", []int{c}, Zeros())
	if anyNil(x, gamma, beta) {
		return nil
	}
	y, err := nn.GroupNorm(x, gamma, beta, groups, 1e-5, silu)
	if err != nil {
		return b.fail(name, err)
	}
	return y
}

// SiLU applies x*sigmoid(x).
func (b *Builder) SiLU(x *G.Node) *G.Node {
	if x == nil {
		return nil
	}
	return b.Op(nn.SiLU(x))
}
