package nn

// Convolutions without im2col. The input is zero-padded to (C, Hp, Wp),
// Hp = H+2*Pad, Wp = W+2*Pad, and split by stride S into S*S phase images
// of (Hph, Wph) = (ceil(Hp/S), ceil(Wp/S)): phase (r, s) holds the padded
// pixels whose row is r mod S and column s mod S. Kernel tap (ki, kj) then
// reads phase (ki mod S, kj mod S) shifted by (ki/S, kj/S): computing the
// output in a "wide" layout of OH rows of Wph columns (the columns from OW
// on are garbage and dropped), every tap's input is a plain strided view of
// the phase buffer, so the convolution is KH*KW GEMMs accumulated in place,
// and both gradients are likewise per-tap GEMMs. For stride 1 there is one
// phase, the padded image itself. This reads and writes far less memory
// than im2col, which copies the input KH*KW times.

// tapsMinChannels is the fewest input channels for which the tap
// decomposition beats im2col: below it each tap's GEMM has too short an
// inner dimension (conv_in's single channel, for example).
const tapsMinChannels = 4

// tapsApply reports whether the tap decomposition can run p: any
// convolution (a 1x1 one is a single tap).
func (p ConvParams) tapsApply() bool { return true }

// useTaps reports whether p runs as taps; Conv2D decides it at graph build
// (ConvParams.Taps).
func (p ConvParams) useTaps() bool { return p.Taps && p.tapsApply() }

// tapGeom holds the derived sizes of the tap decomposition.
type tapGeom struct {
	s        int // stride: S*S phases
	hp, wp   int // padded height and width
	hph, wph int // phase height and width
	plane    int // one phase of one channel: hph*wph
	n        int // wide output columns per channel: OH*wph
	taps     int
	size     int // phase buffer length, with slack for the last view
}

func newTapGeom(p ConvParams) tapGeom {
	g := tapGeom{s: p.Stride, hp: p.H + 2*p.Pad, wp: p.W + 2*p.Pad, taps: p.KH * p.KW}
	g.hph = (g.hp + g.s - 1) / g.s
	g.wph = (g.wp + g.s - 1) / g.s
	g.plane = g.hph * g.wph
	g.n = p.OH * g.wph
	g.size = g.s*g.s*p.C*g.plane + p.KW + g.wph
	return g
}

// off returns where tap t's view starts in the phase buffer.
func (g tapGeom) off(p ConvParams, t int) int {
	ki, kj := t/p.KW, t%p.KW
	ph := (ki%g.s)*g.s + kj%g.s
	return ph*p.C*g.plane + (ki/g.s)*g.wph + kj/g.s
}

// phaseInput writes x (C,H,W) into the zero-padded phase buffer xp.
func phaseInput[T Float](p ConvParams, g tapGeom, x, xp []T) {
	if g.s == 1 {
		padInput(p, g, x, xp)
		return
	}
	clear(xp)
	for c := 0; c < p.C; c++ {
		for h := 0; h < p.H; h++ {
			src := x[(c*p.H+h)*p.W : (c*p.H+h+1)*p.W]
			if g.s == 1 {
				copy(xp[c*g.plane+(h+p.Pad)*g.wp+p.Pad:], src)
				continue
			}
			for q := 0; q < g.s; q++ {
				off, w0 := phaseOffset(p, g, c, h, q)
				dst := xp[off:]
				for k := 0; w0+k*g.s < p.W; k++ {
					dst[k] = src[w0+k*g.s]
				}
			}
		}
	}
}

