package nn

import (
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestDescribe builds each op and checks that Describe reports its kind
// and the parameters a backend needs to run it.
func TestDescribe(t *testing.T) {
	g := gorgonia.NewGraph()
	in := func(name string, shape ...int) *gorgonia.Node {
		return gorgonia.NewTensor(g, tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(name))
	}
	x, w, b := in("x", 2, 3, 6, 6), in("w", 4, 3, 3, 3), in("b", 4)
	must := func(n *gorgonia.Node, err error) *gorgonia.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	conv := must(Conv2DBias(x, w, b, 2, 1))
	cases := []struct {
		node *gorgonia.Node
		want OpDesc
	}{
		{conv, OpDesc{Kind: OpConv2D, Bias: true, Conv: ConvParams{N: 2, C: 3, H: 6, W: 6, O: 4, KH: 3, KW: 3, Stride: 2, Pad: 1, OH: 3, OW: 3}}},
		{must(ChannelAdd(conv, in("e", 2, 4))), OpDesc{Kind: OpChannelAdd, N: 2, C: 4, HW: 9, PerSample: true}},
		{must(SiLU(x)), OpDesc{Kind: OpSiLU}},
		{must(Upsample2x(x)), OpDesc{Kind: OpUpsample2x, Planes: 6, H: 6, W: 6}},
		{must(GlobalAvgPool(x)), OpDesc{Kind: OpAvgPool, Planes: 6, HW: 36}},
		{must(ConcatChannels(x, in("y", 2, 5, 6, 6))), OpDesc{Kind: OpConcat, Outer: 2, NA: 108, NB: 180}},
		{must(Add(x, in("z", 2, 3, 6, 6))), OpDesc{Kind: OpAdd}},
		{must(Linear(in("h", 5, 7), in("lw", 3, 7), nil)), OpDesc{Kind: OpLinear, N: 5, In: 7, Out: 3}},
		{must(MSE(x, in("t", 2, 3, 6, 6))), OpDesc{Kind: OpMSE}},
		{must(NoGrad(x)), OpDesc{Kind: OpNoGrad}},
	}
	for _, c := range cases {
		got, ok := Describe(c.node.Op())
		if !ok || got != c.want {
			t.Errorf("Describe(%v) = %+v, %v; want %+v", c.node.Op(), got, ok, c.want)
		}
	}
	if _, ok := Describe(must(gorgonia.Add(x, x)).Op()); ok {
		t.Error("gorgonia's Add described as an nn op")
	}
}

// TestDescribeBackward checks the backward ops of GroupNorm and packed
// attention: GroupNorm's forward and backward share a State that no other
// GroupNorm has, the gradient parts have their indices, and every node of
// the backward graph but gorgonia's own is described.
func TestDescribeBackward(t *testing.T) {
	g := gorgonia.NewGraph()
	in := func(name string, shape ...int) *gorgonia.Node {
		return gorgonia.NewTensor(g, tensor.Float32, len(shape), gorgonia.WithShape(shape...), gorgonia.WithName(name),
			gorgonia.WithValue(tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))))
	}
	x, gam, bet := in("x", 2, 6, 2, 2), in("gamma", 6), in("beta", 6)
	h, err := GroupNorm(x, gam, bet, 3, 1e-5, true)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := GroupNorm(h, gam, bet, 3, 1e-5, false)
	if err != nil {
		t.Fatal(err)
	}
	a, err := SelfAttention2D(h2, 2)
	if err != nil {
		t.Fatal(err)
	}
	loss, err := MSE(a, in("t", 2, 2, 2, 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gorgonia.Grad(loss, x, gam, bet); err != nil {
		t.Fatal(err)
	}
	states := map[any][]OpKind{}
	kinds := map[OpKind]int{}
	for _, n := range g.AllNodes() {
		if n.Op() == nil {
			continue
		}
		d, ok := Describe(n.Op())
		if !ok {
			continue // gorgonia's constant seed and gradient sums
		}
		kinds[d.Kind]++
		if d.State != nil {
			states[d.State] = append(states[d.State], d.Kind)
		}
		if d.Kind == OpAttentionGrad && (!d.Packed || d.Attn.Heads != 2 || d.Attn.D != 1) {
			t.Errorf("attention backward %+v", d)
		}
		if d.Kind == OpGradPart && d.Index != 0 && d.Index != 1 {
			t.Errorf("gradient part %d", d.Index)
		}
	}
	if len(states) != 2 {
		t.Fatalf("%d GroupNorm states, want 2: %v", len(states), states)
	}
	for s, ks := range states {
		if len(ks) != 2 || ks[0] == ks[1] {
			t.Errorf("state %p shared by %v, want one forward and one backward", s, ks)
		}
	}
	for _, k := range []OpKind{OpGroupNorm, OpGroupNormGrad, OpGradPart, OpAttention, OpAttentionGrad, OpMSE, OpMSEGrad} {
		if kinds[k] == 0 {
			t.Errorf("no %v node in the backward graph: %v", k, kinds)
		}
	}
}
