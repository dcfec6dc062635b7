//go:build !openblas

package nn

// haveNative reports that no SIMD C kernels are compiled in: without the
// openblas tag the package is pure Go.
const haveNative = false

func groupNormForwardNative32(p NormParams, x, gamma, beta, y []float32, stats []float64) {
	groupNormForward(p, x, gamma, beta, y, stats)
}

func groupNormBackwardNative32(p NormParams, x, gamma, beta, dy, dx, dgamma, dbeta []float32, stats []float64) {
	groupNormBackward(p, x, gamma, beta, dy, dx, dgamma, dbeta, stats)
}

func siluForwardNative32(x, y []float32) { siluForward(x, y) }

func siluBackwardNative32(x, dy, dx []float32) { siluBackward(x, dy, dx) }
