package device

import (
	"errors"
	"fmt"

	"github.com/synthfed/synthfed/model/device/opencl"
	"github.com/synthfed/synthfed/model/nn"
	G "gorgonia.org/gorgonia"
)

// addNN plans a model/nn op: its storages in runOp's order.
func (c *compiler) addNN(n *G.Node, d nn.OpDesc, kids []*G.Node) error {
	size := n.Shape().TotalSize()
	in := instr{kind: insNN, desc: d, what: d.Kind.String()}
	val := func() int { return c.newStorage(size, false) }
	switch d.Kind {
	case nn.OpNoGrad: // the value passes through: nothing writes a node's inputs
		return c.alias(n, kids[0], -1)
	case nn.OpGradPart:
		return c.alias(n, kids[0], d.Index)
	case nn.OpConv2D:
		if !d.Bias {
			kids = append(kids, nil)
		}
		return c.emit(n, in, kids, []int{val()}, 0)
	case nn.OpGroupNorm:
		st := c.newStorage(2*d.Norm.N*d.Norm.Groups, true)
		c.states[d.State] = st
		return c.emit(n, in, kids, []int{val(), st}, 0)
	case nn.OpGroupNormGrad:
		st, ok := c.states[d.State]
		if !ok {
			return fmt.Errorf("device: node %s: GroupNorm backward before its forward: %w", n.Name(), ErrUnsupportedOp)
		}
		p := d.Norm
		outs := []int{val(), c.newStorage(p.C, false), c.newStorage(p.C, false), c.newStorage(2*p.N*p.C, false)}
		c.parts[n] = outs[1:3]
		if err := c.emit(n, in, kids, outs, 0); err != nil {
			return err
		}
		last := &c.instrs[len(c.instrs)-1]
		last.in = append(last.in, st)
		return nil
	case nn.OpAttention:
		if d.Packed {
			kids = []*G.Node{kids[0], kids[0], kids[0]}
		}
		return c.emit(n, in, kids, []int{val()}, 0)
	case nn.OpAttentionGrad:
		v := val()
		if d.Packed {
			return c.emit(n, in, []*G.Node{kids[0], kids[0], kids[0], kids[1]}, []int{v, v, v}, 0)
		}
		outs := []int{v, c.newStorage(size, false), c.newStorage(size, false)}
		c.parts[n] = outs[1:]
		return c.emit(n, in, kids, outs, 0)
	case nn.OpBCEMasked:
		return c.emit(n, in, kids, []int{c.newStorage(2, false)}, 0)
	case nn.OpBCEMaskedGrad, nn.OpMSEGrad:
		return c.addLossGrad(n, in, kids, val())
	}
	return c.emit(n, in, kids, []int{val()}, 0)
}

// addLossGrad plans a loss's backward op, whose last input is the
// incoming scalar gradient: a constant (the loss seed) read at compile time.
func (c *compiler) addLossGrad(n *G.Node, in instr, kids []*G.Node, v int) error {
	last := kids[len(kids)-1]
	g, ok := c.consts[last]
	if !ok {
		return fmt.Errorf("device: node %s: the gradient %s is not a constant scalar: %w", n.Name(), last.Name(), ErrUnsupportedOp)
	}
	in.g = g
	kids = kids[:len(kids)-1]
	switch {
	case in.desc.Kind == nn.OpBCEMaskedGrad:
		return c.emit(n, in, kids, []int{v, c.newStorage(2, false)}, 0)
	case in.desc.Second:
		return c.emit(n, in, kids, []int{-1, v}, 1)
	}
	return c.emit(n, in, kids, []int{v, -1}, 0)
}

// alias makes n's value the value of src (part < 0) or its part.
func (c *compiler) alias(n, src *G.Node, part int) error {
	s, ok := c.node[src]
	if part >= 0 {
		parts := c.parts[src]
		if ok = part < len(parts); ok {
			s = parts[part]
		}
	}
	if !ok {
		return fmt.Errorf("device: node %s: no value %d of %s: %w", n.Name(), part, src.Name(), ErrUnsupportedOp)
	}
	c.node[n] = s
	return nil
}

