//go:build openblas

package nn

/*
#include "native.h"
*/
import "C"

import "unsafe"

// directTile is the output-channel block of nn_conv_direct_f32 and
// directSpan its position block.
const (
	directTile = 6
	directSpan = 16
)

// directOK reports that the CPU runs the direct kernel (AVX2 and FMA);
// native_cgo.go's init has detected the features before this runs.
var directOK = C.nn_conv_direct_ok() == 1

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// convDirect runs nn_conv_direct_f32 on positions [0, span) of x.
func convDirect(x []float32, cin, cstride int, off []C.long, w []float32, cout int, y []float32, ystride, span int) {
	C.nn_conv_direct_f32(fp(x), C.long(cin), C.long(cstride), (*C.long)(unsafe.Pointer(&off[0])), C.long(len(off)),
		fp(w), C.long(cout), fp(y), C.long(ystride), 0, C.long(span))
}

// directForward runs a float32 tap convolution forward with the direct
// kernel and reports whether it did (it leaves float64 to the GEMM path).
// The wide output (OH*Wph positions per channel, garbage columns included)
// is computed in blocks of 16 positions for 6 output channels at a time,
// then compacted.
func directForward[T Float](p ConvParams, x, w, b, y []T) bool {
	x32, ok := any(x).([]float32)
	if !ok || !directOK {
		return false
	}
	w32, y32 := any(w).([]float32), any(y).([]float32)
	b32, _ := any(b).([]float32)
	g := newTapGeom(p)
	cout, span := roundUp(p.O, directTile), roundUp(g.n, directSpan)
	wp := getScratch[float32](p.C * g.taps * cout)
	defer putScratch(wp)
	packDirect(p.O, p.C, g.taps, cout, w32, wp, false)
	off := make([]C.long, g.taps)
	for t := range off {
		off[t] = C.long(g.off(p, t))
	}
	chw, ohw := p.C*p.H*p.W, p.OH*p.OW
	parallelDynamic(p.N, 1, func(lo, hi int) {
		xp := getScratch[float32](g.size + span - g.n + directSpan)
		yw := getScratch[float32](cout * span)
		defer putScratch(xp)
		defer putScratch(yw)
		for n := lo; n < hi; n++ {
			phaseInput(p, g, x32[n*chw:(n+1)*chw], xp[:g.size])
			convDirect(xp, p.C, g.plane, off, wp, cout, yw, span, span)
			compactWide(p, g, yw, span, b32, y32[n*p.O*ohw:(n+1)*p.O*ohw])
		}
	})
	return true
}

// compactWide writes the channel-major wide output yw (O rows of stride
// span) to yn (O, OH, OW), dropping the garbage columns and adding b (O)
// when it is not nil.
func compactWide(p ConvParams, g tapGeom, yw []float32, span int, b, yn []float32) {
	for o := 0; o < p.O; o++ {
		for oh := 0; oh < p.OH; oh++ {
			dst := yn[(o*p.OH+oh)*p.OW : (o*p.OH+oh+1)*p.OW]
			src := yw[o*span+oh*g.wph:]
			if b == nil {
				copy(dst, src)
				continue
			}
			bias := b[o]
			for ow := range dst {
				dst[ow] = src[ow] + bias
			}
		}
	}
}

// packDirect packs w (O,C,taps) as the direct kernel's weights: with
// flip false for the forward, wp[(c*taps+t)*cout+o] (inputs C, outputs O);
// with flip true for the input gradient, wp[(o*taps+t)*cout+c] (inputs O,
// outputs C). Output channels beyond the real ones are zero.
func packDirect(o, c, taps, cout int, w, wp []float32, flip bool) {
	clear(wp)
	for i := 0; i < o; i++ {
		for j := 0; j < c; j++ {
			src := w[(i*c+j)*taps : (i*c+j+1)*taps]
			for t, v := range src {
				if flip {
					wp[(i*taps+t)*cout+j] = v
				} else {
					wp[(j*taps+t)*cout+i] = v
				}
			}
		}
	}
}

