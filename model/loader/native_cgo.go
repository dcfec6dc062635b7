//go:build openblas

package loader

/*
#cgo CFLAGS: -O3
#include "warp.h"
*/
import "C"

import "unsafe"

// haveNative reports that the C kernels of warp.c are compiled in (with
// the openblas tag, which implies cgo, as model/nn's).
const haveNative = true

// warpBytesNative warps every row's interior run in C and its edges in Go.
func warpBytesNative(dst []float32, src []byte, size int, sc *scratch, ax, ay int) {
	for y := range size {
		x0, x1 := interior(size, size, sc.sx[y], sc.sy[y], ax, ay)
		sc.rows[4*y], sc.rows[4*y+1] = int32(sc.sx[y]+x0*ax), int32(sc.sy[y]+x0*ay)
		sc.rows[4*y+2], sc.rows[4*y+3] = int32(x0), int32(x1-x0)
	}
	C.ld_warp_u8((*C.float)(unsafe.Pointer(&dst[0])), (*C.uint8_t)(unsafe.Pointer(&src[0])), C.long(size),
		(*C.int32_t)(unsafe.Pointer(&sc.rows[0])), C.int32_t(ax), C.int32_t(ay))
	for y := range size {
		row := dst[y*size : (y+1)*size]
		x0, n := int(sc.rows[4*y+2]), int(sc.rows[4*y+3])
		for x := range x0 {
			row[x] = edgeBytes(src, size, sc.sx[y]+x*ax, sc.sy[y]+x*ay)
		}
		for x := x0 + n; x < size; x++ {
			row[x] = edgeBytes(src, size, sc.sx[y]+x*ax, sc.sy[y]+x*ay)
		}
	}
}

// noiseNative adds the table noise of sc's segments in C.
func noiseNative(img []float32, size int, t []float32, sc *scratch) {
	C.ld_noise((*C.float)(unsafe.Pointer(&img[0])), C.long(size), C.long(noiseSeg), (*C.float)(unsafe.Pointer(&t[0])),
		(*C.int32_t)(unsafe.Pointer(&sc.start[0])), (*C.float)(unsafe.Pointer(&sc.scale[0])))
}
