package opencl

import (
	"sync"
	"unsafe"
)

// api is the table of OpenCL 1.2 host functions that synthfed calls.
// Handles (cl_platform_id, cl_context, cl_mem, ...) are uintptr; pointer
// arguments are unsafe.Pointer, always to memory that stays alive for the
// call (every transfer is blocking).
type api struct {
	getPlatformIDs        func(n uint32, ids unsafe.Pointer, num unsafe.Pointer) int32
	getPlatformInfo       func(p uintptr, param uint32, size uintptr, value unsafe.Pointer, ret unsafe.Pointer) int32
	getDeviceIDs          func(p uintptr, typ uint64, n uint32, ids unsafe.Pointer, num unsafe.Pointer) int32
	getDeviceInfo         func(d uintptr, param uint32, size uintptr, value unsafe.Pointer, ret unsafe.Pointer) int32
	createContext         func(props unsafe.Pointer, n uint32, devs unsafe.Pointer, notify uintptr, user uintptr, status unsafe.Pointer) uintptr
	createCommandQueue    func(ctx uintptr, dev uintptr, props uint64, status unsafe.Pointer) uintptr
	createBuffer          func(ctx uintptr, flags uint64, size uintptr, host unsafe.Pointer, status unsafe.Pointer) uintptr
	createSubBuffer       func(mem uintptr, flags uint64, typ uint32, info unsafe.Pointer, status unsafe.Pointer) uintptr
	enqueueWriteBuffer    func(q uintptr, mem uintptr, blocking uint32, offset uintptr, size uintptr, ptr unsafe.Pointer, nwait uint32, wait unsafe.Pointer, ev unsafe.Pointer) int32
	enqueueReadBuffer     func(q uintptr, mem uintptr, blocking uint32, offset uintptr, size uintptr, ptr unsafe.Pointer, nwait uint32, wait unsafe.Pointer, ev unsafe.Pointer) int32
	createProgramWithSrc  func(ctx uintptr, count uint32, strs unsafe.Pointer, lens unsafe.Pointer, status unsafe.Pointer) uintptr
	buildProgram          func(p uintptr, n uint32, devs unsafe.Pointer, opts unsafe.Pointer, notify uintptr, user uintptr) int32
	getProgramBuildInfo   func(p uintptr, dev uintptr, param uint32, size uintptr, value unsafe.Pointer, ret unsafe.Pointer) int32
	createKernel          func(p uintptr, name unsafe.Pointer, status unsafe.Pointer) uintptr
	setKernelArg          func(k uintptr, idx uint32, size uintptr, value unsafe.Pointer) int32
	enqueueNDRangeKernel  func(q uintptr, k uintptr, dim uint32, offset unsafe.Pointer, global unsafe.Pointer, local unsafe.Pointer, nwait uint32, wait unsafe.Pointer, ev unsafe.Pointer) int32
	finish                func(q uintptr) int32
	releaseMemObject      func(mem uintptr) int32
	releaseKernel         func(k uintptr) int32
	releaseProgram        func(p uintptr) int32
	releaseCommandQueue   func(q uintptr) int32
	releaseContext        func(ctx uintptr) int32
	getKernelWorkGroupInf func(k uintptr, dev uintptr, param uint32, size uintptr, value unsafe.Pointer, ret unsafe.Pointer) int32
}

// symbols maps each api field to its C name, for the loader.
func (a *api) symbols() []struct {
	fn   any
	name string
} {
	return []struct {
		fn   any
		name string
	}{
		{&a.getPlatformIDs, "clGetPlatformIDs"},
		{&a.getPlatformInfo, "clGetPlatformInfo"},
		{&a.getDeviceIDs, "clGetDeviceIDs"},
		{&a.getDeviceInfo, "clGetDeviceInfo"},
		{&a.createContext, "clCreateContext"},
		{&a.createCommandQueue, "clCreateCommandQueue"},
		{&a.createBuffer, "clCreateBuffer"},
		{&a.createSubBuffer, "clCreateSubBuffer"},
		{&a.enqueueWriteBuffer, "clEnqueueWriteBuffer"},
		{&a.enqueueReadBuffer, "clEnqueueReadBuffer"},
		{&a.createProgramWithSrc, "clCreateProgramWithSource"},
		{&a.buildProgram, "clBuildProgram"},
		{&a.getProgramBuildInfo, "clGetProgramBuildInfo"},
		{&a.createKernel, "clCreateKernel"},
		{&a.setKernelArg, "clSetKernelArg"},
		{&a.enqueueNDRangeKernel, "clEnqueueNDRangeKernel"},
		{&a.finish, "clFinish"},
		{&a.releaseMemObject, "clReleaseMemObject"},
		{&a.releaseKernel, "clReleaseKernel"},
		{&a.releaseProgram, "clReleaseProgram"},
		{&a.releaseCommandQueue, "clReleaseCommandQueue"},
		{&a.releaseContext, "clReleaseContext"},
		{&a.getKernelWorkGroupInf, "clGetKernelWorkGroupInfo"},
	}
}

var (
	libOnce sync.Once
	libAPI  *api
	libErr  error
)

// lib loads the OpenCL library once and returns its function table, or an
// error wrapping ErrUnavailable.
func lib() (*api, error) {
	libOnce.Do(func() { libAPI, libErr = load() })
	return libAPI, libErr
}

// cString returns s as a NUL-terminated byte slice for C.
func cString(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}
