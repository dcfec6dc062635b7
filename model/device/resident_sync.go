package device

import (
	"errors"
	"fmt"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/device/opencl"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/optim"
	G "gorgonia.org/gorgonia"
)

// hostData returns a parameter's bound host values.
func hostData(p *graph.Param) ([]float32, error) {
	v := p.Node.Value()
	if v == nil {
		return nil, fmt.Errorf("parameter %q has no value: %w", p.Name, model.ErrMissing)
	}
	d, ok := v.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("parameter %q holds %T, want float32: %w", p.Name, v.Data(), model.ErrShape)
	}
	return d, nil
}

// upload writes the host state to the device: the weights, u's EMA,
// u.Adam's moments (zeros before the first step) and the proximal anchor.
func (s *TrainStep) upload(u *graph.Updater) error {
	shadow := u.EMA.Weights()
	mo := u.Adam.Moments()
	if mo.Steps > 0 && (len(mo.M) != len(s.off) || len(mo.V) != len(s.off)) {
		return fmt.Errorf("adam: %d moments after %d steps for %d parameters: %w", len(mo.M), mo.Steps, len(s.off), model.ErrShape)
	}
	prox, mu := u.Prox()
	pf, ef := make([]float32, s.total), make([]float32, s.total)
	var mf, vf, af, kf []float32
	if mo.Steps > 0 {
		mf, vf = make([]float32, s.total), make([]float32, s.total)
	}
	for i, prm := range s.t.Params {
		data, err := hostData(prm)
		if err != nil {
			return err
		}
		at := s.off[i]
		copy(pf[at:], data)
		e, ok := shadow.Get(prm.Name)
		if !ok || len(e.Data) != len(data) {
			return fmt.Errorf("ema: parameter %q: %w", prm.Name, model.ErrMissing)
		}
		copy(ef[at:], e.Data)
		if mo.Steps > 0 {
			if len(mo.M[i]) != len(data) || len(mo.V[i]) != len(data) {
				return fmt.Errorf("adam: parameter %q: moments of %d values, want %d: %w", prm.Name, len(mo.M[i]), len(data), model.ErrShape)
			}
			copy(mf[at:], mo.M[i])
			copy(vf[at:], mo.V[i])
		}
		if a, ok := prox.Get(prm.Name); ok && mu > 0 {
			if len(a.Data) != len(data) {
				return fmt.Errorf("fedprox: parameter %q: %d values, global has %d: %w", prm.Name, len(data), len(a.Data), model.ErrShape)
			}
			if af == nil {
				af, kf = make([]float32, s.total), make([]float32, s.total)
			}
			copy(af[at:], a.Data)
			for k := range data {
				kf[at+k] = 1
			}
		}
	}
	errs := []error{s.p.Write(pf), s.ema.Write(ef), s.anchor.Release(), s.mask.Release()}
	if mo.Steps > 0 {
		errs = append(errs, s.m.Write(mf), s.v.Write(vf))
	} else {
		errs = append(errs, s.ops.Fill(0, s.m), s.ops.Fill(0, s.v))
	}
	s.anchor, s.mask, s.mu = nil, nil, float32(mu)
	if af != nil {
		var e1, e2 error
		s.anchor, e1 = s.ops.Context().Upload(af)
		s.mask, e2 = s.ops.Context().Upload(kf)
		errs = append(errs, e1, e2)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.steps, s.emaUpdates = mo.Steps, u.EMA.Updates
	s.uploaded, s.dirty = true, false
	return nil
}

// Sync implements graph.Resident: after steps, the weights, the EMA and
// the moments come back to the host (the round boundary).
func (s *TrainStep) Sync(u *graph.Updater) error {
	defer func() { s.uploaded = false }()
	if !s.dirty {
		return nil
	}
	pf, ef, mf, vf := make([]float32, s.total), make([]float32, s.total), make([]float32, s.total), make([]float32, s.total)
	if err := errors.Join(s.p.Read(pf), s.ema.Read(ef), s.m.Read(mf), s.v.Read(vf)); err != nil {
		return fmt.Errorf("device: sync to the host: %w", err)
	}
	shadow := u.EMA.Weights()
	mo := optim.Moments{M: make([][]float32, len(s.off)), V: make([][]float32, len(s.off)), Steps: s.steps}
	for i, prm := range s.t.Params {
		data, err := hostData(prm)
		if err != nil {
			return err
		}
		at, n := s.off[i], len(data)
		copy(data, pf[at:at+n])
		e, ok := shadow.Get(prm.Name)
		if !ok || len(e.Data) != n {
			return fmt.Errorf("ema: parameter %q: %w", prm.Name, model.ErrMissing)
		}
		copy(e.Data, ef[at:at+n])
		mo.M[i], mo.V[i] = append([]float32(nil), mf[at:at+n]...), append([]float32(nil), vf[at:at+n]...)
	}
	u.EMA.Reset(shadow)
	u.EMA.Updates = s.emaUpdates
	u.Adam.SetMoments(mo)
	s.dirty = false
	return nil
}

// Close implements graph.Resident.
func (s *TrainStep) Close() error {
	var errs []error
	for _, b := range s.subs { // before their parents
		errs = append(errs, b.Release())
	}
	for _, b := range []*opencl.Buffer{s.p, s.g, s.m, s.v, s.ema, s.anchor, s.mask, s.clip} {
		errs = append(errs, b.Release())
	}
	if s.prog != nil {
		errs = append(errs, s.prog.Close())
	}
	return errors.Join(errs...)
}

// Forward is a forward pass on the device (graph.Forward): the weights
// are uploaded when it is compiled and by Reload; each Run writes the
// inputs and reads the outputs.
type Forward struct {
	prog *Program
	f    *graph.InferGraph
	// scale and noise are Denoise's buffers, allocated on first use.
	scale, noise *opencl.Buffer
}

var _ graph.Forward = (*Forward)(nil)

// NewForward compiles f on ops' device and uploads its weights.
func NewForward(ops *opencl.Ops, f *graph.InferGraph) (*Forward, error) {
	leaves := append([]*G.Node(nil), f.Inputs...)
	for _, p := range f.Params {
		leaves = append(leaves, p.Node)
	}
	prog, err := compile(ops, f.G, leaves, f.Outputs, nil)
	if err != nil {
		return nil, err
	}
	fw := &Forward{prog: prog, f: f}
	if err := fw.Reload(); err != nil {
		prog.Close()
		return nil, err
	}
	return fw, nil
}

// Reload implements graph.Forward.
func (f *Forward) Reload() error {
	for _, p := range f.f.Params {
		b := f.prog.buffer(p.Node)
		if b == nil {
			continue // not used by the outputs
		}
		data, err := hostData(p)
		if err != nil {
			return err
		}
		if err := b.Write(data); err != nil {
			return fmt.Errorf("device: upload %q: %w", p.Name, err)
		}
	}
	return nil
}

// Run implements graph.Forward.
func (f *Forward) Run(inputs, outputs [][]float32) error {
	if len(inputs) != len(f.f.Inputs) || len(outputs) != len(f.f.Outputs) {
		return fmt.Errorf("device: forward with %d inputs and %d outputs, want %d and %d: %w", len(inputs), len(outputs), len(f.f.Inputs), len(f.f.Outputs), model.ErrShape)
	}
	for i, n := range f.f.Inputs {
		b := f.prog.buffer(n)
		if b == nil {
			continue
		}
		if err := b.Write(inputs[i]); err != nil {
			return fmt.Errorf("device: input %s: %w", n.Name(), err)
		}
	}
	if err := f.prog.run(); err != nil {
		return err
	}
	for i, n := range f.f.Outputs {
		if err := f.prog.buffer(n).Read(outputs[i]); err != nil {
			return fmt.Errorf("device: output %s: %w", n.Name(), err)
		}
	}
	return nil
}

// Close implements graph.Forward.
func (f *Forward) Close() error {
	return errors.Join(f.scale.Release(), f.noise.Release(), f.prog.Close())
}
