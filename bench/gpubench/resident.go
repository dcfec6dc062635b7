package main

import (
	"sync/atomic"

	G "gorgonia.org/gorgonia"

	"github.com/synthfed/synthfed/model/graph"
	"github.com/synthfed/synthfed/model/nn"
)

// residentPath names the device path of the device-resident steps: the
// trainer's (or sampler's) graph compiled for the device (UseDevice), its
// weights, optimiser state and activations kept there between steps.
const residentPath = "resident: the step's graph compiled for the device (UseDevice); only the batch goes in and the loss comes out"

// flopDevice is a graph.Device that counts the convolution FLOPs of each
// graph it compiles (the ops nn.Describe names as convolutions, forward
// and both gradients) and hands the compilation to the device it wraps.
// The compiled steps and forward passes are the device's own, so the
// optional interfaces they implement (graph.Sampling) stay visible.
type flopDevice struct {
	dev   graph.Device
	train atomic.Int64 // conv FLOPs of the last compiled training step
	infer atomic.Int64 // conv FLOPs of the last compiled forward pass
}

var _ graph.Device = (*flopDevice)(nil)

// Name is the wrapped device's.
func (f *flopDevice) Name() string { return f.dev.Name() }

// CompileTrain counts t's convolutions and compiles it on the device.
func (f *flopDevice) CompileTrain(t *graph.TrainGraph) (graph.Resident, error) {
	f.train.Store(graphConvFLOPs(t.G))
	return f.dev.CompileTrain(t)
}

// CompileInfer counts g's convolutions and compiles it on the device.
func (f *flopDevice) CompileInfer(g *graph.InferGraph) (graph.Forward, error) {
	f.infer.Store(graphConvFLOPs(g.G))
	return f.dev.CompileInfer(g)
}

// graphConvFLOPs sums convFLOPs over g's convolution nodes: one run of
// the graph.
func graphConvFLOPs(g *G.ExprGraph) int64 {
	var n int64
	for _, node := range g.AllNodes() {
		op := node.Op()
		if op == nil {
			continue
		}
		d, ok := nn.Describe(op)
		if !ok {
			continue
		}
		switch d.Kind {
		case nn.OpConv2D, nn.OpConv2DGradX, nn.OpConv2DGradW:
			n += convFLOPs(d.Conv)
		}
	}
	return n
}
