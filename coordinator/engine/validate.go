package engine

import (
	"fmt"
	"math"

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
