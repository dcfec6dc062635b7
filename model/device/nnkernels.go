package device

import (
	"errors"
	"fmt"
	"sync"

	"gorgonia.org/tensor"

	"github.com/synthfed/synthfed/model/device/opencl"
	"github.com/synthfed/synthfed/model/nn"
)

// Kernels is model/nn's kernel set on an OpenCL device (nn.Kernels): every
// forward and backward kernel of model/nn's ops runs as device kernels.
// Each call copies its tensors to the device and its results back, so it
// checks the device kernels against the CPU path op by op and lets a
// gorgonia graph run on the device (nn.UseKernels); the device-resident
// steps keep the same kernels' buffers on the device instead.
//
// float64 tensors run on the CPU kernels. A device error also runs the
// call on the CPU kernels, so a graph never gets a wrong or missing
// result; Err reports the first such error.
type Kernels struct {
	ops *opencl.Ops
	cpu nn.Kernels

	mu  sync.Mutex
	err error
}

var _ nn.Kernels = (*Kernels)(nil)

// NewKernels returns model/nn's kernel set on b's device.
func NewKernels(b *Backend) (*Kernels, error) {
	if !b.OnDevice() {
		return nil, fmt.Errorf("kernels on %s: %w", b.Name(), ErrNoDevice)
	}
	return &Kernels{ops: b.Ops(), cpu: nn.CPU()}, nil
}

// Name is "opencl/" and the device's name.
func (k *Kernels) Name() string { return "opencl/" + k.ops.Context().Device().Name }

// Err returns the first device error that made a call fall back to the CPU.
func (k *Kernels) Err() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.err
}

// call runs f on device copies of the tensors (the same tensor twice is
// one buffer), then reads every output back. ins are only read; outs are
// uploaded too, so that ops writing part of an output keep the rest. Any
// float64 tensor or device error runs cpu instead.
func (k *Kernels) call(cpu func(), ins, outs []*tensor.Dense, f func(buf func(*tensor.Dense) *opencl.Buffer) error) {
	all := append(append([]*tensor.Dense(nil), ins...), outs...)
	for _, t := range all {
		if t != nil && t.Dtype() != tensor.Float32 {
			cpu()
			return
		}
	}
	bufs := map[*tensor.Dense]*opencl.Buffer{}
	defer func() {
		for _, b := range bufs {
			b.Release()
		}
	}()
	var errs []error
	for _, t := range all {
		if t == nil || bufs[t] != nil {
			continue
		}
		b, err := k.ops.Context().Upload(t.Data().([]float32))
		if err != nil {
			errs = append(errs, err)
			break
		}
		bufs[t] = b
	}
	if len(errs) == 0 {
		errs = append(errs, f(func(t *tensor.Dense) *opencl.Buffer { return bufs[t] }))
	}
	done := map[*tensor.Dense]bool{}
	for _, t := range outs {
		if t != nil && !done[t] && errors.Join(errs...) == nil {
			done[t] = true
			errs = append(errs, bufs[t].Read(t.Data().([]float32)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		k.mu.Lock()
		if k.err == nil {
			k.err = err
		}
		k.mu.Unlock()
		cpu()
	}
}

// scalar runs f, which writes scalars into a small device buffer, and
// returns out[at]; a device error returns cpu().
func (k *Kernels) scalar(cpu func() float64, ins []*tensor.Dense, at int, f func(buf func(*tensor.Dense) *opencl.Buffer, out *opencl.Buffer) error) float64 {
	var v float64
	k.call(func() { v = cpu() }, ins, nil, func(buf func(*tensor.Dense) *opencl.Buffer) error {
		out, err := k.ops.Context().NewBuffer(4)
		if err != nil {
			return err
		}
		defer out.Release()
		if err := f(buf, out); err != nil {
			return err
		}
		got := make([]float32, 4)
		if err := out.Read(got); err != nil {
			return err
		}
		v = float64(got[at])
		return nil
	})
	return v
}
