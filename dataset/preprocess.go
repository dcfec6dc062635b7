package dataset

import (
	"math"
)

// Preprocess applies the study's pipeline (MONAI ResizeD with
// size_mode="longest", mode="bilinear", align_corners=False;
// ScaleIntensityRangePercentilesD 0-100 to [-1, 1]; SpatialPadD with -1) and
// returns size*size values in row-major order:
//
//  1. the longest side is resized to size and the other to
//     round-half-even(side*size/longest), at least 1, by bilinear
//     interpolation with half-pixel centres and no antialiasing (as
//     torch.nn.functional.interpolate);
//  2. values are min-max scaled to [-1, 1]; a constant image becomes all -1
//     (MONAI's behaviour) and constant is true;
//  3. the image is centred on a size x size canvas of -1, with the odd
//     pixel of padding after it.
func Preprocess(g *Gray, size int) (out []float32, constant bool) {
	out = make([]float32, size*size)
	constant = PreprocessInto(out, g, size)
	return out, constant
}

// PreprocessInto is Preprocess writing into dst, which must hold size*size
// values.
func PreprocessInto(dst []float32, g *Gray, size int) (constant bool) {
	oh, ow := fitLongest(g.Height, g.Width, size)
	resized := g.Pix[:g.Width*g.Height]
	if oh != g.Height || ow != g.Width {
		resized = ResizeBilinear(g.Pix, g.Width, g.Height, ow, oh)
	}
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range resized {
		lo, hi = min(lo, v), max(hi, v)
	}
	for i := range dst[:size*size] {
		dst[i] = -1
	}
	r0, c0 := (size-oh)/2, (size-ow)/2
	constant = !(hi > lo)
	scale := float32(0)
	if !constant {
		scale = 2 / (hi - lo)
	}
	for y := 0; y < oh; y++ {
		row := dst[(r0+y)*size+c0 : (r0+y)*size+c0+ow]
		src := resized[y*ow : (y+1)*ow]
		for x, v := range src {
			row[x] = (v-lo)*scale - 1
		}
	}
	return constant
}

// fitLongest returns the resized height and width whose longest side is size.
func fitLongest(h, w, size int) (oh, ow int) {
	longest := max(h, w)
	scale := float64(size) / float64(longest)
	oh = max(1, int(math.RoundToEven(float64(h)*scale)))
	ow = max(1, int(math.RoundToEven(float64(w)*scale)))
	return oh, ow
}

// ResizeBilinear resizes a w x h image to ow x oh by bilinear interpolation
// with align_corners=False semantics: output pixel i samples the source at
// (i+0.5)*in/out-0.5, clamped at the borders; no antialiasing filter.
func ResizeBilinear(src []float32, w, h, ow, oh int) []float32 {
	if w == ow && h == oh {
		return append([]float32(nil), src[:w*h]...)
	}
	xi0, xi1, xl := bilinearTaps(w, ow)
	yi0, yi1, yl := bilinearTaps(h, oh)
	out := make([]float32, ow*oh)
	for y := 0; y < oh; y++ {
		r0 := src[yi0[y]*w : yi0[y]*w+w]
		r1 := src[yi1[y]*w : yi1[y]*w+w]
		ly := yl[y]
		row := out[y*ow : (y+1)*ow]
		for x := range row {
			a, b, lx := xi0[x], xi1[x], xl[x]
			top := r0[a] + (r0[b]-r0[a])*lx
			bot := r1[a] + (r1[b]-r1[a])*lx
			row[x] = top + (bot-top)*ly
		}
	}
	return out
}

// bilinearTaps returns, for each output index, the two source indices and
// the weight of the second, as PyTorch computes them.
func bilinearTaps(in, out int) (i0, i1 []int, l []float32) {
	i0, i1, l = make([]int, out), make([]int, out), make([]float32, out)
	scale := float32(in) / float32(out)
	for i := range i0 {
		s := (float32(i)+0.5)*scale - 0.5
		if s < 0 {
			s = 0
		}
		a := int(s)
		if a > in-1 {
			a = in - 1
		}
		b := a + 1
		if b > in-1 {
			b = in - 1
		}
		i0[i], i1[i], l[i] = a, b, s-float32(a)
	}
	return i0, i1, l
}
