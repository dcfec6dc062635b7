// Package opencl is synthfed's OpenCL device backend: the host API (through
// the ICD loader libOpenCL.so.1, loaded at run time with purego, so the
// package needs no OpenCL headers or SDK at build time) and the first
// device kernels, written in OpenCL C and compiled by the driver at run
// time.
//
// The same kernels run on an NVIDIA GPU (its OpenCL driver) and, in CI, on
// the CPU through pocl, so every kernel is tested against a Go reference on
// a machine without a GPU. When no OpenCL library or device is present,
// Devices returns ErrUnavailable or an empty list and the tests skip with
// the reason.
//
// The loader needs cgo (purego's dlopen without cgo would make the
// CGO_ENABLED=0 container build dynamically linked), so a build without cgo
// compiles a stub whose every entry point returns ErrUnavailable.
//
// POCL_WORK_GROUP_METHOD is left as the environment sets it. The usual
// advice for pocl's trouble with barriers inside loops is "cbs", but
// Debian 12's pocl 3.1 has no such method: it prints "Unknown work group
// generation method. Using 'auto'" on every kernel build and changes
// nothing. The kernels keep every barrier in uniform control flow (the
// tiled GEMM's loop has the same trip count in every work-item), which
// pocl's default method handles; the GEMM tests exercise it. Where a newer
// pocl needs it, set the variable before the first call.
package opencl
