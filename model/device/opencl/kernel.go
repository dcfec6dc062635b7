package opencl

import (
	"fmt"
	"sync"
	"unsafe"
)

const clKernelWorkGroupSize = 0x11B0

// Kernel is one __kernel function of a Program. Arguments and launch go
// together under a lock, so one Kernel may be used from several goroutines.
type Kernel struct {
	c    *Context
	name string
	k    uintptr
	mu   sync.Mutex
}

// Kernel returns the program's kernel named name.
func (p *Program) Kernel(name string) (*Kernel, error) {
	var st int32
	cname := cString(name)
	k := p.c.a.createKernel(p.prog, unsafe.Pointer(&cname[0]), unsafe.Pointer(&st))
	if err := check("clCreateKernel "+name, st); err != nil {
		return nil, err
	}
	return &Kernel{c: p.c, name: name, k: k}, nil
}

// MaxWorkGroupSize returns the largest work-group this kernel can run with
// on the context's device.
func (k *Kernel) MaxWorkGroupSize() (int, error) {
	var n uintptr
	err := check("clGetKernelWorkGroupInfo", k.c.a.getKernelWorkGroupInf(k.k, k.c.dev.id, clKernelWorkGroupSize, unsafe.Sizeof(n), unsafe.Pointer(&n), nil))
	return int(n), err
}

// Launch sets the arguments (each a *Buffer, int32, uint32 or float32) and
// enqueues the kernel over the global work size, with the given local
// (work-group) size or, when local is nil, one the driver picks. It does
// not wait: a Buffer.Read or Context.Finish does.
func (k *Kernel) Launch(global, local []int, args ...any) error {
	if len(global) == 0 || len(global) > 3 || (local != nil && len(local) != len(global)) {
		return fmt.Errorf("opencl: %s: global %v, local %v: %w", k.name, global, local, ErrInvalidWorkDimension)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for i, arg := range args {
		var st int32
		switch v := arg.(type) {
		case *Buffer:
			if v == nil || v.mem == 0 {
				return fmt.Errorf("opencl: %s: argument %d: released or nil buffer: %w", k.name, i, ErrInvalidMemObject)
			}
			mem := v.mem
			st = k.c.a.setKernelArg(k.k, uint32(i), unsafe.Sizeof(mem), unsafe.Pointer(&mem))
		case int32:
			st = k.c.a.setKernelArg(k.k, uint32(i), 4, unsafe.Pointer(&v))
		case uint32:
			st = k.c.a.setKernelArg(k.k, uint32(i), 4, unsafe.Pointer(&v))
		case float32:
			st = k.c.a.setKernelArg(k.k, uint32(i), 4, unsafe.Pointer(&v))
		default:
			return fmt.Errorf("opencl: %s: argument %d has type %T: %w", k.name, i, arg, ErrInvalidArgValue)
		}
		if err := check(fmt.Sprintf("clSetKernelArg %s #%d", k.name, i), st); err != nil {
			return err
		}
	}
	var g, l [3]uintptr
	for i := range global {
		g[i] = uintptr(global[i])
		if local != nil {
			l[i] = uintptr(local[i])
		}
	}
	lp := unsafe.Pointer(nil)
	if local != nil {
		lp = unsafe.Pointer(&l[0])
	}
	k.c.launches.Add(1)
	st := k.c.a.enqueueNDRangeKernel(k.c.queue, k.k, uint32(len(global)), nil, unsafe.Pointer(&g[0]), lp, 0, nil, nil)
	if err := check("clEnqueueNDRangeKernel "+k.name, st); err != nil {
		return fmt.Errorf("%w (global %v, local %v)", err, global, local)
	}
	return nil
}

// Release frees the kernel.
func (k *Kernel) Release() error {
	if k == nil || k.k == 0 {
		return nil
	}
	err := check("clReleaseKernel", k.c.a.releaseKernel(k.k))
	k.k = 0
	return err
}
