package logreg

import (
	"time"

	"github.com/synthfed/synthfed/internal/config"
)

// Config describes the generated data of one site and the local optimiser.
type Config struct {
	// Dim is the number of features.
	Dim int `toml:"dim" json:"dim"`
	// Site selects this site's shift; sites with the same DataSeed share the
	// true decision rule.
	Site int `toml:"site" json:"site"`
	// DataSeed seeds the consortium's true rule and every site's data.
	DataSeed uint64 `toml:"data_seed" json:"data_seed"`
	// Shift scales how far each site's features are moved and stretched.
	Shift float64 `toml:"shift" json:"shift"`
	// TrainSamples and ValSamples are the local data sizes.
	TrainSamples int `toml:"train_samples" json:"train_samples"`
	ValSamples   int `toml:"val_samples" json:"val_samples"`
	// Norm adds the per-feature affine input layer "norm.weight"/"norm.bias".
	Norm bool `toml:"norm" json:"norm"`
	// LearningRate, BatchSize and Steps are defaults a TrainSpec may override.
	LearningRate float64 `toml:"learning_rate" json:"learning_rate"`
	BatchSize    int     `toml:"batch_size" json:"batch_size"`
	Steps        int     `toml:"steps" json:"steps"`
	// DataDir, when set, is a folder with train.csv and val.csv
	// (WriteDataDir) read at every Train and Evaluate call, as a site reads
	// its data from disk, instead of generating the data in memory.
	DataDir string `toml:"data_dir" json:"data_dir"`
	// Delay is extra simulated compute time per Train call (for demos and
	// fault tests); a TrainSpec param "delay_ms" overrides it.
	Delay time.Duration `toml:"-" json:"-"`
}

// DefaultConfig returns a 16-feature problem with 400 training rows.
func DefaultConfig() Config {
	return Config{Dim: 16, DataSeed: 1, Shift: 1, TrainSamples: 400, ValSamples: 400,
		LearningRate: 0.1, BatchSize: 32, Steps: 50}
}

// Validate reports every invalid field at once.
func (c Config) Validate() error {
	var p config.Problems
	if c.Dim < 1 || c.Dim > 1<<16 {
		p.Addf("logreg.dim = %d: want 1..65536", c.Dim)
	}
	if c.Site < 0 {
		p.Addf("logreg.site = %d: want >= 0", c.Site)
	}
	if c.Shift < 0 || c.Shift > 10 {
		p.Addf("logreg.shift = %v: want 0..10", c.Shift)
	}
	if c.TrainSamples < 1 || c.ValSamples < 1 {
		p.Addf("logreg.train_samples = %d, val_samples = %d: want >= 1", c.TrainSamples, c.ValSamples)
	}
	if !(c.LearningRate > 0) {
		p.Addf("logreg.learning_rate = %v: want > 0", c.LearningRate)
	}
	if c.BatchSize < 1 || c.Steps < 1 {
		p.Addf("logreg.batch_size = %d, steps = %d: want >= 1", c.BatchSize, c.Steps)
	}
	if c.Delay < 0 {
		p.Addf("logreg delay %v: want >= 0", c.Delay)
	}
	return p.Err()
}
