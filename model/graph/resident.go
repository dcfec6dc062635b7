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
