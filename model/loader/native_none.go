//go:build !openblas

package loader

// haveNative reports that no C kernels are compiled in: without the
// openblas tag the package is pure Go.
const haveNative = false

func warpBytesNative([]float32, []byte, int, *scratch, int, int) {}

func noiseNative([]float32, int, []float32, *scratch) {}
