//go:build openblas

package nn

/*
#cgo CFLAGS: -O3 -Wno-psabi
#cgo LDFLAGS: -lm
#include "native.h"
*/
import "C"

import "unsafe"

// haveNative reports that the SIMD float32 kernels of native.c are
// compiled in (with the openblas tag, which implies cgo).
const haveNative = true

func init() { C.nn_native_init() }

func fp(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

// groupNormForwardNative32 is groupNormForward for float32 in SIMD C,
// samples split across workers.
func groupNormForwardNative32(p NormParams, x, gamma, beta, y []float32, stats []float64) {
	parallelDynamic(p.N, 1, func(lo, hi int) {
		C.nn_groupnorm_fwd_f32(fp(x), fp(gamma), fp(beta), fp(y), C.long(lo), C.long(hi),
			C.long(p.C), C.long(p.HW), C.long(p.Groups), C.double(p.Eps), C.int(boolInt(p.SiLU)), dp(stats))
	})
}

func dp(s []float64) *C.double {
	if len(s) == 0 {
		return nil
	}
	return (*C.double)(unsafe.Pointer(&s[0]))
}

// groupNormBackwardNative32 is groupNormBackward for float32 in SIMD C.
func groupNormBackwardNative32(p NormParams, x, gamma, beta, dy, dx, dgamma, dbeta []float32, stats []float64) {
	acc := make([]float64, p.N*2*p.C)
	parallelDynamic(p.N, 1, func(lo, hi int) {
		C.nn_groupnorm_bwd_f32(fp(x), fp(gamma), fp(beta), fp(dy), fp(dx), (*C.double)(unsafe.Pointer(&acc[lo*2*p.C])),
			C.long(lo), C.long(hi), C.long(p.C), C.long(p.HW), C.long(p.Groups), C.double(p.Eps), C.int(boolInt(p.SiLU)),
			dp(stats))
	})
	reduceNormSamples(p, acc, dgamma, dbeta)
}

// siluForwardNative32 is siluForward for float32 in SIMD C.
func siluForwardNative32(x, y []float32) {
	parallelDynamic(len(x), elemChunk, func(lo, hi int) {
		C.nn_silu_fwd_f32(fp(x[lo:hi]), fp(y[lo:hi]), C.long(hi-lo))
	})
}

// siluBackwardNative32 is siluBackward for float32 in SIMD C.
func siluBackwardNative32(x, dy, dx []float32) {
	parallelDynamic(len(x), elemChunk, func(lo, hi int) {
		C.nn_silu_bwd_f32(fp(x[lo:hi]), fp(dy[lo:hi]), fp(dx[lo:hi]), C.long(hi-lo))
	})
}
