package opencl

import "fmt"

// scratch returns the Ops' scratch buffer of n values for the role name,
// one per (name, size), kept for later calls until Release. The in-order
// queue makes reusing it across ops safe; the ops that use scratch hold
// o.mu, so that two goroutines never share one mid-op.
func (o *Ops) scratch(name string, n int) (*Buffer, error) {
	key := fmt.Sprintf("%s/%d", name, n)
	if b := o.scratchBufs[key]; b != nil {
		return b, nil
	}
	b, err := o.c.NewBuffer(n)
	if err != nil {
		return nil, fmt.Errorf("opencl: scratch %s of %d values: %w", name, n, err)
	}
	o.scratchBufs[key] = b
	return b, nil
}

// ScratchBytes returns the device memory of the scratch buffers kept so
// far (im2col columns, attention scores, per-sample filter gradients).
func (o *Ops) ScratchBytes() int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var n int64
	for _, b := range o.scratchBufs {
		n += int64(b.Len()) * 4
	}
	return n
}

// scratchAtLeast returns the one scratch buffer of the role name, of at
// least n values: grown (the old one released; OpenCL frees it once the
// commands using it have run) when a larger one is asked for. It serves
// roles whose users take a prefix (the im2col columns), so a network's
// convolutions share one buffer of the largest size instead of one per
// size. The caller holds o.mu.
func (o *Ops) scratchAtLeast(name string, n int) (*Buffer, error) {
	key := name + "/max"
	if b := o.scratchBufs[key]; b != nil && b.Len() >= n {
		return b, nil
	}
	b, err := o.c.NewBuffer(n)
	if err != nil {
		return nil, fmt.Errorf("opencl: scratch %s of %d values: %w", name, n, err)
	}
	if old := o.scratchBufs[key]; old != nil {
		old.Release()
	}
	o.scratchBufs[key] = b
	return b, nil
}
