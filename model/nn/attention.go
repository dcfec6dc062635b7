package nn

import (
	"fmt"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Attention computes scaled dot-product attention
// softmax(q k^T / sqrt(d)) v over q, k, v of shape (N, L, d) or
// (N, heads, L, d), as PyTorch's F.scaled_dot_product_attention without a
// mask. The result has q's shape.
func Attention(q, k, v *gorgonia.Node) (*gorgonia.Node, error) {
	if _, err := nodeDtype("Attention", q, k, v); err != nil {
		return nil, err
	}
	s := q.Shape()
	if (s.Dims() != 3 && s.Dims() != 4) || !s.Eq(k.Shape()) || !s.Eq(v.Shape()) {
		return nil, fmt.Errorf("%w: Attention of q %v, k %v, v %v (want equal (N,L,d) or (N,heads,L,d))",
			ErrShape, s, k.Shape(), v.Shape())
	}
	heads := 1
	if s.Dims() == 4 {
		heads = s[1]
	}
	l, d := s[s.Dims()-2], s[s.Dims()-1]
	hl := HeadLayout{BatchStride: heads * l * d, HeadStride: l * d}
	p := AttnParams{Batch: s[0], Heads: heads, L: l, D: d, Q: hl, K: hl, V: hl, O: hl}
	op := &attnOp{opBase: newBase("attention", false), p: p, in: s.Clone(), out: s.Clone()}
	return gorgonia.ApplyOp(op, q, k, v)
}

// SelfAttention2D is multi-head self-attention over the positions of a
// feature map, reading queries, keys and values straight from the output of
// a 1x1 convolution with 3C channels, so no transposes are needed: qkv is
// (N, 3C, H, W) with channels [q | k | v], each split into heads of C/heads
// channels, and the result is (N, C, H, W) with head h in channels
// [h*C/heads, (h+1)*C/heads). This matches PyTorch code that reshapes qkv to
// (N, 3, heads, C/heads, H*W) and attends over the last axis.
func SelfAttention2D(qkv *gorgonia.Node, heads int) (*gorgonia.Node, error) {
	if _, err := nodeDtype("SelfAttention2D", qkv); err != nil {
		return nil, err
	}
	s := qkv.Shape()
	if s.Dims() != 4 || s[1]%3 != 0 {
		return nil, fmt.Errorf("%w: SelfAttention2D of qkv %v (want N,3C,H,W)", ErrShape, s)
	}
	c := s[1] / 3
	if heads < 1 || c%heads != 0 {
		return nil, fmt.Errorf("%w: SelfAttention2D heads %d must divide C=%d", ErrArg, heads, c)
	}
	l, d := s[2]*s[3], c/heads
	in := HeadLayout{BatchStride: 3 * c * l, HeadStride: d * l}
	p := AttnParams{Batch: s[0], Heads: heads, L: l, D: d, ChannelMajor: true,
		Q: in, K: in, V: in, O: HeadLayout{BatchStride: c * l, HeadStride: d * l}}
	p.K.Base, p.V.Base = c*l, 2*c*l
	op := &attnOp{opBase: newBase("selfAttention2D", false, heads), p: p, packed: true,
		in: s.Clone(), out: tensor.Shape{s[0], c, s[2], s[3]}}
	return gorgonia.ApplyOp(op, qkv)
}

// attnOp is the forward attention node: three inputs (q, k, v), or one
// packed qkv input when packed is set.
type attnOp struct {
	opBase
	p       AttnParams
	packed  bool
	in, out tensor.Shape
	buf     outBuf
}

func (op *attnOp) Arity() int {
	if op.packed {
		return 1
	}
	return 3
}

func (op *attnOp) Type() hm.Type {
	t := tensorType(op.in.Dims())
	if op.packed {
		return fnType(t, t)
	}
	return fnType(t, t, t, t)
}

func (op *attnOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) { return op.out.Clone(), nil }

func (op *attnOp) DiffWRT(int) []bool {
	if op.packed {
		return []bool{true}
	}
	return []bool{true, true, true}
}

func (op *attnOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	dt, err := dtypeOf(op.kind, vs...)
	if err != nil {
		return nil, err
	}
	ts := make([]*tensor.Dense, len(vs))
	for i, v := range vs {
		if ts[i], err = dense(op.kind, i, v, op.in.TotalSize()); err != nil {
			return nil, err
		}
	}
	if op.packed {
		ts = []*tensor.Dense{ts[0], ts[0], ts[0]}
	}
	o := op.buf.get(dt, op.out)
	op.k.Attention(op.p, ts[0], ts[1], ts[2], o)
	return o, nil
}

func (op *attnOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	shared := &sharedGrads{parts: make([]outBuf, 2)}
	g := &attnGradOp{opBase: newBase(op.kind+"Grad", true), fwd: op, shared: shared}
	args := append(append(gorgonia.Nodes{}, in...), grad)
	dq, err := gorgonia.ApplyOp(g, args...)
	if err != nil || op.packed {
		return gorgonia.Nodes{dq}, err
	}
	dk, err := newGradPart(shared, 0, dq, op.in)
	if err != nil {
		return nil, err
	}
	dv, err := newGradPart(shared, 1, dq, op.in)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dq, dk, dv}, nil
}

// attnGradOp computes the gradient of q (or of the packed qkv) from the
// forward inputs and dO, leaving the gradients of k and v in shared.
type attnGradOp struct {
	opBase
	fwd    *attnOp
	shared *sharedGrads
	buf    outBuf
}

func (op *attnGradOp) Arity() int { return op.fwd.Arity() + 1 }

func (op *attnGradOp) Type() hm.Type {
	t, o := tensorType(op.fwd.in.Dims()), tensorType(op.fwd.out.Dims())
	if op.fwd.packed {
		return fnType(t, o, t)
	}
	return fnType(t, t, t, o, t)
}

func (op *attnGradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.fwd.in.Clone(), nil
}

func (op *attnGradOp) Do(vs ...gorgonia.Value) (gorgonia.Value, error) {
	dt, err := dtypeOf(op.kind, vs...)
	if err != nil {
		return nil, err
	}
	last := len(vs) - 1
	ts := make([]*tensor.Dense, len(vs))
	for i, v := range vs {
		size := op.fwd.in.TotalSize()
		if i == last {
			size = op.fwd.out.TotalSize()
		}
		if ts[i], err = dense(op.kind, i, v, size); err != nil {
			return nil, err
		}
	}
	dq := op.buf.get(dt, op.fwd.in)
	if op.fwd.packed {
		op.k.AttentionGrad(op.fwd.p, ts[0], ts[0], ts[0], ts[1], dq, dq, dq)
		return dq, nil
	}
	dk := op.shared.parts[0].get(dt, op.fwd.in)
	dv := op.shared.parts[1].get(dt, op.fwd.in)
	op.k.AttentionGrad(op.fwd.p, ts[0], ts[1], ts[2], ts[3], dq, dk, dv)
	return dq, nil
}
