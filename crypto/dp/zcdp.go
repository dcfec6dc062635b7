package dp

import (
	"fmt"
	"math"
)

// GaussianRho is the zCDP cost of the Gaussian mechanism with L2
// sensitivity delta2 and noise standard deviation sigma: delta2^2/(2 sigma^2)
// (Bun and Steinke 2016, Prop. 1.6).
func GaussianRho(sensitivity, sigma float64) float64 {
	return sensitivity * sensitivity / (2 * sigma * sigma)
}

// RoundRho is the zCDP cost to one site of one round with noise multiplier
// z: under secure aggregation with threshold t and c assumed colluders,
// t/(2 z^2 (t-c)) (1/(2 z^2) when c is 0); without it, t/(2 z^2), since the
// site's own share sigma^2/t of the noise is all that protects it.
func RoundRho(z float64, threshold, colluders int, secure bool) (float64, error) {
	if !(z > 0) || threshold < 1 {
		return 0, fmt.Errorf("dp: noise multiplier %v with threshold %d: %w", z, threshold, ErrInvalid)
	}
	t := float64(threshold)
	if !secure {
		return t / (2 * z * z), nil
	}
	if colluders >= threshold {
		return math.Inf(1), nil
	}
	return t / (2 * z * z * (t - float64(colluders))), nil
}

// EpsilonBS converts rho-zCDP to (epsilon, delta)-DP with Bun and Steinke
// 2016, Prop. 1.3: rho + 2 sqrt(rho ln(1/delta)).
func EpsilonBS(rho, delta float64) float64 {
	return rho + 2*math.Sqrt(rho*math.Log(1/delta))
}

// Epsilon converts rho-zCDP to (epsilon, delta)-DP with Canonne, Kamath and
// Steinke 2020 (Prop. 12, Cor. 13):
//
//	eps = inf over a > 1 of a*rho + (a ln(1-1/a) - ln(a-1) + ln(1/delta)) / (a-1)
//
// minimised numerically. It is never larger than EpsilonBS.
func Epsilon(rho, delta float64) float64 {
	switch {
	case rho <= 0:
		return 0
	case math.IsInf(rho, 1):
		return math.Inf(1)
	}
	f := func(x float64) float64 { // x = ln(a-1)
		am1 := math.Exp(x)
		a := 1 + am1
		return a*rho + (a*math.Log1p(-1/a)-x-math.Log(delta))/am1
	}
	eps := minimise(f, -30, 30)
	return math.Min(math.Max(eps, 0), EpsilonBS(rho, delta))
}

// Delta is the inverse view: the smallest delta for which rho-zCDP implies
// (epsilon, delta)-DP under the same conversion:
//
//	delta = inf over a > 1 of exp((a-1)(a*rho-eps)) / (a-1) * (1-1/a)^a
func Delta(rho, epsilon float64) float64 {
	if rho <= 0 {
		return 0
	}
	f := func(x float64) float64 { // log delta, x = ln(a-1)
		am1 := math.Exp(x)
		a := 1 + am1
		return am1*(a*rho-epsilon) - x + a*math.Log1p(-1/a)
	}
	return math.Min(1, math.Exp(minimise(f, -30, 30)))
}

// minimise finds the minimum of a unimodal-enough f on [lo, hi]: a coarse
// log-spaced scan brackets it, golden-section search refines it.
func minimise(f func(float64) float64, lo, hi float64) float64 {
	const scan = 600
	best, bi := math.Inf(1), 0
	step := (hi - lo) / scan
	for i := 0; i <= scan; i++ {
		if v := f(lo + float64(i)*step); v < best {
			best, bi = v, i
		}
	}
	a, b := lo+float64(max(bi-1, 0))*step, lo+float64(min(bi+1, scan))*step
	const g = 0.6180339887498949
	c, d := b-g*(b-a), a+g*(b-a)
	fc, fd := f(c), f(d)
	for i := 0; i < 200 && b-a > 1e-13; i++ {
		if fc < fd {
			b, d, fd = d, c, fc
			c = b - g*(b-a)
			fc = f(c)
		} else {
			a, c, fc = c, d, fd
			d = a + g*(b-a)
			fd = f(d)
		}
	}
	return math.Min(best, math.Min(fc, fd))
}
