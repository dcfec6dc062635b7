package engine

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/synthfed/synthfed/model"
)

// ValidateUpdate checks a site's update against the shared part of the
// global model: the same tensor names and shapes, finite values, a usable
// sample count and, when bound.MaxUpdateNorm > 0, an L2 distance from
// global within the bound. The error names the site and wraps the sentinel
// that ReasonOf classifies.
func ValidateUpdate(site string, global, u model.Weights, samples int64, bound ValidationSpec) error {
	if samples <= 0 || (bound.MaxSamples > 0 && samples > bound.MaxSamples) {
		return fmt.Errorf("site %s: %d samples (max %d): %w", site, samples, bound.MaxSamples, ErrSamples)
	}
	if err := global.CheckSameSpec(u); err != nil {
		return fmt.Errorf("site %s: %w", site, err)
	}
	if err := u.CheckFinite(); err != nil {
		return fmt.Errorf("site %s: %w", site, err)
	}
	if bound.MaxUpdateNorm > 0 {
		if d := distance(global, u); d > bound.MaxUpdateNorm {
			return fmt.Errorf("site %s: update distance %.4g > %.4g: %w", site, d, bound.MaxUpdateNorm, ErrNormBound)
		}
	}
	return nil
}

// ValidateBody is ValidateUpdate for an update read in pieces: the same
// checks in one pass over body, which it does not keep.
func ValidateBody(site string, global model.Weights, body UpdateBody, samples int64, bound ValidationSpec) error {
	if samples <= 0 || (bound.MaxSamples > 0 && samples > bound.MaxSamples) {
		return fmt.Errorf("site %s: %d samples (max %d): %w", site, samples, bound.MaxSamples, ErrSamples)
	}
	if err := sameSpecs(global.Specs(), body.Specs()); err != nil {
		return fmt.Errorf("site %s: %w", site, err)
	}
	var d2 float64
	n := 0
	err := pairs(global, body, func(u, g []float32, tensor string, at int) error {
		for j, v := range u {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("tensor %q index %d = %v: %w", tensor, at+j, v, model.ErrNonFinite)
			}
			d := float64(v) - float64(g[j])
			d2 += d * d
		}
		n += len(u)
		return nil
	})
	if err == nil && n != global.NumParams() {
		err = fmt.Errorf("%d of the model's %d values: %w", n, global.NumParams(), model.ErrShape)
	}
	if err != nil {
		return fmt.Errorf("site %s: %w", site, err)
	}
	if d := math.Sqrt(d2); bound.MaxUpdateNorm > 0 && d > bound.MaxUpdateNorm {
		return fmt.Errorf("site %s: update distance %.4g > %.4g: %w", site, d, bound.MaxUpdateNorm, ErrNormBound)
	}
	return nil
}

// sameSpecs reports every tensor of got whose name or shape differs from
// want's (both in canonical order), as Weights.CheckSameSpec does.
func sameSpecs(want, got []model.TensorSpec) error {
	byName := make(map[string][]int, len(got))
	for _, s := range got {
		byName[s.Name] = s.Shape
	}
	var errs []error
	seen := make(map[string]bool, len(want))
	for _, s := range want {
		seen[s.Name] = true
		shape, ok := byName[s.Name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("tensor %q: %w", s.Name, model.ErrMissing))
		case !slices.Equal(shape, s.Shape):
			errs = append(errs, fmt.Errorf("tensor %q: shape %v, want %v: %w", s.Name, shape, s.Shape, model.ErrShape))
		}
	}
	for _, s := range got {
		if !seen[s.Name] {
			errs = append(errs, fmt.Errorf("tensor %q: unexpected: %w", s.Name, model.ErrMissing))
		}
	}
	if len(errs) == 0 && len(want) != len(got) {
		errs = append(errs, fmt.Errorf("%d tensors, want %d: %w", len(got), len(want), model.ErrShape))
	}
	return errors.Join(errs...)
}

// distance returns the L2 norm of u - g for weights of the same specs.
func distance(g, u model.Weights) float64 {
	var s float64
	for i, t := range g.Tensors() {
		ut := u.Tensors()[i]
		for j, v := range t.Data {
			d := float64(ut.Data[j]) - float64(v)
			s += d * d
		}
	}
	return math.Sqrt(s)
}
