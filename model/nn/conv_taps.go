package nn

// Stride-1 convolutions without im2col. With the input zero-padded to
// (C, Hp, Wp), Hp = H+2*Pad and Wp = W+2*Pad, kernel tap (ki, kj) reads the
// padded image shifted by off = ki*Wp + kj. Computing the output in a
// "wide" layout of OH rows of Wp columns (the last Wp-OW columns of each row
// are garbage and dropped), every tap's input is a plain strided view of
// the padded buffer, so the convolution is KH*KW GEMMs of (O x C) by
// (C x OH*Wp) accumulated in place, and the two gradients are likewise
// per-tap GEMMs. This reads and writes far less memory than im2col, which
// copies the input KH*KW times.

// tapGeom holds the derived sizes of the tap decomposition.
type tapGeom struct {
	hp, wp, plane int // padded height, width and plane size
	n             int // wide output columns per channel: OH*Wp
	taps          int
	slack         int // extra padded elements so the last tap's view fits
}

func newTapGeom(p ConvParams) tapGeom {
	g := tapGeom{hp: p.H + 2*p.Pad, wp: p.W + 2*p.Pad, taps: p.KH * p.KW}
	g.plane = g.hp * g.wp
	g.n = p.OH * g.wp
	g.slack = p.KW
	return g
}

func (g tapGeom) off(p ConvParams, tap int) int { return (tap/p.KW)*g.wp + tap%p.KW }

// tapsMinChannels is the fewest input channels for which the tap
// decomposition beats im2col: below it each tap's GEMM has too short an
// inner dimension (conv_in's single channel, for example).
const tapsMinChannels = 4

// tapsApply reports whether the tap decomposition can run p: stride 1 and
// not a 1x1 convolution without padding (whose GEMM needs no copy at all).
func (p ConvParams) tapsApply() bool { return p.Stride == 1 && !p.pointwise() }

// useTaps reports whether p runs as taps; Conv2D decides it at graph build
// (ConvParams.Taps).
func (p ConvParams) useTaps() bool { return p.Taps && p.tapsApply() }

// padInput writes x (C,H,W) into xp (C,Hp,Wp) with a zero border; the slack
// after the last plane is cleared too.
func padInput[T Float](p ConvParams, g tapGeom, x, xp []T) {
	for c := 0; c < p.C; c++ {
		pl := xp[c*g.plane : (c+1)*g.plane]
		clear(pl[:p.Pad*g.wp])
		clear(pl[(p.Pad+p.H)*g.wp:])
		for h := 0; h < p.H; h++ {
			row := pl[(h+p.Pad)*g.wp : (h+p.Pad+1)*g.wp]
			clear(row[:p.Pad])
			copy(row[p.Pad:p.Pad+p.W], x[(c*p.H+h)*p.W:(c*p.H+h+1)*p.W])
			clear(row[p.Pad+p.W:])
		}
	}
	clear(xp[p.C*g.plane:])
}

// packTaps rearranges w (O,C,KH,KW) into wt (taps, O, C) so that each tap's
// weights are a contiguous O x C matrix.
func packTaps[T Float](p ConvParams, w, wt []T) {
	kk := p.KH * p.KW
	for o := 0; o < p.O; o++ {
		for c := 0; c < p.C; c++ {
			src := w[(o*p.C+c)*kk : (o*p.C+c+1)*kk]
			for t, v := range src {
				wt[(t*p.O+o)*p.C+c] = v
			}
		}
	}
}

// unpackTaps is packTaps's inverse: dw (O,C,KH,KW) from dwt (taps, O, C).
func unpackTaps[T Float](p ConvParams, dwt, dw []T) {
	kk := p.KH * p.KW
	for o := 0; o < p.O; o++ {
		for c := 0; c < p.C; c++ {
			dst := dw[(o*p.C+c)*kk : (o*p.C+c+1)*kk]
			for t := range dst {
				dst[t] = dwt[(t*p.O+o)*p.C+c]
			}
		}
	}
}

