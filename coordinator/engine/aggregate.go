package engine

import (
	"fmt"

	"github.com/synthfed/synthfed/model"
)

// DefaultFloat64SumMax is the largest model (in values) whose plain sum
// WeightedSum keeps in float64; larger models are summed as float32
// deltas from the global model, so that the coordinator holds about two
// models (the global one and the sum) whatever the number of sites.
const DefaultFloat64SumMax = 1 << 24

// WeightedSum is a plain round's streaming aggregate of the sites' local
// models (the shared tensors of the weights each site trained, not
// deltas), weighted by their sample counts. It keeps no site's model.
//
// Two accumulators, chosen by the model's size:
//   - up to the float64 limit: sum of weight*value in float64 (8 bytes per
//     parameter), rounded once to float32 by Mean;
//   - above it: sum of weight*(value - base) in float32 (4 bytes per
//     parameter), and Mean = base + sum/total. The rounding error is
//     relative to the deltas, which are small next to the weights, so the
//     mean is within a few float32 ulps of the float64 one. Mean builds
//     the result in the accumulator's memory, which ends the sum.
type WeightedSum struct {
	specs []model.TensorSpec
	base  model.Weights // the global model (float32 mode)
	sum64 []float64
	sum32 []float32
	total float64
	n     int
	taken bool // Mean built the result in sum32
	lost  bool // a body failed to read back half-folded
}

// NewWeightedSum returns an empty WeightedSum of models like base (the
// shared tensors of the global model). float64Max is the largest model,
// in values, summed in float64 (0: DefaultFloat64SumMax; negative: none).
func NewWeightedSum(base model.Weights, float64Max int) (*WeightedSum, error) {
	specs := base.Specs()
	n, err := bodyValues(specs)
	if err != nil {
		return nil, fmt.Errorf("aggregate: %w", err)
	}
	if float64Max == 0 {
		float64Max = DefaultFloat64SumMax
	}
	a := &WeightedSum{specs: specs}
	if n <= float64Max {
		a.sum64 = make([]float64, n)
	} else {
		a.base, a.sum32 = base, make([]float32, n)
	}
	return a, nil
}

// Float32 reports whether the sum is kept as float32 deltas.
func (a *WeightedSum) Float32() bool { return a.sum32 != nil }

// Add folds a site's local model into the running sum with weight (its
// sample count). local has been validated against the round's specs.
func (a *WeightedSum) Add(site string, local model.Weights, weight float64) error {
	return a.AddBody(site, WeightsBody(local), weight)
}

// AddBody is Add for a model read in pieces. body has been validated
// (ValidateBody): its specs are checked again first, so that a refused
// model leaves no trace, but its values are read once.
func (a *WeightedSum) AddBody(site string, body UpdateBody, weight float64) error {
	switch {
	case a.taken || a.lost:
		return fmt.Errorf("aggregate: site %s: the sum is closed (mean taken or sum lost)", site)
	case !(weight > 0):
		return fmt.Errorf("aggregate: site %s weight %v: %w", site, weight, ErrSamples)
	}
	if err := sameSpecs(a.specs, body.Specs()); err != nil {
		return fmt.Errorf("aggregate: site %s: %w", site, err)
	}
	off := 0
	var err error
	if a.sum64 != nil {
		err = body.Each(func(v []float32) error {
			if off+len(v) > len(a.sum64) {
				return fmt.Errorf("aggregate: site %s: more values than the model holds: %w", site, model.ErrShape)
			}
			s := a.sum64[off : off+len(v)]
			for j, x := range v {
				s[j] += weight * float64(x)
			}
			off += len(v)
			return nil
		})
	} else {
		w := float32(weight)
		err = pairs(a.base, body, func(v, g []float32, _ string, _ int) error {
			s := a.sum32[off : off+len(v)]
			for j, x := range v {
				s[j] += w * (x - g[j])
			}
			off += len(v)
			return nil
		})
	}
	if err != nil {
		// The body is a validated spool that failed to read back: the sum
		// holds part of it and cannot go on.
		a.lost = true
		return fmt.Errorf("aggregate: site %s: %w (the round's sum is lost)", site, err)
	}
	a.total += weight
	a.n++
	return nil
}

// Count returns the number of folded updates.
func (a *WeightedSum) Count() int { return a.n }

// Mean returns the mean model rounded to float32. In float32 mode it is
// built in the accumulator, and the WeightedSum takes no more updates.
func (a *WeightedSum) Mean() (model.Weights, error) {
	switch {
	case a.n == 0:
		return model.Weights{}, fmt.Errorf("aggregate: no updates")
	case a.lost:
		return model.Weights{}, fmt.Errorf("aggregate: the sum was lost: an update failed to read back half-folded")
	}
	if a.sum64 != nil {
		flat := make([]float32, len(a.sum64))
		for i, v := range a.sum64 {
			flat[i] = float32(v / a.total)
		}
		return unflattenShared(a.specs, flat)
	}
	if !a.taken {
		a.taken = true
		inv := 1 / a.total
		off := 0
		for _, t := range a.base.Tensors() {
			s := a.sum32[off : off+len(t.Data)]
			for j, g := range t.Data {
				s[j] = float32(float64(g) + float64(s[j])*inv)
			}
			off += len(t.Data)
		}
	}
	return unflattenShared(a.specs, a.sum32)
}

// unflattenShared builds weights of specs over flat's memory (no copy).
func unflattenShared(specs []model.TensorSpec, flat []float32) (model.Weights, error) {
	ts := make([]model.Tensor, len(specs))
	off := 0
	for i, s := range specs {
		k, _ := model.NumElements(s.Shape)
		if off+k > len(flat) {
			return model.Weights{}, fmt.Errorf("aggregate: %d values for specs of more: %w", len(flat), model.ErrShape)
		}
		ts[i] = model.Tensor{Name: s.Name, Shape: s.Shape, Data: flat[off : off+k : off+k]}
		off += k
	}
	return model.NewWeights(ts...)
}
