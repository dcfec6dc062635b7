package graph

import (
	"fmt"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/model/optim"
	G "gorgonia.org/gorgonia"
)

// Device compiles a model's step programs for an accelerator on which
// the weights stay between steps (model/device implements it for OpenCL).
// gorgonia builds the graph and its backward pass; the device runs the
// graph's nodes with its own kernels, not gorgonia's machine.
type Device interface {
	// Name names the device in logs and errors.
	Name() string
	// CompileTrain compiles a training step.
	CompileTrain(t *TrainGraph) (Resident, error)
	// CompileInfer compiles a forward pass.
	CompileInfer(f *InferGraph) (Forward, error)
}

// TrainGraph is a training graph with its backward pass, as a Device
// compiles it.
type TrainGraph struct {
	// G is the graph; Loss its scalar loss.
	G    *G.ExprGraph
	Loss *G.Node
	// Params are the trained parameters, bound to host weights; Grads[i]
	// is the gradient of Loss with respect to Params[i].
	Params []*Param
	Grads  G.Nodes
	// Inputs are the nodes a step feeds, in the order of Resident.Step's
	// arguments.
	Inputs []*G.Node
	// Adam holds the optimiser settings (clipping, betas, eps, decay); the
	// learning rate of each step is the Updater's Adam.LR().
	Adam optim.AdamConfig
}

// NewTrainGraph adds the backward pass of loss to b's graph and returns
// it for a Device, with the inputs fed at each step.
func NewTrainGraph(b *Builder, loss *G.Node, adam optim.AdamConfig, inputs ...*G.Node) (*TrainGraph, error) {
	if err := b.Err(); err != nil {
		return nil, err
	}
	grads, err := G.Grad(loss, b.Nodes()...)
	if err != nil {
		return nil, fmt.Errorf("graph: gradient: %w", err)
	}
	return &TrainGraph{G: b.G, Loss: loss, Params: b.Params(), Grads: grads, Inputs: inputs, Adam: adam}, nil
}

// InferGraph is a forward graph, as a Device compiles it.
type InferGraph struct {
	G *G.ExprGraph
	// Params are bound to host weights, uploaded by Forward.Reload.
	Params []*Param
	// Inputs are fed and Outputs read by each Forward.Run, in order.
	Inputs, Outputs []*G.Node
}

// NewInferGraph returns b's graph for a Device's forward pass.
func NewInferGraph(b *Builder, inputs, outputs []*G.Node) (*InferGraph, error) {
	if err := b.Err(); err != nil {
		return nil, err
	}
	return &InferGraph{G: b.G, Params: b.Params(), Inputs: inputs, Outputs: outputs}, nil
}

// Resident is a compiled training step whose weights, AdamW moments and
// EMA live on the device between Sync calls: a step moves only its inputs
// in and its loss out.
type Resident interface {
	// Step feeds inputs[i] to TrainGraph.Inputs[i], runs the forward and
	// backward passes and then u's update (the proximal term, clipping,
	// AdamW, the EMA) on the device, and returns the loss before the
	// update. A non-finite loss is refused (model.ErrNonFinite) with the
	// weights unchanged. The first Step after compiling or after Sync
	// uploads the host state: the parameters' bound weights, u's EMA,
	// u.Adam's moments and the proximal anchor. what names the model in
	// errors.
	Step(u *Updater, what string, inputs ...[]float32) (float64, error)
	// Sync copies the device's state to the host when it is newer: the
	// weights into the parameters' bound slices, the EMA into u.EMA and
	// the moments and step count into u.Adam. The next Step uploads again.
	Sync(u *Updater) error
	// Close frees the device memory.
	Close() error
}

// Forward is a compiled forward pass on a device.
type Forward interface {
	// Reload uploads the parameters' bound weights (after they changed).
	Reload() error
	// Run feeds inputs[i] to InferGraph.Inputs[i], runs the graph and
	// reads InferGraph.Outputs[i] into outputs[i].
	Run(inputs, outputs [][]float32) error
	// Close frees the device memory.
	Close() error
}

// Prox returns the proximal term's anchor (without the local-only
// tensors) and mu (0: off), as SetProx set them.
func (u *Updater) Prox() (model.Weights, float64) { return u.prox, u.proxMu }

// Sampling is a Forward whose inputs stay on the device between runs,
// with a diffusion sampler's update there too: a sampling loop moves only
// each step's small inputs and noise in and the final images out. The
// device's Forward implements it.
type Sampling interface {
	Forward
	// SetInput writes input i (InferGraph.Inputs[i]) without running.
	SetInput(i int, v []float32) error
	// ReadInput reads input i into dst.
	ReadInput(i int, dst []float32) error
	// RunResident runs the graph on the inputs already on the device.
	RunResident() error
	// Denoise updates input xi in place from output vo by one sampler
	// step, with noise z (Images*Pixels values) when s.SD is not 0.
	Denoise(xi, vo int, s DenoiseStep, z []float32) error
}

// DenoiseStep is one step of a diffusion sampler on Images images of
// Pixels values. With Doubled, the predictions v (and the images x) hold
// the conditional then the unconditional halves, and v is guided as
// c + W*(c - u), then rescaled by Rescale (phi) towards the conditional
// prediction's std (model/ddpm.Guide). Then x0 = SqrtAbar*x -
// SqrtOneMinus*v, eps = SqrtOneMinus*x + SqrtAbar*v (x0 clamped to [-1, 1]
// when Clip) and x' = C0*x0 + CEps*eps + CX*x + SD*z.
type DenoiseStep struct {
	Images, Pixels         int
	Doubled                bool
	W, Rescale             float64
	SqrtAbar, SqrtOneMinus float64
	Clip                   bool
	C0, CEps, CX, SD       float64
}

// OnDevice is the part of a stepper that runs its steps resident on a
// device: the compiled step, and a failed Sync that the next Step or Sync
// reports. The zero value is the CPU path (Active is false).
type OnDevice struct {
	// Res is the compiled resident step; nil on the CPU.
	Res     Resident
	syncErr error
}

// Active reports whether the steps run on a device.
func (d *OnDevice) Active() bool { return d.Res != nil }

// Step runs one resident step (see Resident.Step), refusing to run after
// a failed Sync.
func (d *OnDevice) Step(u *Updater, what string, inputs ...[]float32) (float64, error) {
	if d.syncErr != nil {
		return 0, d.syncErr
	}
	return d.Res.Step(u, what, inputs...)
}

// Sync brings the weights, the EMA and the AdamW moments back to the host
// (nothing on the CPU). A failure sticks: it is returned by every later
// Sync and Step.
func (d *OnDevice) Sync(u *Updater) error {
	if d.Res == nil {
		return nil
	}
	if d.syncErr == nil {
		d.syncErr = d.Res.Sync(u)
	}
	return d.syncErr
}

// Bytes returns the device memory the step holds (0 on the CPU or when the
// step does not say).
func (d *OnDevice) Bytes() int64 {
	if b, ok := d.Res.(interface{ Bytes() int64 }); ok {
		return b.Bytes()
	}
	return 0
}

// Close frees the step's device memory (nothing on the CPU).
func (d *OnDevice) Close() error {
	if d.Res == nil {
		return nil
	}
	return d.Res.Close()
}
