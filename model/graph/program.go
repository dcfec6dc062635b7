package graph

import (
	"fmt"

	"github.com/synthfed/synthfed/model/optim"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Program is a compiled graph with its machine. A training program also
// computes the gradients of a scalar loss with respect to every parameter;
// they accumulate in gorgonia's dual values until ZeroGrad clears them.
type Program struct {
	b      *Builder
	vm     G.VM
	train  bool
	params []optim.Param
}

// Reader registers a node whose value is read after each run; it must be
// called before compiling. It returns a pointer that holds the value after
// Run (the memory is reused by the next run: copy what you keep).
type Reader struct {
	v *G.Value
}

// Value returns the node's value from the last run as float32s.
func (r Reader) Value() []float32 {
	if r.v == nil || *r.v == nil {
		return nil
	}
	return (*r.v).Data().([]float32)
}

// Scalar returns the value of a scalar node from the last run.
func (r Reader) Scalar() float32 {
	if r.v == nil || *r.v == nil {
		return 0
	}
	switch d := (*r.v).Data().(type) {
	case float32:
		return d
	case []float32:
		return d[0]
	}
	return 0
}

// Read adds a read of n to the graph, before compilation.
func Read(n *G.Node) Reader {
	var v G.Value
	G.Read(n, &v)
	return Reader{v: &v}
}

// NewTrainProgram adds the backward pass of loss to b's graph and compiles
// it with the parameters' gradients bound to dual values.
func NewTrainProgram(b *Builder, loss *G.Node) (*Program, error) {
	if err := b.Err(); err != nil {
		return nil, err
	}
	nodes := b.Nodes()
	if _, err := G.Grad(loss, nodes...); err != nil {
		return nil, fmt.Errorf("graph: gradient: %w", err)
	}
	vm := G.NewTapeMachine(b.G, G.BindDualValues(nodes...))
	return &Program{b: b, vm: vm, train: true}, nil
}

// NewInferProgram compiles b's graph for the forward pass only.
func NewInferProgram(b *Builder) (*Program, error) {
	if err := b.Err(); err != nil {
		return nil, err
	}
	return &Program{b: b, vm: G.NewTapeMachine(b.G)}, nil
}

// Let binds an input node to a float32 slice of its shape (not copied: the
// slice must stay unchanged until Run returns).
func Let(n *G.Node, data []float32) error {
	return G.Let(n, tensor.New(tensor.WithShape(n.Shape()...), tensor.WithBacking(data)))
}

// Run executes the program once.
func (p *Program) Run() error {
	defer p.vm.Reset()
	if err := p.vm.RunAll(); err != nil {
		return fmt.Errorf("graph: run: %w", err)
	}
	return nil
}

// Params returns every parameter's value and accumulated gradient slices,
// in declaration order, for the optimiser. Only for training programs.
func (p *Program) Params() ([]optim.Param, error) {
	if !p.train {
		return nil, fmt.Errorf("graph: inference program has no gradients")
	}
	if p.params == nil {
		for _, prm := range p.b.Params() {
			g, err := prm.Node.Grad()
			if err != nil || g == nil {
				return nil, fmt.Errorf("graph: parameter %q has no gradient: %v", prm.Name, err)
			}
			p.params = append(p.params, optim.Param{
				Name:  prm.Name,
				Value: prm.Node.Value().Data().([]float32),
				Grad:  g.Data().([]float32),
			})
		}
	}
	return p.params, nil
}

// ZeroGrad clears the accumulated gradients.
func (p *Program) ZeroGrad() error {
	ps, err := p.Params()
	if err != nil {
		return err
	}
	for _, q := range ps {
		clear(q.Grad)
	}
	return nil
}
