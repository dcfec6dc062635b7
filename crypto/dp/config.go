package dp

import (
	"math"

	"github.com/synthfed/synthfed/internal/config"
)

// Config is a site's differential-privacy policy, loaded from TOML.
type Config struct {
	// Enabled turns clipping, noise and accounting on.
	Enabled bool `toml:"enabled"`
	// ClipNorm is C, the L2 bound on one site's update.
	ClipNorm float64 `toml:"clip_norm"`
	// NoiseMultiplier is z: the noise on the aggregate has standard
	// deviation z*C per coordinate.
	NoiseMultiplier float64 `toml:"noise_multiplier"`
	// Delta is the delta at which epsilon is reported and budgeted.
	Delta float64 `toml:"delta"`
	// EpsilonBudget is the site's total epsilon across all jobs.
	EpsilonBudget float64 `toml:"epsilon_budget"`
	// AssumedColluders is c, the number of sites assumed to collude with
	// the aggregator when charging a round.
	AssumedColluders int `toml:"assumed_colluders"`
	// StateFile is where the accountant keeps the spent budget.
	StateFile string `toml:"state_file"`
}

// DefaultConfig returns DP off, with C = 1, z = 1, delta = 1e-6, a budget
// of epsilon 10 and no assumed colluders.
func DefaultConfig() Config {
	return Config{ClipNorm: 1, NoiseMultiplier: 1, Delta: 1e-6, EpsilonBudget: 10, StateFile: "privacy-budget.json"}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var p config.Problems
	pos := func(name string, v float64) {
		if !(v > 0) || math.IsInf(v, 0) {
			p.Addf("dp: %s %v: want a finite positive number", name, v)
		}
	}
	pos("clip_norm", c.ClipNorm)
	pos("noise_multiplier", c.NoiseMultiplier)
	pos("epsilon_budget", c.EpsilonBudget)
	if !(c.Delta > 0 && c.Delta < 1) {
		p.Addf("dp: delta %v: want in (0, 1)", c.Delta)
	}
	if c.AssumedColluders < 0 {
		p.Addf("dp: assumed_colluders %d: want >= 0", c.AssumedColluders)
	}
	if c.Enabled && c.StateFile == "" {
		p.Addf("dp: state_file is empty: the budget must persist across jobs")
	}
	return p.Err()
}

// SiteSigma is the per-coordinate standard deviation each site adds so that
// the sum of at least threshold sites carries noise z*C: z*C/sqrt(t).
func (c Config) SiteSigma(threshold int) float64 {
	return c.NoiseMultiplier * c.ClipNorm / math.Sqrt(float64(threshold))
}

// TaskFor returns the planned privacy cost of a job of the given number of
// rounds under this policy, with secure aggregation at threshold t (or
// without it), for Accountant.Check.
func (c Config) TaskFor(job string, rounds, threshold int, secure bool) (Task, error) {
	rho, err := RoundRho(c.NoiseMultiplier, threshold, c.AssumedColluders, secure)
	if err != nil {
		return Task{}, err
	}
	return Task{Job: job, Rounds: rounds, RhoPerRound: rho}, nil
}
