package opencl

import (
	"fmt"
	"math"
)

// HeadLayout is model/nn's: the matrix of (batch item b, head h) starts at
// Base + b*BatchStride + h*HeadStride.
type HeadLayout struct {
	Base, BatchStride, HeadStride int
}

// AttnShape is model/nn's AttnParams: Batch*Heads (Q, K, V) triples of L
// tokens with D features, each matrix (L, D) row-major or (D, L) when
// ChannelMajor.
type AttnShape struct {
	Batch, Heads, L, D int
	ChannelMajor       bool
	Q, K, V, O         HeadLayout
}

// operand is a logical matrix of a batched product: its Mat and whether it
// is stored transposed.
type operand struct {
	m Mat
	t bool
}

func (p AttnShape) op(hl HeadLayout, b *Buffer) operand {
	return operand{m: Mat{Buf: b, Off: hl.Base, Outer: hl.BatchStride, Inner: hl.HeadStride}, t: p.ChannelMajor}
}

// scores is the (L, L) per-head scratch layout.
func (p AttnShape) scores(b *Buffer) operand {
	return operand{m: Mat{Buf: b, Outer: p.Heads * p.L * p.L, Inner: p.L * p.L}}
}

// mm computes C = alpha*A*B (m x n, inner dimension k) over the batch for
// logical operands stored either way: a transposed C is computed as
// B^T A^T.
func (o *Ops) mm(p AttnShape, m, n, k int, alpha float32, a, b, c operand) error {
	if !c.t {
		return o.SGEMMBatched(p.Batch*p.Heads, p.Heads, a.t, b.t, m, n, k, alpha, a.m, b.m, 0, c.m)
	}
	return o.SGEMMBatched(p.Batch*p.Heads, p.Heads, !b.t, !a.t, n, m, k, alpha, b.m, a.m, 0, c.m)
}

func (p AttnShape) check(bufs ...*Buffer) error {
	if p.Batch <= 0 || p.Heads <= 0 || p.L <= 0 || p.D <= 0 {
		return fmt.Errorf("opencl: attention %+v: %w", p, ErrInvalidValue)
	}
	for _, b := range bufs {
		if b == nil {
			return fmt.Errorf("opencl: attention: nil buffer: %w", ErrInvalidMemObject)
		}
	}
	return nil
}

// tr flips an operand's storage (the logical transpose).
func tr(x operand) operand { x.t = !x.t; return x }

// Attention computes O = softmax(Q K^T / sqrt(D)) V for every head: two
// batched GEMMs around a row softmax, the scores in scratch.
func (o *Ops) Attention(p AttnShape, q, k, v, out *Buffer) error {
	if err := p.check(q, k, v, out); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	rows := p.Batch * p.Heads * p.L
	s, err := o.scratch("attn_s", rows*p.L)
	if err != nil {
		return err
	}
	scale := float32(1 / math.Sqrt(float64(p.D)))
	S := p.scores(s)
	if err := o.mm(p, p.L, p.L, p.D, scale, p.op(p.Q, q), tr(p.op(p.K, k)), S); err != nil {
		return err
	}
	if err := o.SoftmaxRows(rows, p.L, s); err != nil {
		return err
	}
	return o.mm(p, p.L, p.D, p.L, 1, S, p.op(p.V, v), p.op(p.O, out))
}

// AttentionGrad computes dQ, dK and dV from dO, recomputing the
// probabilities: dV = P^T dO, dP = dO V^T, dS = P*(dP - rowsum(P*dP)),
// dQ = dS K / sqrt(D), dK = dS^T Q / sqrt(D). The gradients use the
// layouts of Q, K and V.
func (o *Ops) AttentionGrad(p AttnShape, q, k, v, dout, dq, dk, dv *Buffer) error {
	if err := p.check(q, k, v, dout, dq, dk, dv); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	rows := p.Batch * p.Heads * p.L
	s, err := o.scratch("attn_s", rows*p.L)
	if err != nil {
		return err
	}
	dp, err := o.scratch("attn_dp", rows*p.L)
	if err != nil {
		return err
	}
	scale := float32(1 / math.Sqrt(float64(p.D)))
	S, dP := p.scores(s), p.scores(dp)
	Q, K, V, dO := p.op(p.Q, q), p.op(p.K, k), p.op(p.V, v), p.op(p.O, dout)
	steps := []func() error{
		func() error { return o.mm(p, p.L, p.L, p.D, scale, Q, tr(K), S) },
		func() error { return o.SoftmaxRows(rows, p.L, s) },
		func() error { return o.mm(p, p.L, p.D, p.L, 1, tr(S), dO, p.op(p.V, dv)) },
		func() error { return o.mm(p, p.L, p.L, p.D, 1, dO, tr(V), dP) },
		func() error { return o.SoftmaxGradRows(rows, p.L, s, dp) },
		func() error { return o.mm(p, p.L, p.D, p.L, scale, dP, K, p.op(p.Q, dq)) },
		func() error { return o.mm(p, p.L, p.D, p.L, scale, tr(dP), Q, p.op(p.K, dk)) },
	}
	for _, f := range steps {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}
