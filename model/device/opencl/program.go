package opencl

import (
	"fmt"
	"runtime"
	"strings"
	"unsafe"
)

const clProgramBuildLog = 0x1183

// Program is OpenCL C source compiled for the context's device.
type Program struct {
	c    *Context
	prog uintptr
}

// Build compiles OpenCL C source with the given compiler options. A failed
// build returns an error wrapping ErrBuildProgramFailure with the
// compiler's log.
func (c *Context) Build(src, options string) (*Program, error) {
	if src == "" {
		return nil, fmt.Errorf("opencl: build: empty source: %w", ErrInvalidValue)
	}
	csrc, copts := cString(src), cString(options)
	strs := []uintptr{uintptr(unsafe.Pointer(&csrc[0]))}
	var st int32
	p := c.a.createProgramWithSrc(c.ctx, 1, unsafe.Pointer(&strs[0]), nil, unsafe.Pointer(&st))
	runtime.KeepAlive(csrc)
	if err := check("clCreateProgramWithSource", st); err != nil {
		return nil, err
	}
	id := c.dev.id
	st = c.a.buildProgram(p, 1, unsafe.Pointer(&id), unsafe.Pointer(&copts[0]), 0, 0)
	if st != 0 {
		log, lerr := infoString(func(size uintptr, v, ret unsafe.Pointer) int32 {
			return c.a.getProgramBuildInfo(p, id, clProgramBuildLog, size, v, ret)
		})
		if lerr != nil {
			log = "(no build log: " + lerr.Error() + ")"
		}
		c.a.releaseProgram(p)
		return nil, fmt.Errorf("opencl: clBuildProgram on %s: %w\n%s", c.dev.Name, Code(st), strings.TrimSpace(log))
	}
	return &Program{c: c, prog: p}, nil
}

// Release frees the program. Kernels made from it stay valid.
func (p *Program) Release() error {
	if p == nil || p.prog == 0 {
		return nil
	}
	err := check("clReleaseProgram", p.c.a.releaseProgram(p.prog))
	p.prog = 0
	return err
}
