package nn

// ConvParams describes a 2-D convolution over NCHW input with OIHW filters,
// square stride and zero padding, as PyTorch's nn.Conv2d without dilation
// or groups.
type ConvParams struct {
	N, C, H, W  int // input batch, channels, height, width
	O, KH, KW   int // output channels and kernel size
	Stride, Pad int
	OH, OW      int // output height and width
	// Taps selects the im2col-free stride-1 algorithm of conv_taps.go;
	// Conv2D sets it when that is faster.
	Taps bool
}

// forceConvAlgo, when "taps" or "im2col", overrides the algorithm choice
// for convolutions built afterwards; tests use it to cover both.
var forceConvAlgo string

// newConvParams derives the output size; it returns ok=false when the
// kernel does not fit the padded input.
func newConvParams(n, c, h, w, o, kh, kw, stride, pad int) (ConvParams, bool) {
	p := ConvParams{N: n, C: c, H: h, W: w, O: o, KH: kh, KW: kw, Stride: stride, Pad: pad}
	if stride < 1 || pad < 0 || h+2*pad < kh || w+2*pad < kw {
		return p, false
	}
	p.OH = (h+2*pad-kh)/stride + 1
	p.OW = (w+2*pad-kw)/stride + 1
	p.Taps = p.tapsApply() && c >= tapsMinChannels
	if forceConvAlgo != "" {
		p.Taps = forceConvAlgo == "taps"
	}
	return p, true
}

// cols is the number of rows of the im2col matrix: C*KH*KW.
func (p ConvParams) cols() int { return p.C * p.KH * p.KW }

// pointwise reports a 1x1 convolution with stride 1 and no padding, whose
// im2col matrix is the input itself.
func (p ConvParams) pointwise() bool {
	return p.KH == 1 && p.KW == 1 && p.Stride == 1 && p.Pad == 0
}