// directGradX runs a float32 stride-1 input gradient with the direct
// kernel and reports whether it did. dx_pad[c][q] = sum over o and taps of
// w[o][c][t] * dy_wide[o][q - off_t]; shifting the wide gradient right by
// the largest offset M turns that into a forward-style convolution with
// offsets M - off_t over the output channels. Only the rows holding real
// pixels are computed, then cropped.
func directGradX[T Float](p ConvParams, w, dy, dx []T) bool {
	w32, ok := any(w).([]float32)
	if !ok || p.Stride != 1 || !directOK {
		return false
	}
	dy32, dx32 := any(dy).([]float32), any(dx).([]float32)
	g := newTapGeom(p)
	m := g.off(p, g.taps-1)
	q0 := p.Pad * g.wp
	cout, span := roundUp(p.C, directTile), roundUp(p.H*g.wp, directSpan)
	stride := max(q0+span+m, m+g.n) + directSpan
	wp := getScratch[float32](p.O * g.taps * cout)
	defer putScratch(wp)
	packDirect(p.O, p.C, g.taps, cout, w32, wp, true)
	off := make([]C.long, g.taps)
	for t := range off {
		off[t] = C.long(m - g.off(p, t))
	}
	chw, ohw := p.C*p.H*p.W, p.OH*p.OW
	parallelDynamic(p.N, 1, func(lo, hi int) {
		dyp := getScratch[float32](p.O * stride)
		dxw := getScratch[float32](cout * span)
		defer putScratch(dyp)
		defer putScratch(dxw)
		clear(dyp)
		for n := lo; n < hi; n++ {
			dyn := dy32[n*p.O*ohw : (n+1)*p.O*ohw]
			for r := 0; r < p.O*p.OH; r++ {
				o, oh := r/p.OH, r%p.OH
				copy(dyp[o*stride+m+oh*g.wp:], dyn[r*p.OW:(r+1)*p.OW])
			}
			convDirect(dyp[q0:], p.O, stride, off, wp, cout, dxw, span, span)
			dxn := dx32[n*chw : (n+1)*chw]
			for c := 0; c < p.C; c++ {
				for h := 0; h < p.H; h++ {
					copy(dxn[(c*p.H+h)*p.W:(c*p.H+h+1)*p.W], dxw[c*span+h*g.wp+p.Pad:])
				}
			}
		}
	})
	return true
}

// directGradW runs a float32 tap filter gradient with the direct kernel
// and reports whether it did (O >= 16 only: the kernel's columns are output
// channels in blocks of 16). Each sample's wide gradient is transposed to
// position-major (OH*Wph x O, garbage rows zero); rows of the kernel are
// (input channel, tap) pairs viewing the padded input. Sums over samples go
// through slotSum, so the result is the same on every run.
func directGradW[T Float](p ConvParams, x, dy, dw []T) bool {
	x32, ok := any(x).([]float32)
	if !ok || !directOK || p.O < 16 {
		return false
	}
	dy32, dw32 := any(dy).([]float32), any(dw).([]float32)
	g := newTapGeom(p)
	rows, cols := roundUp(p.C*g.taps, directTile), roundUp(p.O, directSpan)
	rowoff := make([]C.long, rows)
	for r := range rowoff {
		if r < p.C*g.taps {
			rowoff[r] = C.long((r/g.taps)*g.plane + g.off(p, r%g.taps))
		}
	}
	chw, ohw := p.C*p.H*p.W, p.OH*p.OW
	total := getScratch[float32](rows * cols)
	defer putScratch(total)
	slotSum(p.N, total, func(lo, hi int, acc []float32) {
		xp := getScratch[float32](g.size)
		dyt := getScratch[float32](g.n * cols)
		defer putScratch(xp)
		defer putScratch(dyt)
		clear(dyt)
		for n := lo; n < hi; n++ {
			phaseInput(p, g, x32[n*chw:(n+1)*chw], xp)
			dyn := dy32[n*p.O*ohw : (n+1)*p.O*ohw]
			for o := 0; o < p.O; o++ {
				for oh := 0; oh < p.OH; oh++ {
					src := dyn[(o*p.OH+oh)*p.OW : (o*p.OH+oh+1)*p.OW]
					d := dyt[oh*g.wph*cols+o:]
					for ow, v := range src {
						d[ow*cols] = v
					}
				}
			}
			C.nn_conv_gradw_f32(fp(xp), (*C.long)(unsafe.Pointer(&rowoff[0])), C.long(rows), fp(dyt), C.long(cols),
				C.long(g.n), fp(acc))
		}
	})
	for o := 0; o < p.O; o++ {
		for c := 0; c < p.C; c++ {
			dst := dw32[(o*p.C+c)*g.taps : (o*p.C+c+1)*g.taps]
			for t := range dst {
				dst[t] = total[(c*g.taps+t)*cols+o]
			}
		}
	}
	return true
}
