package coordinator

import (
	"fmt"

	"github.com/synthfed/synthfed/model"
	"github.com/synthfed/synthfed/protocol/fedpb"
)

// Aggregator folds one round's accepted updates into their weighted mean.
// It must not keep the updates it is given: its memory is O(model size)
// however many sites report. Secure aggregation plugs in here with a
// masked-sum Aggregator that also implements PhaseHandler.
type Aggregator interface {
	// Add folds update u with weight (the site's sample count). u has
	// already been validated against the round's specs.
	Add(site string, u model.Weights, weight float64) error
	// Count returns the number of folded updates.
	Count() int
	// Result returns the weighted mean of the folded updates.
	Result() (model.Weights, error)
}

// AggregatorFactory makes the Aggregator of one round for the shared
// tensors' specs.
type AggregatorFactory func(specs []model.TensorSpec) (Aggregator, error)

// WeightedSum is the plain streaming Aggregator: a running float64 sum of
// weight*update per value and the total weight. Memory is 8 bytes per
// parameter, independent of the number of sites.
type WeightedSum struct {
	specs []model.TensorSpec
	sum   []float64
	total float64
	n     int
}

// NewWeightedSum returns an empty WeightedSum for specs.
func NewWeightedSum(specs []model.TensorSpec) (Aggregator, error) {
	n := 0
	for _, s := range specs {
		k, ok := model.NumElements(s.Shape)
		if !ok {
			return nil, fmt.Errorf("aggregate: tensor %q shape %v: %w", s.Name, s.Shape, model.ErrShape)
		}
		n += k
	}
	return &WeightedSum{specs: specs, sum: make([]float64, n)}, nil
}

// Add folds u into the running sum.
func (a *WeightedSum) Add(site string, u model.Weights, weight float64) error {
	if !(weight > 0) {
		return fmt.Errorf("aggregate: site %s weight %v: %w", site, weight, ErrSamples)
	}
	if err := a.fits(site, u); err != nil {
		return err // checked first: a refused update leaves no trace
	}
	off := 0
	for _, t := range u.Tensors() {
		s := a.sum[off : off+len(t.Data)]
		for j, v := range t.Data {
			s[j] += weight * float64(v)
		}
		off += len(t.Data)
	}
	a.total += weight
	a.n++
	return nil
}

func (a *WeightedSum) fits(site string, u model.Weights) error {
	ts := u.Tensors()
	if len(ts) != len(a.specs) {
		return fmt.Errorf("aggregate: site %s sent %d tensors, want %d: %w", site, len(ts), len(a.specs), model.ErrShape)
	}
	for i, t := range ts {
		n, _ := model.NumElements(a.specs[i].Shape)
		if t.Name != a.specs[i].Name || len(t.Data) != n {
			return fmt.Errorf("aggregate: site %s tensor %q: %w", site, t.Name, model.ErrShape)
		}
	}
	return nil
}

// Count returns the number of folded updates.
func (a *WeightedSum) Count() int { return a.n }

// Result returns sum/total rounded to float32.
func (a *WeightedSum) Result() (model.Weights, error) {
	if a.n == 0 {
		return model.Weights{}, fmt.Errorf("aggregate: no updates")
	}
	flat := make([]float32, len(a.sum))
	for i, v := range a.sum {
		flat[i] = float32(v / a.total)
	}
	return model.Unflatten(a.specs, flat)
}

// PhaseHandler is implemented by aggregators that need round phases beyond
// train/upload (secure aggregation's key exchange and unmasking). The
// Exchange RPC routes a site's PhaseMessage for the active round to it.
type PhaseHandler interface {
	// HandlePhase answers one phase message from site.
	HandlePhase(site string, msg *fedpb.PhaseMessage) (*fedpb.PhaseMessage, error)
}
