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
