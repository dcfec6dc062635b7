package device

import (
	"errors"
	"fmt"
	"math"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/device/opencl"
	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/optim"
	G "gorgonia.org/gorgonia"
)

// The Backend compiles resident programs (graph.Device).
var _ graph.Device = (*Backend)(nil)

// CompileTrain compiles a resident training step on the device
// (graph.Device).
func (b *Backend) CompileTrain(t *graph.TrainGraph) (graph.Resident, error) {
	if !b.OnDevice() {
		return nil, fmt.Errorf("resident step on %s: %w", b.Name(), ErrNoDevice)
	}
	return NewTrainStep(b.ops, t)
}

// CompileInfer compiles a forward pass on the device (graph.Device).
func (b *Backend) CompileInfer(f *graph.InferGraph) (graph.Forward, error) {
	if !b.OnDevice() {
		return nil, fmt.Errorf("forward on %s: %w", b.Name(), ErrNoDevice)
	}
	return NewForward(b.ops, f)
}

// TrainStep is a training step resident on the device (graph.Resident):
// the weights, their gradients, the AdamW moments, the EMA and the
// proximal anchor stay in device buffers between steps; a step writes its
// inputs and reads its loss. The host state (the weights bound to the
// graph's parameters, the Updater's Adam and EMA) is uploaded by the first
// Step and brought back by Sync, at round boundaries.
//
// Every parameter lives in one flat buffer, at an offset aligned for a
// sub-buffer, which the program uses as the parameter's value; so do the
// gradients. The update (proximal term, clipping, AdamW, EMA) is then a
// handful of launches over the flat buffers, not a few per tensor.
type TrainStep struct {
	ops  *opencl.Ops
	prog *Program
	t    *graph.TrainGraph
	// off[i] is parameter i's offset in the flat buffers of total values
	// (the gaps are zeros that the update leaves at zero).
	off   []int
	total int
	// The flat buffers: weights, gradients, moments, EMA, proximal anchor
	// and mask (1 where a tensor has the term; nil without it).
	p, g, m, v, ema, anchor, mask *opencl.Buffer
	// subs are the per-parameter sub-buffers of p and g the program uses.
	subs []*opencl.Buffer
	clip *opencl.Buffer
	// copies are (program gradient, parameter's slot) pairs for gradients
	// the program computes elsewhere: gorgonia merges identical gradient
	// nodes (two biases summing the same incoming gradient).
	copies  [][2]*opencl.Buffer
	lossBuf []float32
	// uploaded: the device holds the state; dirty: it is newer than the host's.
	uploaded, dirty bool
	steps           int
	emaUpdates      int64
	mu              float32
}

var _ graph.Resident = (*TrainStep)(nil)

// NewTrainStep compiles t's forward and backward passes on ops' device
// and allocates the optimiser state.
func NewTrainStep(ops *opencl.Ops, t *graph.TrainGraph) (*TrainStep, error) {
	if len(t.Grads) != len(t.Params) {
		return nil, fmt.Errorf("device: %d gradients for %d parameters: %w", len(t.Grads), len(t.Params), model.ErrShape)
	}
	s := &TrainStep{ops: ops, t: t}
	if err := s.allocFlat(); err != nil {
		s.Close()
		return nil, fmt.Errorf("device: optimiser state: %w", err)
	}
	leaves := append([]*G.Node(nil), t.Inputs...)
	outputs := append([]*G.Node{t.Loss}, t.Grads...)
	fixed := map[*G.Node]*opencl.Buffer{}
	for i, prm := range t.Params {
		leaves = append(leaves, prm.Node)
		if t.Grads[i] == nil {
			s.Close()
			return nil, fmt.Errorf("device: parameter %q has no gradient: %w", prm.Name, ErrUnsupportedOp)
		}
		fixed[prm.Node] = s.subs[2*i]
		if _, ok := fixed[t.Grads[i]]; !ok {
			fixed[t.Grads[i]] = s.subs[2*i+1]
		}
	}
	prog, err := compile(ops, t.G, leaves, outputs, fixed)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.prog, s.lossBuf = prog, make([]float32, prog.buffer(t.Loss).Len())
	for i, prm := range t.Params {
		if prog.buffer(prm.Node) != s.subs[2*i] {
			s.Close()
			return nil, fmt.Errorf("device: parameter %q did not get its slot: %w", prm.Name, ErrUnsupportedOp)
		}
		if g := prog.buffer(t.Grads[i]); g != s.subs[2*i+1] {
			s.copies = append(s.copies, [2]*opencl.Buffer{g, s.subs[2*i+1]})
		}
	}
	return s, nil
}

