package main

import (
	"sync/atomic"
	"time"

	"gorgonia.org/tensor"

	"github.com/synthfed/synthfed/model/nn"
)

// convCounter is a kernel set that counts the floating-point operations
// of the convolutions it runs (forward and both gradients) and the time
// spent in them, passing every call to the wrapped set. On the per-op
// device path each call uploads, runs and reads back, so the time is the
// convolution's as the step sees it, copies included.
type convCounter struct {
	nn.Kernels
	flops atomic.Int64
	nanos atomic.Int64
	calls atomic.Int64
}

// newConvCounter wraps k.
func newConvCounter(k nn.Kernels) *convCounter { return &convCounter{Kernels: k} }

// convFLOPs is the multiply-adds of one convolution pass, counted as 2
// operations each: 2·N·O·C·KH·KW·OH·OW. The forward pass and both
// gradients (x and w) each cost this much.
func convFLOPs(p nn.ConvParams) int64 {
	return 2 * int64(p.N) * int64(p.O) * int64(p.C) * int64(p.KH) * int64(p.KW) * int64(p.OH) * int64(p.OW)
}

// timed runs f and adds its time and p's FLOPs.
func (c *convCounter) timed(p nn.ConvParams, f func()) {
	start := time.Now()
	f()
	c.nanos.Add(int64(time.Since(start)))
	c.flops.Add(convFLOPs(p))
	c.calls.Add(1)
}

// Conv2D counts and runs the forward convolution.
func (c *convCounter) Conv2D(p nn.ConvParams, x, w, b, y *tensor.Dense) {
	c.timed(p, func() { c.Kernels.Conv2D(p, x, w, b, y) })
}

// Conv2DGradX counts and runs the input gradient.
func (c *convCounter) Conv2DGradX(p nn.ConvParams, w, dy, dx *tensor.Dense) {
	c.timed(p, func() { c.Kernels.Conv2DGradX(p, w, dy, dx) })
}

// Conv2DGradW counts and runs the weight gradient.
func (c *convCounter) Conv2DGradW(p nn.ConvParams, x, dy, dw *tensor.Dense) {
	c.timed(p, func() { c.Kernels.Conv2DGradW(p, x, dy, dw) })
}

// reset zeroes the counts (after the warm-up).
func (c *convCounter) reset() {
	c.flops.Store(0)
	c.nanos.Store(0)
	c.calls.Store(0)
}

// totals returns the FLOPs, seconds and calls counted since the reset.
func (c *convCounter) totals() (flops int64, secs float64, calls int64) {
	return c.flops.Load(), time.Duration(c.nanos.Load()).Seconds(), c.calls.Load()
}
