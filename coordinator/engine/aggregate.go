package engine

import (
	"fmt"

	"github.com/synthfed/synthfed/model"
)

// WeightedSum is a plain round's streaming aggregate of the sites' local
// models (the shared tensors of the weights each site trained, not
// deltas): a running float64 sum of weight*value and the total weight.
// Memory is 8 bytes per parameter, independent of the number of sites,
// and it keeps no site's model.
type WeightedSum struct {
	specs []model.TensorSpec
	sum   []float64
	total float64
	n     int
}

// NewWeightedSum returns an empty WeightedSum for specs.
func NewWeightedSum(specs []model.TensorSpec) (*WeightedSum, error) {
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

// Add folds a site's local model into the running sum with weight (its
// sample count). local has been validated against the round's specs.
func (a *WeightedSum) Add(site string, local model.Weights, weight float64) error {
	if !(weight > 0) {
		return fmt.Errorf("aggregate: site %s weight %v: %w", site, weight, ErrSamples)
	}
	if err := a.fits(site, local); err != nil {
		return err // checked first: a refused model leaves no trace
	}
	off := 0
	for _, t := range local.Tensors() {
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

// Mean returns the mean model: sum/total rounded to float32.
func (a *WeightedSum) Mean() (model.Weights, error) {
	if a.n == 0 {
		return model.Weights{}, fmt.Errorf("aggregate: no updates")
	}
	flat := make([]float32, len(a.sum))
	for i, v := range a.sum {
		flat[i] = float32(v / a.total)
	}
	return model.Unflatten(a.specs, flat)
}
