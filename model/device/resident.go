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
type TrainStep struct {
	ops  *opencl.Ops
	prog *Program
	t    *graph.TrainGraph
	// Per parameter: value and gradient (the program's), moments, EMA and
	// proximal anchor (nil for a tensor without the term).
	p, g, m, v, ema, anchor []*opencl.Buffer
	clip                    *opencl.Buffer
	own                     []*opencl.Buffer
	// shared are (program gradient, own copy) pairs of shared gradients.
	shared  [][2]*opencl.Buffer
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
	leaves := append([]*G.Node(nil), t.Inputs...)
	outputs := append([]*G.Node{t.Loss}, t.Grads...)
	for i, prm := range t.Params {
		leaves = append(leaves, prm.Node)
		if t.Grads[i] == nil {
			return nil, fmt.Errorf("device: parameter %q has no gradient: %w", prm.Name, ErrUnsupportedOp)
		}
	}
	prog, err := compile(ops, t.G, leaves, outputs)
	if err != nil {
		return nil, err
	}
	s := &TrainStep{ops: ops, prog: prog, t: t, lossBuf: make([]float32, prog.buffer(t.Loss).Len())}
	var errs []error
	alloc := func(n int) *opencl.Buffer {
		b, err := ops.Context().NewBuffer(n)
		errs = append(errs, err)
		if b != nil {
			s.own = append(s.own, b)
		}
		return b
	}
	seen := map[*G.Node]bool{}
	for i, prm := range t.Params {
		n := prm.Node.Shape().TotalSize()
		g := prog.buffer(t.Grads[i])
		if seen[t.Grads[i]] {
			// gorgonia merged two identical gradient nodes (two biases
			// summing the same incoming gradient): each parameter gets its
			// own copy, which the proximal term and AdamW update apart.
			s.shared = append(s.shared, [2]*opencl.Buffer{g, alloc(n)})
			g = s.shared[len(s.shared)-1][1]
		}
		seen[t.Grads[i]] = true
		s.p, s.g = append(s.p, prog.buffer(prm.Node)), append(s.g, g)
		s.m, s.v, s.ema = append(s.m, alloc(n)), append(s.v, alloc(n)), append(s.ema, alloc(n))
	}
	s.anchor = make([]*opencl.Buffer, len(t.Params))
	s.clip = alloc(2)
	if err := errors.Join(errs...); err != nil {
		s.Close()
		return nil, fmt.Errorf("device: optimiser state: %w", err)
	}
	return s, nil
}

// Bytes returns the device memory the step holds.
func (s *TrainStep) Bytes() int64 {
	n := s.prog.Bytes()
	for _, b := range append(append([]*opencl.Buffer(nil), s.own...), s.anchor...) {
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
// graph.Updater.Step does on the host.
func (s *TrainStep) update(u *graph.Updater) error {
	o, cfg := s.ops, s.t.Adam
	for _, c := range s.shared {
		if err := o.Copy(c[0], c[1]); err != nil {
			return err
		}
	}
	for i, a := range s.anchor {
		if a != nil {
			if err := o.Prox(s.mu, s.p[i], a, s.g[i]); err != nil {
				return err
			}
		}
	}
	if cfg.ClipNorm > 0 {
		if err := o.ClipGradients(float32(cfg.ClipNorm), s.clip, 0, s.g...); err != nil {
			return err
		}
	}
	step := opencl.AdamWStep{LR: u.Adam.LR(), Beta1: cfg.Beta1, Beta2: cfg.Beta2, Eps: cfg.Eps,
		WeightDecay: cfg.WeightDecay, Step: s.steps + 1, GradScale: 1}
	for i := range s.p {
		if err := o.AdamW(s.p[i], s.g[i], s.m[i], s.v[i], step); err != nil {
			return err
		}
	}
	s.steps++
	u.Adam.SetScheduleStep(u.Adam.ScheduleStep() + 1)
	d := emaRate(u.EMA, s.emaUpdates)
	for i := range s.p {
		if err := o.EMA(d, s.p[i], s.ema[i]); err != nil {
			return err
		}
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