// padInput is phaseInput for stride 1: it copies each row and clears only
// the padding around it, not the whole buffer.
func padInput[T Float](p ConvParams, g tapGeom, x, xp []T) {
	for c := 0; c < p.C; c++ {
		pl := xp[c*g.plane : (c+1)*g.plane]
		clear(pl[:p.Pad*g.wp])
		clear(pl[(p.Pad+p.H)*g.wp:])
		for h := 0; h < p.H; h++ {
			row := pl[(h+p.Pad)*g.wp : (h+p.Pad+1)*g.wp]
			clear(row[:p.Pad])
			copy(row[p.Pad:], x[(c*p.H+h)*p.W:(c*p.H+h+1)*p.W])
			clear(row[p.Pad+p.W:])
		}
	}
	clear(xp[p.C*g.plane:])
}

// phaseOffset returns, for input row h of channel c and column phase q,
// where in the phase buffer the first input pixel of that phase goes, and
// that pixel's column w0; the phase's later pixels, w0+S, w0+2S..., follow
// contiguously.
func phaseOffset(p ConvParams, g tapGeom, c, h, q int) (off, w0 int) {
	i := h + p.Pad
	// The first padded column j >= Pad with j mod S == q.
	j := p.Pad + ((q-p.Pad)%g.s+g.s)%g.s
	ph := (i%g.s)*g.s + q
	return (ph*p.C+c)*g.plane + (i/g.s)*g.wph + j/g.s, j - p.Pad
}

