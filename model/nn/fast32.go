package nn

import "math"

// Float32 fast paths for the activation-heavy loops. The Go compiler keeps
// these branch-free, call-free loops in registers, which makes them several
// times faster than the generic kernels that call sigmoid per element.

// sigmoid32 returns 1/(1+e^-z) for float32, branch-free: it evaluates
// e = exp(-|z|) with a degree-5 polynomial after range reduction (relative
// error about 2e-7), and returns 1/(1+e) or e/(1+e) by the sign of z.
func sigmoid32(z float32) float32 {
	bits := math.Float32bits(z)
	a := math.Float32frombits(bits | 0x80000000) // -|z|
	a = max(a, -87)
	fx := a*1.44269504088896341 - 0.5
	n := float32(int32(fx))
	r := a - n*0.693359375 + n*2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	e := (p*r*r + r + 1) * math.Float32frombits(uint32(int32(n)+127)<<23)
	// s = 1/(1+e) for z >= 0 and e/(1+e) for z < 0: multiply by e or 1,
	// selected with the sign mask.
	mask := uint32(int32(bits) >> 31)
	m := math.Float32bits(e)&mask | math.Float32bits(1)&^mask
	return math.Float32frombits(m) / (1 + e)
}

// affineSiLU32 writes ys[i] = silu(xs[i]*a + b).
func affineSiLU32(xs, ys []float32, a, b float32) {
	ys = ys[:len(xs)]
	for i, v := range xs {
		z := v*a + b
		ys[i] = z * sigmoid32(z)
	}
}

// siluGradAffine32 multiplies ds[i] by silu'(z) with z = xs[i]*a + b.
func siluGradAffine32(xs, ds []float32, a, b float32) {
	ds = ds[:len(xs)]
	for i, v := range xs {
		z := v*a + b
		s := sigmoid32(z)
		ds[i] *= s + z*s*(1-s)
	}
}
