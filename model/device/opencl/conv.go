package opencl

import "fmt"

// ConvShape is model/nn's ConvParams: a 2-D convolution of x (N,C,H,W) by
// filters (O,C,KH,KW) with a square stride and zero padding, giving
// (N,O,OH,OW).
type ConvShape struct {
	N, C, H, W  int
	O, KH, KW   int
	Stride, Pad int
	OH, OW      int
}

func (p ConvShape) check() error {
	if p.N <= 0 || p.C <= 0 || p.H <= 0 || p.W <= 0 || p.O <= 0 || p.KH <= 0 || p.KW <= 0 || p.Stride <= 0 || p.Pad < 0 ||
		p.OH != (p.H+2*p.Pad-p.KH)/p.Stride+1 || p.OW != (p.W+2*p.Pad-p.KW)/p.Stride+1 || p.OH <= 0 || p.OW <= 0 {
		return fmt.Errorf("opencl: conv %+v: %w", p, ErrInvalidValue)
	}
	return nil
}

func (p ConvShape) k() int   { return p.C * p.KH * p.KW }
func (p ConvShape) ohw() int { return p.OH * p.OW }

// pointwise reports a 1x1, stride-1, unpadded convolution, whose im2col
// matrix is the input itself.
func (p ConvShape) pointwise() bool { return p.KH == 1 && p.KW == 1 && p.Stride == 1 && p.Pad == 0 }

func (p ConvShape) args() []any {
	return []any{int32(p.N), int32(p.C), int32(p.H), int32(p.W), int32(p.KH), int32(p.KW), int32(p.Stride), int32(p.Pad), int32(p.OH), int32(p.OW)}
}

// cols returns x's im2col matrices (N, C*KH*KW, OH*OW) in scratch slot
// "col", or x itself for a pointwise convolution.
func (o *Ops) cols(p ConvShape, x *Buffer) (*Buffer, error) {
	if p.pointwise() {
		return x, nil
	}
	col, err := o.scratchAtLeast("col", p.N*p.k()*p.ohw())
	if err != nil {
		return nil, err
	}
	return col, o.launch1("im2col_f32", p.N*p.k()*p.ohw(), append(p.args(), x, col)...)
}

// checkBuffers checks the shape, then that image holds N*C*H*W values,
// filters O*C*KH*KW and out N*O*OH*OW (what names the op in the error).
func (p ConvShape) checkBuffers(what string, image, filters, out *Buffer) error {
	if err := p.check(); err != nil {
		return err
	}
	return errorsJoin(sameLen(what+" image", p.N*p.C*p.H*p.W, image), sameLen(what+" filters", p.O*p.k(), filters),
		sameLen(what+" output", p.N*p.O*p.ohw(), out))
}

// Conv2D computes y = conv(x, w) plus b per output channel when b is not
// nil: im2col, then one batched GEMM with the filters shared by every
// sample, writing NCHW directly.
func (o *Ops) Conv2D(p ConvShape, x, w, b, y *Buffer) error {
	if err := p.checkBuffers("conv", x, w, y); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	col, err := o.cols(p, x)
	if err != nil {
		return err
	}
	k, ohw := p.k(), p.ohw()
	if err := o.SGEMMBatched(p.N, 1, false, false, p.O, ohw, k, 1, Whole(w), Mat{Buf: col, Outer: k * ohw}, 0, Mat{Buf: y, Outer: p.O * ohw}); err != nil {
		return err
	}
	if b == nil {
		return nil
	}
	return o.ChannelAdd(p.N, p.O, ohw, false, y, b, y)
}

// Conv2DGradX computes dx: per sample W^T*dy (a batched GEMM into the
// im2col layout), then col2im, which gathers each input's terms without
// atomics.
func (o *Ops) Conv2DGradX(p ConvShape, w, dy, dx *Buffer) error {
	if err := p.checkBuffers("conv grad x", dx, w, dy); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	k, ohw := p.k(), p.ohw()
	col := dx
	if !p.pointwise() {
		var err error
		if col, err = o.scratchAtLeast("col", p.N*k*ohw); err != nil {
			return err
		}
	}
	if err := o.SGEMMBatched(p.N, 1, true, false, k, ohw, p.O, 1, Whole(w), Mat{Buf: dy, Outer: p.O * ohw}, 0, Mat{Buf: col, Outer: k * ohw}); err != nil {
		return err
	}
	if p.pointwise() {
		return nil
	}
	return o.launch1("col2im_f32", p.N*p.C*p.H*p.W, append(p.args(), col, dx)...)
}

// Conv2DGradW computes dw = sum over samples of dy_n * im2col(x_n)^T: a
// batched GEMM into one slot per sample, then their sum in sample order
// (deterministic, no atomics).
func (o *Ops) Conv2DGradW(p ConvShape, x, dy, dw *Buffer) error {
	if err := p.checkBuffers("conv grad w", x, dw, dy); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	col, err := o.cols(p, x)
	if err != nil {
		return err
	}
	k, ohw := p.k(), p.ohw()
	out := dw
	if p.N > 1 {
		if out, err = o.scratch("dwn", p.N*p.O*k); err != nil {
			return err
		}
	}
	if err := o.SGEMMBatched(p.N, 1, false, true, p.O, k, ohw, 1, Mat{Buf: dy, Outer: p.O * ohw}, Mat{Buf: col, Outer: k * ohw}, 0, Mat{Buf: out, Outer: p.O * k}); err != nil {
		return err
	}
	if p.N == 1 {
		return nil
	}
	return o.SumBatch(p.N, out, dw)
}