// emit records an instruction reading kids (nil: an absent input) and
// writing outs (-1: absent); outs[val] is the node's value.
func (c *compiler) emit(n *G.Node, in instr, kids []*G.Node, outs []int, val int) error {
	for _, k := range kids {
		if k == nil {
			in.in = append(in.in, -1)
			continue
		}
		s, ok := c.node[k]
		if !ok {
			return fmt.Errorf("device: node %s: input %s has no device value: %w", n.Name(), k.Name(), ErrUnsupportedOp)
		}
		in.in = append(in.in, s)
	}
	in.out = outs
	c.node[n] = outs[val]
	c.instrs = append(c.instrs, in)
	return nil
}

// allocate gives each storage a buffer. A storage that is not pinned
// lives from the instruction that writes it to the last one that reads
// it; after that its buffer serves a later storage of the same size.
func (c *compiler) allocate(ops *opencl.Ops) (*Program, error) {
	last := make([]int, len(c.sizes))
	for i := range last {
		last[i] = -1
	}
	for i, in := range c.instrs {
		for _, s := range append(append([]int(nil), in.in...), in.out...) {
			if s >= 0 {
				last[s] = i
			}
		}
	}
	phys := make([]int, len(c.sizes))
	for i := range phys {
		phys[i] = -1
	}
	var bufSizes []int
	free := map[int][]int{}
	assign := func(s int) {
		if phys[s] >= 0 || c.fixed[s] != nil {
			return
		}
		if l := free[c.sizes[s]]; len(l) > 0 {
			phys[s], free[c.sizes[s]] = l[len(l)-1], l[:len(l)-1]
			return
		}
		phys[s] = len(bufSizes)
		bufSizes = append(bufSizes, c.sizes[s])
	}
	for s := range c.sizes {
		if c.pinned[s] {
			assign(s)
		}
	}
	for i, in := range c.instrs {
		for _, s := range in.out {
			if s >= 0 {
				assign(s)
			}
		}
		done := map[int]bool{}
		for _, s := range append(append([]int(nil), in.in...), in.out...) {
			if s >= 0 && !c.pinned[s] && last[s] == i && !done[s] {
				done[s] = true
				free[c.sizes[s]] = append(free[c.sizes[s]], phys[s])
			}
		}
	}
	p := &Program{ops: ops, instrs: c.instrs, node: map[*G.Node]int{}}
	bufs := make([]*opencl.Buffer, len(bufSizes))
	for i, n := range bufSizes {
		b, err := ops.Context().NewBuffer(n)
		if err != nil {
			for _, b := range bufs[:i] {
				b.Release()
			}
			return nil, fmt.Errorf("device: program buffers (%d of %d): %w", i, len(bufSizes), err)
		}
		bufs[i] = b
	}
	p.store = make([]*opencl.Buffer, len(c.sizes))
	for s, b := range phys {
		if b >= 0 {
			p.store[s] = bufs[b]
		}
	}
	for s, b := range c.fixed {
		p.store[s] = b
	}
	p.bufs = bufs
	for n, s := range c.node {
		p.node[n] = s
	}
	return p, nil
}

// buffer returns node n's device buffer (nil when it has none).
func (p *Program) buffer(n *G.Node) *opencl.Buffer {
	s, ok := p.node[n]
	if !ok || s < 0 {
		return nil
	}
	return p.store[s]
}

// Bytes returns the device memory of the program's values.
func (p *Program) Bytes() int64 {
	var n int64
	for _, b := range p.bufs {
		n += int64(b.Len()) * 4
	}
	return n
}

// run enqueues every instruction.
func (p *Program) run() error {
	get := func(ss []int) []*opencl.Buffer {
		out := make([]*opencl.Buffer, len(ss))
		for i, s := range ss {
			if s >= 0 {
				out[i] = p.store[s]
			}
		}
		return out
	}
	for i, in := range p.instrs {
		var err error
		ib, ob := get(in.in), get(in.out)
		switch in.kind {
		case insNN:
			err = runOp(p.ops, in.desc, ib, ob, in.g)
		case insMatMul:
			err = p.ops.SGEMM(in.transA, in.transB, in.m, in.n, in.k, 1, ib[0], ib[1], 0, ob[0])
		case insAdd:
			err = p.ops.Add(ib[0], ib[1], ob[0])
		}
		if err != nil {
			return fmt.Errorf("device: instruction %d (%s): %w", i, in.what, err)
		}
	}
	return nil
}

// Close frees the program's buffers.
func (p *Program) Close() error {
	var errs []error
	for _, b := range p.bufs {
		errs = append(errs, b.Release())
	}
	p.bufs, p.store = nil, nil
	return errors.Join(errs...)
}
