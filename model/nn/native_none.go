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

// directForward reports false: without the C kernels every convolution
// takes the GEMM path.
func directForward[T Float](ConvParams, []T, []T, []T, []T) bool { return false }

// directGradX reports false, as directForward.
func directGradX[T Float](ConvParams, []T, []T, []T) bool { return false }

// directGradW reports false, as directForward.
func directGradW[T Float](ConvParams, []T, []T, []T) bool { return false }
