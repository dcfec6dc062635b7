package device

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/synthfed/synthfed/model/device/opencl"
	"github.com/synthfed/synthfed/model/nn"
	G "gorgonia.org/gorgonia"
)

// Program runs a gorgonia graph's nodes on the device without gorgonia's
// machine: every node value is a device buffer (buffers are shared between
// values whose lifetimes do not overlap), the nodes run in topological
// order through runOp, and only the bound inputs and the read outputs
// cross to the host. It is the core of the resident training step and of
// the forward pass.
type Program struct {
	ops    *opencl.Ops
	instrs []instr
	// store is each storage's buffer; node maps a node to its storage.
	store []*opencl.Buffer
	node  map[*G.Node]int
	// bufs are the distinct buffers behind store.
	bufs []*opencl.Buffer
}

// instrKind is what an instruction runs.
type instrKind int

const (
	insNN     instrKind = iota // a model/nn op (runOp)
	insMatMul                  // gorgonia's 2-D matrix product
	insAdd                     // gorgonia's same-shape elementwise +
)

// instr is one node's computation: storages read and written.
type instr struct {
	kind instrKind
	desc nn.OpDesc
	in   []int // -1: absent
	out  []int // -1: absent
	g    float32
	// The product's op(A) (m x k) times op(B) (k x n).
	transA, transB bool
	m, n, k        int
	what           string
}

// compiler builds a Program.
type compiler struct {
	g      *G.ExprGraph
	node   map[*G.Node]int
	sizes  []int
	pinned []bool
	consts map[*G.Node]float32
	parts  map[*G.Node][]int // a multi-output node's parts
	states map[any]int       // GroupNorm statistics by state
	instrs []instr
	fixed  map[int]*opencl.Buffer // storages with the caller's buffers
}

// children returns n's inputs in argument order.
func children(g *G.ExprGraph, n *G.Node) []*G.Node {
	var out []*G.Node
	it := g.From(n.ID())
	for it.Next() {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}

// needed returns the nodes that outputs depend on.
func needed(g *G.ExprGraph, outputs []*G.Node) map[*G.Node]bool {
	seen := map[*G.Node]bool{}
	stack := slices.Clone(outputs)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		stack = append(stack, children(g, n)...)
	}
	return seen
}

// newStorage adds a storage of size values.
func (c *compiler) newStorage(size int, pinned bool) int {
	c.sizes = append(c.sizes, max(size, 1))
	c.pinned = append(c.pinned, pinned)
	return len(c.sizes) - 1
}

// compile plans the nodes that outputs need, in execution order. leaves
// are the bound nodes (parameters and inputs), pinned like the outputs.
// fixed gives some nodes' values a buffer of the caller's (of their size);
// a node whose storage another fixed node took first keeps that one, so a
// caller compares buffer(n) with what it asked for.
func compile(ops *opencl.Ops, g *G.ExprGraph, leaves, outputs []*G.Node, fixed map[*G.Node]*opencl.Buffer) (*Program, error) {
	sorted, err := G.Sort(g)
	if err != nil {
		return nil, fmt.Errorf("device: sort graph: %w", err)
	}
	slices.Reverse(sorted) // inputs first
	need := needed(g, outputs)
	c := &compiler{g: g, node: map[*G.Node]int{}, consts: map[*G.Node]float32{}, parts: map[*G.Node][]int{}, states: map[any]int{}}
	for _, n := range leaves {
		c.node[n] = c.newStorage(n.Shape().TotalSize(), true)
	}
	var errs []error
	for _, n := range sorted {
		if !need[n] {
			continue
		}
		if _, ok := c.node[n]; ok {
			continue
		}
		if err := c.add(n); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, n := range outputs {
		s, ok := c.node[n]
		if !ok {
			return nil, fmt.Errorf("device: output %s has no value: %w", n.Name(), ErrUnsupportedOp)
		}
		c.pinned[s] = true
	}
	c.fixed = map[int]*opencl.Buffer{}
	for n, b := range fixed {
		s, ok := c.node[n]
		if !ok {
			continue // not needed by the outputs
		}
		if b.Len() != c.sizes[s] {
			return nil, fmt.Errorf("device: node %s: buffer of %d values for %d: %w", n.Name(), b.Len(), c.sizes[s], ErrUnsupportedOp)
		}
		if _, taken := c.fixed[s]; !taken {
			c.fixed[s], c.pinned[s] = b, true
		}
	}
	return c.allocate(ops)
}

// add plans node n, whose children are planned.
func (c *compiler) add(n *G.Node) error {
	op := n.Op()
	kids := children(c.g, n)
	if op == nil {
		return fmt.Errorf("device: node %s is an unbound leaf: %w", n.Name(), ErrUnsupportedOp)
	}
	if len(kids) == 0 && n.IsScalar() && n.Value() != nil {
		v, err := scalarOf(n.Value())
		c.consts[n] = v
		return err
	}
	if d, ok := nn.Describe(op); ok {
		return c.addNN(n, d, kids)
	}
	s := op.String()
	size := n.Shape().TotalSize()
	switch {
	case strings.HasPrefix(s, "+ ") && len(kids) == 2 && n.Shape().Eq(kids[0].Shape()) && n.Shape().Eq(kids[1].Shape()):
		return c.emit(n, instr{kind: insAdd, what: s}, kids, []int{c.newStorage(size, false)}, 0)
	case strings.HasPrefix(s, "A") && strings.Contains(s, "× B") && len(kids) == 2 && n.Dims() == 2 &&
		kids[0].Dims() == 2 && kids[1].Dims() == 2:
		ta, tb := strings.HasPrefix(s, "Aᵀ"), strings.HasSuffix(s, "Bᵀ")
		as, bs := kids[0].Shape(), kids[1].Shape()
		m, k := as[0], as[1]
		if ta {
			m, k = k, m
		}
		cols := bs[1]
		if tb {
			cols = bs[0]
		}
		if got := n.Shape(); got[0] != m || got[1] != cols {
			break
		}
		return c.emit(n, instr{kind: insMatMul, transA: ta, transB: tb, m: m, n: cols, k: k, what: s}, kids, []int{c.newStorage(size, false)}, 0)
	}
	return fmt.Errorf("device: node %s: op %q (%T): %w", n.Name(), s, op, ErrUnsupportedOp)
}

// scalarOf returns a constant scalar's value.
func scalarOf(v G.Value) (float32, error) {
	switch s := v.(type) {
	case *G.F32:
		return float32(*s), nil
	case *G.F64:
		return float32(*s), nil
	}
	return 0, fmt.Errorf("device: constant %v of type %T: %w", v, v, ErrUnsupportedOp)
}
