package graph

import "github.com/synthfed/synthfed/model"

// Recipe is how an engine package's architecture yields its tensors:
// Validate checks the architecture, and Build adds its graph (batch 1) to a
// Builder. Recording the graph on a spec builder, which allocates no
// weights, is what gives the tensor specs and the initial weights, so the
// two can never disagree with the graph that trains.
type Recipe struct {
	Validate func() error
	Build    func(b *Builder) error
}

// record validates the architecture and builds its graph on a spec builder.
func (r Recipe) record() (*Builder, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	b := NewSpecBuilder()
	if err := r.Build(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Specs returns the architecture's tensors, sorted by name.
func (r Recipe) Specs() ([]model.TensorSpec, error) {
	b, err := r.record()
	if err != nil {
		return nil, err
	}
	return b.Specs(), nil
}

// InitWeights returns freshly initialised weights of the architecture.
func (r Recipe) InitWeights(seed int64) (model.Weights, error) {
	b, err := r.record()
	if err != nil {
		return model.Weights{}, err
	}
	return InitWeights(b.Params(), seed)
}

// RegisterArch registers an architecture name with model.RegisterArch:
// parse turns a checkpoint's architecture config into the Recipe whose
// Specs the checkpoint must match.
func RegisterArch(name string, parse func(cfg []byte) (Recipe, error)) {
	model.RegisterArch(name, func(cfg []byte) ([]model.TensorSpec, error) {
		r, err := parse(cfg)
		if err != nil {
			return nil, err
		}
		return r.Specs()
	})
}
