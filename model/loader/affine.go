package loader

import (
	"math"
	"math/rand/v2"
	"sync"
)

// Affine is the streams' augmentation, fast enough to keep a 256-px
// trainer fed from two cores: a horizontal flip, a small random affine
// (rotation, isotropic scale, translation) resampled bilinearly with -1
// (black) fill, and additive Gaussian noise, the same distributions as the
// classifier's in-memory augmentation (classifier.Augment) computed in
// one pass:
//
//   - source coordinates step along each output row in 16.16 fixed point
//     (two adds per pixel), with integer bilinear weights on 8-bit
//     sources, dequantised in the same pass;
//   - the noise is read from a fixed table of 65,536 N(0,1) draws, one
//     random segment and sign per row (at most 256 pixels), instead of one
//     Gaussian draw per pixel;
//   - the random choices come from a SplitMix64 generator seeded by the
//     image's Key.
//
// The zero value does nothing but copy.
type Affine struct {
	// FlipProb is the probability of a horizontal flip.
	FlipProb float64
	// MaxRotateDeg bounds the rotation, drawn uniformly in +-MaxRotateDeg.
	MaxRotateDeg float64
	// MaxScale bounds the zoom, drawn in [1-MaxScale, 1+MaxScale].
	MaxScale float64
	// MaxShift bounds the translation as a fraction of the side.
	MaxShift float64
	// NoiseStd is the standard deviation of the added noise.
	NoiseStd float64
}

// Warp is one draw of an Affine's geometry: dst(u) = src(A^-1 (u - c - d)
// + c) where A rotates by Theta and scales by Scale about the centre c
// and d = (DX, DY); Flip mirrors the source column first.
type Warp struct {
	Flip                 bool
	Theta, Scale, DX, DY float64
}

// splitMix is the SplitMix64 generator (Steele et al. 2014).
type splitMix struct{ s uint64 }

func (r *splitMix) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// float returns a uniform draw in [0, 1).
func (r *splitMix) float() float64 { return float64(r.next()>>11) * 0x1p-53 }

// Draw returns key's geometry and the generator, positioned after it,
// that the noise draws from. It draws in the classifier's order: flip,
// rotation, scale, shift x, shift y.
func (a Affine) Draw(key Key, size int) (Warp, *splitMix) {
	r := &splitMix{s: key.Hi}
	r.s = r.next() ^ key.Lo
	w := Warp{Flip: r.float() < a.FlipProb}
	w.Theta = (2*r.float() - 1) * a.MaxRotateDeg * math.Pi / 180
	w.Scale = 1 + (2*r.float()-1)*a.MaxScale
	w.DX = (2*r.float() - 1) * a.MaxShift * float64(size)
	w.DY = (2*r.float() - 1) * a.MaxShift * float64(size)
	return w, r
}

// AugmentFloat writes an augmented copy of src (values in [-1, 1]) into dst.
func (a Affine) AugmentFloat(dst, src []float32, size int, key Key) {
	w, r := a.Draw(key, size)
	WarpFloat(dst, src, size, w)
	a.noise(dst, size, r)
}

// AugmentBytes writes an augmented copy of the 8-bit pixels src (0 is -1,
// 255 is 1) into dst, dequantising in the same pass.
func (a Affine) AugmentBytes(dst []float32, src []byte, size int, key Key) {
	w, r := a.Draw(key, size)
	WarpBytes(dst, src, size, w)
	a.noise(dst, size, r)
}

// WarpFloat writes src warped by w into dst, without noise.
func WarpFloat(dst, src []float32, size int, w Warp) {
	sc := getScratch(size)
	defer scratchPool.Put(sc)
	ax, ay := w.rows(size, sc)
	for y := range size {
		warpRowFloat(dst[y*size:(y+1)*size], src, size, sc.sx[y], sc.sy[y], ax, ay)
	}
}

// WarpBytes writes the 8-bit src warped by w into dst, without noise: with
// the C kernels (openblas tag) on every row's interior, else in Go.
func WarpBytes(dst []float32, src []byte, size int, w Warp) {
	sc := getScratch(size)
	defer scratchPool.Put(sc)
	ax, ay := w.rows(size, sc)
	if haveNative && size <= maxNativeSize {
		warpBytesNative(dst, src, size, sc, ax, ay)
		return
	}
	for y := range size {
		warpRowBytes(dst[y*size:(y+1)*size], src, size, sc.sx[y], sc.sy[y], ax, ay)
	}
}

// maxNativeSize keeps the C kernels' 32-bit fixed-point positions and
// indices in range.
const maxNativeSize = 8192

// scratch holds one image's per-row plans.
type scratch struct {
	sx, sy []int
	rows   []int32
	start  []int32
	scale  []float32
}

var scratchPool sync.Pool