// validRange returns the output positions [lo, hi) whose input position
// o*stride+off lies in [0, in).
func validRange(out, stride, off, in int) (lo, hi int) {
	if off < 0 {
		lo = (-off + stride - 1) / stride
	}
	if in-1-off < 0 {
		return lo, lo
	}
	hi = (in-1-off)/stride + 1
	if hi > out {
		hi = out
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// im2col unfolds one sample x (C,H,W) into col (C*KH*KW, OH*OW).
func im2col[T Float](p ConvParams, x, col []T) {
	ohw := p.OH * p.OW
	for c := 0; c < p.C; c++ {
		xc := x[c*p.H*p.W : (c+1)*p.H*p.W]
		for ki := 0; ki < p.KH; ki++ {
			for kj := 0; kj < p.KW; kj++ {
				row := col[((c*p.KH+ki)*p.KW+kj)*ohw:][:ohw]
				off := kj - p.Pad
				lo, hi := validRange(p.OW, p.Stride, off, p.W)
				for oh := 0; oh < p.OH; oh++ {
					dst := row[oh*p.OW : (oh+1)*p.OW]
					ih := oh*p.Stride - p.Pad + ki
					if ih < 0 || ih >= p.H {
						clear(dst)
						continue
					}
					src := xc[ih*p.W : (ih+1)*p.W]
					clear(dst[:lo])
					clear(dst[hi:])
					if p.Stride == 1 {
						copy(dst[lo:hi], src[lo+off:hi+off])
						continue
					}
					for ow := lo; ow < hi; ow++ {
						dst[ow] = src[ow*p.Stride+off]
					}
				}
			}
		}
	}
}

// col2im folds col (C*KH*KW, OH*OW) back into dx (C,H,W), adding
// overlapping contributions. dx must be cleared by the caller.
func col2im[T Float](p ConvParams, col, dx []T) {
	ohw := p.OH * p.OW
	for c := 0; c < p.C; c++ {
		xc := dx[c*p.H*p.W : (c+1)*p.H*p.W]
		for ki := 0; ki < p.KH; ki++ {
			for kj := 0; kj < p.KW; kj++ {
				row := col[((c*p.KH+ki)*p.KW+kj)*ohw:][:ohw]
				off := kj - p.Pad
				lo, hi := validRange(p.OW, p.Stride, off, p.W)
				for oh := 0; oh < p.OH; oh++ {
					ih := oh*p.Stride - p.Pad + ki
					if ih < 0 || ih >= p.H {
						continue
					}
					src := row[oh*p.OW : (oh+1)*p.OW]
					dst := xc[ih*p.W : (ih+1)*p.W]
					if p.Stride == 1 {
						d := dst[lo+off : hi+off]
						for i, v := range src[lo:hi] {
							d[i] += v
						}
						continue
					}
					for ow := lo; ow < hi; ow++ {
						dst[ow*p.Stride+off] += src[ow]
					}
				}
			}
		}
	}
}

// convForward computes y (N,O,OH,OW) = conv(x (N,C,H,W), w (O,C,KH,KW)),
// plus b (O) per channel when b is not nil.
func convForward[T Float](p ConvParams, x, w, b, y []T) {
	if p.useTaps() {
		tapForward(p, x, w, b, y)
		return
	}
	im2colForward(p, x, w, y)
	if b != nil {
		channelAdd(p.N, p.O, p.OH*p.OW, false, y, b, y)
	}
}

// im2colForward is convForward by im2col and one GEMM per sample, samples
// split across workers.
func im2colForward[T Float](p ConvParams, x, w, y []T) {
	chw, ohw, k := p.C*p.H*p.W, p.OH*p.OW, p.cols()
	parallelDynamic(p.N, 1, func(lo, hi int) {
		var col []T
		if !p.pointwise() {
			col = getScratch[T](k * ohw)
			defer putScratch(col)
		}
		for n := lo; n < hi; n++ {
			xn := x[n*chw : (n+1)*chw]
			src := xn
			if col != nil {
				im2col(p, xn, col)
				src = col
			}
			gemm(false, false, p.O, ohw, k, 1, w, k, src, ohw, 0, y[n*p.O*ohw:(n+1)*p.O*ohw], ohw)
		}
	})
}

// convGradX computes dx = conv^T(dy, w): per sample W^T*dy then col2im.
func convGradX[T Float](p ConvParams, w, dy, dx []T) {
	if p.useTaps() {
		tapGradX(p, w, dy, dx)
		return
	}
	chw, ohw, k := p.C*p.H*p.W, p.OH*p.OW, p.cols()
	parallelDynamic(p.N, 1, func(lo, hi int) {
		var col []T
		if !p.pointwise() {
			col = getScratch[T](k * ohw)
			defer putScratch(col)
		}
		for n := lo; n < hi; n++ {
			dyn := dy[n*p.O*ohw : (n+1)*p.O*ohw]
			dxn := dx[n*chw : (n+1)*chw]
			if col == nil {
				gemm(true, false, k, ohw, p.O, 1, w, k, dyn, ohw, 0, dxn, ohw)
				continue
			}
			gemm(true, false, k, ohw, p.O, 1, w, k, dyn, ohw, 0, col, ohw)
			clear(dxn)
			col2im(p, col, dxn)
		}
	})
}

// convGradW computes dw (O,C,KH,KW) = sum over samples of dy_n * im2col(x_n)^T,
// through slotSum so that the result is the same on every run.
func convGradW[T Float](p ConvParams, x, dy, dw []T) {
	if p.useTaps() {
		tapGradW(p, x, dy, dw)
		return
	}
	chw, ohw, k := p.C*p.H*p.W, p.OH*p.OW, p.cols()
	slotSum(p.N, dw, func(lo, hi int, acc []T) {
		var col []T
		if !p.pointwise() {
			col = getScratch[T](k * ohw)
			defer putScratch(col)
		}
		for n := lo; n < hi; n++ {
			xn := x[n*chw : (n+1)*chw]
			src := xn
			if col != nil {
				im2col(p, xn, col)
				src = col
			}
			gemm(false, true, p.O, k, ohw, 1, dy[n*p.O*ohw:(n+1)*p.O*ohw], ohw, src, ohw, 1, acc, k)
		}
	})
}
