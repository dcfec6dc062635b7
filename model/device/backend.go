package device

import (
	"fmt"
	"runtime"

	"github.com/synthfed/synthfed/model/device/opencl"
)

// Backend is the compute a site runs on: the CPU path or one opened OpenCL
// device with synthfed's kernels built on it. A Backend is safe for
// concurrent use; Close it when done.
type Backend struct {
	kind   Kind
	dev    opencl.Device
	ctx    *opencl.Context
	ops    *opencl.Ops
	cap    int64
	reason string
}

// CPU returns the CPU backend with an optional memory cap in bytes (0:
// none).
func CPU(capBytes int64) *Backend { return &Backend{kind: KindCPU, cap: capBytes} }

// Kind returns KindCPU or KindOpenCL.
func (b *Backend) Kind() Kind { return b.kind }

// OnDevice reports whether the backend is an OpenCL device.
func (b *Backend) OnDevice() bool { return b.kind == KindOpenCL }

// Name is "cpu" or the device's "opencl:N" and name, e.g.
// `opencl:0 "NVIDIA H100 80GB HBM3"`.
func (b *Backend) Name() string {
	if !b.OnDevice() {
		return string(KindCPU)
	}
	return fmt.Sprintf("opencl:%d %q", b.dev.Index, b.dev.Name)
}

// Device returns the OpenCL device (the zero Device on the CPU).
func (b *Backend) Device() opencl.Device { return b.dev }

// Ops returns the device's kernels (nil on the CPU).
func (b *Backend) Ops() *opencl.Ops { return b.ops }

// MemoryBytes returns the device's global memory (0 on the CPU).
func (b *Backend) MemoryBytes() int64 {
	if !b.OnDevice() {
		return 0
	}
	return int64(b.dev.GlobalMemBytes)
}

// ComputeUnits returns the device's compute units; on the CPU, the
// logical CPUs (runtime.NumCPU).
func (b *Backend) ComputeUnits() int {
	if !b.OnDevice() {
		return runtime.NumCPU()
	}
	return int(b.dev.ComputeUnits)
}

// CapBytes returns the memory a job may need (0: no cap).
func (b *Backend) CapBytes() int64 { return b.cap }

// Reason says why this backend was chosen (for "auto": why not a device).
func (b *Backend) Reason() string { return b.reason }

// String is a one-line summary for logs and checks.
func (b *Backend) String() string {
	s := b.Name()
	if b.OnDevice() {
		s += fmt.Sprintf(" (%s, %s, %d compute units, %s global memory)", b.dev.Type, b.dev.Platform, b.dev.ComputeUnits, mib(b.MemoryBytes()))
	}
	if b.cap > 0 {
		s += ", memory cap " + mib(b.cap)
	}
	return s
}

// Close releases the kernels and the device context (nothing on the CPU).
func (b *Backend) Close() error {
	if b == nil || b.ctx == nil {
		return nil
	}
	err := b.ops.Release()
	if cerr := b.ctx.Close(); err == nil {
		err = cerr
	}
	b.ctx, b.ops = nil, nil
	return err
}

// mib formats bytes as MiB or GiB.
func mib(n int64) string {
	if n >= 10<<30 {
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d MiB", n>>20)
}
