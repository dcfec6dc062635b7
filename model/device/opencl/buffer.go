package opencl

import (
	"fmt"
	"unsafe"
)

const clMemReadWrite = 1 << 0

// Buffer is a float32 array in device memory.
type Buffer struct {
	c   *Context
	mem uintptr
	n   int
}

// NewBuffer allocates n float32 values (uninitialised) on the device.
func (c *Context) NewBuffer(n int) (*Buffer, error) {
	if n <= 0 {
		return nil, fmt.Errorf("opencl: buffer of %d values: %w", n, ErrInvalidBufferSize)
	}
	var st int32
	mem := c.a.createBuffer(c.ctx, clMemReadWrite, uintptr(n)*4, nil, unsafe.Pointer(&st))
	if err := check("clCreateBuffer", st); err != nil {
		return nil, fmt.Errorf("buffer of %d float32 (%d bytes) on %s: %w", n, n*4, c.dev.Name, err)
	}
	return &Buffer{c: c, mem: mem, n: n}, nil
}

const clBufferCreateTypeRegion = 0x1220

// SubBuffer returns the n values of b from value off on as a buffer of its
// own (a kernel argument like any other): b's memory, not a copy. off*4
// bytes must be a multiple of the device's MemBaseAddrAlign (see
// SubAlign). Release it before b.
func (c *Context) SubBuffer(b *Buffer, off, n int) (*Buffer, error) {
	if off < 0 || n <= 0 || off+n > b.n || off%c.SubAlign() != 0 {
		return nil, fmt.Errorf("opencl: sub-buffer [%d, %d) of %d values (alignment %d): %w", off, off+n, b.n, c.SubAlign(), ErrInvalidValue)
	}
	region := [2]uintptr{uintptr(off) * 4, uintptr(n) * 4}
	var st int32
	mem := c.a.createSubBuffer(b.mem, clMemReadWrite, clBufferCreateTypeRegion, unsafe.Pointer(&region[0]), unsafe.Pointer(&st))
	if err := check("clCreateSubBuffer", st); err != nil {
		return nil, fmt.Errorf("sub-buffer of %d float32 at %d on %s: %w", n, off, c.dev.Name, err)
	}
	return &Buffer{c: c, mem: mem, n: n}, nil
}

// SubAlign returns the alignment of a sub-buffer's origin in float32
// values (at least 1).
func (c *Context) SubAlign() int { return max(int(c.dev.MemBaseAddrAlign)/32, 1) }

// Upload allocates a buffer of len(x) values and copies x into it.
func (c *Context) Upload(x []float32) (*Buffer, error) {
	b, err := c.NewBuffer(len(x))
	if err != nil {
		return nil, err
	}
	if err := b.Write(x); err != nil {
		b.Release()
		return nil, err
	}
	return b, nil
}

// Len returns the number of float32 values.
func (b *Buffer) Len() int {
	if b == nil {
		return 0
	}
	return b.n
}

// Write copies x (len(x) == Len()) to the device, blocking until done.
func (b *Buffer) Write(x []float32) error {
	if len(x) != b.n {
		return fmt.Errorf("opencl: write %d values into a buffer of %d: %w", len(x), b.n, ErrInvalidValue)
	}
	return check("clEnqueueWriteBuffer", b.c.a.enqueueWriteBuffer(b.c.queue, b.mem, 1, 0, uintptr(b.n)*4, unsafe.Pointer(&x[0]), 0, nil, nil))
}

// Read copies the buffer into x (len(x) == Len()), blocking until every
// command enqueued before it has completed.
func (b *Buffer) Read(x []float32) error {
	if len(x) != b.n {
		return fmt.Errorf("opencl: read a buffer of %d values into %d: %w", b.n, len(x), ErrInvalidValue)
	}
	return check("clEnqueueReadBuffer", b.c.a.enqueueReadBuffer(b.c.queue, b.mem, 1, 0, uintptr(b.n)*4, unsafe.Pointer(&x[0]), 0, nil, nil))
}

// Release frees the device memory. It is safe to call twice.
func (b *Buffer) Release() error {
	if b == nil || b.mem == 0 {
		return nil
	}
	err := check("clReleaseMemObject", b.c.a.releaseMemObject(b.mem))
	b.mem = 0
	return err
}