// unphaseGrad is phaseInput's adjoint restricted to the real pixels: dx
// (C,H,W) from the phase-layout gradient dxp, dropping the padding.
func unphaseGrad[T Float](p ConvParams, g tapGeom, dxp, dx []T) {
	for c := 0; c < p.C; c++ {
		for h := 0; h < p.H; h++ {
			dst := dx[(c*p.H+h)*p.W : (c*p.H+h+1)*p.W]
			if g.s == 1 {
				copy(dst, dxp[c*g.plane+(h+p.Pad)*g.wp+p.Pad:])
				continue
			}
			for q := 0; q < g.s; q++ {
				off, w0 := phaseOffset(p, g, c, h, q)
				src := dxp[off:]
				for k := 0; w0+k*g.s < p.W; k++ {
					dst[w0+k*g.s] = src[k]
				}
			}
		}
	}
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

// tapForward computes y (N,O,OH,OW). Each tap's product is formed
// position-major, as (OH*Wph x O) = the shifted input view transposed
// times the tap's weights transposed, which OpenBLAS runs faster than the
// (O x OH*Wph) orientation for these short, wide matrices; the compaction
// to NCHW transposes it back.
func tapForward[T Float](p ConvParams, x, w, b, y []T) {
	if directForward(p, x, w, b, y) {
		return
	}
	g := newTapGeom(p)
	wt := getScratch[T](g.taps * p.O * p.C)
	defer putScratch(wt)
	packTaps(p, w, wt)
	chw, ohw := p.C*p.H*p.W, p.OH*p.OW
	parallelDynamic(p.N, 1, func(lo, hi int) {
		xp := getScratch[T](g.size)
		yw := getScratch[T](p.O * g.n)
		defer putScratch(xp)
		defer putScratch(yw)
		for n := lo; n < hi; n++ {
			phaseInput(p, g, x[n*chw:(n+1)*chw], xp)
			for t := 0; t < g.taps; t++ {
				beta := T(1)
				if t == 0 {
					beta = 0
				}
				gemm(true, true, g.n, p.O, p.C, 1, xp[g.off(p, t):], g.plane, wt[t*p.O*p.C:], p.C, beta, yw, p.O)
			}
			compactTransposed(p, g, yw, b, y[n*p.O*ohw:(n+1)*p.O*ohw])
		}
	})
}

// compactTransposed writes the position-major wide output yw (OH*Wph, O)
// to yn (O, OH, OW), dropping the garbage columns and adding b (O) when it
// is not nil.
func compactTransposed[T Float](p ConvParams, g tapGeom, yw, b, yn []T) {
	for o := 0; o < p.O; o++ {
		var bias T
		if b != nil {
			bias = b[o]
		}
		for oh := 0; oh < p.OH; oh++ {
			dst := yn[(o*p.OH+oh)*p.OW : (o*p.OH+oh+1)*p.OW]
			src := yw[oh*g.wph*p.O+o:]
			for ow := range dst {
				dst[ow] = src[ow*p.O] + bias
			}
		}
	}
}

// widenGrad writes dy (O,OH,OW) into the wide layout dyw (O, OH*Wph) with
// zeros in the garbage columns.
func widenGrad[T Float](p ConvParams, g tapGeom, dy, dyw []T) {
	for r := 0; r < p.O*p.OH; r++ {
		row := dyw[r*g.wph : (r+1)*g.wph]
		copy(row, dy[r*p.OW:(r+1)*p.OW])
		clear(row[p.OW:])
	}
}

// tapGradX computes dx (N,C,H,W): per tap, the transposed weights times
// the wide gradient are added into the phase-layout input gradient at the
// tap's view, which is then unphased and cropped. Within one GEMM the rows
// of a view never overlap, and the garbage columns carry zeros.
func tapGradX[T Float](p ConvParams, w, dy, dx []T) {
	if directGradX(p, w, dy, dx) {
		return
	}
	g := newTapGeom(p)
	wt := getScratch[T](g.taps * p.O * p.C)
	defer putScratch(wt)
	packTaps(p, w, wt)
	chw, ohw := p.C*p.H*p.W, p.OH*p.OW
	parallelDynamic(p.N, 1, func(lo, hi int) {
		dxp := getScratch[T](g.size)
		dyw := getScratch[T](p.O * g.n)
		defer putScratch(dxp)
		defer putScratch(dyw)
		for n := lo; n < hi; n++ {
			widenGrad(p, g, dy[n*p.O*ohw:(n+1)*p.O*ohw], dyw)
			clear(dxp)
			for t := 0; t < g.taps; t++ {
				gemm(true, false, p.C, g.n, p.O, 1, wt[t*p.O*p.C:], p.C, dyw, g.n, 1, dxp[g.off(p, t):], g.plane)
			}
			unphaseGrad(p, g, dxp, dx[n*chw:(n+1)*chw])
		}
	})
}

// tapGradW computes dw (O,C,KH,KW) = sum over samples and taps of the wide
// gradient times the shifted input view. Each tap's product is formed
// transposed, as (C x O) = input view times the wide gradient transposed,
// which OpenBLAS runs markedly faster than the (O x C) orientation when
// C >= O, as in a U-Net's decoder. The (taps, C, O) sums over samples go
// through slotSum, so the result is the same on every run.
func tapGradW[T Float](p ConvParams, x, dy, dw []T) {
	if directGradW(p, x, dy, dw) {
		return
	}
	g := newTapGeom(p)
	chw, ohw := p.C*p.H*p.W, p.OH*p.OW
	total := getScratch[T](g.taps * p.O * p.C)
	defer putScratch(total)
	slotSum(p.N, total, func(lo, hi int, acc []T) {
		xp := getScratch[T](g.size)
		dyw := getScratch[T](p.O * g.n)
		defer putScratch(xp)
		defer putScratch(dyw)
		for n := lo; n < hi; n++ {
			phaseInput(p, g, x[n*chw:(n+1)*chw], xp)
			widenGrad(p, g, dy[n*p.O*ohw:(n+1)*p.O*ohw], dyw)
			for t := 0; t < g.taps; t++ {
				gemm(false, true, p.C, p.O, g.n, 1, xp[g.off(p, t):], g.plane, dyw, g.n, 1, acc[t*p.C*p.O:], p.O)
			}
		}
	})
	for o := 0; o < p.O; o++ {
		for c := 0; c < p.C; c++ {
			dst := dw[(o*p.C+c)*g.taps : (o*p.C+c+1)*g.taps]
			for t := range dst {
				dst[t] = total[(t*p.C+c)*p.O+o]
			}
		}
	}
}
