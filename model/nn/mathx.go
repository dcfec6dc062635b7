package nn

import "math"

// expT returns e^x: a fast polynomial approximation for float32 (relative
// error below 2e-7 over the float32 range) and math.Exp for float64.
func expT[T Float](x T) T {
	switch v := any(x).(type) {
	case float32:
		return T(exp32(v))
	default:
		return T(math.Exp(float64(x)))
	}
}

// sigmoid returns 1/(1+e^-x) without overflow for large |x|.
func sigmoid[T Float](x T) T {
	if x >= 0 {
		return 1 / (1 + expT(-x))
	}
	e := expT(x)
	return e / (1 + e)
}

// exp32 computes e^x in float32 by range reduction x = n*ln2 + r with
// |r| <= ln2/2, a degree-6 polynomial for e^r, and scaling by 2^n through
// the exponent bits.
func exp32(x float32) float32 {
	const (
		hi    = 88.02
		lo    = -87.3365447504019
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	if x > hi {
		return float32(math.Inf(1))
	}
	if x < lo {
		return 0
	}
	fx := x*log2e + 0.5
	n := float32(int32(fx))
	if n > fx {
		n--
	}
	r := x - n*c1 - n*c2
	r2 := r * r
	y := float32(1.9875691500e-4)
	y = y*r + 1.3981999507e-3
	y = y*r + 8.3334519073e-3
	y = y*r + 4.1665795894e-2
	y = y*r + 1.6666665459e-1
	y = y*r + 5.0000001201e-1
	y = y*r2 + r + 1
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}