// getScratch returns a scratch for images of side size.
func getScratch(size int) *scratch {
	sc, _ := scratchPool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	segs := size * ((size + noiseSeg - 1) / noiseSeg)
	if cap(sc.sx) < size || cap(sc.start) < segs {
		sc.sx, sc.sy, sc.rows = make([]int, size), make([]int, size), make([]int32, 4*size)
		sc.start, sc.scale = make([]int32, segs), make([]float32, segs)
	}
	sc.sx, sc.sy, sc.rows = sc.sx[:size], sc.sy[:size], sc.rows[:4*size]
	sc.start, sc.scale = sc.start[:segs], sc.scale[:segs]
	return sc
}

// fixOne is 1.0 in the 16.16 fixed point of source coordinates.
const fixOne = 1 << 16

func toFix(v float64) int { return int(math.Round(v * fixOne)) }

// rows writes into sc the fixed-point source position of every output
// row's first pixel and returns the step along a row.
func (w Warp) rows(size int, sc *scratch) (ax, ay int) {
	c := float64(size-1) / 2
	cos, sin := math.Cos(w.Theta)/w.Scale, math.Sin(w.Theta)/w.Scale
	rax := cos
	if w.Flip {
		rax = -cos
	}
	ux := -c - w.DX
	for y := range size {
		uy := float64(y) - c - w.DY
		sx := cos*ux + sin*uy + c
		sy := -sin*ux + cos*uy + c
		if w.Flip {
			sx = float64(size-1) - sx
		}
		sc.sx[y], sc.sy[y] = toFix(sx), toFix(sy)
	}
	return toFix(rax), toFix(-sin)
}

// warpRowBytes samples one output row from 8-bit pixels: integer bilinear
// weights of 8 bits inside, outside pixels 0 (that is, -1).
func warpRowBytes(out []float32, src []byte, size, sx, sy, ax, ay int) {
	x0, x1 := interior(len(out), size, sx, sy, ax, ay)
	for x := range x0 {
		out[x] = edgeBytes(src, size, sx+x*ax, sy+x*ay)
	}
	innerBytes(out[x0:x1], src, size, sx+x0*ax, sy+x0*ay, ax, ay)
	for x := x1; x < len(out); x++ {
		out[x] = edgeBytes(src, size, sx+x*ax, sy+x*ay)
	}
}

// innerBytes samples positions whose four neighbours are all inside, a
// run of pixels with the same source row pair at a time.
func innerBytes(out []float32, src []byte, size, sx, sy, ax, ay int) {
	for x := 0; x < len(out); {
		iy := sy >> 16
		n := sameRow(sy, ay, len(out)-x)
		runBytes(out[x:x+n], src[iy*size:iy*size+size], src[iy*size+size:iy*size+2*size], sx, sy, ax, ay)
		x += n
		sx += n * ax
		sy += n * ay
	}
}

// runBytes samples a run of positions between rows r0 and r1 (the same
// length) with 8-bit weights.
func runBytes(out []float32, r0, r1 []byte, sx, sy, ax, ay int) {
	const k = 1 / (127.5 * 65536)
	r1 = r1[:len(r0)]
	for x := range out {
		ix := sx >> 16
		fx, fy := int32(sx>>8)&0xff, int32(sy>>8)&0xff
		p0, p1, p2, p3 := int32(r0[ix]), int32(r0[ix+1]), int32(r1[ix]), int32(r1[ix+1])
		top := p0<<8 + (p1-p0)*fx
		bot := p2<<8 + (p3-p2)*fx
		out[x] = float32(top<<8+(bot-top)*fy)*k - 1
		sx += ax
		sy += ay
	}
}

// sameRow returns how many of the next n positions, from s stepping by a,
// have the same integer part as s (at least 1).
func sameRow(s, a, n int) int {
	frac := s & (fixOne - 1)
	var k int
	switch {
	case a > 0:
		k = (fixOne - frac + a - 1) / a
	case a < 0:
		k = frac/(-a) + 1
	default:
		k = n
	}
	return min(max(k, 1), n)
}

// warpRowFloat samples one output row from float pixels, outside pixels -1.
func warpRowFloat(out, src []float32, size, sx, sy, ax, ay int) {
	x0, x1 := interior(len(out), size, sx, sy, ax, ay)
	for x := range x0 {
		out[x] = edgeFloat(src, size, sx+x*ax, sy+x*ay)
	}
	innerFloat(out[x0:x1], src, size, sx+x0*ax, sy+x0*ay, ax, ay)
	for x := x1; x < len(out); x++ {
		out[x] = edgeFloat(src, size, sx+x*ax, sy+x*ay)
	}
}

// innerFloat samples positions whose four neighbours are all inside.
func innerFloat(out, src []float32, size, sx, sy, ax, ay int) {
	const k = 1.0 / fixOne
	for x := range out {
		i := (sy>>16)*size + sx>>16
		p := src[i : i+size+2]
		fx, fy := float32(sx&(fixOne-1))*k, float32(sy&(fixOne-1))*k
		top := p[0] + (p[1]-p[0])*fx
		bot := p[size] + (p[size+1]-p[size])*fx
		out[x] = top + (bot-top)*fy
		sx += ax
		sy += ay
	}
}