// allocFlat lays the parameters out and allocates the flat buffers and
// the sub-buffers of the weights and gradients.
func (s *TrainStep) allocFlat() error {
	c := s.ops.Context()
	align := c.SubAlign()
	for _, prm := range s.t.Params {
		s.off = append(s.off, s.total)
		s.total += (prm.Node.Shape().TotalSize() + align - 1) / align * align
	}
	var errs []error
	for _, b := range []**opencl.Buffer{&s.p, &s.g, &s.m, &s.v, &s.ema} {
		var err error
		*b, err = c.NewBuffer(max(s.total, 1))
		errs = append(errs, err)
		if err == nil {
			errs = append(errs, s.ops.Fill(0, *b))
		}
	}
	var err error
	s.clip, err = c.NewBuffer(2)
	if err = errors.Join(append(errs, err)...); err != nil {
		return err
	}
	for i, prm := range s.t.Params {
		for _, flat := range []*opencl.Buffer{s.p, s.g} {
			sb, err := c.SubBuffer(flat, s.off[i], prm.Node.Shape().TotalSize())
			if err != nil {
				return err
			}
			s.subs = append(s.subs, sb)
		}
	}
	return nil
}

// Bytes returns the device memory the step holds.
func (s *TrainStep) Bytes() int64 {
	n := s.prog.Bytes() + 8
	for _, b := range []*opencl.Buffer{s.p, s.g, s.m, s.v, s.ema, s.anchor, s.mask} {
		n += int64(b.Len()) * 4
	}
	return n
}

// Step implements graph.Resident.
func (s *TrainStep) Step(u *graph.Updater, what string, inputs ...[]float32) (float64, error) {
	if len(inputs) != len(s.t.Inputs) {
		return 0, fmt.Errorf("%s: device step with %d inputs, want %d: %w", what, len(inputs), len(s.t.Inputs), model.ErrShape)
	}
	if !s.uploaded {
		if err := s.upload(u); err != nil {
			return 0, fmt.Errorf("%s: upload to the device: %w", what, err)
		}
	}
	for i, n := range s.t.Inputs {
		if err := s.prog.buffer(n).Write(inputs[i]); err != nil {
			return 0, fmt.Errorf("%s: input %s: %w", what, n.Name(), err)
		}
	}
	if err := s.prog.run(); err != nil {
		return 0, fmt.Errorf("%s: train step: %w", what, err)
	}
	if err := s.prog.buffer(s.t.Loss).Read(s.lossBuf); err != nil {
		return 0, fmt.Errorf("%s: read the loss: %w", what, err)
	}
	l := float64(s.lossBuf[0])
	if math.IsNaN(l) || math.IsInf(l, 0) {
		return l, fmt.Errorf("%s: step %d: loss %v: %w", what, s.steps+1, l, model.ErrNonFinite)
	}
	if err := s.update(u); err != nil {
		return l, fmt.Errorf("%s: update on the device: %w", what, err)
	}
	s.dirty = true
	return l, nil
}

// update applies the proximal term, clipping, AdamW and the EMA, as
// graph.Updater.Step does on the host, over the flat buffers.
func (s *TrainStep) update(u *graph.Updater) error {
	o, cfg := s.ops, s.t.Adam
	for _, c := range s.copies {
		if err := o.Copy(c[0], c[1]); err != nil {
			return err
		}
	}
	if s.anchor != nil {
		if err := o.Prox(s.mu, s.p, s.anchor, s.mask, s.g); err != nil {
			return err
		}
	}
	if cfg.ClipNorm > 0 {
		if err := o.ClipGradients(float32(cfg.ClipNorm), s.clip, 0, s.g); err != nil {
			return err
		}
	}
	step := opencl.AdamWStep{LR: u.Adam.LR(), Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: cfg.Eps,
		WeightDecay: cfg.WeightDecay, Step: s.steps + 1, GradScale: 1}
	if err := o.AdamW(s.p, s.g, s.m, s.v, step); err != nil {
		return err
	}
	s.steps++
	u.Adam.SetScheduleStep(u.Adam.ScheduleStep() + 1)
	if err := o.EMA(emaRate(u.EMA, s.emaUpdates), s.p, s.ema); err != nil {
		return err
	}
	s.emaUpdates++
	return nil
}

// emaRate is optim.EMA's decay for its next update after n updates.
func emaRate(e *optim.EMA, n int64) float64 {
	d := e.Decay
	if e.Warmup {
		f := float64(n)
		d = min(d, (1+f)/(10+f))
	}
	return d
}
