package graph

import (
	"fmt"
	"sort"
	"strings"

	"github.com/synthfed/synthfed/model"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// InitKind names a parameter initialiser.
type InitKind int

// The initialisers.
const (
	// InitUniform draws from U(-b, b) with b = Gain/sqrt(FanIn): with Gain 1
	// this is PyTorch's default for Linear and Conv2d weights and biases.
	InitUniform InitKind = iota
	// InitZeros fills with 0.
	InitZeros
	// InitOnes fills with 1.
	InitOnes
	// InitNormal draws from N(0, Gain^2).
	InitNormal
)

// Init describes how a parameter is initialised.
type Init struct {
	Kind  InitKind
	FanIn int
	Gain  float64
}

// Uniform is PyTorch's default initialiser for a layer of fan-in fanIn.
func Uniform(fanIn int) Init { return Init{Kind: InitUniform, FanIn: fanIn, Gain: 1} }

// Zeros initialises to 0 (biases of zero-initialised output layers, norm shifts).
func Zeros() Init { return Init{Kind: InitZeros} }

// Ones initialises to 1 (norm scales).
func Ones() Init { return Init{Kind: InitOnes} }

// Param is one named parameter of a graph.
type Param struct {
	// Name is the full dotted name, as in model.Weights.
	Name string
	// Shape is the tensor shape (PyTorch layout).
	Shape []int
	// Init is how Init fills it.
	Init Init
	// Node is the gorgonia node.
	Node *G.Node
}

// Builder creates parameter nodes while a network is built. When bound to
// weights, each node's value shares its backing slice with the tensor of
// the same name, so optimiser updates to the weights are seen by the graph
// and vice versa.
type Builder struct {
	// G is the graph being built.
	G      *G.ExprGraph
	prefix string
	st     *state
}

type state struct {
	params  []*Param
	byName  map[string]*Param
	bound   model.Weights
	collect bool
	errs    []error
}

// NewBuilder starts a graph whose parameters take their values from w. A
// parameter absent from w, or of another shape, is an error reported by Err.
func NewBuilder(w model.Weights) *Builder {
	return &Builder{G: G.NewGraph(), st: &state{byName: map[string]*Param{}, bound: w}}
}

// NewSpecBuilder returns a builder whose parameters have no values and are
// bound to no weights. Build a network on it (at batch
// size 1, never run) to list the architecture's tensors with Specs and to
// initialise them with InitWeights.
func NewSpecBuilder() *Builder {
	return &Builder{G: G.NewGraph(), st: &state{byName: map[string]*Param{}, collect: true}}
}

// Scope returns a builder whose parameter names are prefixed by name + ".".
func (b *Builder) Scope(name string) *Builder {
	return &Builder{G: b.G, prefix: b.prefix + name + ".", st: b.st}
}

// Name returns the full name of a parameter called name in this scope.
func (b *Builder) Name(name string) string { return b.prefix + name }

// Param declares a float32 parameter and returns its node. Declaring a
// name twice is an error.
func (b *Builder) Param(name string, shape []int, init Init) *G.Node {
	full := b.prefix + name
	if _, dup := b.st.byName[full]; dup {
		b.st.errs = append(b.st.errs, fmt.Errorf("parameter %q: %w", full, model.ErrDuplicate))
		return nil
	}
	p := &Param{Name: full, Shape: append([]int(nil), shape...), Init: init}
	b.st.params = append(b.st.params, p)
	b.st.byName[full] = p
	if b.st.collect {
		// A spec build is never run: its parameters need no values, so a
		// config claiming a huge network costs nothing here.
		p.Node = G.NewTensor(b.G, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(full))
		return p.Node
	}
	t, ok := b.st.bound.Get(full)
	var data []float32
	switch {
	case !ok:
		b.st.errs = append(b.st.errs, fmt.Errorf("parameter %q: %w", full, model.ErrMissing))
		n, _ := model.NumElements(shape)
		data = make([]float32, n)
	case !sameShape(t.Shape, shape):
		b.st.errs = append(b.st.errs, fmt.Errorf("parameter %q: weights have shape %v, network wants %v: %w", full, t.Shape, shape, model.ErrShape))
		n, _ := model.NumElements(shape)
		data = make([]float32, n)
	default:
		data = t.Data
	}
	val := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	p.Node = G.NewTensor(b.G, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(full), G.WithValue(val))
	return p.Node
}

// Input declares a float32 input node of the given shape, set before each
// run with gorgonia.Let.
func (b *Builder) Input(name string, shape ...int) *G.Node {
	return G.NewTensor(b.G, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(b.prefix+name))
}

// Params returns the parameters in declaration order.
func (b *Builder) Params() []*Param { return b.st.params }

// Nodes returns the parameter nodes in declaration order.
func (b *Builder) Nodes() G.Nodes {
	out := make(G.Nodes, len(b.st.params))
	for i, p := range b.st.params {
		out[i] = p.Node
	}
	return out
}

// Specs returns the parameters' names and shapes, sorted by name as in
// model.Weights.
func (b *Builder) Specs() []model.TensorSpec {
	out := make([]model.TensorSpec, len(b.st.params))
	for i, p := range b.st.params {
		out[i] = model.TensorSpec{Name: p.Name, Shape: append([]int(nil), p.Shape...)}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Err reports every problem met while building: duplicate names, and
// weights missing, extra or of the wrong shape for a bound build.
func (b *Builder) Err() error {
	errs := append([]error(nil), b.st.errs...)
	if !b.st.collect {
		for _, t := range b.st.bound.Tensors() {
			if _, ok := b.st.byName[t.Name]; !ok {
				errs = append(errs, fmt.Errorf("tensor %q: not a parameter of the network: %w", t.Name, model.ErrMissing))
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	var msg []string
	for _, e := range errs {
		msg = append(msg, e.Error())
	}
	return &BuildError{Errs: errs, msg: strings.Join(msg, "; ")}
}

// BuildError lists every problem of one build; errors.Is matches any of
// them (model.ErrMissing, model.ErrShape, model.ErrDuplicate).
type BuildError struct {
	Errs []error
	msg  string
}

// Error joins the problems.
func (e *BuildError) Error() string { return "build network: " + e.msg }

// Unwrap returns the problems for errors.Is and errors.As.
func (e *BuildError) Unwrap() []error { return e.Errs }

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
