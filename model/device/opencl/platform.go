package opencl

import (
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// OpenCL info parameters and device types used here (cl.h).
const (
	clPlatformVersion = 0x0901
	clPlatformName    = 0x0902
	clPlatformVendor  = 0x0903

	clDeviceType             = 0x1000
	clDeviceMaxComputeUnits  = 0x1002
	clDeviceMaxWorkGroupSize = 0x1004
	clDeviceMaxClock         = 0x100C
	clDeviceMaxMemAlloc      = 0x1010
	clDeviceGlobalMemSize    = 0x101F
	clDeviceLocalMemSize     = 0x1023
	clDeviceMemBaseAddrAlign = 0x1019
	clDeviceName             = 0x102B
	clDeviceVendor           = 0x102C
	clDriverVersion          = 0x102D
	clDeviceVersion          = 0x102F

	clDeviceTypeCPU = 1 << 1
	clDeviceTypeGPU = 1 << 2
	clDeviceTypeAcc = 1 << 3
	clDeviceTypeAll = 0xFFFFFFFF
)

// Device describes one OpenCL device. Index numbers the devices of all
// platforms in enumeration order: it is the N of "opencl:N".
type Device struct {
	Index            int
	Platform         string // platform name, e.g. "Portable Computing Language"
	Name             string
	Vendor           string
	Version          string // OpenCL version the device supports
	DriverVersion    string
	Type             string // "gpu", "cpu", "accelerator" or "other"
	ComputeUnits     uint32
	ClockMHz         uint32
	GlobalMemBytes   uint64
	MaxAllocBytes    uint64
	LocalMemBytes    uint64
	MaxWorkGroupSize uint64
	// MemBaseAddrAlign is the alignment of a sub-buffer's origin, in bits.
	MemBaseAddrAlign uint32

	id uintptr
}

// String is a one-line summary of the device.
func (d Device) String() string {
	return fmt.Sprintf("opencl:%d %s %q (%s): %d compute units, %.1f GiB global memory, %d KiB local memory, max work-group %d",
		d.Index, d.Type, d.Name, d.Platform, d.ComputeUnits, float64(d.GlobalMemBytes)/(1<<30), d.LocalMemBytes>>10, d.MaxWorkGroupSize)
}

// Devices lists every OpenCL device of every platform. With a loader but no
// platform (no ICD installed) it returns an empty list and no error; without
// a loader, an error wrapping ErrUnavailable.
func Devices() ([]Device, error) {
	a, err := lib()
	if err != nil {
		return nil, err
	}
	var n uint32
	st := a.getPlatformIDs(0, nil, unsafe.Pointer(&n))
	if Code(st) == ErrPlatformNotFoundKHR || (st == 0 && n == 0) {
		return nil, nil
	}
	if err := check("clGetPlatformIDs", st); err != nil {
		return nil, err
	}
	plats := make([]uintptr, n)
	if err := check("clGetPlatformIDs", a.getPlatformIDs(n, unsafe.Pointer(&plats[0]), nil)); err != nil {
		return nil, err
	}
	var out []Device
	for _, p := range plats {
		pname, err := infoString(func(size uintptr, v, ret unsafe.Pointer) int32 {
			return a.getPlatformInfo(p, clPlatformName, size, v, ret)
		})
		if err != nil {
			return nil, fmt.Errorf("opencl: platform name: %w", err)
		}
		var nd uint32
		st := a.getDeviceIDs(p, clDeviceTypeAll, 0, nil, unsafe.Pointer(&nd))
		if Code(st) == ErrDeviceNotFound || nd == 0 {
			continue
		}
		if err := check("clGetDeviceIDs", st); err != nil {
			return nil, fmt.Errorf("platform %q: %w", pname, err)
		}
		ids := make([]uintptr, nd)
		if err := check("clGetDeviceIDs", a.getDeviceIDs(p, clDeviceTypeAll, nd, unsafe.Pointer(&ids[0]), nil)); err != nil {
			return nil, fmt.Errorf("platform %q: %w", pname, err)
		}
		for _, id := range ids {
			d, err := describe(a, id)
			if err != nil {
				return nil, fmt.Errorf("platform %q: %w", pname, err)
			}
			d.Index, d.Platform = len(out), pname
			out = append(out, d)
		}
	}
	return out, nil
}

// describe reads a device's info.
func describe(a *api, id uintptr) (Device, error) {
	d := Device{id: id}
	str := func(param uint32) (string, error) {
		return infoString(func(size uintptr, v, ret unsafe.Pointer) int32 {
			return a.getDeviceInfo(id, param, size, v, ret)
		})
	}
	num := func(param uint32, dst unsafe.Pointer, size uintptr) error {
		return check("clGetDeviceInfo", a.getDeviceInfo(id, param, size, dst, nil))
	}
	var typ uint64
	var wg uintptr
	errs := []error{
		num(clDeviceType, unsafe.Pointer(&typ), 8),
		num(clDeviceMaxComputeUnits, unsafe.Pointer(&d.ComputeUnits), 4),
		num(clDeviceMaxClock, unsafe.Pointer(&d.ClockMHz), 4),
		num(clDeviceGlobalMemSize, unsafe.Pointer(&d.GlobalMemBytes), 8),
		num(clDeviceMaxMemAlloc, unsafe.Pointer(&d.MaxAllocBytes), 8),
		num(clDeviceLocalMemSize, unsafe.Pointer(&d.LocalMemBytes), 8),
		num(clDeviceMaxWorkGroupSize, unsafe.Pointer(&wg), unsafe.Sizeof(wg)),
		num(clDeviceMemBaseAddrAlign, unsafe.Pointer(&d.MemBaseAddrAlign), 4),
	}
	var err error
	for _, s := range []struct {
		dst   *string
		param uint32
	}{{&d.Name, clDeviceName}, {&d.Vendor, clDeviceVendor}, {&d.Version, clDeviceVersion}, {&d.DriverVersion, clDriverVersion}} {
		*s.dst, err = str(s.param)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return d, fmt.Errorf("device info: %w", err)
	}
	d.MaxWorkGroupSize = uint64(wg)
	switch {
	case typ&clDeviceTypeGPU != 0:
		d.Type = "gpu"
	case typ&clDeviceTypeCPU != 0:
		d.Type = "cpu"
	case typ&clDeviceTypeAcc != 0:
		d.Type = "accelerator"
	default:
		d.Type = "other"
	}
	return d, nil
}

// infoString runs a clGet*Info query for a string in its two calls (size,
// then value) and trims the trailing NUL and spaces.
func infoString(get func(size uintptr, v, ret unsafe.Pointer) int32) (string, error) {
	var size uintptr
	if err := check("clGet*Info", get(0, nil, unsafe.Pointer(&size))); err != nil {
		return "", err
	}
	if size == 0 {
		return "", nil
	}
	buf := make([]byte, size)
	if err := check("clGet*Info", get(size, unsafe.Pointer(&buf[0]), nil)); err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.TrimRight(string(buf), "\x00")), nil
}
