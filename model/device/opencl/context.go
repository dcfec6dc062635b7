package opencl

import (
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Context is an OpenCL context on one device with one in-order command
// queue: commands run in the order they are enqueued, so a blocking read
// sees every kernel enqueued before it. Its methods are safe for concurrent
// use (OpenCL's API is thread-safe), but a Kernel is not.
type Context struct {
	a     *api
	dev   Device
	ctx   uintptr
	queue uintptr
	// launches counts the kernels enqueued (Launches).
	launches atomic.Int64
}

// Launches returns the number of kernels enqueued on the context so far:
// on a GPU each costs the driver a few microseconds of host time, so the
// count per step bounds a step's launch overhead.
func (c *Context) Launches() int64 { return c.launches.Load() }

// Open creates a context and a command queue on d.
func Open(d Device) (*Context, error) {
	a, err := lib()
	if err != nil {
		return nil, err
	}
	var st int32
	id := d.id
	ctx := a.createContext(nil, 1, unsafe.Pointer(&id), 0, 0, unsafe.Pointer(&st))
	if err := check("clCreateContext", st); err != nil {
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	q := a.createCommandQueue(ctx, d.id, 0, unsafe.Pointer(&st))
	if err := check("clCreateCommandQueue", st); err != nil {
		a.releaseContext(ctx)
		return nil, fmt.Errorf("%s: %w", d.Name, err)
	}
	return &Context{a: a, dev: d, ctx: ctx, queue: q}, nil
}

// OpenFirst opens the first device that Devices lists, or returns an error
// that says why there is none (wrapping ErrUnavailable or ErrDeviceNotFound).
func OpenFirst() (*Context, error) {
	devs, err := Devices()
	if err != nil {
		return nil, err
	}
	if len(devs) == 0 {
		return nil, fmt.Errorf("opencl: no device on any platform: %w", ErrDeviceNotFound)
	}
	return Open(devs[0])
}

// Device returns the context's device.
func (c *Context) Device() Device { return c.dev }

// Finish waits until every enqueued command has completed.
func (c *Context) Finish() error {
	return check("clFinish", c.a.finish(c.queue))
}

// Close waits for the queue and releases it and the context.
func (c *Context) Close() error {
	if c.ctx == 0 {
		return nil
	}
	err := errors.Join(
		check("clFinish", c.a.finish(c.queue)),
		check("clReleaseCommandQueue", c.a.releaseCommandQueue(c.queue)),
		check("clReleaseContext", c.a.releaseContext(c.ctx)),
	)
	c.ctx, c.queue = 0, 0
	return err
}
