package secagg

import (
	"math"

	"github.com/synthfed/synthfed/internal/config"
)

// Config holds the per-job secure-aggregation settings an operator chooses;
// the round's concrete Params are derived from it with Params once the
// roster size and vector length are known. It is loaded from TOML.
type Config struct {
	// ThresholdFraction sets t = ceil(ThresholdFraction * n): the fewest
	// sites that must survive every phase, and the number of shares that
	// recover a secret. It must be above 1/2 so that no two disjoint halves
	// can both reconstruct.
	ThresholdFraction float64 `toml:"threshold_fraction"`
	// MinThreshold is a floor on t, whatever the fraction gives.
	MinThreshold int `toml:"min_threshold"`
	// Clip is C: every pre-scaled element is clipped to [-C, C] before the
	// fixed-point encoding. The scale is floor((2^31-1)/(n*C)).
	Clip float64 `toml:"clip"`
	// MaxWeight is the largest raw weight (for example a sample count) a site
	// may declare; weights are pre-scaled by 1/MaxWeight into [0, 1].
	MaxWeight float64 `toml:"max_weight"`
	// SparseAbove switches to a SecAgg+ k-regular neighbour graph when the
	// roster has more than this many sites; 0 means always complete.
	SparseAbove int `toml:"sparse_above"`
	// Neighbours is k, the even degree of the SecAgg+ graph; 0 chooses
	// 2*ceil(log2(n)) rounded to even and capped at n-1.
	Neighbours int `toml:"neighbours"`
	// NeighbourFraction sets the per-neighbourhood share threshold
	// ceil(NeighbourFraction * (k+1)) under the sparse graph.
	NeighbourFraction float64 `toml:"neighbour_fraction"`
}

// DefaultConfig returns t = 2/3 of the roster (at least 2), clip 1, weights
// up to 1e6, a complete graph up to 64 sites, and SecAgg+ above that.
func DefaultConfig() Config {
	return Config{
		ThresholdFraction: 2.0 / 3.0,
		MinThreshold:      2,
		Clip:              1,
		MaxWeight:         1e6,
		SparseAbove:       64,
		Neighbours:        0,
		NeighbourFraction: 2.0 / 3.0,
	}
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var p config.Problems
	if !(c.ThresholdFraction > 0.5 && c.ThresholdFraction <= 1) {
		p.Addf("secagg: threshold_fraction %v: want in (0.5, 1]", c.ThresholdFraction)
	}
	if c.MinThreshold < 2 {
		p.Addf("secagg: min_threshold %d: want at least 2", c.MinThreshold)
	}
	if !(c.Clip > 0) || math.IsInf(c.Clip, 0) {
		p.Addf("secagg: clip %v: want a finite positive number", c.Clip)
	}
	if !(c.MaxWeight > 0) || math.IsInf(c.MaxWeight, 0) {
		p.Addf("secagg: max_weight %v: want a finite positive number", c.MaxWeight)
	}
	if c.SparseAbove < 0 {
		p.Addf("secagg: sparse_above %d: want >= 0", c.SparseAbove)
	}
	if c.Neighbours < 0 || c.Neighbours%2 != 0 {
		p.Addf("secagg: neighbours %d: want 0 (automatic) or a positive even number", c.Neighbours)
	}
	if !(c.NeighbourFraction > 0.5 && c.NeighbourFraction <= 1) {
		p.Addf("secagg: neighbour_fraction %v: want in (0.5, 1]", c.NeighbourFraction)
	}
	return p.Err()
}

// Params derives the round parameters for a roster of n sites and update
// vectors of length elements.
func (c Config) Params(n, length int) (Params, error) {
	if err := c.Validate(); err != nil {
		return Params{}, err
	}
	t := max(int(math.Ceil(c.ThresholdFraction*float64(n)-1e-9)), c.MinThreshold)
	p := Params{Length: length, Threshold: t, Clip: c.Clip, MaxWeight: c.MaxWeight}
	if c.SparseAbove > 0 && n > c.SparseAbove {
		k := c.Neighbours
		if k == 0 {
			k = 2 * int(math.Ceil(math.Log2(float64(n))))
		}
		k = min(k, n-1)
		if k%2 != 0 {
			k--
		}
		p.Neighbours = k
		p.NeighbourThreshold = max(int(math.Ceil(c.NeighbourFraction*float64(k+1)-1e-9)), 2)
	}
	return p, p.Validate(n)
}
