package eval

import (
	"math"

	"github.com/synthfed/synthfed/internal/config"
)

// Config holds the tunable parameters of evaluation. Load it with LoadConfig
// (strict TOML) over DefaultConfig.
type Config struct {
	// Bootstrap configures percentile confidence intervals.
	Bootstrap BootstrapConfig `toml:"bootstrap"`
	// PRNeighbours is k in the k-NN manifolds of PrecisionRecall.
	PRNeighbours int `toml:"pr_neighbours"`
	// FidelityThreshold is the probability above which Fidelity counts a
	// prediction as positive when it computes accuracy.
	FidelityThreshold float64 `toml:"fidelity_threshold"`
	// Memorisation configures near-copy detection.
	Memorisation MemorisationConfig `toml:"memorisation"`
}

// BootstrapConfig configures Bootstrap.
type BootstrapConfig struct {
	// Reps is the number of bootstrap resamples.
	Reps int `toml:"reps" json:"reps"`
	// Level is the two-sided confidence level, for example 0.95.
	Level float64 `toml:"level" json:"level"`
	// Seed seeds the resampling (PCG); equal seeds give equal intervals.
	Seed uint64 `toml:"seed" json:"seed"`
}

// MemorisationConfig configures Memorisation.
type MemorisationConfig struct {
	// Percentile (0-100) of the real-to-real nearest-neighbour distances
	// below which a synthetic image counts as a near-copy of its nearest
	// training image.
	Percentile float64 `toml:"percentile"`
}

// DefaultConfig returns the defaults: 2000 bootstrap resamples at 95% with
// seed 1 (pROC's default count), k = 3 for precision and recall
// (Kynkäänniemi et al. 2019), a fidelity threshold of 0.5 and a near-copy
// threshold at the 1st percentile of real-to-real distances.
func DefaultConfig() Config {
	return Config{
		Bootstrap:         DefaultBootstrapConfig(),
		PRNeighbours:      3,
		FidelityThreshold: 0.5,
		Memorisation:      MemorisationConfig{Percentile: 1},
	}
}

// DefaultBootstrapConfig returns 2000 resamples, a 95% level and seed 1.
func DefaultBootstrapConfig() BootstrapConfig {
	return BootstrapConfig{Reps: 2000, Level: 0.95, Seed: 1}
}

// LoadConfig decodes the TOML file at path strictly over DefaultConfig and
// validates the result.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	if err := config.LoadFile(path, &cfg); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// Validate reports every out-of-range field at once.
func (c Config) Validate() error {
	var p config.Problems
	c.Bootstrap.check(&p)
	if c.PRNeighbours < 1 {
		p.Addf("pr_neighbours = %d: want >= 1", c.PRNeighbours)
	}
	if !(c.FidelityThreshold > 0 && c.FidelityThreshold < 1) {
		p.Addf("fidelity_threshold = %v: want in (0, 1)", c.FidelityThreshold)
	}
	if !(c.Memorisation.Percentile >= 0 && c.Memorisation.Percentile <= 100) {
		p.Addf("memorisation.percentile = %v: want in [0, 100]", c.Memorisation.Percentile)
	}
	return p.Err()
}

// Validate reports every out-of-range field at once.
func (c BootstrapConfig) Validate() error {
	var p config.Problems
	c.check(&p)
	return p.Err()
}

func (c BootstrapConfig) check(p *config.Problems) {
	if c.Reps < 1 {
		p.Addf("bootstrap.reps = %d: want >= 1", c.Reps)
	}
	if !(c.Level > 0 && c.Level < 1) || math.IsNaN(c.Level) {
		p.Addf("bootstrap.level = %v: want in (0, 1)", c.Level)
	}
}