// tapForward computes y (N,O,OH,OW) for a stride-1 convolution.
func tapForward[T Float](p ConvParams, x, w, y []T) {
	g := newTapGeom(p)
	wt := getScratch[T](g.taps * p.O * p.C)
	defer putScratch(wt)
	packTaps(p, w, wt)
	chw, ohw := p.C*p.H*p.W, p.OH*p.OW
	parallelFor(p.N, 1, func(lo, hi, _ int) {
		xp := getScratch[T](p.C*g.plane + g.slack)
		yw := getScratch[T](p.O * g.n)
		defer putScratch(xp)
		defer putScratch(yw)
		for n := lo; n < hi; n++ {
			padInput(p, g, x[n*chw:(n+1)*chw], xp)
			for t := 0; t < g.taps; t++ {
				beta := T(1)
				if t == 0 {
					beta = 0
				}
				gemm(false, false, p.O, g.n, p.C, 1, wt[t*p.O*p.C:], p.C, xp[g.off(p, t):], g.plane, beta, yw, g.n)
			}
			yn := y[n*p.O*ohw : (n+1)*p.O*ohw]
			for r := 0; r < p.O*p.OH; r++ {
				copy(yn[r*p.OW:(r+1)*p.OW], yw[r*g.wp:r*g.wp+p.OW])
			}
		}
	})
}

// widenGrad writes dy (O,OH,OW) into the wide layout dyw (O, OH*Wp) with
// zeros in the garbage columns.
func widenGrad[T Float](p ConvParams, g tapGeom, dy, dyw []T) {
	for r := 0; r < p.O*p.OH; r++ {
		row := dyw[r*g.wp : (r+1)*g.wp]
		copy(row, dy[r*p.OW:(r+1)*p.OW])
		clear(row[p.OW:])
	}
}

// tapGradX computes dx (N,C,H,W): per tap, the transposed weights times
// the wide gradient are added into the padded input gradient at the tap's
// offset, which is then cropped.
func tapGradX[T Float](p ConvParams, w, dy, dx []T) {
	g := newTapGeom(p)
	wt := getScratch[T](g.taps * p.O * p.C)
	defer putScratch(wt)
	packTaps(p, w, wt)
	chw, ohw := p.C*p.H*p.W, p.OH*p.OW
	parallelFor(p.N, 1, func(lo, hi, _ int) {
		dxp := getScratch[T](p.C*g.plane + g.slack)
		dyw := getScratch[T](p.O * g.n)
		defer putScratch(dxp)
		defer putScratch(dyw)
		for n := lo; n < hi; n++ {
			widenGrad(p, g, dy[n*p.O*ohw:(n+1)*p.O*ohw], dyw)
			clear(dxp)
			for t := 0; t < g.taps; t++ {
				gemm(true, false, p.C, g.n, p.O, 1, wt[t*p.O*p.C:], p.C, dyw, g.n, 1, dxp[g.off(p, t):], g.plane)
			}
			dxn := dx[n*chw : (n+1)*chw]
			for c := 0; c < p.C; c++ {
				for h := 0; h < p.H; h++ {
					src := dxp[c*g.plane+(h+p.Pad)*g.wp+p.Pad:]
					copy(dxn[(c*p.H+h)*p.W:(c*p.H+h+1)*p.W], src[:p.W])
				}
			}
		}
	})
}

// tapGradW computes dw (O,C,KH,KW) = sum over samples and taps of the wide
// gradient times the shifted padded input, each worker accumulating its
// own (taps, O, C) partial sum.
func tapGradW[T Float](p ConvParams, x, dy, dw []T) {
	g := newTapGeom(p)
	chw, ohw := p.C*p.H*p.W, p.OH*p.OW
	size := g.taps * p.O * p.C
	nw := min(numWorkers(), max(p.N, 1))
	partials := make([][]T, nw)
	parallelFor(p.N, 1, func(lo, hi, wk int) {
		acc := getScratch[T](size)
		clear(acc)
		partials[wk] = acc
		xp := getScratch[T](p.C*g.plane + g.slack)
		dyw := getScratch[T](p.O * g.n)
		defer putScratch(xp)
		defer putScratch(dyw)
		for n := lo; n < hi; n++ {
			padInput(p, g, x[n*chw:(n+1)*chw], xp)
			widenGrad(p, g, dy[n*p.O*ohw:(n+1)*p.O*ohw], dyw)
			for t := 0; t < g.taps; t++ {
				gemm(false, true, p.O, p.C, g.n, 1, dyw, g.n, xp[g.off(p, t):], g.plane, 1, acc[t*p.O*p.C:], p.C)
			}
		}
	})
	total := partials[0]
	if total == nil {
		total = getScratch[T](size)
		clear(total)
	}
	for _, part := range partials[1:] {
		if part == nil {
			continue
		}
		for i, v := range part {
			total[i] += v
		}
		putScratch(part)
	}
	unpackTaps(p, total, dw)
	putScratch(total)
}