// interior returns the run [x0, x1) of a row's n pixels whose source
// position (sx + x*ax, sy + x*ay) has all four bilinear neighbours inside
// the image: 0 <= s>>16 < size-1 on both axes.
func interior(n, size, sx, sy, ax, ay int) (x0, x1 int) {
	hi := (size - 1) << 16
	a0, a1 := span(n, sx, ax, hi)
	b0, b1 := span(n, sy, ay, hi)
	x0, x1 = max(a0, b0), min(a1, b1)
	if x1 < x0 {
		return 0, 0
	}
	return x0, x1
}

// span returns the x in [0, n) with 0 <= s + x*a < hi, a run [lo, hi).
func span(n, s, a, hi int) (int, int) {
	switch {
	case a == 0:
		if s >= 0 && s < hi {
			return 0, n
		}
		return 0, 0
	case a > 0: // x >= ceil(-s/a), x <= floor((hi-1-s)/a)
		return clampRun(-floorDiv(s, a), floorDiv(hi-1-s, a)+1, n)
	default: // x <= floor(s/-a), x >= floor((s-hi)/-a)+1
		return clampRun(floorDiv(s-hi, -a)+1, floorDiv(s, -a)+1, n)
	}
}

// clampRun clips [lo, hi) to [0, n).
func clampRun(lo, hi, n int) (int, int) {
	lo, hi = max(lo, 0), min(hi, n)
	if hi < lo {
		return 0, 0
	}
	return lo, hi
}

// floorDiv returns floor(a/b) for b > 0.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// edgeBytes samples 8-bit pixels bilinearly at a source position on or
// outside the border, where the neighbours outside read -1.
func edgeBytes(src []byte, size, sx, sy int) float32 {
	ix, iy := sx>>16, sy>>16
	v := func(x, y int) float32 {
		if x < 0 || y < 0 || x >= size || y >= size {
			return -1
		}
		return float32(src[y*size+x])/127.5 - 1
	}
	return lerp2(v(ix, iy), v(ix+1, iy), v(ix, iy+1), v(ix+1, iy+1), sx, sy)
}

// edgeFloat is edgeBytes for float pixels.
func edgeFloat(src []float32, size, sx, sy int) float32 {
	ix, iy := sx>>16, sy>>16
	v := func(x, y int) float32 {
		if x < 0 || y < 0 || x >= size || y >= size {
			return -1
		}
		return src[y*size+x]
	}
	return lerp2(v(ix, iy), v(ix+1, iy), v(ix, iy+1), v(ix+1, iy+1), sx, sy)
}

// lerp2 interpolates four neighbours at the fractions of (sx, sy), as
// innerFloat does.
func lerp2(p0, p1, p2, p3 float32, sx, sy int) float32 {
	const k = 1.0 / fixOne
	fx, fy := float32(sx&(fixOne-1))*k, float32(sy&(fixOne-1))*k
	top := p0 + (p1-p0)*fx
	bot := p2 + (p3-p2)*fx
	return top + (bot-top)*fy
}

// noiseLen is the noise table's length; noiseSeg is the longest run of
// pixels that read consecutive table entries.
const (
	noiseLen = 1 << 16
	noiseSeg = 256
)

// noiseTable holds noiseLen fixed N(0,1) draws.
var noiseTable = sync.OnceValue(func() []float32 {
	r := rand.New(rand.NewPCG(0x6e6f697365, 0x7461626c65))
	t := make([]float32, noiseLen)
	for i := range t {
		t[i] = float32(r.NormFloat64())
	}
	return t
})

// noise adds NoiseStd times table noise to img: each run of noiseSeg
// pixels of a row reads a random segment of the table with a random sign.
func (a Affine) noise(img []float32, size int, r *splitMix) {
	if a.NoiseStd <= 0 {
		return
	}
	sc := getScratch(size)
	defer scratchPool.Put(sc)
	std := float32(a.NoiseStd)
	for j := range sc.start {
		u := r.next()
		sc.scale[j] = std
		if u&1 != 0 {
			sc.scale[j] = -std
		}
		sc.start[j] = int32((u >> 1) % (noiseLen - noiseSeg))
	}
	t := noiseTable()
	if haveNative {
		noiseNative(img, size, t, sc)
		return
	}
	j := 0
	for y := range size {
		row := img[y*size : (y+1)*size]
		for len(row) > 0 {
			n := min(len(row), noiseSeg)
			s, seg := sc.scale[j], t[sc.start[j]:int(sc.start[j])+n]
			for i := range seg {
				row[i] += s * seg[i]
			}
			row = row[n:]
			j++
		}
	}
}

// Affine is a ByteAugmenter.
var _ ByteAugmenter = Affine{}
