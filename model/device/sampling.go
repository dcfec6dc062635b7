package device

import (
	"fmt"

	"github.com/synthfed/synthfed/model/device/opencl"
	"github.com/synthfed/synthfed/model/graph"
)

// The device's forward pass keeps a sampler's images on the device.
var _ graph.Sampling = (*Forward)(nil)

// input returns the buffer of input i.
func (f *Forward) input(i int) (*opencl.Buffer, error) {
	if i < 0 || i >= len(f.f.Inputs) {
		return nil, fmt.Errorf("device: input %d of %d: %w", i, len(f.f.Inputs), ErrUnsupportedOp)
	}
	return f.prog.buffer(f.f.Inputs[i]), nil
}

// SetInput implements graph.Sampling.
func (f *Forward) SetInput(i int, v []float32) error {
	b, err := f.input(i)
	if err != nil {
		return err
	}
	return b.Write(v)
}

// ReadInput implements graph.Sampling.
func (f *Forward) ReadInput(i int, dst []float32) error {
	b, err := f.input(i)
	if err != nil {
		return err
	}
	return b.Read(dst)
}

// RunResident implements graph.Sampling.
func (f *Forward) RunResident() error { return f.prog.run() }

// Denoise implements graph.Sampling: the guidance, the v-to-x0/eps
// conversion and the sampler's update in two kernels, nothing read back.
func (f *Forward) Denoise(xi, vo int, s graph.DenoiseStep, z []float32) error {
	x, err := f.input(xi)
	if err != nil {
		return err
	}
	if vo < 0 || vo >= len(f.f.Outputs) {
		return fmt.Errorf("device: output %d of %d: %w", vo, len(f.f.Outputs), ErrUnsupportedOp)
	}
	v := f.prog.buffer(f.f.Outputs[vo])
	c := f.prog.ops.Context()
	if f.scale == nil || f.scale.Len() != s.Images {
		f.scale.Release()
		if f.scale, err = c.NewBuffer(s.Images); err != nil {
			return err
		}
	}
	var zb *opencl.Buffer
	if s.SD != 0 {
		if f.noise == nil || f.noise.Len() != len(z) {
			f.noise.Release()
			if f.noise, err = c.NewBuffer(len(z)); err != nil {
				return err
			}
		}
		if err := f.noise.Write(z); err != nil {
			return err
		}
		zb = f.noise
	}
	return f.prog.ops.Denoise(opencl.DenoiseStep(s), v, x, zb, f.scale)
}
